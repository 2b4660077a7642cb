"""Exercise 05 mistake: every room is saved under the same key.

With one game it works. With three, each save overwrites the previous
room's, so the server that restores "room-2" gets whichever room moved
last, with someone else's players in it.
"""


class RoomSnapshots:
    def __init__(self, redis):
        self.redis = redis

    def save(self, room):
        self.redis.put("room", room)

    def load(self, room_id):
        return self.redis.get("room")
