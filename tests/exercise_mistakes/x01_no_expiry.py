"""Exercise 01 mistake: revoked tokens go to the shared cache, but never expire.

Every instance refuses the old token, so logging out works. But the entry
outlives its token forever: after the token's own expiry the signature check
refuses it anyway, so the entry only takes memory, and one more piles up with
every logout. The checker stops when it reads the entry's time to live.
"""


class Denylist:
    def __init__(self, cache):
        self.cache = cache

    def revoke(self, token_id, expires_at):
        self.cache.put("denied:" + token_id, True)

    def is_revoked(self, token_id):
        return self.cache.get("denied:" + token_id) is not None
