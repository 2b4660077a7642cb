"""Exercise 01 mistake: every entry lives a full token lifetime (an hour), not the token's remaining life.

Right for a user who logs out the moment they logged in, wasteful for
everyone else: a token with ten minutes left is remembered for sixty. The
checker's users hold tokens of different ages, and it stops at the first
entry that outlives its token.
"""


class Denylist:
    TOKEN_LIFETIME_S = 3600

    def __init__(self, cache):
        self.cache = cache

    def revoke(self, token_id, expires_at):
        self.cache.put("denied:" + token_id, True, ttl_s=self.TOKEN_LIFETIME_S)

    def is_revoked(self, token_id):
        return self.cache.get("denied:" + token_id) is not None
