"""The cluster dashboard: a live picture of a cluster, with the operator's buttons on it.

``ClusterDashboard(shop)`` shows one tile per instance (green if its shop
keeps nothing, pink if it holds sessions in memory, vermillion once dead)
with the entries found in its memory and any fault short of a crash (paused,
slow, partitioned), the ledger of what users noticed, a chart of actions per
second, the latest events and a status line that keeps the last few
results. Every button calls the same public ``Cluster`` method a learner
could type (``shop.kill("shop-2")``), so a click, a cell and a test do
exactly the same.

One daemon thread redraws a few times a second, reading only public state;
it stops when the cluster or the dashboard closes, or a newer dashboard for
the same cluster takes over. Slow operations (drain, remove, deploy) run in
a worker thread so the picture keeps moving meanwhile. A dashboard whose
cluster is closed (by ``shop.close()``, ``shutdown_all()`` or a re-run)
says so plainly: grey STOPPED tiles, no button to press but "Start a fresh
cluster", which builds a cluster like the old one and shows it here.
Chapters 00-06 and 08.
"""

import collections
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
from .accessible import LiveHTML
from .quiz_view import close_tree
from .theme import BORDER

__all__ = ["ClusterDashboard", "LiveUpdates", "next_version", "same_cluster_again"]

CLOSED_MESSAGE = "This cluster was closed: its instances no longer run. Start a fresh one to keep playing."
SHUT_DOWN_MESSAGE = "The lab was shut down (shutdown_all), and this cluster with it. Start a fresh one to keep playing."
REPLACED_MESSAGE = "A newer dashboard for this cluster took over; this one no longer updates."
STOPPED_MESSAGE = "Live updates stopped; re-run the cell that creates the cluster and its dashboard."
NO_FRESH_MESSAGE = "Re-run the cell that creates this cluster to get a new one."
EVENTS_SHOWN = 6
HISTORY_SHOWN = 4          # earlier results kept under the status line

_numbers = itertools.count(1)
_current = weakref.WeakKeyDictionary()      # cluster -> the dashboard now showing it
_current_lock = threading.Lock()


def next_version(version):
    """The version a deploy rolls to: "v1" -> "v2", "v9" -> "v10", "blue" -> "blue-2"."""
    match = re.fullmatch(r"(.*?)(\d+)", version)
    return f"{match.group(1)}{int(match.group(2)) + 1}" if match else f"{version}-2"


def same_cluster_again(cluster, instances):
    """A new, running ``Cluster`` like ``cluster``: same kind, shop class, policy, seed and settings,
    with ``instances`` instances at version v1 (what "Start a fresh cluster" builds)."""
    return Cluster(cluster.kind, instances, cluster.policy, cluster.seed, workers=cluster.workers,
                   service_ms=cluster.service_ms, queue_limit=cluster.queue_limit,
                   health_interval=cluster.balancer.health_interval, session_ttl_s=cluster.session_ttl_s,
                   use_redis=cluster.redis is not None, shop_class=cluster.shop_class)


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
    a drain or deploy started by a button), ``start_fresh()`` (what the
    "Start a fresh cluster" button does), ``stop()`` (freeze the picture),
    ``close()``. The controls are attributes: ``tiles["shop-1"].kill_button``,
    ``tiles["shop-1"].handoff_button`` (stateful shops), each tile's ``pause_button``, ``slow_button``,
    ``partition_button`` and ``heal_button``, ``add_button``, ``remove_button``, ``deploy_button``,
    ``traffic_button``, ``fresh_button``; ``tiles[name].status``, ``tiles[name].fault_keys``, ``counts``
    and ``history`` hold what is shown. ``cluster`` is the cluster shown now (a fresh one after
    "Start a fresh cluster"). ``fresh`` builds that fresh cluster from ``(closed_cluster, instances)``;
    by default ``same_cluster_again`` for a plain ``Cluster``, and no button for other kinds.
    """

    updates = None                                 # the LiveUpdates thread, once built

    def __init__(self, cluster, refresh_s=0.3, fresh=None):
        if not isinstance(cluster, Cluster):
            raise InvalidArgumentError(f"ClusterDashboard needs a Cluster, for example "
                                       f"ClusterDashboard(Cluster.stateless()), not {cluster!r}")
        if not is_number(refresh_s, 0.05, 5):
            raise InvalidArgumentError(f"refresh_s must be a number of seconds from 0.05 to 5, not {refresh_s!r}")
        if fresh is not None and not callable(fresh):
            raise InvalidArgumentError(f"fresh must be a function (cluster, instances) -> Cluster, not {fresh!r}")
        self.cluster, self.refresh_s = cluster, refresh_s
        self.fresh = fresh or (same_cluster_again if type(cluster) is Cluster else None)
        count = len(cluster.instances)
        self._text = (f"ClusterDashboard({cluster.kind} cluster, closed)" if cluster.closed else
                      f"ClusterDashboard({cluster.kind} cluster, {count} instance{'' if count == 1 else 's'})")
        self.tiles, self.counts = {}, {}          # counts: the ledger numbers shown now
        self.history = collections.deque(maxlen=HISTORY_SHOWN)   # earlier (text, tone) of the status line
        self._size = count                        # instances to start again in a fresh cluster
        self._lock = threading.RLock()            # one redraw at a time (the thread and refresh() calls)
        self._ended = None                        # why live updates stopped, if they did
        self._job, self._job_label, self._note = None, None, ("", "info")
        self._rates, self._ledger = view.RateHistory(), None
        self.header, self.ledger_view, self.chart, self.event_log, self.earlier = (widgets.HTML() for _ in range(5))
        self.message = LiveHTML()                 # the status line, announced by screen readers
        self.grid = widgets.GridBox(layout=widgets.Layout(
            grid_template_columns="repeat(auto-fill, minmax(230px, 1fr))", grid_gap="8px", margin="8px 0"))
        grows, shrinks = (("cluster.scale(n + 1): the carts the new instance owns move to it",
                           "cluster.scale(n - 1): the newest instance's carts move to their new owners first")
                          if cluster.rebalance else
                          ("cluster.add_instance()", "drain and remove the newest instance"))
        self.add_button = view.button("+ Add instance", "lab-add", "", grows)
        self.remove_button = view.button("- Remove newest", "lab-remove", "", shrinks)
        self.deploy_button = view.button("Deploy", "lab-deploy", "info", "rolling deploy of the next version")
        self.traffic_button = view.button("Start traffic", "lab-traffic", "primary", "virtual users shopping")
        self.fresh_button = view.button("Start a fresh cluster", "lab-fresh", "success",
                                        "build a new cluster like this one and show it here")
        self.fresh_button.layout.display = "none"
        self.ledger_view.add_class("lab-ledger")
        self.message.add_class("lab-status")
        self.earlier.add_class("lab-status-history")
        self._wire()
        controls = widgets.HBox([self.add_button, self.remove_button, self.deploy_button, self.traffic_button,
                                 self.fresh_button], layout=widgets.Layout(flex_flow="row wrap", grid_gap="6px"))
        numbers = widgets.HBox([self.ledger_view, self.chart], layout=widgets.Layout(
            flex_flow="row wrap", grid_gap="16px", margin="8px 0"))
        super().__init__([self.header, self.grid, controls, self.message, self.earlier, numbers, self.event_log],
                         layout=widgets.Layout(padding="8px", border=f"1px solid {BORDER}"))
        self.add_class("lab-dashboard")
        self._start_updates()

    def __repr__(self):
        return self._text

    # -- wiring buttons to public Cluster methods (self.cluster at the moment of the click) -------
    def _wire(self):
        self.add_button.on_click(lambda _: self._add_one())
        self.remove_button.on_click(lambda _: self._remove_newest())
        self.deploy_button.on_click(lambda _: self._deploy_next())
        self.traffic_button.on_click(lambda _: self._toggle_traffic())
        self.fresh_button.on_click(lambda _: self._fresh_clicked())

    def _wire_tile(self, tile):
        name = tile.name
        tile.kill_button.on_click(lambda _: self._now(f"kill {name}", lambda: self.cluster.kill(name),
                                                      tile.kill_button, tile.restart_button))
        tile.restart_button.on_click(lambda _: self._now(f"restart {name}", lambda: self.cluster.restart(name),
                                                         tile.restart_button))
        tile.drain_button.on_click(lambda _: self._later(f"draining {name}", lambda: self.cluster.drain(name),
                                                         tile.drain_button, tile.restart_button))
        tile.handoff_button.on_click(lambda _: self._later(f"handing off {name}",
                                                           lambda: self.cluster.drain(name, handoff=True),
                                                           tile.handoff_button, tile.restart_button))
        tile.pause_button.on_click(lambda _: self._now(f"pause {name}", lambda: self.cluster.pause(name),
                                                       tile.pause_button, tile.heal_button))
        tile.slow_button.on_click(lambda _: self._now(f"slow {name} by {view.SLOW_BUTTON_MS} ms",
                                                      lambda: self.cluster.slow(name, view.SLOW_BUTTON_MS),
                                                      tile.slow_button, tile.heal_button))
        tile.partition_button.on_click(lambda _: self._now(f"partition {name}", lambda: self.cluster.partition(name),
                                                           tile.partition_button, tile.heal_button))
        tile.heal_button.on_click(lambda _: self._now(f"heal {name}", lambda: self.cluster.heal(name),
                                                      tile.heal_button, tile.kill_button))

    # A cluster built with rebalance=True moves the carts whose owner on the hash ring changes, but only
    # when it grows or shrinks through scale(): there the two buttons scale by one, in the background.
    def _add_one(self):
        if self.cluster.rebalance:
            size = self._live_count() + 1
            return self._later(f"scaling to {size} instances", lambda: self.cluster.scale(size),
                               self.add_button, self.remove_button)
        return self._now("add instance", lambda: self.cluster.add_instance(), self.add_button)

    def _remove_newest(self):
        if self.cluster.rebalance and self._live_count() > 1:
            size = self._live_count() - 1
            return self._later(f"scaling to {size} instances", lambda: self.cluster.scale(size),
                               self.remove_button, self.add_button)
        instances = self.cluster.instances
        if not self.cluster.rebalance and len(instances) > 1:
            newest = instances[-1].name
            return self._later(f"removing {newest}", lambda: self.cluster.remove_instance(newest),
                               self.remove_button, self.add_button)
        self._say("A cluster keeps at least one instance; use Kill to crash the last one.", "error")
        self.refresh()

    def _live_count(self):
        return sum(instance.alive for instance in self.cluster.instances)

    def _deploy_next(self):
        version = next_version(self.cluster.version)
        self._later(f"deploying {version} (rolling)", lambda: self.cluster.rolling_deploy(version),
                    self.deploy_button, self.traffic_button)

    def _toggle_traffic(self):
        if self.cluster.traffic_running:
            self._now("stop traffic", lambda: self.cluster.stop_traffic(), self.traffic_button)
        else:
            self._now("start traffic", lambda: self.cluster.start_traffic(), self.traffic_button)

    def _say(self, text, tone="info"):
        """A new status line; the one it replaces joins the short history under it."""
        if self._note[0]:
            self.history.appendleft(self._note)
        self._note = (text, tone)

    def _keep_focus(self, pressed, fallback):
        """A button disabled by its own click loses the keyboard focus to the page: hand it to ``fallback``."""
        if pressed.disabled and fallback is not None and not fallback.disabled:
            fallback.focus()

    def _now(self, label, action, pressed, fallback=None):
        """Run a quick operation right here, as a click does, and show its result or its error."""
        if self._ended or self.cluster.closed:
            self.refresh()
            return
        try:
            self._say(view.outcome_text(label, action()))
        except Exception as exc:                       # shown to the learner, never lost
            self._say(f"{label} failed: {exc}", "error")
        self.refresh()
        self._keep_focus(pressed, fallback)

    def _later(self, label, action, pressed, fallback=None):
        """Run a slow operation in a short-lived worker thread, one at a time, and say so meanwhile."""
        with self._lock:
            if self._ended or self.cluster.closed:
                self.refresh()
                return
            if self._job is not None and self._job.is_alive():
                self._say(f"{label}: refused, one operation at a time: wait for {self._job_label} to finish",
                          "error")
                self.refresh()
                return
            self._job_label = label
            self._job = threading.Thread(target=self._run_job, args=(label, action), daemon=True,
                                         name=f"{self.updates.thread.name}-job")
            self._job.start()
        self.refresh()
        self._keep_focus(pressed, fallback)

    def _run_job(self, label, action):
        try:
            self._say(view.outcome_text(label, action()))
        except Exception as exc:                       # a worker thread must not print a traceback
            self._say(f"{label} failed: {exc}", "error")
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
            if self.cluster.closed or self._ended == SHUT_DOWN_MESSAGE:
                self._show_closed(self._ended if self._ended == SHUT_DOWN_MESSAGE else CLOSED_MESSAGE)
                return
            if self._ended:
                self._show_ended(self._ended)
                return
            busy = self._job is not None and self._job.is_alive()
            self._draw_tiles(busy)
            self._draw_numbers()
            shop = self.cluster
            self._size = len(self.tiles)
            self.header.value = view.header_html(shop.kind, shop.policy, shop.version, len(self.tiles),
                                                 shop.traffic_running)
            self.deploy_button.description = f"Deploy {next_version(shop.version)} (rolling)"
            self.traffic_button.description = "Stop traffic" if shop.traffic_running else "Start traffic"
            self.remove_button.disabled = self.deploy_button.disabled = busy
            self.add_button.disabled = self.traffic_button.disabled = False
            self.fresh_button.layout.display = "none"
            text, tone = self._note
            if busy:                                   # what is running now; the last result goes below
                self.message.value = view.message_html(f"{self._job_label}...", "busy")
                self.earlier.value = view.history_html([self._note, *self.history] if text else self.history)
            else:
                self.message.value = view.message_html(text, tone)
                self.earlier.value = view.history_html(self.history)

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
            self._rates.clear()
        self.counts = counts = ledger.snapshot()
        self._rates.add(now, counts["ok"], counts["failed"])
        self.ledger_view.value = view.ledger_html(counts)
        self.chart.value = view.rate_chart_svg(*self._rates.per_second(now))
        self.event_log.value = view.events_html(self.cluster.events.recent(EVENTS_SHOWN), now)

    def _disable_controls(self):
        for control in (self.add_button, self.remove_button, self.deploy_button, self.traffic_button):
            control.disabled = True

    def _show_ended(self, text):
        """Live updates stopped while the cluster runs on: keep the last picture, press nothing."""
        self.message.value = view.message_html(text, "error")
        self._disable_controls()
        for tile in self.tiles.values():
            tile.disable()

    def _show_closed(self, text):
        """The cluster is gone: grey STOPPED tiles, no controls, and the way to a fresh cluster."""
        self._disable_controls()
        for tile in self.tiles.values():
            tile.show_stopped(self.cluster.version)
        self.header.value = view.closed_header_html(self.cluster.kind, len(self.tiles))
        self.fresh_button.layout.display = None if self.fresh else "none"
        self.fresh_button.disabled = self.fresh is None
        self.message.value = view.message_html(text if self.fresh else f"{text} {NO_FRESH_MESSAGE}", "error")

    # -- a fresh cluster ------------------------------------------------------------------
    def start_fresh(self):
        """Build a new cluster like the closed one (``fresh``), show it here instead, and return it.

        Code that held the old cluster (``shop``) still holds the closed one: use ``dashboard.cluster``.
        """
        if self.fresh is None:
            raise InvalidArgumentError(f"this dashboard cannot rebuild a {type(self.cluster).__name__}; "
                                       "re-run the cell that creates it")
        if not (self.cluster.closed or self._ended == SHUT_DOWN_MESSAGE):
            raise InvalidArgumentError("this dashboard's cluster still runs; close it first (shop.close())")
        new = self.fresh(self.cluster, max(1, self._size))
        self._bind(new)
        return new

    def _fresh_clicked(self):
        try:
            new = self.start_fresh()
        except Exception as exc:                       # shown to the learner, never lost
            self._say(f"start a fresh cluster failed: {exc}", "error")
            self.message.value = view.message_html(*self._note)
            return
        self.traffic_button.focus()
        self._say(f"started a fresh {new.kind} cluster with {len(new.instances)} instances "
                  f"(in code it is dashboard.cluster, not the closed one)")
        self.refresh()

    def _bind(self, cluster):
        """Show ``cluster`` from now on: new tiles, a new ledger, a new live thread."""
        if self.updates is not None:
            self.updates.close()
        with self._lock:
            for tile in self.tiles.values():
                close_tree(tile)
                tile.close()
            self.tiles, self.counts = {}, {}
            self.grid.children = ()
            self.cluster, self._ended, self._job, self._ledger = cluster, None, None, None
            self._rates.clear()
        self._start_updates()

    def _start_updates(self):
        self.updates = LiveUpdates(self._tick, self._updates_ended, self.refresh_s,
                                   name=f"lab-dashboard-{next(_numbers)}")
        self.refresh()
        if not self.cluster.closed:
            self._take_over()
            self.updates.start()

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
        with self._lock:
            stopped_by_registry = not self.cluster.closed and not self._ended
            if stopped_by_registry:                    # shutdown_all(): the cluster is closed right after us
                self._ended = SHUT_DOWN_MESSAGE
                self._show_closed(SHUT_DOWN_MESSAGE)
                return
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
