"""The socket side of a lab server: bytes in, ``Request`` objects out, one thread per connection.

A ``Listener`` is the standard library's ``socketserver.ThreadingTCPServer``
(one daemon thread per client connection) with an HTTP/1.1 loop on top:

1. read one request head (``http1.Reader``) and parse it, once and strictly
   (``http1.parse_request_head``);
2. refuse what no lab server serves: an unknown method (405), a Host that is
   not this machine (421, see ``rebinding.py``), a body over 64 KiB (413);
3. read exactly Content-Length bytes of body and hand a ``Request`` to the
   instance (``instance.serve``), which runs the application;
4. write the answer's head and body in one ``sendall`` (one packet, one
   wake-up for the reader), then go back to 1 while the client keeps the
   connection alive.

A paused instance (``Instance.pause``, chapter 06) stops each connection's
thread at ``instance.hold()``: before step 1, once a request has arrived, and
before its answer is written, so it reads and answers nothing until healed.

Answers are JSON, even for broken HTTP; after an error in the head itself the
connection is closed, since nobody can tell where the next request would
start. Nothing is printed, Nagle's algorithm is off, and every open connection
is remembered so that a crash (``Instance.kill()``) can cut them all at once,
as a dying process would. ``instance.py`` builds on it; chapter 01 shows a
request going through it.
"""

import socket
import socketserver
import threading
import time

from .http1 import BadMessage, Reader, parse_request_head, response_head_bytes
from .messages import MAX_BODY_BYTES, Request, Response
from .rebinding import host_problem

__all__ = ["Listener", "SUPPORTED_METHODS"]

SUPPORTED_METHODS = ("GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS")
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


class _Connection(socketserver.BaseRequestHandler):
    """One client connection: serve requests one after another until either side closes it."""

    def setup(self):
        self.connection = self.request
        # Nagle's algorithm would hold small answers back waiting for more data.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.reader = Reader(self.connection)

    def handle(self):
        while self._serve_one():
            pass

    def _serve_one(self):
        """Read, answer and write one request; True if the connection stays open for the next."""
        lab = self.server.lab
        if not lab.hold():                         # a paused instance reads nothing (see Instance.pause)
            return False
        try:
            raw_head = self.reader.read_head()
            if not raw_head:
                return False                       # the client closed the connection: the normal end
            if not lab.hold():                     # paused while this thread was waiting for the request
                return False
            head = parse_request_head(raw_head)
        except BadMessage as exc:
            return self._send(lab, Response(exc.status, {"error": exc.message}), "GET", keep_alive=False)
        refusal = self._refusal(head)
        if refusal is not None:
            return self._send(lab, refusal, head.method, keep_alive=False)   # its body stays unread: close
        if head.expects_continue:
            self.connection.sendall(CONTINUE)      # "go on, send the body" (curl waits for this)
        body = self.reader.read(head.content_length) if head.content_length else b""
        if len(body) < head.content_length:
            return False                           # the client went away in the middle of the body
        request = Request(head.method, head.target, head.headers, body, client=self.connection)
        response = lab.serve(request)
        if response is None:                       # the instance died mid-request, or the balancer took the socket
            return False
        if not lab.hold():                         # paused mid-request: the answer waits, or dies with the instance
            return False
        return self._send(lab, response, head.method, head.keep_alive)

    def _refusal(self, head):
        """The answer to a request no lab server handles, or None."""
        if head.method not in SUPPORTED_METHODS:
            return Response(405, {"error": f"method {head.method!r} is not supported; use one of "
                                           f"{', '.join(SUPPORTED_METHODS)}"})
        problem = host_problem(head.headers.get("Host"), self.server.server_address[1], self.server.allowed_hosts)
        if problem is not None:
            return Response(421, {"error": problem})
        if head.content_length > MAX_BODY_BYTES:
            return Response(413, {"error": f"body of {head.content_length} bytes is over the "
                                           f"{MAX_BODY_BYTES} byte limit"})
        return None

    def _send(self, lab, response, method, keep_alive):
        """Write the answer (head and body in one ``sendall``); returns ``keep_alive``."""
        payload = response.payload()
        fields = response.fields(payload, lab.identity_headers())
        if not keep_alive:
            fields.append(("Connection", "close"))
        head = response_head_bytes(response.status, fields)
        self.connection.sendall(head if method == "HEAD" else head + payload)
        return keep_alive


class Listener(socketserver.ThreadingTCPServer):
    """A threading TCP server that speaks HTTP/1.1 and remembers its open connections so ``kill()`` can cut them."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128       # the listen backlog; the default 5 drops connections in a burst

    def __init__(self, address, lab, allowed_hosts=()):
        self.lab = lab
        self.allowed_hosts = tuple(allowed_hosts)   # Host names besides loopback (serve --allow-host); none in the lab
        self.connections = set()
        self.threads = set()
        self.track_lock = threading.Lock()
        super().__init__(address, _Connection)

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
