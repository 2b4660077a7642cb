"""Automatic failure recovery: how fast the balancer notices a dead instance, and who noticed it.

A balancer learns that an instance died in two ways. *Actively*: every
``health_interval`` seconds it asks each instance for ``/health``, and takes
it out of rotation after two failed checks in a row. The first check after
the death comes anywhere from at once to one interval later, the second
one interval after that, so detection takes between one and two intervals,
depending on where in the check cycle the instance died (a little more:
the balancer waits a full interval *after* each round of checks, and a
round takes a few ms). *Passively*: a request that finds the instance's port
closed, or loses its connection mid-request, takes it out at once; the
request itself is retried on another instance when that is safe (a GET, or
a POST with an Idempotency-Key). While users are active, passive detection
usually wins.

``measure_detection`` kills an instance twice per health interval, once
with nobody using the shop and once under traffic, and reports how long
detection took and what the users noticed. The idle kill lands a seeded
random share of the interval after a health check reached the instance
(the *phase*; with nobody shopping, a health check is the only request an
instance sees), so the runs cover the cycle instead of always hitting the
same point of it. Chapter 06 (claim W4) uses it.
"""

import random
import time
from dataclasses import dataclass

from ..checks import require_int
from ..engine.tables import ResultTable, Table
from ..engine.waiting import wait_until
from ..errors import InvalidArgumentError
from ..shop.cluster import Cluster
from ..shop.ledger import LABELS, Report

__all__ = ["measure_detection", "DetectionRun", "DetectionResult"]

VICTIM = "shop-2"
WAIT_LIMIT_S = 10.0


@dataclass(frozen=True)
class DetectionRun:
    """One kill: when it was noticed (ms, for showing only) and what users saw."""
    health_interval_s: float
    under_traffic: bool
    detected: bool
    detection_ms: float
    retried: int                 # requests that met the dead instance and were sent elsewhere
    report: object               # the traffic Report, or None without traffic
    phase: float = None          # idle kills: share of the interval between the last health check and the kill

    @property
    def intervals(self):
        """Detection time in health intervals (1.5 = one and a half intervals)."""
        return self.detection_ms / 1000 / self.health_interval_s

    @property
    def failed(self):
        return self.report.failed_actions if self.report else 0

    @property
    def unknown(self):
        return self.report.unknown_outcomes if self.report else 0

    @property
    def lost_sessions(self):
        return self.report.lost_sessions if self.report else 0


@dataclass(frozen=True, repr=False)
class DetectionResult(ResultTable):
    """Every kill of the experiment; shows itself as the table of what users noticed."""
    kind: str
    runs: tuple

    def timings(self):
        """Detection time (ms and in intervals) and retried requests per run (they vary from run to run)."""
        rows = [[f"{r.health_interval_s:g} s", "yes" if r.under_traffic else "no",
                 "-" if r.phase is None else f"{r.phase:.0%}", round(r.detection_ms, 1), round(r.intervals, 2),
                 r.retried] for r in self.runs]
        return Table(["health checks every", "users active", "killed into the check cycle", "detected after ms",
                      "= intervals", "requests retried"], rows, title=f"Killing {VICTIM} of a {self.kind} shop")

    def _table_data(self):
        rows = [[f"{r.health_interval_s:g} s", "yes" if r.under_traffic else "no", "yes" if r.detected else "no",
                 r.failed, r.unknown, r.lost_sessions] for r in self.runs]
        return (f"Killing {VICTIM} of a {self.kind} shop",
                ["health checks every", "users active", "taken out of rotation", "failed actions",
                 "unknown outcomes", LABELS["lost_sessions"]], rows)

    def outcomes(self):
        """What users noticed, per run (the same on every run of the experiment), as a ``Table``."""
        title, headers, rows = self._table_data()
        return Table(headers, rows, title=title)


def _kill_and_watch(shop):
    """Kill the victim; returns (detected, ms until the balancer took it out, requests sent to it meanwhile)."""
    pooled = shop.balancer.instance(VICTIM)
    sent_before, in_flight = pooled.requests, pooled.in_flight
    killed_at = time.monotonic()
    shop.kill(VICTIM)
    detected = wait_until(lambda: pooled.down_since is not None, timeout=WAIT_LIMIT_S, interval=0.002)
    ms = (pooled.down_since - killed_at) * 1000 if detected else float("nan")
    return detected, ms, in_flight + pooled.requests - sent_before


def _just_checked(shop):
    """Wait until a health check reaches the victim: with nobody shopping, it is the only request it gets."""
    server = shop.instance(VICTIM)
    seen = server.stats["requests"]
    return wait_until(lambda: server.stats["requests"] > seen, timeout=WAIT_LIMIT_S, interval=0.002)


def _one_interval(kind, interval, users, seed):
    runs = []
    phase = random.Random(f"{seed}-{interval}").random()
    with Cluster(kind, instances=3, seed=seed, health_interval=interval, service_ms=5) as shop:
        _just_checked(shop)                                          # nobody shopping: only health checks
        time.sleep(phase * interval)
        detected, ms, retried = _kill_and_watch(shop)
        runs.append(DetectionRun(interval, False, detected, ms, retried, None, phase))
        shop.restart(VICTIM)
        shop.start_traffic(users=users, think_ms=5, seed=seed)
        wait_until(lambda: shop.ledger.snapshot()["actions"] >= 5 * users, timeout=WAIT_LIMIT_S, interval=0.002)
        started = time.perf_counter()
        detected, ms, retried = _kill_and_watch(shop)               # users shopping: requests notice first
        done = shop.ledger.snapshot()["actions"]
        wait_until(lambda: shop.ledger.snapshot()["actions"] >= done + 5 * users, timeout=WAIT_LIMIT_S,
                   interval=0.002)
        shop.stop_traffic()
        report = Report(users, shop.ledger, time.perf_counter() - started, [f"killed {VICTIM}"])
        runs.append(DetectionRun(interval, True, detected, ms, retried, report))
    return runs


def measure_detection(health_intervals=(0.05, 0.2, 0.5), kind="stateless", users=6, seed=7):
    """For each health-check interval, kill ``shop-2`` once idle and once under traffic; returns a ``DetectionResult``."""
    if not health_intervals or any(not isinstance(h, (int, float)) or h <= 0 for h in health_intervals):
        raise InvalidArgumentError(f"health_intervals must be positive numbers of seconds, not {health_intervals!r}")
    require_int("users", users, 1)
    runs = []
    for interval in health_intervals:
        runs += _one_interval(kind, interval, users, seed)
    return DetectionResult(kind, tuple(runs))
