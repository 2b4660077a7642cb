"""One place that knows every server the lab started, so nothing outlives the lesson.

Each server, cluster or child process registers itself when it starts and
unregisters when it stops. ``shutdown_all()`` closes whatever is still
running; it also runs at interpreter exit. This is what lets a learner re-run
a notebook in the same kernel without "address already in use" or leaked
threads. Used by every chapter (the last cell of each calls ``shutdown_all``).
"""

import atexit
import threading

__all__ = ["register", "unregister", "shutdown_all", "running"]

_lock = threading.Lock()
_running = []          # objects with a close() method, oldest first


def register(thing):
    """Remember ``thing`` (anything with ``close()``) until it is unregistered."""
    with _lock:
        if thing not in _running:
            _running.append(thing)
    return thing


def unregister(thing):
    """Forget ``thing``; closing it is the caller's job."""
    with _lock:
        if thing in _running:
            _running.remove(thing)


def running():
    """A snapshot of what is registered now, oldest first."""
    with _lock:
        return list(_running)


def shutdown_all():
    """Close everything still registered, newest first.

    Newest first, because a cluster registered after its instances must stop
    sending them traffic before they go away. Returns None, so a notebook
    cell that ends with it shows nothing.
    """
    while True:
        with _lock:
            if not _running:
                return
            thing = _running.pop()
        thing.close()


atexit.register(shutdown_all)
