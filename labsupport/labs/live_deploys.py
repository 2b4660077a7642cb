"""Deploys under traffic, each with its own ledger of what the users noticed.

A deploy strategy (``deploys.py``: rolling, blue-green, canary) is only as good
as what it does to the people using the service while it runs. Here users
keep shopping in the background; once every one of them has been served by
the old version, the deploy starts; once it is over and every user has been
served by the new version, the traffic stops. The ledger then says how many
actions failed, how many sessions were lost, and how many users saw both
versions (which is harmless when no instance holds anything the other needs).

Old instances are drained before they stop. For a stateless instance that
only means finishing its requests in flight. A stateful one would have to
wait until its users' sessions end; ``timeout`` caps that wait (0.2 s here
is far shorter than any session), and ``drain=False`` kills the old
instances outright. Either way the sessions they held are lost, and the
ledger counts them. Chapter 06 (claim W5) uses this module.

``compare_blue_green()`` is chapter 06's claim W9: the same blue-green switch
on the stateless shop (nothing to copy), on the stateful shop as it is
(everyone on blue logged out) and on the stateful shop with
``sync_state=True`` (blue's sessions copied to green first, none lost).
"""

import time
from dataclasses import dataclass

from ..engine.tables import ResultTable, Table
from ..engine.waiting import wait_until
from ..errors import InvalidArgumentError
from ..shop.cluster import Cluster
from ..shop.ledger import LABELS, Report

__all__ = ["deploy_under_traffic", "compare_deploys", "DeployLedger", "DeployComparison", "STRATEGIES",
           "compare_blue_green", "BlueGreenComparison", "BLUE_GREENS"]

STRATEGIES = ("rolling", "blue_green", "canary")
WAIT_LIMIT_S = 15.0
BLUE_GREENS = (("stateless", True), ("stateful", False), ("stateful", True))   # (kind, sync_state) of W9


@dataclass(frozen=True)
class DeployLedger:
    """One deploy under traffic: the users' ledger (a ``Report``) and the deploy's own ``DeployReport``."""
    kind: str
    strategy: str
    version: str
    report: Report
    deploy: object
    seconds: float                # how long the deploy itself took (for showing only)
    versions_by_user: dict        # {user: [versions that served them]}
    sessions_held: int = 0        # sessions in the instances' memory when the deploy began (the walk)

    @property
    def users_seeing_both(self):
        return len(self.report.users_seeing_two_versions)

    @property
    def versions_seen(self):
        return sorted({v for versions in self.versions_by_user.values() for v in versions})


@dataclass(frozen=True, repr=False)
class DeployComparison(ResultTable):
    """The three strategies on one kind of shop; shows itself as the table of what users noticed."""
    kind: str
    ledgers: tuple

    def _table_data(self):
        rows = [[d.strategy.replace("_", "-"), d.report.failed_actions, d.report.unknown_outcomes,
                 d.report.lost_sessions, d.report.lost_items, ", ".join(d.versions_seen), d.users_seeing_both]
                for d in self.ledgers]
        return (f"Deploying v2 to the {self.kind} shop while {self.ledgers[0].report.users} users shop",
                ["strategy", "failed actions", "unknown outcomes", LABELS["lost_sessions"], "lost items",
                 "versions served", "users who saw both"], rows)

    def outcomes(self):
        """What users noticed, per strategy (the same every run), as a ``Table``."""
        title, headers, rows = self._table_data()
        return Table(headers, rows, title=title)

    def timings(self):
        rows = [[d.strategy.replace("_", "-"), round(d.seconds * 1000), d.report.actions] for d in self.ledgers]
        return Table(["strategy", "deploy took ms", "user actions during the run"], rows,
                     title=f"{self.kind} shop: time taken")

    def ledger(self, strategy):
        return next(d for d in self.ledgers if d.strategy == strategy)


def _deploy(shop, strategy, version, drain, timeout, percent, sync_state):
    if strategy == "rolling":
        return shop.rolling_deploy(version, drain=drain, timeout=timeout)
    if strategy == "blue_green":
        return shop.blue_green(version, timeout=timeout if drain else 0, sync_state=sync_state)
    shop.canary(version, percent=percent)
    served = shop.ledger.snapshot()["actions"]
    wait_until(lambda: shop.ledger.snapshot()["actions"] >= served + 40, timeout=WAIT_LIMIT_S)   # the canary's share
    return shop.promote_canary(drain=drain, timeout=timeout)


def deploy_under_traffic(shop, strategy, version="v2", users=8, think_ms=10, drain=True, timeout=None,
                         percent=25, seed=7, sync_state=False):
    """Run ``strategy`` on ``shop`` while ``users`` users shop; returns a ``DeployLedger``.

    The traffic is ``cluster.start_traffic``; the deploy starts once every
    user has been served, and the traffic stops once every user has been
    served by ``version`` (or after WAIT_LIMIT_S seconds).
    """
    if strategy not in STRATEGIES:
        raise InvalidArgumentError(f"strategy must be one of {', '.join(STRATEGIES)}, not {strategy!r}")
    shop.start_traffic(users=users, think_ms=think_ms, seed=seed)
    ledger = shop.ledger
    try:
        wait_until(lambda: len(ledger.versions_by_user) == users, timeout=WAIT_LIMIT_S)   # all served by v1
        held = sum(shop.held_sessions().values())
        started = time.monotonic()
        deploy = _deploy(shop, strategy, version, drain, timeout, percent, sync_state)
        seconds = time.monotonic() - started
        wait_until(lambda: all(version in seen for seen in ledger.versions_by_user.values()), timeout=WAIT_LIMIT_S)
    finally:
        shop.stop_traffic()
    report = Report(users, ledger, time.monotonic() - started, [])
    versions = {user: sorted(seen) for user, seen in sorted(ledger.versions_by_user.items())}
    return DeployLedger(shop.kind, strategy, version, report, deploy, seconds, versions, held)


def compare_deploys(kind="stateless", strategies=STRATEGIES, instances=3, drain=True, timeout=None, seed=7,
                    **traffic):
    """Each strategy on a fresh ``kind`` shop of ``instances`` instances; returns a ``DeployComparison``."""
    ledgers = []
    for strategy in strategies:
        with Cluster(kind, instances=instances, seed=seed, service_ms=2) as shop:
            ledgers.append(deploy_under_traffic(shop, strategy, drain=drain, timeout=timeout, seed=seed, **traffic))
    return DeployComparison(kind, tuple(ledgers))


@dataclass(frozen=True, repr=False)
class BlueGreenComparison(ResultTable):
    """One blue-green switch per (kind, sync_state) of ``BLUE_GREENS``, each under traffic."""
    ledgers: tuple

    @staticmethod
    def _label(ledger):
        return f"{ledger.kind}, " + ("state synchronized" if ledger.deploy.sync is not None else "plain switch")

    def _table_data(self):
        rows = [[self._label(d), d.sessions_held, d.deploy.sync.moved if d.deploy.sync else 0, d.deploy.sessions_lost,
                 len(d.report.users_losing_sessions)] for d in self.ledgers]
        return (f"Blue-green to v2 while {self.ledgers[0].report.users} users shop",
                ["shop, switch", "sessions on blue", "moved to green", "sessions lost", "users who logged in again"],
                rows)

    def timings(self):
        """What the copies cost and how long the switch made requests wait (different on every run)."""
        rows = []
        for d in self.ledgers:
            sync = d.deploy.sync
            rows.append([self._label(d), sync.rounds if sync else 0, sync.recopied if sync else 0,
                         sync.final_changes if sync else 0, sync.waited if sync else 0,
                         round(sync.frozen_ms, 1) if sync else 0.0, round(d.seconds * 1000)])
        return Table(["shop, switch", "copy rounds", "written meanwhile, sent again", "sent during the freeze",
                      "requests that waited", "freeze ms", "deploy took ms"], rows,
                     title="Blue-green: the copies and the switch's wait (different on every run)")

    def ledger(self, kind, synced):
        return next(d for d in self.ledgers if d.kind == kind and (d.deploy.sync is not None) == synced)


def compare_blue_green(instances=3, users=8, timeout=0.2, seed=7, runs=BLUE_GREENS, **traffic):
    """Blue-green to v2 on a fresh shop for each (kind, sync_state) of ``runs``; returns a ``BlueGreenComparison``.

    ``timeout`` caps each drain of a blue instance (a plain switch gives up on blue's sessions after it).
    """
    ledgers = []
    for kind, sync_state in runs:
        with Cluster(kind, instances=instances, seed=seed, service_ms=2) as shop:
            ledgers.append(deploy_under_traffic(shop, "blue_green", users=users, timeout=timeout, seed=seed,
                                                sync_state=sync_state, **traffic))
    return BlueGreenComparison(tuple(ledgers))
