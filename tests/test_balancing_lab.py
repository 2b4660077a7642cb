"""balancing.py (labs): the same heavy-tailed traffic under four policies, hash-ring imbalance, bounded loads,
and keys moved when a node joins.

Users' activity is drawn from a Pareto distribution, so a few users are
very busy. Round-robin hands out requests in turn, so its load is even to
within one request; sticky sessions and consistent hashing keep each user
on one instance, so each instance's load is exactly the sum of its users'
activity, and the busiest instance carries at least the busiest user.
With a dozen keys a ring's imbalance is mostly sampling; with thousands it
is the ring's, and virtual nodes even it out. Bounded loads cap every node
near the average except where one key alone is heavier than the cap.
Consistent hashing moves about 1/N of the keys when a node joins; modulo
hashing moves most of them.
"""

import collections

import pytest

from labsupport import ConsistentHash, InvalidArgumentError
from labsupport.labs import (
    PARETO_SHAPE,
    bounded_load_placement,
    compare_balancing,
    hashing_imbalance,
    keys_moved,
    user_activity,
)

INSTANCES = ["shop-1", "shop-2", "shop-3"]


def test_user_activity_is_seeded_and_heavy_tailed():
    activity = user_activity(1000, seed=3)
    assert activity == user_activity(1000, seed=3) != user_activity(1000, seed=4)
    ordered = sorted(activity.values(), reverse=True)
    busiest_fifth = sum(ordered[:200]) / sum(ordered)
    # Pareto with shape 1.16 gives the top fifth about 80 % (a little less with the cap); uniform would give 20 %
    assert 0.6 < busiest_fifth < 0.9
    assert min(ordered) >= 3 and max(ordered) <= 200
    assert PARETO_SHAPE == pytest.approx(1.16)


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
    # the busiest user sits whole on one instance: that instance carries at least their share
    busiest_share = (1 + max(activity.values())) / total
    for policy in ("sticky", "consistent_hash"):
        assert result.imbalance(policy) >= 3 * busiest_share > result.imbalance("round_robin")
    assert "imbalance" in repr(result)


def test_a_ring_s_imbalance_is_sampling_with_few_keys_and_its_own_with_many():
    rows = {row[0]: [float(v) for v in row[2:]] for row in hashing_imbalance(
        key_counts=(12, 6_000), vnodes=(1, 100), lookups=30_000).rows}
    random, one_vnode, hundred = rows[12]
    assert random > 1.3 and abs(hundred - random) < 0.15          # 12 keys: uneven whatever places them
    random, one_vnode, hundred = rows[6_000]
    assert random < 1.05 and hundred < 1.1 and one_vnode > 1.5      # many keys: the ring shows, vnodes fix it


def test_bounded_loads_cap_every_node_near_the_average():
    weights = {f"key-{i}": 1 for i in range(3_000)}
    plain = bounded_load_placement(weights, nodes=3, vnodes=1)
    bounded = bounded_load_placement(weights, nodes=3, epsilon=0.1, vnodes=1)
    assert plain.imbalance > 1.3 and plain.moved == 0
    assert max(bounded.loads.values()) <= 1.1 * 1_000 + 1
    assert bounded.moved > 0 and sum(bounded.loads.values()) == 3_000


def test_a_hot_key_heavier_than_the_cap_still_lands_whole_on_one_node():
    weights = dict(user_activity(12, seed=7))
    hot = max(weights, key=weights.get)
    bounded = bounded_load_placement(weights, nodes=3, epsilon=0.25)
    plain = bounded_load_placement(weights, nodes=3)
    cap = 1.25 * sum(weights.values()) / 3
    assert weights[hot] > cap                                          # this seed has one such user
    assert bounded.loads[bounded.owners[hot]] >= weights[hot]
    assert bounded.imbalance <= plain.imbalance


def test_consistent_hashing_moves_about_one_key_in_n_and_modulo_moves_most():
    assert 0.15 < keys_moved("consistent_hash", keys=5000) < 0.25
    assert keys_moved("modulo_hash", keys=5000) > 0.7


def test_keys_moved_needs_a_hashing_policy():
    with pytest.raises(InvalidArgumentError):
        keys_moved("round_robin")
    with pytest.raises(InvalidArgumentError):
        compare_balancing(policies=("fastest",))


@pytest.mark.parametrize("call", [
    lambda: keys_moved("consistent_hash", keys=0), lambda: keys_moved("consistent_hash", before=0),
    lambda: keys_moved("consistent_hash", after=2.5), lambda: user_activity(0),
    lambda: hashing_imbalance(key_counts=(0,)), lambda: hashing_imbalance(nodes=1),
    lambda: bounded_load_placement({"a": 1}, epsilon=-1), lambda: bounded_load_placement({"a": 1}, nodes=1),
])
def test_bad_counts_are_refused(call):
    with pytest.raises(InvalidArgumentError):
        call()
