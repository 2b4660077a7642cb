"""How a load balancer picks an instance: one small class per policy.

Every policy answers one question, ``choose(instances, request)``: of these
healthy instances, which one gets this request? For a stateless service any
answer is correct, so the policy only decides how evenly load spreads. For a
stateful service the answer decides whether the request finds its state at
all, which is why ``Sticky`` and ``ConsistentHash`` exist, and why they make
load uneven (chapter 06, claim W3). Used by ``balancer.py``.

An instance is anything with ``.name`` and ``.in_flight``; the request is a
``server.Request``.
"""

import bisect
import hashlib
import itertools
import random
import re
import threading

from ..errors import InvalidArgumentError

__all__ = ["Policy", "RoundRobin", "LeastConnections", "RandomChoice", "Sticky", "ConsistentHash",
           "ModuloHash", "make_policy", "POLICIES", "STICKY_COOKIE", "route_key", "stable_hash"]

STICKY_COOKIE = "lb-instance"
ROOM_PATH = re.compile(r"^/rooms/([^/]+)")


def stable_hash(text):
    """A hash that is the same in every process (Python's ``hash()`` of a str is salted per process)."""
    return int.from_bytes(hashlib.md5(text.encode()).digest()[:8], "big")


def route_key(request):
    """What a hashing policy hashes: the X-Route-Key header, else the room in /rooms/<id>, else the path."""
    key = request.headers.get("X-Route-Key")
    if key:
        return key
    room = ROOM_PATH.match(request.path)
    return room.group(1) if room else request.path


class Policy:
    """Base class. ``choose`` picks an instance; ``response_headers`` may pin the client to it."""

    name = "policy"

    def choose(self, instances, request):
        raise NotImplementedError

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
        fewest = min(b.in_flight for b in instances)
        return self._tiebreak.choose([b for b in instances if b.in_flight == fewest], request)


class RandomChoice(Policy):
    """A seeded random pick: even on average, and reproducible in a lesson."""

    name = "random"

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

    def choose(self, instances, request):
        pinned = request.cookie(STICKY_COOKIE)
        for instance in instances:
            if instance.name == pinned:
                return instance
        return self._place.choose(instances, request)

    def response_headers(self, request, instance):
        if request.cookie(STICKY_COOKIE) == instance.name:
            return {}
        return {"Set-Cookie": f"{STICKY_COOKIE}={instance.name}; Path=/"}


class ConsistentHash(Policy):
    """Hash the request's key onto a ring of virtual nodes; the next node clockwise serves it.

    When an instance joins or leaves, only the keys on its arcs of the ring
    move (about 1/N of them), unlike ``ModuloHash``, where most keys move.
    """

    name = "consistent_hash"

    def __init__(self, vnodes=100):
        if vnodes < 1:
            raise InvalidArgumentError(f"vnodes must be >= 1, not {vnodes!r}")
        self.vnodes = vnodes
        self._ring_for = None           # the tuple of names the ring below was built for
        self._ring = []                 # sorted list of (point, name)
        self._lock = threading.Lock()

    def _build(self, names):
        return sorted((stable_hash(f"{name}#{i}"), name) for name in names for i in range(self.vnodes))

    def owner(self, key, names):
        """Which of ``names`` owns ``key`` (usable without a balancer, e.g. to count moved keys)."""
        names = tuple(sorted(names))
        if not names:
            return None
        with self._lock:
            if names != self._ring_for:
                self._ring, self._ring_for = self._build(names), names
            ring = self._ring
        index = bisect.bisect(ring, (stable_hash(key), "")) % len(ring)
        return ring[index][1]

    def choose(self, instances, request):
        if not instances:
            return None
        name = self.owner(route_key(request), [b.name for b in instances])
        return next(b for b in instances if b.name == name)


class ModuloHash(Policy):
    """``hash(key) % N``: simple and stable until N changes, then most keys move."""

    name = "modulo_hash"

    def owner(self, key, names):
        names = sorted(names)
        return names[stable_hash(key) % len(names)] if names else None

    def choose(self, instances, request):
        if not instances:
            return None
        name = self.owner(route_key(request), [b.name for b in instances])
        return next(b for b in instances if b.name == name)


POLICIES = {cls.name: cls for cls in (RoundRobin, LeastConnections, RandomChoice, Sticky, ConsistentHash, ModuloHash)}


def make_policy(policy, seed=0):
    """A policy object from its name ("round_robin", "sticky", ...) or an existing ``Policy``."""
    if isinstance(policy, Policy):
        return policy
    if policy not in POLICIES:
        raise InvalidArgumentError(f"unknown policy {policy!r}; choose one of {', '.join(POLICIES)}")
    return POLICIES[policy](seed) if policy == "random" else POLICIES[policy]()
