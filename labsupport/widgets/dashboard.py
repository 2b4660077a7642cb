"""The cluster dashboard: a live picture of a cluster, with the operator's buttons on it.

``ClusterDashboard(shop)`` shows one tile per instance (green if its shop
keeps nothing, pink if it holds sessions in memory, red once dead) with the
entries found in its memory and any fault short of a crash (paused, slow,
partitioned), the ledger of what users noticed, a chart of actions per second
and the latest events.
Every button calls the same public ``Cluster`` method a learner could type
(``shop.kill("shop-2")``), so a click, a cell and a test do exactly the same.

One daemon thread redraws a few times a second, reading only public state;
it stops when the cluster or the dashboard closes, or a newer dashboard for
the same cluster takes over. Slow operations (drain, remove, deploy) run in
a worker thread so the picture keeps moving meanwhile. Chapters 00-06.
"""

import itertools
import re
import threading
import time
import weakref

import ipywidgets as widgets

from ..checks import is_number
from ..engine import registry
from ..engine.lifecycle import Closable
from ..errors import ClusterClosedError, InvalidArgumentError, UnknownInstanceError
from ..shop.cluster import Cluster
from . import dashboard_view as view
from .quiz_view import close_tree

__all__ = ["ClusterDashboard", "LiveUpdates", "next_version"]

CLOSED_MESSAGE = "This cluster was closed; re-run the cell that creates it."
REPLACED_MESSAGE = "A newer dashboard for this cluster took over; this one no longer updates."
STOPPED_MESSAGE = "Live updates stopped; re-run the cell that creates the cluster and its dashboard."
EVENTS_SHOWN = 6

_numbers = itertools.count(1)
_current = weakref.WeakKeyDictionary()      # cluster -> the dashboard now showing it
_current_lock = threading.Lock()


def next_version(version):
    """The version a deploy rolls to: "v1" -> "v2", "v9" -> "v10", "blue" -> "blue-2"."""
    match = re.fullmatch(r"(.*?)(\d+)", version)
    return f"{match.group(1)}{int(match.group(2)) + 1}" if match else f"{version}-2"


class LiveUpdates(Closable):
    """The one daemon thread that calls ``tick()`` every ``every_s`` seconds until ``tick`` says stop.

    ``close()`` stops it from outside (the registry calls it too); either way
    ``on_end()`` runs once, after the last tick.
    """

    def __init__(self, tick, on_end, every_s, name):
        self._tick, self._on_end, self.every_s = tick, on_end, every_s
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self):
        self._opened()
        self.thread.start()
        return self

    def _run(self):
        try:
            while not self._stop.wait(self.every_s):
                if not self._tick():
                    break
        finally:
            registry.unregister(self)
            self._on_end()

    def _close(self):
        self._stop.set()
        if self.thread.is_alive() and self.thread is not threading.current_thread():
            self.thread.join(timeout=10.0)


class ClusterDashboard(widgets.VBox):
    """A live view of ``cluster`` with buttons that call its public methods.

    For callers: ``refresh()`` (redraw now), ``wait_idle(timeout)`` (wait for
    a drain or deploy started by a button), ``stop()`` (freeze the picture),
    ``close()``. The controls are attributes: ``tiles["shop-1"].kill_button``,
    ``tiles["shop-1"].handoff_button`` (stateful shops), ``add_button``, ``remove_button``,
    ``deploy_button``, ``traffic_button``; each tile's ``pause_button``, ``slow_button``,
    ``partition_button``, ``heal_button``; ``tiles[name].status``, ``tiles[name].fault_keys``
    and ``counts`` hold what is shown.
    """

    updates = None                                 # the LiveUpdates thread, once built

    def __init__(self, cluster, refresh_s=0.3):
        if not isinstance(cluster, Cluster):
            raise InvalidArgumentError(f"ClusterDashboard needs a Cluster, for example "
                                       f"ClusterDashboard(Cluster.stateless()), not {cluster!r}")
        if not is_number(refresh_s, 0.05, 5):
            raise InvalidArgumentError(f"refresh_s must be a number of seconds from 0.05 to 5, not {refresh_s!r}")
        self.cluster, self.refresh_s = cluster, refresh_s
        count = len(cluster.instances)
        self._text = (f"ClusterDashboard({cluster.kind} cluster, closed)" if cluster.closed else
                      f"ClusterDashboard({cluster.kind} cluster, {count} instance{'' if count == 1 else 's'})")
        self.tiles, self.counts = {}, {}          # counts: the ledger numbers shown now
        self._lock = threading.RLock()            # one redraw at a time (the thread and refresh() calls)
        self._ended = None                        # why live updates stopped, if they did
        self._job, self._job_label, self._note = None, None, ("", "info")
        self._history, self._ledger = view.RateHistory(), None
        self.header, self.ledger_view, self.chart, self.event_log, self.message = (widgets.HTML() for _ in range(5))
        self.grid = widgets.GridBox(layout=widgets.Layout(
            grid_template_columns="repeat(auto-fill, minmax(210px, 1fr))", grid_gap="8px", margin="8px 0"))
        grows, shrinks = (("cluster.scale(n + 1): the carts the new instance owns move to it",
                           "cluster.scale(n - 1): the newest instance's carts move to their new owners first")
                          if cluster.rebalance else
                          ("cluster.add_instance()", "drain and remove the newest instance"))
        self.add_button = view.button("+ Add instance", "lab-add", "", grows)
        self.remove_button = view.button("- Remove newest", "lab-remove", "", shrinks)
        self.deploy_button = view.button("Deploy", "lab-deploy", "info", "rolling deploy of the next version")
        self.traffic_button = view.button("Start traffic", "lab-traffic", "primary", "virtual users shopping")
        self.ledger_view.add_class("lab-ledger")
        self.message.add_class("lab-status")
        self._wire()
        controls = widgets.HBox([self.add_button, self.remove_button, self.deploy_button, self.traffic_button],
                                layout=widgets.Layout(flex_flow="row wrap", grid_gap="6px"))
        numbers = widgets.HBox([self.ledger_view, self.chart], layout=widgets.Layout(
            flex_flow="row wrap", grid_gap="16px", margin="8px 0"))
        super().__init__([self.header, self.grid, controls, numbers, self.event_log, self.message],
                         layout=widgets.Layout(padding="8px", border="1px solid #ccc"))
        self.add_class("lab-dashboard")
        self.updates = LiveUpdates(self._tick, self._updates_ended, refresh_s,
                                   name=f"lab-dashboard-{next(_numbers)}")
        self.refresh()
        if not cluster.closed:
            self._take_over()
            self.updates.start()

    def __repr__(self):
        return self._text

    # -- wiring buttons to public Cluster methods ------------------------------------
    def _wire(self):
        self.add_button.on_click(lambda _: self._add_one())
        self.remove_button.on_click(lambda _: self._remove_newest())
        self.deploy_button.on_click(lambda _: self._deploy_next())
        self.traffic_button.on_click(lambda _: self._toggle_traffic())

    def _wire_tile(self, tile):
        shop, name = self.cluster, tile.name
        tile.kill_button.on_click(lambda _: self._now(f"kill {name}", shop.kill, name))
        tile.restart_button.on_click(lambda _: self._now(f"restart {name}", shop.restart, name))
        tile.drain_button.on_click(lambda _: self._later(f"draining {name}", shop.drain, name))
        tile.handoff_button.on_click(lambda _: self._later(f"handing off {name}", shop.drain, name, None, True))
        tile.pause_button.on_click(lambda _: self._now(f"pause {name}", shop.pause, name))
        tile.slow_button.on_click(lambda _: self._now(f"slow {name} by {view.SLOW_BUTTON_MS} ms", shop.slow, name,
                                                      view.SLOW_BUTTON_MS))
        tile.partition_button.on_click(lambda _: self._now(f"partition {name}", shop.partition, name))
        tile.heal_button.on_click(lambda _: self._now(f"heal {name}", shop.heal, name))

    # A cluster built with rebalance=True moves the carts whose owner on the hash ring changes, but only
    # when it grows or shrinks through scale(): there the two buttons scale by one, in the background.
    def _add_one(self):
        shop = self.cluster
        if shop.rebalance:
            live = self._live_count()
            return self._later(f"scaling to {live + 1} instances", shop.scale, live + 1)
        return self._now("add instance", shop.add_instance)

    def _remove_newest(self):
        shop = self.cluster
        if shop.rebalance:
            live = self._live_count()
            if live > 1:
                return self._later(f"scaling to {live - 1} instances", shop.scale, live - 1)
        elif len(shop.instances) > 1:
            newest = shop.instances[-1].name
            return self._later(f"removing {newest}", shop.remove_instance, newest)
        self._note = ("A cluster keeps at least one instance; use Kill to crash the last one.", "error")
        self.refresh()

    def _live_count(self):
        return sum(instance.alive for instance in self.cluster.instances)

    def _deploy_next(self):
        version = next_version(self.cluster.version)
        self._later(f"deploying {version} (rolling)", self.cluster.rolling_deploy, version)

    def _toggle_traffic(self):
        if self.cluster.traffic_running:
            self._now("stop traffic", self.cluster.stop_traffic)
        else:
            self._now("start traffic", self.cluster.start_traffic)

    def _now(self, label, method, *args):
        """Run a quick operation right here, as a click does, and show its result or its error."""
        if self._ended or self.cluster.closed:
            self.refresh()
            return
        try:
            self._note = (view.outcome_text(label, method(*args)), "info")
        except Exception as exc:                       # shown to the learner, never lost
            self._note = (f"{label} failed: {exc}", "error")
        self.refresh()

    def _later(self, label, method, *args):
        """Run a slow operation in a short-lived worker thread, one at a time, and say so meanwhile."""
        with self._lock:
            if self._ended or self.cluster.closed:
                self.refresh()
                return
            if self._job is not None and self._job.is_alive():
                self._note = ("one operation at a time: wait for it to finish", "busy")
                self.refresh()
                return
            self._job_label, self._note = label, ("", "info")
            self._job = threading.Thread(target=self._run_job, args=(label, method, args), daemon=True,
                                         name=f"{self.updates.thread.name}-job")
            self._job.start()
        self.refresh()

    def _run_job(self, label, method, args):
        try:
            self._note = (view.outcome_text(label, method(*args)), "info")
        except Exception as exc:                       # a worker thread must not print a traceback
            self._note = (f"{label} failed: {exc}", "error")
        self._tick()

    def wait_idle(self, timeout=30.0):
        """Wait for the running drain/remove/deploy (if any); True once nothing is running."""
        job = self._job
        if job is not None:
            job.join(timeout)
        self.refresh()
        return job is None or not job.is_alive()

    # -- drawing -----------------------------------------------------------------------
    def refresh(self):
        """Redraw from the cluster's public state now."""
        with self._lock:
            if self.cluster.closed or self._ended:
                self._show_ended(CLOSED_MESSAGE if self.cluster.closed else self._ended)
                return
            busy = self._job is not None and self._job.is_alive()
            self._draw_tiles(busy)
            self._draw_numbers()
            shop = self.cluster
            self.header.value = view.header_html(shop.kind, shop.policy, shop.version, len(self.tiles),
                                                 shop.traffic_running)
            self.deploy_button.description = f"Deploy {next_version(shop.version)} (rolling)"
            self.traffic_button.description = "Stop traffic" if shop.traffic_running else "Start traffic"
            self.remove_button.disabled = self.deploy_button.disabled = busy
            self.add_button.disabled = self.traffic_button.disabled = False
            text, tone = self._note
            if busy:                                   # what is running, and any click refused meanwhile
                text, tone = f"{self._job_label}..." + (f" ({text})" if text else ""), "busy"
            self.message.value = view.message_html(text, tone)

    def _draw_tiles(self, busy):
        instances = self.cluster.instances
        shop_class = self.cluster.shop_class
        for gone in [self.tiles.pop(name) for name in set(self.tiles) - {i.name for i in instances}]:
            close_tree(gone)
            gone.close()
        for instance in instances:
            if instance.name not in self.tiles:
                self.tiles[instance.name] = view.InstanceTile(instance.name, shop_class.colour_role,
                                                              shop_class.memory_note, shop_class.moves_sessions)
                self._wire_tile(self.tiles[instance.name])
            self.tiles[instance.name].show(self._status(instance), instance, busy, self._faults(instance))
        children = tuple(self.tiles[i.name] for i in instances)
        if children != self.grid.children:
            self.grid.children = children

    def _status(self, instance):
        try:
            return self.cluster.status(instance.name)
        except (UnknownInstanceError, ClusterClosedError):   # added, removed or closed right now
            return instance.status if instance.status in view.STATUSES else "stopped"

    def _faults(self, instance):
        try:
            return self.cluster.faults(instance.name)
        except (UnknownInstanceError, ClusterClosedError):   # added, removed or closed right now
            return []

    def _draw_numbers(self):
        ledger, now = self.cluster.ledger, time.monotonic()
        if ledger is not self._ledger:                 # start_traffic begins a fresh ledger
            self._ledger = ledger
            self._history.clear()
        self.counts = counts = ledger.snapshot()
        self._history.add(now, counts["ok"], counts["failed"])
        self.ledger_view.value = view.ledger_html(counts)
        self.chart.value = view.rate_chart_svg(*self._history.per_second(now))
        self.event_log.value = view.events_html(self.cluster.events.recent(EVENTS_SHOWN), now)

    def _show_ended(self, text):
        self.message.value = view.message_html(text, "error")
        for button in (self.add_button, self.remove_button, self.deploy_button, self.traffic_button):
            button.disabled = True
        for tile in self.tiles.values():
            tile.disable()

    # -- the live thread -----------------------------------------------------------------
    def _tick(self):
        try:
            self.refresh()
        except Exception as exc:                       # shown in the status line; the thread keeps going
            self.message.value = view.message_html(f"dashboard error: {type(exc).__name__}: {exc}", "error")
        return not self.cluster.closed and not self._ended

    def _updates_ended(self):
        with _current_lock:
            if _current.get(self.cluster) is self:
                del _current[self.cluster]
        if not self.cluster.closed and not self._ended:
            self._ended = STOPPED_MESSAGE              # stopped from outside (shutdown_all)
        self._tick()

    def _take_over(self):
        with _current_lock:
            previous = _current.get(self.cluster)
            _current[self.cluster] = self
        if previous is not None:
            previous.stop(REPLACED_MESSAGE)

    def stop(self, reason=STOPPED_MESSAGE):
        """Stop live updates and disable the buttons; the last picture stays, with ``reason`` under it."""
        with self._lock:
            self._ended = self._ended or reason
        self.updates.close()
        self.refresh()

    def close(self):
        """Stop live updates and remove the widget (and its tiles) from the page."""
        if self.updates is not None:               # None when __init__ rejected its arguments
            self.stop()
        close_tree(self)
        super().close()
