"""Scaling a hash-partitioned tier while users shop: what moves, and who loses a cart (chapter 06, claim W8).

``compare_rebalancing()`` runs the same experiment on four fresh shops of four
instances: users shop in the background, the shop grows to five instances,
then shrinks back to four. The shops differ in one thing each:

* stateful, consistent hashing, with rebalancing: only the carts whose owner on
  the ring changed move (about a fifth), and nobody loses one;
* stateful, modulo hashing, with rebalancing: most carts change owner, so most
  move; still nobody loses one, but the move costs more;
* stateful, consistent hashing, *without* rebalancing: nothing moves, and every
  user whose owner changed finds an instance that never heard of them;
* stateless, consistent hashing: the ring re-owns the same users, but their
  carts are in the database: the instances hold nothing to move.

Which users change owner is a property of the ring alone (``owner_changes``),
so every count in ``table()`` is the same on every run; ``timings()`` shows the
bytes and milliseconds, which are not.
"""

import dataclasses
import time

from ..engine.policies import POLICIES
from ..engine.tables import ResultTable, Table
from ..engine.waiting import wait_until
from ..shop.cluster import Cluster
from ..shop.ledger import Report

__all__ = ["compare_rebalancing", "RebalanceComparison", "RebalanceRun", "owner_changes", "SHOPS_COMPARED"]

WAIT_LIMIT_S = 20.0
DRAIN_TIMEOUT_S = 0.5           # a scale-in without rebalancing drains this long, then gives up
SHOPS_COMPARED = (("stateful", "consistent_hash", True), ("stateful", "modulo_hash", True),
                  ("stateful", "consistent_hash", False), ("stateless", "consistent_hash", True))


def owner_changes(policy, users, before, after):
    """The users whose owner differs between two lists of instance names: the ring's answer, no shop needed."""
    ring = POLICIES[policy].build()
    return sorted(user for user in users if ring.owner(user, list(before)) != ring.owner(user, list(after)))


@dataclasses.dataclass(frozen=True)
class RebalanceRun:
    """One shop grown by one instance and shrunk back while its users shopped."""

    kind: str
    policy: str
    rebalance: bool
    held: int                 # sessions in the instances' memory before growing (the walk)
    changed: int              # users whose owner on the ring changed when it grew
    grow: object              # the RebalanceReport of scale(n + 1), or None without rebalancing
    shrink: object            # the same for scale(n)
    report: Report            # what the users noticed

    @property
    def label(self):
        return f"{self.kind}, {self.policy.replace('_', ' ')}, " + ("rebalanced" if self.rebalance else "not rebalanced")

    def moved(self, step):
        report = self.grow if step == "grow" else self.shrink
        return report.moved if report is not None else 0


@dataclasses.dataclass(frozen=True, repr=False)
class RebalanceComparison(ResultTable):
    """The four shops of ``SHOPS_COMPARED``, grown from ``instances`` by one and shrunk back."""

    instances: int
    users: int
    runs: tuple

    def _table_data(self):
        n = self.instances
        rows = [[run.label, run.held, run.changed, run.moved("grow"), run.moved("shrink"),
                 len(run.report.users_losing_sessions)] for run in self.runs]
        return (f"{n} -> {n + 1} -> {n} instances while {self.users} users shop",
                ["shop", "sessions in memory", f"owner changed at {n}->{n + 1}", f"moved at {n}->{n + 1}",
                 f"moved at {n + 1}->{n}", "users who lost their cart"], rows)

    def run(self, kind, policy, rebalance=True):
        return next(r for r in self.runs if (r.kind, r.policy, r.rebalance) == (kind, policy, rebalance))

    def timings(self):
        """Bytes moved and time taken by each rebalance (different on every run)."""
        n = self.instances
        rows = [[run.label, step, report.bytes_moved, round(report.seconds * 1000), report.waited, report.forwarded]
                for run in self.runs
                for step, report in ((f"{n}->{n + 1}", run.grow), (f"{n + 1}->{n}", run.shrink)) if report is not None]
        return Table(["shop", "scale", "bytes moved", "took ms", "requests that waited", "requests forwarded"], rows,
                     title="What the moves cost, growing then shrinking (different on every run)")


def _everyone_served_again(shop, users):
    """Wait until every user has made two more requests' worth of actions since now."""
    after = shop.ledger.snapshot()["actions"]
    wait_until(lambda: shop.ledger.snapshot()["actions"] >= after + 2 * users, timeout=WAIT_LIMIT_S)


def _grow_and_shrink(kind, policy, rebalance, instances, users, think_ms, seed):
    with Cluster(kind, instances, policy, seed, rebalance=rebalance) as shop:
        names = [f"user-{i:02d}" for i in range(users)]                  # the names run_traffic gives its users
        before = [i.name for i in shop.instances]
        shop.start_traffic(users=users, think_ms=think_ms, seed=seed)
        try:
            wait_until(lambda: len(shop.ledger.versions_by_user) == users, timeout=WAIT_LIMIT_S)
            started = time.monotonic()
            held = sum(shop.held_sessions().values())
            grow = shop.scale(instances + 1, timeout=DRAIN_TIMEOUT_S)
            after = [i.name for i in shop.instances]
            _everyone_served_again(shop, users)
            shrink = shop.scale(instances, timeout=DRAIN_TIMEOUT_S)
            _everyone_served_again(shop, users)
        finally:
            shop.stop_traffic()
        report = Report(users, shop.ledger, time.monotonic() - started, [])
        return RebalanceRun(kind, policy, rebalance, held, len(owner_changes(policy, names, before, after)),
                            grow if rebalance else None, shrink if rebalance else None, report)


def compare_rebalancing(instances=4, users=24, think_ms=10, seed=7, shops=SHOPS_COMPARED):
    """Grow each shop of ``shops`` ((kind, policy, rebalance) triples) by one instance and back, under traffic."""
    runs = tuple(_grow_and_shrink(kind, policy, rebalance, instances, users, think_ms, seed)
                 for kind, policy, rebalance in shops)
    return RebalanceComparison(instances, users, runs)
