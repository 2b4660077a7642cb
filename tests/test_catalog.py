"""catalog.py: cache-aside reads serve a stale price unless every write invalidates the cached copy.

Pins chapter 04, claim E3 against a real SQLite database and a real Redis:
without invalidation the old price is served after a write; with it the new
one is, at the cost of an extra cache call per write and a miss after it.
"""

import time

import pytest

from labsupport import InvalidArgumentError
from labsupport.services import PRODUCTS, Catalog
from labsupport.state import (
    MemoryStore,
    RedisServer,
    RedisStore,
    SQLiteStore,
    find_redis_server,
)

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def stores(tmp_path):
    if find_redis_server() is None:
        pytest.skip("no Redis server available")
    with RedisServer() as redis_server, SQLiteStore(tmp_path / "shop.sqlite3") as database, \
            RedisStore(redis_server.url, prefix="test:") as cache:
        yield database, cache


def test_cache_aside_reads_the_database_once_then_the_cache(stores):
    catalog = Catalog(*stores)
    assert catalog.price("book") == PRODUCTS["book"] and catalog.last_source == "database"
    assert catalog.price("book") == PRODUCTS["book"] and catalog.last_source == "cache"
    assert catalog.stats["database reads"] == 1 and catalog.stats["cache hits"] == 1


def test_without_invalidation_a_price_change_is_not_seen(stores):
    catalog = Catalog(*stores, invalidate=False)
    assert catalog.price("book") == 10
    catalog.set_price("book", 12)
    assert catalog.database_price("book") == 12
    assert catalog.price("book") == 10 and catalog.last_source == "cache" and catalog.is_stale("book")


def test_invalidation_fixes_it_for_one_more_call_per_write_and_a_miss(stores):
    database, cache = stores
    stale, fresh = Catalog(database, cache, invalidate=False, name="a"), Catalog(database, cache, name="b")
    for catalog in (stale, fresh):
        catalog.price("book")
        catalog.set_price("book", 12)
        catalog.price("book")
    assert fresh.stats["cache calls"] - stale.stats["cache calls"] == 2    # the delete, and the refill after the miss
    assert fresh.stats["database reads"] == 2 and stale.stats["database reads"] == 1
    assert fresh.price("book") == 12 and not fresh.is_stale("book") and stale.is_stale("book")


def test_an_expired_entry_ends_the_staleness(tmp_path):
    with SQLiteStore(tmp_path / "db.sqlite3") as database:
        cache = MemoryStore()
        catalog = Catalog(database, cache, invalidate=False, ttl_s=0.05)
        catalog.price("pen")
        catalog.set_price("pen", 3)
        time.sleep(0.2)                                        # well past the 0.05 s TTL
        assert catalog.price("pen") == 3 and catalog.last_source == "database"


def test_bad_arguments_are_refused_with_a_hint(stores):
    catalog = Catalog(*stores)
    with pytest.raises(InvalidArgumentError, match="book, lamp, mug, pen"):
        catalog.price("sofa")
    with pytest.raises(InvalidArgumentError, match="price"):
        catalog.set_price("book", -1)
    with pytest.raises(InvalidArgumentError, match="ttl_s"):
        Catalog(*stores, ttl_s=0)
    assert catalog.database_price("book") == 10
