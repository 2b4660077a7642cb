"""A rolling deploy of a tier whose users hold long sessions: how long to drain?

A rolling deploy takes instances out one batch at a time, replaces them with
the new version and moves on. A stateless instance holds no user state, so
draining it only means letting in-flight requests finish (a fraction of a
second) and nobody loses anything. A stateful instance holds sessions in
memory: the deploy can wait for them to end (draining) or cut them off. The
drain timeout sets the price: short timeouts lose sessions, long ones make the
deploy take about as long as the longest session times the number of batches.
It checks at scale what chapters 02 (F5) and 06 (W5) show live:
``tests/test_sim.py`` pins it, ``benchmarks/sim_speed.py`` runs it at 1,000
instances.

Simplifications: sessions are simulated one by one, but only their end times
matter (requests are not modelled). Session lengths are lognormal with a long
tail. New sessions go to a random instance that accepts new sessions and stay
there; an instance being replaced accepts none. A replacement takes
START_DELAY_S to start. Lost sessions are not retried.
"""

import math
import random
from dataclasses import dataclass, field

import simpy

from ..checks import require_choice, require_int, require_number, require_seed
from ..engine.tables import ResultTable, format_duration
from ..errors import InvalidArgumentError

__all__ = ["simulate_rolling_deploy", "compare_drain_timeouts", "DeployResult", "DrainTradeoff",
           "DRAIN_TIMEOUTS"]

INSTANCES = 10
SESSIONS_PER_INSTANCE = 50
SESSION_MINUTES = 15          # mean session length
SESSION_SIGMA = 0.75          # spread of the lognormal: some sessions last hours
START_DELAY_S = 30            # a replacement instance serves 30 s after it is started
REQUEST_S = 0.2               # the longest in-flight request a stateless drain waits for
ARRIVAL_TICK_S = 1.0          # new sessions are routed once per simulated second
DRAIN_TIMEOUTS = (0, 60, 300, 1800, None)   # None: wait for every session to end


class _Instance:
    """One instance: its version, whether it takes new sessions, and when its sessions end."""

    def __init__(self, name):
        self.name, self.version, self.accepting = name, "v1", True
        self.session_ends = []
        self._tidy_at = 64

    def pin(self, end, now):
        self.session_ends.append(end)
        if len(self.session_ends) > self._tidy_at:      # forget sessions that already ended
            self.session_ends = self.live_sessions(now)
            self._tidy_at = 2 * len(self.session_ends) + 64

    def live_sessions(self, now):
        return [end for end in self.session_ends if end > now]


class _Sessions:
    """Session lengths (lognormal, mean ``minutes``) drawn from one seeded generator."""

    def __init__(self, minutes, sigma, rng):
        self.rng, self.sigma = rng, sigma
        self.mu = math.log(minutes * 60) - sigma ** 2 / 2

    def length(self):
        return self.rng.lognormvariate(self.mu, self.sigma)

    def remaining_of_one_in_progress(self):
        """A session caught in progress tends to be a long one (the inspection paradox):
        its whole length is lognormal(mu + sigma**2, sigma) and we are somewhere inside it."""
        return self.rng.random() * self.rng.lognormvariate(self.mu + self.sigma ** 2, self.sigma)


class _Ledger:
    def __init__(self):
        self.started = self.on_replaced = self.lost = 0
        self.longest_drain_s = 0.0
        self.series = {"minute": [0.0], "instances_on_v2": [0], "sessions_lost": [0]}

    def replaced(self, now, instances):
        self.series["minute"].append(now / 60)
        self.series["instances_on_v2"].append(sum(i.version == "v2" for i in instances))
        self.series["sessions_lost"].append(self.lost)


def _arrivals(env, instances, rate_per_s, sessions, routing, ledger):
    """New users arrive (Poisson) and are pinned to a random accepting instance."""
    next_at = sessions.rng.expovariate(rate_per_s)
    while True:
        yield env.timeout(ARRIVAL_TICK_S)
        accepting = [inst for inst in instances if inst.accepting]
        while next_at < env.now:
            length, pick = sessions.length(), routing.random()   # one draw each, whatever happens
            if accepting:
                accepting[int(pick * len(accepting))].pin(next_at + length, env.now)
                ledger.started += 1
            next_at += sessions.rng.expovariate(rate_per_s)


def _replace(env, inst, stateful, drain_timeout_s, start_delay_s, ledger, instances):
    """Drain one instance (stop new sessions, wait), stop it, start the new version."""
    inst.accepting = False
    live = inst.live_sessions(env.now)
    ledger.on_replaced += len(live)
    last_end = max(live, default=env.now) if stateful else env.now + REQUEST_S
    wait = last_end - env.now
    if drain_timeout_s is not None:
        wait = min(wait, drain_timeout_s)
    yield env.timeout(wait)
    ledger.longest_drain_s = max(ledger.longest_drain_s, wait)
    if stateful:                     # whatever is still in memory dies with the process
        ledger.lost += sum(1 for end in live if end > env.now)
    inst.session_ends = []
    yield env.timeout(start_delay_s)
    inst.version, inst.accepting = "v2", True
    ledger.replaced(env.now, instances)


def _deploy(env, instances, batch_size, replace_one):
    for first in range(0, len(instances), batch_size):
        batch = instances[first:first + batch_size]
        yield env.all_of([env.process(replace_one(inst)) for inst in batch])


@dataclass(frozen=True, repr=False)
class DeployResult(ResultTable):
    """One rolling deploy: how long it took and what users lost."""
    tier: str
    drain_timeout_s: float
    instances: int
    seed: int
    deploy_s: float
    longest_drain_s: float
    sessions_started: int
    sessions_on_replaced: int
    sessions_lost: int
    series: dict = field(compare=False)

    @property
    def lost_share(self):
        """Sessions lost as a fraction of the sessions on the instances that were replaced."""
        return self.sessions_lost / self.sessions_on_replaced if self.sessions_on_replaced else 0.0

    HEADERS = ("tier", "drain timeout", "deploy time", "sessions on replaced instances", "sessions lost",
               "lost %")

    def row(self):
        if self.tier == "stateless":
            timeout = "in-flight requests"
        elif self.drain_timeout_s is None:
            timeout = "wait for all"
        else:
            timeout = format_duration(self.drain_timeout_s)
        return [self.tier, timeout, format_duration(self.deploy_s), self.sessions_on_replaced,
                self.sessions_lost, round(100 * self.lost_share, 1)]

    def _table_data(self):
        title = f"Rolling deploy of {self.instances} instances (seed {self.seed})"
        return title, self.HEADERS, [self.row()]


@dataclass(frozen=True, repr=False)
class DrainTradeoff(ResultTable):
    """Rolling deploys of one tier with several drain timeouts, plus the stateless case."""
    results: tuple

    def _table_data(self):
        first = self.results[0]
        title = f"Rolling deploy of {first.instances} instances: drain timeout vs cost (seed {first.seed})"
        return title, DeployResult.HEADERS, [r.row() for r in self.results]

    @property
    def series(self):
        stateful = [r for r in self.results if r.tier == "stateful"]
        return {"drain_timeout_s": [r.drain_timeout_s for r in stateful],
                "deploy_minutes": [r.deploy_s / 60 for r in stateful],
                "sessions_lost": [r.sessions_lost for r in stateful]}

    def plot(self, ax=None):
        """Sessions lost against deploy time, one point per drain timeout; returns the Axes."""
        if ax is None:
            import matplotlib.pyplot as plt
            ax = plt.subplots()[1]
        data = self.series
        ax.plot(data["deploy_minutes"], data["sessions_lost"], marker="o")
        for timeout, x, y in zip(data["drain_timeout_s"], data["deploy_minutes"], data["sessions_lost"]):
            ax.annotate("wait for all" if timeout is None else format_duration(timeout), (x, y))
        ax.set_xlabel("deploy time (minutes)")
        ax.set_ylabel("sessions lost")
        return ax


def simulate_rolling_deploy(tier="stateful", instances=INSTANCES, drain_timeout_s=None, seed=7,
                            sessions_per_instance=SESSIONS_PER_INSTANCE, session_minutes=SESSION_MINUTES,
                            batch_size=1, start_delay_s=START_DELAY_S):
    """Roll ``instances`` instances of ``tier`` ("stateful" or "stateless") to v2.

    Each instance holds about ``sessions_per_instance`` sessions when the deploy
    starts. ``drain_timeout_s`` bounds how long a drain waits (None: until the
    last session ends). ``batch_size`` instances are replaced at a time.
    """
    require_choice("tier", tier, ("stateful", "stateless"))
    instances = require_int("instances", instances)
    batch_size = require_int("batch_size", batch_size)
    sessions_per_instance = require_int("sessions_per_instance", sessions_per_instance, minimum=0)
    require_number("session_minutes", session_minutes, allow_minimum=False)
    require_number("start_delay_s", start_delay_s)
    if drain_timeout_s is not None:
        require_number("drain_timeout_s", drain_timeout_s)
    seed = require_seed(seed)
    # Users and routing draw from separate streams, so runs with different drain
    # timeouts see the same users with the same session lengths (common random
    # numbers): the comparison then shows the timeout, not luck.
    streams = random.Random(seed)
    sessions = _Sessions(session_minutes, SESSION_SIGMA, random.Random(streams.getrandbits(64)))
    routing = random.Random(streams.getrandbits(64))
    fleet = [_Instance(f"{tier}-{n + 1}") for n in range(instances)]
    ledger = _Ledger()
    for inst in fleet:
        for _ in range(sessions_per_instance):
            inst.pin(sessions.remaining_of_one_in_progress(), 0.0)
    ledger.started = instances * sessions_per_instance
    env = simpy.Environment()
    rate_per_s = max(instances * sessions_per_instance, 1) / (session_minutes * 60)
    env.process(_arrivals(env, fleet, rate_per_s, sessions, routing, ledger))

    def replace_one(inst):
        return _replace(env, inst, tier == "stateful", drain_timeout_s, start_delay_s, ledger, fleet)

    env.run(until=env.process(_deploy(env, fleet, batch_size, replace_one)))
    return DeployResult(tier=tier, drain_timeout_s=drain_timeout_s, instances=instances, seed=seed,
                        deploy_s=env.now, longest_drain_s=ledger.longest_drain_s,
                        sessions_started=ledger.started, sessions_on_replaced=ledger.on_replaced,
                        sessions_lost=ledger.lost, series=ledger.series)


def compare_drain_timeouts(instances=INSTANCES, timeouts=DRAIN_TIMEOUTS, seed=7,
                           sessions_per_instance=SESSIONS_PER_INSTANCE, session_minutes=SESSION_MINUTES):
    """The stateful tier with each drain timeout, then the stateless tier for contrast."""
    if not timeouts:
        raise InvalidArgumentError(f"timeouts must list at least one drain timeout in seconds (None means "
                                   f"wait for all), for example {DRAIN_TIMEOUTS}; got {timeouts!r}")
    results = [simulate_rolling_deploy("stateful", instances, timeout, seed, sessions_per_instance,
                                       session_minutes) for timeout in timeouts]
    results.append(simulate_rolling_deploy("stateless", instances, None, seed, sessions_per_instance,
                                           session_minutes))
    return DrainTradeoff(results=tuple(results))
