"""One leader at a time: leases elect it, fencing tokens stop the one that does not know it was replaced.

When several nodes could do a job that only one may do (issue invoice numbers,
write a shared file, run a scheduled task), they elect a leader with a
*lease*: a record in a shared store saying "node A leads until 12:00:05".
The leader renews it while it works; if it dies, the lease runs out and
another node takes over. No one has to detect the death.

The trap: a leader can be *paused* (a long garbage-collection pause, a
stopped virtual machine, a swapped-out process) between checking its lease
and using it. It wakes up believing it still leads, although its lease ran
out and another node leads now: two leaders, *split brain*. No check the old
leader makes can close that gap, because the pause can come right after any
check. The shared resource has to close it. Each lease comes with a
*fencing token*, a number the lease store raises with every new lease; the
leader sends its token with every write, and the resource refuses a token
lower than one it has already seen. The paused leader's late write carries
an old token and is refused.

* ``LeaseStore``: leases with an expiry in a SQLite table; ``acquire`` grants
  or renews, and every new grant gets the next token.
* ``SharedResource``: an HTTP service that records writes, with or without the
  fencing check, and keeps the ledger of what it accepted and refused.

Chapter 07, claim M9 (``labs/split_brain.py`` runs the leaders); chapter 04's
job queue uses the same tokens (``job_queue.py``).
"""

import collections
import contextlib
import os
import shutil
import sqlite3
import tempfile
import threading
import time

from ..checks import require_number
from ..engine.application import Application
from ..engine.instance import HTTPError, Instance, Response
from ..engine.lifecycle import Closable
from .json_client import JsonClient
from .service import Service

__all__ = ["Lease", "LeaseStore", "Write", "SharedResource"]

Lease = collections.namedtuple("Lease", "name holder token expires_at")


class LeaseStore(Closable):
    """Leases in SQLite: ``acquire(name, holder)`` -> ``Lease`` or None, ``holder(name)``. Times are wall-clock."""

    def __init__(self, lease_s=0.3):
        self.lease_s = require_number("lease_s", lease_s, 0.0, allow_minimum=False, unit="seconds")
        self._tempdir = tempfile.mkdtemp(prefix="lab-leases-")
        self.path = os.path.join(self._tempdir, "leases.sqlite3")
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._db.execute("CREATE TABLE leases (name TEXT PRIMARY KEY, holder TEXT NOT NULL, "
                         "token INTEGER NOT NULL, expires_at REAL NOT NULL)")
        self._lock = threading.Lock()          # one connection, shared by the candidates' threads
        self._opened()

    def acquire(self, name, holder):
        """Renew ``holder``'s live lease (same token), or grant an expired or free one (next token); else None."""
        now = time.time()
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")            # read and grant in one step: never two holders
            try:
                row = self._db.execute("SELECT holder, token, expires_at FROM leases WHERE name = ?",
                                       (name,)).fetchone()
                if row is not None and row[2] > now and row[0] != holder:
                    granted = None                         # someone else holds a live lease
                else:
                    renewing = row is not None and row[2] > now           # and row[0] == holder
                    token = row[1] if renewing else (row[1] + 1 if row is not None else 1)
                    granted = Lease(name, holder, token, now + self.lease_s)
                    self._db.execute("INSERT OR REPLACE INTO leases VALUES (?, ?, ?, ?)", granted)
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
        return granted

    def holder(self, name):
        """Who holds a live lease on ``name`` now (None once it has expired)."""
        with self._lock:
            row = self._db.execute("SELECT holder, expires_at FROM leases WHERE name = ?", (name,)).fetchone()
        return row[0] if row is not None and row[1] > time.time() else None

    def _close(self):
        with self._lock:
            self._db.close()
        shutil.rmtree(self._tempdir, ignore_errors=True)

    def __repr__(self):
        return f"LeaseStore(lease_s={self.lease_s:g})"


Write = collections.namedtuple("Write", "order lock token writer key value accepted")


class _ResourceApp(Application):
    """``POST /write`` {lock, token, writer, key, value}; ``GET /ledger``. Fencing refuses a token below the highest seen."""

    not_state = {"fencing": "configuration", "_lock": "a lock: it orders writes, it holds no data"}

    def __init__(self, fencing):
        self.fencing = fencing
        self.values = {}                       # key -> value: what the resource holds now
        self.ledger = []                       # every write, accepted or refused, in arrival order
        self.highest = {}                      # lock name -> highest token seen
        self._lock = threading.Lock()

    def handle(self, request, instance):
        if request.path == "/health":
            return Response(200, {"status": "ok"})
        if request.path == "/ledger" and request.method == "GET":
            with self._lock:
                return Response(200, {"writes": [w._asdict() for w in self.ledger], "values": dict(self.values)})
        if request.path != "/write" or request.method != "POST":
            raise HTTPError(404, "use POST /write or GET /ledger")
        body = request.json()
        lock, token, writer, key = (body.get(field) for field in ("lock", "token", "writer", "key"))
        if not all(isinstance(v, str) and v for v in (lock, writer, key)) or type(token) is not int or token < 1:
            raise HTTPError(400, 'send {"lock": "leader", "token": 3, "writer": "node-a", "key": "...", "value": ...} '
                                 "(tokens start at 1)")
        with self._lock:
            stale = self.fencing and token < self.highest.get(lock, 0)
            self.ledger.append(Write(len(self.ledger) + 1, lock, token, writer, key, body.get("value"), not stale))
            if stale:
                raise HTTPError(409, f"stale fencing token {token} for {lock!r}: token "
                                     f"{self.highest[lock]} has written since; you are no longer its holder")
            self.highest[lock] = max(token, self.highest.get(lock, 0))
            self.values[key] = body.get("value")
        return Response(200, {"key": key, "accepted": True})


class SharedResource(Service):
    """A store several nodes write to: ``write(...)`` -> accepted?, ``ledger()`` -> list of ``Write``.

    ``fencing=True`` makes it refuse (409) a write whose token is lower than
    the highest token it has seen for the same lock; ``fencing=False`` accepts
    every write, as a plain file or database table would.
    """

    def __init__(self, fencing=True, name="shared-resource"):
        self.fencing = fencing
        self.instance = Instance(lambda: _ResourceApp(fencing), name=name)

    def write(self, lock, token, writer, key, value):
        """Send one write over HTTP; True if the resource accepted it."""
        status, _ = self._call("POST", "/write", {"lock": lock, "token": token, "writer": writer,
                                                  "key": key, "value": value})
        return status == 200

    def ledger(self):
        """Every write the resource received, in order, with ``accepted`` True or False."""
        status, answer = self._call("GET", "/ledger")
        return [Write(**write) for write in answer.get("writes", [])] if status == 200 else []

    def values(self):
        """What the resource holds now, key by key."""
        return self._call("GET", "/ledger")[1].get("values", {})

    def _call(self, method, path, body=None):
        """One request on a connection of its own: leaders call from their own threads."""
        with contextlib.closing(JsonClient(self.url)) as client:
            return client.call(method, path, body)

    def __repr__(self):
        return f"<SharedResource fencing={'on' if self.fencing else 'off'} {self.instance.status}>"
