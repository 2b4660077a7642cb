"""Autoscaling a day of traffic: identical stateless instances vs session-pinned ones.

An autoscaler adds instances when they are busier than a target and removes
them when they are quieter. In a stateless tier a new instance takes its
share of the load as soon as it has started, and a removed instance takes
nothing with it. In a stateful tier each session is pinned to the instance
that created it: a new instance only receives *new* sessions, and removing
an instance either waits for its sessions to end (draining, which costs
instance-hours) or throws them away. Chapter 06 (W2) runs this at 1,000
instances: the large-scale version of chapter 02's F4 (scaling a stateful
tier is slow).

The autoscaler is Kubernetes' horizontal pod autoscaler with its default
behaviour (``hpa.py``): every 15 s it proposes ``ceil(load / target)``
instances (leaving a ratio within 10 % of the target alone, in both
directions), scales down only to the highest proposal of the last 5
minutes, and at most doubles (or adds 4) per 15 s. Its metric is requests
per second per instance against 70 % of what an instance serves, as an HPA
on a request-rate metric would use; unlike CPU, that metric does not stop
at 100 % when instances are overloaded, so the autoscaler sees the whole rush.
A new instance serves two minutes after launch and counts as idle until then.

The day's users come from ``day_traffic.py``. Simplifications: traffic
moves in one-minute steps and sessions are counted, not simulated one by
one (fractional counts are fine at this scale); the two tiers, and what adding or removing an instance means for
each, are in ``scaling_tiers.py``. Requests an instance cannot serve within
a minute are counted as "over capacity" (they would queue past any sensible
timeout); the model has no queue, so it says nothing about how long the
served requests waited (chapter 06, W12, shows why 70 % and not 100 %).
Both tiers see exactly the same users; a user whose session was lost logs in
again a minute later and starts from nothing.
"""

import math
import random
from dataclasses import dataclass, field

import simpy

from ..checks import require_choice, require_int, require_number, require_seed
from ..engine.tables import ResultTable, format_duration
from .day_traffic import DAY_MINUTES, SESSION_MINUTES, SPIKE_MINUTES, day_of_arrivals
from .figures import INK, OKABE_ITO, new_axes, on_card
from .hpa import ScalingRule
from .scaling_tiers import CAPACITY_RPS, SESSION_RPS, StatefulTier, StatelessTier

__all__ = ["simulate_autoscaling", "compare_autoscaling", "AutoscalingResult", "AutoscalingComparison"]

STEP_S = 60                  # one step of the model is one minute
TARGET_UTILISATION = 0.7     # the autoscaler aims for 70 % busy (within the HPA's 10 % tolerance)
SYNC_S = 15                  # it decides every 15 s (the HPA's default sync period)
START_DELAY_S = 120          # a new instance serves two minutes after launch
SCALE_DOWN_WINDOW_S = 300    # scale down to the highest proposal of the last 5 minutes (HPA default)
MIN_INSTANCES = 2
LINE_STYLES = (                                   # stateless, stateful with drain, stateful without
    {"color": OKABE_ITO["sky"], "linewidth": 6, "alpha": 0.6, "marker": "o", "markersize": 7},
    {"color": OKABE_ITO["orange"], "linewidth": 2, "linestyle": "-.", "marker": "s", "markersize": 5},
    {"color": OKABE_ITO["vermillion"], "linewidth": 1.6, "linestyle": "--", "marker": "x", "markersize": 6},
    {"color": OKABE_ITO["purple"], "linewidth": 1.6, "linestyle": ":", "marker": "^", "markersize": 5},
)


@dataclass(frozen=True, repr=False)
class AutoscalingResult(ResultTable):
    """One tier through one day: what the autoscaler did and what users felt."""
    tier: str
    seed: int
    spike_at: str
    peak_instances: int
    overloaded_minutes: int
    requests_total: int
    requests_over_capacity: int
    sessions_started: int
    sessions_lost: int
    max_drain_minutes: float
    instance_hours: float
    series: dict = field(compare=False)

    HEADERS = ("tier", "peak instances", "overloaded min", "requests over capacity",
               "sessions lost", "longest drain", "instance-hours")

    def row(self):
        return [self.tier, self.peak_instances, self.overloaded_minutes, self.requests_over_capacity,
                self.sessions_lost, format_duration(self.max_drain_minutes * 60), round(self.instance_hours)]

    def _table_data(self):
        return f"Autoscaling one day (spike at {self.spike_at}, seed {self.seed})", self.HEADERS, [self.row()]

    def plot(self, ax=None, style=None):
        """Instances over the day on ``ax`` (a new figure if None); returns the Axes."""
        if ax is None:
            ax = new_axes()
        ax.plot(self.series["hour"], self.series["instances"], label=self.tier, **(style or LINE_STYLES[0]))
        ax.set_xlabel("hour of day")
        ax.set_ylabel("instances running")
        ax.legend()
        on_card(ax.figure)
        return ax


@dataclass(frozen=True, repr=False)
class AutoscalingComparison(ResultTable):
    """Several tiers through the same day (same users, same spike)."""
    results: tuple

    def _table_data(self):
        first = self.results[0]
        title = f"Autoscaling one day, same users (spike at {first.spike_at}, seed {first.seed})"
        return title, AutoscalingResult.HEADERS, [r.row() for r in self.results]

    @property
    def series(self):
        return {r.tier: r.series for r in self.results}

    def plot(self, axes=None):
        """Two panels: instances over the whole day, and requests over capacity around the rush.

        Tiers that run the same number of instances (stateless and "no
        drain" do) are drawn as a wide band with a dashed line on top, so
        both stay visible. Returns the two Axes.
        """
        if axes is None:
            axes = new_axes(2, 1, figsize=(9, 6), gridspec_kw={"height_ratios": (3, 2)})
        day_ax, rush_ax = axes
        spike = _minutes(self.results[0].spike_at)
        for result, style in zip(self.results, LINE_STYLES):
            hours, minutes = result.series["hour"], range(len(result.series["hour"]))
            day_ax.plot(hours, result.series["instances"], label=result.tier, markevery=90, **style)
            window = [m for m in minutes if spike - 20 <= m <= spike + 40]
            rush_ax.plot([m - spike for m in window], [result.series["over_capacity_rps"][m] for m in window],
                         label=result.tier, markevery=5, **style)
        day_ax.axvspan(spike / 60, (spike + SPIKE_MINUTES) / 60, color=OKABE_ITO["yellow"], alpha=0.6,
                       label="the rush")
        self._annotate(day_ax)
        day_ax.set_xlabel("hour of day")
        day_ax.set_ylabel("instances running")
        day_ax.set_xlim(0, 24)
        day_ax.legend(loc="upper left", fontsize="small")
        minutes_over = "\n".join(f"{r.tier}: overloaded {r.overloaded_minutes} min" for r in self.results)
        rush_ax.text(0.5, 0.45, minutes_over, transform=rush_ax.transAxes, fontsize="small")
        rush_ax.set_xlabel(f"minutes after the rush began (at {self.results[0].spike_at})")
        rush_ax.set_ylabel("requests/s over capacity")
        rush_ax.legend(loc="upper right", fontsize="small")
        day_ax.set_title("Same autoscaler, same users: instances over the day, and the rush up close")
        on_card(day_ax.figure)
        return axes


    def _annotate(self, ax):
        """Say in the figure what the lines cannot: which ones coincide, and what each tier paid."""
        for result in self.results[1:]:
            pairs = list(zip(result.series["instances"], self.results[0].series["instances"]))
            close = sum(abs(a - b) <= 0.02 * b for a, b in pairs) / len(pairs)
            if close > 0.9:                                       # the lines overlap most of the day
                note = (f"{result.tier}: within 2 % of {self.results[0].tier} for {close:.0%} of the day\n"
                        f"(the lines overlap); it paid in lost sessions: {result.sessions_lost:,}")
                ax.annotate(note, xy=(21, result.series["instances"][21 * 60]), xytext=(0.02, 0.42),
                            textcoords="axes fraction", fontsize="small",
                            arrowprops={"arrowstyle": "->", "color": INK})
            elif result.max_drain_minutes:
                gap = [a - b for a, b in zip(result.series["instances"], self.results[0].series["instances"])]
                minute = gap.index(max(gap))
                note = f"{result.tier}: kept draining instances up to {format_duration(result.max_drain_minutes * 60)}"
                ax.annotate(note, xy=(minute / 60, result.series["instances"][minute]), xytext=(0.02, 0.60),
                            textcoords="axes fraction", fontsize="small",
                            arrowprops={"arrowstyle": "->", "color": INK})


def _minutes(clock):
    """'13:31' -> 811."""
    hours, minutes = clock.split(":")
    return int(hours) * 60 + int(minutes)


def _boot(env, tier, delay_s):
    yield env.timeout(delay_s)
    tier.booting -= 1
    tier.instance_ready()


def _autoscale(env, tier, rule, start_delay_s):
    """One HPA decision: launch instances (serving after ``start_delay_s``) or remove some."""
    current = tier.serving_count + tier.booting
    wanted = rule.decide(env.now, tier.demand_rps() / CAPACITY_RPS, tier.serving_count, tier.booting)
    for _ in range(wanted - current):
        tier.booting += 1
        env.process(_boot(env, tier, start_delay_s))
    if wanted < current:              # the window keeps the count up while instances start, so all serve
        tier.remove(current - wanted, env.now)


def _day(env, tier, arrivals, log, rule, start_delay_s):
    """Every minute sessions end and begin and requests are served; every 15 s the autoscaler decides."""
    keep = math.exp(-1 / SESSION_MINUTES)
    lost_before = 0.0
    for minute, new_sessions in enumerate(arrivals):
        returning = tier.lost - lost_before     # users whose session was lost log in again
        lost_before = tier.lost
        tier.end_sessions(keep)
        tier.start_sessions(new_sessions + returning)
        log.record(minute, tier)
        for _ in range(STEP_S // SYNC_S):
            tier.finish_drains(env.now)
            _autoscale(env, tier, rule, start_delay_s)
            yield env.timeout(SYNC_S)


class _DayLog:
    def __init__(self):
        self.series = {"hour": [], "instances": [], "serving": [], "draining": [],
                       "demand_rps": [], "capacity_rps": [], "over_capacity_rps": []}
        self.requests = self.over = self.instance_minutes = 0.0
        self.overloaded_minutes = 0

    def record(self, minute, tier):
        running = tier.serving_count + tier.booting + tier.draining_count
        demand, over = tier.demand_rps(), tier.over_capacity_rps()
        self.requests += demand * STEP_S
        self.over += over * STEP_S
        self.overloaded_minutes += over * STEP_S >= 1
        self.instance_minutes += running
        for key, value in (("hour", minute / 60), ("instances", running), ("serving", tier.serving_count),
                           ("draining", tier.draining_count), ("demand_rps", round(demand, 1)),
                           ("capacity_rps", tier.serving_count * CAPACITY_RPS),
                           ("over_capacity_rps", round(over, 1))):
            self.series[key].append(value)


def simulate_autoscaling(tier="stateless", peak_instances=1000, seed=7, scale_down="drain",
                         drain_timeout_s=None, start_delay_s=START_DELAY_S, scale_down_window_s=SCALE_DOWN_WINDOW_S):
    """Simulate one day of an autoscaled ``tier`` ("stateless" or "stateful").

    ``peak_instances`` sizes the traffic: the day's normal peak needs that many
    instances at the target utilisation (the seeded spike needs more). For the
    stateful tier ``scale_down`` is "drain" (wait for pinned sessions to end,
    at most ``drain_timeout_s`` seconds; None waits for all) or "kill".
    ``scale_down_window_s`` is the HPA's scale-down stabilisation window.
    """
    require_choice("tier", tier, ("stateless", "stateful"))
    require_choice("scale_down", scale_down, ("drain", "kill"))
    peak_instances = require_int("peak_instances", peak_instances, minimum=MIN_INSTANCES)
    seed = require_seed(seed)
    if drain_timeout_s is not None:
        require_number("drain_timeout_s", drain_timeout_s)
    require_number("start_delay_s", start_delay_s)
    require_number("scale_down_window_s", scale_down_window_s)
    rng = random.Random(seed)
    peak_sessions = peak_instances * CAPACITY_RPS * TARGET_UTILISATION / SESSION_RPS
    arrivals, spike_minute, first_sessions = day_of_arrivals(peak_sessions, rng)
    first = max(MIN_INSTANCES, math.ceil(first_sessions * SESSION_RPS / (CAPACITY_RPS * TARGET_UTILISATION)))
    if tier == "stateless":
        model = StatelessTier(first, first_sessions)
    else:
        model = StatefulTier(first, first_sessions, scale_down == "drain", drain_timeout_s)
    rule = ScalingRule(TARGET_UTILISATION, MIN_INSTANCES, max_instances=10 * peak_instances,
                       scale_down_window_s=scale_down_window_s)
    env, log = simpy.Environment(), _DayLog()
    env.process(_day(env, model, arrivals, log, rule, start_delay_s))
    env.run(until=DAY_MINUTES * STEP_S)
    return AutoscalingResult(
        tier=model.label, seed=seed, spike_at=f"{spike_minute // 60:02d}:{spike_minute % 60:02d}",
        peak_instances=max(log.series["instances"]), overloaded_minutes=log.overloaded_minutes,
        requests_total=round(log.requests), requests_over_capacity=round(log.over),
        sessions_started=round(first_sessions + sum(arrivals)), sessions_lost=round(model.lost),
        max_drain_minutes=max(model.drain_minutes, default=0.0),
        instance_hours=log.instance_minutes / 60, series=log.series)


def compare_autoscaling(peak_instances=1000, seed=7, drain_timeout_s=None):
    """The same day for a stateless tier and a stateful tier that drains or does not."""
    return AutoscalingComparison(results=(
        simulate_autoscaling("stateless", peak_instances, seed),
        simulate_autoscaling("stateful", peak_instances, seed, "drain", drain_timeout_s),
        simulate_autoscaling("stateful", peak_instances, seed, "kill"),
    ))
