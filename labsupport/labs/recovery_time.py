"""Chapter 07's recovery experiment: restart a node whose state is on disk, at three sizes, with and without a snapshot.

For each size, the same seeded writes (keys drawn from a quarter as many
users, so keys are overwritten as in real traffic) go to three nodes:

* a log-backed stateful node, restarted: it replays every entry of its log;
* the same with a snapshot taken after 90 % of the writes: it loads the
  snapshot and replays only the last 10 %;
* a database-backed stateless node, restarted: it loads nothing.

Each restarted stateful node must come back with exactly the state it had
(compared key by key with what the writes imply). The counts (entries
replayed, state restored) are the same on every run and are what chapter 07
checks; the seconds are shown beside them and vary. ``benchmarks/recovery_time.py``
prints the timings at each size. Claim M8.
"""

import dataclasses
import itertools
import random

from ..checks import require_int, require_seed
from ..engine.tables import ResultTable, Table
from ..services.recovery_log import DatabaseBackedNode, LogBackedNode

__all__ = ["RECOVERY_SIZES", "RecoveryRun", "RecoveryTime", "seeded_writes", "recovery_experiment"]

RECOVERY_SIZES = (1_000, 10_000, 100_000)
SNAPSHOT_AT = 0.9                 # the snapshot is taken after this share of the writes


def seeded_writes(count, seed=7):
    """``count`` (key, value) writes over ``count // 4`` keys, the same for a given seed."""
    rng = random.Random(seed)
    users = max(1, count // 4)
    return [(f"user-{rng.randrange(users)}", rng.randrange(1000)) for _ in range(count)]


@dataclasses.dataclass(frozen=True)
class RecoveryRun:
    """One size: what each restart read, whether the state came back, and how long it took."""

    entries: int                  # writes the node took before its restart
    keys: int                     # distinct keys they left
    replayed: int                 # log entries replayed without a snapshot
    restored: bool                # state after the restart == state before, key by key
    snapshot_keys: int            # keys loaded from the snapshot
    replayed_after_snapshot: int
    restored_with_snapshot: bool
    stateless_rows: int           # rows the stateless node's database holds (it loads none of them)
    seconds: float                # timings: for showing, never for checking
    seconds_with_snapshot: float
    stateless_seconds: float


@dataclasses.dataclass(frozen=True, repr=False)
class RecoveryTime(ResultTable):
    """``runs`` per size; the text table holds counts only; ``timings`` is the table of seconds."""

    runs: tuple

    def _table_data(self):
        rows = [[run.entries, run.keys, run.replayed, "yes" if run.restored else "no", run.snapshot_keys,
                 run.replayed_after_snapshot, "yes" if run.restored_with_snapshot else "no"] for run in self.runs]
        return ("What each restart had to read back (the stateless node reads nothing)",
                ["entries written", "keys", "replayed", "state back", "snapshot keys loaded",
                 "replayed after snapshot", "state back (snapshot)"], rows)

    @property
    def timings(self):
        rows = [[run.entries, round(run.seconds * 1000, 1), round(run.seconds_with_snapshot * 1000, 1),
                 round(run.stateless_seconds * 1000, 1)] for run in self.runs]
        return Table(["entries", "stateful: replay the log (ms)", "stateful: snapshot + log (ms)",
                      "stateless (ms)"], rows, title="Restart until serving again (varies run to run)")

    def replays_grow(self):
        """True when every bigger state replayed more entries than the smaller one."""
        replayed = [run.replayed for run in self.runs]
        return all(small < big for small, big in itertools.pairwise(replayed))


def _restart_log_node(writes, snapshot_after=None):
    """A stateful node takes ``writes`` (snapshotting after ``snapshot_after`` of them), then restarts."""
    with LogBackedNode() as node:
        node.start()
        node.fill(writes[:snapshot_after] if snapshot_after else writes)
        if snapshot_after:
            node.snapshot()
            node.fill(writes[snapshot_after:])
        before = node.state
        seconds = node.timed_restart()
        return node.recovery, node.state == before == dict(writes), seconds


def _restart_database_node(writes):
    with DatabaseBackedNode() as node:
        node.start()
        node.fill(writes)
        seconds = node.timed_restart()
        return node.rows(), seconds


def recovery_experiment(sizes=RECOVERY_SIZES, seed=7):
    """Restart after each number of writes in ``sizes``; returns a ``RecoveryTime``."""
    seed = require_seed(seed)
    runs = []
    for size in sizes:
        require_int("size", size, 10, 1_000_000)
        writes = seeded_writes(size, seed)
        full, restored, seconds = _restart_log_node(writes)
        with_snapshot, restored_snapshot, snapshot_seconds = _restart_log_node(writes, int(size * SNAPSHOT_AT))
        rows, stateless_seconds = _restart_database_node(writes)
        runs.append(RecoveryRun(size, len(dict(writes)), full.entries_replayed, restored,
                                with_snapshot.snapshot_keys, with_snapshot.entries_replayed, restored_snapshot,
                                rows, seconds, snapshot_seconds, stateless_seconds))
    return RecoveryTime(tuple(runs))
