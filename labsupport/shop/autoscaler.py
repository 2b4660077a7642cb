"""An autoscaler: add identical instances when the cluster is busy, remove them when it is quiet.

Every ``interval_s`` the autoscaler measures how busy the live instances are
(requests inside them, waiting or being served, divided by the worker slots
they have) and asks the question Kubernetes' horizontal pod autoscaler asks:
how many instances would bring this down to the ``target``? It uses the same
formula, ``ceil(instances * utilisation / target)``. It scales up at once, but
scales down only to the highest count it wanted during the last
``cool_down_s`` seconds, so a short lull does not throw away capacity that is
needed again a moment later. Removing an instance drains it first.

This only works without coordination because the instances are identical: a
new one can serve anyone at once, and a drained stateless one takes nothing
with it. Chapter 06 (claim W2) runs it against the stateless shop.
"""

import math
import threading
import time
from dataclasses import dataclass

from ..engine import registry
from ..engine.waiting import wait_until
from ..errors import InvalidArgumentError

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

    def __init__(self, cluster, target=0.7, min_instances=1, max_instances=6, interval_s=0.1,
                 cool_down_s=1.0, tolerance=0.1, window=3, drain_timeout_s=None):
        if not 0 < target <= 1:
            raise InvalidArgumentError(f"target must be a share of busy workers between 0 and 1, like 0.7, not {target!r}")
        if not isinstance(min_instances, int) or not isinstance(max_instances, int) or not 1 <= min_instances <= max_instances:
            raise InvalidArgumentError(f"need whole numbers 1 <= min_instances <= max_instances, not "
                                       f"{min_instances!r} and {max_instances!r}")
        for name, value in (("interval_s", interval_s), ("cool_down_s", cool_down_s)):
            if not isinstance(value, (int, float)) or value <= 0:
                raise InvalidArgumentError(f"{name} must be a number of seconds > 0, not {value!r}")
        if not isinstance(window, int) or window < 1:
            raise InvalidArgumentError(f"window must be a whole number of samples >= 1, not {window!r}")
        self.cluster = cluster
        self.target, self.tolerance, self.window = target, tolerance, window
        self.min_instances, self.max_instances = min_instances, max_instances
        self.interval_s, self.cool_down_s = interval_s, cool_down_s
        self.drain_timeout_s = drain_timeout_s
        self.timeline = []                # Sample, one per interval
        self.actions = []                 # (time_s, "add" | "remove", instance name)
        self._recent = []                 # utilisation samples since the last scaling action
        self._wishes = []                 # (time_s, instances wanted): the cool-down memory
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
        """Instances (left axis) and utilisation (right axis) over time; returns the left Axes."""
        if ax is None:
            import matplotlib.pyplot as plt
            ax = plt.subplots(figsize=(7, 3))[1]
        data = self.series
        ax.step(data["time_s"], data["instances"], where="post", color="tab:green", label="instances")
        ax.set_xlabel("seconds")
        ax.set_ylabel("instances serving")
        ax.set_ylim(0, self.max_instances + 1)
        right = ax.twinx()
        right.plot(data["time_s"], data["utilisation"], color="tab:gray", alpha=0.6, label="utilisation")
        right.axhline(self.target, color="tab:gray", linestyle="--", linewidth=1)
        right.set_ylabel("busy share of workers")
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
        utilisation = self._record(now, serving)
        self._recent = (self._recent + [utilisation])[-self.window:]
        wanted = self._wanted(len(serving), sum(self._recent) / len(self._recent))
        self._wishes = [(t, w) for t, w in self._wishes if t > now - self.cool_down_s] + [(now, wanted)]
        if wanted > len(serving):
            added = [self.cluster.add_instance() for _ in range(wanted - len(serving))]
            self._acted(now, "add", added)
        elif now - self._last_action() >= self.cool_down_s:
            keep = max(w for _, w in self._wishes)      # the most it wanted during the cool-down
            removed = [server.name for server in list(reversed(serving))[:max(0, len(serving) - keep)]]
            for name in removed:
                self.cluster.remove_instance(name, drain=True, timeout=self.drain_timeout_s)
            self._acted(now, "remove", removed)

    def _record(self, now, serving):
        """Add a Sample for ``serving`` to the timeline; returns its utilisation."""
        in_flight = sum(s.stats["in_flight"] for s in serving)
        utilisation = in_flight / (len(serving) * self.cluster.workers) if serving else 0.0
        self.timeline.append(Sample(round(now, 3), len(serving), in_flight, round(utilisation, 3)))
        return utilisation

    def _wanted(self, instances, utilisation):
        """The horizontal pod autoscaler's rule, kept within the bounds."""
        if abs(utilisation / self.target - 1) <= self.tolerance:
            wanted = instances                # close enough to the target: leave it alone
        else:
            wanted = math.ceil(instances * utilisation / self.target)
        return min(self.max_instances, max(self.min_instances, wanted))

    def _last_action(self):
        """Seconds (since start) of the last scaling action; 0 before the first."""
        return self.actions[-1][0] if self.actions else 0.0

    def _acted(self, now, what, names):
        """Remember what was done; the timeline gets the new count at once."""
        if not names:
            return
        for name in names:
            self.actions.append((round(now, 3), what, name))
            self.cluster.events.add("autoscaler", what, f"autoscaler: {what} {name}")
        self._recent = []                 # samples from before the change no longer describe the cluster
        self._record(time.monotonic() - self._started, self._serving())
