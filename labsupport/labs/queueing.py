"""The hockey stick, live: one real instance, random arrivals, and how long requests wait in its queue.

``measure_hockey_stick`` sends open-loop traffic to one real instance: each
request leaves at its own moment, drawn from a Poisson stream (seeded),
whether or not the earlier ones have been answered, as independent users
do. The instance's capacity model admits at most ``workers`` requests at
once; each spends ``service_ms`` inside a worker. The arrival rate is set so
that the workers are busy a given share of the time (the *utilisation*),
from 30 % to 95 %, and the instance reports how long each request waited.

What counts as waiting is measured inside the server, not by the client:
``StopwatchInstance`` notes the moment a request reaches the instance, and
``WorkerApp`` notes the moment the capacity model lets it into a worker;
the difference is the time spent in the queue. The network, the client's
own delays and the answer's way back are not in it. (The work is a sleep
done by the application inside its worker slot, exactly what the capacity
model's ``service_ms`` does, so that the application sees when it was let in.)

Beside each live run: ``labsupport.sim.simulate_queue`` replaying the very
same arrival times (same seed, same gaps), so any gap between the two
curves is the machine's doing; and the formula (M/D/c, Cosmetatos), which
is the long-run average. A run of a few hundred requests is short for a
queue at 95 %: it starts empty and takes thousands of requests to settle,
so short runs sit below the formula there and differ a lot from seed to
seed. A shared machine sometimes freezes the whole process for tens of ms,
and every request queued at that moment waits for it; a run in which a
worker's sleep overran, or the sending schedule slipped, by more than two
requests' work is repeated (up to three runs; the table says how many).
Chapter 06 (claim W12) uses it; ``benchmarks/hockey_stick.py`` runs it longer.
"""

import http.client
import math
import queue
import threading
import time
from dataclasses import dataclass, field, replace

from ..checks import require_int, require_number, require_seed
from ..engine.application import Application
from ..engine.instance import Instance, Response
from ..engine.tables import ResultTable
from ..errors import InvalidArgumentError
from ..sim import OKABE_ITO, arrival_gaps_ms, mdc_mean_wait_ms, new_axes, on_card, simulate_queue

__all__ = ["measure_hockey_stick", "HockeyStick", "LivePoint", "StopwatchInstance", "WorkerApp",
           "UTILISATIONS"]

UTILISATIONS = (0.3, 0.5, 0.7, 0.8, 0.9, 0.95)
SENDERS = 64                 # connections the client keeps open: more than requests ever in flight here
TRIES = 3                    # runs at most per utilisation when the machine stalls the process...
STALL_LIMIT = 2              # ...for longer than this many requests' work


class WorkerApp(Application):
    """Does ``service_ms`` of work per request inside a worker slot, and notes how long each request queued."""

    def __init__(self, service_ms):
        self.service_s = service_ms / 1000
        self.waits_ms = []           # per request: from arrival at the instance to admission by a worker
        self.moments = []            # per request: (arrived, admitted), perf_counter seconds
        self.overslept_s = 0.0       # the longest a worker's sleep overran: the machine's hiccups
        self.busy_s = 0.0            # worker time spent on requests
        self.first_arrival = self.last_arrival = None
        self._lock = threading.Lock()

    def handle(self, request, instance):
        admitted = time.perf_counter()
        time.sleep(self.service_s)
        done = time.perf_counter()
        with self._lock:
            self.waits_ms.append((admitted - request.arrived_at) * 1000)
            self.moments.append((request.arrived_at, admitted))
            self.busy_s += done - admitted
            self.overslept_s = max(self.overslept_s, done - admitted - self.service_s)
            self.first_arrival = min(self.first_arrival or request.arrived_at, request.arrived_at)
            self.last_arrival = max(self.last_arrival or request.arrived_at, request.arrived_at)
        return Response(200, {"ok": True})


class StopwatchInstance(Instance):
    """An ``Instance`` that notes when each request arrived, before its capacity model admits it."""

    def serve(self, request):
        request.arrived_at = time.perf_counter()
        return super().serve(request)


def _sender(address, work, failures, ready):
    """One client connection: send each request the dispatcher hands over, until it hands over None."""
    conn = http.client.HTTPConnection(*address, timeout=10)
    try:
        conn.connect()                             # connected before the clock starts: no set-up in the waits
        ready.wait()
        while work.get() is not None:
            try:
                conn.request("GET", "/work")
                answer = conn.getresponse()
                answer.read()
                if answer.status != 200:
                    failures.append(answer.status)
            except (OSError, http.client.HTTPException) as exc:
                failures.append(type(exc).__name__)
                conn.close()                       # http.client reconnects on the next request
    finally:
        conn.close()


def _open_loop(address, gaps_ms):
    """Send one request per gap, each at its own moment, whatever the earlier ones are doing.

    Returns (failures, the longest the schedule slipped in seconds).
    """
    work, failures, slipped = queue.Queue(), [], 0.0
    ready = threading.Barrier(SENDERS + 1)
    senders = [threading.Thread(target=_sender, args=(address, work, failures, ready), daemon=True,
                                name="hockey-stick-sender") for _ in range(SENDERS)]
    for thread in senders:
        thread.start()
    try:
        ready.wait()                               # every connection open (and its server thread started)
        due = time.perf_counter()
        for gap in gaps_ms:
            due += gap / 1000
            pause = due - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            slipped = max(slipped, time.perf_counter() - due)
            work.put(True)                         # late? send at once: the schedule, not the answers, sets the pace
    finally:
        for _ in senders:
            work.put(None)
        for thread in senders:
            thread.join()
    return failures, slipped


@dataclass(frozen=True)
class LivePoint:
    """One live run at one utilisation: the waits (ms) and how busy the workers really were."""
    utilisation: float
    measured_utilisation: float
    waits_ms: tuple = field(repr=False)
    failures: int
    service_ms: float            # worker time per request, as it really was
    hiccup_ms: float             # the worst stall seen: a sleep that overran, or the schedule slipping
    tries: int                   # runs made at this utilisation (a run with a long stall is repeated)

    @property
    def mean_wait_ms(self):
        return sum(self.waits_ms) / len(self.waits_ms)

    def wait_ms(self, percentile):
        ordered = sorted(self.waits_ms)
        return ordered[max(1, -(-len(ordered) * percentile // 100)) - 1]


def _one_run(utilisation, workers, service_ms, gaps_ms):
    app = WorkerApp(service_ms)
    with StopwatchInstance(lambda: app, name="queue-1", workers=workers, queue_limit=10_000) as instance:
        failures, slipped = _open_loop(instance.address, gaps_ms)
    served = len(app.waits_ms)
    rate = (served - 1) / (app.last_arrival - app.first_arrival)      # arrivals per second, as the server saw them
    worked_ms = app.busy_s * 1000 / served                             # worker time per request, as it really was
    return LivePoint(utilisation, rate * worked_ms / 1000 / workers, tuple(app.waits_ms), len(failures), worked_ms,
                     1000 * max(slipped, app.overslept_s), tries=1)


def _live_point(utilisation, workers, service_ms, gaps_ms):
    """Run the schedule; if the machine stalled the process for longer than two requests' work, run it again.

    A shared machine now and then freezes a process for tens of ms; every
    request queued at that moment waits for it, which says nothing about
    queueing. Up to ``TRIES`` runs; the first calm one, else the calmest, is kept.
    """
    runs = []
    while len(runs) < TRIES and (not runs or runs[-1].hiccup_ms > STALL_LIMIT * service_ms):
        runs.append(_one_run(utilisation, workers, service_ms, gaps_ms))
    return replace(min(runs, key=lambda run: run.hiccup_ms), tries=len(runs))


@dataclass(frozen=True, repr=False)
class HockeyStick(ResultTable):
    """Mean and p99 waiting time against utilisation: live, simulated on the same arrivals, and the formula."""
    workers: int
    service_ms: float
    requests: tuple              # requests sent at each utilisation
    seed: int
    live: tuple                  # LivePoint per utilisation
    simulated: tuple             # QueueResult per utilisation (same arrival times as the live run)

    @property
    def utilisations(self):
        return tuple(point.utilisation for point in self.live)

    def formula_ms(self, utilisation):
        """The long-run mean wait of M/D/c (Cosmetatos), in ms."""
        return mdc_mean_wait_ms(self.workers, self.service_ms, utilisation)

    def mean_wait_ms(self, curve, utilisation):
        """Mean wait at ``utilisation`` on ``curve``: "live", "simulated" or "formula"."""
        index = self.utilisations.index(utilisation)
        values = {"live": lambda: self.live[index].mean_wait_ms,
                  "simulated": lambda: self.simulated[index].mean_wait_ms,
                  "formula": lambda: self.formula_ms(utilisation)}
        if curve not in values:
            raise InvalidArgumentError(f"curve must be 'live', 'simulated' or 'formula', not {curve!r}")
        return values[curve]()

    def growth(self, curve, high=0.95, low=0.5):
        """How many times longer the mean wait is at ``high`` than at ``low`` utilisation on ``curve``.

        Infinite when nobody waited at ``low`` and somebody did at ``high``.
        """
        high_ms, low_ms = self.mean_wait_ms(curve, high), self.mean_wait_ms(curve, low)
        return high_ms / low_ms if low_ms else math.inf if high_ms else 1.0

    HEADERS = ("busy % asked", "busy % measured", "requests", "live mean ms", "simulated mean ms",
               "formula mean ms", "live p99 ms", "simulated p99 ms", "live runs", "worst stall ms")

    def _table_data(self):
        rows = [[round(100 * p.utilisation), round(100 * p.measured_utilisation, 1), n, round(p.mean_wait_ms, 2),
                 round(s.mean_wait_ms, 2), round(self.formula_ms(p.utilisation), 2), round(p.wait_ms(99), 1),
                 round(s.p99_wait_ms, 1), p.tries, round(p.hiccup_ms, 1)]
                for p, s, n in zip(self.live, self.simulated, self.requests)]
        title = (f"Waiting in the queue of one instance: {self.workers} workers, {self.service_ms:g} ms per request, "
                 f"Poisson arrivals (seed {self.seed})")
        return title, self.HEADERS, rows

    def plot(self, axes=None):
        """Mean wait (live, simulated, formula) and p99 wait (live, simulated) against utilisation; returns the two Axes."""
        if axes is None:
            axes = new_axes(1, 2, figsize=(11, 3.8), sharex=True)
        mean_ax, p99_ax = axes
        busy = [100 * u for u in self.utilisations]
        fine = [u / 100 for u in range(20, round(100 * max(self.utilisations)) + 1)]
        mean_ax.plot([100 * u for u in fine], [self.formula_ms(u) for u in fine], color=OKABE_ITO["black"],
                     linestyle="--", linewidth=1.5, label="formula (M/D/c, long run)")
        panels = ((mean_ax, "mean", lambda p: p.mean_wait_ms, lambda s: s.mean_wait_ms),
                  (p99_ax, "p99", lambda p: p.wait_ms(99), lambda s: s.p99_wait_ms))
        for ax, what, live, simulated in panels:
            ax.plot(busy, [simulated(s) for s in self.simulated], color=OKABE_ITO["blue"], marker="s",
                    linewidth=2, label="simulated, same arrivals")
            ax.plot(busy, [live(p) for p in self.live], color=OKABE_ITO["vermillion"], marker="o", linestyle=":",
                    linewidth=2, label="live instance")
            ax.axvspan(60, 70, color=OKABE_ITO["green"], alpha=0.15)
            ax.set_xlabel("utilisation (% of worker time busy)")
            ax.set_ylabel(f"{what} wait in the queue (ms)")
            ax.legend(loc="upper left", fontsize="small")
        mean_ax.text(65, mean_ax.get_ylim()[1] * 0.5, "autoscaling\ntargets", ha="center", fontsize="small")
        mean_ax.set_title("Mean wait: flat, then a hockey stick")
        p99_ax.set_title("p99 wait (no closed formula for fixed service)")
        on_card(mean_ax.figure)
        return axes


def measure_hockey_stick(utilisations=UTILISATIONS, workers=4, service_ms=10, seconds=0.8, seed=7):
    """Run one instance at each utilisation for about ``seconds`` of Poisson arrivals; returns a ``HockeyStick``.

    Each run sends ``rate x seconds`` requests, where ``rate`` keeps the
    ``workers`` busy ``utilisation`` of the time (``workers x utilisation / service_ms``).
    """
    workers = require_int("workers", workers)
    service_ms = require_number("service_ms", service_ms, allow_minimum=False)
    seconds = require_number("seconds", seconds, allow_minimum=False)
    seed = require_seed(seed)
    if not utilisations:
        raise InvalidArgumentError("utilisations must list at least one share of busy time, like (0.5, 0.95)")
    for utilisation in utilisations:
        require_number("utilisation", utilisation, allow_minimum=False, maximum=0.99)
    live, simulated, sent = [], [], []
    for utilisation in utilisations:
        mean_gap_ms = service_ms / (workers * utilisation)
        requests = max(20, round(seconds * 1000 / mean_gap_ms))
        gaps = arrival_gaps_ms(requests, mean_gap_ms, "poisson", seed)
        live.append(_live_point(utilisation, workers, service_ms, gaps))
        simulated.append(simulate_queue(workers, service_ms, utilisation, "poisson", "fixed", requests, seed))
        sent.append(requests)
    return HockeyStick(workers, service_ms, tuple(sent), seed, tuple(live), tuple(simulated))
