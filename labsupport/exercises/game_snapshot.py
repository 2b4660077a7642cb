"""Exercise 05: a game that survives its server, by a snapshot of every room in Redis after every move.

A game server keeps its rooms in memory, so killing it ends every game it
held (chapter 05, R4). The cure keeps the real-time server and adds a copy:
after every move the room's state is written to a shared store, and a server
that is asked for a room it does not hold looks there first. When a server
dies, its players reconnect, the balancer sends them to another server, and
that server restores the room and the game goes on from the same move. What
it costs: a write to Redis on every move, and the moves since the last
snapshot if snapshots were less frequent.

You write ``RoomSnapshots``. Each game server builds one when it starts, as
``RoomSnapshots(redis)`` (the Redis cache every server shares: ``get(key)``,
``put(key, value)``, ``delete(key)``). The server calls ``save(room)`` after
every move, with the room as a plain dict (``id``, ``board``, ``players``,
``turn``, ``moves``, ``status``, ``winner``, ``last_move``), and
``load(room_id)`` when a player joins a room it does not hold: return what
``save`` kept, or None.

``check_game_snapshot(RoomSnapshots)`` runs two game servers behind a
balancer that pins each room to one server, starts three games and plays a
seeded number of moves in each, kills the server holding most of them, lets
their players reconnect, and checks that every game resumes on the other
server at the same move with the same board and turn, then plays every game
to its end. Chapter 05 (R3, R4) uses it.
"""

import copy
import random
import secrets
import shutil

from ..engine import workspace
from ..engine.balancer import Balancer
from ..engine.lifecycle import Closable
from ..engine.policies import ConsistentHash
from ..errors import DependencyMissingError
from ..game.client import GamePlayer
from ..game.ledger import Game, play_moves
from ..game.rules import NAME_PATTERN, new_room, room_key
from ..game.server import GameServer
from ..state.redis_server import INSTALL_HINT, start_redis
from ..state.stores import RedisStore
from .checker import Exercise, TheirCode, TheirCodeFailed, Verdict, wrong_argument

__all__ = ["GAME_SNAPSHOT", "check_game_snapshot", "SnapshotGameServer", "ROOMS"]

ROOMS = ("room-1", "room-2", "room-3")
SERVERS = ("game-1", "game-2")
SAVED_FIELDS = ("board", "players", "turn", "moves", "status", "winner", "last_move")
CONNECT_ATTEMPTS = 3

GAME_SNAPSHOT = Exercise(
    name="game_snapshot", chapter="05_real_world_architectures", title="a game that survives its server",
    writes="RoomSnapshots",
    hints=(
        "The room must outlive the server's memory, and the *other* server must find it: put it in the shared "
        "`redis`, not in an attribute of your object (each server builds its own `RoomSnapshots`).",
        "One key per room, made from the room's id, e.g. \"room:\" + room[\"id\"]; `save` writes the whole dict "
        "(the store turns it into JSON), `load` reads it back.",
        "Keep every field: a room restored with the right board but no players or no turn cannot go on. "
        "`load` returns None for a room that was never saved: the store's `get` already does.",
        "A sketch:\n\n"
        "- `save`: `self.redis.put(\"room:\" + room[\"id\"], room)`\n"
        "- `load`: `return self.redis.get(\"room:\" + room_id)`",
    ))


class SnapshotGameServer(GameServer):
    """A game server that saves each room after every move and restores a room it does not hold on join.

    It extends the two moments of ``GameServer`` where a room changes hands
    (``_join``: a player arrives; ``_move``: a move was applied), both called
    with the server's lock held, so a kill cannot land between a move and its
    snapshot.
    """

    def __init__(self, name, store, their_code, db_path):
        super().__init__(name, db_path=db_path)
        self.store, self.their_code = store, their_code
        self.snapshots = None
        self.restored = []                 # ids of the rooms this server brought back from a snapshot

    def start(self):
        self.snapshots = self.their_code.build(self.store)     # a new process builds a new object
        return super().start()

    def _join(self, websocket, message, seat, path_room):
        room_id = message.get("room", path_room)
        if seat is None and isinstance(room_id, str) and NAME_PATTERN.fullmatch(room_id) and room_id not in self._rooms:
            saved = self.their_code.call(self.snapshots, "load", room_id)
            if saved is not None:
                self._rooms[room_id] = self._restore(room_id, saved)
                self.restored.append(room_id)
        return super()._join(websocket, message, seat, path_room)

    def _move(self, message, seat):
        super()._move(message, seat)
        room = self._rooms.get(seat[0])
        if room is not None:
            snapshot = {"id": room["id"], **{field: copy.deepcopy(room[field]) for field in SAVED_FIELDS}}
            self.their_code.call(self.snapshots, "save", snapshot)

    def _restore(self, room_id, saved):
        if not isinstance(saved, dict):
            self.their_code.reject("load", f"returned {type(saved).__name__} {saved!r:.60}; return the dict that "
                                           "save(room) was given")
        room = new_room(room_id)
        room.update({field: copy.deepcopy(saved[field]) for field in SAVED_FIELDS if field in saved})
        room["sockets"] = {}
        return room


class _GameLab(Closable):
    """Two snapshotting game servers behind a room-hashing balancer, Redis, and a results database."""

    def __init__(self, their_code, seed):
        self.servers, self.players = [], []
        self.redis = self.store = None
        self.folder = str(workspace.new_folder("exercise-games"))
        self.balancer = Balancer(ConsistentHash(key_of=room_key), seed=seed, health_interval=0.2,
                                 name="game-lb", instance_noun="game server")
        self._opened()
        try:
            self.redis = start_redis()
            if self.redis is None:
                raise DependencyMissingError(f"this exercise needs a Redis server; {INSTALL_HINT}")
            self.store = RedisStore(self.redis.url, prefix=f"exercise-{secrets.token_hex(4)}:")
            self.balancer.start()
            for name in SERVERS:
                server = SnapshotGameServer(name, self.store, their_code, f"{self.folder}/results.sqlite3")
                self.servers.append(server)
                server.start()
                self.balancer.add_instance(name, ("127.0.0.1", server.port))
        except BaseException:
            self.close()
            raise

    @property
    def url(self):
        return self.balancer.url.replace("http://", "ws://")

    def server(self, name):
        return next(server for server in self.servers if server.name == name)

    def player(self, name, room):
        """A player joined to ``room`` through the balancer, reconnecting if it met a dead server."""
        for _attempt in range(CONNECT_ATTEMPTS):
            person = GamePlayer(self.url, name, room)
            self.players.append(person)
            if person.joined or not person.disconnected:
                return person
            person.close()
        return person

    def game(self, room, first, second, seed):
        game = Game(room, seed)
        game.players = [self.player(first, room), self.player(second, room)]
        return game

    def _close(self):
        for person in self.players:
            person.close()
        self.balancer.close()
        for server in self.servers:
            server.close()
        if self.store is not None:
            self.store.close()
        if self.redis is not None:
            self.redis.close()
        shutil.rmtree(self.folder, ignore_errors=True)


def _board(state):
    return "".join(mark or "." for mark in state["board"])


def _resume(lab, games, killed, counts):
    """Reconnect the players of the killed server's games; returns the reason of the first anomaly, or None."""
    for room, (game, before) in games.items():
        if game.instance != killed:
            continue
        first, second = (person.player for person in game.players)
        again = lab.game(room, first, second, seed=f"{room}-again")
        if not all(person.joined for person in again.players):
            errors = [person.error or "; ".join(person.errors) for person in again.players if not person.joined]
            return (f"after {killed} was killed, a player of {room} could not rejoin: {errors[0]}. load(room_id) "
                    "must return the room that save() was given for that id.")
        again.players[0].wait_for("state", count=2)          # the first one back also sees the second join
        now = again.players[0].state
        same = (now["moves"], _board(now), now["turn"]) == (before["moves"], _board(before), before["turn"])
        if not same:
            return (f"{room} was at move {before['moves']} (board {_board(before)}, {before['turn']} to play) when "
                    f"{killed} was killed; after its players reconnected, {again.instance} had it at move "
                    f"{now['moves']} (board {_board(now)}, {now['turn'] or 'nobody'} to play). Save every field "
                    "of the room, under a key made from its id, in the shared Redis.")
        counts["games resumed on the other server"] += 1
        games[room] = (again, now)
    return None


def check_game_snapshot(RoomSnapshots, seed=7):
    """Three games, a game server killed mid-game, players reconnecting; returns a ``Verdict`` (and saves it)."""
    counts = {"games started": 0, "moves before the kill": 0, "games on the killed server": 0,
              "games resumed on the other server": 0, "games finished": 0}
    mistake = wrong_argument(RoomSnapshots, "RoomSnapshots", "check_game_snapshot")
    if mistake:
        return Verdict(GAME_SNAPSHOT, False, mistake, counts).save()
    their = TheirCode(RoomSnapshots, "RoomSnapshots")
    rng = random.Random(seed)
    try:
        lab = _GameLab(their, seed)
    except TheirCodeFailed as failure:
        return Verdict.from_problem(GAME_SNAPSHOT, failure.problem, counts, "while a game server started").save()
    reason, doing = None, "while the games were played"
    with lab:
        games = {}
        for number, room in enumerate(ROOMS):
            game = lab.game(room, f"p{2 * number + 1}", f"p{2 * number + 2}", seed)
            counts["games started"] += 1
            play_moves(game, rng.randint(2, 5))
            counts["moves before the kill"] += game.moves
            games[room] = (game, game.players[0].state)
        held = {name: sorted(room for room, (game, _) in games.items() if game.instance == name) for name in SERVERS}
        killed = max(SERVERS, key=lambda name: len(held[name]))
        if their.problem is None:
            counts["games on the killed server"] = len(held[killed])
            lab.server(killed).kill()
            for game, _ in games.values():
                if game.instance == killed:
                    for person in game.players:
                        person.wait_disconnected()
            doing = f"while the players of {killed}'s games reconnected"
            reason = _resume(lab, games, killed, counts)
        if their.problem is None and reason is None:
            doing = "while the games were played to their end"
            for game, _ in games.values():
                play_moves(game, None)
            counts["games finished"] = sum(game.status == "finished" for game, _ in games.values())
            unfinished = next((room for room, (game, _) in games.items() if game.status != "finished"), None)
            if unfinished:
                status = games[unfinished][0].status
                reason = f"{unfinished} did not play to its end after the kill (its game is {status})."
        snapshots_in_redis = lab.store.count("")
    if their.problem is not None:
        return Verdict.from_problem(GAME_SNAPSHOT, their.problem, counts, doing).save()
    if reason:
        return Verdict(GAME_SNAPSHOT, False, reason, counts).save()
    counts["keys your snapshots left in Redis"] = snapshots_in_redis
    if snapshots_in_redis == 0:
        return Verdict(GAME_SNAPSHOT, False, "every game resumed, but Redis holds no snapshot: the rooms were kept "
                                             "in this Python process (a class attribute or a global?), which the "
                                             "lab's servers share only because they run in one process. Keep them "
                                             "in `redis`.", counts).save()
    return Verdict(GAME_SNAPSHOT, True, f"{killed} was killed in the middle of {len(held[killed])} games; their "
                                        "players reconnected, each game resumed on the other server at the same "
                                        "move, and all games were played to their end.", counts).save()
