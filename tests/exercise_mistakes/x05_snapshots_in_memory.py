"""Exercise 05 mistake: snapshots kept in the ``RoomSnapshots`` object, not in Redis.

Every move is saved, and a server could restore its own rooms. But it is the
*other* server that the players reach after a kill, and its object never saw
those rooms: the game restarts from an empty board.
"""


class RoomSnapshots:
    def __init__(self, redis):
        self.rooms = {}

    def save(self, room):
        self.rooms[room["id"]] = room

    def load(self, room_id):
        return self.rooms.get(room_id)
