"""Reference solution of exercise 01 (chapter 01): a denylist in the shared cache that forgets expired tokens.

Logging out writes one key per token, ``denied:<token id>``, to the Redis
cache that every instance shares, so every instance refuses the token from
the next request on, and a restarted instance still does (the cache is not in
its memory). The key lives exactly as long as the token would: after
``expires_at`` the signature check refuses the token by itself, so Redis
drops the key then and the denylist never holds more than the tokens that are
both revoked and still unexpired.

Try the exercise before reading this. The notebook never imports this file.
"""

import time


class Denylist:
    """Revoked token ids in the shared cache, each for the rest of its token's life."""

    def __init__(self, cache):
        self.cache = cache

    def revoke(self, token_id, expires_at):
        remaining = max(1, expires_at - time.time())
        self.cache.put("denied:" + token_id, True, ttl_s=remaining)

    def is_revoked(self, token_id):
        return self.cache.get("denied:" + token_id) is not None
