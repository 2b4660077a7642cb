"""labsupport: the real servers behind the course on stateless vs stateful applications.

Import what a notebook needs from here; importing starts nothing (no servers,
no files, no plotting settings).

    from labsupport import Cluster, shutdown_all
    shop = Cluster.stateless(instances=3)

One file per idea: server.py (an instance), balancer.py and policies.py (the
load balancer), stateless_shop.py and stateful_shop.py (the two shops),
stores.py (where state lives), traffic.py (users and the ledger), and so on.
"""

from .answers import progress
from .balancer import Balancer
from .broker import Broker, Consumer, delivery_experiment
from .chaos import Chaos
from .cluster import Cluster
from .dashboard import ClusterDashboard
from .diagram import architecture_diagram, show_mermaid
from .durability import crash_writer_experiment
from .game import GameServer
from .game_client import GamePlayer
from .game_cluster import GameCluster
from .errors import (ClusterClosedError, DependencyMissingError, InvalidArgumentError, LabError,
                     UnknownInstanceError)
from .policies import ConsistentHash, ModuloHash, make_policy
from .predict import Predict
from .question_bank import CHAPTERS, QuizFileError, load_chapter, load_questions
from .quiz import Quiz
from .redis_server import RedisServer
from .registry import shutdown_all
from .server import Server
from .stores import MemoryStore, RedisStore, SQLiteStore, StoreUnavailable
from .streams import CheckpointStore, StreamProcessor, generate_events, window_experiment
from .tables import Table
from .tokens import TokenIssuer, TokenRejected
from .traffic import Report, User, run_traffic

__all__ = [
    "Balancer", "Broker", "CHAPTERS", "Chaos", "CheckpointStore", "Cluster", "ClusterClosedError", "ClusterDashboard", "ConsistentHash",
    "Consumer", "DependencyMissingError", "GameCluster", "GamePlayer", "GameServer", "InvalidArgumentError", "LabError", "MemoryStore", "ModuloHash", "Predict",
    "Quiz", "QuizFileError", "RedisServer", "RedisStore", "Report", "SQLiteStore", "Server", "StoreUnavailable",
    "StreamProcessor", "Table", "TokenIssuer", "TokenRejected", "UnknownInstanceError", "User",
    "architecture_diagram", "crash_writer_experiment", "delivery_experiment", "generate_events", "load_chapter", "load_questions",
    "make_policy", "progress", "run_traffic", "show_mermaid", "shutdown_all", "window_experiment",
]
