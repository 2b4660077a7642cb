"""Deploying a new version while users keep shopping: rolling, blue-green, canary.

All three replace old instances with new ones; they differ in how many run
at once and who gets the new version when. For a stateless shop every one
of them is safe, because an old instance holds nothing a new one needs.
For a stateful shop each old instance takes its users' sessions with it
unless it is drained first, and draining lasts as long as the longest
session (chapters 00, 01, 02 and 06). Two things change that for a stateful
shop: blue-green with ``sync_state=True`` copies blue's sessions to green
before the switch (``state_sync.py``), and a canary takes whole users rather
than single requests (the shop class's ``canary_split``), so nobody is torn
between the canary and the instance holding their session.

Each function returns a ``DeployReport``: what was replaced (or, for a
rolled-back canary, removed), how long it took, and how many sessions were
lost on the way.
"""

import time

from ..errors import InvalidArgumentError
from .state_sync import SessionSync

__all__ = ["DeployReport", "rolling", "blue_green", "canary", "promote_canary", "rollback_canary"]


class DeployReport:
    """The cost of one deploy. ``seconds`` is for showing; the counts are for checking.

    ``replaced`` names the instances the deploy took away (for a rollback: the canaries).
    ``in_flight_at_drain`` adds up the requests that were inside each old instance when
    its drain began, ``answered_while_draining`` the answers those instances sent from
    then until they stopped (both 0 when nothing was drained). ``sync`` is the
    ``SyncReport`` of a blue-green that copied its sessions (else None).
    """

    def __init__(self, strategy, version, replaced, started, sessions_lost, drains=(), sync=None):
        self.strategy = strategy
        self.version = version
        self.replaced = replaced
        self.seconds = time.monotonic() - started
        self.sessions_lost = sessions_lost
        self.in_flight_at_drain = sum(d.get("in_flight_at_drain", 0) for d in drains)
        self.answered_while_draining = sum(d.get("answered_while_draining", 0) for d in drains)
        self.sync = sync

    def __repr__(self):
        copied = f", {self.sync.moved} sessions moved to green" if self.sync is not None else ""
        return (f"DeployReport({self.strategy} to {self.version}: replaced {len(self.replaced)} instances, "
                f"{self.sessions_lost} sessions lost{copied})")


def _old_instances(cluster, version):
    return [i.name for i in cluster.instances if i.alive and i.version != version]


def _check_version(version):
    if not isinstance(version, str) or not version:
        raise InvalidArgumentError(f"version must be a non-empty string like 'v2', not {version!r}")


def rolling(cluster, version, drain=True, timeout=None):
    """One at a time: start a new instance, then drain (or kill) one old instance."""
    _check_version(version)
    started = time.monotonic()
    cluster.version = version
    replaced, lost, drains = [], 0, []
    for name in _old_instances(cluster, version):
        cluster.add_instance(version)
        result = cluster.remove_instance(name, drain=drain, timeout=timeout)
        lost += result["sessions_lost"]
        replaced.append(name)
        drains.append(result)
    cluster.events.add("deploy", "deploy", f"rolling deploy to {version}: {lost} sessions lost")
    return DeployReport("rolling", version, replaced, started, lost, drains)


def blue_green(cluster, version, timeout=None, sync_state=False):
    """Start a full new set (green) beside the old one (blue), switch traffic at once, retire blue.

    With ``sync_state=True`` each green instance is first filled with its blue
    partner's sessions, writes made meanwhile included (``SessionSync``).
    """
    _check_version(version)
    started = time.monotonic()
    blue = _old_instances(cluster, version)
    cluster.version = version
    green = [cluster.add_instance(version, standby=True) for _ in blue]   # running, given no clients yet
    sync = SessionSync(cluster, dict(zip(blue, green))).run() if sync_state else None
    for name in green:                               # the switch
        cluster.balancer.set_draining(name, False)
    for name in blue:
        cluster.balancer.set_draining(name)
    lost = sum(cluster.remove_instance(name, drain=True, timeout=timeout)["sessions_lost"] for name in blue)
    copied = f", {sync.moved} sessions moved to green first" if sync is not None else ""
    cluster.events.add("deploy", "deploy", f"blue-green switch to {version}{copied}: {lost} sessions lost")
    return DeployReport("blue-green", version, blue, started, lost, sync=sync)


def canary(cluster, version, percent=10):
    """Start one instance of ``version`` and send it ``percent`` % of the traffic.

    Which traffic is the shop class's choice (``canary_split``): of the requests
    (stateless: any instance can serve any request), or of the users, each
    placed at login and kept there (stateful: a user must stay with their session).
    """
    _check_version(version)
    started = time.monotonic()
    split = cluster.shop_class.canary_split
    name = cluster.add_instance(version, standby=True)      # no client reaches it before the split is set
    cluster.balancer.set_canary([name], percent, split)
    cluster.balancer.set_draining(name, False)
    cluster.events.add("deploy", "deploy", f"canary {name} ({version}) takes {percent}% of the {split.unit}")
    return DeployReport("canary", version, [], started, 0)


def _canaries(cluster):
    """The running instances whose version is not the cluster's: the canaries ``canary()`` started."""
    return [i for i in cluster.instances if i.alive and i.version != cluster.version]


def promote_canary(cluster, drain=True, timeout=None):
    """The canary looked good: roll every other instance to its version and end the split."""
    canaries = _canaries(cluster)
    if not canaries:
        raise InvalidArgumentError("there is no canary to promote; start one with cluster.canary('v2')")
    cluster.balancer.set_canary(None, 0)
    return rolling(cluster, canaries[0].version, drain=drain, timeout=timeout)


def rollback_canary(cluster, timeout=None):
    """The canary looked bad: end the split, drain and remove it; returns a ``DeployReport``.

    The report's ``version`` is the one the cluster stays on, ``replaced`` the canaries removed.
    """
    canaries = [i.name for i in _canaries(cluster)]
    if not canaries:
        raise InvalidArgumentError("there is no canary to roll back; start one with cluster.canary('v2')")
    started = time.monotonic()
    cluster.balancer.set_canary(None, 0)
    lost = sum(cluster.remove_instance(name, timeout=timeout)["sessions_lost"] for name in canaries)
    cluster.events.add("deploy", "deploy", f"canary {', '.join(canaries)} rolled back: {lost} sessions lost")
    return DeployReport("rollback", cluster.version, canaries, started, lost)
