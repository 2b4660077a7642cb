"""The ledger: what virtual users noticed, counted exactly, and the report a traffic run returns.

Counting HTTP errors would miss what matters to a person: a cart that is
suddenly empty is a 200 OK. So the ledger counts outcomes as users experience
them (ok, failed, outcome unknown, sessions lost, items lost or duplicated),
plus who served whom and with which version. A ``Report`` freezes those
counts at the end of a run; its counts are what notebooks check, its
latencies are only ever shown. Used by ``traffic.py`` and every chapter.
"""

import collections
import threading

from ..errors import InvalidArgumentError

__all__ = ["Ledger", "Report", "LABELS"]

# Each count has one key, and its label is written here once: reports, notebooks and the dashboard read it.
LABELS = {"actions": "actions", "ok": "ok", "failed": "failed", "unknown": "unknown outcome",
          "lost_sessions": "lost sessions", "lost_items": "lost items", "duplicated_items": "duplicated items"}


class Ledger:
    """Thread-safe counters of everything the users noticed (keys: ``LABELS``)."""

    FIELDS = tuple(LABELS)

    def __init__(self):
        self._lock = threading.Lock()
        self.counts = dict.fromkeys(self.FIELDS, 0)
        self.by_instance = collections.Counter()
        self.latencies_ms = []
        self.users_losing_sessions = set()
        self.versions_by_user = collections.defaultdict(set)

    def add(self, **deltas):
        with self._lock:
            for key, delta in deltas.items():
                self.counts[key] += delta

    def served(self, user, instance, version, latency_ms):
        with self._lock:
            if instance:
                self.by_instance[instance] += 1
                self.versions_by_user[user].add(version)
            self.latencies_ms.append(latency_ms)

    def lost_session(self, user, items):
        with self._lock:
            self.counts["lost_sessions"] += 1
            self.counts["lost_items"] += items
            self.users_losing_sessions.add(user)

    def snapshot(self):
        with self._lock:
            return dict(self.counts)


class Report:
    """What a traffic run measured. Counts are exact; latencies are for showing, never for asserting."""

    def __init__(self, users, ledger, seconds, chaos_events):
        counts = ledger.snapshot()
        self.users = users
        self.actions = counts["actions"]
        self.ok = counts["ok"]
        self.failed_actions = counts["failed"]
        self.unknown_outcomes = counts["unknown"]
        self.lost_sessions = counts["lost_sessions"]
        self.lost_items = counts["lost_items"]
        self.duplicated_items = counts["duplicated_items"]
        self.by_instance = dict(sorted(ledger.by_instance.items()))
        self.users_losing_sessions = sorted(ledger.users_losing_sessions)
        self.users_seeing_two_versions = sorted(u for u, v in ledger.versions_by_user.items() if len(v) > 1)
        self.chaos_events = list(chaos_events)
        self.seconds = seconds
        self._latencies = sorted(ledger.latencies_ms)

    def latency_ms(self, percentile):
        if not 0 <= percentile <= 100:
            raise InvalidArgumentError(f"percentile must be between 0 and 100, not {percentile!r}")
        if not self._latencies:
            return 0.0
        index = min(len(self._latencies) - 1, int(round(percentile / 100 * (len(self._latencies) - 1))))
        return self._latencies[index]

    @property
    def throughput(self):
        return self.actions / self.seconds if self.seconds else 0.0

    def counts(self):
        """The counts a user would notice, by ledger key (``LABELS``)."""
        return {"actions": self.actions, "ok": self.ok, "failed": self.failed_actions,
                "unknown": self.unknown_outcomes, "lost_sessions": self.lost_sessions,
                "lost_items": self.lost_items, "duplicated_items": self.duplicated_items}

    def summary(self):
        """The counts a user would notice, by label (no timings: safe to compare between runs)."""
        return {LABELS[key]: value for key, value in self.counts().items()}

    def __repr__(self):
        return "Report(" + ", ".join(f"{k}={v}" for k, v in self.summary().items()) + ")"

    def _repr_html_(self):
        rows = "".join(f"<tr><td>{k}</td><td style='text-align:right'>{v}</td></tr>" for k, v in self.summary().items())
        return f"<table><tr><th>ledger</th><th>count</th></tr>{rows}</table>"
