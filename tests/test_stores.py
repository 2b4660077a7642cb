"""stores.py: one key-value interface over memory, SQLite and Redis, with latency and outage knobs."""

import threading

import pytest

from labsupport import (
    MemoryStore,
    RedisServer,
    RedisStore,
    SQLiteStore,
    StoreUnavailable,
)


@pytest.fixture(params=["memory", "sqlite", "redis"])
def store(request, tmp_path):
    if request.param == "memory":
        yield MemoryStore()
    elif request.param == "sqlite":
        with SQLiteStore(tmp_path / "db.sqlite3") as s:
            yield s
    else:
        with RedisServer() as server, RedisStore(server.url) as s:
            yield s


def test_get_put_delete(store):
    assert store.get("k") is None and store.get("k", default=3) == 3
    store.put("k", {"a": 1})
    assert store.get("k") == {"a": 1}
    store.delete("k")
    assert store.get("k") is None


def test_update_is_atomic_under_concurrency(store):
    def bump(value):
        return (value or 0) + 1

    threads = [threading.Thread(target=lambda: [store.update("n", bump) for _ in range(25)]) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert store.get("n") == 100


def test_an_outage_fails_fast_and_recovery_needs_no_restart(store):
    store.put("k", 1)
    store.down()
    with pytest.raises(StoreUnavailable):
        store.get("k")
    store.up()
    assert store.get("k") == 1


def test_calls_count_the_load(store):
    before = store.calls
    store.put("a", 1)
    store.get("a")
    assert store.calls - before == 2


def test_sqlite_data_survives_a_new_connection(tmp_path):
    with SQLiteStore(tmp_path / "db.sqlite3") as first:
        first.put("cart:alice", {"book": 1})
    with SQLiteStore(tmp_path / "db.sqlite3") as second:
        assert second.get("cart:alice") == {"book": 1}


def test_a_temporary_sqlite_store_removes_its_folder():
    store = SQLiteStore()
    folder = store._tempdir
    store.close()
    import os
    assert not os.path.exists(folder)


def test_redis_restart_loses_everything_and_a_stopped_redis_is_unavailable():
    with RedisServer() as server, RedisStore(server.url) as store:
        store.put("session:alice", True)
        server.restart()
        assert store.get("session:alice") is None
        server.stop()
        with pytest.raises(StoreUnavailable):
            store.get("x")
