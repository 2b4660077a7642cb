"""Blue-green for a stateful tier: fill green with blue's sessions before the switch (chapter 06, claim W9).

A blue-green deploy starts a complete new set of instances (green) beside the
old one (blue) and switches all traffic at once. For a stateless shop that is
the whole story. For a stateful one, green starts empty, so the switch logs
out everyone who was on blue, unless the sessions are copied first. But blue
keeps serving while it is being copied: a cart changed after its copy left
would be lost at the switch. ``SessionSync`` handles it the way live
migration of a virtual machine does (pre-copy, then a short stop-and-copy):

1. **Copy everything** (``copy()``, the first time): each blue instance sends
   all its sessions to its green partner and starts a *change log*: the ids of
   the sessions written from now on (a login, an add, a logout).
2. **Copy what changed** (``copy()`` again): only the sessions in the change
   log travel; usually far fewer. Repeat while the rounds keep shrinking (a
   round that sends as much as the one before means the users write as fast as
   the copy goes: more rounds would not help).
3. **Commit** (``commit()``): each blue instance freezes its sessions (a request
   for one waits), sends the last changes, points every session at its green
   partner and lets the waiting requests go on, to green. The balancer's table
   learns where each session went. Only this step makes users wait, and only
   for the last few changes.

The alternative would be dual writes (every change applied on blue *and*
green while the copy runs): no freeze at all, but every write pays for two
instances and must handle one of them failing. The change log keeps writes
cheap and pays with a short freeze instead.

A shop whose instances hold no sessions (the stateless one) has nothing to
copy: the report says so with counts of zero, measured by the walk of blue's
memory. ``deploys.blue_green(..., sync_state=True)`` uses this module.
"""

import dataclasses

from ..engine.policies import ConsistentHash
from ..engine.tables import ResultTable
from .transfer import address_of, call

__all__ = ["SessionSync", "SyncReport"]

MAX_ROUNDS = 4          # copies before the commit, at most
SMALL_ROUND = 2         # a round that copied this few sessions is small enough to commit after


@dataclasses.dataclass(frozen=True, repr=False)
class SyncReport(ResultTable):
    """What a blue-green sync copied. Counts are for checking; the milliseconds only for showing."""

    sessions: int           # sessions blue held when the sync started (measured by the walk)
    first_copy: int         # sessions sent by the first, full copy
    recopied: int           # sessions written during the copy and sent again by later rounds
    rounds: int             # copies before the commit
    final_changes: int      # sessions sent during the freeze (written since the last round)
    moved: int              # sessions pointed at green by the commit
    bytes_copied: int
    waited: int             # requests that waited for the freeze
    frozen_ms: float        # the longest freeze of one blue instance (the switch's wait)

    def _table_data(self):
        rows = [["sessions on blue", self.sessions], ["sent by the first copy", self.first_copy],
                ["written meanwhile, sent again", self.recopied], ["copy rounds", self.rounds],
                ["sent during the freeze", self.final_changes], ["sessions now on green", self.moved],
                ["requests that waited for the freeze", self.waited]]
        return "Blue-green with state synchronization", ["step", "count"], rows


class SessionSync:
    """Copy each blue instance's sessions to its green partner (``pairs``: {blue: green}), then commit."""

    def __init__(self, cluster, pairs):
        self.cluster, self.pairs = cluster, dict(pairs)
        self.rounds = []                 # sessions copied by each round
        self.bytes_copied = self.final_changes = self.moved = self.waited = 0
        self.frozen_ms = 0.0
        self.sessions = sum(cluster.sessions_held(cluster.instance(blue)) for blue in self.pairs)   # the walk
        self._waited_before = 0

    def run(self):
        """Copy until a round is small, stops shrinking, or ``MAX_ROUNDS`` is reached; then commit."""
        self.copy()
        while len(self.rounds) < MAX_ROUNDS and self.rounds[-1] > SMALL_ROUND and self._shrinking():
            self.copy()
        return self.commit()

    def _shrinking(self):
        """Did the last round send fewer sessions than the one before (or is it the first)?"""
        return len(self.rounds) < 2 or self.rounds[-1] < self.rounds[-2]

    def copy(self):
        """One round: every blue instance sends its green partner what changed since its last copy."""
        copied = 0
        if self.cluster.shop_class.moves_sessions:
            for blue, green in self.pairs.items():
                answer = self._ask(blue, "/internal/copy", {"to": green, "address": self._address(green)})
                if not self.rounds:
                    self._waited_before += answer["counts"].get("waited", 0)
                copied += answer["copied"]
                self.bytes_copied += answer["bytes"]
        self.rounds.append(copied)
        return copied

    def commit(self):
        """Freeze, send the last changes, point blue's sessions (and new logins) at green; returns the report."""
        waited_after = 0
        if self.cluster.shop_class.moves_sessions:
            for blue, green in self.pairs.items():
                self._ask(blue, "/internal/plan", {"policy": ConsistentHash.name, "names": [green]})
                answer = self._ask(blue, "/internal/move",
                                   {"to": green, "address": self._address(green), "sessions": "all"})
                self.cluster.balancer.repin({session_id: green for session_id in answer["moved"]})
                self.moved += len(answer["moved"])
                self.final_changes += answer["sent"]
                self.bytes_copied += answer["bytes"]
                self.frozen_ms = max(self.frozen_ms, answer["frozen_ms"])
                waited_after += answer["counts"].get("waited", 0)
        first = self.rounds[0] if self.rounds else 0
        return SyncReport(self.sessions, first, sum(self.rounds[1:]), len(self.rounds), self.final_changes,
                          self.moved, self.bytes_copied, waited_after - self._waited_before, self.frozen_ms)

    def _address(self, name):
        return address_of(self.cluster.instance(name))

    def _ask(self, name, path, body):
        answer, _ = call(self._address(name), "POST", path, body, self.cluster.secret)
        return answer
