"""The socket side of a lab server: bytes in, ``Request`` objects out, one thread per connection.

This is the standard library's ``http.server`` with four changes the course
needs: answers are JSON (even for broken HTTP), keep-alive is on and Nagle's
algorithm off, nothing is printed, and every open connection is remembered so
that a crash (``Instance.kill()``) can cut them all at once, as a dying process
would. ``instance.py`` builds on it; learners rarely need to read further.
"""

import http.server
import socket
import threading
import time

from .messages import MAX_BODY_BYTES, Request, Response

__all__ = ["Listener", "SUPPORTED_METHODS"]

SUPPORTED_METHODS = ("GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS")


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


class Listener(http.server.ThreadingHTTPServer):
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
