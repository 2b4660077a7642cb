"""The stateful game of chapters 00, 02, 05 and 07: rooms that live in one server's memory.

* ``rules.py``: the game and its messages as plain functions on plain dicts (no sockets).
* ``server.py``: the WebSocket game server that holds the rooms; ``client.py``: a player.
* ``results.py``: finished games in SQLite, the only game state that outlives a server.
* ``cluster.py``: a balancer pinning each room to one server; ``ledger.py``: how every game ended.
* ``process.py``: the game server as an OS process of its own (chapter 10).
"""

from .client import GamePlayer, play_game
from .cluster import GameCluster, GameDeployReport
from .ledger import Game, count_games, play_moves
from .process import GameServerProcess, ProcessGameServer
from .results import check_results_db, load_results, save_result
from .rules import Rejected, room_key
from .server import GameServer, quiet_logger

__all__ = ["GameServer", "GamePlayer", "play_game", "GameCluster", "GameDeployReport", "Game", "count_games",
           "play_moves", "save_result", "load_results", "check_results_db", "Rejected", "room_key", "quiet_logger",
           "GameServerProcess", "ProcessGameServer"]
