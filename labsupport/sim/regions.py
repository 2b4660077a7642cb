"""A whole region fails: replication decides what is lost, where the state lives decides who can take over.

Users are served by the nearest of two or three regions. At ``fail_at_s``
one region disappears, and global routing needs ``DETECT_S`` to notice.
Both tiers get the same choice of how their users' state is copied to
another region (``replication``, see ``replication.py``):

* ``"none"``: the state lives only in the failed region (a stateful tier's
  memory, or a stateless tier's store in that region). It is gone; the
  region's users start again, empty, once routing has moved them.
* ``"async"``: a replica ``replication_lag_s`` behind. The writes of those
  last seconds are lost (the RPO, recovery point objective), and the
  replica must be promoted before it serves.
* ``"sync"``: every write waits until the other region has it, so nothing
  is lost (RPO 0), but every write pays a cross-region round trip.
  Promotion is still needed.

So the data lost is the replication's doing, not the tier's. What the tier
decides is *who can take over*. Any instance of a stateless tier serves any
user, so the failed region's users spread over all the survivors. A
stateful tier's session lives on particular instances: with a replica, the
region holding the replica (the next one: eu-west's is in us-east) must
serve all of those users until their sessions end, and it overloads while
the other survivor has room to spare. New sessions go anywhere. The RTO
(recovery time objective) is measured as the time from the failure until
fewer than 1 % of requests fail. Chapter 06 (W6) uses this model.

Simplifications: one-second steps; sessions are counted, not simulated one
by one, and end after an exponential time; a region serves INSTANCE_RPS per
instance and fails what it cannot serve in that second; no autoscaling (the
survivors keep their size); the replica region is the next one in
``REGION_NAMES``, wrapping around.
"""

import math
import random
from dataclasses import dataclass, field

import simpy

from ..checks import require_choice, require_int, require_number, require_seed
from ..engine.tables import ResultTable, format_duration
from .figures import INK, OKABE_ITO, new_axes, on_card
from .replication import REPLICATIONS, Loss, make_replication

__all__ = ["simulate_region_failure", "compare_region_failure", "RegionFailureResult",
           "RegionFailureComparison", "REGION_NAMES", "REPLICATIONS"]

REGION_NAMES = ("eu-west", "us-east", "ap-south")
ANYONE_SERVES = {"stateless": True, "stateful": False}     # can any instance serve any user?
STEP_S = 1
INSTANCE_RPS = 100          # requests/s one instance serves
SESSION_RPS = 0.2           # each session sends a request every 5 s
WRITE_SHARE = 0.25          # a quarter of requests change the session's state
SESSION_MINUTES = 20        # mean session length (exponential)
DETECT_S = 30               # health checks fail and global routing moves the users
NOISE = 0.02                # second-to-second wobble of traffic
SERIES_EVERY_S = 10
RESTORED_BELOW = 0.01       # service counts as restored once under 1 % of requests fail


class _Region:
    """One region: its capacity and the sessions of the users who live near it."""

    def __init__(self, name, instances, sessions):
        self.name, self.capacity_rps, self.sessions = name, instances * INSTANCE_RPS, sessions
        self.up = True
        self.writes = []             # writes per second, for what a replica had not yet received


class _Failover:
    """Where the failed region's users are sent, second by second, and what they lost."""

    def __init__(self, failed, survivors, tier, replication):
        self.failed, self.survivors = failed, survivors
        # users go anywhere when any instance can serve them, or when nothing survived to pin them to
        self.spread = ANYONE_SERVES[tier] or not replication.keeps_sessions
        self.replica = survivors[0]          # the next region holds the stateful tier's copies
        self.wait_s = DETECT_S + replication.promote_s
        self.pinned = 0.0                    # stateful: sessions that must stay on their replica

    def targets(self, now, fail_at_s):
        """How the failed region's requests are shared: [(region, share)]; empty means they fail."""
        if now < fail_at_s + self.wait_s:
            return []
        if self.spread or not self.failed.sessions:
            return [(region, 1 / len(self.survivors)) for region in self.survivors]
        pinned = min(1.0, self.pinned / self.failed.sessions)     # new sessions go anywhere
        return [(self.replica, pinned)] + [(r, (1 - pinned) / len(self.survivors)) for r in self.survivors]


class _Ledger:
    """What the run counts: requests, failures, lost state, and the series to plot."""

    def __init__(self, names):
        self.requests = self.failed = 0.0
        self.loss = Loss()           # what the failure cost (nothing, until it happens)
        self.last_bad_s = None       # the last second after the failure with >= 1 % of requests failing
        self.peak_survivor_load = 0.0
        self.series = {"time_s": [], "failed_rps": [], "requests_rps": [],
                       **{f"{n}_load_pct": [] for n in names}}


def _traffic(env, regions, failover, fail_at_s, arrivals_per_s, rng, ledger):
    """Each second: sessions end and start, requests go where routing sends them."""
    keep = math.exp(-STEP_S / (SESSION_MINUTES * 60))
    while True:
        load = {region.name: 0.0 for region in regions}
        requests_now = failed_now = 0.0
        failover.pinned *= keep
        for home in regions:
            home.sessions = home.sessions * keep + arrivals_per_s * STEP_S * (1 + NOISE * rng.gauss(0, 1))
            requests = home.sessions * SESSION_RPS * STEP_S * (1 + NOISE * rng.gauss(0, 1))
            home.writes.append(requests * WRITE_SHARE)
            requests_now += requests
            shares = [(home, 1.0)] if home.up else failover.targets(env.now, fail_at_s)
            failed_now += requests * (1 - sum(share for _, share in shares))
            for region, share in shares:
                load[region.name] += requests * share
        for region in regions:
            if region.up:
                capacity = region.capacity_rps * STEP_S
                failed_now += max(0.0, load[region.name] - capacity)
                if env.now >= fail_at_s:
                    ledger.peak_survivor_load = max(ledger.peak_survivor_load, load[region.name] / capacity)
        ledger.requests += requests_now
        ledger.failed += failed_now
        if env.now >= fail_at_s and failed_now >= RESTORED_BELOW * requests_now:
            ledger.last_bad_s = env.now
        if env.now % SERIES_EVERY_S == 0:
            ledger.series["time_s"].append(env.now)
            ledger.series["failed_rps"].append(round(failed_now / STEP_S, 1))
            ledger.series["requests_rps"].append(round(requests_now / STEP_S, 1))
            for region in regions:
                ledger.series[f"{region.name}_load_pct"].append(
                    round(100 * load[region.name] / (region.capacity_rps * STEP_S), 1) if region.up else 0.0)
        yield env.timeout(STEP_S)


def _failure(env, failover, replication, fail_at_s, ledger):
    """The region dies; what had not reached another region is gone (``replication.lose`` counts it)."""
    yield env.timeout(fail_at_s)
    failed = failover.failed
    failed.up = False
    ledger.loss = replication.lose(failed.sessions, failed.writes, SESSION_RPS * WRITE_SHARE, SESSION_MINUTES * 60)
    failover.pinned = failed.sessions - ledger.loss.sessions_lost


@dataclass(frozen=True, repr=False)
class RegionFailureResult(ResultTable):
    """One region failure: what was lost (RPO), how long until service was back (RTO), and the price."""
    tier: str
    replication: str                 # "none", "async" or "sync"
    replication_label: str           # the same, with the lag: "async, 5 s lag"
    regions: int
    failed_region: str
    seed: int
    requests_total: int
    requests_failed: int
    sessions_lost: int
    sessions_missing_writes: int
    writes_lost: int
    rpo_s: float                     # age of the oldest lost write (inf: all session state)
    rto_s: float                     # failure until < 1 % of requests fail (None: not within the run)
    write_ms: float                  # what each write waits for
    peak_survivor_utilisation: float
    fail_at_s: float
    series: dict = field(compare=False)

    HEADERS = ("tier", "replication", "data lost (RPO)", "service back (RTO)", "write ms",
               "requests failed", "sessions lost", "writes lost", "busiest survivor %")

    @property
    def label(self):
        return f"{self.tier}, replication {self.replication_label}"

    def row(self):
        rpo = "all session state" if math.isinf(self.rpo_s) else format_duration(self.rpo_s)
        rto = "not within the run" if self.rto_s is None else format_duration(self.rto_s)
        return [self.tier, self.replication_label, rpo, rto, self.write_ms, self.requests_failed, self.sessions_lost,
                self.writes_lost, round(100 * self.peak_survivor_utilisation)]

    def _table_data(self):
        title = f"{self.failed_region} fails, {self.regions} regions (seed {self.seed})"
        return title, self.HEADERS, [self.row()]

    def plot(self, ax=None):
        """Load on each region (% of its capacity) around the failure, failure window marked; returns the Axes."""
        if ax is None:
            ax = new_axes(figsize=(7, 3.5))
        minutes = [(t - self.fail_at_s) / 60 for t in self.series["time_s"]]
        styles = ({"color": OKABE_ITO["blue"], "marker": "o"}, {"color": OKABE_ITO["orange"], "marker": "s"},
                  {"color": OKABE_ITO["green"], "marker": "^"})
        names = [key[:-len("_load_pct")] for key in self.series if key.endswith("_load_pct")]
        for name, style in zip(names, styles):
            ax.plot(minutes, self.series[f"{name}_load_pct"], label=name, markevery=6, markersize=4,
                    linewidth=1.8, **style)
        failing = [100 * f / r if r else 0 for f, r in zip(self.series["failed_rps"], self.series["requests_rps"])]
        ax.fill_between(minutes, failing, color=OKABE_ITO["vermillion"], alpha=0.45, step="mid",
                        label="requests failing (% of all)")
        ax.axhline(100, color=INK, linewidth=1, linestyle="--")
        ax.text(0.01, 101, "capacity", va="bottom", fontsize="small", transform=ax.get_yaxis_transform())
        if self.rto_s is not None:
            ax.axvspan(0, self.rto_s / 60, color=OKABE_ITO["yellow"], alpha=0.35)
            ax.annotate(f"service back after {format_duration(self.rto_s)}", xy=(self.rto_s / 60, 5),
                        xytext=(0.42, 0.9), textcoords="axes fraction", fontsize="small",
                        arrowprops={"arrowstyle": "->", "color": INK})
        ax.axvline(0, color=INK, linewidth=1.2)
        ax.set_title(self.label)
        ax.set_xlabel(f"minutes after {self.failed_region} failed")
        ax.set_ylabel("load, % of region capacity")
        return ax


@dataclass(frozen=True, repr=False)
class RegionFailureComparison(ResultTable):
    """The same region failure for several tier and replication choices."""
    results: tuple

    def _table_data(self):
        first = self.results[0]
        title = f"{first.failed_region} fails, {first.regions} regions, same users (seed {first.seed})"
        return title, RegionFailureResult.HEADERS, [r.row() for r in self.results]

    @property
    def series(self):
        return {r.label: r.series for r in self.results}

    def result(self, tier, replication):
        """The run of ``tier`` with ``replication``."""
        return next(r for r in self.results if (r.tier, r.replication) == (tier, replication))

    def plot(self, replication="async", axes=None, minutes=(-3, 30)):
        """Stateless beside stateful with the same ``replication``, on shared axes; returns the two Axes."""
        if axes is None:
            axes = new_axes(1, 2, figsize=(11, 3.8), sharex=True, sharey=True)
        for ax, tier in zip(axes, ("stateless", "stateful")):
            self.result(tier, replication).plot(ax)
            ax.set_xlim(*minutes)
        axes[0].legend(loc="center right", fontsize="small")
        axes[1].set_ylabel("")
        figure = axes[0].figure
        figure.suptitle(f"{self.results[0].failed_region} fails and both tiers replicate the same way: "
                        "the same data lost, a different recovery")
        figure.subplots_adjust(top=0.82)
        on_card(figure)
        return axes


def simulate_region_failure(tier="stateless", regions=3, instances_per_region=10, utilisation=0.6,
                            fail_at_s=1800, duration_s=3600, replication="async", replication_lag_s=5,
                            fail_region=REGION_NAMES[0], seed=7):
    """Run ``regions`` regions of ``tier`` ("stateless" or "stateful") and fail one.

    Each region runs ``instances_per_region`` instances at ``utilisation``
    (0.6 = 60 % busy). ``replication`` ("none", "async" or "sync") says how
    the users' state reaches another region; an asynchronous replica is
    ``replication_lag_s`` seconds behind.
    """
    require_choice("tier", tier, ("stateless", "stateful"))
    require_choice("regions", regions, tuple(range(2, len(REGION_NAMES) + 1)))
    copying = make_replication(replication, replication_lag_s)
    instances_per_region = require_int("instances_per_region", instances_per_region)
    require_number("utilisation", utilisation, minimum=0.0, maximum=1.0, allow_minimum=False)
    duration_s = require_int("duration_s", duration_s)
    require_number("fail_at_s", fail_at_s, maximum=duration_s)
    require_choice("fail_region", fail_region, REGION_NAMES[:regions])
    seed = require_seed(seed)
    sessions = instances_per_region * INSTANCE_RPS * utilisation / SESSION_RPS
    fleet = [_Region(name, instances_per_region, sessions) for name in REGION_NAMES[:regions]]
    at = [region.name for region in fleet].index(fail_region)
    survivors = fleet[at + 1:] + fleet[:at]                 # the next region first: it holds the replica
    failover = _Failover(fleet[at], survivors, tier, copying)
    ledger = _Ledger(REGION_NAMES[:regions])
    env = simpy.Environment()
    env.process(_traffic(env, fleet, failover, fail_at_s, sessions / (SESSION_MINUTES * 60), random.Random(seed),
                         ledger))
    env.process(_failure(env, failover, copying, fail_at_s, ledger))
    env.run(until=duration_s)
    still_bad = ledger.last_bad_s is not None and ledger.last_bad_s >= duration_s - STEP_S
    return RegionFailureResult(
        tier=tier, replication=copying.name, replication_label=copying.label(),
        regions=regions, failed_region=fail_region, seed=seed,
        requests_total=round(ledger.requests), requests_failed=round(ledger.failed),
        sessions_lost=round(ledger.loss.sessions_lost), sessions_missing_writes=round(ledger.loss.sessions_missing_writes),
        writes_lost=round(ledger.loss.writes_lost), rpo_s=ledger.loss.rpo_s,
        rto_s=None if still_bad else (ledger.last_bad_s or fail_at_s) + STEP_S - fail_at_s,
        write_ms=copying.write_ms,
        peak_survivor_utilisation=ledger.peak_survivor_load, fail_at_s=fail_at_s, series=ledger.series)


def compare_region_failure(regions=3, instances_per_region=10, utilisation=0.6, fail_at_s=1800,
                           duration_s=3600, replication_lag_s=5, seed=7):
    """Both tiers with each replication choice: none, asynchronous (``replication_lag_s`` behind), synchronous."""
    shared = dict(regions=regions, instances_per_region=instances_per_region, utilisation=utilisation,
                  fail_at_s=fail_at_s, duration_s=duration_s, replication_lag_s=replication_lag_s, seed=seed)
    return RegionFailureComparison(results=tuple(
        simulate_region_failure(tier, replication=replication, **shared)
        for replication in REPLICATIONS for tier in ("stateless", "stateful")))
