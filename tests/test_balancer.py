"""balancer.py: a real reverse proxy that retries only what is safe to retry, and drains gracefully."""

import json
import socket
import threading

from websockets.sync.client import connect

from labsupport import Balancer, Cluster, GameServer, Instance
from labsupport.engine import Application, Response
from tests.conftest import wait_for
from tests.http_util import call


class Slow(Application):
    def __init__(self):
        self.applied = 0

    def handle(self, request, instance):
        self.applied += 1
        return Response(200, {"ok": True})


def test_identity_of_the_backend_passes_through_the_balancer():
    with Cluster.stateless(instances=2) as shop:
        _, headers, _ = call(shop.url, "GET", "/health")
        assert headers["X-Instance"] in ("shop-1", "shop-2") and headers["X-Version"] == "v1"


def test_a_post_without_idempotency_key_to_a_dying_instance_is_reported_as_unknown_outcome():
    server = Instance(Slow, name="slow", service_ms=400).start()
    with Balancer("round_robin", health_interval=5) as lb:
        lb.add_instance("slow", server.address)
        result = {}
        worker = threading.Thread(target=lambda: result.update(answer=call(lb.url, "POST", "/x", {"a": 1})))
        worker.start()
        wait_for(lambda: server.stats["in_flight"] == 1)
        server.kill()
        worker.join()
    status, _, body = result["answer"]
    assert status == 502 and body["outcome"] == "unknown"
    server.close()


def test_an_idempotent_request_to_a_dying_instance_is_retried_elsewhere():
    slow = Instance(Slow, name="slow", service_ms=400).start()
    fine = Instance(Slow, name="fine").start()
    with Balancer("round_robin", health_interval=5) as lb:
        lb.add_instance("slow", slow.address)
        lb.add_instance("fine", fine.address)
        result = {}
        worker = threading.Thread(target=lambda: result.update(
            answer=call(lb.url, "POST", "/x", {"a": 1}, headers={"Idempotency-Key": "k"})))
        worker.start()
        wait_for(lambda: slow.stats["in_flight"] == 1)
        slow.kill()
        worker.join()
    status, headers, _ = result["answer"]
    assert status == 200 and headers["X-Instance"] == "fine" and headers["X-Retried-From"] == "slow"
    slow.close()
    fine.close()


def test_a_refused_connection_is_retried_and_takes_the_backend_out_at_once():
    dead = Instance(Slow, name="dead").start()
    alive = Instance(Slow, name="alive").start()
    dead.kill()
    with Balancer("round_robin", health_interval=5) as lb:
        lb.add_instance("dead", dead.address)
        lb.add_instance("alive", alive.address)
        statuses = {call(lb.url, "POST", "/x", {"a": 1})[0] for _ in range(4)}
        assert statuses == {200} and lb.instance("dead").status == "down"
    alive.close()
    dead.close()


def test_no_backend_at_all_is_a_json_503():
    with Balancer() as lb:
        status, _, body = call(lb.url, "GET", "/cart")
        assert status == 503 and body["outcome"] == "not_processed"


def test_drain_lets_in_flight_requests_finish():
    with Cluster.stateless(instances=2, service_ms=300) as shop:
        alice = shop.user("alice")
        results = []
        worker = threading.Thread(target=lambda: results.append(alice.add("book")))
        worker.start()
        busy = wait_for(lambda: next((s.name for s in shop.instances if s.stats["in_flight"]), None))
        drained = shop.drain(busy)
        worker.join()
        assert results == [{"book": 1}] and drained["sessions_lost"] == 0
        assert shop.status(busy) == "stopped"


def test_canary_sends_roughly_its_share():
    with Cluster.stateless(instances=3) as shop:
        shop.canary("v2", percent=25)
        alice = shop.user("alice")
        versions = []
        for _ in range(200):
            alice.cart()
            versions.append(alice.last_version)
        assert 20 < versions.count("v2") < 80       # ~50 expected; the seed makes it reproducible


class Headers(Application):
    """Answers with the headers it received."""

    def handle(self, request, instance):
        return Response(200, {"headers": dict(request.headers.items())})


def _raw(address, data):
    with socket.create_connection(address, timeout=5) as sock:
        sock.sendall(data)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    return received


def test_head_through_the_balancer_announces_the_length_of_the_get_and_sends_no_body():
    with Cluster.stateless(instances=1) as shop:
        _, get_headers, body = call(shop.url, "GET", "/health")
        assert int(get_headers["Content-Length"]) == len(json.dumps(body).encode()) > 0
        for address in (shop.instances[0].address, shop.balancer.server.address):
            answer = _raw(address, f"HEAD /health HTTP/1.1\r\nHost: 127.0.0.1:{address[1]}\r\n"
                                   "Connection: close\r\n\r\n".encode())
            head, _, rest = answer.partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 200 ") and rest == b""          # a head and nothing after it
            assert f"Content-Length: {get_headers['Content-Length']}".encode() in head.split(b"\r\n")


def test_hop_by_hop_headers_stay_on_their_hop():
    with Instance(Headers, name="echo") as server, Balancer() as lb:
        lb.add_instance("echo", server.address)
        _, _, body = call(lb.url, "GET", "/", headers={"Connection": "keep-alive, X-Secret", "X-Secret": "1",
                                                       "Keep-Alive": "timeout=5", "X-Kept": "yes"})
    seen = {name.lower(): value for name, value in body["headers"].items()}
    assert seen["x-kept"] == "yes" and seen["x-forwarded-for"] == "127.0.0.1"
    assert "x-secret" not in seen and "keep-alive" not in seen and "connection" not in seen


def test_in_flight_goes_up_while_a_request_is_inside_and_back_to_zero_however_it_ends():
    slow = Instance(Slow, name="slow", service_ms=300).start()
    dead = Instance(Slow, name="dead").start()
    dead.kill()
    with Balancer("round_robin", health_interval=5) as lb:
        lb.add_instance("slow", slow.address)
        worker = threading.Thread(target=call, args=(lb.url, "GET", "/"))
        worker.start()
        assert wait_for(lambda: lb.instance("slow").in_flight == 1)          # answered: counted while inside
        worker.join()
        assert lb.instance("slow").in_flight == 0
        lb.add_instance("dead", dead.address)                                 # refused: retried elsewhere
        assert {call(lb.url, "POST", "/x", {"a": 1})[0] for _ in range(3)} == {200}
        worker = threading.Thread(target=call, args=(lb.url, "POST", "/x", {"a": 1}))
        worker.start()                                                        # died mid-request: 502
        assert wait_for(lambda: slow.stats["in_flight"] == 1)
        slow.kill()
        worker.join()
        assert call(lb.url, "GET", "/")[0] == 503                            # nobody left: not counted anywhere
        assert [(i.name, i.in_flight) for i in lb.instances()] == [("slow", 0), ("dead", 0)]
    slow.close()
    dead.close()


def test_a_websocket_tunnel_is_in_flight_until_it_closes():
    with GameServer("game-1") as game, Balancer(health_interval=5) as lb:
        lb.add_instance("game-1", ("127.0.0.1", game.port))
        with connect(lb.url.replace("http://", "ws://") + "/rooms/A", open_timeout=5) as ws:
            assert json.loads(ws.recv(timeout=5))["type"] == "welcome"
            assert lb.instance("game-1").in_flight == 1
        assert wait_for(lambda: lb.instance("game-1").in_flight == 0)


def test_a_pooled_connection_to_a_killed_instance_is_not_used_so_a_post_is_retried_safely():
    first = Instance(Slow, name="first").start()
    second = Instance(Slow, name="second").start()
    with Balancer("round_robin", health_interval=5) as lb:       # no health check will notice the kill in time
        lb.add_instance("first", first.address)
        lb.add_instance("second", second.address)
        for _ in range(4):
            call(lb.url, "GET", "/")                             # both now have an idle pooled connection
        first.kill()                                             # ...and first's is closed from the far end
        answers = [call(lb.url, "POST", "/x", {"a": 1}) for _ in range(4)]
        assert [status for status, _, _ in answers] == [200] * 4   # never "outcome unknown": it was never sent
        assert {headers["X-Instance"] for _, headers, _ in answers} == {"second"}
        assert lb.instance("first").status == "down"
    first.close()
    second.close()
