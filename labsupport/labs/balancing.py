"""How evenly each balancing policy spreads the same traffic, and how many keys move when a node joins.

``compare_balancing`` sends exactly the same users through a fresh stateless
cluster once per policy. The users are not alike: a few are busy and most are
light, as on a real site. Round-robin and least-connections look only at
requests, so the load comes out even. Sticky sessions and consistent hashing
look at *who* is asking and keep sending that user to the same instance, so
an instance that happens to get the busy users stays busy. The imbalance
figure is the busiest instance's load divided by the average (1.0 is even).

``keys_moved`` counts how many keys change owner when a node joins: about
1/N with consistent hashing, most of them with ``hash mod N``. Every moved
key is a session or a cache entry that is not where it used to be.
Chapter 06 (claim W3) uses both.
"""

import collections
import random
import threading
from dataclasses import dataclass

from ..engine.policies import make_policy
from ..engine.tables import Table
from ..errors import InvalidArgumentError
from ..shop.cluster import Cluster

__all__ = ["compare_balancing", "BalancingResult", "keys_moved", "user_activity", "POLICIES_COMPARED"]

POLICIES_COMPARED = ("round_robin", "least_connections", "sticky", "consistent_hash")
BUSY_SHARE = 0.25                   # a quarter of the users are busy...
BUSY_ACTIONS, LIGHT_ACTIONS = 30, 6   # ...and do five times as much


def user_activity(users, seed=7):
    """How many actions each user does: {name: actions}, the same for a given seed."""
    rng = random.Random(seed)
    busy = set(rng.sample(range(users), max(1, round(users * BUSY_SHARE))))
    return {f"visitor-{i:02d}": BUSY_ACTIONS if i in busy else LIGHT_ACTIONS for i in range(users)}


@dataclass(frozen=True)
class BalancingResult:
    """Requests each instance served under each policy (``loads[policy][instance]``)."""
    loads: dict
    users: int
    requests: int

    def imbalance(self, policy):
        """The busiest instance's requests divided by the mean (1.0 = perfectly even)."""
        counts = list(self.loads[policy].values())
        return max(counts) / (sum(counts) / len(counts))

    def table(self):
        names = sorted({name for load in self.loads.values() for name in load})
        rows = [[policy.replace("_", " ")] + [self.loads[policy].get(n, 0) for n in names]
                + [f"{self.imbalance(policy):.2f}"] for policy in self.loads]
        return Table(["policy"] + names + ["imbalance (max/mean)"], rows,
                     title=f"Requests per instance, {self.users} users, {self.requests} requests per policy")

    def _repr_html_(self):
        return self.table()._repr_html_()

    def __repr__(self):
        return self.table().table()


def _drive(cluster, activity, seed):
    """Log every user in (in order, so placement is reproducible), then let them all shop at once."""
    people = [cluster.user(name) for name in activity]
    skus = ("book", "pen", "mug", "lamp")

    def shop(person, actions, rng):
        for _ in range(actions):
            if rng.random() < 0.5:
                person.add(rng.choice(skus))
            else:
                person.cart()

    threads = [threading.Thread(target=shop, args=(p, activity[p.name], random.Random(f"{seed}-{p.name}")),
                                daemon=True, name=f"balancing-{p.name}") for p in people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    served = collections.Counter()
    for person in people:
        served.update(person.instances_seen)
        person.close()
    return dict(sorted(served.items()))


def compare_balancing(policies=POLICIES_COMPARED, instances=3, users=12, seed=7, service_ms=2.0):
    """The same users through a fresh stateless cluster per policy; returns a ``BalancingResult``."""
    for policy in policies:
        make_policy(policy)            # an unknown name fails here, with the list of known ones
    if isinstance(users, bool) or not isinstance(users, int) or users < 1:
        raise InvalidArgumentError(f"users must be a whole number >= 1, not {users!r}")
    activity = user_activity(users, seed)
    loads = {}
    for policy in policies:
        with Cluster.stateless(instances=instances, policy=policy, seed=seed, service_ms=service_ms) as shop:
            loads[policy] = _drive(shop, activity, seed)
    return BalancingResult(loads, users, users + sum(activity.values()))


def keys_moved(policy, keys=10_000, before=4, after=5):
    """Share of ``keys`` (0-1) whose owner changes when the cluster grows from ``before`` to ``after`` nodes.

    ``policy`` is a hashing policy with ``owner(key, names)``: "consistent_hash" or "modulo_hash".
    """
    for name, value in (("keys", keys), ("before", before), ("after", after)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise InvalidArgumentError(f"{name} must be a whole number >= 1, not {value!r}")
    policy = make_policy(policy)
    if not hasattr(policy, "owner"):
        raise InvalidArgumentError(f"{policy.name} does not place keys; use 'consistent_hash' or 'modulo_hash'")
    old = [f"node-{i}" for i in range(1, before + 1)]
    new = [f"node-{i}" for i in range(1, after + 1)]
    names = [f"key-{i}" for i in range(keys)]
    owners_before = [policy.owner(k, old) for k in names]     # one node list at a time: the ring is built once
    owners_after = [policy.owner(k, new) for k in names]
    return sum(a != b for a, b in zip(owners_before, owners_after)) / keys
