"""policies.py: how a balancer picks a backend, and how much a hashing policy reshuffles when a node joins."""

import collections

import pytest

from labsupport import ConsistentHash, InvalidArgumentError, ModuloHash, make_policy
from labsupport.engine import Request


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


def test_least_connections_prefers_the_idle_backend():
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
