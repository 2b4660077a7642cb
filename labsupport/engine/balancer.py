"""The load balancer: a real reverse proxy in front of the instances.

Clients only ever talk to the balancer. For each request it asks its policy
(``policies.py``) for a healthy instance, forwards the request over a pooled
keep-alive connection (``pool.py``), and relays the answer, ``X-Instance``
included, so the learner sees who served it. The habits of real balancers
that matter to the lessons:

* **Health checks** (``health.py``). Every ``health_interval`` seconds it asks
  each instance for ``/health``; an instance that fails is taken out of
  rotation and put back when it answers again. A refused connection takes it
  out at once (passive detection). ``set_health_check("/health/live")`` asks
  for liveness instead of readiness (chapter 04).
* **Safe retries** (``attempts.py``). If an instance could not be reached, the
  request was never sent, so it is retried on another instance. If the
  instance died *after* receiving the request, the outcome is unknown: only an
  idempotent request (GET, PUT, DELETE, or a POST with an ``Idempotency-Key``)
  is retried; anything else gets a 502 that says the outcome is unknown.
* **Draining.** A draining instance gets no new clients; clients its policy
  pins to it (a sticky cookie) keep reaching it until their sessions end.
* **Sessions that moved** (chapters 02 and 06). An instance that handed a
  session to a peer answers ``421`` with ``X-Moved-To``, and the balancer
  follows it once (``_follow_move``); after the hand-off its forwarding table,
  ``moved`` (``moved.py``), sends the session's requests to the new owner.
* **Defences against gray failure** (``defences.py``, chapter 06): request
  timeouts, retries with a budget, outlier ejection and failing open, each off
  until ``defend(...)`` switches it on. ``partition(name)`` cuts the
  balancer's path to one instance while its process lives (``faults.py``) and
  ``heal(name)`` mends it.

The balancer never asks which policy it holds: it calls the policy's
``pinned``, ``choose`` and ``response_headers`` (``policies.py``), so a policy
of your own works the same way. It is itself an ``Application``, run by an
``Instance`` like any other server.

WebSocket upgrades are passed through: the balancer picks an instance once
and then copies bytes both ways until either side closes (chapter 05). How
one request is written on and its answer read back is in ``forwarding.py``.

Every request is counted *in flight* on the instance it was sent to, from the
moment the instance is chosen until its answer is back (or the tunnel closes):
``least_connections`` reads that count, and a drain waits for it to reach 0.
Both changes happen in one place, the ``_reserve`` context manager.
"""

import contextlib
import itertools
import random
import threading
import time

from ..errors import InvalidArgumentError, UnknownInstanceError
from .application import Application
from .attempts import Attempts
from .defences import Defences
from .events import EventLog
from .forwarding import copy_both_ways, tunnel_bytes
from .health import UNHEALTHY_AFTER, HealthCheck
from .instance import Instance, Response
from .lifecycle import Closable
from .moved import MovedSessions, moved_to, not_followed
from .policies import SplitByRequest, make_policy
from .pool import NoAnswer, NotSent, PooledInstance, TimedOut
from .waiting import wait_until

# PooledInstance is re-exported: it is what instance()/instances() hand out.
__all__ = ["Balancer", "PooledInstance"]


class Balancer(Closable, Application):
    """A reverse proxy with a policy, health checks, safe retries and draining.

    For callers: ``start``, ``close``, ``url``, ``add_instance``,
    ``remove_instance``, ``set_address``, ``set_draining``, ``instances``,
    ``set_canary``, ``repin``, ``settle``; ``set_health_check``, ``defend``,
    ``defence_stats`` and ``in_rotation`` (health.py, defences.py);
    ``partition``, ``heal`` and ``faults`` (the path to one instance). Its HTTP
    side is ``handle(request, own_instance)``. ``instance_noun`` names what it
    balances in its error messages ("no healthy game server"); ``policy`` is a
    name or a ``Policy`` object; ``session_key(request)`` returns the key of
    the session a request belongs to (None: the balanced service has no
    sessions to move).
    """

    not_state = {"server": "the instance this balancer runs on", "events": "the shared event log",
                 "_lock": "a lock", "_stop": "a stop signal", "_checker": "the health-check thread",
                 "_canary_rng": "a random generator", "_tickets": "a counter", "health_interval": "configuration",
                 "timeout": "configuration", "instance_noun": "configuration", "defences": "configuration",
                 "health_check": "configuration"}

    def __init__(self, policy="round_robin", seed=0, health_interval=0.2, timeout=10.0,
                 name="balancer", events=None, instance_noun="instance", session_key=None):
        if health_interval <= 0:
            raise InvalidArgumentError(f"health_interval must be > 0 seconds, not {health_interval!r}")
        self.policy = make_policy(policy, seed)
        self.instance_noun = instance_noun
        self.health_interval = health_interval
        self.timeout = timeout
        self.events = events if events is not None else EventLog()
        self.server = Instance(lambda: self, name=name, workers=512, queue_limit=4096, identity=False,
                             events=self.events)
        self._pool = {}               # name -> PooledInstance, in the order they were added
        self._lock = threading.RLock()
        self._canary = None               # (set of instance names, CanarySplit)
        self.moved = MovedSessions(session_key)   # sessions handed to another instance (see repin)
        self._tickets = itertools.count()         # every reservation gets the next number...
        self._open = set()                        # ...kept here until its request is answered (see settle)
        self._canary_rng = random.Random(seed)
        self._stop = threading.Event()
        self._checker = None
        self.health_check = HealthCheck()          # what the health checks ask: /health (set_health_check)
        self.defences = Defences(self.events)      # all off until defend(...) switches them on

    # -- lifecycle -------------------------------------------------------------
    @property
    def url(self):
        return self.server.url

    def start(self):
        self.server.start()
        self._stop.clear()
        self._checker = threading.Thread(target=self._health_loop, name="balancer-health", daemon=True)
        self._checker.start()
        self._opened()
        return self

    def _close(self):
        self._stop.set()
        if self._checker is not None:
            self._checker.join()
        self.server.close()
        for instance in self.instances():
            instance.close_connections()

    # -- the instance list ------------------------------------------------------
    def add_instance(self, name, address, standby=False):
        """Put an instance in the pool; ``standby=True`` adds it draining: known, but given no new clients yet."""
        with self._lock:
            self._pool[name] = PooledInstance(name, address, self._attempt_timeout())
            if standby:
                self._pool[name].status = "draining"
        self.events.add("balancer", "instance", f"{name} added to the balancer" + (" (standby)" if standby else ""))

    def remove_instance(self, name):
        with self._lock:
            instance = self._pool.pop(name, None)
        if instance is not None:
            instance.close_connections()
            self.defences.outliers.forget(name)
            self.events.add("balancer", "instance", f"{name} removed from the balancer")

    def set_address(self, name, address):
        """A restarted instance may have a new address; old pooled connections are dropped."""
        instance = self.instance(name)
        instance.close_connections()
        instance.address = address
        instance.status = "up"
        instance.down_since = None

    def set_draining(self, name, draining=True):
        with self._lock:                          # no request can be choosing this instance meanwhile
            instance = self.instance(name)
            instance.status = "draining" if draining else "up"

    def set_canary(self, names, percent, split=SplitByRequest):
        """Send ``percent`` % of new clients to the instances in ``names``; ``names=None`` ends it.

        ``split`` is a ``CanarySplit`` class: which clients make up the percentage
        (every request drawn afresh, or whole users; see ``policies.py``).
        """
        if names is None:
            self._canary = None
            return
        if not 0 <= percent <= 100:
            raise InvalidArgumentError(f"percent must be between 0 and 100, not {percent!r}")
        self._canary = (set(names), split(percent / 100.0, self._canary_rng))

    def repin(self, moves):
        """Sessions were handed to other instances: ``moves`` maps each session key to its new instance.

        From now on a request of one of these sessions goes to its new instance
        (while that one serves), whatever the policy or a sticky cookie says.
        """
        with self._lock:
            self.moved.repin(moves, known=set(self._pool))

    def settle(self, timeout=10.0):
        """Wait until every request routed before this call has been answered; True if all were in time.

        A routing change (draining, a new ring, a repin) applies to the next
        request at once, but requests already on their way were routed the old
        way. ``settle()`` says when the last of those is done, as nginx's old
        workers finish their requests after a configuration reload.
        """
        with self._lock:
            mark = next(self._tickets)

        def routed_before_all_done():
            with self._lock:
                return min(self._open, default=mark) >= mark

        return wait_until(routed_before_all_done, timeout=timeout, interval=0.001)

    def instance(self, name):
        with self._lock:
            if name not in self._pool:
                raise UnknownInstanceError(name, self._pool)
            return self._pool[name]

    def instances(self):
        with self._lock:
            return list(self._pool.values())

    # -- health checks and defences (health.py, defences.py) ----------------------------
    def set_health_check(self, path=None, timeout_s=None):
        """What a health check asks (e.g. "/health/live" for liveness only) and how long it waits for the answer."""
        self.health_check.configure(path, timeout_s)

    def defend(self, **settings):
        """Switch defences on or off; settings not named stay as they are. Returns the ``Defences``.

        ``request_timeout_s`` (seconds, or None for off), ``retry_timeouts``
        (True: retry a safe request that timed out on another instance),
        ``retry_budget`` (a share such as 0.2, a ``RetryBudget``, or None for
        unlimited), ``outlier_ejection`` (True, an ``OutlierEjection``, or False),
        ``fail_open`` (a panic threshold such as 0.5, a ``FailOpen``, or False).
        """
        self.defences.update(**settings)
        if "request_timeout_s" in settings:
            for instance in self.instances():     # new connections wait as long as the new setting says
                instance.timeout = self._attempt_timeout()
                instance.close_connections()
        return self.defences

    def defence_stats(self):
        """What the defences did, plus the timeouts counted on each instance."""
        stats = self.defences.stats()
        stats["timeouts"] = sum(instance.timeouts for instance in self.instances())
        return stats

    def _attempt_timeout(self):
        """How long one attempt may wait for an instance: the request timeout when it is on."""
        return self.defences.request_timeout_s or self.timeout

    def in_rotation(self):
        """Names of the instances a new client may be sent to now (healthy and not ejected, or all: failing open)."""
        with self._lock:
            pool, _ = self.defences.pool(self.instances())
        return [i.name for i in pool]

    # -- faults on the path to an instance (faults.py) ------------------------------
    def partition(self, name):
        """Cut the path to ``name``: connections to it are rejected, as a firewall rule would. Idempotent.

        The instance's process is untouched and still answers anyone else; the
        balancer sees what it sees after a crash and takes it out of rotation.
        """
        instance = self.instance(name)
        if instance.partitioned:
            return
        instance.partitioned = True
        instance.close_connections()
        self.events.add("balancer", "partition", f"path to {name} cut (network partition)")

    def heal(self, name):
        """Mend the path to ``name``; the health checks put it back in rotation. Idempotent."""
        instance = self.instance(name)
        if not instance.partitioned:
            return
        instance.partitioned = False
        self.events.add("balancer", "heal", f"path to {name} mended")

    def faults(self, name):
        """The faults on the path to ``name`` (``[Partitioned()]`` or nothing)."""
        return self.instance(name).faults()

    # -- choosing ----------------------------------------------------------------
    def _candidates(self, request, exclude):
        """The instances this request may go to: the one it is pinned to, or those open to new clients.

        A session that moved (``moved``) or a client its policy pins (a sticky
        cookie, a hash) keeps its instance while that instance serves, even a
        draining or ejected one: its session is there. Everyone else may go to
        the instances the defences allow (healthy and not ejected, or all of
        them while failing open), narrowed to one side of a canary split.
        """
        serving = [i for i in self.instances() if i.name not in exclude and i.status in ("up", "draining")]
        pinned = self.moved.instance_for(serving, request) or self.policy.pinned(serving, request)
        if pinned is not None:
            return [pinned]
        ready = self.defences.for_new_client(self.instances(), exclude)
        if self._canary and ready:
            names, split = self._canary
            to_canary = split.to_canary(request)
            group = [i for i in ready if (i.name in names) == to_canary]
            ready = group or ready
        return ready

    @contextlib.contextmanager
    def _reserve(self, request, exclude, target=None):
        """``with self._reserve(request, tried) as instance:`` the request is in flight on ``instance`` inside.

        Choosing the instance and counting the request happen under one lock, so
        once ``set_draining`` returns no request can still be on its way to that
        instance uncounted; the count goes down when the block ends, however it
        ends (answered, failed, tunnel closed). These are the only two places
        ``in_flight`` changes, so a drain that waits for ``in_flight == 0``
        really has nothing left to wait for. ``instance`` is None when no
        instance can take the request. ``target`` names the instance to use instead
        of asking the policy (a "moved to" answer being followed), if it serves.
        Each reservation also holds a ticket until it ends, which ``settle`` waits for.
        """
        with self._lock:
            if target is not None:
                instance = self._pool.get(target)
                instance = instance if instance is not None and instance.status in ("up", "draining") else None
            else:
                instance = self.policy.choose(self._candidates(request, exclude), request)
            if instance is not None:
                instance.in_flight += 1
                instance.requests += 1
                ticket = next(self._tickets)
                self._open.add(ticket)
        try:
            yield instance
        finally:
            if instance is not None:
                with self._lock:
                    instance.in_flight -= 1
                    self._open.discard(ticket)

    def _mark_down(self, instance, why):
        if instance.status == "up":
            instance.status = "down"
            instance.down_since = time.monotonic()
            self.events.add("balancer", "down", f"{instance.name} taken out of rotation ({why})")
        instance.close_connections()

    # -- the HTTP side -------------------------------------------------------------
    def handle(self, request, own_instance):   # own_instance is self.server; the instances it forwards to are below
        """Try instances until one answers or retrying is no longer safe (``attempts.py``), then relay the answer.

        An answer that says the session moved to another instance is followed
        once (``_follow_move``); the policy then adds its headers (a sticky
        cookie naming the instance that answered).
        """
        if (request.headers.get("Upgrade") or "").lower() == "websocket":
            return self._tunnel(request)
        attempts = Attempts(request, self.defences.retries, self.defences.retry_timeouts)
        while True:
            with self._reserve(request, attempts.tried) as instance:
                if instance is None:
                    return attempts.nowhere_left(self.instance_noun)
                if not attempts.start(instance.name):          # a retry, and the budget is spent
                    return attempts.failure
                try:
                    response = self._send(instance, request)
                    break
                except NotSent as exc:
                    self._mark_down(instance, str(exc))
                    retry = attempts.not_sent(exc)
                except TimedOut:                                # slow is not dead: it stays in rotation
                    retry = attempts.timed_out(instance.name, instance.timeout)
                except NoAnswer:
                    self._mark_down(instance, "connection lost mid-request")
                    retry = attempts.no_answer(instance.name)
            if not retry:
                return attempts.failure
        new_owner = moved_to(response)
        if new_owner is not None:
            response, instance = self._follow_move(request, new_owner, instance, attempts)
        for key, value in self.policy.response_headers(request, instance).items():
            response.headers.setdefault(key, [])
            response.headers[key].append(value)
        return attempts.answered(response)

    def _send(self, instance, request):
        """One attempt: forward ``request`` to ``instance`` and tell the defences how it went.

        Outlier ejection learns from every outcome: the time it took, and
        whether it failed (a 5xx answer, a timeout, no answer at all).
        """
        started = time.perf_counter()
        try:
            response = instance.forward(request)
        except (NotSent, NoAnswer):
            self._note_outcome(instance, started, failed=True)
            raise
        self._note_outcome(instance, started, failed=response.status >= 500)
        return response

    def _note_outcome(self, instance, started, failed):
        self.defences.note(instance.name, (time.perf_counter() - started) * 1000, failed, len(self._pool))

    def _follow_move(self, request, name, first, attempts):
        """``first`` answered "moved to ``name``" and applied nothing: send the request there, once.

        Returns (answer, the instance that gave it). When ``name`` cannot take
        the request, or says it moved on again, the answer is a 503 the client
        may retry (nothing was applied); when ``name`` times out or dies while
        answering, the outcome is unknown, as in ``handle``. Following a move is
        not a retry: the retry budget is not asked.
        """
        with self._reserve(request, [], target=name) as instance:
            if instance is None:
                return not_followed(first.name, name), first
            attempts.follow(instance.name)
            try:
                response = self._send(instance, request)
            except NotSent:
                return not_followed(first.name, name), first
            except TimedOut:
                attempts.timed_out(name, instance.timeout)
                return attempts.failure, first
            except NoAnswer:
                self._mark_down(instance, "connection lost mid-request")
                if attempts.no_answer(name):            # safe to repeat: the client may simply try again
                    return not_followed(first.name, name), first
                return attempts.failure, first
        if moved_to(response) is not None:
            return not_followed(first.name, name), first
        self.moved.count_followed()
        return response, instance

    def _tunnel(self, request):
        """Pass a WebSocket upgrade to one instance, then copy bytes both ways until one side closes."""
        with self._reserve(request, []) as instance:
            if instance is None:
                return Response(503, {"error": f"no healthy {self.instance_noun}"})
            try:
                upstream = instance.open_socket(self.timeout)
            except NotSent as exc:
                self._mark_down(instance, str(exc))
                return Response(503, {"error": f"{instance.name} is unreachable; try again"})
            with upstream:
                upstream.sendall(tunnel_bytes(request, "%s:%d" % instance.address))
                copy_both_ways(request.client, upstream, self._stop)
        return None                               # the connection was used up by the tunnel

    # -- health checks (health.py) ----------------------------------------------------
    def _health_loop(self):
        while not self._stop.wait(self.health_interval):
            for name in self.defences.outliers.readmit():
                self.events.add("balancer", "readmit", f"{name} back in rotation after its cool-off")
            for instance in self.instances():
                if instance.status == "draining":
                    continue
                healthy = self.health_check.passes(instance)
                instance.failed_checks = 0 if healthy else instance.failed_checks + 1
                if healthy and instance.status == "down":
                    instance.status = "up"
                    instance.down_since = None
                    self.events.add("balancer", "up", f"{instance.name} healthy again, back in rotation")
                elif instance.failed_checks >= UNHEALTHY_AFTER:
                    self._mark_down(instance, f"failed {UNHEALTHY_AFTER} health checks in a row")
