"""The latency ladder, measured live: how far away is your state?

The same small read, four places the value can live: a Python dict in the
process's own memory, a SQLite database file, a Redis server over loopback
TCP, and another HTTP service. Each rung is measured here, now, on this
machine (the median of many reads), because the point is the ratio between
rungs: a stateful process reads its own memory, a stateless one pays for a
call to a store on every touch. ``cost_per_request_ms(touches)`` multiplies
it out for a request that touches state N times. The numbers vary from run
to run and machine to machine; the order of the rungs does not. Chapters 04
(E2) and 07 (M5).
"""

import http.client
import statistics
import time

from ..checks import require_int
from ..engine.application import Application
from ..engine.instance import Instance, Response
from ..engine.tables import ResultTable
from ..state.redis_server import start_redis
from ..state.stores import RedisStore, SQLiteStore

__all__ = ["Ladder", "measure_ladder", "RUNGS"]

RUNGS = ("dict", "SQLite", "Redis", "HTTP hop")
VALUE = {"user": "alice", "items": {"book": 2}}


class _Echo(Application):
    """The smallest possible service: answers every request with the same JSON."""

    def handle(self, request, instance):
        return Response(200, VALUE)


def _median_us(read, repeats):
    read()                                           # a first call pays for connecting; do not count it
    samples = []
    for _ in range(repeats):
        started = time.perf_counter_ns()
        read()
        samples.append((time.perf_counter_ns() - started) / 1000)
    return statistics.median(samples)


class Ladder(ResultTable):
    """Median microseconds per read for each rung that could be measured (``median_us``)."""

    def __init__(self, median_us, notes=()):
        self.median_us = dict(median_us)
        self.notes = list(notes)

    @property
    def rungs(self):
        return list(self.median_us)

    @property
    def fastest(self):
        return min(self.median_us, key=self.median_us.get)

    def faster(self, a, b):
        """True if rung ``a`` is faster than rung ``b`` on this run."""
        return self.median_us[a] < self.median_us[b]

    def times_slower(self, rung, than="dict"):
        return self.median_us[rung] / self.median_us[than]

    def cost_per_request_ms(self, touches):
        """Milliseconds a request spends on state if it touches it ``touches`` times: {rung: ms}."""
        return {rung: us * touches / 1000 for rung, us in self.median_us.items()}

    def _table_data(self):
        rows = [[rung, round(us, 2), round(self.times_slower(rung))] for rung, us in self.median_us.items()]
        return "One read, measured on this machine", ["where the state is", "median µs", "x dict"], rows

    def plot(self, touches=100):
        """Two bar charts: one read per rung, and a request touching state ``touches`` times (log scales)."""
        import matplotlib.pyplot as plt  # only when asked: importing labsupport draws nothing

        fig, (one, many) = plt.subplots(1, 2, figsize=(10, 3.4))
        colours = ["#90EE90"] + ["#FFB6C1"] * (len(self.rungs) - 1)
        one.bar(self.rungs, list(self.median_us.values()), color=colours, edgecolor="#555")
        one.set_yscale("log")
        one.set_ylabel("µs per read (log scale)")
        one.set_title("One read")
        costs = self.cost_per_request_ms(touches)
        many.bar(self.rungs, list(costs.values()), color=colours, edgecolor="#555")
        many.set_yscale("log")
        many.set_ylabel("ms per request (log scale)")
        many.set_title(f"A request that touches state {touches} times")
        fig.tight_layout()
        return fig


def measure_ladder(repeats=300, redis_url=None):
    """Measure every rung now; returns a ``Ladder``.

    Starts (and stops) its own SQLite file, HTTP service and, unless
    ``redis_url`` names one, its own Redis. Without any Redis that rung is
    left out and ``notes`` says so.
    """
    require_int("repeats", repeats, 10, 100_000)
    medians, notes = {}, []
    memory = {"cart:alice": VALUE}
    medians["dict"] = _median_us(lambda: memory.get("cart:alice"), repeats)
    with SQLiteStore() as database:
        database.put("cart:alice", VALUE)
        medians["SQLite"] = _median_us(lambda: database.get("cart:alice"), repeats)
    redis_server = None if redis_url else start_redis()
    if redis_url or redis_server is not None:
        try:
            with RedisStore(redis_url or redis_server.url, prefix="ladder:") as cache:
                cache.put("cart:alice", VALUE)
                medians["Redis"] = _median_us(lambda: cache.get("cart:alice"), repeats)
        finally:
            if redis_server is not None:
                redis_server.close()
    else:
        notes.append("No Redis server was found, so the Redis rung is missing.")
    with Instance(_Echo, name="echo", identity=False) as service:
        conn = http.client.HTTPConnection("127.0.0.1", service.port, timeout=5)

        def hop():
            conn.request("GET", "/cart")
            conn.getresponse().read()
        try:
            medians["HTTP hop"] = _median_us(hop, repeats)
        finally:
            conn.close()
    return Ladder(medians, notes)
