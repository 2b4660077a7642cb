"""Gray failure: an instance that is slow or frozen, not dead, and what a balancer can do about it.

A crashed instance is easy: its port refuses, the balancer takes it out, done
(chapter 06, claim W4). A *slow* one still answers its health check, so it
stays in rotation and drags every request that lands on it; with round robin
that is one request in N, far more than the 1 % that decides the p99. A
*paused* one (a long GC pause) holds its connections and answers nothing:
clients wait until somebody's timeout fires, and a sticky user pinned to it
can only wait, because their session is in there.

``slow_instance_experiment`` sends the same seeded traffic through a fresh
stateless cluster once per balancing setup (``SETUPS``: round robin, least
connections, round robin with outlier ejection), with ``shop-2`` slowed from
the start. It records how many actions the slow instance served, the p50
and p99 the users saw, and whether its health check stayed green. The tail
latencies vary from run to run and are only shown; what does not vary is
the order: round robin's tail is the worst, and the other two send the slow
instance far less traffic. Least connections routes around it without knowing
it is slow: requests pile up there, so it looks busy. Outlier ejection
notices that its answers take many times longer than the others' and takes
it out for a cool-off (``engine/defences.py``).

``paused_instance_experiment`` pauses the instance holding two sticky users'
sessions, with a request timeout on the balancer: those users' requests time
out (504, counted as "outcome unknown": the instance may still do them when
it wakes), the others notice nothing, and after ``heal`` everyone shops on
with their carts, because a pause is not a crash. The pause is kept shorter
than the balancer's health checks need to notice it; how a longer cut ends is
the partition experiment (``partition.py``). Chapter 06 (claim W10).
"""

import time
from dataclasses import dataclass, field

from ..checks import require_int, require_number
from ..engine.tables import ResultTable, Table
from ..engine.waiting import wait_until
from ..shop.cluster import Cluster
from ..shop.ledger import Ledger, Report

__all__ = ["Setup", "SETUPS", "SlowRun", "SlowInstanceResult", "slow_instance_experiment", "PausedInstanceResult",
           "paused_instance_experiment"]

VICTIM = "shop-2"
WAIT_LIMIT_S = 60.0


@dataclass(frozen=True)
class Setup:
    """One way to run the balancer: a policy and the defences switched on (``Balancer.defend``)."""
    label: str
    policy: str
    defences: dict = field(default_factory=dict)


SETUPS = (Setup("round robin", "round_robin"),
          Setup("least connections", "least_connections"),
          Setup("round robin + outlier ejection", "round_robin", {"outlier_ejection": True}))


@dataclass(frozen=True)
class SlowRun:
    """One setup's run with a slow instance: counts, and latencies (ms, measured after the warm-up) for showing."""
    setup: Setup
    actions: int                  # actions measured (after the warm-up)
    slow_served: int              # of those, how many the slow instance served
    latencies_ms: tuple           # every measured action's latency, sorted
    stayed_green: bool            # did the slow instance's health check pass throughout?
    ejections: int

    @property
    def slow_share(self):
        return self.slow_served / self.actions if self.actions else 0.0

    def latency_ms(self, percentile):
        """The ``percentile`` of the measured latencies (nearest rank, as ``Report.latency_ms``)."""
        values = self.latencies_ms
        return values[min(len(values) - 1, round(percentile / 100 * (len(values) - 1)))] if values else 0.0


@dataclass(frozen=True, repr=False)
class SlowInstanceResult(ResultTable):
    """Every setup's run; shows itself as the table of what does not change from run to run."""
    slow_ms: float
    runs: tuple

    def run(self, label):
        return next(r for r in self.runs if r.setup.label == label)

    def by_tail(self):
        """The setups' labels ordered by the p99 their users saw, worst first."""
        return [r.setup.label for r in sorted(self.runs, key=lambda r: r.latency_ms(99), reverse=True)]

    def worst_tail(self):
        """The setup whose users saw the highest p99."""
        return self.by_tail()[0]

    def routes_around(self, label, than="round robin", factor=2):
        """Did ``label`` send the slow instance at least ``factor`` times less traffic than ``than``?"""
        return self.run(label).slow_share * factor <= self.run(than).slow_share

    def _table_data(self):
        rows = [[r.setup.label, "yes" if r.stayed_green else "no",
                 "-" if r.setup.label == "round robin" else "yes" if self.routes_around(r.setup.label) else "no"]
                for r in self.runs]
        return (f"{VICTIM} slowed by {self.slow_ms:g} ms, the same traffic through each setup",
                ["balancer", "slow instance's health check stayed green", "routed around it"], rows)

    def timings(self):
        """What the users saw and who served them (varies from run to run)."""
        rows = [[r.setup.label, r.actions, r.slow_served, f"{r.slow_share:.1%}",
                 round(r.latency_ms(50), 1), round(r.latency_ms(99), 1), r.ejections] for r in self.runs]
        return Table(["balancer", "actions", f"served by {VICTIM}", "share", "p50 ms", "p99 ms", "ejections"], rows,
                     title=f"{VICTIM} slowed by {self.slow_ms:g} ms")


def _slow_run(setup, slow_ms, instances, workers, users, think_ms, warmup_s, actions, seed):
    with Cluster.stateless(instances=instances, policy=setup.policy, seed=seed, service_ms=1,
                           workers=workers) as shop:
        shop.balancer.defend(**setup.defences)
        pooled = shop.balancer.instance(VICTIM)
        shop.start_traffic(users=users, think_ms=think_ms, seed=seed)
        ledger = shop.ledger
        wait_until(lambda: ledger.snapshot()["actions"] >= 1, timeout=WAIT_LIMIT_S)     # everyone logged in
        shop.slow(VICTIM, slow_ms)
        time.sleep(warmup_s)                                   # the balancer learns; nothing is measured yet
        first, slow_before = len(ledger.latencies_ms), ledger.by_instance[VICTIM]
        wait_until(lambda: len(ledger.latencies_ms) >= first + actions, timeout=WAIT_LIMIT_S)
        shop.stop_traffic()
        measured = sorted(ledger.latencies_ms[first:first + actions])
        green = pooled.status == "up" and pooled.down_since is None and pooled.failed_checks == 0
        return SlowRun(setup, len(measured), ledger.by_instance[VICTIM] - slow_before, tuple(measured), green,
                       shop.balancer.defence_stats()["ejections"])


def slow_instance_experiment(setups=SETUPS, slow_ms=200, instances=4, workers=8, users=16, think_ms=20,
                             warmup_s=1.0, actions=300, seed=7):
    """The same traffic through each setup with ``shop-2`` answering ``slow_ms`` late; a ``SlowInstanceResult``.

    ``users`` shop in the background with ``think_ms`` between actions. Once they
    are all logged in, ``shop-2`` slows down; for ``warmup_s`` seconds the balancer
    learns (least connections reacts at once, outlier ejection needs a few slow
    answers and the requests queued behind them to finish), then the next
    ``actions`` actions are measured.
    """
    require_number("slow_ms", slow_ms, 0, unit="milliseconds")
    require_int("instances", instances, 2)
    require_int("users", users, 1)
    require_int("actions", actions, 1)
    require_number("warmup_s", warmup_s, 0, unit="seconds")
    runs = tuple(_slow_run(setup, slow_ms, instances, workers, users, think_ms, warmup_s, actions, seed)
                 for setup in setups)
    return SlowInstanceResult(slow_ms, runs)


@dataclass(frozen=True, repr=False)
class PausedInstanceResult(ResultTable):
    """Sticky users around a pause: what each phase cost, and the sessions the paused instance kept."""
    timeout_s: float
    pinned: tuple                 # users whose sessions are on the paused instance
    phases: tuple                 # (phase, Report, sessions held by the victim, requests that timed out)
    carts_kept: bool              # after heal, every pinned user's cart is what they put in it

    def _table_data(self):
        rows = [[phase, report.actions, report.ok, report.unknown_outcomes, report.lost_sessions, held, timed_out]
                for phase, report, held, timed_out in self.phases]
        title = (f"{VICTIM} paused, then healed ({len(self.pinned)} users pinned to it, request timeout "
                 f"{self.timeout_s:g} s)")
        return (title,
                ["phase", "actions", "ok", "unknown outcome", "lost sessions", f"sessions held by {VICTIM}",
                 "requests timed out"], rows)


def paused_instance_experiment(users=6, timeout_s=0.25, seed=7):
    """Pause the instance holding some sticky users' sessions, let everyone shop once, heal, shop again."""
    require_int("users", users, 3)
    require_number("timeout_s", timeout_s, 0, allow_minimum=False, unit="seconds")
    # Health checks every 2 s (each waiting up to 1 s) cannot notice a pause this short: only requests meet it.
    with Cluster.stateful(instances=3, seed=seed, health_interval=2.0) as shop:
        shop.balancer.defend(request_timeout_s=timeout_s)
        people = [shop.user(f"user-{i:02d}") for i in range(users)]
        for person in people:
            person.add("book")
        pinned = tuple(p.name for p in people if p.last_instance == VICTIM)
        pooled, victim = shop.balancer.instance(VICTIM), shop.instance(VICTIM)
        phases = []
        for phase, fault in (("paused", shop.pause), ("healed", shop.heal)):
            fault(VICTIM)
            ledger, timeouts_before = Ledger(), pooled.timeouts
            started = time.perf_counter()
            for person in people:
                person.ledger = ledger
                person.cart()
            report = Report(users, ledger, time.perf_counter() - started, [f"{phase} {VICTIM}"])
            phases.append((phase, report, shop.sessions_held(victim), pooled.timeouts - timeouts_before))
        carts_kept = all(p.expected == {"book": 1} and not p.session_lost for p in people if p.name in pinned)
    return PausedInstanceResult(timeout_s, pinned, tuple(phases), carts_kept)
