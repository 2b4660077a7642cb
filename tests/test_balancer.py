"""balancer.py: a real reverse proxy that retries only what is safe to retry, and drains gracefully."""

import threading

from labsupport import Balancer, Cluster, Instance
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
