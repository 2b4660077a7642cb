"""Waiting for something to become true, with a deadline.

Distributed systems change state on their own schedule: a health check
notices a dead instance a moment later, a drained instance finishes its
last request when it finishes. Lab code therefore never sleeps a fixed time
and hopes; it polls a condition until it holds or a deadline passes, and
says which happened. Used by the experiments of chapters 04 to 06.
"""

import time

__all__ = ["wait_until"]


def wait_until(condition, timeout=10.0, interval=0.005):
    """Call ``condition()`` every ``interval`` s until it is true (returns True) or ``timeout`` s pass (False)."""
    deadline = time.monotonic() + timeout
    while True:
        if condition():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)
