"""server.py: the lifecycle of one instance (start, graceful stop, crash, restart) and its capacity model."""

import socket
import threading

import pytest

from labsupport.engine import Application, Instance, Response
from tests.conftest import lab_threads, wait_for
from tests.http_util import call, raw_exchange


class Counter(Application):
    """A tiny app that remembers how many requests it served: memory a crash must lose."""

    def __init__(self):
        self.count = 0

    def handle(self, request, instance):
        self.count += 1
        return Response(200, {"count": self.count})


def test_start_serves_with_identity_headers_on_loopback():
    with Instance(Counter, name="api-1", version="v7") as server:
        assert server.address[0] == "127.0.0.1"
        status, headers, body = call(server.url, "GET", "/")
        assert status == 200 and body == {"count": 1}
        assert headers["X-Instance"] == "api-1" and headers["X-Version"] == "v7"


def test_kill_discards_memory_and_restart_starts_empty():
    server = Instance(Counter, name="api").start()
    for _ in range(3):
        call(server.url, "GET", "/")
    server.kill()
    assert not server.alive and server.status == "dead"
    with pytest.raises(OSError):
        call(server.url, "GET", "/")
    server.restart()
    assert call(server.url, "GET", "/")[2] == {"count": 1}
    server.close()


def test_kill_cuts_open_keep_alive_connections():
    server = Instance(Counter).start()
    sock = socket.create_connection(server.address)
    sock.sendall(f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n\r\n".encode())
    assert b"200" in sock.recv(4096)
    server.kill()
    sock.settimeout(2)
    try:
        leftover = sock.recv(4096)
    except ConnectionResetError:
        leftover = b""
    assert leftover == b""          # the connection was closed by the crash, not left hanging
    sock.close()


def test_stop_and_kill_are_idempotent():
    server = Instance(Counter).start()
    server.stop()
    server.stop()
    server.kill()
    assert server.status == "stopped"
    server.close()


def test_graceful_stop_lets_in_flight_requests_finish():
    server = Instance(Counter, service_ms=300).start()
    results = []
    worker = threading.Thread(target=lambda: results.append(call(server.url, "GET", "/")[0]))
    worker.start()
    wait_for(lambda: server.stats["in_flight"] == 1)
    server.stop()
    worker.join()
    assert results == [200]


def test_past_the_queue_limit_requests_get_503():
    server = Instance(Counter, workers=1, queue_limit=1, service_ms=300).start()
    statuses = []
    threads = [threading.Thread(target=lambda: statuses.append(call(server.url, "GET", "/")[0])) for _ in range(4)]
    for t in threads:
        t.start()
    assert wait_for(lambda: (server.stats["busy"], server.stats["queued"]) == (1, 1))
    for t in threads:
        t.join()
    assert sorted(statuses) == [200, 200, 503, 503]
    assert server.stats["rejected"] == 2
    server.close()


def test_broken_http_gets_json_errors_and_the_server_keeps_serving():
    with Instance(Counter) as server:
        answer = raw_exchange(server.address, b"NONSENSE\r\n\r\n")
        assert answer.startswith(b"HTTP/1.1 400") and b'"error"' in answer
        answer = raw_exchange(server.address, b"BREW / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert answer.startswith(b"HTTP/1.1 405")
        answer = raw_exchange(server.address, b"GET / HTTP/1.1\r\nX: " + b"a" * 70000 + b"\r\n\r\n")
        assert answer.startswith(b"HTTP/1.1 431")
        status, _, body = call(server.url, "POST", "/", raw_body=b"x" * (64 * 1024 + 1))
        assert status == 413 and "limit" in body["error"]
        assert call(server.url, "GET", "/")[0] == 200


def test_an_app_bug_costs_one_request_not_the_server():
    class Buggy(Application):
        def handle(self, request, instance):
            raise ZeroDivisionError("oops")

    with Instance(Buggy) as server:
        status, _, body = call(server.url, "GET", "/")
        assert status == 500 and "Traceback" not in body["error"]
        assert call(server.url, "GET", "/")[0] == 500
        assert server.events.messages(1, kind="error")


def test_closing_leaves_no_threads():
    before = set(lab_threads())
    for _ in range(5):
        with Instance(Counter) as server:
            call(server.url, "GET", "/")
    assert wait_for(lambda: set(lab_threads()) <= before)
