"""A stateful cluster: a load balancer pinning game rooms to WebSocket game servers.

This is the article's second diagram, running: players open WebSockets to one
balancer, which hashes the room id in the path (``/rooms/<id>``) so every
player of a room reaches the one ``GameServer`` whose memory holds that room.
Finished games are saved in one shared SQLite file. Because the rooms live in
server memory, killing or replacing a server ends exactly the games it held,
and the cluster's ledger counts them; games elsewhere play on, and saved
results survive. Chapters 00 (I2) and 05 (R3, R4) use it.

The balancer is the lab's generic one; the cluster hands it what is
particular to games: a consistent-hash policy whose key is the room in the
path (``rules.room_key``), and the words for what it balances ("no healthy
game server"). It checks each game server's ``/health`` every few tenths of a
second and also learns that a server is gone the moment a connection to it is
refused; a reconnecting player (``player()`` retries) then lands on another.

    with GameCluster(servers=2) as games:
        games.play(rooms=4, moves=2)          # four games in progress
        games.kill("game-1")                  # its games end; the others go on
        games.finish_games()
        games.ledger()
"""

import itertools
import random
import shutil
import threading
import time

from ..checks import require_int
from ..engine import workspace
from ..engine.balancer import Balancer
from ..engine.lifecycle import Closable
from ..engine.policies import ConsistentHash
from ..errors import ClusterClosedError, InvalidArgumentError, UnknownInstanceError
from .client import GamePlayer
from .ledger import Game, count_games, play_moves
from .results import load_results
from .rules import room_key
from .server import GameServer

__all__ = ["GameCluster", "GameDeployReport"]

HEALTH_INTERVAL = 0.2          # seconds between the balancer's health checks of each game server
CONNECT_ATTEMPTS = 3           # a player reconnects this often when the balancer picked a dead server
MAX_SERVERS = 10


class GameDeployReport:
    """What a rolling deploy of the game servers cost, like the shop's ``DeployReport``.

    ``replaced`` names the servers taken away, ``games_ended`` counts the games
    they cut off; ``seconds`` is for showing only.
    """

    def __init__(self, version, replaced, games_ended, started):
        self.strategy = "rolling"
        self.version = version
        self.replaced = replaced
        self.games_ended = games_ended
        self.seconds = time.monotonic() - started

    def __repr__(self):
        return (f"GameDeployReport({self.strategy} to {self.version}: replaced {len(self.replaced)} game servers, "
                f"{self.games_ended} games ended)")


class GameCluster(Closable):
    """Balancer (consistent hashing on the room id) + game servers + a shared results database."""

    def __init__(self, servers=2, seed=7, db_path=None, version="v1"):
        require_int("servers", servers, 1, MAX_SERVERS)
        self.seed = seed
        self.version = version
        self._tempdir = str(workspace.new_folder("games")) if db_path is None else None
        self.db_path = str(db_path) if db_path is not None else f"{self._tempdir}/results.sqlite3"
        self._servers = []
        self._games = []
        self._players = []                 # every player this cluster connected, to close them all
        self._numbers = itertools.count(1)          # game-1, game-2, ... never reused
        self._room_numbers = itertools.count(1)     # room-1, room-2, ... across play() calls
        self._lock = threading.RLock()
        self.balancer = Balancer(ConsistentHash(key_of=room_key), seed=seed, health_interval=HEALTH_INTERVAL,
                                 name="game-lb", instance_noun="game server")
        self._opened()
        try:
            self.balancer.start()
            for _ in range(servers):
                self._add_server(version)
        except BaseException:
            self.close()
            raise

    # -- looking at it ---------------------------------------------------------
    @property
    def url(self):
        return self.balancer.url.replace("http://", "ws://")

    @property
    def servers(self):
        with self._lock:
            return list(self._servers)

    def server(self, name):
        for server in self.servers:
            if server.name == name:
                return server
        raise UnknownInstanceError(name, [s.name for s in self.servers])

    def rooms_by_server(self):
        """{server name: sorted ids of the rooms in its memory right now}."""
        return {s.name: sorted(s.rooms()) for s in self.servers}

    def saved_results(self):
        """Every finished game saved in the shared database, oldest first."""
        return load_results(self.db_path)

    def games(self):
        """Every game started through this cluster, oldest first."""
        with self._lock:
            return list(self._games)

    def game(self, room):
        """The latest game played in ``room``."""
        for game in reversed(self.games()):
            if game.room == room:
                return game
        raise InvalidArgumentError(f"no game in room {room!r}; rooms so far: {', '.join(g.room for g in self.games())}")

    def ledger(self):
        """What happened to every game started through this cluster, as counts (see ``game_ledger``)."""
        return count_games(self.games())

    def __repr__(self):
        state = "closed" if self.closed else f"{sum(s.alive for s in self.servers)} game servers up"
        return f"GameCluster({state}, policy=consistent_hash)"

    # -- players and games --------------------------------------------------------
    def player(self, name, room):
        """A ``GamePlayer`` connected to ``room`` through the balancer (it reconnects if refused)."""
        self._check_open()
        for _attempt in range(CONNECT_ATTEMPTS):
            person = GamePlayer(self.url, name, room)
            if person.joined or not person.disconnected:
                break
            person.close()                 # refused: the balancer has now taken that server out
        self._track(person)
        return person

    def play(self, rooms=4, moves=None, seed=None, prefix="room"):
        """Start ``rooms`` games of two players and play ``moves`` moves in each (None: to the end).

        Games play one after another, so who moves where is the same on every
        run. Unfinished games stay open, their players connected. Returns the games.
        """
        self._check_open()
        require_int("rooms", rooms, 1, 100)
        require_int("moves", 0 if moves is None else moves, 0, 100)
        seed = self.seed if seed is None else seed
        started = []
        for _ in range(rooms):
            number = next(self._room_numbers)
            room = f"{prefix}-{number}"
            first, second = self.player(f"p{2 * number - 1}", room), self.player(f"p{2 * number}", room)
            if not (first.joined and second.joined):
                continue                   # no server could take this room; the players say why (.error)
            game = self._game_for(room)
            game.rng = random.Random(f"{seed}-{room}")
            play_moves(game, moves)
            started.append(game)
        return started

    def finish_games(self):
        """Play every game still in progress to its end; returns how many finished."""
        playing = [g for g in self.games() if g.status == "playing"]
        for game in playing:
            play_moves(game, None)
        return sum(g.status == "finished" for g in playing)

    def _track(self, person):
        with self._lock:
            self._players.append(person)
            if person.joined:
                self._game_for(person.room).players.append(person)

    def _game_for(self, room):
        """The room's game still waiting or playing, or a new one."""
        with self._lock:
            for game in reversed(self._games):
                if game.room == room and game.status in ("waiting", "playing"):
                    return game
            game = Game(room, self.seed)
            self._games.append(game)
            return game

    # -- operations -----------------------------------------------------------------
    def kill(self, name):
        """Crash ``name``: its rooms and connections are gone. Returns the rooms whose games ended."""
        server = self.server(name)
        running = self._running_on(name)
        server.kill()
        return self._mark_ended(running, f"{name} killed")

    def restart(self, name):
        """Start ``name`` again, empty, and put it back behind the balancer."""
        server = self.server(name)
        server.restart()
        self.balancer.set_address(name, ("127.0.0.1", server.port))
        return server

    def rolling_deploy(self, version, grace_s=0.0):
        """Replace every server not on ``version``: start a new one, switch traffic, stop the old.

        A stopped server gives running games ``grace_s`` seconds to finish, then
        closes their connections: those games end, and the ledger counts them.
        Returns a ``GameDeployReport``.
        """
        self._check_open()
        if not isinstance(version, str) or not version:
            raise InvalidArgumentError(f"version must be a non-empty string like 'v2', not {version!r}")
        started = time.monotonic()
        self.version = version
        replaced, ended = [], []
        for old in [s for s in self.servers if s.version != version]:
            self._add_server(version)
            self.balancer.remove_instance(old.name)            # the switch: new players go elsewhere
            running = self._running_on(old.name)
            old.stop(timeout=grace_s)
            ended += self._mark_ended(running, f"{old.name} replaced by {version}")
            old.close()
            with self._lock:
                self._servers.remove(old)
            replaced.append(old.name)
        return GameDeployReport(version, replaced, len(ended), started)

    def _add_server(self, version):
        name = f"game-{next(self._numbers)}"
        server = GameServer(name, version, db_path=self.db_path, seed=self.seed).start()
        with self._lock:
            self._servers.append(server)
        self.balancer.add_instance(name, ("127.0.0.1", server.port))
        return server

    def _running_on(self, name):
        return [g for g in self.games() if g.instance == name and g.status in ("waiting", "playing")]

    def _mark_ended(self, games, why):
        """Wait until the players of ``games`` notice their server is gone; record why unfinished ones ended."""
        ended = []
        for game in games:
            for person in game.players:
                person.wait_disconnected()
            if game.result is None:
                game.ended_by = why
                ended.append(game.room)
        return sorted(ended)

    # -- closing ----------------------------------------------------------------------
    def _check_open(self):
        if self.closed:
            raise ClusterClosedError("this game cluster was closed; start a new one with GameCluster()")

    def _close(self):
        """Disconnect the players, stop the balancer and the servers, delete a temporary database."""
        with self._lock:
            players = list(self._players)
        for person in players:
            person.close()
        self.balancer.close()
        for server in self.servers:
            server.close()
        if self._tempdir is not None:
            shutil.rmtree(self._tempdir, ignore_errors=True)
