"""A whole region fails: where the session state lived decides what users lose.

Users are served by their nearest of two or three regions. At ``fail_at_s``
one region disappears. Global routing needs ``DETECT_S`` to notice and send
that region's users elsewhere. A stateless tier keeps session state in a
store replicated across regions, so the users' sessions carry on in the
surviving regions (if those have the capacity). A stateful tier keeps
sessions in the failed region's memory: they are gone. With asynchronous
replication to another region the sessions survive, minus the writes of the
last ``replication_lag_s`` seconds, and failover also waits for the replica
to be promoted. Chapter 06 (W6) uses this model.

Simplifications: one-second steps; sessions are counted, not simulated one
by one, and end after an exponential time; a region serves INSTANCE_RPS per
instance and fails what it cannot serve in that second; the replicated store
of the stateless tier is synchronous (it loses nothing); users whose sessions
were lost carry on with a new, empty session once routing has moved them.
"""

import math
import random
from dataclasses import dataclass, field

import simpy

from ..checks import require_choice, require_int, require_number, require_seed
from ..engine.tables import ResultTable, format_duration

__all__ = ["simulate_region_failure", "compare_region_failure", "RegionFailureResult",
           "RegionFailureComparison", "REGION_NAMES"]

REGION_NAMES = ("eu-west", "us-east", "ap-south")
STEP_S = 1
INSTANCE_RPS = 100          # requests/s one instance serves
SESSION_RPS = 0.2           # each session sends a request every 5 s
WRITE_SHARE = 0.25          # a quarter of requests change the session's state
SESSION_MINUTES = 20        # mean session length (exponential)
DETECT_S = 30               # health checks fail and global routing moves the users
PROMOTE_S = 60              # stateful with a replica: promote it before serving
NOISE = 0.02                # second-to-second wobble of traffic
SERIES_EVERY_S = 10


class _Region:
    """One region: its capacity, the sessions of the users who live near it, and who serves them."""

    def __init__(self, name, instances, sessions):
        self.name, self.capacity_rps, self.sessions = name, instances * INSTANCE_RPS, sessions
        self.up = True
        self.served_by = [self]      # where this region's users are sent


class _Ledger:
    """What the run counts: requests, failures, lost state, and the series to plot."""

    def __init__(self, names):
        self.requests = self.failed = self.sessions_lost = self.writes_lost = 0.0
        self.sessions_hit = 0.0      # sessions that lost some writes but survived
        self.peak_survivor_load = 0.0
        self.series = {"time_s": [], "failed_rps": [], **{f"{n}_rps": [] for n in names}}


def _traffic(env, regions, arrivals_per_s, rng, ledger):
    """Each second: sessions end and start, requests go where routing sends them."""
    keep = math.exp(-STEP_S / (SESSION_MINUTES * 60))
    while True:
        load = {region.name: 0.0 for region in regions}
        failed = 0.0
        for home in regions:
            home.sessions = home.sessions * keep + arrivals_per_s * STEP_S * (1 + NOISE * rng.gauss(0, 1))
            requests = home.sessions * SESSION_RPS * STEP_S * (1 + NOISE * rng.gauss(0, 1))
            ledger.requests += requests
            targets = [region for region in home.served_by if region.up]
            if not targets:                       # routing still points at a dead region
                failed += requests
            for region in targets:
                load[region.name] += requests / len(targets)
        someone_down = not all(region.up for region in regions)
        for region in regions:
            if region.up:
                capacity = region.capacity_rps * STEP_S
                failed += max(0.0, load[region.name] - capacity)
                if someone_down:
                    ledger.peak_survivor_load = max(ledger.peak_survivor_load, load[region.name] / capacity)
        ledger.failed += failed
        if env.now % SERIES_EVERY_S == 0:
            ledger.series["time_s"].append(env.now)
            ledger.series["failed_rps"].append(round(failed / STEP_S, 1))
            for region in regions:
                served = min(load[region.name], region.capacity_rps * STEP_S) if region.up else 0.0
                ledger.series[f"{region.name}_rps"].append(round(served / STEP_S, 1))
        yield env.timeout(STEP_S)


def _failure(env, failed, survivors, keeps_sessions, replication_lag_s, fail_at_s, failover_s, ledger):
    """The region dies and what was only in its memory is gone; later, routing moves its users.

    The users themselves stay: a user whose session was lost starts again from
    an empty one, so the traffic is the same for every tier."""
    yield env.timeout(fail_at_s)
    failed.up = False
    writes_per_session_s = SESSION_RPS * WRITE_SHARE
    if not keeps_sessions:
        # everything each session wrote: a live session is SESSION_MINUTES old on average
        ledger.sessions_lost = failed.sessions
        ledger.writes_lost = failed.sessions * writes_per_session_s * SESSION_MINUTES * 60
    elif replication_lag_s:         # only what the replica had not yet received
        ledger.writes_lost = failed.sessions * writes_per_session_s * replication_lag_s
        ledger.sessions_hit = failed.sessions * (1 - math.exp(-writes_per_session_s * replication_lag_s))
    yield env.timeout(failover_s)
    failed.served_by = survivors


@dataclass(frozen=True, repr=False)
class RegionFailureResult(ResultTable):
    """One region failure: requests that failed and state that was lost."""
    tier: str
    regions: int
    failed_region: str
    seed: int
    failover_s: float
    requests_total: int
    requests_failed: int
    sessions_lost: int
    sessions_missing_writes: int
    writes_lost: int
    data_loss_window: str
    peak_survivor_utilisation: float
    series: dict = field(compare=False)

    HEADERS = ("tier", "failover", "requests failed", "sessions lost", "sessions missing writes",
               "writes lost", "data-loss window", "peak load on survivors %")

    def row(self):
        return [self.tier, format_duration(self.failover_s), self.requests_failed, self.sessions_lost,
                self.sessions_missing_writes, self.writes_lost, self.data_loss_window,
                round(100 * self.peak_survivor_utilisation)]

    def _table_data(self):
        title = f"{self.failed_region} fails, {self.regions} regions (seed {self.seed})"
        return title, self.HEADERS, [self.row()]

    def plot(self, ax=None):
        """Requests served per region and failed, per second; returns the Axes."""
        if ax is None:
            import matplotlib.pyplot as plt
            ax = plt.subplots()[1]
        minutes = [t / 60 for t in self.series["time_s"]]
        for key, values in self.series.items():
            if key.endswith("_rps"):
                ax.plot(minutes, values, label=key[:-4].replace("_", " "))
        ax.set_xlabel("minute")
        ax.set_ylabel("requests/s")
        ax.set_title(self.tier)
        ax.legend()
        return ax


@dataclass(frozen=True, repr=False)
class RegionFailureComparison(ResultTable):
    """The same region failure for several tiers."""
    results: tuple

    def _table_data(self):
        first = self.results[0]
        title = f"{first.failed_region} fails, {first.regions} regions, same users (seed {first.seed})"
        return title, RegionFailureResult.HEADERS, [r.row() for r in self.results]

    @property
    def series(self):
        return {r.tier: r.series for r in self.results}


def simulate_region_failure(tier="stateless", regions=3, instances_per_region=10, utilisation=0.6,
                            fail_at_s=1800, duration_s=3600, replication_lag_s=None,
                            fail_region=REGION_NAMES[0], seed=7):
    """Run ``regions`` regions of ``tier`` ("stateless" or "stateful") and fail one.

    Each region runs ``instances_per_region`` instances at ``utilisation``
    (0.6 = 60 % busy). For the stateful tier ``replication_lag_s`` None means
    session state is only in memory; a number means an asynchronous replica in
    another region that is that many seconds behind.
    """
    require_choice("tier", tier, ("stateless", "stateful"))
    require_choice("regions", regions, tuple(range(2, len(REGION_NAMES) + 1)))
    instances_per_region = require_int("instances_per_region", instances_per_region)
    require_number("utilisation", utilisation, minimum=0.0, maximum=1.0, allow_minimum=False)
    duration_s = require_int("duration_s", duration_s)
    require_number("fail_at_s", fail_at_s, maximum=duration_s)
    if replication_lag_s is not None:
        require_number("replication_lag_s", replication_lag_s)
    require_choice("fail_region", fail_region, REGION_NAMES[:regions])
    seed = require_seed(seed)
    sessions = instances_per_region * INSTANCE_RPS * utilisation / SESSION_RPS
    fleet = [_Region(name, instances_per_region, sessions) for name in REGION_NAMES[:regions]]
    failed = next(region for region in fleet if region.name == fail_region)
    survivors = [region for region in fleet if region is not failed]
    keeps_sessions = tier == "stateless" or replication_lag_s is not None
    failover_s = DETECT_S + (PROMOTE_S if tier == "stateful" and keeps_sessions else 0)
    if tier == "stateless":
        label, window = "stateless, replicated store", "0 s"
    elif replication_lag_s is None:
        label, window = "stateful, memory only", "all session state"
    else:
        label, window = f"stateful, replica {format_duration(replication_lag_s)} behind", \
            format_duration(replication_lag_s)
    ledger = _Ledger(REGION_NAMES[:regions])
    env = simpy.Environment()
    env.process(_traffic(env, fleet, sessions / (SESSION_MINUTES * 60), random.Random(seed), ledger))
    env.process(_failure(env, failed, survivors, keeps_sessions, replication_lag_s, fail_at_s,
                         failover_s, ledger))
    env.run(until=duration_s)
    return RegionFailureResult(
        tier=label, regions=regions, failed_region=fail_region, seed=seed, failover_s=failover_s,
        requests_total=round(ledger.requests), requests_failed=round(ledger.failed),
        sessions_lost=round(ledger.sessions_lost), sessions_missing_writes=round(ledger.sessions_hit),
        writes_lost=round(ledger.writes_lost), data_loss_window=window,
        peak_survivor_utilisation=ledger.peak_survivor_load, series=ledger.series)


def compare_region_failure(regions=3, instances_per_region=10, utilisation=0.6, fail_at_s=1800,
                           duration_s=3600, replication_lag_s=5, seed=7):
    """Stateless (replicated store), stateful (memory only), stateful (async replica)."""
    shared = dict(regions=regions, instances_per_region=instances_per_region, utilisation=utilisation,
                  fail_at_s=fail_at_s, duration_s=duration_s, seed=seed)
    return RegionFailureComparison(results=(
        simulate_region_failure("stateless", **shared),
        simulate_region_failure("stateful", **shared),
        simulate_region_failure("stateful", replication_lag_s=replication_lag_s, **shared),
    ))
