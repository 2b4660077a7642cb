"""Where state can live, outside the instances that serve requests.

* ``stores.py``: one small interface (get, put, update, delete) over process memory, a SQLite
  database and a Redis cache, so a lesson can swap one for another.
* ``tokens.py``: signed JWTs, the state a client carries with every request.
* ``redis_server.py``: finding or starting the Redis server the cache lives in, on every platform;
  ``redis_program.py`` runs a real redis-server, ``fake_redis.py`` the Python one of the last resort.
"""

from .fake_redis import FakeRedis
from .redis_program import RedisProgram
from .redis_server import RedisServer, find_redis_server, start_redis, which_redis
from .stores import MemoryStore, RedisStore, SQLiteStore, Store, StoreUnavailable
from .tokens import TokenIssuer, TokenRejected

__all__ = ["Store", "MemoryStore", "SQLiteStore", "RedisStore", "StoreUnavailable", "TokenIssuer", "TokenRejected",
           "RedisServer", "find_redis_server", "start_redis", "which_redis", "RedisProgram", "FakeRedis"]
