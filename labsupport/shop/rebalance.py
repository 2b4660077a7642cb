"""Scaling a partitioned stateful tier: move only the carts whose owner on the ring changed (chapter 06, W8).

With a hash policy every user has an owner: the instance their key hashes to.
When an instance joins or leaves, some owners change, and for a stateful shop
each changed owner is a cart in the wrong place: the user's next request goes
to an instance that never heard of them. ``Cluster.stateful(policy=
"consistent_hash", rebalance=True)`` makes ``scale(n)`` move those carts first,
in four steps:

1. **Prepare.** New instances start on standby (known to the balancer, not on
   its ring yet). Every instance that stays gets the *plan*: the ring of the
   names after the change. A login whose user now belongs elsewhere is sent
   there (``421`` + ``X-Moved-To``), so no cart is born in the wrong place.
2. **Move.** Each instance lists its sessions; those whose owner under the plan
   is another instance move there, a few at a time (``BATCH``), over HTTP
   between the two instances (``transfer.py``). A request for a cart on its way
   waits; one for a cart that has arrived is forwarded. None is answered with
   an empty cart.
3. **Switch.** The balancer's ring becomes the new one: the new instances join
   it, the leaving ones drop out.
4. **Finish.** Once every request sent under the old ring is answered, the
   plans are cleared and the leaving instances stop (they hold nothing).

How many carts move depends on the hashing: consistent hashing moves about
1/(n+1) of them when an instance joins, modulo hashing most of them; a
stateless shop moves none, because its instances hold none (measured, by
the walk of their memory).
"""

import collections
import dataclasses
import time

from ..engine.policies import POLICIES
from ..engine.tables import ResultTable
from .transfer import address_of, call

__all__ = ["Rebalance", "RebalanceReport", "HASHING"]

HASHING = ("consistent_hash", "modulo_hash")     # the policies that give every key one owner
SETTLE_TIMEOUT_S = 5.0
BATCH = 8                # sessions sent in one move: fewer round trips, each waits a little longer


@dataclasses.dataclass(frozen=True, repr=False)
class RebalanceReport(ResultTable):
    """What one ``scale(n)`` with rebalancing moved. Counts are for checking; ``seconds`` only for showing."""

    policy: str
    before: tuple                 # instance names before
    after: tuple                  # instance names after
    sessions: int                 # sessions held before, all instances together (measured by the walk)
    moved: int                    # sessions that changed instance
    bytes_moved: int
    sessions_lost: int            # sessions still held by a leaving instance when it stopped
    waited: int                   # requests that waited for their session on its way
    forwarded: int                # requests sent on to the session's new instance
    routes: dict                  # "shop-1 -> shop-5" -> sessions moved that way
    seconds: float

    @property
    def moved_fraction(self):
        return self.moved / self.sessions if self.sessions else 0.0

    def _table_data(self):
        rows = [[route, count] for route, count in self.routes.items()] or [["(nothing moved)", 0]]
        title = (f"{self.policy}: {len(self.before)} -> {len(self.after)} instances, {self.moved} of "
                 f"{self.sessions} sessions moved, {self.sessions_lost} lost")
        return title, ["from -> to", "sessions"], rows


class Rebalance:
    """``scale(n)`` that moves the carts whose owner changes: ``prepare()``, ``move()``, ``switch()``, ``finish()``."""

    def __init__(self, cluster, n, timeout=None):
        self.cluster, self.target, self.timeout = cluster, n, timeout
        self.ring = POLICIES[cluster.policy].build()
        self.old = self.after = self.leaving = self.new = ()
        self.plan = []                      # (source instance, owner name, [session ids]), a batch each
        self.routes = collections.Counter()
        self.sessions = self.bytes_moved = self.moved = 0
        self.counts = collections.Counter()       # requests the staying instances made wait or sent on
        self._started = None

    def run(self):
        self.prepare()
        self.move()
        self.switch()
        return self.finish()

    def prepare(self):
        """Start the new instances on standby, give every staying instance the plan, and list what moves."""
        cluster = self.cluster
        self._started = time.monotonic()
        for dead in [i for i in cluster.instances if not i.alive]:
            cluster.remove_instance(dead.name, drain=False)
        self.old = tuple(i.name for i in cluster.instances)
        self.leaving = self.old[self.target:]
        self.new = tuple(cluster.add_instance(standby=True) for _ in range(self.target - len(self.old)))
        self.after = tuple(name for name in self.old if name not in self.leaving) + self.new
        self.sessions = sum(cluster.held_sessions().get(name, 0) for name in self.old)   # the walk
        if not cluster.shop_class.moves_sessions:
            return self                     # its instances hold no sessions: nothing to plan or move
        for name in self.old:
            self._ask(name, "POST", "/internal/plan", {"policy": cluster.policy, "names": list(self.after)})
        for name in self.old:
            listed = self._ask(name, "GET", "/internal/sessions")
            self.counts.subtract(listed["counts"])           # what happened before this rebalance
            leaving = collections.defaultdict(list)          # new owner -> the sessions going there
            for entry in listed["sessions"]:
                owner = self.ring.owner(entry["key"], list(self.after))
                if owner != name:
                    leaving[owner].append(entry["id"])
            for owner, ids in sorted(leaving.items()):
                self.plan += [(name, owner, ids[i:i + BATCH]) for i in range(0, len(ids), BATCH)]
        return self

    def move(self):
        """Move each listed session from its instance to its owner under the plan, a batch at a time."""
        for source, owner, session_ids in self.plan:
            target = self.cluster.instance(owner)
            answer = self._ask(source, "POST", "/internal/move",
                               {"to": owner, "address": address_of(target), "sessions": session_ids})
            self.cluster.balancer.repin({moved: owner for moved in answer["moved"]})
            self.moved += len(answer["moved"])
            self.routes[f"{source} -> {owner}"] += len(answer["moved"])
            self.bytes_moved += answer["bytes"]
        return self

    def switch(self):
        """The balancer's ring becomes the new one."""
        for name in self.new:
            self.cluster.balancer.set_draining(name, False)
        for name in self.leaving:
            self.cluster.balancer.set_draining(name)
        return self

    def finish(self):
        """Wait out the requests sent under the old ring, clear the plans, stop the leaving instances."""
        self.cluster.balancer.settle(SETTLE_TIMEOUT_S)          # no request routed by the old ring is left
        if self.cluster.shop_class.moves_sessions:
            for name in self.old:
                self.counts.update(self._ask(name, "GET", "/internal/sessions")["counts"])
            for name in self.old:
                if name not in self.leaving:
                    self._ask(name, "POST", "/internal/plan", {"names": None})
        lost = sum(self.cluster.remove_instance(name, timeout=self.timeout)["sessions_lost"] for name in self.leaving)
        report = RebalanceReport(self.cluster.policy, self.old, self.after, self.sessions, self.moved,
                                 self.bytes_moved, lost, self.counts["waited"], self.counts["forwarded"],
                                 dict(sorted(self.routes.items())), time.monotonic() - self._started)
        self.cluster.events.add("cluster", "rebalance", f"scaled to {len(self.after)}: {self.moved} of "
                                f"{self.sessions} sessions moved, {lost} lost")
        return report

    def _ask(self, name, method, path, body=None):
        answer, _ = call(address_of(self.cluster.instance(name)), method, path, body, self.cluster.secret)
        return answer
