"""Outlier ejection: take out an instance whose recent answers are far worse than the others'.

A health check asks an instance one question ("do you answer?"). Outlier
ejection, after Envoy's outlier detection, judges it by the answers real
requests got instead, compared with its peers. The balancer tells it the
outcome of every attempt (``record``): how long it took and whether it failed
(a 5xx, a timeout, no answer). It keeps each instance's last ``window``
outcomes. An instance whose mean latency is ``latency_factor`` times the median
of the others' (and above ``min_latency_ms``, so microseconds of noise never
count), or whose error rate is ``error_rate_gap`` above theirs, is ejected: it
gets no new clients for a cool-off of ``cool_off_s`` (30 s by default, as
Envoy's ``base_ejection_time``) times the number of times it has been ejected,
so an instance that keeps misbehaving stays out longer. The balancer's
health-check loop re-admits it afterwards with a clean slate (``readmit``).

Only an instance far worse than *the others* is an outlier: if every instance
fails alike (a shared database is down), nobody stands out and nobody is
ejected; and never more than ``max_ejected`` of the instances are out at once
(at least one may be), since every ejected instance is capacity lost. An
instance that answers nothing at all gives no outcomes until a request
timeout turns its silence into failures. ``NoEjection`` is the same interface
doing nothing, for a balancer with ejection off. Chapter 06 (claim W10).
"""

import collections
import statistics
import threading
import time

from ..checks import require_int, require_number

__all__ = ["OutlierEjection", "NoEjection"]


class _Window:
    """An instance's last few outcomes, with running sums so the mean costs nothing."""

    def __init__(self, size):
        self.outcomes = collections.deque(maxlen=size)
        self.total_ms = 0.0
        self.failures = 0

    def add(self, ms, failed):
        if len(self.outcomes) == self.outcomes.maxlen:
            old_ms, old_failed = self.outcomes[0]
            self.total_ms -= old_ms
            self.failures -= old_failed
        self.outcomes.append((ms, failed))
        self.total_ms += ms
        self.failures += failed

    def __len__(self):
        return len(self.outcomes)

    @property
    def mean_ms(self):
        return self.total_ms / len(self.outcomes)

    @property
    def error_rate(self):
        return self.failures / len(self.outcomes)


class NoEjection:
    """Outlier ejection switched off: nobody is ever ejected."""

    ejections = 0

    def record(self, name, ms, failed, instances):
        return None

    def ejected(self, name):
        return False

    def readmit(self):
        return []

    def forget(self, name):
        """An instance left the balancer."""

    def __repr__(self):
        return "NoEjection()"


class OutlierEjection(NoEjection):
    """Eject an instance whose recent latency or error rate is far above the others' (see the module docstring)."""

    def __init__(self, latency_factor=5.0, error_rate_gap=0.5, window=20, min_requests=5, min_latency_ms=20.0,
                 cool_off_s=30.0, max_ejected=0.5):
        self.latency_factor = require_number("latency_factor", latency_factor, 1, allow_minimum=False)
        self.error_rate_gap = require_number("error_rate_gap", error_rate_gap, 0, 1, allow_minimum=False)
        self.window = require_int("window", window, 1)
        self.min_requests = require_int("min_requests", min_requests, 1, self.window)
        self.min_latency_ms = require_number("min_latency_ms", min_latency_ms, 0, unit="milliseconds")
        self.cool_off_s = require_number("cool_off_s", cool_off_s, 0, allow_minimum=False, unit="seconds")
        self.max_ejected = require_number("max_ejected", max_ejected, 0, 1, allow_minimum=False)
        self.ejections = 0
        self.readmissions = 0
        self._windows = {}                        # name -> _Window
        self._until = {}                          # name -> when its cool-off ends (time.monotonic())
        self._times = collections.Counter()       # name -> how often it has been ejected
        self._lock = threading.Lock()

    def record(self, name, ms, failed, instances):
        """Note one attempt's outcome; returns why ``name`` was ejected just now, or None.

        ``instances`` is how many instances the balancer has (for ``max_ejected``).
        """
        with self._lock:
            if name in self._until:
                return None                       # out already; what was in flight when it left does not count
            window = self._windows.setdefault(name, _Window(self.window))
            window.add(ms, failed)
            why = self._why_outlier(name, window)
            if why is None or len(self._until) >= max(1, int(self.max_ejected * instances)):
                return None
            self._times[name] += 1
            self._until[name] = time.monotonic() + self.cool_off_s * self._times[name]
            self.ejections += 1
            return f"{why}; out for {self.cool_off_s * self._times[name]:g} s"

    def _why_outlier(self, name, window):
        if len(window) < self.min_requests:
            return None
        others = [w for n, w in self._windows.items() if n != name and n not in self._until
                  and len(w) >= self.min_requests]
        if not others:
            return None                           # an outlier needs others to stand out from
        their_ms = statistics.median(w.mean_ms for w in others)
        if window.mean_ms > self.min_latency_ms and window.mean_ms > self.latency_factor * their_ms:
            return f"mean latency {window.mean_ms:.0f} ms against {their_ms:.0f} ms for the others"
        their_errors = statistics.median(w.error_rate for w in others)
        if window.error_rate - their_errors >= self.error_rate_gap:
            return f"{window.error_rate:.0%} errors against {their_errors:.0%} for the others"
        return None

    def ejected(self, name):
        return name in self._until

    def readmit(self):
        """Let back every instance whose cool-off is over, with a fresh window; returns their names."""
        now = time.monotonic()
        with self._lock:
            back = [name for name, until in self._until.items() if until <= now]
            for name in back:
                del self._until[name]
                self._windows.pop(name, None)
            self.readmissions += len(back)
        return back

    def forget(self, name):
        with self._lock:
            self._windows.pop(name, None)
            self._until.pop(name, None)

    def __repr__(self):
        return (f"OutlierEjection(latency_factor={self.latency_factor:g}, error_rate_gap={self.error_rate_gap:g}, "
                f"cool_off_s={self.cool_off_s:g})")
