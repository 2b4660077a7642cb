"""Disposability: a stateless instance is cheap to create and cheap to destroy.

Containers are built on the assumption that any instance can be started or
killed at any moment. That is only harmless when the instance holds nothing a
user needs. ``create_and_destroy`` measures how cheap it is in the lab: it
starts an instance, checks that it answers on its own port, kills it, checks
that the port is closed, and does it again. Each start and each kill takes
milliseconds, because there is nothing to load and nothing to hand over.

"Milliseconds" is a claim about time, and times vary with how busy the
machine is, so the checked statement is a yes/no against a stated limit far
above what the lab needs and far below what a stateful system's recovery
takes (a log replay, a cache warm-up: seconds to minutes): ``all_within(1.0)``
says whether every whole cycle (start, first answer, kill, port closed) took
under one second. The times themselves are shown, never checked.
Chapter 06 (claim W1) uses it.
"""

import http.client
import statistics
import time
from dataclasses import dataclass

from ..checks import require_int
from ..engine.tables import Table

__all__ = ["create_and_destroy", "DisposabilityResult"]


@dataclass(frozen=True)
class DisposabilityResult:
    """Create/kill cycles: how many worked, and what each start and kill took (ms, for showing only)."""
    cycles: int
    succeeded: int
    start_ms: tuple
    kill_ms: tuple

    @property
    def all_succeeded(self):
        return self.succeeded == self.cycles

    @property
    def cycle_ms(self):
        """Each whole cycle: start, first answer, kill and port closed, in ms."""
        return tuple(start + kill for start, kill in zip(self.start_ms, self.kill_ms))

    def all_within(self, seconds):
        """True when every cycle succeeded and each took less than ``seconds`` from start to gone."""
        return self.all_succeeded and max(self.cycle_ms) < seconds * 1000

    def timings(self):
        """A table of median and slowest start and kill times, in ms (they vary from run to run)."""
        rows = [[what, statistics.median(values), max(values)]
                for what, values in (("start and answer /health", self.start_ms), ("kill", self.kill_ms),
                                     ("whole cycle", self.cycle_ms))]
        return Table(["step", "median ms", "slowest ms"], rows, title=f"{self.cycles} create/kill cycles")

    def __repr__(self):
        return f"DisposabilityResult({self.succeeded} of {self.cycles} create/kill cycles succeeded)"


def _answers_health(url):
    """True when GET /health on ``url`` answers 200; False when nobody is listening."""
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=2.0)
    try:
        conn.request("GET", "/health")
        return conn.getresponse().status == 200
    except (OSError, http.client.HTTPException):
        return False
    finally:
        conn.close()


def create_and_destroy(cluster, cycles=20):
    """Start an instance, check it serves, kill it, check it is gone; ``cycles`` times.

    A cycle succeeds when the new instance answered ``/health`` on its own
    port and, once killed, refused connections and left the cluster.
    """
    require_int("cycles", cycles, 1)
    succeeded, start_ms, kill_ms = 0, [], []
    for _ in range(cycles):
        started = time.perf_counter()
        name = cluster.add_instance()
        url = cluster.instance(name).url
        served = _answers_health(url)
        start_ms.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        cluster.remove_instance(name, drain=False)      # a kill: no goodbye, nothing to hand over
        gone = not _answers_health(url) and name not in [i.name for i in cluster.instances]
        kill_ms.append((time.perf_counter() - started) * 1000)
        succeeded += served and gone
    return DisposabilityResult(cycles, succeeded, tuple(start_ms), tuple(kill_ms))
