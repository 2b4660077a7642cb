"""An autoscaler: add identical instances when the cluster is busy, remove them when it is quiet.

Every ``interval_s`` the autoscaler measures how busy the live instances are
(requests inside them, waiting or being served, divided by the worker slots
they have) and asks the question Kubernetes' horizontal pod autoscaler asks:
how many instances would bring this to the ``target``? It follows the HPA's
rule step by step (``labsupport.sim.hpa.ScalingRule``, shared with the
simulated day of chapter 06): ``ceil(instances x utilisation / target)``,
nothing at all within 10 % of the target (either way), scale down only to
the highest count proposed during the last ``scale_down_window_s``, and at
most double (or add 4) per ``interval_s``. Removing an instance drains it first.

The lab runs the HPA's clock about 150 times faster: it decides every 0.1 s
instead of every 15 s, and its scale-down window is 2 s instead of 5
minutes. What differs from a real HPA besides the clock: the metric is
requests in flight per worker slot averaged over the last ``window``
samples (an HPA reads CPU or a custom metric from a metrics pipeline,
averaged over its own window), a new instance serves within milliseconds
(so none is ever "not yet ready"), and removing one waits for its drain.

This only works without coordination because the instances are identical: a
new one can serve anyone at once, and a drained stateless one takes nothing
with it. Chapter 06 (claim W2) runs it against the stateless shop.
"""

import threading
import time
from dataclasses import dataclass

from ..engine import registry
from ..engine.waiting import wait_until
from ..errors import InvalidArgumentError
from ..sim.figures import INK, OKABE_ITO, new_axes, on_card
from ..sim.hpa import Instances, Percent, ScalingRule

__all__ = ["Autoscaler", "Sample"]


@dataclass(frozen=True)
class Sample:
    """One look at the cluster: seconds since start, instances serving, requests inside them, busy share."""
    time_s: float
    instances: int
    in_flight: int
    utilisation: float


class Autoscaler:
    """Watches ``cluster`` in a daemon thread and scales it between ``min_instances`` and ``max_instances``.

    For callers: ``start``, ``stop`` (also ``close`` and ``with``), ``wait_for_instances``,
    ``timeline`` (a list of ``Sample``), ``actions`` (what it did, in order), ``peak_instances``,
    ``series`` and ``plot``.
    """

    def __init__(self, cluster, target=0.7, min_instances=1, max_instances=12, interval_s=0.1,
                 scale_down_window_s=2.0, tolerance=0.1, window=3, drain_timeout_s=None,
                 scale_up=None, scale_down=None):
        if not isinstance(target, (int, float)) or not 0 < target <= 1:
            raise InvalidArgumentError(f"target must be a share of busy workers between 0 and 1, like 0.7, not {target!r}")
        if not isinstance(min_instances, int) or not isinstance(max_instances, int) or not 1 <= min_instances <= max_instances:
            raise InvalidArgumentError(f"need whole numbers 1 <= min_instances <= max_instances, not "
                                       f"{min_instances!r} and {max_instances!r}")
        for name, value in (("interval_s", interval_s), ("scale_down_window_s", scale_down_window_s)):
            if not isinstance(value, (int, float)) or value <= 0:
                raise InvalidArgumentError(f"{name} must be a number of seconds > 0, not {value!r}")
        if not isinstance(window, int) or window < 1:
            raise InvalidArgumentError(f"window must be a whole number of samples >= 1, not {window!r}")
        self.cluster = cluster
        self.target, self.tolerance, self.window = target, tolerance, window
        self.min_instances, self.max_instances = min_instances, max_instances
        self.interval_s, self.scale_down_window_s = interval_s, scale_down_window_s
        self.drain_timeout_s = drain_timeout_s
        self.rule = ScalingRule(target, min_instances, max_instances, tolerance, scale_down_window_s,
                                scale_up or (Percent(100, interval_s), Instances(4, interval_s)),
                                scale_down or (Percent(100, interval_s),))
        self.timeline = []                # Sample, one per interval
        self.actions = []                 # (time_s, "add" | "remove", instance name)
        self._recent = []                 # requests in flight, one per sample: the metric's window
        self._started = None
        self._stop = threading.Event()
        self._thread = None

    # -- for callers ---------------------------------------------------------------
    def start(self):
        """Start watching; returns self."""
        if self._thread is None:
            self._started = time.monotonic()
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="autoscaler", daemon=True)
            self._thread.start()
            registry.register(self)
        return self

    def stop(self):
        """Stop watching (the instances stay as they are). Safe to call twice."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        registry.unregister(self)

    close = stop

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def wait_for_instances(self, count, timeout=10.0):
        """Block until exactly ``count`` instances serve (or ``timeout`` s pass); True if reached."""
        return wait_until(lambda: len(self._serving()) == count, timeout, interval=self.interval_s / 2)

    @property
    def peak_instances(self):
        return max((s.instances for s in self.timeline), default=0)

    @property
    def series(self):
        return {"time_s": [s.time_s for s in self.timeline], "instances": [s.instances for s in self.timeline],
                "utilisation": [s.utilisation for s in self.timeline]}

    def plot(self, ax=None):
        """Instances (left axis) and utilisation with the target's tolerance band (right axis); returns the left Axes."""
        if ax is None:
            ax = new_axes(figsize=(8, 3.2))
        data = self.series
        right = ax.twinx()
        low, high = self.target * (1 - self.tolerance), self.target * (1 + self.tolerance)
        right.axhspan(low, high, color=OKABE_ITO["yellow"], alpha=0.35, label="target ± tolerance: no change")
        right.plot(data["time_s"], data["utilisation"], color=OKABE_ITO["vermillion"], linewidth=1,
                   linestyle=":", marker=".", markersize=3, label="utilisation (busy share)")
        right.set_ylabel("busy share of workers")
        ax.step(data["time_s"], data["instances"], where="post", color=OKABE_ITO["blue"], linewidth=2.5,
                label="instances serving")
        ax.set_zorder(right.get_zorder() + 1)            # the instance line in front of the band
        ax.patch.set_visible(False)
        ax.set_xlabel("seconds")
        ax.set_ylabel("instances serving")
        ax.set_ylim(0, self.max_instances + 1)
        ax.axhline(self.max_instances, color=INK, linewidth=0.8, linestyle="--")
        ax.text(0.01, self.max_instances, " max_instances", va="bottom", fontsize="small",
                transform=ax.get_yaxis_transform())
        lines = ax.get_legend_handles_labels()
        more = right.get_legend_handles_labels()
        ax.legend(lines[0] + more[0], lines[1] + more[1], loc="upper left", bbox_to_anchor=(0.0, 0.9), fontsize="small")
        on_card(ax.figure)
        right.tick_params(colors=INK)
        right.yaxis.label.set_color(INK)
        return ax

    def __repr__(self):
        return (f"Autoscaler(target={self.target}, {self.min_instances}-{self.max_instances} instances, "
                f"{len(self.actions)} actions so far)")

    # -- the loop -----------------------------------------------------------------
    def _serving(self):
        """Live instances the balancer sends clients to (not draining, not dead)."""
        return [s for s in self.cluster.instances if s.status == "up"]

    def _run(self):
        while not self._stop.wait(self.interval_s):
            if self.cluster.closed:
                self.cluster.events.add("autoscaler", "stopped", "autoscaler stopped: the cluster was closed")
                return
            try:
                self._step(time.monotonic() - self._started)
            except Exception as exc:      # e.g. the cluster was closed under us: stop, and say why in the log
                self.cluster.events.add("autoscaler", "stopped",
                                        f"autoscaler stopped: {type(exc).__name__}: {exc}")
                return

    def _step(self, now):
        serving = self._serving()
        if not serving:
            return
        self._record(now, serving)
        self._recent = (self._recent + [self.timeline[-1].in_flight])[-self.window:]
        load = sum(self._recent) / len(self._recent) / self.cluster.workers     # busy instances' worth of work
        wanted = self.rule.decide(now, load, ready=len(serving))
        if wanted > len(serving):
            self._acted(now, "add", [self.cluster.add_instance() for _ in range(wanted - len(serving))])
        elif wanted < len(serving):
            removed = [server.name for server in list(reversed(serving))[:len(serving) - wanted]]
            for name in removed:
                self.cluster.remove_instance(name, drain=True, timeout=self.drain_timeout_s)
            self._acted(now, "remove", removed)

    def _record(self, now, serving):
        """Add a Sample for ``serving`` to the timeline."""
        in_flight = sum(s.stats["in_flight"] for s in serving)
        utilisation = in_flight / (len(serving) * self.cluster.workers)
        self.timeline.append(Sample(round(now, 3), len(serving), in_flight, round(utilisation, 3)))

    def _acted(self, now, what, names):
        """Remember what was done; the timeline gets the new count at once."""
        if not names:
            return
        for name in names:
            self.actions.append((round(now, 3), what, name))
            self.cluster.events.add("autoscaler", what, f"autoscaler: {what} {name}")
        self._record(time.monotonic() - self._started, self._serving())     # the timeline shows the new count at once
