"""Exercise 06: a consistent-hash ring with virtual nodes, checked on keys and on a live stateful cluster.

A stateful tier partitions its keys (users, carts, rooms) over instances, and
the rule that says who owns a key decides what a scaling event costs. With
``hash(key) % n`` almost every key changes owner when ``n`` changes. On a
*ring*, each node sits at points of a circle of hash values and a key belongs
to the first node clockwise from the key's own point, so a joining node takes
only the keys that now fall on its arcs (about 1/(n+1) of them) and nothing
else moves. With one point per node the arcs are uneven and a leaving node
dumps everything on its one neighbour; *virtual nodes* (many points per node)
even out both.

You write ``HashRing`` with ``add(node)``, ``remove(node)`` and ``owner(key)``.
``check_hash_ring(HashRing)`` asks it about 4,000 keys over nodes shop-1 to
shop-4, in this order, stopping at the first anomaly:

1. every key has an owner among the nodes, and an empty ring owns nothing (None);
2. the owner depends only on which nodes are on the ring, not on the order they were added;
3. balance: the busiest node owns at most ``MAX_IMBALANCE`` times the mean;
4. a leaving node's keys spread over every other node (each takes at least ``MIN_SPREAD`` of them);
5. when shop-5 joins, keys move only to shop-5, about 1/5 of them; when it leaves, every key goes back.

Then it routes a live stateful cluster with your ring (the balancer's hash
policy calls ``owner``): twelve users log in and shop on three instances, a
fourth instance is added, and the users your ring moved lose their sessions,
as they would without a hand-off. Chapter 06 (W3, W8) uses it.
"""

import collections
import threading

from ..engine.policies import HashPolicy
from ..shop.cluster import Cluster
from ..shop.users import LoginFailed
from .checker import Exercise, TheirCode, TheirCodeFailed, Verdict, wrong_argument

__all__ = ["HASH_RING", "check_hash_ring", "RingPolicy", "MAX_IMBALANCE", "MIN_SPREAD", "KEYS"]

KEYS = tuple(f"user-{i}" for i in range(4000))
NODES = ("shop-1", "shop-2", "shop-3", "shop-4")
JOINER = "shop-5"
MAX_IMBALANCE = 1.4         # busiest node / mean; 100 virtual nodes give about 1.1-1.2, one point per node ~1.8
MIN_SPREAD = 0.10           # each remaining node takes at least this share of a leaving node's keys
MOVED_BOUNDS = (0.10, 0.35)  # share of keys that may move when a fifth node joins (ideal: 1/5)
LIVE_USERS = tuple(f"visitor-{i:02d}" for i in range(12))

HASH_RING = Exercise(
    name="hash_ring", chapter="06_why_stateless_won", title="a hash ring with virtual nodes", writes="HashRing",
    hints=(
        "Picture a circle of numbers from 0 to 2**64. `point(text)` puts any string somewhere on it. A node "
        "sits at some points; a key belongs to the first node point you meet going clockwise from "
        "`point(key)`, wrapping round to the start after the largest point.",
        "Keep a sorted list of `(position, node)` pairs. `add(node)` puts `vnodes` pairs in it, one for "
        "`point(f\"{node}#{i}\")` for each i; `remove(node)` takes out every pair of that node, not just one.",
        "For `owner(key)`, `bisect.bisect(self.points, (point(key), \"\"))` gives the index of the first point "
        "clockwise; if it equals `len(self.points)`, wrap round to index 0. An empty ring owns nothing: return None.",
        "A sketch:\n\n"
        "- `add`: `for i in range(self.vnodes): bisect.insort(self.points, (point(f\"{node}#{i}\"), node))`\n"
        "- `remove`: `self.points = [(p, n) for p, n in self.points if n != node]`\n"
        "- `owner`: `index = bisect.bisect(self.points, (point(key), \"\"))`, then "
        "`self.points[index % len(self.points)][1]`",
    ))


class RingPolicy(HashPolicy):
    """A balancer policy that asks the learner's ring who owns a request's key.

    The balancer passes the healthy instances' names; the policy adds and
    removes nodes on the ring to match, then calls ``owner``.
    """

    name = "your_hash_ring"

    def __init__(self, ring, their_code):
        super().__init__()
        self.ring = ring
        self.their_code = their_code
        self.members = set()
        self._lock = threading.Lock()

    def owner(self, key, names):
        with self._lock:
            for node in sorted(set(names) - self.members):
                self.their_code.call(self.ring, "add", node)
                self.members.add(node)
            for node in sorted(self.members - set(names)):
                self.their_code.call(self.ring, "remove", node)
                self.members.discard(node)
            return self.their_code.call(self.ring, "owner", key)


def _ring(their, nodes):
    ring = their.build()
    for node in nodes:
        their.call(ring, "add", node)
    return ring


def _owners(their, ring):
    return [their.call(ring, "owner", key) for key in KEYS]


def _check_keys(their, counts):
    """Checks 1-5 on keys alone; returns the reason of the first anomaly, or None."""
    empty = their.build()
    nobody = their.call(empty, "owner", KEYS[0])
    if nobody is not None:
        return f"on an empty ring, owner({KEYS[0]!r}) returned {nobody!r}; with no node on the ring, return None."
    ring = _ring(their, NODES)
    owners = _owners(their, ring)
    stranger = next(((key, owner) for key, owner in zip(KEYS, owners) if owner not in NODES), None)
    if stranger:
        return (f"owner({stranger[0]!r}) returned {stranger[1]!r}, which is not one of the nodes on the ring "
                f"({', '.join(NODES)}).")
    reversed_owners = _owners(their, _ring(their, reversed(NODES)))
    for key, first, second in zip(KEYS, owners, reversed_owners):
        if first != second:
            return (f"owner({key!r}) is {first} on a ring built by adding {', '.join(NODES)}, but {second} on one "
                    f"built in the reverse order; the owner must depend only on which nodes are on the ring.")
    shares = collections.Counter(owners)
    mean = len(KEYS) / len(NODES)
    busiest = max(NODES, key=lambda node: shares[node])
    counts[f"busiest node / mean (at most {MAX_IMBALANCE})"] = f"{shares[busiest] / mean:.2f}"
    if shares[busiest] / mean > MAX_IMBALANCE:
        return (f"{busiest} owns {shares[busiest]} of {len(KEYS)} keys, {shares[busiest] / mean:.2f} times the mean "
                f"of {mean:.0f} (at most {MAX_IMBALANCE} passes); put each node on the ring at many points "
                "(virtual nodes), not one.")
    leaver = NODES[2]
    their.call(ring, "remove", leaver)
    heirs = collections.Counter(their.call(ring, "owner", key) for key, owner in zip(KEYS, owners) if owner == leaver)
    if heirs[leaver]:
        return (f"after remove({leaver!r}), owner() still answers {leaver} for {heirs[leaver]} of the "
                f"{shares[leaver]} keys it owned; remove(node) must take away every point of that node.")
    counts[f"{leaver}'s keys taken by its smallest heir"] = min(heirs[node] for node in NODES if node != leaver)
    for node in NODES:
        if node != leaver and heirs[node] < MIN_SPREAD * shares[leaver]:
            return (f"when {leaver} left, {node} took {heirs[node]} of its {shares[leaver]} keys "
                    f"({dict(sorted(heirs.items()))}); a leaving node's keys should spread over every other node "
                    f"(at least {MIN_SPREAD:.0%} each), which takes many points per node.")
    their.call(ring, "add", leaver)
    return _check_join_and_leave(their, ring, owners, counts)


def _check_join_and_leave(their, ring, owners, counts):
    """Check 5: a fifth node takes only its own keys, about 1/5, and gives every one back when it leaves."""
    back = _owners(their, ring)
    changed = next((key for key, a, b in zip(KEYS, owners, back) if a != b), None)
    if changed is not None:
        return (f"after {NODES[2]} left and came back, owner({changed!r}) changed; the same nodes must give "
                "the same owners.")
    their.call(ring, "add", JOINER)
    after = _owners(their, ring)
    moved = [(key, a, b) for key, a, b in zip(KEYS, owners, after) if a != b]
    counts[f"keys moved when {JOINER} joined"] = len(moved)
    wrong = next(((key, a, b) for key, a, b in moved if b != JOINER), None)
    if wrong:
        return (f"when {JOINER} joined, {wrong[0]} moved from {wrong[1]} to {wrong[2]}; only keys that now belong "
                f"to {JOINER} should move ({len(moved)} of {len(KEYS)} keys moved in all).")
    low, high = MOVED_BOUNDS
    if not low <= len(moved) / len(KEYS) <= high:
        return (f"when {JOINER} joined it took {len(moved)} of {len(KEYS)} keys ({len(moved) / len(KEYS):.0%}); "
                f"a fifth node should take about 1/5 (between {low:.0%} and {high:.0%} passes).")
    their.call(ring, "remove", JOINER)
    restored = _owners(their, ring)
    stuck = next(((key, b) for key, a, b in zip(KEYS, owners, restored) if a != b), None)
    if stuck:
        return (f"after {JOINER} left again, owner({stuck[0]!r}) is {stuck[1]!r}, not its owner from before the "
                f"join; remove(node) must take away every point of that node.")
    return None


def _live(their, counts, seed):
    """Route a stateful cluster by the learner's ring; a fourth instance joins. Returns a reason or None."""
    ring = their.build()
    policy = RingPolicy(ring, their)
    with Cluster.stateful(instances=3, policy=policy, seed=seed, health_interval=0.5) as shop:
        people = [shop.user(name) for name in LIVE_USERS]
        for person in people:
            person.add("book", 1)
            person.cart()
        early = [p.name for p in people if p.session_lost]
        if early:
            return (f"{early[0]} lost their session before any instance joined: your ring sent their requests to "
                    "different instances; owner(key) must give the same answer every time.")
        homes = {name: their.call(ring, "owner", name) for name in LIVE_USERS}
        shop.scale(4)
        for person in people:
            person.cart()
        moved = sorted(name for name in LIVE_USERS if their.call(ring, "owner", name) != homes[name])
        lost = sorted(p.name for p in people if p.session_lost)
    counts["live: users your ring moved to shop-4"] = len(moved)
    counts["live: users who lost their session"] = len(lost)
    if lost != moved:
        return (f"on the live cluster, the users who lost their session ({', '.join(lost) or 'nobody'}) are not the "
                f"ones your ring moved ({', '.join(moved) or 'nobody'}); owner(key) must be deterministic.")
    return None


def check_hash_ring(HashRing, seed=7):
    """Check your ``HashRing`` on 4,000 keys and on a live stateful cluster; returns a ``Verdict`` (and saves it)."""
    counts = {"keys asked": len(KEYS), "nodes": len(NODES)}
    mistake = wrong_argument(HashRing, "HashRing", "check_hash_ring")
    if mistake:
        return Verdict(HASH_RING, False, mistake, counts).save()
    their = TheirCode(HashRing, "HashRing")
    reason = None
    try:
        reason = _check_keys(their, counts) or _live(their, counts, seed)
    except TheirCodeFailed as failure:
        return Verdict.from_problem(HASH_RING, failure.problem, counts, "while the checker asked your ring").save()
    except LoginFailed:
        if their.problem is None:        # not your code: a real failure of the lab
            raise
    if their.problem is not None:        # raised inside the live balancer, which answered 500
        return Verdict.from_problem(HASH_RING, their.problem, counts, "while the balancer asked your ring").save()
    if reason:
        return Verdict(HASH_RING, False, reason, counts).save()
    moved = counts[f"keys moved when {JOINER} joined"]
    return Verdict(HASH_RING, True, f"your ring is even, keys spread when a node leaves, and a fifth node took "
                                    f"{moved} of {len(KEYS)} keys ({moved / len(KEYS):.0%}, about 1/5) and only "
                                    "its own; on the live cluster exactly the users it moved lost their "
                                    "sessions.", counts).save()
