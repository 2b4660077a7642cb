"""Recovery takes time: a stateful node that keeps its state on disk must read it back before it serves.

A stateful service that survives restarts writes every change to an
append-only log on its disk (a Kubernetes StatefulSet gives each pod such a
volume) and keeps the current state in memory for speed. Memory does not
survive a restart, so a new process rebuilds it by *replaying the log* from
the first entry: the more writes the node has taken, the longer it is
unavailable after a crash, a deploy or a reschedule. Real systems cut this
down with a *snapshot* (a checkpoint of the whole state at some log position)
so that only the log after it is replayed, and they still pay for loading the
snapshot, rebuilding indexes, replicas catching up and caches warming up.

A stateless instance has nothing to rebuild: its data stay in the database
and a new process only opens a connection, so its restart time does not grow
with the data.

* ``DiskLog``: the log file (one JSON line per write) and the snapshot file.
* ``LogBackedNode``: an HTTP instance (``GET``/``PUT /kv/<key>``) whose every
  start replays the disk; ``recovery`` says what the last start read.
* ``DatabaseBackedNode``: the stateless counterpart, reading a SQLite table per request.

Chapter 07, claim M8 (``labs/recovery_time.py`` runs the experiment; the
growth is measured by ``benchmarks/recovery_time.py``); chapter 03's restart row.
"""

import contextlib
import dataclasses
import json
import os
import pathlib
import shutil
import sqlite3
import tempfile
import time

from ..engine.application import Application
from ..engine.instance import HTTPError, Instance, Response
from ..errors import InvalidArgumentError
from .service import Service

__all__ = ["DiskLog", "Recovery", "LogBackedNode", "DatabaseBackedNode"]


@dataclasses.dataclass(frozen=True)
class Recovery:
    """What one start read back from disk before it could serve."""

    snapshot_keys: int         # keys loaded from the snapshot (0 without one)
    snapshot_position: int     # the log position the snapshot covers
    entries_replayed: int      # log entries applied after the snapshot
    seconds: float             # time spent reading and applying (varies run to run)


class DiskLog:
    """An append-only log of writes plus an optional snapshot, in ``directory`` (which outlives any process)."""

    def __init__(self, directory):
        self.directory = pathlib.Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.log_path = self.directory / "log.jsonl"
        self.snapshot_path = self.directory / "snapshot.json"
        self.log_path.touch()

    def append(self, position, key, value):
        """Write one entry and hand it to the operating system (a crash of the process cannot lose it)."""
        self.append_many([(position, key, value)])

    def append_many(self, entries):
        lines = "".join(json.dumps({"position": p, "key": k, "value": v}) + "\n" for p, k, v in entries)
        with open(self.log_path, "a", encoding="utf-8") as log:
            log.write(lines)

    def write_snapshot(self, data, position):
        """Save the whole state as of ``position`` (the node's latest), then start the log afresh.

        A crash between the two steps is harmless: recovery skips log entries the snapshot already covers.
        """
        temporary = self.snapshot_path.with_suffix(".tmp")
        temporary.write_text(json.dumps({"position": position, "data": data}), encoding="utf-8")
        os.replace(temporary, self.snapshot_path)      # the old snapshot or the new one, never half of one
        with open(self.log_path, "w", encoding="utf-8"):
            pass                                       # truncated: every entry in it is in the snapshot now

    def recover(self):
        """Rebuild the state: load the snapshot (if any), replay the log after it. Returns ``(data, position, Recovery)``."""
        started = time.perf_counter()
        data, position, snapshot_keys, snapshot_position = {}, 0, 0, 0
        if self.snapshot_path.exists():
            snapshot = json.loads(self.snapshot_path.read_text(encoding="utf-8"))
            data, position = snapshot["data"], snapshot["position"]
            snapshot_keys, snapshot_position = len(data), position
        replayed = 0
        with open(self.log_path, encoding="utf-8") as log:
            for line in log:
                entry = json.loads(line)
                if entry["position"] > position:
                    data[entry["key"]] = entry["value"]
                    position = entry["position"]
                    replayed += 1
        return data, position, Recovery(snapshot_keys, snapshot_position, replayed, time.perf_counter() - started)

    def entries(self):
        """How many entries the log file holds now."""
        with open(self.log_path, encoding="utf-8") as log:
            return sum(1 for _ in log)


class _LogBackedApp(Application):
    """Serves from memory; every write goes to the disk log first. Created fresh (and recovered) on every start."""

    not_state = {"disk": "a handle to the files on disk, which outlive the process", "recovery": "a report"}

    def __init__(self, disk):
        self.disk = disk
        self.data, self.position, self.recovery = disk.recover()

    def handle(self, request, instance):
        if request.path == "/health":
            return Response(200, {"status": "ok"})
        key = _key(request)
        if request.method == "GET":
            return Response(200, {"key": key, "value": self.data.get(key)})
        if request.method == "PUT":
            value = _value(request)
            self.position += 1
            self.disk.append(self.position, key, value)      # the log first: what is logged survives a crash
            self.data[key] = value
            return Response(200, {"key": key, "position": self.position})
        raise HTTPError(405, f"{request.method} is not supported; use GET or PUT", headers={"Allow": "GET, PUT"})


class _DatabaseBackedApp(Application):
    """Holds nothing: every request reads or writes the SQLite table, so a new process has nothing to load."""

    not_state = {"path": "configuration: where the database file is"}

    def __init__(self, path):
        self.path = path

    def handle(self, request, instance):
        if request.path == "/health":
            return Response(200, {"status": "ok"})
        key = _key(request)
        with contextlib.closing(sqlite3.connect(self.path, isolation_level=None)) as db:
            if request.method == "GET":
                row = db.execute("SELECT value FROM kv WHERE key = ?", (key,)).fetchone()
                return Response(200, {"key": key, "value": None if row is None else json.loads(row[0])})
            if request.method == "PUT":
                db.execute("INSERT OR REPLACE INTO kv VALUES (?, ?)", (key, json.dumps(_value(request))))
                return Response(200, {"key": key})
        raise HTTPError(405, f"{request.method} is not supported; use GET or PUT", headers={"Allow": "GET, PUT"})


def _key(request):
    if not request.path.startswith("/kv/") or len(request.path) == len("/kv/"):
        raise HTTPError(404, "use GET or PUT /kv/<key>")
    return request.path[len("/kv/"):]


def _value(request):
    body = request.json()
    if "value" not in body:
        raise HTTPError(400, 'send {"value": ...}')
    return body["value"]


class _NodeWithFolder(Service):
    """A service whose data sit in a temporary folder that outlives restarts and goes on ``close()``."""

    def __init__(self, name, app_factory):
        self.folder = tempfile.mkdtemp(prefix=f"lab-{name}-")
        self.instance = Instance(app_factory, name=name)
        self._opened()                       # the folder exists from now on: shutdown_all() must remove it

    def timed_restart(self):
        """Crash, then start again; returns the seconds from the start call until it accepts connections."""
        self.instance.kill()
        started = time.perf_counter()
        self.instance.start()
        return time.perf_counter() - started

    def _close(self):
        super()._close()
        shutil.rmtree(self.folder, ignore_errors=True)


class LogBackedNode(_NodeWithFolder):
    """A stateful node with its state on disk: ``fill(entries)``, ``snapshot()``, ``timed_restart()``, ``recovery``."""

    def __init__(self, name="log-node"):
        super().__init__(name, lambda: _LogBackedApp(self.disk))
        self.disk = DiskLog(self.folder)

    def fill(self, writes):
        """Take ``writes`` ((key, value) pairs) as a busy node would have: each logged, then applied.

        The same log and memory a ``PUT`` reaches, without a hundred thousand HTTP round trips to set up.
        """
        app = self._running_app()
        entries = [(app.position + number, key, value) for number, (key, value) in enumerate(writes, 1)]
        self.disk.append_many(entries)
        for position, key, value in entries:
            app.data[key], app.position = value, position

    def snapshot(self):
        """Checkpoint the state in memory now; the log keeps only what comes after."""
        app = self._running_app()
        self.disk.write_snapshot(dict(app.data), app.position)

    @property
    def state(self):
        """The state in memory now (a copy)."""
        return dict(self._running_app().data)

    @property
    def recovery(self):
        """What the last start read from disk (a ``Recovery``)."""
        return self._running_app().recovery

    def _running_app(self):
        if self.instance.app is None:
            raise InvalidArgumentError(f"{self.instance.name} is not running (its memory is empty); call start() first")
        return self.instance.app


class DatabaseBackedNode(_NodeWithFolder):
    """The stateless counterpart: its data in a SQLite file; ``fill(writes)``, ``timed_restart()``."""

    def __init__(self, name="db-node"):
        super().__init__(name, lambda: _DatabaseBackedApp(self.path))
        self.path = os.path.join(self.folder, "data.sqlite3")
        with contextlib.closing(sqlite3.connect(self.path)) as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("CREATE TABLE kv (key TEXT PRIMARY KEY, value TEXT NOT NULL)")

    def fill(self, writes):
        with contextlib.closing(sqlite3.connect(self.path)) as db, db:
            db.executemany("INSERT OR REPLACE INTO kv VALUES (?, ?)", ((k, json.dumps(v)) for k, v in writes))

    def rows(self):
        with contextlib.closing(sqlite3.connect(self.path)) as db:
            return db.execute("SELECT COUNT(*) FROM kv").fetchone()[0]
