"""Where state can live: process memory, a SQLite database, a Redis cache.

All three offer the same tiny key-value interface (``get``, ``put``,
``delete``, and ``update``, an atomic read-modify-write), so a lesson can move
state from one place to another and change nothing else. What differs is what
the lessons are about:

* ``MemoryStore`` lives and dies with one process: fastest, and gone on a crash.
* ``SQLiteStore`` is a real database file (WAL mode): it survives any instance.
* ``RedisStore`` is a real Redis server reached over TCP: shared and fast, but
  only as durable as Redis is configured to be (ours keeps nothing on disk).

Two knobs turn a store into an experiment: ``latency_ms`` adds a delay to
every call (a store in another rack, another region), and ``down()`` / ``up()``
model an outage: while down, every call fails at once with
``StoreUnavailable``, which the shops turn into a 503. ``calls`` counts the
load a store receives, and ``calls_from`` who sent it: a caller that names
itself (``caller="shop-2"``) is counted per name, which is how chapter 05's
live diagram knows which instance really called the database and how often.
Used from chapter 01 on; chapter 04 is about them.
"""

import collections
import json
import os
import queue
import shutil
import sqlite3
import threading
import time
from contextlib import contextmanager

import redis

from ..engine import workspace
from ..engine.held_state import Infrastructure
from ..errors import LabError

__all__ = ["StoreUnavailable", "Store", "MemoryStore", "SQLiteStore", "RedisStore"]


class StoreUnavailable(LabError, ConnectionError):
    """The store cannot be reached; the caller should fail fast (503), not hang."""


class Store(Infrastructure):
    """The shared interface and the two knobs. Subclasses implement the ``_get``-style methods.

    A store is infrastructure: an application holding one holds a handle, not the data
    (``engine/held_state.py`` leaves it out when it measures what an instance holds).
    """

    kind = "store"

    def __init__(self, latency_ms=0.0):
        self.latency_ms = latency_ms
        self.available = True
        self.calls = 0
        self.calls_from = collections.Counter()      # caller name -> calls, for callers that say who they are
        self._calls_lock = threading.Lock()

    def down(self):
        """Start an outage: every call raises ``StoreUnavailable`` until ``up()``."""
        self.available = False

    def up(self):
        self.available = True

    def _enter(self, caller):
        with self._calls_lock:
            self.calls += 1
            if caller is not None:
                self.calls_from[caller] += 1
        if self.latency_ms:
            time.sleep(self.latency_ms / 1000.0)
        if not self.available:
            raise StoreUnavailable(f"the {self.kind} is down")

    def get(self, key, default=None, caller=None):
        """The value of ``key`` (``default`` if none). ``caller``, if given, names who asked (``calls_from``)."""
        self._enter(caller)
        value = self._get(key)
        return default if value is None else value

    def put(self, key, value, ttl_s=None, caller=None):
        self._enter(caller)
        self._put(key, value, ttl_s)

    def delete(self, key, caller=None):
        self._enter(caller)
        self._delete(key)

    def update(self, key, change, ttl_s=None, caller=None):
        """Atomically replace the value with ``change(old_value_or_None)``; returns the new value."""
        self._enter(caller)
        return self._update(key, change, ttl_s)

    def close(self):
        """Release connections and files; a closed store is not used again."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class MemoryStore(Store):
    """A dict behind a lock: what a stateful instance keeps in its own memory."""

    kind = "memory"

    def __init__(self, latency_ms=0.0):
        super().__init__(latency_ms)
        self._data = {}
        self._expires = {}
        self._lock = threading.Lock()

    def _live(self, key):
        expires = self._expires.get(key)
        if expires is not None and expires <= time.monotonic():
            self._data.pop(key, None)
            self._expires.pop(key, None)
        return self._data.get(key)

    def _get(self, key):
        with self._lock:
            return self._live(key)

    def _put(self, key, value, ttl_s):
        with self._lock:
            self._data[key] = value
            self._expires[key] = time.monotonic() + ttl_s if ttl_s else None

    def _delete(self, key):
        with self._lock:
            self._data.pop(key, None)
            self._expires.pop(key, None)

    def _update(self, key, change, ttl_s):
        with self._lock:
            value = change(self._live(key))
            self._data[key] = value
            self._expires[key] = time.monotonic() + ttl_s if ttl_s else None
            return value

    def __len__(self):
        with self._lock:
            return len(self._data)


class SQLiteStore(Store):
    """A key-value table in a real SQLite database file, shared by every instance.

    WAL mode lets readers work while a writer commits. Connections come from a
    small pool, so each request uses one connection at a time from any thread.
    SQL is only ever built with ``?`` parameters, never by pasting strings.
    """

    kind = "database"

    def __init__(self, path=None, latency_ms=0.0):
        super().__init__(latency_ms)
        self._tempdir = None
        if path is None:
            self._tempdir = str(workspace.new_folder("db"))
            path = os.path.join(self._tempdir, "shop.sqlite3")
        self.path = str(path)
        self._pool = queue.LifoQueue()
        # SQLite lets one writer in at a time and makes the others retry with growing sleeps.
        # All our instances share this process, so they queue on a lock instead: same order, no sleeps.
        self._write_lock = threading.Lock()
        self._all = []
        self._pool_lock = threading.Lock()
        with self._connection() as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL, expires REAL)")

    @contextmanager
    def _connection(self):
        try:
            conn = self._pool.get_nowait()
        except queue.Empty:
            conn = sqlite3.connect(self.path, timeout=10, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA synchronous=NORMAL")
            with self._pool_lock:
                self._all.append(conn)
        try:
            yield conn
        finally:
            self._pool.put(conn)

    def _get(self, key):
        with self._connection() as conn:
            row = conn.execute("SELECT value FROM kv WHERE key = ? AND (expires IS NULL OR expires > ?)",
                               (key, time.time())).fetchone()
        return json.loads(row[0]) if row else None

    def _put(self, key, value, ttl_s):
        expires = time.time() + ttl_s if ttl_s else None
        with self._write_lock, self._connection() as conn:
            conn.execute("INSERT INTO kv (key, value, expires) VALUES (?, ?, ?) "
                         "ON CONFLICT(key) DO UPDATE SET value = excluded.value, expires = excluded.expires",
                         (key, json.dumps(value), expires))

    def _delete(self, key):
        with self._write_lock, self._connection() as conn:
            conn.execute("DELETE FROM kv WHERE key = ?", (key,))

    def _update(self, key, change, ttl_s):
        with self._write_lock, self._connection() as conn:
            conn.execute("BEGIN IMMEDIATE")        # take the write lock before reading
            try:
                row = conn.execute("SELECT value FROM kv WHERE key = ? AND (expires IS NULL OR expires > ?)",
                                   (key, time.time())).fetchone()
                value = change(json.loads(row[0]) if row else None)
                expires = time.time() + ttl_s if ttl_s else None
                conn.execute("INSERT INTO kv (key, value, expires) VALUES (?, ?, ?) "
                             "ON CONFLICT(key) DO UPDATE SET value = excluded.value, expires = excluded.expires",
                             (key, json.dumps(value), expires))
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        return value

    def count(self, prefix=""):
        """How many live keys start with ``prefix`` (a look at what the database holds)."""
        with self._connection() as conn:
            return conn.execute("SELECT COUNT(*) FROM kv WHERE key LIKE ? ESCAPE '\\' AND (expires IS NULL OR expires > ?)",
                                (prefix.replace("%", "\\%").replace("_", "\\_") + "%", time.time())).fetchone()[0]

    def close(self):
        with self._pool_lock:
            conns, self._all = self._all, []
        for conn in conns:
            conn.close()
        if self._tempdir:
            shutil.rmtree(self._tempdir, ignore_errors=True)
            self._tempdir = None


class RedisStore(Store):
    """Keys in a real Redis server, under a prefix so several shops can share one server.

    ``url`` carries the password too (``redis://:<password>@127.0.0.1:<port>/0``):
    every Redis the lab starts requires one, and ``RedisServer.url`` hands it
    out (see ``redis_server``). Timeouts are short on purpose: when Redis is
    gone, a request should fail in a second, not hang.
    """

    kind = "cache"

    def __init__(self, url, prefix="lab:", latency_ms=0.0):
        super().__init__(latency_ms)
        self.url = url
        self.prefix = prefix
        self.client = redis.Redis.from_url(url, socket_connect_timeout=1.0, socket_timeout=2.0,
                                           decode_responses=True)

    @contextmanager
    def _translate_errors(self):
        try:
            yield
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            raise StoreUnavailable(f"the cache is unreachable: {exc}") from None

    def _get(self, key):
        with self._translate_errors():
            raw = self.client.get(self.prefix + key)
        return json.loads(raw) if raw is not None else None

    def _put(self, key, value, ttl_s):
        with self._translate_errors():
            self.client.set(self.prefix + key, json.dumps(value), px=int(ttl_s * 1000) if ttl_s else None)

    def _delete(self, key):
        with self._translate_errors():
            self.client.delete(self.prefix + key)

    def _update(self, key, change, ttl_s):
        full_key = self.prefix + key

        def transaction(pipe):                  # WATCH, read, MULTI, write, EXEC; retried on conflict
            raw = pipe.get(full_key)
            value = change(json.loads(raw) if raw is not None else None)
            pipe.multi()
            pipe.set(full_key, json.dumps(value), px=int(ttl_s * 1000) if ttl_s else None)
            return value

        with self._translate_errors():
            return self.client.transaction(transaction, full_key, value_from_callable=True)

    def count(self, prefix=""):
        with self._translate_errors():
            return sum(1 for _ in self.client.scan_iter(match=self.prefix + prefix + "*", count=500))

    def close(self):
        self.client.close()
