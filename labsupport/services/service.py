"""A service: one application on one lab instance, with the instance's lifecycle.

The identity provider and the object store of chapter 04 are each a single
server that the stateless tier leans on. ``Service`` lets them read like the
thing they are (``provider.url``, ``provider.kill()``) while the instance
underneath does the real work. Used by ``identity.py`` and ``object_store.py``.
"""

from ..engine.lifecycle import Closable

__all__ = ["Service"]


class Service(Closable):
    """Base for a service that runs one application on an ``Instance`` (identity provider, object store).

    A subclass creates ``self.instance``; callers get the instance's lifecycle
    and address through the service, so the service reads like the thing it is.
    """

    instance = None                            # set by the subclass

    url = property(lambda self: self.instance.url)
    alive = property(lambda self: self.instance.alive)

    def start(self):
        self.instance.start()
        self._opened()
        return self

    def stop(self):
        self.instance.stop()

    def kill(self):
        self.instance.kill()

    def restart(self):
        self.instance.restart()
        return self

    def _close(self):
        self.instance.close()
