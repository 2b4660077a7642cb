"""Faults short of a crash (engine/faults.py): pause, slow, partition, and heal, on real sockets.

A pause must hold requests (new ones and those in flight) without losing
memory; slow must delay answers while the health check stays green; a
partition must look like a crash to the balancer while the process lives and
answers anyone else. Each fault is idempotent, validated, visible in
``shop.faults(name)`` and the instance's stats, and ``heal`` undoes it.
No timings are asserted: states, counts, and "has it answered yet?".
"""

import http.client
import threading

import pytest

from labsupport import Cluster, InvalidArgumentError, UnknownInstanceError
from labsupport.engine import Partitioned, Paused, Slowed
from tests.conftest import wait_for


class DirectRequest(threading.Thread):
    """``GET path`` straight to one instance, past the balancer, in a thread; ``status`` once answered."""

    def __init__(self, instance, path="/health", timeout=10.0):
        super().__init__(daemon=True)
        self.address, self.path, self.timeout = instance.address, path, timeout
        self.status = None
        self.start()

    def run(self):
        conn = http.client.HTTPConnection(*self.address, timeout=self.timeout)
        try:
            conn.request("GET", self.path)
            self.status = conn.getresponse().status
        except (OSError, http.client.HTTPException):
            self.status = 0                              # no answer at all
        finally:
            conn.close()


def direct_status(instance, path="/health", timeout=10.0):
    """``GET path`` straight to ``instance``; its status, or 0 for no answer within ``timeout`` seconds."""
    request = DirectRequest(instance, path, timeout)
    request.join(timeout + 5)
    return request.status


def connections(instance):
    return len(instance._httpd.connections)


def health_rounds(instance, rounds):
    """Wait until ``rounds`` more health checks reached ``instance`` (with nobody shopping, the only requests)."""
    seen = instance.stats["requests"]
    return wait_for(lambda: instance.stats["requests"] >= seen + rounds, timeout=10)


# Tests that count an instance's served requests exactly take health checks out of the picture
# (health_interval=600 s): on a busy machine starting a cluster can take seconds, and a check answered
# meanwhile would count as served.


def test_a_paused_instance_accepts_connections_but_answers_nothing_until_healed():
    with Cluster.stateless(instances=2, seed=1, health_interval=600.0) as shop:
        victim = shop.instance("shop-1")
        served = victim.stats["requests"]
        shop.pause("shop-1")
        before = connections(victim)
        request = DirectRequest(victim)
        assert wait_for(lambda: connections(victim) > before)        # accepted...
        request.join(0.3)
        assert request.status is None and victim.stats["requests"] == served   # ...and not served
        shop.heal("shop-1")
        request.join(5)
        assert request.status == 200 and victim.stats["requests"] == served + 1


def test_a_paused_instance_does_not_read_a_request_on_a_connection_that_was_already_open():
    with Cluster.stateless(instances=1, seed=1, health_interval=600.0) as shop:
        victim = shop.instance("shop-1")
        conn = http.client.HTTPConnection(*victim.address, timeout=10)
        conn.request("GET", "/health")                                # the connection's thread now waits in recv
        assert conn.getresponse().read() and victim.stats["requests"] == 1
        shop.pause("shop-1")
        answers = []
        asking = threading.Thread(target=lambda: (conn.request("GET", "/health"),
                                                  answers.append(conn.getresponse().status)), daemon=True)
        asking.start()
        asking.join(0.3)
        assert answers == [] and victim.stats["requests"] == 1     # read off the socket, but held at the gate
        shop.heal("shop-1")
        asking.join(5)
        conn.close()
        assert answers == [200] and victim.stats["requests"] == 2


def test_a_request_in_flight_when_the_pause_begins_waits_for_heal_before_its_answer_goes_out():
    with Cluster.stateless(instances=1, seed=1, service_ms=300, health_interval=600.0) as shop:
        victim = shop.instance("shop-1")
        request = DirectRequest(victim)
        assert wait_for(lambda: victim.stats["in_flight"] == 1)
        shop.pause("shop-1")
        assert wait_for(lambda: victim.stats["requests"] == 1)      # the work finished inside the instance...
        assert request.status is None                                 # ...and its answer is held back
        shop.heal("shop-1")
        request.join(5)
        assert request.status == 200


def test_a_paused_stateful_instance_keeps_its_sessions_and_serves_them_after_heal():
    with Cluster.stateful(instances=2, seed=1, health_interval=5.0) as shop:
        alice = shop.user("alice")
        alice.add("book", 2)
        home = alice.last_instance
        shop.pause(home)
        assert shop.held_sessions()[home] == 1                        # a pause is not a crash
        shop.heal(home)
        assert alice.cart() == {"book": 2}
        assert alice.last_instance == home and not alice.session_lost


def test_killing_a_paused_instance_drops_what_it_held_and_leaves_no_thread():
    with Cluster.stateless(instances=2, seed=1, health_interval=600.0) as shop:
        victim = shop.instance("shop-1")
        served = victim.stats["requests"]
        shop.pause("shop-1")
        before = connections(victim)
        request = DirectRequest(victim)
        assert wait_for(lambda: connections(victim) > before)
        shop.kill("shop-1")
        request.join(5)
        assert request.status == 0                                    # a dead process answers nothing
        assert victim.stats["requests"] == served and shop.faults("shop-1") == []
        assert victim._httpd.wait_for_threads(timeout=5)              # nobody is left waiting at the gate
        shop.restart("shop-1")
        assert direct_status(victim) == 200


def test_slow_delays_every_answer_until_healed():
    with Cluster.stateless(instances=2, seed=1, health_interval=5.0) as shop:
        shop.slow("shop-2", 1500)
        slow, fast = (DirectRequest(shop.instance(name), timeout=0.5) for name in ("shop-2", "shop-1"))
        slow.join(5)
        fast.join(5)
        assert (slow.status, fast.status) == (0, 200)                 # the slow one missed a 0.5 s deadline
        shop.heal("shop-2")
        assert direct_status(shop.instance("shop-2"), timeout=0.5) == 200


def test_a_slow_instance_stays_green_in_its_health_checks():
    with Cluster.stateless(instances=2, seed=1, health_interval=0.05) as shop:
        shop.slow("shop-2", 100)
        assert health_rounds(shop.instance("shop-2"), 4)
        assert shop.status("shop-2") == "up"                          # in rotation, though every answer is late
        assert shop.balancer.instance("shop-2").failed_checks == 0


def test_a_partition_looks_like_a_crash_to_the_balancer_while_the_process_lives():
    with Cluster.stateless(instances=3, seed=1, health_interval=0.05) as shop:
        alice = shop.user("alice")
        shop.partition("shop-2")
        assert wait_for(lambda: shop.status("shop-2") == "unhealthy")
        served_by = set()
        for _ in range(9):
            alice.add("book")
            served_by.add(alice.last_instance)
        assert served_by == {"shop-1", "shop-3"} and alice.cart() == {"book": 9} and not alice.session_lost
        victim = shop.instance("shop-2")
        assert victim.alive and direct_status(victim) == 200          # it answers anyone who can reach it
        shop.heal("shop-2")
        assert wait_for(lambda: shop.status("shop-2") == "up")
        served_by.clear()
        for _ in range(9):
            alice.cart()
            served_by.add(alice.last_instance)
        assert "shop-2" in served_by                                  # back in rotation


def test_the_first_request_after_a_partition_finds_the_path_cut_before_any_health_check_does():
    with Cluster.stateless(instances=3, seed=1, health_interval=5.0) as shop:
        alice = shop.user("alice")
        victim = shop.instance("shop-2")
        served = victim.stats["requests"]
        shop.partition("shop-2")
        for _ in range(3):
            alice.add("book")
            assert alice.last_instance != "shop-2"
        assert victim.stats["requests"] == served and shop.status("shop-2") == "unhealthy"
        assert not alice.session_lost and alice.cart() == {"book": 3}


def test_a_partitioned_stateful_instance_keeps_sessions_nobody_can_reach_any_more():
    with Cluster.stateful(instances=3, seed=1, health_interval=0.05) as shop:
        people = [shop.user(f"user-{i}") for i in range(6)]
        for person in people:
            person.add("book")
        pinned = [p for p in people if p.last_instance == "shop-2"]
        shop.partition("shop-2")
        for person in people:
            person.cart()
        assert [p.name for p in people if p.session_lost] == [p.name for p in pinned] and len(pinned) == 2
        assert shop.instance("shop-2").alive and shop.held_sessions()["shop-2"] == 2
        shop.heal("shop-2")
        assert wait_for(lambda: shop.status("shop-2") == "up")
        for person in pinned:
            person.cart()
            assert person.last_instance != "shop-2"                   # they live elsewhere now...
        assert shop.held_sessions()["shop-2"] == 2                    # ...and their old sessions are stale


@pytest.mark.parametrize("inflict", [lambda shop: shop.pause("shop-1"), lambda shop: shop.slow("shop-1", 50),
                                     lambda shop: shop.partition("shop-1")], ids=["pause", "slow", "partition"])
def test_each_fault_is_idempotent_and_heal_undoes_it_once(inflict):
    with Cluster.stateless(instances=2, seed=1, health_interval=5.0) as shop:
        before = len(shop.events.recent(1000))
        inflict(shop)
        inflict(shop)
        assert len(shop.events.recent(1000)) == before + 1            # the second time changed nothing
        assert len(shop.faults("shop-1")) == 1
        shop.heal("shop-1")
        shop.heal("shop-1")
        assert shop.faults("shop-1") == [] and len(shop.events.recent(1000)) == before + 2


def test_faults_show_in_words_in_faults_and_stats():
    with Cluster.stateless(instances=3, seed=1, health_interval=5.0) as shop:
        shop.pause("shop-1")
        shop.slow("shop-2", 200)
        shop.partition("shop-3")
        assert shop.faults("shop-1") == [Paused()] and shop.faults("shop-3") == [Partitioned()]
        assert shop.faults("shop-2") == [Slowed(200)] and Slowed(200).label == "SLOW +200 ms"
        assert shop.instance("shop-1").stats["faults"] == ["PAUSED"]
        assert shop.instance("shop-2").stats["faults"] == ["SLOW +200 ms"]
        shop.slow("shop-2", 300)
        assert [f.label for f in shop.faults("shop-2")] == ["SLOW +300 ms"]
        shop.partition("shop-2")
        assert [f.label for f in shop.faults("shop-2")] == ["SLOW +300 ms", "PARTITIONED"]
        for name in ("shop-1", "shop-2", "shop-3"):
            shop.heal(name)
        assert all(shop.faults(i.name) == [] and i.stats["faults"] == [] for i in shop.instances)


def test_a_restart_ends_the_process_faults_but_not_the_partition():
    with Cluster.stateless(instances=2, seed=1, health_interval=5.0) as shop:
        shop.slow("shop-1", 100)
        shop.partition("shop-1")
        shop.restart("shop-1")
        assert shop.faults("shop-1") == [Partitioned()]               # the network is not in the process


def test_faults_are_validated_with_messages_that_say_what_to_do():
    with Cluster.stateless(instances=2, seed=1, health_interval=5.0) as shop:
        for call in (shop.pause, shop.partition, shop.heal, shop.faults, lambda name: shop.slow(name, 10)):
            with pytest.raises(UnknownInstanceError, match="shop-1, shop-2"):
                call("shop-9")
        for bad in (-1, True, "200", float("nan"), 10 ** 9):
            with pytest.raises(InvalidArgumentError, match="ms must be a number of milliseconds"):
                shop.slow("shop-1", bad)
        shop.kill("shop-2")
        with pytest.raises(InvalidArgumentError, match="restart it first"):
            shop.pause("shop-2")
        with pytest.raises(InvalidArgumentError, match="restart it first"):
            shop.slow("shop-2", 100)
        shop.partition("shop-2")                                      # a network path has no process to need
        assert shop.faults("shop-1") == [] and shop.faults("shop-2") == [Partitioned()]
