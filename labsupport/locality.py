"""Locality: the further away state lives, the more each read of it costs.

The same read -- "give me the value of this key" -- measured on four rungs of
a ladder: a Python dict in this process's memory, a SQLite database file read
from this process, a Redis server reached over TCP, and another HTTP server
on this machine. Each rung adds work (a query engine, a socket, an HTTP
request) and the cost grows from a fraction of a microsecond to hundreds of
microseconds; across a real network each remote rung costs more still. A
request that reads its state 100 times multiplies the gap by 100, which is
why game servers and stream processors keep hot state in memory. Chapter 07
(claim M5) uses it.
"""

import http.client
import statistics
import time
from dataclasses import dataclass

from .errors import InvalidArgumentError
from .redis_server import start_redis
from .server import Response, Server
from .stores import RedisStore, SQLiteStore
from .tables import Table

__all__ = ["measure_ladder", "LatencyLadder", "RUNGS", "ALWAYS_MEASURED"]

RUNGS = ("dict in this process", "SQLite file, same process", "Redis over TCP", "HTTP hop to another server")
ALWAYS_MEASURED = (RUNGS[0], RUNGS[1], RUNGS[3])      # Redis may be missing on some machines
KEY, VALUE = "player-42", {"x": 3, "y": 7, "hp": 80}


class _ValueService:
    """A tiny HTTP application that keeps one value and answers GET /value with it."""

    def handle(self, request):
        return Response(200, VALUE)


@dataclass(frozen=True)
class LatencyLadder:
    """Median microseconds per read on each rung: ``per_read_us[rung]`` (timings: show, never assert)."""
    per_read_us: dict
    reads_per_request: int
    notes: tuple

    def ordered(self, rungs=ALWAYS_MEASURED):
        """True when each of ``rungs`` costs more per read than the one before it."""
        costs = [self.per_read_us[rung] for rung in rungs]
        return all(a < b for a, b in zip(costs, costs[1:]))

    def slower_than_memory(self, rung):
        return self.per_read_us[rung] / self.per_read_us[RUNGS[0]]

    def table(self):
        n = self.reads_per_request
        rows = [[rung, f"{us:.3g}", f"{us * n / 1000:.3g}", round(self.slower_than_memory(rung))]
                for rung, us in self.per_read_us.items()]
        return Table(["where the state is", "one read (µs)", f"{n} reads (ms)", "times a dict"], rows,
                     title="One read of a small value, measured on this machine")

    def _repr_html_(self):
        return self.table()._repr_html_()

    def __repr__(self):
        return self.table().table()


def _per_read_us(read, reads, batches):
    """Median over ``batches`` of the time per read, in microseconds."""
    read()                                          # warm up: connections opened, caches filled
    samples = []
    for _ in range(batches):
        started = time.perf_counter()
        for _ in range(reads):
            read()
        samples.append((time.perf_counter() - started) / reads * 1e6)
    return statistics.median(samples)


def _http_reader(server):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5.0)

    def read():
        conn.request("GET", "/value")
        return conn.getresponse().read()
    return conn, read


def measure_ladder(reads=200, batches=5, reads_per_request=100):
    """Measure each rung with ``batches`` batches of ``reads`` reads; returns a ``LatencyLadder``.

    Redis is skipped (with a note) if no Redis server can be started here.
    """
    for name, value in (("reads", reads), ("batches", batches), ("reads_per_request", reads_per_request)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise InvalidArgumentError(f"{name} must be a whole number >= 1, not {value!r}")
    costs, notes = {}, []
    memory = {KEY: VALUE}
    costs[RUNGS[0]] = _per_read_us(lambda: memory[KEY], reads * 50, batches)
    with SQLiteStore() as database:
        database.put(KEY, VALUE)
        costs[RUNGS[1]] = _per_read_us(lambda: database.get(KEY), reads, batches)
    redis_server = start_redis()
    if redis_server is None:
        notes.append("Redis was skipped: no Redis server could be started on this machine.")
    else:
        with redis_server, RedisStore(redis_server.url, prefix="locality:") as cache:
            cache.put(KEY, VALUE)
            costs[RUNGS[2]] = _per_read_us(lambda: cache.get(KEY), reads, batches)
    with Server(_ValueService, name="state-server") as server:
        conn, read = _http_reader(server)
        try:
            costs[RUNGS[3]] = _per_read_us(read, reads, batches)
        finally:
            conn.close()
    return LatencyLadder(costs, reads_per_request, tuple(notes))
