"""Exercise 05 mistake: snapshots in a dict shared as a class attribute.

It passes the kill test here, because both game servers run in this one
Python process and share the class. Real game servers are separate
processes (often on separate machines), and Redis holds nothing. The
checker looks in Redis and says so.
"""


class RoomSnapshots:
    rooms = {}

    def __init__(self, redis):
        pass

    def save(self, room):
        self.rooms[room["id"]] = room

    def load(self, room_id):
        return self.rooms.get(room_id)
