"""The shop that keeps nothing in memory: every request brings what it needs.

A request carries a signed JWT, so any instance can tell who sent it by
checking the signature; no instance remembers the login. Carts are in the
database, and the token denylist (for logout) is in the cache. After the
response the instance holds nothing about the user, which is why killing it
loses nothing and why any instance can serve the next request.

The price is visible in ``X-Trace: 1`` answers: every request verifies a
token, asks the cache whether the token was revoked, and reads or writes the
database. Each store call names the instance that makes it (``caller``), so
the stores can say which instance called them and how often. Its three
attributes are handles to shared infrastructure, so ``held_state()`` (a walk
of the object) finds nothing of its own to count.
Chapters 00, 01, 04 and 05 use it.
"""

import time

from ..state.tokens import TokenRejected
from .api import ShopAPI, unauthorized

__all__ = ["StatelessShop"]


class StatelessShop(ShopAPI):
    """Shop API with state in a token, a database and a cache; the instance's own memory stays empty."""

    kind = "stateless"
    default_policy = "round_robin"      # any instance can serve anyone
    uses_shared_stores = True
    drain_waits_for_sessions = False    # a drain only lets the requests in flight finish
    drain_timeout_s = 5.0
    colour_role = "disposable"
    credential_kind = "JWT"
    memory_note = "carts live in the database"
    best_for = "HTTP APIs, web back ends, computation that keeps nothing"      # the article's advice

    def __init__(self, tokens, database, cache):
        self.tokens = tokens            # signs and verifies JWTs: the identity travels with the request
        self.database = database        # carts (SQLiteStore)
        self.cache = cache              # the token denylist (RedisStore, or the database as a fallback)

    @classmethod
    def for_cluster(cls, cluster):
        return cls(cluster.tokens, cluster.database, cluster.cache)

    def login(self, user, trace):
        token = self.tokens.issue(user)
        trace.step("sign a token")
        return token, {}

    def authenticate(self, request, trace):
        try:
            claims = self.tokens.verify(self.bearer_token(request))
        except TokenRejected as exc:
            raise unauthorized(exc.reason, exc.error) from None
        trace.step("verify token signature")
        if self.cache.get("deny:" + claims["jti"], caller=trace.instance):
            raise unauthorized("token revoked: this user logged out; log in again")
        trace.step("check token denylist", where=self.cache.kind)
        return {"user": claims["sub"], "jti": claims["jti"], "exp": claims["exp"]}

    def logout(self, principal, trace):
        # The token itself stays valid until it expires; only the denylist can stop it sooner.
        remaining = max(1, principal["exp"] - int(time.time()))
        self.cache.put("deny:" + principal["jti"], True, ttl_s=remaining, caller=trace.instance)
        trace.step("add token to denylist", where=self.cache.kind)

    def load_cart(self, principal, trace):
        cart = self.database.get("cart:" + principal["user"], caller=trace.instance)
        trace.step("read cart", where=self.database.kind)
        return cart

    def change_cart(self, principal, change, trace):
        # One transaction reads, changes and writes the cart; the trace records each of the three.
        cart = self.database.update("cart:" + principal["user"], trace.change(change, self.database.kind),
                                    caller=trace.instance)
        trace.step("write cart and commit", where=self.database.kind)
        return cart

    def healthy(self):
        return self.database.available and self.cache.available
