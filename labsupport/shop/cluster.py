"""A cluster: a balancer, some shop instances, and wherever the state lives.

This is the object every chapter drives. ``Cluster.stateless()`` builds the
article's first diagram: a balancer in front of identical instances that keep
nothing in memory, a SQLite database for carts and a Redis cache for the
token denylist. ``Cluster.stateful()`` builds the same shop with sessions and
carts inside each instance, behind sticky sessions.

The operations are the ones an operator has: ``kill`` (a crash),
``restart``, ``drain`` (take out of service gracefully, or hand the sessions
to peers first: ``handoff.py``), ``scale`` (which, with ``rebalance=True``,
moves the carts whose owner on the hash ring changed: ``rebalance.py``), the
deploys in ``deploys.py``, and the faults short of a crash that chaos
engineers inject (``engine/faults.py``): ``pause``, ``slow``, ``partition``,
each undone by ``heal``. Each is a plain method, so a cell, a test and a
dashboard button all do exactly the same thing. What differs between the two
kinds (the default policy, whether a drain waits for sessions) is read from
the shop class (``shop_class``), never decided here by asking which kind it is.

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

from ..checks import require_choice, require_int, require_number
from ..engine.balancer import Balancer
from ..engine.events import EventLog
from ..engine.instance import Instance
from ..engine.lifecycle import Closable
from ..engine.waiting import wait_until
from ..errors import ClusterClosedError, InvalidArgumentError, UnknownInstanceError
from ..state.redis_server import INSTALL_HINT, start_redis
from ..state.stores import RedisStore, SQLiteStore
from ..state.tokens import TokenIssuer
from . import deploys
from .handoff import HandOff
from .ledger import Ledger
from .rebalance import HASHING, Rebalance
from .stateful import StatefulShop
from .stateless import StatelessShop
from .traffic import run_traffic
from .users import User

__all__ = ["Cluster", "SHOPS", "KINDS"]

SHOPS = {"stateless": StatelessShop, "stateful": StatefulShop}      # kind -> the shop class it runs
KINDS = tuple(SHOPS)
MAX_INSTANCES = 50


class Cluster(Closable):
    """Balancer + instances + shared stores. Build one with ``Cluster.stateless()`` or ``Cluster.stateful()``.

    ``kind`` is a readable label; ``shop_class`` is the shop the instances run
    (by default the kind's, from ``SHOPS``; pass a subclass of it to run your
    own), and says how the cluster treats them (its default policy, how a
    drain ends, whether its sessions can move). ``rebalance=True`` (with a
    hash policy) makes ``scale`` move the sessions whose owner changes.
    """

    def __init__(self, kind, instances=3, policy=None, seed=7, workers=8, service_ms=2.0, queue_limit=64,
                 health_interval=0.1, session_ttl_s=300.0, version="v1", use_redis=True, shop_class=None,
                 rebalance=False):
        require_choice("kind", kind, KINDS)
        require_int("instances", instances, 1, MAX_INSTANCES)
        require_int("workers", workers, 1, 256)
        require_int("queue_limit", queue_limit, 0, 10_000)
        require_number("service_ms", service_ms, 0)
        require_number("session_ttl_s", session_ttl_s, 0)
        self.kind = kind
        self.shop_class = shop_class or SHOPS[kind]
        if not issubclass(self.shop_class, SHOPS[kind]):
            raise InvalidArgumentError(f"shop_class must be {SHOPS[kind].__name__} or a subclass of it for a "
                                       f"{kind} cluster, not {self.shop_class!r}")
        if rebalance:
            require_choice("policy (for rebalance=True)", policy, HASHING)
        self.rebalance = rebalance            # scale() moves the carts whose owner on the ring changed
        self.secret = secrets.token_hex(16)   # shared by this cluster's instances for their internal routes
        self.seed = seed
        self.version = version
        self.workers, self.service_ms, self.queue_limit = workers, service_ms, queue_limit
        self.session_ttl_s = session_ttl_s
        self.events = EventLog()
        self.notes = []                       # plain-words remarks, e.g. "no Redis: cache kept in the database"
        self.redis = self.database = self.cache = self.tokens = None
        self._instances = []
        self._numbers = itertools.count(1)
        self._users = []
        self._lock = threading.RLock()
        self._traffic = None                  # (thread, stop event) of background traffic
        self.ledger = Ledger()                # the ledger of the latest background traffic
        self.balancer = Balancer(policy or self.shop_class.default_policy, seed=seed,
                                 health_interval=health_interval, events=self.events,
                                 session_key=self.shop_class.session_key)
        self._opened()
        try:
            if self.shop_class.uses_shared_stores:
                self._start_stores(use_redis)
            self.balancer.start()
            for _ in range(instances):
                self.add_instance()
        except BaseException:
            self.close()
            raise

    @classmethod
    def stateless(cls, instances=3, policy=None, seed=7, **options):
        """Instances that keep nothing: JWTs, carts in SQLite, the denylist in Redis (round robin by default)."""
        return cls("stateless", instances, policy, seed, **options)

    @classmethod
    def stateful(cls, instances=3, policy=None, seed=7, **options):
        """Instances that keep sessions and carts in their own memory (sticky sessions by default)."""
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
        return self.shop_class.for_cluster(self)

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
        for instance in self.instances:
            if instance.name == name:
                return instance
        raise UnknownInstanceError(name, [i.name for i in self.instances])

    def status(self, name):
        """'up', 'draining', 'unhealthy' (running but out of rotation), 'stopped' or 'dead'."""
        instance = self.instance(name)
        if instance.status in ("dead", "stopped", "new"):
            return instance.status
        pooled = self.balancer.instance(name)
        return {"up": "up", "draining": "draining", "down": "unhealthy"}[pooled.status]

    def held_state(self):
        """What each running instance holds in its own memory, measured by walking it: {name: HeldState}."""
        return {i.name: i.held_state() for i in self.instances if i.alive}

    def sessions_held(self, instance):
        """Sessions ``instance`` holds in memory: the walk's count for the shop's session attribute (0 if none)."""
        return instance.held_state().entries_in(self.shop_class.sessions_attribute)

    def held_sessions(self):
        """Sessions each running instance holds in its own memory: {name: count}, found by the walk."""
        return {i.name: self.sessions_held(i) for i in self.instances if i.alive}

    def __repr__(self):
        state = "closed" if self.closed else f"{len([i for i in self.instances if i.alive])} instances up"
        return f"Cluster({self.kind}, {state}, policy={self.policy})"

    # -- operations ------------------------------------------------------------------
    def kill(self, name):
        """Crash one instance: connections cut, memory gone. The balancer notices by itself."""
        self.instance(name).kill()

    def restart(self, name, version=None):
        """Start a dead or stopped instance again: a fresh process with empty memory."""
        instance = self.instance(name)
        instance.restart(version)
        self.balancer.set_address(name, instance.address)
        return instance

    def drain(self, name, timeout=None, handoff=False):
        """Take ``name`` out of service gracefully; returns what it cost.

        The balancer sends it no new clients. Every instance finishes its
        in-flight requests; when the shop class says a drain waits for
        sessions (the stateful shop), it also keeps serving the users pinned to
        it until their sessions end, or ``timeout`` seconds pass (by default the
        shop class's ``drain_timeout_s``); sessions still open then are lost.

        The result also says how many requests were in flight on the instance
        at the moment draining began (``in_flight_at_drain``, the balancer's
        count) and how many answers the instance sent from then until it
        stopped (``answered_while_draining``, its own count): what a drain is
        for is letting the requests already inside finish.

        With ``handoff=True`` it hands its sessions to its peers first instead
        (``handoff.py``), and the result also says what moved.
        """
        if handoff:
            return HandOff(self, name, timeout).run()
        instance = self.instance(name)
        if not instance.alive:
            return {"instance": name, "seconds": 0.0, "sessions_lost": 0}
        if timeout is None:
            timeout = self.shop_class.drain_timeout_s
        started = time.monotonic()
        self.balancer.set_draining(name)
        pooled = self.balancer.instance(name)
        in_flight = pooled.in_flight                 # no new request reaches it now; these are already inside
        answered_before = instance.stats["requests"]
        waits_for_sessions = self.shop_class.drain_waits_for_sessions

        def drained():
            return pooled.in_flight == 0 and (not waits_for_sessions or self.sessions_held(instance) == 0)

        wait_until(drained, timeout=timeout, interval=0.01)
        lost = self.sessions_held(instance)
        deadline = started + timeout
        instance.stop(timeout=max(0.1, deadline - time.monotonic()))
        seconds = time.monotonic() - started
        self.events.add(name, "drained", f"{name} drained in {seconds:.2f} s, {lost} sessions lost")
        return {"instance": name, "seconds": seconds, "sessions_lost": lost, "in_flight_at_drain": in_flight,
                "answered_while_draining": instance.stats["requests"] - answered_before}

    def add_instance(self, version=None, standby=False):
        """Start one more instance (by default of the cluster's current version); returns its name.

        ``standby=True`` keeps it out of rotation (the balancer knows it but sends it no new clients)
        until ``balancer.set_draining(name, False)``: a green waiting for its switch, a node being filled.
        """
        self._check_open()
        with self._lock:
            if len(self._instances) >= MAX_INSTANCES:
                raise InvalidArgumentError(f"a cluster holds at most {MAX_INSTANCES} instances")
            name = f"shop-{next(self._numbers)}"
        instance = Instance(self.new_app, name=name, version=version or self.version, workers=self.workers,
                            service_ms=self.service_ms, queue_limit=self.queue_limit, events=self.events).start()
        self.balancer.add_instance(name, instance.address, standby)   # first the balancer: status(name) works
        with self._lock:
            self._instances.append(instance)
        return name

    def remove_instance(self, name, drain=True, timeout=None):
        """Drain (or, with ``drain=False``, kill) an instance and forget it; returns the drain result."""
        instance = self.instance(name)
        result = self.drain(name, timeout) if drain else {"instance": name, "seconds": 0.0,
                                                          "sessions_lost": self.sessions_held(instance)}
        instance.kill()
        instance.close()
        self.balancer.remove_instance(name)
        with self._lock:
            self._instances.remove(instance)
        return result

    def scale(self, n, timeout=None):
        """Run exactly ``n`` live instances: start new ones, or drain and remove the newest.

        On a cluster built with ``rebalance=True`` the sessions whose owner on the
        ring changes are moved first, and the result is a ``RebalanceReport``.
        """
        self._check_open()
        require_int("n", n, 1, MAX_INSTANCES)
        if self.rebalance:
            return Rebalance(self, n, timeout).run()
        for instance in [i for i in self.instances if not i.alive]:
            self.remove_instance(instance.name, drain=False)
        results = []
        while len(self.instances) < n:
            self.add_instance()
        while len(self.instances) > n:
            results.append(self.remove_instance(self.instances[-1].name, timeout=timeout))
        return results

    # -- faults short of a crash (see engine/faults.py) --------------------------------
    def pause(self, name):
        """Freeze ``name`` as a long GC pause would: its sockets stay open, it reads and answers nothing
        until ``heal(name)``; requests already inside it wait. Its memory stays: a pause is not a crash."""
        self.instance(name).pause()

    def slow(self, name, ms):
        """Add ``ms`` milliseconds to every answer of ``name`` until ``heal(name)``; its health check stays green."""
        self.instance(name).slow(ms)

    def partition(self, name):
        """Cut the path between the balancer and ``name`` until ``heal(name)``; the process lives on.

        Connections from the balancer are refused (a firewall's reject rule), so
        the balancer takes it out as if it had crashed; a client that connects
        to ``instance.url`` directly still gets answers, from a memory that is intact.
        """
        self.instance(name)                      # unknown names are refused the same way as elsewhere
        self.balancer.partition(name)

    def heal(self, name):
        """Undo every fault on ``name`` (pause, slow, partition); idempotent. The health checks readmit it."""
        self.instance(name).heal()
        self.balancer.heal(name)

    def faults(self, name):
        """The faults in force on ``name`` and on the path to it (``engine.faults`` objects), e.g. ``[Paused()]``."""
        return self.instance(name).faults() + self.balancer.faults(name)

    # -- deploys (see deploys.py) ----------------------------------------------------------
    def rolling_deploy(self, version, drain=True, timeout=None):
        return deploys.rolling(self, version, drain=drain, timeout=timeout)

    def blue_green(self, version, timeout=None, sync_state=False):
        return deploys.blue_green(self, version, timeout=timeout, sync_state=sync_state)

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
        require_int("users", users, 1, 200)
        require_number("think_ms", think_ms, 0, unit="milliseconds")
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

    def _close(self):
        """Stop everything this cluster started (``close()``, safe to call twice, runs it once)."""
        self.stop_traffic()
        for person in self._users:
            person.close()
        self.balancer.close()
        for instance in self.instances:
            instance.kill()
            instance.close()
        if self.cache is not None and self.cache is not self.database:
            self.cache.close()
        if self.database is not None:
            self.database.close()
        if self.redis is not None:
            self.redis.close()
