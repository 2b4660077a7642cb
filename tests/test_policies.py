"""policies.py: how a balancer picks an instance, and how much a hashing policy reshuffles when a node joins.

The balancer only ever calls a policy's ``pinned``, ``choose`` and
``response_headers``: a policy of your own, that the balancer has never
heard of, pins clients exactly as ``Sticky`` does, draining instances included.
"""

import collections

import pytest

from labsupport import Balancer, ConsistentHash, InvalidArgumentError, ModuloHash, make_policy
from labsupport.engine import Application, HashPolicy, Instance, Policy, Request, Response
from labsupport.game import room_key
from tests.http_util import call


class Member:
    def __init__(self, name, in_flight=0):
        self.name, self.in_flight = name, in_flight


def request(cookie=None, key=None, path="/cart"):
    headers = {}
    if cookie:
        headers["Cookie"] = cookie
    if key:
        headers["X-Route-Key"] = key
    return Request("GET", path, headers, b"")


INSTANCES = [Member("a"), Member("b"), Member("c")]


def test_round_robin_spreads_evenly():
    policy = make_policy("round_robin")
    counts = collections.Counter(policy.choose(INSTANCES, request()).name for _ in range(300))
    assert counts == {"a": 100, "b": 100, "c": 100}


def test_least_connections_prefers_the_idle_instance():
    policy = make_policy("least_connections")
    assert policy.choose([Member("a", 5), Member("b", 0), Member("c", 2)], request()).name == "b"


def test_random_is_reproducible_with_a_seed():
    def picks(seed):
        policy = make_policy("random", seed=seed)
        return [policy.choose(INSTANCES, request()).name for _ in range(20)]

    assert picks(3) == picks(3) != picks(4)
    assert set(picks(3)) == {"a", "b", "c"}


def test_sticky_follows_the_cookie_and_sets_it_for_new_clients():
    policy = make_policy("sticky")
    assert policy.choose(INSTANCES, request(cookie="lb-instance=c")).name == "c"
    chosen = policy.choose(INSTANCES, request())
    assert "lb-instance=" + chosen.name in policy.response_headers(request(), chosen)["Set-Cookie"]


def test_consistent_hash_moves_about_one_fifth_of_keys_modulo_moves_most():
    keys = [f"user-{i}" for i in range(5000)]
    four, five = ["n1", "n2", "n3", "n4"], ["n1", "n2", "n3", "n4", "n5"]
    ring, modulo = ConsistentHash(vnodes=200), ModuloHash()
    moved_ring = sum(ring.owner(k, four) != ring.owner(k, five) for k in keys) / len(keys)
    moved_modulo = sum(modulo.owner(k, four) != modulo.owner(k, five) for k in keys) / len(keys)
    assert 0.10 < moved_ring < 0.30           # ideal: 1/5
    assert moved_modulo > 0.6                 # ideal: 4/5
    assert moved_ring < moved_modulo / 2


def test_consistent_hash_routes_a_key_and_a_room_to_one_backend():
    policy = make_policy("consistent_hash")
    assert len({policy.choose(INSTANCES, request(key="alice")).name for _ in range(10)}) == 1
    assert len({policy.choose(INSTANCES, request(path="/rooms/A")).name for _ in range(10)}) == 1


def test_unknown_policy_names_the_choices():
    with pytest.raises(InvalidArgumentError, match="round_robin"):
        make_policy("fastest")


def test_a_game_cluster_hashes_the_room_a_shop_the_route_key():
    by_room = ConsistentHash(key_of=room_key)
    same_room = {by_room.choose(INSTANCES, request(path="/rooms/A", key=f"user-{i}")).name for i in range(20)}
    assert len(same_room) == 1                                  # every player of room A, whatever their key
    by_key = ConsistentHash()
    assert len({by_key.choose(INSTANCES, request(path="/rooms/A", key=f"user-{i}")).name for i in range(20)}) > 1
    assert isinstance(by_room, HashPolicy) and isinstance(ModuloHash(), HashPolicy)


class PinByCookie(Policy):
    """A policy the balancer has never heard of: it pins each client with a cookie of its own."""

    name = "pin_by_cookie"

    def pinned(self, instances, request):
        return next((i for i in instances if i.name == request.cookie("pin")), None)

    def choose(self, instances, request):
        return self.pinned(instances, request) or (instances[-1] if instances else None)

    def response_headers(self, request, instance):
        return {} if request.cookie("pin") == instance.name else {"Set-Cookie": f"pin={instance.name}; Path=/"}


class SaysWho(Application):
    def handle(self, request, instance):
        return Response(200, {"instance": instance.name})


def test_a_policy_of_your_own_pins_clients_through_the_balancer_even_to_a_draining_instance():
    first, second = (Instance(SaysWho, name=name).start() for name in ("a", "b"))
    with Balancer(PinByCookie(), health_interval=5) as lb:
        for instance in (first, second):
            lb.add_instance(instance.name, instance.address)
        status, headers, body = call(lb.url, "GET", "/")
        assert (status, body["instance"]) == (200, "b") and headers["Set-Cookie"] == "pin=b; Path=/"
        assert call(lb.url, "GET", "/", headers={"Cookie": "pin=a"})[2]["instance"] == "a"
        lb.set_draining("a")
        assert call(lb.url, "GET", "/", headers={"Cookie": "pin=a"})[2]["instance"] == "a"   # its session is there
        assert call(lb.url, "GET", "/")[2]["instance"] == "b"                                 # newcomers: not a
    first.close()
    second.close()


def test_make_policy_builds_by_name_and_passes_the_seed_only_to_a_policy_that_uses_it():
    class Seeded(Policy):
        @classmethod
        def build(cls, seed=0):
            made = cls()
            made.seed = seed
            return made

    assert Seeded.build(seed=5).seed == 5 and make_policy(Seeded.build(5)).seed == 5
    assert make_policy("random", seed=3).choose(INSTANCES, request()).name == \
        make_policy("random", seed=3).choose(INSTANCES, request()).name
