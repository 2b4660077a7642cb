"""The balancer's record of one instance: where it is, how it is doing, and a few open connections to it.

A ``PooledInstance`` is what the balancer knows about an instance, which is
not the instance itself (``instance.py``): its address, its ``status`` as far
as the health checks can tell (up, down, draining), how many requests are in
flight to it right now (``least_connections`` reads that), what went wrong
with it (failures, timeouts), whether the network path to it is cut
(``partitioned``, see ``faults.py``), and a small pool of idle keep-alive
connections, so that most requests skip the TCP handshake. A connection that
cannot be made raises ``NotSent``: the request never left the balancer, so
sending it elsewhere is always safe. Used by ``balancer.py``; chapter 06 reads
these records.
"""

import threading

from .faults import Partitioned
from .forwarding import Upstream

__all__ = ["PooledInstance"]            # NotSent is the balancer's control flow, not an error anyone else sees


class NotSent(Exception):
    """The request never reached the instance: retrying elsewhere is always safe."""


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
        self._lock = threading.Lock()

    def connection(self):
        """An idle pooled ``Upstream`` that still looks alive, or a new one (``NotSent`` if refused)."""
        if self.partitioned:                       # the firewall rejects the packets: as refused as a crash
            raise NotSent(f"{self.name} is unreachable: the network path to it is cut")
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
            raise NotSent(f"{self.name} refused the connection ({exc.__class__.__name__})") from None

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
