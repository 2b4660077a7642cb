"""A stateful WebSocket game server: every room lives in one process's memory.

Players keep a WebSocket open to one ``GameServer``; each room (a tic-tac-toe
board, its two players and their connections) is a plain dict inside that
server, every move is checked against it and broadcast to every player of the
room. Only a finished game's result leaves memory, into SQLite. So killing the
server loses its rooms and drops its players, while saved results survive:
the cost, and the reason, of keeping state in memory. Used by chapter 05
(R3, R4) and chapter 07 (M4); the player client is in ``client.py``.
"""

import json
import logging
import os
import sqlite3
import threading

from websockets.exceptions import ConnectionClosed
from websockets.protocol import State
from websockets.sync.server import ServerConnection, serve

from ..engine import registry
from ..engine.events import EventLog
from ..engine.lifecycle import Closable
from ..engine.rebinding import host_problem, origin_problem
from ..errors import InvalidArgumentError
from .results import check_results_db, load_results, save_result
from .rules import (
    NAME_PATTERN,
    Rejected,
    check_name,
    new_room,
    parse_message,
    play,
    refuse_http,
    room_from_path,
    state_message,
    take_seat,
)

__all__ = ["GameServer", "quiet_logger"]

GRACE_SECONDS = 5.0                # how long stop() lets running games finish
CLOSE_TIMEOUT = 2.0                # how long a closing handshake may take


def quiet_logger():
    """websockets logs through ``logging``; lab servers hand it one that discards."""
    logger = logging.getLogger("labsupport.quiet")
    if not logger.handlers:
        logger.addHandler(logging.NullHandler())
        logger.propagate = False
    return logger


class GameServer(Closable):
    """A WebSocket game server on 127.0.0.1 whose rooms exist only in its memory.

    For callers: start(), stop(), kill(), restart(), close(), rooms(),
    saved_results(), and the attributes url, port, alive, status, connections,
    events. restart() comes back with no rooms, on the same port when that
    port is still free (so a balancer that knows the URL finds it again),
    otherwise on a new one: read ``url`` afterwards.
    """

    allowed_hosts = ()                      # Host names besides loopback: only a serve process lists any

    def __init__(self, name="game-1", version="v1", db_path=None, seed=0):
        if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
            raise InvalidArgumentError(f"name {name!r} must be 1-40 letters, digits, - or _, like 'game-1'")
        if db_path is not None and not isinstance(db_path, (str, os.PathLike)):
            raise InvalidArgumentError(f"db_path {db_path!r} must be a file path (str or Path) or None")
        self.name, self.version, self.seed = name, str(version), seed   # the game itself uses no randomness
        self.db_path = None if db_path is None else os.fspath(db_path)
        self.events = EventLog()
        self.status = "new"                 # new -> up -> draining -> stopped, or -> dead after kill()
        self.port = None
        self._life = threading.Lock()       # one start/stop/kill at a time
        self._lock = threading.Condition()  # guards rooms and status; notified whenever they change
        self._rooms = {}                    # room id -> room dict (see new_room)
        self._clients = set()               # open WebSockets that reached the handler
        self._links = {}                    # every accepted connection -> the thread serving it
        self._server = self._accept_thread = None

    url = property(lambda self: f"ws://127.0.0.1:{self.port}")
    alive = property(lambda self: self.status in ("up", "draining"))

    @property
    def connections(self):
        """How many WebSocket connections are open right now."""
        with self._lock:
            return len(self._clients)

    def rooms(self):
        """A snapshot: {room_id: {"players", "connected", "moves", "status"}}."""
        with self._lock:
            return {rid: {"players": list(room["players"]), "connected": sorted(room["sockets"]),
                          "moves": room["moves"], "status": room["status"]} for rid, room in self._rooms.items()}

    def saved_results(self):
        return load_results(self.db_path)

    # lifecycle ----------------------------------------------------------------
    def start(self):
        """Listen and serve in a daemon thread; returns self once connections are accepted."""
        with self._life:
            if self._server is not None:
                return self
            if self.db_path is not None:
                check_results_db(self.db_path)
            self._rooms, self._clients, self._links = {}, set(), {}
            self._server = self._listen()
            self.port = self._server.socket.getsockname()[1]
            self._set_status("up", when=("new", "stopped", "dead"))
            # Connection threads started by serve_forever inherit daemon=True from this thread.
            self._accept_thread = threading.Thread(target=self._server.serve_forever, daemon=True,
                                                   name=f"{self.name}-accept")
            self._accept_thread.start()
        self._opened()
        self.events.add(self.name, "started", f"{self.name} ({self.version}) listening on {self.url}")
        return self

    def stop(self, timeout=GRACE_SECONDS):
        """Graceful: refuse newcomers, let running games finish (up to ``timeout`` s), close with 1001."""
        with self._life:
            if not self._set_status("draining", when=("up",)):
                return                              # not running, or already stopping
            self._server.shutdown()                 # the listener closes: no new connections
        with self._lock:
            finished = self._lock.wait_for(lambda: self.status != "draining" or not any(
                room["status"] == "playing" for room in self._rooms.values()), timeout)
        with self._life:
            if self.status != "draining":
                return                              # kill() came first and cleaned up
            self.events.add(self.name, "drained", "all games finished" if finished else
                            f"games still running after {timeout} s are cut off")
            for link in self._current_links():
                if link.state is State.OPEN:
                    link.close(1001, f"{self.name} is shutting down")   # 1001 = going away
                else:
                    link.close_socket()
            self._finish("stopped")

    def kill(self):
        """A crash: close the listener and every connection at once, lose every room."""
        with self._life:
            if not self._set_status("dead", when=("up", "draining")):
                return
            self._server.shutdown()
            for link in self._current_links():
                link.close_socket()             # no closing handshake: players see code 1006
            self._finish("dead")                # ...and the rooms go with the memory

    def restart(self):
        """Come back empty (a running server is killed first); returns self."""
        self.kill()
        return self.start()

    def _close(self):
        """``close()`` is stop(timeout=0), and forgetting the server: what ``with`` and shutdown_all() call."""
        self.stop(timeout=0)

    def __repr__(self):
        return f"<GameServer {self.name} {self.version} {self.status} {self.url} rooms={len(self._rooms)}>"

    def _listen(self):
        options = dict(process_request=self._check_request, process_response=self._label_response,
                       create_connection=self._new_link, ping_interval=None, close_timeout=CLOSE_TIMEOUT,
                       logger=quiet_logger())
        if self.port is not None:           # a restart: try to come back where players look for us
            try:
                return serve(self._handle, "127.0.0.1", self.port, **options)
            except OSError as exc:
                self.events.add(self.name, "port-taken", f"port {self.port} is taken ({exc}); using a new one")
        return serve(self._handle, "127.0.0.1", 0, **options)

    def _new_link(self, sock, protocol, **options):
        link = ServerConnection(sock, protocol, **options)
        with self._lock:
            self._links = {c: t for c, t in self._links.items() if t.is_alive()}
            self._links[link] = threading.current_thread()
        return link

    def _current_links(self):
        with self._lock:
            return list(self._links)

    def _set_status(self, new, when):
        with self._lock:
            if self.status not in when:
                return False
            self.status = new
            self._lock.notify_all()
            return True

    def _finish(self, status):
        """Wait for the accept loop and every connection thread, then forget them (``_life`` held)."""
        self._accept_thread.join()
        # websockets 15 opens a pipe to wake serve_forever() and never closes it.
        for fd in (getattr(self._server, "shutdown_watcher", None), getattr(self._server, "shutdown_notifier", None)):
            if fd is not None:
                os.close(fd)
        with self._lock:
            links = list(self._links.items())
        for link, thread in links:
            thread.join(CLOSE_TIMEOUT * 2)
            link.recv_events_thread.join(CLOSE_TIMEOUT)
        with self._lock:
            self._rooms.clear()
            self._links, self.status = {}, status
            self._lock.notify_all()
        self._server = self._accept_thread = None
        registry.unregister(self)
        self.events.add(self.name, status, f"{self.name} {status}; its rooms are gone")

    # HTTP side of the handshake ------------------------------------------------
    def _check_request(self, connection, request):
        # Only this machine may talk to the game: see engine/rebinding.py for the attack these two checks stop.
        problem = host_problem(request.headers.get("Host"), self.port, self.allowed_hosts)
        if problem is not None:
            return self._http_error(connection, 421, problem)
        problem = origin_problem(request.headers.get("Origin"))
        if problem is not None:
            return self._http_error(connection, 403, problem)
        if self.status != "up":
            return self._http_error(connection, 503, f"{self.name} is shutting down; connect to another server")
        if request.path == "/health":                # what the balancer's health checks ask
            response = connection.respond(200, json.dumps({"status": "ok", "rooms": len(self._rooms)}) + "\n")
            del response.headers["Content-Type"]
            response.headers["Content-Type"] = "application/json"
            return response
        refusal = refuse_http(request.path, request.headers)
        return None if refusal is None else self._http_error(connection, *refusal)

    def _http_error(self, connection, status, message, headers=()):
        self.events.add(self.name, "http-error", f"{status}: {message}")
        response = connection.respond(status, json.dumps({"error": message}) + "\n")
        del response.headers["Content-Type"]
        response.headers["Content-Type"] = "application/json"
        for key, value in dict(headers).items():      # e.g. 426 says which protocol to upgrade to
            response.headers[key] = value
        return response

    def _label_response(self, connection, request, response):
        response.headers["X-Instance"] = self.name
        response.headers["X-Version"] = self.version

    # one connection = one thread running this handler ------------------------
    def _handle(self, websocket):
        path_room = room_from_path(websocket.request.path)
        seat = None                                  # (room id, player) once joined
        with self._lock:
            self._clients.add(websocket)
        self._send(websocket, {"type": "welcome", "instance": self.name, "version": self.version, "room": path_room})
        try:
            for raw in websocket:
                try:
                    message = parse_message(raw)
                    with self._lock:
                        if message["type"] == "join":
                            seat = self._join(websocket, message, seat, path_room)
                        else:
                            self._move(message, seat)
                except Rejected as exc:
                    self.events.add(self.name, "bad-message", str(exc))
                    self._send(websocket, {"type": "error", "message": str(exc)})
        finally:
            with self._lock:
                self._clients.discard(websocket)
                self._leave(websocket, seat)

    def _send(self, websocket, message):
        try:
            websocket.send(json.dumps(message))
        except ConnectionClosed:
            self.events.add(self.name, "send-failed", f"{message['type']} not delivered: connection closed")

    def _broadcast(self, room, message):
        for websocket in list(room["sockets"].values()):
            self._send(websocket, message)

    def _join(self, websocket, message, seat, path_room):      # called with self._lock held
        room_id, player = message.get("room", path_room), message.get("player")
        if seat is not None:
            raise Rejected(f"you already joined room {seat[0]!r}; open a new connection for another room")
        if self.status != "up":
            raise Rejected(f"{self.name} is shutting down and takes no new players; join another server")
        if path_room is not None and room_id != path_room:
            raise Rejected(f"this connection is for room {path_room!r} (from the URL), not {room_id!r}")
        check_name("room", room_id)
        check_name("player", player)
        room = self._rooms.setdefault(room_id, new_room(room_id))
        if player in room["sockets"]:
            raise Rejected(f"{player!r} is already connected to room {room_id!r}; pick another name")
        mark = take_seat(room, player)
        room["sockets"][player] = websocket
        self.events.add(self.name, "joined", f"{player} joined room {room_id} as {mark}")
        self._send(websocket, {"type": "joined", "room": room_id, "player": player, "mark": mark,
                               "instance": self.name})
        self._broadcast(room, state_message(room, self.name))
        return room_id, player

    def _move(self, message, seat):                            # called with self._lock held
        if seat is None:
            raise Rejected('join a room before moving: send {"type": "join", "room": "A", "player": "alice"}')
        room = self._rooms.get(seat[0])
        if room is None:
            raise Rejected(f"room {seat[0]!r} no longer exists on {self.name}")
        play(room, seat[1], message.get("cell"))
        self._broadcast(room, state_message(room, self.name))
        if room["status"] == "over":
            saved = self._save(room)            # saved before "over" is sent: a player who sees it can read it
            self.events.add(self.name, "game-over", f"room {room['id']}: winner {room['winner']}")
            self._broadcast(room, {"type": "over", "room": room["id"], "winner": room["winner"],
                                   "moves": room["moves"], "saved": saved, "instance": self.name})
        self._lock.notify_all()

    def _save(self, room):
        if self.db_path is None:
            return False
        try:
            save_result(self.db_path, room["id"], room["winner"], room["moves"], self.name)
        except sqlite3.Error as exc:                 # a full disk, a locked file: the game still ends
            self.events.add(self.name, "save-failed", f"result of room {room['id']} not saved: {exc}")
            return False
        return True

    def _leave(self, websocket, seat):                         # called with self._lock held
        room = self._rooms.get(seat[0]) if seat else None
        if room is None or room["sockets"].get(seat[1]) is not websocket:
            return
        del room["sockets"][seat[1]]
        self.events.add(self.name, "left", f"{seat[1]} left room {seat[0]}")
        if room["sockets"]:
            self._broadcast(room, {"type": "left", "room": seat[0], "player": seat[1]})
        else:
            del self._rooms[seat[0]]            # nobody left to play: the room's memory is freed
        self._lock.notify_all()
