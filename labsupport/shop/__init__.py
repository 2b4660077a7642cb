"""The shop: one HTTP API, two places to keep its state, and everything an operator does to it.

* ``api.py``: the routes and checks both shops share; ``stateless.py`` keeps state in a token, a
  database and a cache; ``stateful.py`` keeps it in the instance's memory; ``redis_sessions.py``
  keeps sessions in Redis (chapter 04).
* ``cluster.py``: a balancer plus instances plus stores, with kill, restart, drain and scale;
  ``deploys.py``: rolling, blue-green and canary; ``chaos.py``: failures (crashes, restarts, pauses,
  slowness, partitions) on a timetable; ``autoscaler.py``: instances added and removed by load.
* Sessions that move (chapters 02, 06): ``transfer.py``, the routes instances use to send each other
  sessions; ``handoff.py``, a drain that hands them to peers; ``rebalance.py``, scaling a hash ring that
  moves only the carts whose owner changed; ``state_sync.py``, a blue-green that copies them to green.
* ``users.py``: a virtual user who checks its own cart; ``traffic.py``: many of them at once;
  ``ledger.py``: what they noticed, counted, each count with its one label and definition.
* ``process.py``: either shop as an OS process of its own, told where the shared state is (chapter 10).
"""

from .api import MAX_QTY, NAME_PATTERN, ShopAPI, Trace, unauthorized
from .autoscaler import Autoscaler, Sample
from .chaos import Chaos, FaultChaos, PartitionChaos, PauseChaos, RestartChaos, SlowChaos
from .cluster import SHOPS, Cluster
from .deploys import DeployReport
from .handoff import HandOff
from .ledger import DEFINITIONS, LABELS, Ledger, Report, ledger_table
from .process import (
                      DB_ENV,
                      SECRET_ENV,
                      ShopProcess,
                      StatefulShopProcess,
                      StatelessShopProcess,
                      open_store,
                      read_secret,
)
from .rebalance import HASHING, Rebalance, RebalanceReport
from .redis_sessions import SESSION_PREFIX, RedisSessionCluster, RedisSessionShop
from .state_sync import SessionSync, SyncReport
from .stateful import SESSION_COOKIE, StatefulShop
from .stateless import StatelessShop
from .traffic import run_traffic
from .transfer import INTERNAL_PREFIX, SECRET_HEADER, Plan, Transfer, TransferFailed
from .users import SKUS, LoginFailed, User

__all__ = [
    "ShopAPI", "Trace", "NAME_PATTERN", "MAX_QTY", "unauthorized", "StatelessShop", "StatefulShop",
    "SESSION_COOKIE", "RedisSessionShop", "RedisSessionCluster", "SESSION_PREFIX", "Cluster", "SHOPS",
    "DeployReport", "Chaos", "RestartChaos", "FaultChaos", "PauseChaos", "SlowChaos", "PartitionChaos",
    "Autoscaler", "Sample", "User", "LoginFailed", "SKUS", "run_traffic",
    "Ledger", "Report", "LABELS", "DEFINITIONS", "ledger_table", "HandOff", "Rebalance", "RebalanceReport",
    "HASHING", "SessionSync", "SyncReport", "Transfer", "TransferFailed", "Plan", "INTERNAL_PREFIX", "SECRET_HEADER",
    "ShopProcess", "StatelessShopProcess", "StatefulShopProcess", "read_secret", "open_store", "SECRET_ENV", "DB_ENV",
]
