"""A drain that hands the sessions to peers instead of waiting for them to end (chapter 02, claim F7).

Plain draining of a stateful instance has two bad endings: it waits until
every session it holds has ended (minutes, hours), or it gives up at a timeout
and the sessions still open are lost. A hand-off moves them instead:

1. **No new clients.** The balancer marks the instance draining.
2. **A plan.** The instance is told that every user now belongs to one of its
   peers (consistent hashing over the peers' names), so a login that still
   reaches it is sent on instead of starting a session nobody would find.
3. **One session at a time.** The cluster asks the instance to move a session
   to the peer the plan names; the instance sends it over HTTP
   (``POST /internal/import`` on the peer, ``transfer.py``), forgets it, and
   from then on answers "moved to" for it. The cluster writes the move into
   the balancer's table (``repin``), so the user's next request goes straight
   to the peer and their sticky cookie follows. A request that arrives while
   its session is on the way waits for it; one that arrives after is forwarded.
4. **Stop.** Once no request is in flight to it, the instance stops: it holds
   nothing any more.

A crash in the middle loses exactly the sessions not moved yet. The move that
was running when the instance died has an *unknown outcome* (did the peer get
the session before the source died?), so the cluster asks the peer, just as
a user who lost an answer looks at their cart.

    result = shop.drain("shop-2", handoff=True)     # a dict, as for a plain drain
    result["sessions_moved"], result["sessions_lost"], result["bytes_moved"]

Step by step (what the tests and the curious do): ``h = HandOff(shop, "shop-2")``,
``h.start()``, ``h.move(3)``, ..., ``h.finish()``.
"""

import collections
import time

from ..engine.policies import ConsistentHash
from ..engine.waiting import wait_until
from ..errors import InvalidArgumentError
from .transfer import TransferFailed, address_of, call

__all__ = ["HandOff"]


class HandOff:
    """Moving every session of instance ``name`` to its peers, then stopping it.

    ``start()``, ``move(count)`` and ``finish()`` are the steps; ``run()`` does them all.
    ``timeout`` bounds the final wait for requests in flight.
    """

    def __init__(self, cluster, name, timeout=None):
        self.cluster, self.name = cluster, name
        self.instance = cluster.instance(name)
        self.timeout = cluster.shop_class.drain_timeout_s if timeout is None else timeout
        self.peers = [i for i in cluster.instances if i.alive and i.name != name
                      and cluster.status(i.name) == "up"]
        if self.instance.alive and cluster.shop_class.moves_sessions and not self.peers:
            raise InvalidArgumentError(f"{name} has no peer to hand its sessions to; add an instance first "
                                       "(shop.add_instance()), or drain it without hand-off")
        self.held_at_start = 0
        self.pending = []                  # (session id, key) still to move, oldest first
        self.moved_to = collections.Counter()
        self.bytes_moved = 0
        self.counts = {}                   # what the instance saw: requests that waited, were forwarded
        self.broken = False                # the instance stopped answering (killed) during the hand-off
        self._ring = ConsistentHash()
        self._counts_before = {}
        self._started = self._moves_done = None

    def run(self):
        """The whole hand-off; returns what it cost (see ``finish``)."""
        self.start()
        self.move()
        return self.finish()

    # -- the steps --------------------------------------------------------------------------------
    def start(self):
        """Take the instance out of rotation, give it the plan, and list what it holds."""
        self._started = time.monotonic()
        self.held_at_start = self.cluster.sessions_held(self.instance)     # measured by the walk
        if not self.instance.alive:
            return self
        self.cluster.balancer.set_draining(self.name)
        if self.cluster.shop_class.moves_sessions:
            plan = {"policy": ConsistentHash.name, "names": [peer.name for peer in self.peers]}
            self._ask("POST", "/internal/plan", plan)
            listed = self._ask("GET", "/internal/sessions")
            self.pending = [(entry["id"], entry["key"]) for entry in listed["sessions"]]
            self._counts_before = listed["counts"]            # what happened before this hand-off
        return self

    def move(self, count=None):
        """Move the next ``count`` sessions (all, by default); returns how many moved."""
        moved = 0
        while self.pending and not self.broken and (count is None or moved < count):
            session_id, key = self.pending[0]
            peer = self._owner(key)
            try:
                answer = self._ask("POST", "/internal/move",
                                   {"to": peer.name, "address": address_of(peer), "sessions": [session_id]})
            except TransferFailed:
                self.broken = True
                arrived = self._peer_has(peer, session_id)     # an unknown outcome: ask the peer
                answer = {"moved": [session_id] if arrived else [], "bytes": 0}
            self.pending.pop(0)
            for moved_id in answer["moved"]:
                self.cluster.balancer.repin({moved_id: peer.name})
                self.moved_to[peer.name] += 1
                moved += 1
            self.bytes_moved += answer["bytes"]
            self.counts = answer.get("counts", self.counts)
        self._moves_done = time.monotonic()
        return moved

    def finish(self):
        """Move what is left, wait for requests in flight, stop the instance; returns the cost as a dict.

        ``sessions_lost`` counts the sessions it still held when it stopped (or
        that had not moved when it died); ``seconds`` is the whole drain,
        ``handoff_seconds`` the moves alone.
        """
        self.move()
        pooled = self.cluster.balancer.instance(self.name)
        if self.instance.alive and not self.broken:
            wait_until(lambda: pooled.in_flight == 0, timeout=self.timeout, interval=0.002)
            if self.cluster.shop_class.moves_sessions:
                self.counts = self._ask("GET", "/internal/sessions").get("counts", self.counts)
        if self.instance.alive:
            lost = self.cluster.sessions_held(self.instance)               # measured by the walk
            self.instance.stop(timeout=max(0.1, self.timeout))
        else:
            lost = self.held_at_start - sum(self.moved_to.values())        # its memory is gone
        ended = time.monotonic()
        result = {"instance": self.name, "seconds": ended - self._started, "sessions_lost": lost,
                  "sessions_moved": sum(self.moved_to.values()), "bytes_moved": self.bytes_moved,
                  "moved_to": dict(sorted(self.moved_to.items())), "handoff_seconds": self._moves_done - self._started,
                  "waited": self._since_start("waited"), "forwarded": self._since_start("forwarded")}
        self.cluster.events.add(self.name, "drained", f"{self.name} handed off {result['sessions_moved']} sessions "
                                f"in {result['handoff_seconds']:.2f} s, {lost} lost")
        return result

    # -- helpers ------------------------------------------------------------------------------
    def _since_start(self, count):
        """How many requests the instance counted under ``count`` ("waited", "forwarded") since ``start()``."""
        return self.counts.get(count, 0) - self._counts_before.get(count, 0)

    def _owner(self, key):
        """The peer the plan gives ``key`` to (the same ring the instance was told about)."""
        name = self._ring.owner(key, [peer.name for peer in self.peers])
        return next(peer for peer in self.peers if peer.name == name)

    def _ask(self, method, path, body=None):
        """One internal call to the instance being drained; ``TransferFailed`` if it does not answer."""
        answer, _ = call(address_of(self.instance), method, path, body, self.cluster.secret)
        return answer

    def _peer_has(self, peer, session_id):
        """Did ``peer`` receive ``session_id``? (The move's answer was lost with the instance.)"""
        try:
            answer, _ = call(address_of(peer), "GET", "/internal/sessions", None, self.cluster.secret)
        except TransferFailed:
            return False
        return any(entry["id"] == session_id for entry in answer.get("sessions", []))
