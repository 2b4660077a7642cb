"""Chapter 07's replication experiments: what a failover loses, what a synchronous write costs, whose reads are stale.

Three experiments on ``services.replication`` (a primary, one replica, a real
socket between them), each returning a result whose text form is a table:

* ``failover_experiment``: acknowledged writes, then a crash of the primary
  while the replica lags, then the replica is promoted. The ledger is the
  client's: every write the primary acknowledged is read back from the new
  primary. The *predicted* loss comes from the log positions at the crash
  (primary's position minus replica's), the *counted* loss from the ledger.
* ``write_latency_experiment``: the same writes through an asynchronous and a
  synchronous primary over the same link, timed in one run.
* ``read_your_writes_experiment``: users write to the primary, then read from
  the lagging replica, from the primary, and from the replica asked to wait
  for the write's position.

Counts are the same on every run; timings are shown, never checked. Claim M7.
"""

import dataclasses
import statistics
import time

from ..checks import require_int, require_number
from ..engine.tables import ResultTable
from ..engine.waiting import wait_until
from ..services.json_client import JsonClient
from ..services.replication import ReplicaSet

__all__ = ["FailoverResult", "failover_experiment", "WriteLatency", "write_latency_experiment",
           "ReadYourWrites", "read_your_writes_experiment"]


def _write(client, key, value):
    status, answer = client.call("PUT", f"/kv/{key}", {"value": value})
    return answer["position"] if status == 200 else None


@dataclasses.dataclass(frozen=True, repr=False)
class FailoverResult(ResultTable):
    """What a failover cost, from the log positions (predicted) and from the client's ledger (counted)."""

    sync: bool
    lag_s: float
    acknowledged: int          # writes the primary told its client were saved
    primary_position: int      # the primary's log position when it crashed
    replica_position: int      # the replica's applied position then
    lost: int                  # acknowledged writes the promoted replica does not have
    lost_keys: tuple = ()

    @property
    def predicted(self):
        """What the lag predicts: the log entries the primary had and the replica had not."""
        return self.primary_position - self.replica_position

    def _table_data(self):
        mode = "a synchronous" if self.sync else "an asynchronous"
        rows = [["writes acknowledged to the client", self.acknowledged],
                ["primary's log position at the crash", self.primary_position],
                ["replica's log position at the crash", self.replica_position],
                ["predicted loss (primary - replica)", self.predicted],
                ["acknowledged writes missing after failover", self.lost]]
        return f"Failover to {mode} replica", ["", "count"], rows


def failover_experiment(sync=False, lag_s=1.0, writes=30, writes_in_lag=10):
    """``writes`` writes reach the replica; ``writes_in_lag`` more are written; then the primary dies.

    With ``sync=False`` the last ``writes_in_lag`` writes are still held back
    on the primary (they were written less than ``lag_s`` ago) and die with it.
    """
    require_int("writes", writes, 1, 1000)
    require_int("writes_in_lag", writes_in_lag, 0, 1000)
    with ReplicaSet(lag_s=lag_s, sync=sync) as pair:
        client = JsonClient(pair.primary.url)
        ledger = {}                                   # what the client was told is saved
        for number in range(writes):
            if _write(client, f"order-{number:03d}", number) is not None:
                ledger[f"order-{number:03d}"] = number
        wait_until(lambda: pair.lag() == 0, timeout=lag_s + 10)       # the replica has caught up
        for number in range(writes, writes + writes_in_lag):
            if _write(client, f"order-{number:03d}", number) is not None:
                ledger[f"order-{number:03d}"] = number
        primary_position, replica_position = pair.fail_over()
        client.close()
        survivor = JsonClient(pair.replica.url)
        missing = tuple(key for key, value in ledger.items()
                        if survivor.call("GET", f"/kv/{key}")[1].get("value") != value)
        survivor.close()
    return FailoverResult(sync, lag_s, len(ledger), primary_position, replica_position, len(missing), missing)


@dataclasses.dataclass(frozen=True, repr=False)
class WriteLatency(ResultTable):
    """Median write latency through an asynchronous and a synchronous primary, same link, same run."""

    lag_s: float
    writes: int
    async_ms: tuple
    sync_ms: tuple

    @property
    def ratio(self):
        """How many times slower the median synchronous write was."""
        return statistics.median(self.sync_ms) / statistics.median(self.async_ms)

    def _table_data(self):
        rows = [[mode, self.writes, round(statistics.median(times), 2)]
                for mode, times in (("asynchronous", self.async_ms), ("synchronous", self.sync_ms))]
        title = (f"One write, link delay {self.lag_s * 1000:g} ms: synchronous is {self.ratio:.0f}x slower "
                 "(timings vary run to run)")
        return title, ["replication", "writes", "median ms"], rows


def write_latency_experiment(lag_s=0.01, writes=30):
    """Time ``writes`` writes against each kind of primary over a link that delays each entry ``lag_s``."""
    require_number("lag_s", lag_s, 0.0, 1.0, unit="seconds")
    require_int("writes", writes, 1, 1000)
    timings = {}
    for sync in (False, True):
        with ReplicaSet(lag_s=lag_s, sync=sync) as pair:
            client = JsonClient(pair.primary.url)
            times = []
            for number in range(writes):
                started = time.perf_counter()
                _write(client, f"key-{number}", number)
                times.append((time.perf_counter() - started) * 1000)
            client.close()
        timings[sync] = tuple(times)
    return WriteLatency(lag_s, writes, timings[False], timings[True])


@dataclasses.dataclass(frozen=True, repr=False)
class ReadYourWrites(ResultTable):
    """For each way of reading: how many users saw the write they had just made."""

    users: int
    lag_s: float
    saw_own_write: dict          # way of reading -> users who saw their write

    def _table_data(self):
        rows = [[way, f"{seen} of {self.users}"] for way, seen in self.saw_own_write.items()]
        return (f"Each user writes to the primary, then reads it back (replica {self.lag_s:g} s behind)",
                ["read from", "saw their own write"], rows)


READS = ("the replica, at once", "the primary", "the replica, waiting for the write's position")


def read_your_writes_experiment(users=3, lag_s=0.5):
    """Each user writes their nickname to the primary and reads it back three ways."""
    require_int("users", users, 1, 20)
    require_number("lag_s", lag_s, 0.1, 5.0, unit="seconds")
    seen = dict.fromkeys(READS, 0)
    with ReplicaSet(lag_s=lag_s) as pair:
        primary, replica = JsonClient(pair.primary.url), JsonClient(pair.replica.url)
        for number in range(1, users + 1):
            key, value = f"user-{number}/nickname", f"nick-{number}"
            position = _write(primary, key, value)
            answers = {READS[0]: replica.call("GET", f"/kv/{key}"),
                       READS[1]: primary.call("GET", f"/kv/{key}"),
                       READS[2]: replica.call("GET", f"/kv/{key}?at_least={position}")}
            for way, (status, answer) in answers.items():
                seen[way] += status == 200 and answer.get("value") == value
        primary.close()
        replica.close()
    return ReadYourWrites(users, lag_s, seen)
