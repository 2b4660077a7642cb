"""A service: one application on one lab instance, with the instance's lifecycle.

The identity provider and the object store of chapter 04 are each a single
server that the stateless tier leans on. ``Service`` lets them read like the
thing they are (``provider.url``, ``provider.kill()``) while the instance
underneath does the real work. Used by ``identity.py`` and ``object_store.py``.
"""

__all__ = ["Service"]


class Service:
    """Base for a service that runs one application on an ``Instance`` (identity provider, object store).

    A subclass creates ``self.server``; callers get the server's lifecycle and
    address through the service, so the service reads like the thing it is.
    """

    server = None                              # set by the subclass

    url = property(lambda self: self.server.url)
    alive = property(lambda self: self.server.alive)

    def start(self):
        self.server.start()
        return self

    def stop(self):
        self.server.stop()

    def kill(self):
        self.server.kill()

    def restart(self):
        self.server.restart()
        return self

    def close(self):
        self.server.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()
