"""How evenly each balancing policy spreads the same traffic, how many keys move when a node joins,
and why a hash ring's imbalance is mostly sampling until there are many keys.

``compare_balancing`` sends exactly the same users through a fresh stateless
cluster once per policy. The users are not alike: ``user_activity`` draws
how much each one does from a Pareto distribution (seeded) with the shape
for which a fifth of the users make about four fifths of the requests, so
a few are very busy and most are light, as on a real site. Nobody picks
who is busy, and the skew *emerges*: round-robin and least-connections look
only at requests, so the load comes out even; sticky sessions and
consistent hashing look at *who* is asking and keep sending that user to
the same instance, so the instance that happens to get a heavy user stays
busy. The imbalance figure is the busiest instance's load divided by the
average (1.0 is even).

How uneven is consistent hashing itself? ``hashing_imbalance`` places
many keys on a ring and shows that with a dozen keys most of the imbalance
is sampling (random placement is just as uneven); it takes thousands of
keys, and enough virtual nodes per instance, before the ring's own evenness
shows. Heavy keys are another matter: one key's load cannot be split.
``bounded_load_placement`` is consistent hashing with bounded loads
(V. Mirrokni, M. Thorup and M. Zadimoghaddam, "Consistent Hashing with
Bounded Loads", SODA 2018): no instance takes more than ``1 + epsilon``
times the average; a key whose instance is full walks on clockwise to the
next one with room.

``keys_moved`` counts how many keys change owner when a node joins: about
1/N with consistent hashing, most of them with ``hash mod N``. Every moved
key is a session or a cache entry that is not where it used to be.
Chapter 06 (claim W3) uses all of these; chapter 02 (F6) uses ``user_activity``.
"""

import collections
import random
import threading
from dataclasses import dataclass

from ..engine.policies import ConsistentHash, ModuloHash, make_policy
from ..engine.tables import Table
from ..errors import InvalidArgumentError
from ..shop.cluster import Cluster

__all__ = ["compare_balancing", "BalancingResult", "keys_moved", "user_activity", "POLICIES_COMPARED",
           "hashing_imbalance", "bounded_load_placement", "Placement", "PARETO_SHAPE"]

POLICIES_COMPARED = ("round_robin", "least_connections", "sticky", "consistent_hash")
PARETO_SHAPE = 1.16         # the "80/20" shape: a fifth of the users make about four fifths of the requests
LIGHTEST_ACTIONS = 3        # the least active user does this much (the Pareto distribution's minimum)
MOST_ACTIONS = 200          # a cap, so one extreme draw cannot make a lesson slow


def _whole(name, value, minimum=1):
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InvalidArgumentError(f"{name} must be a whole number >= {minimum}, not {value!r}")
    return value


def user_activity(users, seed=7):
    """How many actions each user does, drawn from a Pareto distribution: {name: actions}, fixed by ``seed``."""
    _whole("users", users)
    rng = random.Random(f"{seed}-activity")
    return {f"visitor-{i:02d}": min(MOST_ACTIONS, round(LIGHTEST_ACTIONS * rng.paretovariate(PARETO_SHAPE)))
            for i in range(users)}


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
        _whole(name, value)
    policy = make_policy(policy)
    if not hasattr(policy, "owner"):
        raise InvalidArgumentError(f"{policy.name} does not place keys; use 'consistent_hash' or 'modulo_hash'")
    old = [f"node-{i}" for i in range(1, before + 1)]
    new = [f"node-{i}" for i in range(1, after + 1)]
    names = [f"key-{i}" for i in range(keys)]
    owners_before = [policy.owner(k, old) for k in names]     # one node list at a time: the ring is built once
    owners_after = [policy.owner(k, new) for k in names]
    return sum(a != b for a, b in zip(owners_before, owners_after)) / keys


def _imbalance(counts):
    """The busiest node's count divided by the mean (1.0 = perfectly even)."""
    counts = list(counts)
    return max(counts) / (sum(counts) / len(counts))


def hashing_imbalance(key_counts=(12, 120, 1_200, 12_000), vnodes=(1, 10, 100), nodes=3, lookups=24_000):
    """Mean imbalance of key placement against the number of keys and of virtual nodes; returns a ``Table``.

    Each cell is the mean over many trials, each with other keys and other
    node names (so other positions on the ring), about ``lookups`` key
    placements per row in all. Beside the rings, "random placement" puts
    each key on ``hash(key) mod nodes``: as even as chance allows, so the
    imbalance it shows is sampling, not the ring.
    """
    for count in key_counts:
        _whole("key_counts", count)
    for count in vnodes:
        _whole("vnodes", count)
    _whole("nodes", nodes, minimum=2)
    _whole("lookups", lookups)
    rows = []
    for count in key_counts:
        trials = max(5, min(200, lookups // count))
        sums = [0.0] * (1 + len(vnodes))
        for trial in range(trials):
            names = [f"node-{i}-{trial}" for i in range(1, nodes + 1)]
            keys = [f"user-{trial}-{i}" for i in range(count)]
            for column, placement in enumerate([ModuloHash()] + [ConsistentHash(vnodes=v) for v in vnodes]):
                load = collections.Counter(placement.owner(k, names) for k in keys)
                sums[column] += _imbalance(load[n] for n in names)
        rows.append([count, trials] + [f"{total / trials:.2f}" for total in sums])
    headers = ["keys", "trials", "random placement"] + [f"ring, {v} vnode{'s' if v > 1 else ''}/node" for v in vnodes]
    return Table(headers, rows, title=f"Busiest of {nodes} nodes / average (1.00 is even), mean over trials")


@dataclass(frozen=True)
class Placement:
    """Which node holds each key, and the load (sum of the keys' weights) each node ends up with."""
    owners: dict
    loads: dict
    moved: int                   # keys not on the node the plain ring would pick

    @property
    def imbalance(self):
        return _imbalance(self.loads.values())


def bounded_load_placement(weights, nodes=3, epsilon=None, vnodes=100):
    """Place weighted keys on a ring of ``nodes``: plainly (``epsilon=None``) or with bounded loads.

    ``weights`` maps each key to its load (such as requests per user). With
    ``epsilon`` each node may take at most ``(1 + epsilon)`` times the
    average load; keys are placed in order and a key whose node is already
    full goes to the next node clockwise with room (on the ring of the nodes
    that still have room, which is the same thing). Returns a ``Placement``.
    """
    _whole("nodes", nodes, minimum=2)
    if epsilon is not None and (not isinstance(epsilon, (int, float)) or epsilon <= 0):
        raise InvalidArgumentError(f"epsilon must be a number > 0 such as 0.25, or None, not {epsilon!r}")
    names = [f"node-{i}" for i in range(1, nodes + 1)]
    ring = ConsistentHash(vnodes=vnodes)
    cap = None if epsilon is None else (1 + epsilon) * sum(weights.values()) / nodes
    loads = {name: 0 for name in names}
    owners, moved = {}, 0
    for key, weight in weights.items():
        plain = ring.owner(key, names)
        with_room = names if cap is None else [n for n in names if loads[n] < cap] or names
        owners[key] = ring.owner(key, with_room)
        loads[owners[key]] += weight
        moved += owners[key] != plain
    return Placement(owners, loads, moved)
