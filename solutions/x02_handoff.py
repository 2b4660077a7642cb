"""Reference solution of exercise 02 (chapter 02): sessions spilled to Redis by id, taken once by a peer.

When an instance is drained, ``spill`` writes each of its sessions, cart
included, to the Redis cache every instance shares, under ``session:<id>``.
The user's next request carries the same session id and reaches another
instance, which does not hold it and calls ``take``: the session is read,
deleted from Redis (it now lives in the new instance's memory, and a second
copy could come back to life later) and returned. A time to live bounds how
long an untaken session waits (a user who never comes back).

Try the exercise before reading this. The notebook never imports this file.
"""

WAIT_FOR_RETURN_S = 600


class SessionSpill:
    """A draining instance's sessions, parked in the shared cache until a peer takes them."""

    def __init__(self, store):
        self.store = store

    def spill(self, sessions):
        for session_id, session in sessions.items():
            self.store.put("session:" + session_id, session, ttl_s=WAIT_FOR_RETURN_S)

    def take(self, session_id):
        session = self.store.get("session:" + session_id)
        if session is not None:
            self.store.delete("session:" + session_id)
        return session
