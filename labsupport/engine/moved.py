"""Sessions that moved: how a balancer keeps finding a session after it was handed to another instance.

A stateful instance can hand its sessions to a peer instead of taking them
down with it (chapter 02: a drain with hand-off; chapter 06: rebalancing a
hash ring, a blue-green switch that copies sessions). The users must then be
sent to the new owner, and two mechanisms do it, both borrowed from Redis
Cluster:

* **A redirect from the old owner.** An instance asked about a session it no
  longer holds answers ``421 Misdirected Request`` with ``X-Moved-To: shop-4``
  and applies nothing. The balancer sends the same request to shop-4, once,
  as a Redis Cluster client follows a ``MOVED`` reply. This covers the moments
  while a hand-off runs.
* **A forwarding table in the balancer.** Once a hand-off is done, the cluster
  writes each moved session into ``MovedSessions`` (``repin``); from then on a
  request carrying that session goes straight to its new owner, even after the
  old one has stopped, and the answer re-points the user's sticky cookie. The
  table is keyed by the session the request carries, read by a ``session_key``
  function the cluster passes in (the balancer does not know any shop's cookies),
  as HAProxy's stick tables are keyed by a cookie named in its configuration.

Used by ``balancer.py``; the instances' side is ``shop/transfer.py``.
"""

import threading

from .messages import Response

__all__ = ["MovedSessions", "MOVED_HEADER", "moved_to", "not_followed"]

MOVED_HEADER = "X-Moved-To"        # with a 421 answer: "I do not hold this any more; ask that instance"


def _no_session(request):
    """The session key of a service without sessions: there is none."""
    return None


class MovedSessions:
    """The balancer's forwarding table: session key -> the instance the session was handed to.

    ``session_key(request)`` reads the key (None for a service without sessions);
    ``followed`` counts the "moved to" answers the balancer followed.
    """

    def __init__(self, session_key=None):
        self.session_key = session_key or _no_session
        self.table = {}
        self.followed = 0
        self._lock = threading.Lock()

    def repin(self, moves, known):
        """Add ``moves`` ({session key: instance}); drop entries for instances no longer in ``known``."""
        with self._lock:
            self.table.update(moves)
            for key in [key for key, name in self.table.items() if name not in known]:
                del self.table[key]

    def instance_for(self, serving, request):
        """The instance among ``serving`` that this request's session was handed to, or None."""
        if not self.table:
            return None
        name = self.table.get(self.session_key(request))
        return next((instance for instance in serving if instance.name == name), None)

    def count_followed(self):
        with self._lock:
            self.followed += 1

    def __len__(self):
        return len(self.table)


def moved_to(response):
    """The instance an instance's ``421`` + ``X-Moved-To`` answer (a ``RelayedResponse``) names, or None."""
    if response.status != 421:
        return None
    return next((value for name, value in response.relayed_fields if name.lower() == MOVED_HEADER.lower()), None)


def not_followed(source, name):
    """The answer when a "moved to" could not be followed: nothing was applied anywhere, so try again."""
    return Response(503, {"error": f"{source} handed this session to {name}, which cannot take it now; try again",
                          "outcome": "not_processed"}, headers={"Retry-After": "1"})
