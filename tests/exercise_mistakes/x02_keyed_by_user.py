"""Exercise 02 mistake: sessions are spilled under the user's name, looked up by session id.

The store is the right place, but the next request carries the session id,
not the name: ``take`` looks under a key nobody wrote, finds nothing, and the
user is logged out after all.
"""


class SessionSpill:
    def __init__(self, store):
        self.store = store

    def spill(self, sessions):
        for session in sessions.values():
            self.store.put("session:" + session["user"], session)

    def take(self, session_id):
        return self.store.get("session:" + session_id)
