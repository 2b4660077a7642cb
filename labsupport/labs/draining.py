"""Draining a stateful instance while its users shop: wait for the sessions, or hand them over (chapter 02, F7).

``compare_drains()`` runs the same afternoon twice on a fresh stateful shop:
users shop in the background, and one instance is drained, once the plain way
and once with hand-off (``shop/handoff.py``). The plain drain waits for the
sessions pinned to it to end; these users never log out, so it waits out its
timeout and their sessions die with the instance. The hand-off moves each
session to a peer over HTTP and stops as soon as it is empty. The two ledgers
go side by side: counts in ``table()`` (the same on every run), the costs in
time and bytes in ``timings()`` (different on every run).

``crash_during_handoff()`` kills the instance part-way through its hand-off:
the sessions that had moved live on, the others are gone, and the users who
lost their cart are exactly the owners of the sessions not yet moved.
"""

import dataclasses
import time

from ..engine.tables import ResultTable, Table
from ..engine.waiting import wait_until
from ..shop.cluster import Cluster
from ..shop.handoff import HandOff
from ..shop.ledger import Report

__all__ = ["compare_drains", "DrainComparison", "DrainRun", "crash_during_handoff", "HandOffCrash"]

WAIT_LIMIT_S = 20.0
DRAINED = "shop-2"


@dataclasses.dataclass(frozen=True)
class DrainRun:
    """One drain under traffic: how, what the drained instance held, what ``drain()`` said, the users' ledger."""

    way: str
    held: int                 # sessions on the drained instance when the drain began (the walk)
    result: dict              # what Cluster.drain returned
    report: Report            # what the users noticed

    @property
    def users_logged_out(self):
        return len(self.report.users_losing_sessions)


@dataclasses.dataclass(frozen=True, repr=False)
class DrainComparison(ResultTable):
    """Plain drain and hand-off, side by side."""

    users: int
    timeout: float
    runs: tuple

    def _table_data(self):
        rows = [[run.way, run.held, run.result.get("sessions_moved", 0), run.result["sessions_lost"],
                 run.users_logged_out] for run in self.runs]
        return (f"Draining {DRAINED} while {self.users} users shop",
                ["drain", f"sessions on {DRAINED}", "moved to peers", "sessions lost", "users who logged in again"],
                rows)

    def run(self, way):
        return next(run for run in self.runs if run.way == way)

    def timings(self):
        """What each drain cost in time and bytes, and what happened to requests meanwhile (varies per run)."""
        rows = [[run.way, round(run.result["seconds"], 2), round(run.result.get("handoff_seconds", 0.0) * 1000, 1),
                 run.result.get("bytes_moved", 0), run.result.get("waited", 0), run.result.get("forwarded", 0),
                 run.report.failed_actions, run.report.actions] for run in self.runs]
        return Table(["drain", "took s", "moving took ms", "bytes moved", "requests that waited",
                      "requests forwarded", "failed actions", "user actions"], rows,
                     title="What the drains cost (different on every run)")


def _drain_under_traffic(way, handoff, users, instances, timeout, think_ms, seed):
    with Cluster.stateful(instances=instances, seed=seed) as shop:
        shop.start_traffic(users=users, think_ms=think_ms, seed=seed)
        ledger = shop.ledger
        try:
            wait_until(lambda: len(ledger.versions_by_user) == users, timeout=WAIT_LIMIT_S)   # every cart started
            held = shop.held_sessions()[DRAINED]
            started = time.monotonic()
            result = shop.drain(DRAINED, timeout=timeout, handoff=handoff)
            after = ledger.snapshot()["actions"]
            wait_until(lambda: ledger.snapshot()["actions"] >= after + 2 * users, timeout=WAIT_LIMIT_S)
        finally:
            shop.stop_traffic()
        return DrainRun(way, held, result, Report(users, ledger, time.monotonic() - started, []))


def compare_drains(users=12, instances=3, timeout=1.0, think_ms=10, seed=7):
    """Drain ``shop-2`` of a fresh stateful shop while ``users`` users shop: plainly, then with hand-off.

    ``timeout`` is how long the plain drain waits for sessions to end. Returns a ``DrainComparison``.
    """
    runs = (_drain_under_traffic(f"plain, waits up to {timeout:g} s", False, users, instances, timeout, think_ms,
                                 seed),
            _drain_under_traffic("hand-off", True, users, instances, timeout, think_ms, seed))
    return DrainComparison(users, timeout, runs)


@dataclasses.dataclass(frozen=True, repr=False)
class HandOffCrash(ResultTable):
    """A hand-off cut short by a crash: what moved, what was lost, and who lost a cart."""

    held: int
    moved: int
    lost: int
    users_who_lost: tuple          # the users who had to log in again
    not_moved_users: tuple         # the owners of the sessions that had not moved yet

    def _table_data(self):
        rows = [[f"sessions on {DRAINED}", self.held], ["moved before the crash", self.moved],
                ["lost with the crash", self.lost], ["users who lost their cart", len(self.users_who_lost)],
                ["they are exactly the owners of the sessions not moved yet",
                 "yes" if self.users_who_lost == self.not_moved_users else "no"]]
        return f"{DRAINED} killed during its hand-off", ["what happened", "count"], rows


def crash_during_handoff(users=12, moved=2, instances=3, seed=7):
    """Start handing off ``shop-2``'s sessions, kill it after ``moved`` of them, then every user looks at their cart."""
    with Cluster.stateful(instances=instances, seed=seed) as shop:
        people = [shop.user(f"user-{i:02d}") for i in range(users)]
        for person in people:
            person.add("book")
        owner_of = {person.credential: person.name for person in people}     # session id -> user
        handoff = HandOff(shop, DRAINED).start()
        not_moved = tuple(sorted(owner_of[session_id] for session_id, _ in handoff.pending[moved:]))
        handoff.move(moved)
        shop.kill(DRAINED)
        result = handoff.finish()
        for person in people:
            person.cart()
        lost_users = tuple(sorted(p.name for p in people if p.session_lost))
        return HandOffCrash(handoff.held_at_start, result["sessions_moved"], result["sessions_lost"], lost_users,
                            not_moved)
