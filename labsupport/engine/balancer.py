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

Health checks only see what they ask about. ``set_health_check(path)`` says
which endpoint: the shop's ``/health`` is a *readiness* check that includes its
database and cache, so one shared outage fails every instance at once;
``/health/live`` is a *liveness* check (the process answers) that no shared
dependency can fail (chapter 04). Against gray failure (a slow instance passes
its health check) the balancer has the defences of ``defences.py``: request
timeouts, retries with a budget, outlier ejection and failing open, each off
until ``defend(...)`` switches it on (chapter 06). ``partition(name)`` cuts the
balancer's path to one instance while the process lives (``faults.py``) and
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
import http.client
import random
import socket
import threading
import time

from ..checks import require_number
from ..errors import InvalidArgumentError, UnknownInstanceError
from .application import Application
from .defences import Defences
from .events import EventLog
from .forwarding import copy_both_ways, tunnel_bytes
from .http1 import BadMessage
from .instance import Instance, Response
from .lifecycle import Closable
from .policies import make_policy
from .pool import NotSent, PooledInstance

# PooledInstance is re-exported: it is what instance()/instances() hand out.
__all__ = ["Balancer", "PooledInstance"]

IDEMPOTENT_METHODS = {"GET", "HEAD", "PUT", "DELETE", "OPTIONS"}
UNHEALTHY_AFTER = 2           # consecutive failed health checks before an instance is taken out


class _NoAnswer(Exception):
    """The instance received the request and died before answering: the outcome is unknown."""


class _TimedOut(_NoAnswer):
    """The instance has the request and did not answer in time: maybe it is slow, maybe it will do it later."""


class Balancer(Closable, Application):
    """A reverse proxy with a policy, health checks, safe retries and draining.

    For callers: ``start``, ``close``, ``url``, ``add_instance``,
    ``remove_instance``, ``set_address``, ``set_draining``, ``instances``,
    ``set_canary``; ``set_health_check``, ``defend``, ``defence_stats`` and
    ``in_rotation`` (defences.py); ``partition``, ``heal`` and ``faults`` (the path to one
    instance). Its HTTP side is ``handle(request, own_instance)``.
    ``instance_noun`` names what it balances in its error messages ("no
    healthy game server"); ``policy`` is a name or a ``Policy`` object.
    """

    not_state = {"server": "the instance this balancer runs on", "events": "the shared event log",
                 "_lock": "a lock", "_stop": "a stop signal", "_checker": "the health-check thread",
                 "_canary_rng": "a random generator", "health_interval": "configuration",
                 "timeout": "configuration", "instance_noun": "configuration", "defences": "configuration",
                 "health_path": "configuration", "health_timeout_s": "configuration"}

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
        self.defences = Defences(self.events)      # all off until defend(...) switches them on
        self.health_path = "/health"      # what a health check asks (set_health_check)
        self.health_timeout_s = 1.0       # how long a health check waits for its answer

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
            self._pool[name] = PooledInstance(name, address, self._attempt_timeout())
        self.events.add("balancer", "instance", f"{name} added to the balancer")

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

    # -- health checks and defences (defences.py) ----------------------------------
    def set_health_check(self, path=None, timeout_s=None):
        """What a health check asks (e.g. "/health/live" for liveness only) and how long it waits for the answer."""
        if path is not None:
            if not isinstance(path, str) or not path.startswith("/"):
                raise InvalidArgumentError(f"path must be a path such as '/health', not {path!r}")
            self.health_path = path
        if timeout_s is not None:
            self.health_timeout_s = require_number("timeout_s", timeout_s, 0, 60, allow_minimum=False,
                                                   unit="seconds")

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

    def _note_outcome(self, instance, started, failed):
        """Tell the defences how one attempt went (outlier ejection learns from it)."""
        self.defences.note(instance.name, (time.perf_counter() - started) * 1000, failed, len(self._pool))

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
        serving = [i for i in self.instances() if i.name not in exclude and i.status in ("up", "draining")]
        pinned = self.policy.pinned(serving, request)
        if pinned is not None:
            return [pinned]          # a pinned client keeps its instance, even a draining one: its session is there
        ready = self.defences.for_new_client(self.instances(), exclude)    # healthy, not ejected (defences.py)
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
        failure = None                              # what the client gets if the last attempt is not retried
        self.defences.retries.deposit()             # every request earns a share of a retry (with a budget)
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
                if tried and not self.defences.retries.withdraw():
                    failure.body["error"] += "; not retried: the balancer's retry budget is spent"
                    return failure
                tried.append(instance.name)
                started = time.perf_counter()
                try:
                    response = self._forward(instance, request)
                except NotSent as exc:
                    self._mark_down(instance, str(exc))
                    self._note_outcome(instance, started, failed=True)
                    failure = Response(503, {"error": f"{exc}; nothing was applied", "outcome": "not_processed"},
                                       headers={"Retry-After": "1"})
                    continue
                except _TimedOut:
                    self._note_outcome(instance, started, failed=True)
                    maybe_applied = True
                    failure = Response(504, {"error": f"{instance.name} did not answer within "
                                                    f"{self._attempt_timeout():g} s; it may still apply this "
                                                    "request later", "outcome": "unknown"})
                    if safe and self.defences.retry_timeouts:
                        continue
                    return failure
                except _NoAnswer:
                    self._mark_down(instance, "connection lost mid-request")
                    self._note_outcome(instance, started, failed=True)
                    maybe_applied = True
                    failure = Response(502, {"error": f"{instance.name} died while handling this request; it may or "
                                                      "may not have been applied. Send an Idempotency-Key to make "
                                                      "retries safe.", "outcome": "unknown"})
                    if safe:
                        continue
                    return failure
                self._note_outcome(instance, started, failed=response.status >= 500)
            for key, value in self.policy.response_headers(request, instance).items():
                response.headers.setdefault(key, [])
                response.headers[key].append(value)
            if len(tried) > 1:
                response.headers["X-Retried-From"] = ", ".join(tried[:-1])
            return response

    def _forward(self, instance, request):
        """Pass ``request`` on over a pooled connection; ``NotSent``, ``_TimedOut`` or ``_NoAnswer`` if that fails."""
        upstream = instance.connection()
        try:
            response = upstream.exchange(request)
        except TimeoutError:
            upstream.close()                        # its answer may still come: this connection cannot be reused
            with self._lock:
                instance.failures += 1
                instance.timeouts += 1
            raise _TimedOut() from None
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
            for name in self.defences.outliers.readmit():
                self.events.add("balancer", "readmit", f"{name} back in rotation after its cool-off")
            for instance in self.instances():
                if instance.status == "draining":
                    continue
                healthy = not instance.partitioned and _probe(instance.address, self.health_path,
                                                              self.health_timeout_s)
                instance.failed_checks = 0 if healthy else instance.failed_checks + 1
                if healthy and instance.status == "down":
                    instance.status = "up"
                    instance.down_since = None
                    self.events.add("balancer", "up", f"{instance.name} healthy again, back in rotation")
                elif instance.failed_checks >= UNHEALTHY_AFTER:
                    self._mark_down(instance, f"failed {UNHEALTHY_AFTER} health checks in a row")


def _probe(address, path, timeout):
    """One health check: does ``GET path`` answer 200 within ``timeout`` seconds?"""
    conn = http.client.HTTPConnection(*address, timeout=timeout)
    try:
        conn.request("GET", path, headers={"Connection": "close"})
        return conn.getresponse().status == 200
    except (OSError, http.client.HTTPException):
        return False
    finally:
        conn.close()
