"""The game server as an OS process of its own: what ``python -m labsupport serve game-server`` runs.

The rooms stay where chapter 05 put them, in the memory of one process, so
nothing about the game changes when it leaves the kernel: a killed process
takes its rooms with it, and only finished games, written to the results
database (``--db``, a SQLite file), survive. What changes is who keeps every
player of a room on the same process: in the lab, the balancer's consistent
hash on the room id; in ``deploy/k8s/game-server.yaml``, a StatefulSet and an
ingress that hashes on the room's path (chapter 10, G4).
"""

from websockets.sync.server import serve

from .server import CLOSE_TIMEOUT, GameServer, quiet_logger

__all__ = ["GameServerProcess", "ProcessGameServer"]


class ProcessGameServer(GameServer):
    """A ``GameServer`` bound to exactly the host and port it was given (port 0: any free port)."""

    def __init__(self, host="127.0.0.1", port=0, allowed_hosts=(), **options):
        super().__init__(**options)
        self.host = "127.0.0.1" if host == "localhost" else host
        self.port = port
        self.allowed_hosts = tuple(allowed_hosts)     # Host names besides loopback (--allow-host)

    @property
    def url(self):
        return f"ws://{self.host}:{self.port}"

    def _listen(self):
        # The same options as GameServer._listen, without its fallback to a new port: a process that
        # a proxy points at must be where its configuration says, or fail at once.
        return serve(self._handle, self.host, self.port, process_request=self._check_request,
                     process_response=self._label_response, create_connection=self._new_link,
                     ping_interval=None, close_timeout=CLOSE_TIMEOUT, logger=quiet_logger())


class GameServerProcess:
    """One game server process: rooms in memory, finished games in an optional SQLite file."""

    app = "game-server"
    default_name = "game-1"
    help = "the WebSocket game server whose rooms live in the memory of one process"

    @classmethod
    def add_arguments(cls, parser):
        parser.add_argument("--db", default=None, metavar="PATH",
                            help="a SQLite file for the results of finished games (default: results are not saved)")

    @classmethod
    def from_args(cls, args, environ):
        return cls(args.db)

    def __init__(self, db=None):
        self.db = db

    def instance(self, host, port, name, version, allowed_hosts=()):
        return ProcessGameServer(host=host, port=port, name=name, version=version, db_path=self.db,
                                 allowed_hosts=allowed_hosts)

    def summary(self, server):
        return f"{len(server.saved_results())} finished games in the results database"

    def close(self):
        """Nothing to release: each result is written and its file closed when the game ends."""
