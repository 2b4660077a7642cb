"""redis_server.py: the lab finds or starts a real Redis, on loopback only, and leaves nothing behind."""

import os

import psutil
import pytest

from labsupport import DependencyMissingError, RedisServer
from labsupport.state import redis_server as module


def test_a_lab_redis_listens_on_loopback_only_and_removes_its_folder():
    server = RedisServer().start()
    try:
        if server.external_url:
            pytest.skip("REDIS_URL points at a Redis the lab did not start")
        process = psutil.Process(server._process.pid)
        listening = [c.laddr for c in process.net_connections(kind="inet") if c.status == psutil.CONN_LISTEN]
        assert listening and all(addr.ip == "127.0.0.1" for addr in listening)
        folder = server._dir
        assert os.path.isdir(folder)
    finally:
        server.close()
    assert not os.path.exists(folder) and not server.running


def test_no_redis_anywhere_is_a_clear_error(monkeypatch):
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.setattr(module, "find_redis_server", lambda: None)
    with pytest.raises(DependencyMissingError, match="apt-get install redis-server"):
        RedisServer().start()
    assert module.start_redis() is None
