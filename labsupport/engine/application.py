"""The contract between an instance and the application it runs, written down.

An ``Instance`` (``instance.py``) is the process: a socket, threads, a
lifecycle. The *application* is what answers requests: the shop, the
identity provider, the balancer itself. Every application the lab runs is
an ``Application`` with three methods, so the instance calls them instead of
probing for them:

* ``handle(request, instance)`` answers one request. The instance passes
  itself in, so an application that wants to say who served the request
  (``X-Instance``, ``/whoami``) reads ``instance.name`` and ``instance.version``.
* ``held_state()`` says what the application keeps in its own memory between
  requests. It is *measured*, by walking the object (``held_state.py``), never
  declared: the only thing a class declares is which of its attributes are not
  state at all (``not_state``: a lock, configuration, code).
* ``close()`` tidies up after a graceful stop. A crash never calls it: a dying
  process tidies nothing.

Chapter 01 onwards: every server in the course runs one of these.
"""

from .held_state import measure

__all__ = ["Application"]


class Application:
    """Base class of everything an ``Instance`` runs. Subclasses write ``handle``; the rest has defaults.

    ``not_state`` maps an attribute name to why it is not the instance's state,
    for attributes the walk would otherwise count (handles to shared stores
    need no entry: their classes are marked ``Infrastructure``).
    """

    not_state = {}

    def handle(self, request, instance):
        """Answer ``request`` (a ``Request``) with a ``Response``, or raise ``HTTPError``."""
        raise NotImplementedError(f"{type(self).__name__} must define handle(request, instance)")

    def held_state(self):
        """What this application holds in memory now (a ``HeldState``), found by walking it.

        A subclass whose requests change its data from several threads may
        override this to hold its own lock around ``super().held_state()``, so
        the walk sees one consistent moment; never to report a count of its own.
        """
        return measure(self, self.not_state)

    def close(self):
        """Tidy up after a graceful stop (the default has nothing to tidy)."""
