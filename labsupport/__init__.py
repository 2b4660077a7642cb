"""labsupport: the real servers behind the course on stateless vs stateful applications.

Import what a notebook needs from here (or from one folder, such as ``labsupport.labs``);
importing starts nothing: no servers, no files, no plotting settings.

    from labsupport import Cluster, shutdown_all
    shop = Cluster.stateless(instances=3)

The folders are the architecture, each building only on the ones above it in this list:

* ``errors.py`` and ``checks.py``: the one error root (``LabError``: ``except LabError`` catches every
  error the lab raises on purpose, wherever it is defined) and the argument checks all parts share.
* ``engine/``: a server instance and the ``Application`` it runs, the load balancer and its policies, the
  registry that closes everything.
* ``state/``: where state can live: memory, SQLite, Redis, signed tokens.
* ``shop/``: the shop API, its stateless and stateful implementations, the cluster, deploys, chaos, users.
* ``services/``: identity provider, object store, job queue, catalog, broker, streams, durability.
* ``game/``: the WebSocket game server, its players and the game cluster.
* ``labs/``: one module per chapter experiment, composing the parts above.
* ``widgets/``: the dashboard, diagrams, questions, hints and your saved answers.
* ``exercises/``: one exercise per chapter from 01 to 08 (not 03): your class, run by a checker on the live lab.
* ``sim/``: simpy models for what one machine cannot show.
"""

from .engine import (
                     Application,
                     Balancer,
                     ConsistentHash,
                     HeldState,
                     HTTPError,
                     Instance,
                     ModuloHash,
                     Table,
                     make_policy,
                     shutdown_all,
)
from .errors import (
                     ClusterClosedError,
                     DependencyMissingError,
                     InvalidArgumentError,
                     LabError,
                     UnknownInstanceError,
)
from .game import GameCluster, GamePlayer, GameServer, Rejected
from .services import (
                     Broker,
                     CheckpointStore,
                     Consumer,
                     StreamProcessor,
                     crash_writer_experiment,
                     delivery_experiment,
                     generate_events,
                     window_experiment,
)
from .shop import Chaos, Cluster, LoginFailed, Report, RestartChaos, User, run_traffic
from .state import (
                     MemoryStore,
                     RedisServer,
                     RedisStore,
                     SQLiteStore,
                     StoreUnavailable,
                     TokenIssuer,
                     TokenRejected,
)
from .widgets import (
                     CHAPTERS,
                     ClusterDashboard,
                     Predict,
                     Quiz,
                     QuizFileError,
                     architecture_diagram,
                     load_chapter,
                     load_questions,
                     progress,
                     show_mermaid,
)

__all__ = [
    "Application", "HeldState", "HTTPError", "Rejected", "LoginFailed", "RestartChaos",
    "Balancer", "Broker", "CHAPTERS", "Chaos", "CheckpointStore", "Cluster", "ClusterClosedError",
    "ClusterDashboard", "ConsistentHash", "Consumer", "DependencyMissingError", "GameCluster", "GamePlayer",
    "GameServer", "InvalidArgumentError", "LabError", "MemoryStore", "ModuloHash", "Predict", "Quiz",
    "QuizFileError", "RedisServer", "RedisStore", "Report", "SQLiteStore", "Instance", "StoreUnavailable",
    "StreamProcessor", "Table", "TokenIssuer", "TokenRejected", "UnknownInstanceError", "User",
    "architecture_diagram", "crash_writer_experiment", "delivery_experiment", "generate_events", "load_chapter",
    "load_questions", "make_policy", "progress", "run_traffic", "show_mermaid", "shutdown_all", "window_experiment",
]
