"""The balancer under many concurrent connections: no errors, no deadlock, nothing left behind.

A fast version of the load part of benchmarks/chaos_soak.py (200 connections for 10 s).
"""

import collections
import http.client
import threading
import time

from labsupport import Cluster, shutdown_all
from tests.conftest import lab_threads, wait_for

CONNECTIONS = 60
SECONDS = 2.0


def test_sixty_keep_alive_connections_for_two_seconds():
    before = set(lab_threads())
    outcomes = collections.Counter()
    with Cluster.stateless(instances=3, workers=16) as shop:
        host, port = shop.url.replace("http://", "").split(":")
        deadline = time.monotonic() + SECONDS

        def client():
            conn = http.client.HTTPConnection(host, int(port), timeout=20)
            try:
                while time.monotonic() < deadline:
                    conn.request("GET", "/health")
                    answer = conn.getresponse()
                    answer.read()
                    outcomes[answer.status] += 1
            except (OSError, http.client.HTTPException) as exc:
                outcomes[type(exc).__name__] += 1
            finally:
                conn.close()

        clients = [threading.Thread(target=client) for _ in range(CONNECTIONS)]
        for c in clients:
            c.start()
        for c in clients:
            c.join(timeout=60)
        assert not any(c.is_alive() for c in clients), "a client hung: the balancer deadlocked"
        assert set(outcomes) == {200} and outcomes[200] >= CONNECTIONS
        assert all(b.in_flight == 0 for b in shop.balancer.instances())
    shutdown_all()
    assert wait_for(lambda: set(lab_threads()) <= before, timeout=5)
