"""Sessions kept in Redis: a stateless tier whose logins live in a cache.

Many real sites do not put the whole identity in a signed token; they hand
the browser a random session id and keep the session itself in Redis, with
a time-to-live. The API instances stay stateless (any of them can look the
session up), but the logins are now state in Redis. Run as a cache, without
persistence, Redis keeps them only in memory: restart it and every user is
logged out at once, while their carts, in the database, are untouched
(chapter 04, claim E5).
"""

import secrets

from .api import unauthorized
from .cluster import Cluster
from .stateless import StatelessShop

__all__ = ["RedisSessionShop", "RedisSessionCluster", "SESSION_PREFIX"]

SESSION_PREFIX = "session:"


class RedisSessionShop(StatelessShop):
    """The stateless shop with one change: sessions in a shared store (Redis) instead of signed tokens.

    Carts stay in the database, read and written exactly as ``StatelessShop`` does.
    """

    not_state = {"session_ttl_s": "configuration"}

    def __init__(self, sessions, database, session_ttl_s=1800):
        super().__init__(tokens=None, database=database, cache=sessions)
        self.sessions = sessions            # RedisStore: session id -> {"user"}, each with a TTL
        self.session_ttl_s = session_ttl_s

    @classmethod
    def for_cluster(cls, cluster):
        return cls(cluster.cache, cluster.database, cluster.session_ttl_s)

    def login(self, user, trace):
        session_id = secrets.token_urlsafe(24)
        self.sessions.put(SESSION_PREFIX + session_id, {"user": user}, ttl_s=self.session_ttl_s,
                          caller=trace.instance)
        trace.step("store session", where=self.sessions.kind)
        return session_id, {}

    def authenticate(self, request, trace):
        session_id = self.bearer_token(request)
        if not session_id:
            raise unauthorized("no session: send 'Authorization: Bearer <session id>' from POST /login", error=None)
        session = self.sessions.get(SESSION_PREFIX + session_id, caller=trace.instance)
        trace.step("look up session", where=self.sessions.kind)
        if session is None:
            raise unauthorized("unknown session: it expired, or the session store lost it; log in again")
        return {"user": session["user"], "session": session_id}

    def logout(self, principal, trace):
        self.sessions.delete(SESSION_PREFIX + principal["session"], caller=trace.instance)
        trace.step("delete session", where=self.sessions.kind)


class RedisSessionCluster(Cluster):
    """``Cluster.stateless`` with one change: logins are session ids looked up in Redis, not JWTs.

    Everything else (balancer, instances, ``user()``, ``kill()``, ``redis``)
    is the ordinary cluster's.
    """

    def __init__(self, instances=3, policy="round_robin", seed=7, session_ttl_s=1800.0, **options):
        super().__init__("stateless", instances, policy, seed, session_ttl_s=session_ttl_s,
                         shop_class=RedisSessionShop, **options)

    def sessions_in_store(self):
        """How many sessions the session store (Redis) holds right now."""
        return self.cache.count(SESSION_PREFIX)

    def session_seconds_left(self, user):
        """Seconds until ``user``'s session expires in Redis (-2: Redis no longer has it)."""
        if self.redis is None:
            return None
        return self.cache.client.ttl(self.cache.prefix + SESSION_PREFIX + (user.credential or ""))
