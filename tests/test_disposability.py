"""disposability.py: a stateless instance can be created and destroyed in a moment, again and again.

Each cycle must produce an instance that really serves on its own port, and
a kill must really close that port and take the instance out of the cluster.
"""

import pytest

from labsupport import Cluster, InvalidArgumentError
from labsupport.labs import create_and_destroy, disposability


def test_every_create_kill_cycle_serves_then_disappears():
    with Cluster.stateless(instances=2) as shop:
        result = create_and_destroy(shop, cycles=5)
        assert result.all_succeeded and result.succeeded == 5
        assert len(result.start_ms) == len(result.kill_ms) == 5
        assert [s.name for s in shop.instances] == ["shop-1", "shop-2"]
        assert "5 create/kill cycles" in result.timings().table()
        assert result.all_within(5.0)                       # generous: a cycle takes milliseconds


def test_the_time_limit_is_a_real_check():
    result = disposability.DisposabilityResult(2, 2, (4.0, 1500.0), (1.0, 1.0))
    assert result.cycle_ms == (5.0, 1501.0)
    assert result.all_within(2.0) and not result.all_within(1.0)
    assert not disposability.DisposabilityResult(2, 1, (4.0, 4.0), (1.0, 1.0)).all_within(1.0)   # a failed cycle


def test_a_killed_instance_no_longer_answers():
    with Cluster.stateless(instances=1) as shop:
        url = shop.instances[0].url
        assert disposability._answers_health(url)
        shop.kill("shop-1")
        assert not disposability._answers_health(url)


@pytest.mark.parametrize("cycles", [0, -1, 2.5, True])
def test_cycles_must_be_a_positive_whole_number(cycles):
    with Cluster.stateless(instances=1) as shop:
        with pytest.raises(InvalidArgumentError):
            create_and_destroy(shop, cycles=cycles)
