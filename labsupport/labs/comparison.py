"""Side by side: one suite of experiments, run on both shops, fills in the comparison table.

The article sums up stateless vs stateful in a ten-row table; here each row
is an experiment (plus one row the article leaves out: can the state move?),
a short function named after its row that does the same thing to a fresh
``Cluster.stateless()`` and ``Cluster.stateful()`` and returns an
``Observation``: a sentence with its count for the table and, where something
was timed, milliseconds for a second table. Users act one after another, so
every count is the same on every run; only timings vary. Chapter 03 uses it.

    result = run_comparison(seed=7)
    result.side_by_side # what the notebook shows: per dimension, how it was measured and what each shop did
    result.table        # the same, one row per dimension: dimension | stateless | stateful | evidence
    result.timings      # how long the timed operations took (different on every run)
"""

import contextlib
import dataclasses
import random
import time
from typing import Callable

import ipywidgets as widgets
from IPython.display import display

from ..checks import require_int
from ..engine.policies import make_policy
from ..engine.tables import GroupedTable, Table
from ..errors import InvalidArgumentError
from ..shop.cluster import SHOPS, Cluster
from ..shop.users import SKUS, User

__all__ = ["KINDS", "EXPERIMENTS", "Observation", "Experiment", "Suite", "Comparison", "run_comparison",
           "where_state_lives", "request_handling", "instance_replaceability", "load_balancing",
           "horizontal_scaling", "failure_recovery", "deployment_complexity", "operational_risk",
           "restart_cost", "state_mobility", "best_use_cases"]

KINDS = tuple(SHOPS)         # the table's two columns: "stateless", "stateful"
DRAIN_TIMEOUT_S = 0.2        # how long the rolling deploy waits for each old instance to empty
YES_NO = {True: "yes", False: "no"}


@dataclasses.dataclass(frozen=True)
class Observation:
    """What one experiment saw on one kind of shop."""

    text: str                # for the table: counts and yes/no only, so it reads the same on every run
    value: int = None        # the headline count (users affected, sessions held...); None if not measured
    ms: float = None         # the timed operation, if any: for showing, never for checking


class Suite:
    """The settings all experiments share, and the two steps most of them start with."""

    def __init__(self, seed=7, instances=3, users=6, stateless_policy="round_robin", stateful_policy="sticky"):
        require_int("instances", instances, 2, 10)
        require_int("users", users, 1, 30)
        for policy in (stateless_policy, stateful_policy):
            make_policy(policy)                 # an unknown name fails here, listing the known ones
        self.seed, self.instances, self.users = seed, instances, users
        self.policies = {"stateless": stateless_policy, "stateful": stateful_policy}

    def cluster(self, kind, policy=None):
        """A fresh cluster of ``kind``; use it in a ``with`` block so it closes."""
        return Cluster(kind, self.instances, policy or self.policies[kind], self.seed)

    def shoppers(self, shop):
        """``users`` users log in one after another, and each puts one seeded item in the cart."""
        people = []
        for number in range(1, self.users + 1):
            person = shop.user(f"user-{number:02d}")
            rng = random.Random(f"{self.seed}-{person.name}")
            person.add(rng.choice(SKUS), rng.randint(1, 3))
            people.append(person)
        return people


def _look_at_carts(people):
    """Every user looks at their cart once; returns the users whose session had vanished."""
    for person in people:
        person.cart()
    return [person for person in people if person.session_lost]


# -- the rows -------------------------------------------------------------------------
def where_state_lives(kind, suite):
    """Users fill their carts; then walk each instance's memory and count the carts in the database."""
    with suite.cluster(kind) as shop:
        suite.shoppers(shop)
        held = shop.held_state().values()                  # measured: every instance's application, walked
        in_memory = sum(h.entries for h in held)
        where = sorted({name for h in held for name, part in h.breakdown.items() if part.entries})
        memory = f"memory: {in_memory} entries" + (f" ({', '.join(where)})" if where else "")
        database = f"database: {shop.database.count('cart:')} carts" if shop.database else "no database"
        return Observation(f"{memory}; {database}", in_memory)


def _ask_directly(instance, person):
    """Send ``person``'s next request straight to ``instance``, credential and cookies included; returns the cart."""
    with contextlib.closing(User(instance.url, person.name)) as probe:
        probe.credential, probe.cookies = person.credential, dict(person.cookies)
        return probe.cart()


def request_handling(kind, suite):
    """Alice adds 2 books; then her next request goes to each of the other instances in turn."""
    with suite.cluster(kind) as shop:
        alice = shop.user("alice")
        alice.add("book", 2)
        others = [instance for instance in shop.instances if instance.name != alice.last_instance]
        knew = sum(1 for instance in others if _ask_directly(instance, alice) == {"book": 2})
        return Observation(f"other instances have her cart: {YES_NO[knew == len(others)]} ({knew} of {len(others)})",
                           knew)


def instance_replaceability(kind, suite):
    """Alice adds 2 books; the instance that served her is replaced by a new one; is her cart still there?"""
    with suite.cluster(kind) as shop:
        alice = shop.user("alice")
        alice.add("book", 2)
        started = time.perf_counter()
        shop.remove_instance(alice.last_instance, drain=False)
        shop.add_instance()
        ms = (time.perf_counter() - started) * 1000
        kept = alice.cart().get("book", 0)
        return Observation(f"cart kept: {YES_NO[kept == 2]} ({kept} of 2 items)", kept, ms)


def load_balancing(kind, suite):
    """Users shop behind plain round-robin, then behind the shop's own policy: who loses the session?"""
    lost = {}
    for policy in dict.fromkeys(["round_robin", suite.policies[kind]]):
        with suite.cluster(kind, policy) as shop:
            people = suite.shoppers(shop)
            lost[policy] = len(_look_at_carts(people))
    text = "sessions lost: " + ", ".join(f"{policy.replace('_', '-')} {count} of {suite.users}"
                                         for policy, count in lost.items())
    return Observation(text, lost["round_robin"])


def horizontal_scaling(kind, suite):
    """Users fill carts; one instance is added; each user makes as many requests as there are instances."""
    with suite.cluster(kind) as shop:
        people = suite.shoppers(shop)
        started = time.perf_counter()
        new = shop.add_instance()
        ms = (time.perf_counter() - started) * 1000
        for person in people:
            for _ in shop.instances:
                person.cart()
        served = sum(1 for person in people if person.instances_seen[new])
        lost = sum(1 for person in people if person.session_lost)
        return Observation(f"new instance serves existing users: {YES_NO[served > 0]} ({served} of {len(people)}); "
                           f"carts lost: {lost}", served, ms)


def failure_recovery(kind, suite):
    """Users fill carts; the instance that served the first user is killed; everyone looks at their cart."""
    with suite.cluster(kind) as shop:
        people = suite.shoppers(shop)
        shop.kill(people[0].last_instance)
        lost, items = _look_at_carts(people), sum(person.lost_items for person in people)
        failed = sum(person.ledger.snapshot()["failed"] for person in people)
        return Observation(f"users who lost their cart: {len(lost)} of {len(people)} ({items} items); "
                           f"failed requests: {failed}", len(lost))


def deployment_complexity(kind, suite):
    """Users fill carts; a rolling deploy to v2 drains each old instance for at most 0.2 s; carts checked."""
    with suite.cluster(kind) as shop:
        people = suite.shoppers(shop)
        deploy = shop.rolling_deploy("v2", drain=True, timeout=DRAIN_TIMEOUT_S)
        kept = len(people) - len(_look_at_carts(people))
        return Observation(f"sessions lost: {deploy.sessions_lost}; carts kept: {kept} of {len(people)}",
                           deploy.sessions_lost, deploy.seconds * 1000)


def operational_risk(kind, suite):
    """For each instance in turn (on a fresh cluster each time): kill it; how many users lose their cart?"""
    hurt = []
    for index in range(suite.instances):
        with suite.cluster(kind) as shop:
            people = suite.shoppers(shop)
            shop.kill(shop.instances[index].name)
            hurt.append(len(_look_at_carts(people)))
    matter = sum(1 for count in hurt if count)
    return Observation(f"instances that matter: {matter} of {suite.instances} (users hurt by losing each: "
                       f"{', '.join(map(str, hurt))})", matter)


def restart_cost(kind, suite):
    """Users fill carts; the instance that served the first user restarts; who has to log in again?

    The lab's stateful shop keeps its sessions only in memory, so its restart is quick and comes back
    empty. A stateful system that keeps its state (on disk, in replicas) pays the other price: time
    to replay its log, load a checkpoint, rebuild indexes, let replicas catch up and warm caches
    before it serves again; chapter 07 measures a log replay growing with the state.
    """
    with suite.cluster(kind) as shop:
        people = suite.shoppers(shop)
        started = time.perf_counter()
        shop.restart(people[0].last_instance)
        ms = (time.perf_counter() - started) * 1000
        lost = _look_at_carts(people)
        return Observation(f"users who log in again: {len(lost)}; items lost: "
                           f"{sum(person.lost_items for person in people)}", len(lost), ms)


def state_mobility(kind, suite):
    """Users fill carts; the instance that served user-01 is drained *with hand-off*; who lost their cart?

    Beyond the article's table: a stateful instance can hand its sessions to a peer before it
    stops (chapter 02, ``shop/handoff.py``); a stateless one holds none to hand over (the walk
    of its memory finds nothing), so for it a hand-off is just a drain.
    """
    with suite.cluster(kind) as shop:
        people = suite.shoppers(shop)
        started = time.perf_counter()
        result = shop.drain(people[0].last_instance, handoff=True)
        ms = (time.perf_counter() - started) * 1000
        lost = _look_at_carts(people)
        moved = result["sessions_moved"]
        what = f"hand-off moved {moved} sessions" if moved else "nothing to move (0 sessions in its memory)"
        return Observation(f"{what}; users who lost their cart: {len(lost)}", moved, ms)


def best_use_cases(kind, suite):
    """Not an experiment: what the article recommends each kind for (the shop class carries it)."""
    return Observation(f"{SHOPS[kind].best_for} (from the article, not measured)")


# -- the suite ------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Experiment:
    """One row of the table: its dimension, the function that measures it, and how (for the evidence column)."""

    dimension: str
    measure: Callable
    evidence: str
    timed: str = ""          # what ``Observation.ms`` measured, if anything


EXPERIMENTS = (
    Experiment("where state lives", where_state_lives, "{users} users fill carts; count what memory and DB hold"),
    Experiment("request handling", request_handling, "send a user's next request to every other instance"),
    Experiment("instance replaceability", instance_replaceability,
               "replace the instance that served a user with a new one", "replace one instance"),
    Experiment("load balancing", load_balancing, "{users} users behind round-robin, then the shop's own policy"),
    Experiment("horizontal scaling", horizontal_scaling, "add an instance; existing users keep shopping",
               "start one more instance"),
    Experiment("failure recovery", failure_recovery, "kill the instance that served user-01"),
    Experiment("deployment complexity", deployment_complexity,
               "rolling deploy to v2, each old instance drained for up to 0.2 s", "rolling deploy"),
    Experiment("operational risk", operational_risk, "kill each of the {instances} instances in turn"),
    Experiment("restart cost", restart_cost,
               "restart the instance that served user-01 (nothing to reload: see 07)",
               "restart one instance"),
    Experiment("can state move?", state_mobility, "drain the instance that served user-01, handing off its sessions",
               "hand off one instance"),
    Experiment("best use cases", best_use_cases, "not measured: the article's advice (chapters 07-08)"),
)


class Comparison:
    """The suite's results: ``table`` (checked, the same every run) and ``timings`` (for showing)."""

    def __init__(self, suite, observations, seconds):
        self.suite, self.seconds = suite, seconds
        self.observations = observations      # dimension -> {"stateless": Observation, "stateful": Observation}

    def _title(self):
        s = self.suite
        return (f"Stateless vs stateful, measured: {s.instances} instances each, {s.users} users, "
                f"policies {s.policies['stateless']} / {s.policies['stateful']}, seed {s.seed}")

    @property
    def table(self):
        """One row per dimension, both shops side by side (wide: for code, not for reading)."""
        s = self.suite
        rows = [[e.dimension, *(self.observations[e.dimension][kind].text for kind in KINDS),
                 e.evidence.format(users=s.users, instances=s.instances)] for e in EXPERIMENTS]
        return Table(["dimension", "stateless (observed)", "stateful (observed)", "evidence"], rows,
                     title=self._title())

    @property
    def side_by_side(self):
        """The same results as ``table``, narrow enough to read in a notebook: a heading per dimension
        (what it is and how it was measured), then one line per shop with what was observed."""
        groups = []
        for row in self.table.rows:
            dimension, *observed, evidence = row
            groups.append((f"{dimension} ({evidence})", [[kind, text] for kind, text in zip(KINDS, observed)]))
        return GroupedTable(["shop", "what the experiment observed"], groups, title=self._title())

    @property
    def timings(self):
        rows = [[e.timed, *(round(self.observations[e.dimension][kind].ms, 1) for kind in KINDS), e.dimension]
                for e in EXPERIMENTS if e.timed]
        return Table(["operation", "stateless (ms)", "stateful (ms)", "row"], rows,
                     title="Timed operations (they change from run to run)")

    def value(self, dimension, kind):
        """The headline count of one cell, e.g. ``value("failure recovery", "stateful")``."""
        if dimension not in self.observations or kind not in KINDS:
            raise InvalidArgumentError(f"no cell ({dimension!r}, {kind!r}); use a dimension of the table "
                                       f"({', '.join(self.observations)}) and 'stateless' or 'stateful'")
        return self.observations[dimension][kind].value

    def who_lost(self, dimension):
        """Which shop had a non-zero count in this row: 'stateless', 'stateful', 'both' or 'neither'."""
        hit = [kind for kind in KINDS if self.value(dimension, kind)]
        if len(hit) == len(KINDS):
            return "both"
        return hit[0] if hit else "neither"

    def __repr__(self):
        return repr(self.side_by_side)

    def _repr_html_(self):
        return self.side_by_side._repr_html_()


def run_comparison(seed=7, instances=3, users=6, stateless_policy="round_robin", stateful_policy="sticky",
                   progress=False):
    """Run every experiment on both kinds of shop; returns a ``Comparison``.

    ``progress=True`` shows a progress bar in the notebook while it runs (a few seconds); its
    text form, which a saved notebook keeps, is the same on every run.
    """
    suite = Suite(seed, instances, users, stateless_policy, stateful_policy)
    runs = [(experiment, kind) for experiment in EXPERIMENTS for kind in KINDS]
    bar = widgets.IntProgress(value=0, min=0, max=len(runs)) if progress else None
    if bar is not None:
        display(bar)
        bar.style.description_width = "initial"
    started = time.perf_counter()
    observations = {experiment.dimension: {} for experiment in EXPERIMENTS}
    for done, (experiment, kind) in enumerate(runs):
        if bar is not None:
            bar.value, bar.description = done, f"{experiment.dimension}, {kind} shop"
        observations[experiment.dimension][kind] = experiment.measure(kind, suite)
    if bar is not None:
        bar.value, bar.description = len(runs), "done"
    return Comparison(suite, observations, time.perf_counter() - started)
