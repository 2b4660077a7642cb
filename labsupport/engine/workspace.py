"""One folder per lab process for every temporary file, and nothing left behind.

While it runs, the lab writes files: SQLite databases (with their write-ahead
logs), Redis's working folder and its configuration (which holds a password),
the object store's blobs, the job queue, the game results. All of them go into
ONE folder per Python process, named so anyone can tell what it is and whose:

    <your temp folder>/labsupport-<process id>-<random>/

* It is created on first use with mode 0700: on a shared machine (a JupyterHub
  server) no other user can list or read it.
* It holds ``owner.json``: the process id and the time that process started.
* At interpreter exit the registry removes it (after stopping every server).
* A process that is killed (out of memory, a culler's SIGKILL) cannot clean up
  after itself. So whenever a lab process creates its folder, it first removes
  the folders whose owner is gone. The start time, not only the id, tells a
  dead owner from a new process that happens to have the same id, and only
  folders that belong to you are ever touched.

Chapter 00 mentions it; every chapter that starts a shop uses it.
"""

import json
import os
import shutil
import stat
import tempfile
import threading
from pathlib import Path

import psutil

__all__ = ["FOLDER_PREFIX", "lab_folder", "new_folder", "remove_leftovers", "remove_lab_folder"]

FOLDER_PREFIX = "labsupport-"
OWNER_FILE = "owner.json"
START_TIME_TOLERANCE_S = 1.0      # two readings of one process's start time agree to well within this

_lock = threading.Lock()
_folder = None          # this process's folder, once created
_folder_pid = None      # the process that created it (a forked child must not reuse its parent's)


def _start_time(pid):
    """When process ``pid`` started (seconds since the epoch), or None if there is no such process."""
    try:
        return psutil.Process(pid).create_time()
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return None


def lab_folder():
    """This process's lab folder (mode 0700), created on first use; old folders of dead processes go first."""
    global _folder, _folder_pid
    with _lock:
        if _folder is not None and _folder_pid == os.getpid() and _folder.is_dir():
            return _folder
        base = Path(tempfile.gettempdir())
        remove_leftovers(base)
        folder = Path(tempfile.mkdtemp(prefix=f"{FOLDER_PREFIX}{os.getpid()}-", dir=base))   # 0700
        owner = {"pid": os.getpid(), "started": _start_time(os.getpid())}
        (folder / OWNER_FILE).write_text(json.dumps(owner), encoding="utf-8")
        _folder, _folder_pid = folder, os.getpid()
        return folder


def new_folder(name):
    """A new private folder (0700) inside the lab folder, e.g. ``new_folder("db")`` -> ``.../db-k3j9x2``."""
    return Path(tempfile.mkdtemp(prefix=f"{name}-", dir=lab_folder()))


def _owner_alive(folder):
    """Is the process that created ``folder`` still running? (False when the folder says nothing usable.)"""
    try:
        owner = json.loads((folder / OWNER_FILE).read_text(encoding="utf-8"))
        pid, started = int(owner["pid"]), owner["started"]
    except (OSError, ValueError, KeyError, TypeError):
        # No readable owner file: the process died between creating the folder and writing it,
        # or it is writing it right now. The id in the name still tells whether it runs.
        pid_text = folder.name[len(FOLDER_PREFIX):].split("-", 1)[0]
        return pid_text.isdigit() and psutil.pid_exists(int(pid_text))
    now = _start_time(pid)
    if now is None:
        return False
    return started is None or abs(now - float(started)) < START_TIME_TOLERANCE_S


def _is_mine(folder):
    """A real folder (not a link) owned by the user running this process."""
    info = folder.lstat()
    if not stat.S_ISDIR(info.st_mode):          # a link or a file with our prefix: leave it alone
        return False
    return not hasattr(os, "getuid") or info.st_uid == os.getuid()     # Windows: temp folders are per user


def remove_leftovers(base=None):
    """Remove lab folders in ``base`` (default: the temp folder) whose process is gone; returns them."""
    base = Path(base) if base is not None else Path(tempfile.gettempdir())
    removed = []
    for folder in sorted(base.glob(f"{FOLDER_PREFIX}*")):
        try:
            if folder == _folder or not _is_mine(folder) or _owner_alive(folder):
                continue
        except OSError:             # it vanished meanwhile, or we may not look: not ours to remove
            continue
        shutil.rmtree(folder, ignore_errors=True)
        if not folder.exists():
            removed.append(folder)
    return removed


def remove_lab_folder(only_if_empty=False):
    """Remove this process's folder; with ``only_if_empty`` only when nothing but its owner file is left.

    ``shutdown_all()`` uses ``only_if_empty`` (something the learner still holds may live there);
    interpreter exit removes it whatever it holds. The next ``lab_folder()`` makes a fresh one.
    """
    global _folder
    with _lock:
        if _folder is None or _folder_pid != os.getpid():
            return
        if only_if_empty and any(entry.name != OWNER_FILE for entry in _folder.iterdir()):
            return
        shutil.rmtree(_folder, ignore_errors=True)
        _folder = None
