"""How a load balancer picks an instance: one small class per policy.

Every policy answers one question, ``choose(instances, request)``: of these
healthy instances, which one gets this request? For a stateless service any
answer is correct, so the policy only decides how evenly load spreads. For a
stateful service the answer decides whether the request finds its state at
all, which is why ``Sticky`` and the hash policies exist, and why they make
load uneven (chapter 06, claim W3). Used by ``balancer.py``.

The balancer never asks which policy it holds; it calls three methods, and a
policy of your own only has to write the first:

* ``choose(instances, request)``: pick one of the healthy instances (or None);
* ``pinned(instances, request)``: the instance this client is tied to, even a
  draining one (its session is there), or None (the default: nobody is pinned);
* ``response_headers(request, instance)``: headers that pin the client, such as
  a cookie (the default: none).

The hash policies share ``HashPolicy``: they hash a key taken from the request
(``route_key`` by default; a game cluster passes a function that reads the
room from the path) and ``owner(key, names)`` says which instance owns it.

A canary deploy sends part of the traffic to a new version, and *which part*
depends on the service. ``SplitByRequest`` decides afresh for every request,
which is right when any instance can serve anyone (stateless). ``SplitByUser``
decides once per user, from the hash of their key, so a user placed on the
canary at login stays there, and a user kept off it never meets it: the right
split for a sticky service, whose users must not wander away from their
session (chapter 06). The shop class says which one it needs.

An instance here is anything with ``.name`` and ``.in_flight`` (the balancer's
``PooledInstance``); the request is an ``engine.messages.Request``.
"""

import bisect
import hashlib
import itertools
import random
import threading

from ..errors import InvalidArgumentError

__all__ = ["Policy", "RoundRobin", "LeastConnections", "RandomChoice", "Sticky", "HashPolicy", "ConsistentHash",
           "ModuloHash", "make_policy", "POLICIES", "STICKY_COOKIE", "route_key", "stable_hash", "CanarySplit",
           "SplitByRequest", "SplitByUser"]

STICKY_COOKIE = "lb-instance"
RINGS_KEPT = 8                  # rings a ConsistentHash remembers (one per set of instances it has seen lately)


def stable_hash(text):
    """A hash that is the same in every process (Python's ``hash()`` of a str is salted per process)."""
    return int.from_bytes(hashlib.md5(text.encode()).digest()[:8], "big")


def route_key(request):
    """What a hashing policy hashes by default: the X-Route-Key header, else the path."""
    return request.headers.get("X-Route-Key") or request.path


class Policy:
    """Base class. ``choose`` picks an instance; ``pinned`` and ``response_headers`` keep a client on one."""

    name = "policy"

    @classmethod
    def build(cls, seed=0):
        """A new policy of this class; a policy that uses randomness takes the ``seed`` (see RandomChoice)."""
        return cls()

    def choose(self, instances, request):
        raise NotImplementedError

    def pinned(self, instances, request):
        """The instance among ``instances`` (up or draining) this client must stay on, or None."""
        return None

    def response_headers(self, request, instance):
        return {}


class RoundRobin(Policy):
    """Each instance in turn: the simplest fair spread when any instance can serve anyone."""

    name = "round_robin"

    def __init__(self):
        self._counter = itertools.count()
        self._lock = threading.Lock()

    def choose(self, instances, request):
        if not instances:
            return None
        with self._lock:
            turn = next(self._counter)
        return instances[turn % len(instances)]


class LeastConnections(Policy):
    """The instance with the fewest requests in flight; ties go round-robin."""

    name = "least_connections"

    def __init__(self):
        self._tiebreak = RoundRobin()

    def choose(self, instances, request):
        if not instances:
            return None
        fewest = min(instance.in_flight for instance in instances)
        return self._tiebreak.choose([i for i in instances if i.in_flight == fewest], request)


class RandomChoice(Policy):
    """A seeded random pick: even on average, and reproducible in a lesson."""

    name = "random"

    @classmethod
    def build(cls, seed=0):
        return cls(seed)

    def __init__(self, seed=0):
        self._rng = random.Random(seed)
        self._lock = threading.Lock()

    def choose(self, instances, request):
        if not instances:
            return None
        with self._lock:
            return self._rng.choice(instances)


class Sticky(Policy):
    """Send a client back to the instance it used before, named in a cookie the balancer sets.

    A new client (or one whose instance is gone) is placed round-robin, and
    the answer sets the cookie. This is what keeps a stateful user with their
    session, and what makes a popular instance stay popular.
    """

    name = "sticky"

    def __init__(self):
        self._place = RoundRobin()

    def pinned(self, instances, request):
        name = request.cookie(STICKY_COOKIE)
        return next((instance for instance in instances if instance.name == name), None)

    def choose(self, instances, request):
        return self.pinned(instances, request) or self._place.choose(instances, request)

    def response_headers(self, request, instance):
        if request.cookie(STICKY_COOKIE) == instance.name:
            return {}
        return {"Set-Cookie": f"{STICKY_COOKIE}={instance.name}; Path=/"}


class HashPolicy(Policy):
    """Base of the hash policies: the same key always goes to the instance that owns it.

    ``key_of(request)`` says what to hash (``route_key`` unless given another
    function); a subclass writes ``owner(key, names)``, which also works
    without a balancer, e.g. to count how many keys move when an instance joins.
    """

    def __init__(self, key_of=route_key):
        self.key_of = key_of

    def owner(self, key, names):
        """Which of ``names`` owns ``key`` (None if there are no names)."""
        raise NotImplementedError

    def choose(self, instances, request):
        if not instances:
            return None
        name = self.owner(self.key_of(request), [i.name for i in instances])
        return next(i for i in instances if i.name == name)


class ConsistentHash(HashPolicy):
    """Hash the request's key onto a ring of virtual nodes; the next node clockwise serves it.

    When an instance joins or leaves, only the keys on its arcs of the ring
    move (about 1/N of them), unlike ``ModuloHash``, where most keys move.
    """

    name = "consistent_hash"

    def __init__(self, vnodes=100, key_of=route_key):
        super().__init__(key_of)
        if vnodes < 1:
            raise InvalidArgumentError(f"vnodes must be >= 1, not {vnodes!r}")
        self.vnodes = vnodes
        self._rings = {}                # tuple of names -> sorted list of (point, name), the newest few kept
        self._lock = threading.Lock()

    def _build(self, names):
        return sorted((stable_hash(f"{name}#{i}"), name) for name in names for i in range(self.vnodes))

    def owner(self, key, names):
        names = tuple(sorted(names))
        if not names:
            return None
        with self._lock:
            ring = self._rings.get(names)
            if ring is None:            # a set of instances not seen lately: build its ring once
                ring = self._rings[names] = self._build(names)
                if len(self._rings) > RINGS_KEPT:
                    del self._rings[next(iter(self._rings))]
        index = bisect.bisect(ring, (stable_hash(key), "")) % len(ring)
        return ring[index][1]


class ModuloHash(HashPolicy):
    """``hash(key) % N``: simple and stable until N changes, then most keys move."""

    name = "modulo_hash"

    def owner(self, key, names):
        names = sorted(names)
        return names[stable_hash(key) % len(names)] if names else None


POLICIES = {cls.name: cls for cls in (RoundRobin, LeastConnections, RandomChoice, Sticky, ConsistentHash, ModuloHash)}


def make_policy(policy, seed=0):
    """A policy object from its name ("round_robin", "sticky", ...) or an existing ``Policy``."""
    if isinstance(policy, Policy):
        return policy
    if policy not in POLICIES:
        raise InvalidArgumentError(f"unknown policy {policy!r}; choose one of {', '.join(POLICIES)}")
    return POLICIES[policy].build(seed)


class CanarySplit:
    """Which clients a canary gets. ``to_canary(request)`` is asked for every client not pinned elsewhere.

    Built by the balancer's ``set_canary`` with the share of traffic (``fraction``,
    0 to 1) and the balancer's seeded random generator.
    """

    unit = "clients"            # what the percentage counts, in words

    def __init__(self, fraction, rng):
        self.fraction = fraction
        self.rng = rng

    def to_canary(self, request):
        raise NotImplementedError


class SplitByRequest(CanarySplit):
    """Every request is a fresh draw: about ``fraction`` of all requests, whoever sends them (stateless)."""

    unit = "requests"

    def to_canary(self, request):
        return self.rng.random() < self.fraction


class SplitByUser(CanarySplit):
    """One decision per user, from the hash of their key: about ``fraction`` of the users, each for good.

    A user whose key lands below the fraction logs in on the canary and, pinned
    there, stays; everyone else never sees it. The same user is placed the same
    way on every login and every device (sticky services).
    """

    unit = "users"

    def to_canary(self, request):
        return stable_hash("canary:" + route_key(request)) / 2 ** 64 < self.fraction
