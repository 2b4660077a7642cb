"""A partition is not a crash: the balancer loses an instance whose process lives on.

Cut the network path between the balancer and ``shop-2`` (``Cluster.partition``)
and the balancer sees what it would see after a crash: its health checks fail,
so it takes the instance out of rotation. The process, though, is fine. It
still answers anyone who can reach it, and it still holds whatever it held.

For a stateless shop that is the whole story: users are served by the others
and notice nothing; after ``heal`` the health checks put the instance back and
it serves again. For a stateful shop the users pinned to ``shop-2`` lose their
sessions although nothing crashed: the balancer sends them elsewhere, where
nobody knows them, and they log in again there. After ``heal`` the instance
comes back still holding their old sessions, which nobody can reach any more
(their cookies point elsewhere now): *stale state*, kept in memory until it
expires. Real systems meet the same problem in worse forms, such as a
partitioned database primary that keeps accepting writes (chapter 07's split
brain).

``partition_experiment(kind)`` runs that story on a fresh cluster of each kind
and counts every step. Detection time depends on the health-check cycle, so
it is shown, not checked. Chapter 06 (claim W11).
"""

import http.client
import time
from dataclasses import dataclass

from ..checks import require_int
from ..engine.tables import ResultTable, Table
from ..engine.waiting import wait_until
from ..errors import InvalidArgumentError
from ..shop.cluster import KINDS, Cluster
from ..shop.ledger import Ledger, Report
from ..shop.users import SKUS

__all__ = ["PartitionRun", "PartitionResult", "partition_experiment"]

VICTIM = "shop-2"
WAIT_LIMIT_S = 10.0


@dataclass(frozen=True)
class PartitionRun:
    """One kind of shop through a partition of ``shop-2`` and its healing."""
    kind: str
    taken_out: bool               # the balancer took it out of rotation
    detection_ms: float           # how long that took (for showing only)
    process_alive: bool           # while cut off, the process still ran...
    answered_directly: bool       # ...and answered a client that reached it directly
    during: Report                # what the users noticed while it was cut off
    held_while_cut: int           # sessions it held in memory meanwhile
    back_in_rotation: bool        # after heal, the health checks readmitted it
    served_after_heal: int        # requests of the same users it served after heal
    stale_sessions: int           # sessions it holds after heal for users now served elsewhere


@dataclass(frozen=True, repr=False)
class PartitionResult(ResultTable):
    """Both kinds of shop through the same partition; shows itself as the table of counts."""
    runs: tuple

    def run(self, kind):
        return next(r for r in self.runs if r.kind == kind)

    def _table_data(self):
        def yes(flag):
            return "yes" if flag else "no"
        questions = [
            ("taken out of rotation by the balancer", lambda r: yes(r.taken_out)),
            ("process alive and answering direct clients", lambda r: yes(r.process_alive and r.answered_directly)),
            ("failed actions while cut off", lambda r: r.during.failed_actions),
            ("users who lost their session", lambda r: len(r.during.users_losing_sessions)),
            (f"sessions {VICTIM} held while cut off", lambda r: r.held_while_cut),
            ("back in rotation after heal", lambda r: yes(r.back_in_rotation)),
            (f"requests {VICTIM} served after heal", lambda r: r.served_after_heal),
            ("stale sessions left in its memory", lambda r: r.stale_sessions),
        ]
        rows = [[question] + [answer(r) for r in self.runs] for question, answer in questions]
        return (f"The path from the balancer to {VICTIM} cut, then healed",
                [""] + [f"{r.kind} shop" for r in self.runs], rows)

    def timings(self):
        rows = [[r.kind, round(r.detection_ms, 1)] for r in self.runs]
        return Table(["shop", "taken out after ms"], rows, title="How long the balancer took to notice")


def _answers_directly(instance):
    """Does the instance answer a client that reaches it without the balancer?"""
    conn = http.client.HTTPConnection(*instance.address, timeout=5)
    try:
        conn.request("GET", "/health/live")
        return conn.getresponse().status == 200
    except (OSError, http.client.HTTPException):
        return False
    finally:
        conn.close()


def _everyone_acts(people, ledger, rounds):
    for person in people:
        person.ledger = ledger
    for step in range(rounds):
        for person in people:
            person.add(SKUS[step % len(SKUS)])


def _one_kind(kind, users, seed, health_interval):
    with Cluster(kind, instances=3, seed=seed, health_interval=health_interval) as shop:
        people = [shop.user(f"user-{i:02d}") for i in range(users)]
        for person in people:
            person.add("book")
        homed_there = [p for p in people if p.last_instance == VICTIM]   # a stateful shop keeps their session there
        pooled, victim = shop.balancer.instance(VICTIM), shop.instance(VICTIM)
        cut_at = time.monotonic()
        shop.partition(VICTIM)                                         # with nobody shopping: only health checks
        taken_out = wait_until(lambda: pooled.down_since is not None, timeout=WAIT_LIMIT_S, interval=0.002)
        detection_ms = (pooled.down_since - cut_at) * 1000 if taken_out else float("nan")
        ledger = Ledger()
        started = time.perf_counter()
        _everyone_acts(people, ledger, rounds=2)
        during = Report(users, ledger, time.perf_counter() - started, [f"partitioned {VICTIM}"])
        alive, direct, held = victim.alive, _answers_directly(victim), shop.sessions_held(victim)
        shop.heal(VICTIM)
        back = wait_until(lambda: shop.status(VICTIM) == "up", timeout=WAIT_LIMIT_S)
        served_before = pooled.requests
        _everyone_acts(people, Ledger(), rounds=2)
        served_after = pooled.requests - served_before
        # Stale: sessions still in its memory (the walk counts them) of users whose requests now go elsewhere.
        moved_away = sum(1 for p in homed_there if p.last_instance != VICTIM)
        stale = min(shop.sessions_held(victim), moved_away)
    return PartitionRun(kind, taken_out, detection_ms, alive, direct, during, held, back, served_after, stale)


def partition_experiment(kinds=KINDS, users=6, seed=7, health_interval=0.1):
    """Partition ``shop-2`` of a fresh cluster of each kind, let users shop, heal, shop again; a ``PartitionResult``."""
    if not kinds or any(kind not in KINDS for kind in kinds):
        raise InvalidArgumentError(f"kinds must name some of {', '.join(KINDS)}, not {kinds!r}")
    require_int("users", users, 3)
    return PartitionResult(tuple(_one_kind(kind, users, seed, health_interval) for kind in kinds))
