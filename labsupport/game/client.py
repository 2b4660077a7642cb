"""A game player: one WebSocket connection held open to one game server.

Unlike an HTTP request, the connection stays open, and the server pushes every
state of the room to it without being asked; a daemon thread receives those
messages and keeps them (``.messages``, ``.state``). When the server goes
away, the player notices at once: ``.disconnected`` turns True and
``.close_code`` says how (1001 the server stopped, 1006 it crashed).
``play_game`` plays a whole seeded game. Used by chapter 05 (R3, R4) and 07 (M4).
"""

import json
import random
import threading

from websockets.exceptions import ConnectionClosed, InvalidHandshake
from websockets.sync.client import connect

from ..engine.lifecycle import Closable
from ..errors import InvalidArgumentError
from .rules import NAME_PATTERN
from .server import quiet_logger

__all__ = ["GamePlayer", "play_game"]

TIMEOUT = 5.0      # seconds to wait for the server's answer before giving up


class GamePlayer(Closable):
    """Connects to ``url``/rooms/<room>, joins as ``player``, and keeps every message it receives.

    For callers: move(), send(), send_raw(), wait_for(), wait_disconnected(),
    close(), and the attributes state, messages, errors, joined, mark,
    instance, result, disconnected, close_code, error. If the server cannot
    be reached, the player is created anyway, with ``disconnected`` True and
    ``error`` saying why, so a notebook can show it without a traceback.
    """

    def __init__(self, url, player, room, timeout=TIMEOUT):
        if not isinstance(url, str) or not url.startswith("ws://"):
            raise InvalidArgumentError(f"url {url!r} must be a WebSocket URL such as game.url ('ws://127.0.0.1:PORT')")
        for label, value in (("player", player), ("room", room)):
            if not isinstance(value, str) or not NAME_PATTERN.fullmatch(value):
                raise InvalidArgumentError(f"{label} {value!r} must be 1-40 letters, digits, - or _, like 'alice'")
        self.player, self.room, self.timeout = player, room, timeout
        self.disconnected, self.close_code, self.error = False, None, None
        self._messages = []
        self._changed = threading.Condition()
        self._thread = None
        try:
            self._ws = connect(f"{url.rstrip('/')}/rooms/{room}", open_timeout=timeout, close_timeout=2,
                               ping_interval=None, logger=quiet_logger())
        except (OSError, InvalidHandshake, ConnectionClosed) as exc:   # refused, dropped, or not a game server
            self._ws, self.disconnected, self.error = None, True, f"could not connect to {url}: {exc}"
            return
        self._opened()
        self._thread = threading.Thread(target=self._receive, daemon=True, name=f"player-{player}")
        self._thread.start()
        self.send({"type": "join", "room": room, "player": player})
        self._wait(lambda m: m["type"] in ("state", "error"), start=0)     # joined, then the room's state

    # what the player has seen ----------------------------------------------
    @property
    def messages(self):
        with self._changed:
            return list(self._messages)

    def _last(self, kind):
        return next((m for m in reversed(self.messages) if m["type"] == kind), None)

    state = property(lambda self: self._last("state"), doc="the room's latest state pushed by the server")
    result = property(lambda self: self._last("over"), doc="the 'over' message once the game ended, else None")
    errors = property(lambda self: [m["message"] for m in self.messages if m["type"] == "error"])
    joined = property(lambda self: self._last("joined") is not None)
    mark = property(lambda self: (self._last("joined") or {}).get("mark"))
    instance = property(lambda self: (self._last("welcome") or {}).get("instance"))

    # talking to the server ---------------------------------------------------
    def send(self, message):
        """Send one dict as JSON; False if the connection is already gone."""
        return self.send_raw(json.dumps(message))

    def send_raw(self, data):
        """Send text or bytes exactly as given (for trying out bad messages)."""
        if self._ws is None:
            return False
        try:
            self._ws.send(data)
        except ConnectionClosed:
            return False
        return True

    def move(self, cell):
        """Play ``cell`` (0-8, row by row); returns the server's answer (a state or an error), None if gone."""
        start = len(self.messages)
        if not self.send({"type": "move", "cell": cell}):
            return None
        mine = {"player": self.player, "cell": cell}
        return self._wait(lambda m: m["type"] == "error" or (m["type"] == "state" and m["last_move"] == mine), start)

    def wait_for(self, kind, count=1, timeout=None):
        """Wait until ``count`` messages of type ``kind`` have arrived; True if they did."""
        def enough():
            return sum(m["type"] == kind for m in self._messages) >= count
        with self._changed:
            self._changed.wait_for(lambda: enough() or self.disconnected, self.timeout if timeout is None else timeout)
            return enough()

    def wait_disconnected(self, timeout=None):
        """Wait until the connection has closed (the server stopped or died); True if it did."""
        with self._changed:
            return self._changed.wait_for(lambda: self.disconnected, self.timeout if timeout is None else timeout)

    def _wait(self, predicate, start):
        """The first message from index ``start`` on that matches, or None (timeout or disconnect)."""
        def found():
            return next((m for m in self._messages[start:] if predicate(m)), None)
        with self._changed:
            self._changed.wait_for(lambda: found() is not None or self.disconnected, self.timeout)
            return found()

    def _receive(self):
        """Runs in a daemon thread until the connection closes, whoever closes it."""
        try:
            for raw in self._ws:
                try:
                    message = json.loads(raw)
                except ValueError:
                    message = None
                if not isinstance(message, dict) or "type" not in message:
                    message = {"type": "unreadable", "raw": str(raw)[:200]}
                with self._changed:
                    self._messages.append(message)
                    self._changed.notify_all()
        except ConnectionClosed as exc:          # closed without a clean goodbye, e.g. code 1006
            self.error = f"connection lost: {exc}"
        finally:
            with self._changed:
                self.disconnected, self.close_code = True, self._ws.close_code
                self._changed.notify_all()

    def _close(self):
        """``close()``: leave, closing the connection (code 1000), and wait for the receiving thread."""
        if self._ws is not None:
            self._ws.close()
        if self._thread is not None:
            self._thread.join()

    def __repr__(self):
        status = f"disconnected ({self.close_code})" if self.disconnected else "connected"
        return f"<GamePlayer {self.player} room={self.room} {status} on {self.instance}>"


def play_game(url, room, seed=0, players=("alice", "bob")):
    """Two players join ``room`` at ``url`` and play to the end, moves drawn from random.Random(seed).

    Returns the final "over" message as a dict ({"winner", "moves", "instance", ...}),
    or None if the game could not finish (for example, the server died).
    """
    rng = random.Random(seed)
    first, second = GamePlayer(url, players[0], room), GamePlayer(url, players[1], room)
    try:
        by_name = {first.player: first, second.player: second}
        if not (first.joined and second.joined and first.wait_for("state", count=2)):
            return None                          # the room was taken, or the server is gone
        while first.state["status"] == "playing":
            state = first.state
            cell = rng.choice([i for i, mark in enumerate(state["board"]) if not mark])
            reply = by_name[state["turn"]].move(cell)
            if reply is None or reply["type"] == "error":
                return None
            if not first.wait_for("state", count=state["moves"] + 3):   # two join states, one per move
                return None
        first.wait_for("over")
        return first.result
    finally:
        first.close()
        second.close()
