"""The ledger: what virtual users noticed, counted exactly, and the report a traffic run returns.

Counting HTTP errors would miss what matters to a person: a cart that is
suddenly empty is a 200 OK. So the ledger counts outcomes as users experience
them (ok, failed, outcome unknown, sessions lost, items lost or duplicated),
plus who served whom and with which version. A ``Report`` freezes those
counts at the end of a run; its counts are what notebooks check, its
latencies are only ever shown. Used by ``traffic.py`` and every chapter.

Each count is defined once, here, and the definition travels with the number
(``DEFINITIONS``, shown beside the counts in a report's table). Two of them
are easy to mix up. When a shop forgets a user, the user logs in again and
retries; behind round-robin that can happen several times in one action, so
``relogins`` (how often it happened) can far exceed the number of users, while
``lost_sessions`` counts *people*: each user who lost a session at least once
is counted once, so it never exceeds the number of users.
"""

import collections
import threading

from ..engine.tables import Table
from ..errors import InvalidArgumentError

__all__ = ["Ledger", "Report", "LABELS", "DEFINITIONS", "ledger_table"]

# Each count has one key, and its label is written here once: reports, notebooks and the dashboard read it.
LABELS = {"actions": "actions", "ok": "ok", "failed": "failed", "unknown": "unknown outcome",
          "lost_sessions": "users who lost a session", "relogins": "re-logins",
          "lost_items": "lost items", "duplicated_items": "duplicated items"}

# ... and what each one counts, written once too.
DEFINITIONS = {
    "actions": "actions the users attempted (add, remove, look at the cart)",
    "ok": "actions done, with the cart exactly as the user expected",
    "failed": "actions the shop refused, saying nothing was applied (a 503)",
    "unknown": "actions whose request died with an instance: the user had to look at the cart to find out",
    "lost_sessions": "users the shop forgot at least once (each user counts once, however often it happened)",
    "relogins": "times a user had to log in again because the shop no longer knew their session",
    "lost_items": "items that vanished from a cart the user had filled",
    "duplicated_items": "items found in a cart more often than the user added them",
}

COUNTERS = tuple(key for key in LABELS if key != "lost_sessions")   # lost_sessions is a set of users, counted


class Ledger:
    """Thread-safe counters of everything the users noticed (keys: ``LABELS``, meanings: ``DEFINITIONS``)."""

    FIELDS = tuple(LABELS)

    def __init__(self):
        self._lock = threading.Lock()
        self.counts = dict.fromkeys(COUNTERS, 0)
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
        """``user`` found the shop had forgotten them, with ``items`` in the cart; they will log in again."""
        with self._lock:
            self.counts["relogins"] += 1
            self.counts["lost_items"] += items
            self.users_losing_sessions.add(user)

    def snapshot(self):
        """Every count by key (``LABELS``), ``lost_sessions`` being the number of distinct users."""
        with self._lock:
            counts = dict(self.counts, lost_sessions=len(self.users_losing_sessions))
        return {key: counts[key] for key in self.FIELDS}


class Report:
    """What a traffic run measured. Counts are exact; latencies are for showing, never for asserting.

    ``lost_sessions`` is the number of users who lost a session (``users_losing_sessions`` names
    them); ``relogins`` is how many times users had to log in again.
    """

    def __init__(self, users, ledger, seconds, chaos_events):
        counts = ledger.snapshot()
        self.users = users
        self.actions = counts["actions"]
        self.ok = counts["ok"]
        self.failed_actions = counts["failed"]
        self.unknown_outcomes = counts["unknown"]
        self.lost_sessions = counts["lost_sessions"]
        self.relogins = counts["relogins"]
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
                "unknown": self.unknown_outcomes, "lost_sessions": self.lost_sessions, "relogins": self.relogins,
                "lost_items": self.lost_items, "duplicated_items": self.duplicated_items}

    def summary(self):
        """The counts a user would notice, by label (no timings: safe to compare between runs)."""
        return {LABELS[key]: value for key, value in self.counts().items()}

    def __repr__(self):
        return "Report(" + ", ".join(f"{k}={v}" for k, v in self.summary().items()) + ")"

    def table(self):
        """The counts with what each one counts, as a ``Table`` (no timings: safe to compare between runs)."""
        return ledger_table(self.counts())

    def _repr_html_(self):
        return self.table()._repr_html_()


def ledger_table(counts, title=""):
    """A ``Table`` of ledger counts, each with its label and its one definition.

    ``counts`` maps ledger keys to numbers (``report.counts()``), or to one number per
    column: ``{"lost_sessions": {"round robin": 10, "sticky": 0}, ...}``.
    """
    first = next(iter(counts.values()), None)
    columns = list(first) if isinstance(first, dict) else ["count"]
    rows = [[LABELS[key], *(value.values() if isinstance(value, dict) else [value]), DEFINITIONS[key]]
            for key, value in counts.items()]
    return Table(["ledger", *columns, "what it counts"], rows, title=title)
