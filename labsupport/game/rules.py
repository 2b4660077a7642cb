"""The game and its messages, as plain functions on plain dicts (no sockets here).

A room is a dict: a tic-tac-toe board, its two players, whose turn it is.
``play`` checks a move against that dict and applies it; ``parse_message``
turns one WebSocket frame into a message or refuses it with ``Rejected``,
which the server sends back as an error event instead of crashing. You can
try them by hand; ``server.py`` wraps them in a server. Chapters 05 and 07.
"""

import json
import re

from ..checks import is_whole_number
from ..errors import LabError

__all__ = ["Rejected", "new_room", "check_name", "take_seat", "play", "state_message", "parse_message",
           "room_from_path", "room_key", "refuse_http", "NAME_PATTERN", "MAX_MESSAGE_BYTES"]

NAME_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,40}")   # room ids and player names
MAX_MESSAGE_BYTES = 64 * 1024      # bigger ones get an error event (over 1 MiB, websockets closes with 1009)
LINES = ((0, 1, 2), (3, 4, 5), (6, 7, 8), (0, 3, 6), (1, 4, 7), (2, 5, 8), (0, 4, 8), (2, 4, 6))


class Rejected(LabError, ValueError):
    """A message the server refuses; it becomes an error event, never a crash."""


def new_room(room_id):
    return {"id": room_id, "board": [""] * 9, "players": [], "sockets": {},
            "moves": 0, "turn": None, "status": "waiting", "winner": None, "last_move": None}


def check_name(label, value):
    if not isinstance(value, str) or not NAME_PATTERN.fullmatch(value):
        raise Rejected(f"{label} {value!r} must be 1-40 letters, digits, - or _, like 'alice'")


def take_seat(room, player):
    """Seat ``player`` in ``room`` (a returning player gets their old seat); returns "X" or "O"."""
    if player not in room["players"]:
        if len(room["players"]) == 2:
            raise Rejected(f"room {room['id']!r} is full ({' and '.join(room['players'])}); pick another room")
        room["players"].append(player)
    if room["status"] == "waiting" and len(room["players"]) == 2:
        room["status"], room["turn"] = "playing", room["players"][0]     # X moves first
    return "XO"[room["players"].index(player)]


def state_message(room, instance):
    """What every player of the room is sent after every change."""
    return {"type": "state", "room": room["id"], "board": list(room["board"]), "moves": room["moves"],
            "turn": room["turn"], "players": list(room["players"]), "status": room["status"],
            "last_move": room["last_move"], "instance": instance}


def play(room, player, cell):
    """Apply ``player``'s move to ``room`` or raise Rejected saying why not."""
    if room["status"] == "waiting":
        raise Rejected("wait for a second player to join before moving")
    if room["status"] == "over":
        raise Rejected(f"the game in room {room['id']!r} is over; join another room to play again")
    if room["turn"] != player:
        raise Rejected(f"it is {room['turn']}'s turn, not yours; wait for their move")
    if not is_whole_number(cell, 0, 8):
        raise Rejected(f"cell must be a whole number from 0 to 8 (row by row), not {cell!r}")
    if room["board"][cell]:
        raise Rejected(f"cell {cell} is already taken by {room['board'][cell]}; pick an empty cell")
    mark = "XO"[room["players"].index(player)]
    room["board"][cell] = mark
    room["moves"] += 1
    room["last_move"] = {"player": player, "cell": cell}
    if any(all(room["board"][i] == mark for i in line) for line in LINES):
        room["status"], room["winner"] = "over", player
    elif room["moves"] == 9:
        room["status"] = "over"                     # a draw: winner stays None
    else:
        room["turn"] = room["players"][1 - room["players"].index(player)]


def parse_message(raw):
    """Turn one incoming frame into a dict with a known "type", or raise Rejected."""
    if isinstance(raw, bytes):
        raise Rejected("binary frames are not understood; send JSON text such as {\"type\": \"join\"}")
    if len(raw.encode()) > MAX_MESSAGE_BYTES:
        raise Rejected(f"message of {len(raw.encode())} bytes is over the {MAX_MESSAGE_BYTES}-byte limit")
    try:
        message = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise Rejected(f"not valid JSON ({exc}); send an object such as {{\"type\": \"move\", \"cell\": 4}}")
    if not isinstance(message, dict) or message.get("type") not in ("join", "move"):
        kind = message.get("type") if isinstance(message, dict) else message
        raise Rejected(f"unknown message {kind!r}; send {{\"type\": \"join\"}} or {{\"type\": \"move\"}}")
    return message


def refuse_http(path, headers):
    """Why an HTTP request cannot become a game connection, as (status, message, headers), or None if it can.

    A plain HTTP request gets 426 Upgrade Required with ``Upgrade: websocket``,
    which names the protocol to switch to (RFC 9110, section 15.5.22).
    """
    try:
        room_from_path(path)
    except Rejected as exc:
        return 404, str(exc), {}
    if headers.get("Upgrade", "").lower() != "websocket":
        return (426, "this is a WebSocket game server; connect with a WebSocket client such as labsupport.GamePlayer",
                {"Upgrade": "websocket"})
    return None


def room_key(request):
    """What the game's balancer hashes: the room in /rooms/<id> (so a room's players meet), else the path."""
    try:
        room = room_from_path(request.path)
    except Rejected:
        return request.path
    return room if room is not None else request.path


def room_from_path(path):
    """'/' -> None, '/rooms/A' -> 'A' (so a balancer can route by room); else Rejected."""
    path = path.split("?", 1)[0]
    if path == "/":
        return None
    prefix, _, room_id = path.partition("/rooms/")
    if prefix or not NAME_PATTERN.fullmatch(room_id):
        raise Rejected(f"no such path {path!r}; connect to / or /rooms/<room_id> (letters, digits, - and _)")
    return room_id
