"""A real HTTP server instance: the unit you start, crash, drain and replace.

Every shop instance (and the load balancer) is one of these: an HTTP/1.1
server from the standard library's ``http.server``, listening on 127.0.0.1 on
a port the OS picks, serving each connection in its own daemon thread. What
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

The application is any object with ``handle(request) -> Response``. Chapter 01
onwards uses it; chapter 06 reads its stats.
"""

import http.server
import json
import socket
import threading
import time
import urllib.parse

from . import registry
from .events import EventLog

__all__ = ["Request", "Response", "HTTPError", "Capacity", "Server", "MAX_BODY_BYTES"]

MAX_BODY_BYTES = 64 * 1024
SUPPORTED_METHODS = ("GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS")


class HTTPError(Exception):
    """Raise from an application to answer with a JSON error and this status."""

    def __init__(self, status, message, headers=None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = dict(headers or {})


class Request:
    """What a handler sees: method, path, query, headers, raw body, and a JSON helper."""

    def __init__(self, method, target, headers, body, client=None):
        parts = urllib.parse.urlsplit(target)
        self.method = method
        self.target = target
        self.path = urllib.parse.unquote(parts.path)
        self.query = dict(urllib.parse.parse_qsl(parts.query))
        self.headers = headers            # an email.message.Message: case-insensitive .get()
        self.body = body
        self.client = client              # the raw socket; only the balancer needs it (WebSockets)

    def json(self):
        """The body as a JSON object, or a 400 that says what is wrong with it."""
        if not self.body:
            raise HTTPError(400, "this request needs a JSON body")
        try:
            data = json.loads(self.body)
        except (UnicodeDecodeError, ValueError) as exc:
            raise HTTPError(400, f"body is not valid JSON: {exc}") from None
        if not isinstance(data, dict):
            raise HTTPError(400, "JSON body must be an object, like {\"user\": \"alice\"}")
        return data

    def cookie(self, name):
        """The value of one cookie from the Cookie header, or None."""
        for part in (self.headers.get("Cookie") or "").split(";"):
            key, _, value = part.strip().partition("=")
            if key == name:
                return value
        return None


class Response:
    """A status, a JSON-able body (or raw bytes) and extra headers."""

    def __init__(self, status=200, body=None, headers=None, raw=None, content_type="application/json"):
        self.status = status
        self.body = body
        self.headers = dict(headers or {})
        self.raw = raw
        self.content_type = content_type

    def payload(self):
        if self.raw is not None:
            return self.raw
        return json.dumps(self.body if self.body is not None else {}).encode()


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


class _Handler(http.server.BaseHTTPRequestHandler):
    """Turns one HTTP request into a ``Request``, asks the server to handle it, writes the answer."""

    protocol_version = "HTTP/1.1"          # keep-alive: one connection carries many requests
    default_request_version = "HTTP/1.1"   # even a garbled request line gets a proper status line back
    server_version = "labsupport"
    sys_version = ""

    def setup(self):
        super().setup()
        # Nagle's algorithm would hold small responses back waiting for more data.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _dispatch(self):
        lab = self.server.lab
        length = self.headers.get("Content-Length")
        if self.headers.get("Transfer-Encoding"):
            self.close_connection = True
            return self._write(lab, Response(411, {"error": "send a Content-Length, not a chunked body"}))
        try:
            length = int(length or 0)
        except ValueError:
            self.close_connection = True
            return self._write(lab, Response(400, {"error": f"bad Content-Length {length!r}"}))
        if length < 0 or length > MAX_BODY_BYTES:
            self.close_connection = True   # we will not read that body, so this connection is done
            return self._write(lab, Response(413, {"error": f"body of {length} bytes is over the {MAX_BODY_BYTES} byte limit"}))
        body = self.rfile.read(length) if length else b""
        request = Request(self.command, self.path, self.headers, body, client=self.connection)
        request.served_by = lab
        response = lab.serve(request)
        if response is None:               # the instance died mid-request, or the balancer took the socket
            self.close_connection = True
            return
        self._write(lab, response)

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _dispatch

    def _write(self, lab, response):
        payload = response.payload()
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(payload)))
        for key, value in lab.identity_headers().items():
            if key not in response.headers:
                self.send_header(key, value)
        for key, value in response.headers.items():
            for one in value if isinstance(value, list) else [value]:   # e.g. two Set-Cookie headers
                self.send_header(key, one)
        if self.close_connection:
            self.send_header("Connection", "close")
        # Headers and body leave in one send(): one packet, one wake-up for the reader.
        self._headers_buffer.append(b"\r\n")
        if self.command != "HEAD":
            self._headers_buffer.append(payload)
        self.flush_headers()

    def send_error(self, code, message=None, explain=None):
        """The standard library answers broken HTTP with an HTML page; we answer with JSON."""
        self.close_connection = True
        if not hasattr(self, "command") or self.command is None:
            self.command = "GET"
        if code == 501:
            code = 405                    # an HTTP method no route supports
            message = f"method {self.command!r} is not supported; use one of {', '.join(SUPPORTED_METHODS)}"
        self._write(self.server.lab, Response(code, {"error": message or self.responses.get(code, ("error",))[0]}))

    def log_message(self, format, *args):
        """Quiet: the standard handler would print every request to stderr."""


class _ThreadingServer(http.server.ThreadingHTTPServer):
    """``ThreadingHTTPServer`` that remembers its open connections so ``kill()`` can cut them."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128       # the listen backlog; the default 5 drops connections in a burst

    def __init__(self, address, lab):
        self.lab = lab
        self.connections = set()
        self.threads = set()
        self.track_lock = threading.Lock()
        super().__init__(address, _Handler)

    def process_request(self, request, client_address):
        thread = threading.Thread(target=self.process_request_thread, args=(request, client_address),
                                  name=f"{self.lab.name}-connection", daemon=True)
        with self.track_lock:
            self.connections.add(request)
            self.threads.add(thread)
        thread.start()

    def process_request_thread(self, request, client_address):
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self.track_lock:
                self.threads.discard(threading.current_thread())

    def shutdown_request(self, request):
        with self.track_lock:
            self.connections.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request, client_address):
        """Quiet: record the error instead of printing a traceback to stderr."""
        self.lab.events.add(self.lab.name, "error", "a connection failed while being handled")

    def cut_connections(self):
        """Close every open connection at once, like a process dying would."""
        with self.track_lock:
            open_now = list(self.connections)
        for conn in open_now:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass                      # the peer closed it first: nothing left to cut

    def wait_for_threads(self, timeout):
        deadline = time.monotonic() + timeout
        while True:
            with self.track_lock:
                threads = list(self.threads)
            if not threads or time.monotonic() > deadline:
                return not threads
            threads[0].join(max(0.0, deadline - time.monotonic()))


class Server:
    """One server instance: an application object behind a real HTTP listener.

    For callers: ``start``, ``stop``, ``kill``, ``restart``, ``close``, and the
    read-only ``url``, ``state``, ``alive``, ``stats``, ``events``. For
    subclasses and wrappers: ``serve(request)``, which runs the capacity model
    and the application and must never raise.
    """

    def __init__(self, app_factory, name="server", version="v1", workers=8, service_ms=0.0,
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
        self.state = "new"                  # new -> up -> draining -> stopped, or -> dead
        self.port = 0
        self.generation = 0                 # bumped by every kill: work from an older life is dropped
        self.capacity = Capacity(workers, queue_limit)
        self._stats = {"requests": 0, "errors": 0, "rejected": 0, "in_flight": 0}
        self._lock = threading.Lock()
        self._httpd = None
        self._loop = None

    # -- for callers -------------------------------------------------------
    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    @property
    def address(self):
        return ("127.0.0.1", self.port)

    @property
    def alive(self):
        return self.state in ("up", "draining")

    @property
    def stats(self):
        with self._lock:
            stats = dict(self._stats)
        app = self.app
        stats["sessions"] = app.sessions_in_memory() if app is not None and hasattr(app, "sessions_in_memory") else 0
        return stats

    def start(self):
        """Listen and serve; returns once the socket accepts connections."""
        with self._lock:
            if self.state in ("up", "draining"):
                return self
            self.app = self.app_factory()
            self._httpd = self._bind()
            self.port = self._httpd.server_address[1]
            self.capacity = Capacity(self.workers, self.queue_limit)
            self._stats["in_flight"] = 0
            self.state = "up"
        self._loop = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                      name=f"{self.name}-accept", daemon=True)
        self._loop.start()
        registry.register(self)
        self.events.add(self.name, "start", f"{self.name} started ({self.version})")
        return self

    def stop(self, timeout=5.0):
        """Graceful: refuse new requests, let in-flight ones finish (up to ``timeout`` s), close."""
        with self._lock:
            if self.state not in ("up", "draining"):
                return
            self.state = "draining"
        self.events.add(self.name, "drain", f"{self.name} draining")
        deadline = time.monotonic() + timeout
        while self.stats["in_flight"] and time.monotonic() < deadline:
            time.sleep(0.01)
        self._shut_down("stopped")
        self.events.add(self.name, "stop", f"{self.name} stopped")

    def kill(self):
        """Crash: listener and connections closed at once, memory thrown away."""
        with self._lock:
            if self.state not in ("up", "draining"):
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

    def close(self):
        self.stop(timeout=1.0)
        registry.unregister(self)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        return f"<Server {self.name} {self.version} {self.state}>"

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
        if self.state != "up":
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
                if self.service_ms:
                    time.sleep(self.service_ms / 1000.0)
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
    def _call_app(self, request):
        app = self.app
        if app is None:
            return Response(503, {"error": f"{self.name} is not running"})
        try:
            return app.handle(request)
        except HTTPError as exc:
            return Response(exc.status, {"error": exc.message}, headers=exc.headers)
        except Exception as exc:           # a bug must cost one request, never the server
            self.events.add(self.name, "error", f"{type(exc).__name__} while handling {request.method} {request.path}")
            return Response(500, {"error": "internal error; the instance is still serving"})

    def _bind(self):
        """Bind 127.0.0.1, keeping the previous port when it is free (a restart keeps its address)."""
        if self.port:
            try:
                return _ThreadingServer(("127.0.0.1", self.port), self)
            except OSError:
                pass                      # someone else took the port; take a new one below
        return _ThreadingServer(("127.0.0.1", 0), self)

    def _shut_down(self, final_state):
        httpd, loop = self._httpd, self._loop
        try:
            httpd.socket.shutdown(socket.SHUT_RDWR)   # refuse new connections now
        except OSError:
            pass                                      # not connected: nothing to shut
        httpd.cut_connections()
        httpd.shutdown()
        httpd.server_close()
        loop.join()
        httpd.wait_for_threads(timeout=2.0)
        with self._lock:
            self.state = final_state
            app, self.app = self.app, None            # stopped or crashed, the process's memory is gone
        if final_state != "dead" and hasattr(app, "close"):
            app.close()                               # a graceful stop may tidy up; a crash cannot

    def _count(self, key, delta):
        with self._lock:
            self._stats[key] += delta
