"""Exercise 01 mistake: the denylist is a set in the instance's own memory.

The instance that handled the logout refuses the old token from then on, so
a quick test by hand looks fine. Every other instance never heard of the
logout and accepts the token, and a restart forgets it too. The checker
stops at the first old token another instance accepts.
"""


class Denylist:
    def __init__(self, cache):
        self.revoked = set()

    def revoke(self, token_id, expires_at):
        self.revoked.add(token_id)

    def is_revoked(self, token_id):
        return token_id in self.revoked
