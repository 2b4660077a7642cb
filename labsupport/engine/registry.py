"""One place that knows every server the lab started, so nothing outlives the lesson.

Each server, cluster or child process registers itself when it starts and
unregisters when it stops. ``shutdown_all()`` closes whatever is still
running. This is what lets a learner re-run a notebook in the same kernel
without "address already in use" or leaked threads: every chapter calls it
in its first cell, to start from a clean lab.

A chapter does not call it at the end: after Run All, its dashboards stay live
for the learner to play with. Cleanup happens when the kernel exits or
restarts instead: at interpreter exit, ``shutdown_all()`` runs and then the
process's lab folder (see ``workspace``) is removed. A kernel that is killed
outright runs no Python at all; for that case its child processes have the
``watchdog``, and the next lab process removes the folder it left behind.
"""

import atexit
import threading

from . import workspace

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
    sending them traffic before they go away. Then the process's lab folder
    goes too if nothing is left in it. Returns None, so a notebook cell that
    ends with it shows nothing.
    """
    while True:
        with _lock:
            if not _running:
                break
            thing = _running.pop()
        thing.close()
    workspace.remove_lab_folder(only_if_empty=True)


def _at_exit():
    """The kernel is exiting or restarting: stop everything, then remove the lab folder whatever it holds."""
    shutdown_all()
    workspace.remove_lab_folder()


atexit.register(_at_exit)
