"""The balancer's record of one instance: where it is, how it is doing, and a few open connections to it.

A ``PooledInstance`` is what the balancer knows about an instance, which is
not the instance itself (``instance.py``): its address, its ``status`` as far
as the health checks can tell (up, down, draining), how many requests are in
flight to it right now (``least_connections`` reads that), what went wrong
with it (failures, timeouts), whether the network path to it is cut
(``partitioned``, see ``faults.py``), and a small pool of idle keep-alive
connections, so that most requests skip the TCP handshake.

``forward(request)`` sends one request over such a connection. It fails in one
of three ways, and which one decides whether the balancer may try another
instance (``attempts.py``): ``NotSent``, no connection could be made, so the
request never left the balancer; ``TimedOut``, the instance has the request and
gave no answer in time, so it may still act on it later; ``NoAnswer``, the
connection broke (or the answer was not HTTP) after the request went out, so it
may or may not have been applied. Used by ``balancer.py``; chapter 06 reads
these records.
"""

import socket
import threading

from .faults import Partitioned
from .forwarding import Upstream
from .http1 import BadMessage

# NotSent, TimedOut and NoAnswer are the balancer's control flow, not errors anyone else sees.
__all__ = ["PooledInstance"]


class NotSent(Exception):
    """The request never reached the instance: retrying elsewhere is always safe."""


class NoAnswer(Exception):
    """The instance received the request and died before answering: the outcome is unknown."""


class TimedOut(NoAnswer):
    """The instance has the request and did not answer in time: maybe it is slow, maybe it will do it later."""


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
        self.timeouts = 0
        self.partitioned = False           # the path from the balancer is cut (Balancer.partition)
        self._idle = []
        self._lock = threading.Lock()      # guards the idle list and the two failure counts

    def connection(self):
        """An idle pooled ``Upstream`` that still looks alive, or a new one (``NotSent`` if refused)."""
        self._check_path()
        while True:
            with self._lock:                       # held only to pop: checking a socket waits on the OS
                conn = self._idle.pop() if self._idle else None
            if conn is None:
                break
            if not conn.closed_by_peer():
                return conn
            conn.close()
        try:
            return Upstream(self.address, self.timeout)
        except OSError as exc:
            raise NotSent(f"{self.name} refused the connection ({exc.__class__.__name__})") from None

    def open_socket(self, timeout):
        """A plain socket to the instance, for a WebSocket tunnel (``NotSent`` if refused or cut)."""
        self._check_path()
        try:
            return socket.create_connection(self.address, timeout=timeout)
        except OSError as exc:
            raise NotSent(f"{self.name} refused a WebSocket connection ({exc.__class__.__name__})") from None

    def _check_path(self):
        if self.partitioned:                       # the firewall rejects the packets: as refused as a crash
            raise NotSent(f"{self.name} is unreachable: the network path to it is cut")

    def forward(self, request):
        """Send ``request`` over a pooled connection and return the answer (see the module docstring).

        Raises ``NotSent``, ``TimedOut`` (after ``timeout`` seconds) or ``NoAnswer``.
        """
        upstream = self.connection()
        try:
            response = upstream.exchange(request)
        except TimeoutError:
            upstream.close()                        # its answer may still come: this connection cannot be reused
            self._count_failure(timed_out=True)
            raise TimedOut() from None
        except (OSError, BadMessage):
            upstream.close()
            self._count_failure(timed_out=False)
            raise NoAnswer() from None
        if upstream.reusable:
            self.give_back(upstream)
        else:
            upstream.close()
        return response

    def _count_failure(self, timed_out):
        with self._lock:
            self.failures += 1
            self.timeouts += timed_out

    def give_back(self, conn):
        with self._lock:
            self._idle.append(conn)

    def close_connections(self):
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()

    def faults(self):
        """The faults on the path to this instance (``[Partitioned()]`` or nothing)."""
        return [Partitioned()] if self.partitioned else []

    def __repr__(self):
        return f"<PooledInstance {self.name} {self.status} in_flight={self.in_flight}>"
