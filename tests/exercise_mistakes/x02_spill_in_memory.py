"""Exercise 02 mistake: the sessions are "spilled" into the draining instance's own object.

``spill`` keeps them in ``self.saved``, which looks like storing them. But each
instance builds its own ``SessionSpill``: the peer that receives the next
request asks *its* object, which holds nothing, and the draining instance's
object goes away with it. Every member of the drained instance logs in again.
"""


class SessionSpill:
    def __init__(self, store):
        self.saved = {}

    def spill(self, sessions):
        self.saved.update(sessions)

    def take(self, session_id):
        return self.saved.pop(session_id, None)
