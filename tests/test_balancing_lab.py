"""balancing_lab.py: the same traffic under four policies, and keys moved when a node joins.

Round-robin hands out requests in turn, so its load is even to within one
request; sticky sessions and consistent hashing keep each user on one
instance, so each instance's load is exactly the sum of its users' activity.
Consistent hashing moves about 1/N of the keys when a node joins; modulo
hashing moves most of them.
"""

import collections

import pytest

from labsupport import ConsistentHash, InvalidArgumentError
from labsupport.labs import compare_balancing, keys_moved, user_activity

INSTANCES = ["shop-1", "shop-2", "shop-3"]


def test_user_activity_is_seeded_and_uneven():
    activity = user_activity(8, seed=3)
    assert activity == user_activity(8, seed=3)
    assert len(activity) == 8 and len(set(activity.values())) == 2


def test_each_policy_spreads_the_same_traffic_as_it_should():
    activity = user_activity(6, seed=7)
    result = compare_balancing(users=6, seed=7)
    total = result.requests
    assert total == 6 + sum(activity.values())
    for policy, load in result.loads.items():
        assert sum(load.values()) == total, policy
    round_robin = result.loads["round_robin"].values()
    assert max(round_robin) - min(round_robin) <= 1
    sticky = collections.Counter()                  # users are placed in turn when they log in
    for i, (name, actions) in enumerate(activity.items()):
        sticky[INSTANCES[i % 3]] += 1 + actions
    assert result.loads["sticky"] == dict(sticky)
    ring = ConsistentHash()
    hashed = collections.Counter()
    for name, actions in activity.items():
        hashed[ring.owner(name, INSTANCES)] += 1 + actions
    assert result.loads["consistent_hash"] == dict(hashed)
    assert result.imbalance("round_robin") < result.imbalance("sticky")
    assert "imbalance" in repr(result)


def test_consistent_hashing_moves_about_one_key_in_n_and_modulo_moves_most():
    assert 0.15 < keys_moved("consistent_hash", keys=5000) < 0.25
    assert keys_moved("modulo_hash", keys=5000) > 0.7


def test_keys_moved_needs_a_hashing_policy():
    with pytest.raises(InvalidArgumentError):
        keys_moved("round_robin")
    with pytest.raises(InvalidArgumentError):
        compare_balancing(policies=("fastest",))


@pytest.mark.parametrize("options", [dict(keys=0), dict(before=0), dict(after=2.5)])
def test_keys_moved_refuses_bad_counts(options):
    with pytest.raises(InvalidArgumentError):
        keys_moved("consistent_hash", **options)
