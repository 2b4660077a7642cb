"""A cluster: a balancer, some shop instances, and wherever the state lives.

This is the object every chapter drives. ``Cluster.stateless()`` builds the
article's first diagram: a balancer in front of identical instances that keep
nothing in memory, a SQLite database for carts and a Redis cache for the
token denylist. ``Cluster.stateful()`` builds the same shop with sessions and
carts inside each instance, behind sticky sessions.

The operations are the ones an operator has: ``kill`` (a crash),
``restart``, ``drain`` (take out of service gracefully), ``scale``, and the
deploys in ``deploys.py``. Each is a plain method, so a cell, a test and a
dashboard button all do exactly the same thing.

    with Cluster.stateless(instances=3) as shop:
        alice = shop.user("alice")
        alice.add("book", 2)
        shop.kill(alice.last_instance)
        alice.cart()            # {'book': 2}: the cart was never in the instance
"""

import itertools
import secrets
import threading
import time

from ..engine import registry
from ..engine.balancer import Balancer
from ..engine.events import EventLog
from ..engine.instance import Instance
from ..errors import ClusterClosedError, InvalidArgumentError, UnknownInstanceError
from ..state.redis_server import INSTALL_HINT, start_redis
from ..state.stores import RedisStore, SQLiteStore
from ..state.tokens import TokenIssuer
from . import deploys
from .ledger import Ledger
from .stateful import StatefulShop
from .stateless import StatelessShop
from .traffic import run_traffic
from .users import User

__all__ = ["Cluster"]

KINDS = ("stateless", "stateful")
MAX_INSTANCES = 50


def _whole(name, value, low, high):
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidArgumentError(f"{name} must be a whole number from {low} to {high}, not {value!r}")
    return value


class Cluster:
    """Balancer + instances + shared stores. Build one with ``Cluster.stateless()`` or ``Cluster.stateful()``."""

    def __init__(self, kind, instances=3, policy=None, seed=7, workers=8, service_ms=2.0, queue_limit=64,
                 health_interval=0.1, session_ttl_s=300.0, version="v1", use_redis=True):
        if kind not in KINDS:
            raise InvalidArgumentError(f"kind must be 'stateless' or 'stateful', not {kind!r}")
        _whole("instances", instances, 1, MAX_INSTANCES)
        _whole("workers", workers, 1, 256)
        _whole("queue_limit", queue_limit, 0, 10_000)
        for name, value in (("service_ms", service_ms), ("session_ttl_s", session_ttl_s)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise InvalidArgumentError(f"{name} must be a number >= 0, not {value!r}")
        self.kind = kind
        self.seed = seed
        self.version = version
        self.workers, self.service_ms, self.queue_limit = workers, service_ms, queue_limit
        self.session_ttl_s = session_ttl_s
        self.events = EventLog()
        self.notes = []                       # plain-words remarks, e.g. "no Redis: cache kept in the database"
        self.closed = False
        self.redis = self.database = self.cache = self.tokens = None
        self._instances = []
        self._numbers = itertools.count(1)
        self._users = []
        self._lock = threading.RLock()
        self._traffic = None                  # (thread, stop event) of background traffic
        self.ledger = Ledger()                # the ledger of the latest background traffic
        policy = policy or ("round_robin" if kind == "stateless" else "sticky")
        self.balancer = Balancer(policy, seed=seed, health_interval=health_interval, events=self.events)
        registry.register(self)
        try:
            if kind == "stateless":
                self._start_stores(use_redis)
            self.balancer.start()
            for _ in range(instances):
                self.add_instance()
        except BaseException:
            self.close()
            raise

    @classmethod
    def stateless(cls, instances=3, policy="round_robin", seed=7, **options):
        """Instances that keep nothing: JWTs, carts in SQLite, the denylist in Redis."""
        return cls("stateless", instances, policy, seed, **options)

    @classmethod
    def stateful(cls, instances=3, policy="sticky", seed=7, **options):
        """Instances that keep sessions and carts in their own memory."""
        return cls("stateful", instances, policy, seed, **options)

    def _start_stores(self, use_redis):
        self.tokens = TokenIssuer(secrets.token_hex(32))
        self.database = SQLiteStore()
        self.redis = start_redis() if use_redis else None
        if self.redis is not None:
            self.cache = RedisStore(self.redis.url, prefix=f"shop-{secrets.token_hex(4)}:")
        else:
            self.cache = self.database
            self.notes.append(f"No Redis server was found, so the cache lives in the database; {INSTALL_HINT}.")

    def new_app(self):
        """For subclasses: the application object one new instance runs (a fresh one per start)."""
        if self.kind == "stateless":
            return StatelessShop(self.tokens, self.database, self.cache)
        return StatefulShop(session_ttl_s=self.session_ttl_s)

    # -- looking at it -------------------------------------------------------------
    @property
    def url(self):
        return self.balancer.url

    @property
    def instances(self):
        with self._lock:
            return list(self._instances)

    @property
    def policy(self):
        return self.balancer.policy.name

    def instance(self, name):
        """The instance called ``name`` (``UnknownInstanceError`` lists the real names)."""
        self._check_open()
        for server in self.instances:
            if server.name == name:
                return server
        raise UnknownInstanceError(name, [s.name for s in self.instances])

    def status(self, name):
        """'up', 'draining', 'unhealthy' (running but out of rotation), 'stopped' or 'dead'."""
        server = self.instance(name)
        if server.status in ("dead", "stopped", "new"):
            return server.status
        backend = self.balancer.instance(name)
        return {"up": "up", "draining": "draining", "down": "unhealthy"}[backend.status]

    def held_sessions(self):
        """Sessions each running instance holds in its own memory: {name: count}."""
        return {s.name: s.stats["sessions"] for s in self.instances if s.alive}

    def __repr__(self):
        state = "closed" if self.closed else f"{len([s for s in self.instances if s.alive])} instances up"
        return f"Cluster({self.kind}, {state}, policy={self.policy})"

    # -- operations ------------------------------------------------------------------
    def kill(self, name):
        """Crash one instance: connections cut, memory gone. The balancer notices by itself."""
        self.instance(name).kill()

    def restart(self, name, version=None):
        """Start a dead or stopped instance again: a fresh process with empty memory."""
        server = self.instance(name)
        server.restart(version)
        self.balancer.set_address(name, server.address)
        return server

    def drain(self, name, timeout=None):
        """Take ``name`` out of service gracefully; returns what it cost.

        The balancer sends it no new clients. A stateless instance only has
        to finish its in-flight requests. A stateful one keeps serving the
        users pinned to it until their sessions end, or ``timeout`` seconds
        pass; sessions still open then are lost when it stops.
        """
        server = self.instance(name)
        if not server.alive:
            return {"instance": name, "seconds": 0.0, "sessions_lost": 0}
        if timeout is None:
            timeout = 5.0 if self.kind == "stateless" else 10.0
        started = time.monotonic()
        self.balancer.set_draining(name)
        backend = self.balancer.instance(name)
        deadline = started + timeout
        while time.monotonic() < deadline:
            if backend.in_flight == 0 and (self.kind == "stateless" or server.stats["sessions"] == 0):
                break
            time.sleep(0.01)
        lost = server.stats["sessions"]
        server.stop(timeout=max(0.1, deadline - time.monotonic()))
        seconds = time.monotonic() - started
        self.events.add(name, "drained", f"{name} drained in {seconds:.2f} s, {lost} sessions lost")
        return {"instance": name, "seconds": seconds, "sessions_lost": lost}

    def add_instance(self, version=None):
        """Start one more instance (by default of the cluster's current version); returns its name."""
        self._check_open()
        with self._lock:
            if len(self._instances) >= MAX_INSTANCES:
                raise InvalidArgumentError(f"a cluster holds at most {MAX_INSTANCES} instances")
            name = f"shop-{next(self._numbers)}"
        server = Instance(self.new_app, name=name, version=version or self.version, workers=self.workers,
                        service_ms=self.service_ms, queue_limit=self.queue_limit, events=self.events).start()
        self.balancer.add_instance(name, server.address)      # first the balancer, so status(name) always works
        with self._lock:
            self._instances.append(server)
        return name

    def remove_instance(self, name, drain=True, timeout=None):
        """Drain (or, with ``drain=False``, kill) an instance and forget it; returns the drain result."""
        server = self.instance(name)
        result = self.drain(name, timeout) if drain else {"instance": name, "seconds": 0.0,
                                                          "sessions_lost": server.stats["sessions"]}
        server.kill()
        server.close()
        self.balancer.remove_instance(name)
        with self._lock:
            self._instances.remove(server)
        return result

    def scale(self, n, timeout=None):
        """Run exactly ``n`` live instances: start new ones, or drain and remove the newest."""
        self._check_open()
        _whole("n", n, 1, MAX_INSTANCES)
        for server in [s for s in self.instances if not s.alive]:
            self.remove_instance(server.name, drain=False)
        results = []
        while len(self.instances) < n:
            self.add_instance()
        while len(self.instances) > n:
            results.append(self.remove_instance(self.instances[-1].name, timeout=timeout))
        return results

    # -- deploys (see deploys.py) ----------------------------------------------------------
    def rolling_deploy(self, version, drain=True, timeout=None):
        return deploys.rolling(self, version, drain=drain, timeout=timeout)

    def blue_green(self, version, timeout=None):
        return deploys.blue_green(self, version, timeout=timeout)

    def canary(self, version, percent=10):
        return deploys.canary(self, version, percent)

    def promote_canary(self, drain=True, timeout=None):
        return deploys.promote_canary(self, drain=drain, timeout=timeout)

    def rollback_canary(self, timeout=None):
        return deploys.rollback_canary(self, timeout=timeout)

    # -- users and traffic -------------------------------------------------------------------
    def user(self, name, idempotent=True):
        """A logged-in ``User`` going through the balancer."""
        self._check_open()
        person = User(self.url, name, idempotent=idempotent).login()
        self._users.append(person)
        return person

    def run_traffic(self, users=20, actions=30, seed=None, chaos=None, idempotent=True):
        """Many users shopping at once (see ``traffic.run_traffic``); returns a ``Report``."""
        self._check_open()
        return run_traffic(self, users, actions, self.seed if seed is None else seed, chaos, idempotent)

    def start_traffic(self, users=8, think_ms=50, seed=None):
        """Keep ``users`` users shopping in the background until ``stop_traffic()``."""
        self._check_open()
        _whole("users", users, 1, 200)
        if not isinstance(think_ms, (int, float)) or think_ms < 0:
            raise InvalidArgumentError(f"think_ms must be a number of milliseconds >= 0, not {think_ms!r}")
        if self._traffic is not None:
            return
        stop = threading.Event()
        self.ledger = Ledger()
        thread = threading.Thread(target=run_traffic, name="background-traffic", daemon=True,
                                  args=(self, users, 10 ** 9, self.seed if seed is None else seed),
                                  kwargs={"ledger": self.ledger, "stop": stop, "think_ms": think_ms})
        self._traffic = (thread, stop)
        thread.start()

    def stop_traffic(self):
        if self._traffic is not None:
            thread, stop = self._traffic
            stop.set()
            thread.join()
            self._traffic = None

    @property
    def traffic_running(self):
        return self._traffic is not None

    # -- closing -----------------------------------------------------------------------------
    def _check_open(self):
        if self.closed:
            raise ClusterClosedError("this cluster was closed; start a new one, e.g. Cluster.stateless()")

    def close(self):
        """Stop everything this cluster started. Safe to call twice."""
        if self.closed:
            return
        self.closed = True
        self.stop_traffic()
        for person in self._users:
            person.close()
        self.balancer.close()
        for server in self.instances:
            server.kill()
            server.close()
        if self.cache is not None and self.cache is not self.database:
            self.cache.close()
        if self.database is not None:
            self.database.close()
        if self.redis is not None:
            self.redis.close()
        registry.unregister(self)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
