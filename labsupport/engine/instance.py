"""A real HTTP server instance: the unit you start, crash, drain and replace.

Every shop instance (and the load balancer) is one of these: an HTTP/1.1
server (``listener.py``), listening on 127.0.0.1 on a port the OS picks,
serving each connection in its own daemon thread. What
makes it a *lab* server is its lifecycle, which is the subject of the course:

* ``stop()`` is a graceful shutdown (draining): refuse new requests, let the
  in-flight ones finish, then close. Nobody notices.
* ``kill()`` is a crash: the listener and every open connection close at once
  and whatever the application kept in memory is thrown away.
* ``restart()`` brings up a *fresh* application object, as a new process would.

The capacity model makes scaling visible on a two-core laptop: an instance
serves at most ``workers`` requests at once and spends ``service_ms`` on each
(a sleep, so it does not hold the GIL); extra requests wait in a queue, and
past ``queue_limit`` waiting requests the instance answers 503.

Faults short of a crash (``faults.py``) live here too: ``pause()`` freezes the
instance (every thread stops at a gate, ``hold()``, before it reads a request
and before it answers), ``slow(ms)`` adds latency to every answer, and
``heal()`` undoes both. A paused instance keeps its memory: a pause is not a
crash.

The application is an ``Application`` (``application.py``): the instance calls
its ``handle(request, instance)`` for every request, asks it ``held_state()``
when you do, and calls its ``close()`` after a graceful stop. Chapter 01
onwards uses it; chapter 06 reads its stats and pauses and slows it.
"""

import socket
import threading
import time

from ..checks import require_number
from ..errors import InvalidArgumentError
from .application import Application
from .events import EventLog
from .faults import MAX_SLOW_MS, Paused, Slowed
from .held_state import HeldState
from .lifecycle import Closable
from .listener import Listener
from .messages import MAX_BODY_BYTES, HTTPError, Request, Response

# Request, Response, HTTPError and MAX_BODY_BYTES are re-exported: every application needs them with an Instance.
__all__ = ["Request", "Response", "HTTPError", "Capacity", "Instance", "MAX_BODY_BYTES"]


class Capacity:
    """At most ``workers`` requests at once; up to ``queue_limit`` more may wait.

    ``admit()`` returns False when the queue is full (the caller answers 503);
    otherwise it blocks until a worker is free and the caller must ``release()``.
    """

    def __init__(self, workers, queue_limit):
        self.workers = workers
        self.queue_limit = queue_limit
        self._free = threading.Semaphore(workers)
        self._lock = threading.Lock()
        self.waiting = 0
        self.busy = 0

    def admit(self):
        if self._free.acquire(blocking=False):
            with self._lock:
                self.busy += 1
            return True
        with self._lock:
            if self.waiting >= self.queue_limit:
                return False
            self.waiting += 1
        self._free.acquire()
        with self._lock:
            self.waiting -= 1
            self.busy += 1
        return True

    def release(self):
        with self._lock:
            self.busy -= 1
        self._free.release()


class Instance(Closable):
    """One server instance: an ``Application`` behind a real HTTP listener.

    For callers: ``start``, ``stop``, ``kill``, ``restart``, ``close``,
    ``held_state()``, the faults ``pause``, ``slow``, ``heal`` and ``faults()``,
    and the read-only ``url``, ``status``, ``alive``, ``paused``, ``extra_ms``,
    ``stats``, ``events``; ``app`` is the live application (None while not
    running). For subclasses and wrappers: ``serve(request)``, which runs the
    capacity model and the application and must never raise, and ``hold()``,
    the gate a paused instance's threads wait at.
    """

    def __init__(self, app_factory, name="instance", version="v1", workers=8, service_ms=0.0,
                 queue_limit=64, identity=True, events=None):
        self.app_factory = app_factory
        self.name = name
        self.version = version
        self.workers = workers
        self.service_ms = service_ms
        self.queue_limit = queue_limit
        self.identity = identity
        self.events = events if events is not None else EventLog()
        self.app = None
        self.status = "new"                  # new -> up -> draining -> stopped, or -> dead
        self.port = 0
        self.generation = 0                 # bumped by every kill: work from an older life is dropped
        self.capacity = Capacity(workers, queue_limit)
        self._stats = {"requests": 0, "errors": 0, "rejected": 0, "in_flight": 0}
        self._lock = threading.Lock()
        self._httpd = None
        self._loop = None
        self._awake = threading.Event()     # cleared while paused: every thread waits at hold()
        self._awake.set()
        self.extra_ms = 0.0                 # latency a slow() adds to every answer

    # -- for callers -------------------------------------------------------
    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    @property
    def address(self):
        return ("127.0.0.1", self.port)

    @property
    def alive(self):
        return self.status in ("up", "draining")

    @property
    def stats(self):
        with self._lock:
            stats = dict(self._stats)
        stats["busy"], stats["queued"] = self.capacity.busy, self.capacity.waiting   # the capacity model, now
        stats["faults"] = [fault.label for fault in self.faults()]                  # e.g. ["PAUSED"]
        return stats

    def held_state(self):
        """What the application keeps in this instance's memory now, measured by walking it (a ``HeldState``).

        A stopped or crashed instance holds nothing: its memory is gone.
        """
        app = self.app
        return app.held_state() if app is not None else HeldState.nothing(self.name)

    def start(self):
        """Listen and serve; returns once the socket accepts connections."""
        with self._lock:
            if self.status in ("up", "draining"):
                return self
            self.app = self._new_app()
            self._httpd = self._bind()
            self.port = self._httpd.server_address[1]
            self.capacity = Capacity(self.workers, self.queue_limit)
            self._stats["in_flight"] = 0
            self.status = "up"
        self._loop = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                      name=f"{self.name}-accept", daemon=True)
        self._loop.start()
        self._opened()
        self.events.add(self.name, "start", f"{self.name} started ({self.version})")
        return self

    def stop(self, timeout=5.0):
        """Graceful: refuse new requests, let in-flight ones finish (up to ``timeout`` s), close."""
        with self._lock:
            if self.status not in ("up", "draining"):
                return
            self.status = "draining"
        self.events.add(self.name, "drain", f"{self.name} draining")
        deadline = time.monotonic() + timeout
        while self.stats["in_flight"] and time.monotonic() < deadline:
            time.sleep(0.01)
        self._shut_down("stopped")
        self.events.add(self.name, "stop", f"{self.name} stopped")

    def kill(self):
        """Crash: listener and connections closed at once, memory thrown away."""
        with self._lock:
            if self.status not in ("up", "draining"):
                return
            self.generation += 1
        self._shut_down("dead")
        self.events.add(self.name, "kill", f"{self.name} killed")

    def restart(self, version=None):
        """Come back as a new process would: a fresh application object, empty memory."""
        if self.alive:
            self.kill()
        if version is not None:
            self.version = version
        return self.start()

    # -- faults short of a crash (faults.py) ---------------------------------
    @property
    def paused(self):
        return not self._awake.is_set()

    def pause(self):
        """Freeze, as a long GC pause or SIGSTOP would: sockets stay open, nothing is read or answered.

        Connections are still accepted (the kernel does that), requests in flight
        wait before their answer goes out, and the memory stays as it is. Idempotent.
        """
        with self._lock:
            self._require_running("pause")
            if self.paused:
                return
            self._awake.clear()
        self.events.add(self.name, "pause", f"{self.name} paused: reads and answers nothing")

    def slow(self, ms):
        """Add ``ms`` milliseconds to every answer from now on (0 takes the delay away). Idempotent."""
        ms = require_number("ms", ms, 0, MAX_SLOW_MS, unit="milliseconds")
        with self._lock:
            self._require_running("slow down")
            if ms == self.extra_ms:
                return
            self.extra_ms = ms
        self.events.add(self.name, "slow", f"{self.name} answers {ms:g} ms late" if ms else f"{self.name} at speed")

    def heal(self):
        """Undo ``pause`` and ``slow``: held requests go on, answers come at full speed. Idempotent."""
        with self._lock:
            was = self.faults()
            self.extra_ms = 0.0
            self._awake.set()
        if was:
            self.events.add(self.name, "heal", f"{self.name} healed ({', '.join(f.label for f in was)} ended)")

    def faults(self):
        """The faults in force on this process, as ``faults.Fault`` objects (empty when it is well)."""
        found = []
        if self.paused:
            found.append(Paused())
        if self.extra_ms:
            found.append(Slowed(self.extra_ms))
        return found

    def hold(self):
        """The gate: returns at once unless paused; a paused instance's threads wait here until healed.

        Returns False when the instance was killed or stopped meanwhile: the
        request it held must then be dropped, as a dead process answers nothing.
        """
        if self._awake.is_set():
            return True
        generation = self.generation
        self._awake.wait()
        return generation == self.generation and self.status in ("up", "draining")

    def _require_running(self, what):
        if not self.alive:
            raise InvalidArgumentError(f"{self.name} is {self.status}: there is no running process to {what}; "
                                       f"restart it first")

    def _close(self):
        self.stop(timeout=1.0)

    def __repr__(self):
        return f"<Instance {self.name} {self.version} {self.status}>"

    # -- for wrappers --------------------------------------------------------
    def identity_headers(self):
        if not self.identity:
            return {}
        return {"X-Instance": self.name, "X-Version": self.version}

    def serve(self, request):
        """Run one request through the capacity model and the application. Never raises.

        Returns None when the instance died while the request was inside it:
        a dead process sends no answer.
        """
        generation = self.generation
        if self.status != "up":
            return Response(503, {"error": f"{self.name} is draining; try another instance"},
                            headers={"Retry-After": "0"})
        capacity = self.capacity            # a restart makes a new one; release the one we took
        self._count("in_flight", +1)
        try:
            if not capacity.admit():
                self._count("rejected", +1)
                return Response(503, {"error": f"{self.name} is overloaded: {self.queue_limit} requests already queued"},
                                headers={"Retry-After": "1"})
            try:
                work_ms = self.service_ms + self.extra_ms       # a slowed instance holds its worker longer
                if work_ms:
                    time.sleep(work_ms / 1000.0)
                if generation != self.generation:
                    return None
                response = self._call_app(request)
            finally:
                capacity.release()
            if generation != self.generation or response is None:
                return None
            self._count("requests", +1)
            if response.status >= 400:
                self._count("errors", +1)
            return response
        finally:
            self._count("in_flight", -1)

    # -- internals -------------------------------------------------------------
    def _new_app(self):
        """A fresh application from the factory, checked against the contract."""
        app = self.app_factory()
        if not isinstance(app, Application):
            raise InvalidArgumentError(f"{self.name}'s factory made a {type(app).__name__}; an instance runs an "
                                       "Application (subclass labsupport.engine.Application and define "
                                       "handle(request, instance))")
        return app

    def _call_app(self, request):
        app = self.app
        if app is None:
            return Response(503, {"error": f"{self.name} is not running"})
        try:
            return app.handle(request, self)
        except HTTPError as exc:
            return Response(exc.status, {"error": exc.message}, headers=exc.headers)
        except Exception as exc:           # a bug must cost one request, never the server
            self.events.add(self.name, "error", f"{type(exc).__name__} while handling {request.method} {request.path}")
            return Response(500, {"error": "internal error; the instance is still serving"})

    def _bind(self):
        """Bind 127.0.0.1, keeping the previous port when it is free (a restart keeps its address)."""
        if self.port:
            try:
                return Listener(("127.0.0.1", self.port), self)
            except OSError:
                pass                      # someone else took the port; take a new one below
        return Listener(("127.0.0.1", 0), self)

    def _shut_down(self, final_status):
        httpd, loop = self._httpd, self._loop
        try:
            httpd.socket.shutdown(socket.SHUT_RDWR)   # refuse new connections now
        except OSError:
            pass                                      # not connected: nothing to shut
        httpd.cut_connections()
        with self._lock:                              # a dying process is neither paused nor slow any more;
            self.extra_ms = 0.0                       # the threads held at the gate go on, find their
            self._awake.set()                         # connection cut, and end
        httpd.shutdown()
        httpd.server_close()
        loop.join()
        httpd.wait_for_threads(timeout=2.0)
        with self._lock:
            self.status = final_status
            app, self.app = self.app, None            # stopped or crashed, the process's memory is gone
        if final_status != "dead":
            app.close()                               # a graceful stop may tidy up; a crash cannot

    def _count(self, key, delta):
        with self._lock:
            self._stats[key] += delta
