"""The shop as an OS process of its own: what ``python -m labsupport serve stateless-shop`` runs.

In a notebook, ``Cluster`` hands its instances the token issuer, the database
and the cache as Python objects. Separate processes cannot share objects, so
each one must be *told* where the shared state is, and that is the whole
difference between the two shops once they leave the kernel (chapter 10):

* ``StatelessShopProcess`` needs the signing secret every process shares (from
  the environment variable ``LAB_SHOP_SECRET`` or a file, never a command-line
  argument: ``ps`` shows every process's arguments to every user of the
  machine), where carts live (``--db``: a SQLite file all processes on one
  machine open, or a ``redis://`` URL when they run on several machines), and
  the cache for the token denylist (``--redis-url`` or ``REDIS_URL``; without
  one the denylist lives in the database). A URL that carries a password is
  best given through the environment (``LAB_SHOP_DB``, ``REDIS_URL``) too.
* ``StatefulShopProcess`` needs nothing: each process keeps its sessions in its
  own memory, so killing it loses exactly its users (claim G2).

Both run the same ``StatelessShop`` / ``StatefulShop`` code as the notebooks,
on a ``ProcessInstance``, with the same capacity model.
"""

import sqlite3

from ..engine.process import NumberOption, ProcessInstance
from ..errors import InvalidArgumentError
from ..state.stores import RedisStore, SQLiteStore
from ..state.tokens import TokenIssuer
from .stateful import StatefulShop
from .stateless import StatelessShop

__all__ = ["ShopProcess", "StatelessShopProcess", "StatefulShopProcess", "read_secret", "open_store",
           "SECRET_ENV", "DB_ENV", "KEY_PREFIX"]

SECRET_ENV = "LAB_SHOP_SECRET"
DB_ENV = "LAB_SHOP_DB"
KEY_PREFIX = "shop:"           # every process uses the same prefix, so they share carts and the denylist
REDIS_SCHEMES = ("redis://", "rediss://", "unix://")


def read_secret(environ, secret_file=None):
    """The signing secret from ``secret_file`` or ``environ[SECRET_ENV]`` (exactly one of them)."""
    from_env = environ.get(SECRET_ENV)
    if secret_file is not None and from_env:
        raise InvalidArgumentError(f"the secret is given twice ({SECRET_ENV} and --secret-file); keep one")
    if secret_file is not None:
        try:
            with open(secret_file, encoding="utf-8") as handle:
                return handle.read().strip()
        except OSError as exc:
            raise InvalidArgumentError(f"cannot read the secret file {secret_file!r}: {exc.strerror}") from None
    if from_env:
        return from_env
    raise InvalidArgumentError(f"the stateless shop signs tokens with a secret that every process shares: "
                               f"set {SECRET_ENV} or pass --secret-file PATH (for example, make one with "
                               f"python -c 'import secrets; print(secrets.token_hex(32))')")


def open_store(where):
    """A SQLite file path or a ``redis://`` URL, opened as the shop's store of carts."""
    if where.startswith(REDIS_SCHEMES):
        return RedisStore(where, prefix=KEY_PREFIX)
    try:
        return SQLiteStore(where)
    except sqlite3.Error as exc:
        raise InvalidArgumentError(f"cannot open the database {where!r} ({exc}); "
                                   "give a file in a folder that exists and that you can write to") from None


class ShopProcess:
    """One shop process. A subclass says where the shop's state lives; the capacity model is shared.

    For ``__main__``: ``add_arguments(parser)`` (class method), ``from_args(args,
    environ)``, then ``instance(...)``, ``summary(instance)`` and ``close()``.
    """

    app = "shop"
    help = ""
    default_name = "shop-1"

    @classmethod
    def add_arguments(cls, parser):
        parser.add_argument("--workers", type=NumberOption("workers", 1, whole=True), default=8, metavar="N",
                            help="requests one process serves at once (the capacity model; default 8)")
        parser.add_argument("--service-ms", type=NumberOption("service time (ms)", 0, 60_000), default=0.0,
                            metavar="MS",
                            help="simulated work per request, in milliseconds (default 0)")
        parser.add_argument("--queue-limit", type=NumberOption("queue limit", 0, whole=True), default=64, metavar="N",
                            help="requests that may wait for a worker before the rest get 503 (default 64)")

    @classmethod
    def from_args(cls, args, environ):
        raise NotImplementedError

    def __init__(self, workers=8, service_ms=0.0, queue_limit=64):
        self.capacity = {"workers": workers, "service_ms": service_ms, "queue_limit": queue_limit}

    def new_app(self):
        """A fresh application object (what ``Instance`` calls at start)."""
        raise NotImplementedError

    def instance(self, host, port, name, version, allowed_hosts=()):
        return ProcessInstance(self.new_app, host=host, port=port, name=name, version=version,
                               allowed_hosts=allowed_hosts, **self.capacity)

    def summary(self, instance):
        return f"served {instance.stats['requests']} requests"

    def close(self):
        """Release what ``__init__`` opened (database files, Redis connections)."""


class StatelessShopProcess(ShopProcess):
    """The stateless shop, given the secret, the database and the cache it shares with its peers."""

    app = "stateless-shop"
    help = "the shop that keeps nothing in memory: JWTs, carts in a shared database, denylist in Redis"

    @classmethod
    def add_arguments(cls, parser):
        parser.add_argument("--db", default=None, metavar="PATH_OR_URL",
                            help="where carts live, shared by every process: a SQLite file (processes on one "
                                 f"machine) or a redis:// URL (processes on several machines); default ${DB_ENV}, "
                                 "which keeps a URL with a password off the command line")
        parser.add_argument("--redis-url", default=None, metavar="URL",
                            help="the Redis that holds the token denylist (default: $REDIS_URL; "
                                 "without one, the denylist is kept in the database)")
        parser.add_argument("--secret-file", default=None, metavar="PATH",
                            help=f"a file holding the token signing secret (or set ${SECRET_ENV}); "
                                 "never put the secret itself on the command line")
        super().add_arguments(parser)

    @classmethod
    def from_args(cls, args, environ):
        db = args.db or environ.get(DB_ENV)
        if not db:
            raise InvalidArgumentError(f"the stateless shop keeps carts in a database every process shares: "
                                       f"pass --db PATH (a SQLite file) or set {DB_ENV} (a path or a redis:// URL)")
        return cls(read_secret(environ, args.secret_file), db, args.redis_url or environ.get("REDIS_URL"),
                   workers=args.workers, service_ms=args.service_ms, queue_limit=args.queue_limit)

    def __init__(self, secret, db, redis_url=None, **capacity):
        super().__init__(**capacity)
        self.tokens = TokenIssuer(secret)       # every process with this secret accepts every other's tokens
        self.database = open_store(db)
        self.cache = RedisStore(redis_url, prefix=KEY_PREFIX) if redis_url else self.database

    def new_app(self):
        return StatelessShop(self.tokens, self.database, self.cache)

    def close(self):
        if self.cache is not self.database:
            self.cache.close()
        self.database.close()


class StatefulShopProcess(ShopProcess):
    """The stateful shop: sessions and carts in this process's memory, nothing shared."""

    app = "stateful-shop"
    help = "the shop that keeps sessions and carts in the memory of the process that served the login"

    @classmethod
    def add_arguments(cls, parser):
        parser.add_argument("--session-ttl", type=NumberOption("session TTL (s)", 0.001, 7 * 24 * 3600),
                            default=300.0, metavar="SECONDS",
                            help="idle sessions are forgotten after this long (default 300)")
        super().add_arguments(parser)

    @classmethod
    def from_args(cls, args, environ):
        return cls(args.session_ttl, workers=args.workers, service_ms=args.service_ms, queue_limit=args.queue_limit)

    def __init__(self, session_ttl_s=300.0, **capacity):
        super().__init__(**capacity)
        self.session_ttl_s = session_ttl_s

    def new_app(self):
        return StatefulShop(session_ttl_s=self.session_ttl_s)
