"""Exercise 02 mistake: only who the user is gets spilled, not the cart.

The session survives the drain, so nobody has to log in again, which looks
like success. But the restored session has an empty cart: every item the
drained instance's members had chosen is gone.
"""


class SessionSpill:
    def __init__(self, store):
        self.store = store

    def spill(self, sessions):
        for session_id, session in sessions.items():
            self.store.put("session:" + session_id, {"user": session["user"]})

    def take(self, session_id):
        session = self.store.get("session:" + session_id)
        if session is not None:
            self.store.delete("session:" + session_id)
        return session
