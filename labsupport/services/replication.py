"""Replication: a primary ships its log of writes to a replica, and the replica runs behind.

A stateful store that must survive the loss of a machine keeps a second copy
on another one. Every write the primary accepts gets the next *position* in
its log; the primary streams the log to the replica over a socket, and the
replica applies each entry and acknowledges the position it has reached.
The copy always runs a little behind: the *replication lag*. When the entries
leave the primary decides what a failover costs:

* **asynchronous** (the default of PostgreSQL, MySQL and Redis): the primary
  answers the client at once and ships later. Kill it, promote the replica,
  and every write the replica had not received yet is gone, although each
  client was told "saved". How many is no guess: the primary's position minus
  the replica's position at the moment of the crash.
* **synchronous**: the primary answers only after the replica acknowledged the
  write. Nothing acknowledged can be lost on failover, and every write pays a
  round trip to the replica.

A replica also serves reads, and a lagging one serves old data: a user who
writes to the primary and reads from the replica may not see their own write.
Reading from the primary, or asking the replica to wait until it has applied
the write's position (``GET /kv/<key>?at_least=<position>``), fixes that.

Here a ``Node`` is an HTTP instance (``GET``/``PUT /kv/<key>``, ``GET /position``)
plus its replication link; ``lag_s`` holds each entry back on the primary for
that long before it is sent (a slow link or a busy replica), so the lag is real
and the unsent tail dies with the primary's memory. Chapter 07, claim M7;
``replication_lab.py`` runs the experiments.
"""

import json
import socket
import threading
import time

from ..checks import require_number
from ..engine.application import Application
from ..engine.instance import HTTPError, Instance, Response
from ..engine.lifecycle import Closable
from ..errors import InvalidArgumentError

__all__ = ["Node", "ReplicaSet"]


class _StoreApp(Application):
    """The HTTP side of a node: reads, writes and the node's log position. The data lives in the ``Node``."""

    not_state = {"node": "the Node that holds the data and the log; this HTTP view keeps nothing of its own"}

    def __init__(self, node):
        self.node = node

    def handle(self, request, instance):
        if request.path == "/health":
            return Response(200, {"status": "ok"})
        if request.path == "/position" and request.method == "GET":
            return Response(200, {"node": self.node.name, "position": self.node.position})
        if not request.path.startswith("/kv/") or len(request.path) == len("/kv/"):
            raise HTTPError(404, "use GET or PUT /kv/<key>, or GET /position")
        key = request.path[len("/kv/"):]
        if request.method == "PUT":
            body = request.json()
            if "value" not in body:
                raise HTTPError(400, 'send {"value": ...}')
            return Response(200, {"key": key, "position": self.node.write(key, body["value"])})
        if request.method == "GET":
            at_least = request.query.get("at_least", "0")
            if not at_least.isdigit():
                raise HTTPError(400, f"at_least must be a log position (a whole number), not {at_least!r}")
            value, position = self.node.read(key, int(at_least))
            return Response(200, {"key": key, "value": value, "position": position})
        raise HTTPError(405, f"{request.method} is not supported; use GET or PUT", headers={"Allow": "GET, PUT"})


class Node(Closable):
    """A key-value store node: ``url``, ``position``, ``write``/``read``, ``follow(primary)``, ``promote()``, ``kill()``.

    A node that another node follows is its primary and ships it the log;
    ``sync=True`` makes each write wait for the follower's acknowledgement
    (up to ``ack_timeout_s``, then 503). A follower is read-only until promoted.
    """

    def __init__(self, name, lag_s=0.0, sync=False, ack_timeout_s=5.0):
        require_number("lag_s", lag_s, 0.0, unit="seconds")
        require_number("ack_timeout_s", ack_timeout_s, 0.0, allow_minimum=False, unit="seconds")
        self.name, self.lag_s, self.sync, self.ack_timeout_s = name, lag_s, sync, ack_timeout_s
        self.data = {}
        self.log = []                      # (position, key, value, committed_at): entry n is log[n - 1]
        self.acked = 0                     # the follower's acknowledged position
        self.read_only = False
        self.crashed = False
        self._changed = threading.Condition()
        self._links, self._threads, self._receivers = [], [], []
        self._link_server = None
        self.instance = Instance(lambda: _StoreApp(self), name=name, workers=16)

    url = property(lambda self: self.instance.url)
    alive = property(lambda self: self.instance.alive)

    @property
    def position(self):
        """How many log entries this node has applied."""
        with self._changed:
            return len(self.log)

    def start(self):
        self.instance.start()
        self._link_server = socket.create_server(("127.0.0.1", 0))
        self._spawn(self._accept_follower, "accept")
        self._opened()
        return self

    # -- reads and writes ---------------------------------------------------------------------
    def write(self, key, value):
        """Apply a write and log it; returns its position (after the follower's ack, if ``sync``)."""
        with self._changed:
            if self.read_only:
                raise HTTPError(409, f"{self.name} is a read-only replica: send writes to the primary")
            position = len(self.log) + 1
            self._apply_locked(position, key, value)
            if self.sync and self._links:
                acked = self._changed.wait_for(lambda: self.acked >= position or self.crashed, self.ack_timeout_s)
                if not acked or self.crashed:
                    raise HTTPError(503, f"the replica did not acknowledge position {position}; the write is "
                                         "on the primary only, so it is not confirmed")
        return position

    def read(self, key, at_least=0, timeout=5.0):
        """``(value, position)``; waits (up to ``timeout`` s) until this node has applied ``at_least``."""
        with self._changed:
            if not self._changed.wait_for(lambda: len(self.log) >= at_least, timeout):
                raise HTTPError(503, f"{self.name} has not reached position {at_least} yet (it is at "
                                     f"{len(self.log)}); read from the primary")
            return self.data.get(key), len(self.log)

    def _apply_locked(self, position, key, value):
        self.data[key] = value
        self.log.append((position, key, value, time.monotonic()))
        self._changed.notify_all()

    # -- the replication link -----------------------------------------------------------------
    def follow(self, primary):
        """Become ``primary``'s read-only replica: connect, say which position we have, apply what arrives."""
        if primary is self or primary._link_server is None:
            raise InvalidArgumentError("follow a different, started node, e.g. replica.follow(primary)")
        link = socket.create_connection(primary._link_server.getsockname())
        link.sendall(json.dumps({"position": self.position}).encode() + b"\n")
        with self._changed:
            self.read_only = True
            self._links.append(link)
        self._receivers.append(self._spawn(self._receive, "receive", link))
        return self

    def _accept_follower(self):
        self._link_server.settimeout(0.05)             # wake up now and then to see whether we crashed
        while True:
            try:
                link, _ = self._link_server.accept()
                break
            except TimeoutError:
                if self.crashed:
                    return
            except OSError:
                return                                 # closed before anyone followed: nothing to ship
        self._link_server.close()                      # one replica per primary: nobody else may connect now
        link.settimeout(None)
        reader = link.makefile("rb")
        try:
            hello = json.loads(reader.readline())
        except (OSError, ValueError):
            return                                     # the follower went away before saying hello
        with self._changed:
            self._links.append(link)
            self.acked = hello["position"]
        self._spawn(self._read_acks, "acks", reader)
        self._ship(link, hello["position"])

    def _ship(self, link, sent):
        """Send each entry ``lag_s`` after it was committed, in log order, until the link or the node dies."""
        while True:
            with self._changed:
                self._changed.wait_for(lambda sent=sent: len(self.log) > sent or self.crashed)
                if self.crashed:
                    return                             # the unsent tail of the log dies with this process
                position, key, value, committed_at = self.log[sent]
                hold = committed_at + self.lag_s - time.monotonic()
                if hold > 0 and self._changed.wait_for(lambda: self.crashed, hold):
                    return
            try:
                link.sendall(json.dumps({"position": position, "key": key, "value": value}).encode() + b"\n")
            except OSError:
                return                                 # the follower went away
            sent = position

    def _read_acks(self, reader):
        try:
            for line in reader:
                with self._changed:
                    self.acked = json.loads(line)["ack"]
                    self._changed.notify_all()
        except OSError:
            return                                     # the link was cut: a crash on either side

    def _receive(self, link):
        """Apply what the primary sends and acknowledge it, until the link ends (the primary died or we were promoted)."""
        try:
            for line in link.makefile("rb"):
                entry = json.loads(line)
                with self._changed:
                    if self.crashed:
                        return
                    self._apply_locked(entry["position"], entry["key"], entry["value"])
                link.sendall(json.dumps({"ack": entry["position"]}).encode() + b"\n")
        except OSError:
            return                                     # the link was cut; what was applied stays applied

    def wait_until_disconnected(self, timeout=2.0):
        """Let a follower apply everything that reached it before its primary died; True once its link ended."""
        for thread in self._receivers:
            thread.join(timeout)
        return not any(thread.is_alive() for thread in self._receivers)

    def _spawn(self, target, role, *args):
        thread = threading.Thread(target=target, args=args, name=f"{self.name}-{role}", daemon=True)
        self._threads.append(thread)
        thread.start()
        return thread

    # -- failures and failover ------------------------------------------------------------------
    def promote(self):
        """Stop following and accept writes: the replica becomes the primary (a failover)."""
        self._cut_links()
        with self._changed:
            self.read_only = False
        return self

    def kill(self):
        """Crash: the HTTP instance and every replication link die, with whatever was not yet shipped."""
        with self._changed:
            self.crashed = True
            self._changed.notify_all()
        self.instance.kill()
        self._cut_links()
        if self._link_server is not None:
            self._link_server.close()
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(timeout=2.0)

    def _cut_links(self):
        with self._changed:
            links, self._links = self._links, []
        for link in links:
            try:
                link.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass                                   # the other side closed it first
            link.close()

    def _close(self):
        self.kill()
        self.instance.close()

    def __repr__(self):
        role = "replica" if self.read_only else "primary"
        return f"<Node {self.name} {role} at position {self.position}{' crashed' if self.crashed else ''}>"


class ReplicaSet(Closable):
    """A primary with one replica following it: ``primary``, ``replica``, ``lag()``, ``fail_over()``."""

    def __init__(self, lag_s=0.5, sync=False, ack_timeout_s=5.0):
        self.primary = Node("primary", lag_s=lag_s, sync=sync, ack_timeout_s=ack_timeout_s).start()
        self.replica = Node("replica").start().follow(self.primary)
        self._opened()

    def lag(self):
        """How many log entries the replica is behind the primary right now."""
        return self.primary.position - self.replica.position

    def fail_over(self):
        """Kill the primary and promote the replica; returns ``(primary_position, replica_position)`` at the crash."""
        self.primary.kill()
        self.replica.wait_until_disconnected()        # it applies what had reached it, as a real promotion does
        positions = (self.primary.position, self.replica.position)
        self.replica.promote()
        return positions

    def _close(self):
        self.replica.close()
        self.primary.close()

    def __repr__(self):
        mode = "synchronous" if self.primary.sync else "asynchronous"
        return f"<ReplicaSet {mode}, lag {self.primary.lag_s:g} s, replica {self.lag()} entries behind>"
