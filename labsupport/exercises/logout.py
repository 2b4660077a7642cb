"""Exercise 01: log out for real, with a denylist every instance consults and that forgets expired tokens.

A signed token stays valid until it expires, whichever instance checks it
(chapter 01, S7). Logging out therefore means remembering, somewhere every
instance can look, that this one token is no longer good, and remembering it
only as long as it matters: after the token's own expiry it is refused anyway,
so an entry kept longer is memory the cache never gets back.

You write ``Denylist``. Each instance of the stateless shop builds one as
``Denylist(cache)``, where ``cache`` is the Redis cache every instance shares
(``cache.get(key)``, ``cache.put(key, value, ttl_s=seconds)``,
``cache.delete(key)``). The shop calls ``revoke(token_id, expires_at)`` when a
user logs out (the token's unique id, its ``jti`` claim, and its expiry as
Unix time in seconds) and ``is_revoked(token_id)`` on every request whose
signature checks out: True means 401.

``check_logout(Denylist)`` runs a stateless cluster of three instances:

1. six users shop; their tokens were issued at different times, so they
   have from 10 to 55 minutes left;
2. three of them log out, each through a different instance, and try their
   old token on every instance: each must be refused, while the three who
   stayed are still served everywhere;
3. the chaos: one instance restarts (empty memory), and the old tokens are tried on it again;
4. the cache: every entry the denylist wrote must expire when its token does
   (not never, not an hour later, not sooner);
5. one more user, whose token has two seconds left, logs out; once the token
   has expired, the denylist's entry for it must be gone from the cache.

Chapter 01 (S7) uses it.
"""

import random
import time

from ..engine.waiting import wait_until
from ..errors import DependencyMissingError
from ..shop.api import unauthorized
from ..shop.cluster import Cluster
from ..shop.stateless import StatelessShop
from ..state.redis_server import INSTALL_HINT
from ..state.tokens import TokenRejected
from .checker import Exercise, TheirCode, TheirCodeFailed, Verdict, send, wrong_argument

__all__ = ["LOGOUT", "check_logout", "DenylistShop"]

USERS = ("alice", "bob", "carol", "dave", "erin", "frank")
AGES_MIN = (5, 20, 35, 50)          # how old a user's token may be (minutes) when the check starts
LEAVERS = 3
TOLERANCE_S = 3                     # an entry's lifetime may differ this much from its token's remaining life
LAST_SECONDS = 2                    # the last user's token has this long left when they log out
GRACE_S = 2                         # ...and its denylist entry must be gone this long after the token expired

LOGOUT = Exercise(
    name="logout", chapter="01_stateless", title="log out for real", writes="Denylist",
    hints=(
        "An instance's own memory is the wrong place: the next request may land on another instance, or on "
        "this one after a restart. The `cache` is shared by every instance.",
        "Write one cache key per revoked token, such as \"denied:\" + token_id, with any value (True will do), "
        "and make `is_revoked` look that key up.",
        "A denylist entry is useful only while its token could still be accepted: after `expires_at` the "
        "signature check refuses the token anyway. So give the key a time to live: `ttl_s` = the token's "
        "remaining life, `expires_at - time.time()` (at least 1 second).",
        "A sketch:\n\n"
        "- `revoke`: `self.cache.put(\"denied:\" + token_id, True, ttl_s=max(1, expires_at - time.time()))`\n"
        "- `is_revoked`: `return self.cache.get(\"denied:\" + token_id) is not None`\n\n"
        "(and `import time` at the top of the cell)",
    ))


class DenylistShop(StatelessShop):
    """The stateless shop, with logout and the denylist check handed to the learner's ``Denylist``."""

    not_state = {"their_code": "the checker's record of calls into your code, shared by every instance"}

    def __init__(self, tokens, database, cache, denylist, their_code):
        super().__init__(tokens, database, cache)
        self.denylist = denylist
        self.their_code = their_code

    @classmethod
    def for_cluster(cls, cluster):
        return cls(cluster.tokens, cluster.database, cluster.cache, cluster.their_code.build(cluster.cache),
                   cluster.their_code)

    def authenticate(self, request, trace):
        try:
            claims = self.tokens.verify(self.bearer_token(request))
        except TokenRejected as exc:
            raise unauthorized(exc.reason, exc.error) from None
        if self.their_code.call(self.denylist, "is_revoked", claims["jti"]):
            raise unauthorized("token revoked: this user logged out; log in again")
        return {"user": claims["sub"], "jti": claims["jti"], "exp": claims["exp"]}

    def logout(self, principal, trace):
        self.their_code.call(self.denylist, "revoke", principal["jti"], principal["exp"])


class _LogoutLab(Cluster):
    """A stateless cluster whose instances run ``DenylistShop`` with the learner's ``Denylist``."""

    def __init__(self, their_code, seed):
        self.their_code = their_code
        super().__init__("stateless", instances=3, seed=seed, shop_class=DenylistShop, health_interval=0.5)

    def cache_keys(self):
        """{key: seconds left to live, or None for a key that never expires}, read straight from Redis."""
        client, prefix = self.cache.client, self.cache.prefix
        found = {}
        for full_key in client.scan_iter(match=prefix + "*", count=500):
            left_ms = client.pttl(full_key)
            if left_ms != -2:                          # -2: expired between the scan and now
                found[full_key[len(prefix):]] = None if left_ms == -1 else left_ms / 1000
        return found


def _ask(url, token, path="/cart", method="GET"):
    return send(url, method, path, headers={"Authorization": f"Bearer {token}"})


def _refused_as_revoked(status, body):
    return status == 401 and "revoked" in body.get("error", "")


class _Run:
    """One run of the checker: the lab, the users' tokens, what was seen, the counts."""

    def __init__(self, shop, rng, counts):
        self.shop, self.counts = shop, counts
        now = time.time()
        self.tokens = {name: shop.tokens.issue(name, now=now - 60 * rng.choice(AGES_MIN)) for name in USERS}
        claims = {name: shop.tokens.verify(token) for name, token in self.tokens.items()}
        self.expiry = {name: claim["exp"] for name, claim in claims.items()}
        self.token_ids = {name: claim["jti"] for name, claim in claims.items()}
        self.names = [instance.name for instance in shop.instances]

    def url(self, name):
        return self.shop.instance(name).url

    def shop_a_little(self):
        for name in USERS:
            status, body = send(self.shop.url, "POST", "/cart/items", {"sku": "book", "qty": 1},
                                {"Authorization": f"Bearer {self.tokens[name]}"})
            if status != 200:
                return (f"{name} added a book before anyone logged out and got {status} ({body.get('error')}); "
                        "expected 200.")
        return None

    def log_out(self, leavers):
        """Each leaver logs out through their own instance; returns (reason or None, {leaver: new cache keys})."""
        written = {}
        for name, via in zip(leavers, self.names):
            before = set(self.shop.cache_keys())
            status, body = _ask(self.url(via), self.tokens[name], "/logout", "POST")
            if status != 200:
                return f"{name} logged out through {via} and got {status} ({body.get('error')}); expected 200.", written
            written[name] = (via, time.time(), {k: v for k, v in self.shop.cache_keys().items() if k not in before})
        self.counts["logouts"] = len(leavers)
        return None, written

    def reuse(self, leavers, written, where):
        """Every leaver's old token must be refused on every instance in ``where``; every stayer's accepted."""
        for name in USERS:
            for instance in where:
                status, body = _ask(self.url(instance), self.tokens[name])
                self.counts["old tokens tried on an instance"] += name in leavers
                if name in leavers and not _refused_as_revoked(status, body):
                    self.counts["old tokens accepted"] += 1
                    via = written[name][0]
                    saw = f"{status} OK with the cart" if status == 200 else f"{status} ({body.get('error')})"
                    return (f"{name} logged out through {via}, then sent the old token to {instance} and got {saw}; "
                            f"expected 401 \"token revoked\". {self._where_hint(via, instance)}")
                if name not in leavers and status != 200:
                    return (f"{name} never logged out, but {instance} answered a GET /cart with {status} "
                            f"({body.get('error')}); expected 200. Only revoked tokens may be refused.")
        return None

    @staticmethod
    def _where_hint(via, instance):
        if via == instance:
            return "Even the instance that handled the logout forgot it."
        return "The instance that handled the logout knew; the others did not."

    def entries(self, leavers, written):
        """Step 4: every entry the denylist wrote lives exactly as long as its token."""
        for name in leavers:
            _via, when, keys = written[name]
            left = self.expiry[name] - when
            self.counts["cache keys written by the denylist"] += len(keys)
            if not keys:
                return (f"after {name} logged out, the cache holds no new key: the denylist must write revoked "
                        "tokens to the cache, where every instance can look.")
            for raw_key, ttl in sorted(keys.items()):
                key = raw_key.replace(self.token_ids[name], "<token id>")     # token ids differ on every run
                if ttl is None:
                    return (f"the cache key {key!r}, written when {name} logged out, never expires: the denylist "
                            f"grows with every logout, forever. Give it a time to live: the token had "
                            f"{left / 60:.0f} minutes left.")
                if ttl > left + TOLERANCE_S:
                    return (f"the cache key {key!r}, written when {name} logged out, lives {ttl / 60:.0f} minutes, "
                            f"but the token expires in {left / 60:.0f} minutes: after that the signature check "
                            "refuses it anyway, so the entry is wasted memory. Use the token's remaining life.")
                if ttl < left - TOLERANCE_S:
                    return (f"the cache key {key!r}, written when {name} logged out, lives only {ttl:.0f} s, but the "
                            f"token is valid for {left / 60:.0f} more minutes: once the key is gone, the old token "
                            "works again. Use the token's remaining life.")
        return None

    def expiry_check(self):
        """Step 5: a token with seconds left is revoked; after it expires its entry must be gone."""
        name = "grace"
        token = self.shop.tokens.issue(name, now=time.time() - (self.shop.tokens.ttl_s - LAST_SECONDS))
        claims = self.shop.tokens.verify(token)
        exp = claims["exp"]
        before = set(self.shop.cache_keys())
        status, body = _ask(self.url(self.names[0]), token, "/logout", "POST")
        if status != 200:
            return f"{name} logged out through {self.names[0]} and got {status} ({body.get('error')}); expected 200."
        keys = set(self.shop.cache_keys()) - before
        wait_until(lambda: time.time() > exp and not keys & set(self.shop.cache_keys()),
                   timeout=max(0.0, exp + GRACE_S - time.time()), interval=0.05)
        left_over = sorted(keys & set(self.shop.cache_keys()))
        self.counts["keys left once the last token expired"] = len(left_over)
        if left_over:
            key = left_over[0].replace(claims["jti"], "<token id>")
            return (f"{name}'s token expired, but {GRACE_S} s later the denylist's key {key!r} is still in "
                    "the cache; an entry must go when its token does.")
        return None


def check_logout(Denylist, seed=7):
    """Log users out and reuse their tokens on every instance, under a restart; returns a ``Verdict`` (saved)."""
    counts = {"users": len(USERS), "logouts": 0, "old tokens tried on an instance": 0, "old tokens accepted": 0,
              "cache keys written by the denylist": 0}
    mistake = wrong_argument(Denylist, "Denylist", "check_logout")
    if mistake:
        return Verdict(LOGOUT, False, mistake, counts).save()
    their = TheirCode(Denylist, "Denylist")
    rng = random.Random(seed)
    try:
        shop = _LogoutLab(their, seed)
    except TheirCodeFailed as failure:
        return Verdict.from_problem(LOGOUT, failure.problem, counts, "while an instance started").save()
    with shop:
        if shop.redis is None:
            raise DependencyMissingError(f"this exercise needs a Redis server; {INSTALL_HINT}")
        run = _Run(shop, rng, counts)
        leavers = sorted(rng.sample(USERS, LEAVERS))
        victim = rng.choice(run.names)
        reason = run.shop_a_little()
        doing = "while the users shopped"
        if reason is None:
            reason, written = run.log_out(leavers)
            doing = "while users logged out"
        if reason is None:
            reason = run.reuse(leavers, written, run.names)
            doing = "while old tokens were tried"
        if reason is None:
            shop.restart(victim)
            counts[f"restarts ({victim})"] = 1
            reason = run.reuse(leavers, written, [victim])
        if reason is None:
            reason = run.entries(leavers, written) or run.expiry_check()
            doing = "while the last user logged out"
    if their.problem is not None:
        return Verdict.from_problem(LOGOUT, their.problem, counts, doing).save()
    if reason:
        return Verdict(LOGOUT, False, reason, counts).save()
    return Verdict(LOGOUT, True, f"{LEAVERS} users logged out and their old tokens were refused by every instance, "
                                 "even after a restart; every denylist entry lives exactly as long as its token, and "
                                 "the last one was gone once its token expired.", counts).save()
