"""labsupport: the real servers behind the course on stateless vs stateful applications.

Import what a notebook needs from here; importing starts nothing.

    from labsupport import Cluster, shutdown_all
    shop = Cluster.stateless(instances=3)
"""

from .balancer import Balancer
from .chaos import Chaos
from .cluster import Cluster
from .errors import (ClusterClosedError, DependencyMissingError, InvalidArgumentError, LabError,
                     UnknownInstanceError)
from .policies import ConsistentHash, ModuloHash, make_policy
from .redis_server import RedisServer
from .registry import shutdown_all
from .server import Server
from .stores import MemoryStore, RedisStore, SQLiteStore, StoreUnavailable
from .tokens import TokenIssuer, TokenRejected
from .traffic import Report, User, run_traffic

__all__ = [
    "Balancer", "Chaos", "Cluster", "ClusterClosedError", "ConsistentHash", "DependencyMissingError",
    "InvalidArgumentError", "LabError", "MemoryStore", "ModuloHash", "RedisServer", "RedisStore", "Report",
    "SQLiteStore", "Server", "StoreUnavailable", "TokenIssuer", "TokenRejected", "UnknownInstanceError", "User",
    "make_policy", "run_traffic", "shutdown_all",
]
