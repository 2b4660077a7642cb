"""The load balancer: a real reverse proxy in front of the instances.

Clients only ever talk to the balancer. For each request it asks its policy
(``policies.py``) for a healthy instance, forwards the request over a pooled
keep-alive connection, and relays the answer, ``X-Instance`` included, so
the learner sees who served it. Three habits of real balancers matter to
the lessons:

* **Health checks.** Every ``health_interval`` seconds it asks each instance
  for ``/health``; an instance that fails is taken out of rotation and put back
  when it answers again. A refused connection takes it out at once (passive
  detection).
* **Safe retries.** If an instance could not be reached, the request was never
  sent, so it is retried on another instance. If the instance died *after*
  receiving the request, the outcome is unknown: only an idempotent request
  (GET, PUT, DELETE, or a POST with an ``Idempotency-Key``) is retried;
  anything else gets a 502 that says the outcome is unknown.
* **Draining.** A draining instance gets no new clients; clients its policy
  pins to it (a sticky cookie) keep reaching it until their sessions end.

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
import http.client
import random
import socket
import threading
import time

from ..errors import InvalidArgumentError, UnknownInstanceError
from .application import Application
from .events import EventLog
from .forwarding import Upstream, copy_both_ways, tunnel_bytes
from .http1 import BadMessage
from .instance import Instance, Response
from .lifecycle import Closable
from .policies import make_policy

__all__ = ["Balancer", "PooledInstance"]

IDEMPOTENT_METHODS = {"GET", "HEAD", "PUT", "DELETE", "OPTIONS"}
UNHEALTHY_AFTER = 2           # consecutive failed health checks before an instance is taken out


class _NotSent(Exception):
    """The request never reached the instance: retrying elsewhere is always safe."""


class _NoAnswer(Exception):
    """The instance received the request and died before answering: the outcome is unknown."""


class PooledInstance:
    """One instance as the balancer sees it: address, health, load, and a pool of idle connections."""

    def __init__(self, name, address, timeout):
        self.name = name
        self.address = address
        self.timeout = timeout
        self.status = "up"                 # up | down | draining
        self.in_flight = 0
        self.requests = 0
        self.failures = 0
        self.down_since = None
        self.failed_checks = 0
        self._idle = []
        self._lock = threading.Lock()

    def connection(self):
        """An idle pooled ``Upstream`` that still looks alive, or a new one (``_NotSent`` if refused)."""
        while True:
            with self._lock:                       # the lock guards the list only: checking a socket waits on the OS
                conn = self._idle.pop() if self._idle else None
            if conn is None:
                break
            if not conn.closed_by_peer():
                return conn
            conn.close()
        try:
            return Upstream(self.address, self.timeout)
        except OSError as exc:
            raise _NotSent(f"{self.name} refused the connection ({exc.__class__.__name__})") from None

    def give_back(self, conn):
        with self._lock:
            self._idle.append(conn)

    def close_connections(self):
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()

    def __repr__(self):
        return f"<PooledInstance {self.name} {self.status} in_flight={self.in_flight}>"


class Balancer(Closable, Application):
    """A reverse proxy with a policy, health checks, safe retries and draining.

    For callers: ``start``, ``close``, ``url``, ``add_instance``,
    ``remove_instance``, ``set_address``, ``set_draining``, ``instances``,
    ``set_canary``. Its HTTP side is ``handle(request, own_instance)``.
    ``instance_noun`` names what it balances in its error messages ("no
    healthy game server"); ``policy`` is a name or a ``Policy`` object.
    """

    not_state = {"server": "the instance this balancer runs on", "events": "the shared event log",
                 "_lock": "a lock", "_stop": "a stop signal", "_checker": "the health-check thread",
                 "_canary_rng": "a random generator", "health_interval": "configuration",
                 "timeout": "configuration", "instance_noun": "configuration"}

    def __init__(self, policy="round_robin", seed=0, health_interval=0.2, timeout=10.0,
                 name="balancer", events=None, instance_noun="instance"):
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
        self._canary = None               # (set of instance names, fraction of traffic)
        self._canary_rng = random.Random(seed)
        self._stop = threading.Event()
        self._checker = None

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
    def add_instance(self, name, address):
        with self._lock:
            self._pool[name] = PooledInstance(name, address, self.timeout)
        self.events.add("balancer", "instance", f"{name} added to the balancer")

    def remove_instance(self, name):
        with self._lock:
            instance = self._pool.pop(name, None)
        if instance is not None:
            instance.close_connections()
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

    def set_canary(self, names, percent):
        """Send ``percent`` % of new requests to the instances in ``names``; ``names=None`` ends it."""
        if names is None:
            self._canary = None
            return
        if not 0 <= percent <= 100:
            raise InvalidArgumentError(f"percent must be between 0 and 100, not {percent!r}")
        self._canary = (set(names), percent / 100.0)

    def instance(self, name):
        with self._lock:
            if name not in self._pool:
                raise UnknownInstanceError(name, self._pool)
            return self._pool[name]

    def instances(self):
        with self._lock:
            return list(self._pool.values())

    # -- choosing ----------------------------------------------------------------
    def _candidates(self, request, exclude):
        serving = [i for i in self.instances() if i.name not in exclude and i.status in ("up", "draining")]
        pinned = self.policy.pinned(serving, request)
        if pinned is not None:
            return [pinned]          # a pinned client keeps its instance, even a draining one: its session is there
        ready = [i for i in serving if i.status == "up"]
        if self._canary and ready:
            names, fraction = self._canary
            to_canary = self._canary_rng.random() < fraction
            group = [i for i in ready if (i.name in names) == to_canary]
            ready = group or ready
        return ready

    @contextlib.contextmanager
    def _reserve(self, request, exclude):
        """``with self._reserve(request, tried) as instance:`` the request is in flight on ``instance`` inside.

        Choosing the instance and counting the request happen under one lock, so
        once ``set_draining`` returns no request can still be on its way to that
        instance uncounted; the count goes down when the block ends, however it
        ends (answered, failed, tunnel closed). These are the only two places
        ``in_flight`` changes, so a drain that waits for ``in_flight == 0``
        really has nothing left to wait for. ``instance`` is None when no
        instance can take the request.
        """
        with self._lock:
            instance = self.policy.choose(self._candidates(request, exclude), request)
            if instance is not None:
                instance.in_flight += 1
                instance.requests += 1
        try:
            yield instance
        finally:
            if instance is not None:
                with self._lock:
                    instance.in_flight -= 1

    def _mark_down(self, instance, why):
        if instance.status == "up":
            instance.status = "down"
            instance.down_since = time.monotonic()
            self.events.add("balancer", "down", f"{instance.name} taken out of rotation ({why})")
        instance.close_connections()

    # -- the HTTP side -------------------------------------------------------------
    def handle(self, request, own_instance):   # own_instance is self.server; the instances it forwards to are below
        if (request.headers.get("Upgrade") or "").lower() == "websocket":
            return self._tunnel(request)
        safe = request.method in IDEMPOTENT_METHODS or bool(request.headers.get("Idempotency-Key"))
        tried = []
        maybe_applied = False                       # did any attempt reach an instance that then died?
        while True:
            with self._reserve(request, tried) as instance:
                if instance is None:
                    why = (f"no healthy {self.instance_noun}" if not tried
                           else f"tried {', '.join(tried)}; none could answer")
                    if maybe_applied:
                        return Response(502, {"error": f"{why}; an earlier attempt may have been applied",
                                              "outcome": "unknown"})
                    return Response(503, {"error": f"{why}; the service is unavailable",
                                          "outcome": "not_processed"}, headers={"Retry-After": "1"})
                tried.append(instance.name)
                try:
                    response = self._forward(instance, request)
                except _NotSent as exc:
                    self._mark_down(instance, str(exc))
                    continue
                except _NoAnswer:
                    self._mark_down(instance, "connection lost mid-request")
                    maybe_applied = True
                    if safe:
                        continue
                    return Response(502, {"error": f"{instance.name} died while handling this request; it may or "
                                                   "may not have been applied. Send an Idempotency-Key to make "
                                                   "retries safe.", "outcome": "unknown"})
            for key, value in self.policy.response_headers(request, instance).items():
                response.headers.setdefault(key, [])
                response.headers[key].append(value)
            if len(tried) > 1:
                response.headers["X-Retried-From"] = ", ".join(tried[:-1])
            return response

    def _forward(self, instance, request):
        """Pass ``request`` on over a pooled connection; ``_NotSent`` or ``_NoAnswer`` if that fails."""
        upstream = instance.connection()
        try:
            response = upstream.exchange(request)
        except (OSError, BadMessage):
            upstream.close()
            with self._lock:
                instance.failures += 1
            raise _NoAnswer() from None
        if upstream.reusable:
            instance.give_back(upstream)
        else:
            upstream.close()
        return response

    def _tunnel(self, request):
        """Pass a WebSocket upgrade to one instance, then copy bytes both ways until one side closes."""
        with self._reserve(request, []) as instance:
            if instance is None:
                return Response(503, {"error": f"no healthy {self.instance_noun}"})
            try:
                upstream = socket.create_connection(instance.address, timeout=self.timeout)
            except OSError:
                self._mark_down(instance, "refused a WebSocket connection")
                return Response(503, {"error": f"{instance.name} is unreachable; try again"})
            with upstream:
                upstream.sendall(tunnel_bytes(request, "%s:%d" % instance.address))
                copy_both_ways(request.client, upstream, self._stop)
        return None                               # the connection was used up by the tunnel

    # -- health checks --------------------------------------------------------------
    def _health_loop(self):
        while not self._stop.wait(self.health_interval):
            for instance in self.instances():
                if instance.status == "draining":
                    continue
                healthy = _probe(instance.address, timeout=1.0)
                instance.failed_checks = 0 if healthy else instance.failed_checks + 1
                if healthy and instance.status == "down":
                    instance.status = "up"
                    instance.down_since = None
                    self.events.add("balancer", "up", f"{instance.name} healthy again, back in rotation")
                elif instance.failed_checks >= UNHEALTHY_AFTER:
                    self._mark_down(instance, f"failed {UNHEALTHY_AFTER} health checks in a row")


def _probe(address, timeout):
    """One health check: does GET /health answer 200?"""
    conn = http.client.HTTPConnection(*address, timeout=timeout)
    try:
        conn.request("GET", "/health", headers={"Connection": "close"})
        return conn.getresponse().status == 200
    except (OSError, http.client.HTTPException):
        return False
    finally:
        conn.close()
