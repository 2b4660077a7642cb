"""One shell for everything the lab starts: registered while it runs, closed once, usable with ``with``.

Servers, clusters, players, queues, brokers and dashboards hold things that
must be given back (sockets, threads, temporary folders). Each of them is a
``Closable``, so each is closed the same way:

* ``_opened()``, called by the subclass as soon as it holds something to give
  back, registers it with ``registry``, so ``shutdown_all()`` (and the end of
  the Python process) closes it even if the notebook forgot;
* ``close()`` runs the subclass's ``_close()`` once, then unregisters; a second
  ``close()`` does nothing. A class that can be started again after closing
  (a server instance) calls ``_opened()`` again when it restarts;
* ``with thing:`` calls ``start()`` on the way in (for classes that start in
  ``__init__`` it just returns the object) and ``close()`` on the way out.

Modelled on the standard library's ``socketserver`` (``__exit__`` calls
``server_close()``). Used by every chapter, mostly without being seen.
"""

from . import registry

__all__ = ["Closable"]


class Closable:
    """For subclasses: call ``_opened()`` once started, write ``_close()``; callers use ``close()`` or ``with``."""

    closed = False

    def start(self):
        """Start, for classes that do not start in ``__init__``; returns self."""
        return self

    def _opened(self):
        """Register with the registry: from now on ``shutdown_all()`` closes this object."""
        self.closed = False
        registry.register(self)

    def close(self):
        """Give back everything this object holds. Safe to call twice."""
        if self.closed:
            return
        self.closed = True
        try:
            self._close()
        finally:
            registry.unregister(self)

    def _close(self):
        """For subclasses: release sockets, threads, files."""

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.close()
