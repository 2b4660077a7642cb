"""How a region's state reaches another region: not at all, a few seconds late, or before every write returns.

Three classes, one per choice, answer the same questions for the region
failure model (``regions.py``, chapter 06, W6): when the region dies, which
of its writes are lost (``lose``: the RPO is how old the oldest lost write
is); whether a copy must be promoted before anyone is served again
(``promote_s``); and what every write costs on an ordinary day
(``write_ms``). The tier, stateless or stateful, does not appear here: a
stateless tier's database and a stateful tier's memory lose the same writes
when they are copied the same way.
"""

import math
from dataclasses import dataclass

from ..checks import require_choice, require_number
from ..engine.tables import format_duration

__all__ = ["NoReplica", "AsyncReplica", "SyncReplica", "Loss", "make_replication", "REPLICATIONS",
           "LOCAL_WRITE_MS", "CROSS_REGION_RTT_MS", "PROMOTE_S"]

REPLICATIONS = ("none", "async", "sync")
LOCAL_WRITE_MS = 2          # a write to state in the same region
CROSS_REGION_RTT_MS = 80    # one round trip to another region (e.g. Europe - US East)
PROMOTE_S = 60              # a replica is made the new primary before it serves


@dataclass(frozen=True)
class Loss:
    """What a region's death cost: sessions gone entirely, sessions missing recent writes, writes, and the RPO."""
    sessions_lost: float = 0.0
    sessions_missing_writes: float = 0.0
    writes_lost: float = 0.0
    rpo_s: float = 0.0              # age of the oldest lost write (inf: all of it)


class NoReplica:
    """The state lives only in its own region: when the region dies, all of it does."""

    name, promote_s, write_ms, keeps_sessions = "none", 0.0, LOCAL_WRITE_MS, False

    def label(self):
        return "none"

    def lose(self, sessions, writes_per_s, writes_per_session_s, session_s):
        """Every session, and everything it wrote (a live session is ``session_s`` old on average).

        Each ``lose`` gets the region's live ``sessions``, its writes in each
        second so far (``writes_per_s``, newest last), how often a session
        writes, and how long a session lasts on average.
        """
        return Loss(sessions_lost=sessions, writes_lost=sessions * writes_per_session_s * session_s, rpo_s=math.inf)


class AsyncReplica:
    """A replica in another region that receives each write ``lag_s`` seconds after it happened."""

    name, promote_s, write_ms, keeps_sessions = "async", PROMOTE_S, LOCAL_WRITE_MS, True

    def __init__(self, lag_s):
        self.lag_s = require_number("replication_lag_s", lag_s)

    def label(self):
        return f"async, {format_duration(self.lag_s)} lag"

    def lose(self, sessions, writes_per_s, writes_per_session_s, session_s):
        """The writes of the last ``lag_s`` seconds, counted from the region's per-second history."""
        unsent = math.ceil(self.lag_s)
        if not unsent:
            return Loss()
        hit = sessions * (1 - math.exp(-writes_per_session_s * self.lag_s))   # sessions with a write in the gap
        return Loss(sessions_missing_writes=hit, writes_lost=sum(writes_per_s[-unsent:]), rpo_s=unsent)


class SyncReplica:
    """Every write waits until another region has it: nothing acknowledged is lost, every write is slower."""

    name, promote_s, write_ms, keeps_sessions = "sync", PROMOTE_S, LOCAL_WRITE_MS + CROSS_REGION_RTT_MS, True

    def label(self):
        return "sync"

    def lose(self, sessions, writes_per_s, writes_per_session_s, session_s):
        return Loss()


def make_replication(replication, lag_s):
    """The replication object for ``replication`` ("none", "async" or "sync")."""
    require_choice("replication", replication, REPLICATIONS)
    lag_s = require_number("replication_lag_s", lag_s)
    return {"none": NoReplica, "async": lambda: AsyncReplica(lag_s), "sync": SyncReplica}[replication]()
