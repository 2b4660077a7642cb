"""A bounded, thread-safe event log: how quiet servers tell you what happened.

Lab servers run in daemon threads and never print, because output from a
background thread lands in whichever notebook cell happens to be running.
Instead they append short events ("shop-2 killed", "alice lost her cart") to
an ``EventLog``; notebooks and the dashboard read it when they choose to.
"""

import collections
import threading
import time

from .held_state import Infrastructure

__all__ = ["Event", "EventLog"]

Event = collections.namedtuple("Event", "time source kind message")


class EventLog(Infrastructure):
    """Keeps the newest ``maxlen`` events; older ones fall off the end. Shared, so never an instance's state."""

    def __init__(self, maxlen=500):
        self._events = collections.deque(maxlen=maxlen)
        self._lock = threading.Lock()

    def add(self, source, kind, message):
        event = Event(time.monotonic(), source, kind, message)
        with self._lock:
            self._events.append(event)
        return event

    def recent(self, n=10, kind=None):
        """The newest ``n`` events (oldest first), optionally only of one ``kind``."""
        with self._lock:
            events = [e for e in self._events if kind is None or e.kind == kind]
        return events[-n:] if n else events

    def messages(self, n=10, kind=None):
        return [e.message for e in self.recent(n, kind)]

    def __len__(self):
        with self._lock:
            return len(self._events)
