"""More instances, more capacity: counted in requests served at once, not only in requests per second.

Each lab instance serves at most ``workers`` requests at the same time (the
capacity model in ``engine/instance.py``); a request that finds every worker
busy waits. So the capacity of a cluster is a count: instances x workers
requests in service at once. ``BusyMeter(cluster)`` watches that count while
something runs: every millisecond it adds up the busy workers of every
instance and keeps the highest sum it saw (``peak``).

Why a count and not just requests per second? Throughput is measured against
the wall clock, and on a busy laptop the wall clock also measures everything
else the machine is doing: a run with four instances can come out slower than
one with two. The peak is about the lab itself. It can never exceed the
cluster's workers, and it reaches them as soon as there are enough users to
keep every worker busy at one moment. A sample taken a little late can miss
a moment, so the meter can under-count but never over-count. Chapter 01
(claim S5) uses it, with the throughput shown beside it, unchecked.
"""

import threading

from ..engine.lifecycle import Closable

__all__ = ["BusyMeter"]

SAMPLE_S = 0.001


class BusyMeter(Closable):
    """Samples the requests in service across ``cluster``'s instances until closed; ``peak`` is the most seen.

    Use it as ``with BusyMeter(cluster) as busy: ...``, then read ``busy.peak``
    and ``busy.samples`` (how many times it looked).
    """

    def __init__(self, cluster, interval_s=SAMPLE_S):
        self.cluster = cluster
        self.interval_s = interval_s
        self.peak = 0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="busy-meter", daemon=True)
        self._opened()
        self._thread.start()

    def in_service(self):
        """Requests being served right now, summed over the running instances."""
        return sum(instance.stats["busy"] for instance in self.cluster.instances if instance.alive)

    def _watch(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self.in_service())
            self.samples += 1
            self._stop.wait(self.interval_s)

    def _close(self):
        self._stop.set()
        self._thread.join()

    def __repr__(self):
        return f"BusyMeter(peak={self.peak} requests in service at once, {self.samples} samples)"
