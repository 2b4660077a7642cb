"""autoscaler.py: identical stateless instances are added under load and removed after a quiet cool-down.

The claims: busy instances make the autoscaler add more (never beyond
max_instances), quiet ones make it drain back to min_instances (never below),
users notice nothing while it does, and it leaves no thread behind.
"""

import pytest

from labsupport import Cluster, InvalidArgumentError
from labsupport.shop import Autoscaler
from tests.conftest import lab_threads


def test_scales_up_under_load_and_back_to_the_minimum_after():
    with Cluster.stateless(instances=1, workers=2, service_ms=20) as shop:
        with Autoscaler(shop, target=0.7, min_instances=1, max_instances=4, cool_down_s=0.5) as scaler:
            report = shop.run_traffic(users=8, actions=20, seed=7)
            assert scaler.wait_for_instances(1, timeout=10)
        assert 1 < scaler.peak_instances <= 4
        kinds = [what for _, what, _ in scaler.actions]
        assert "add" in kinds and kinds[-1] == "remove"
        assert (report.failed_actions, report.unknown_outcomes, report.lost_items) == (0, 0, 0)
        assert len(shop.instances) == 1
        assert scaler.series["instances"] and len(scaler.series["time_s"]) == len(scaler.timeline)


def test_a_quiet_cluster_shrinks_to_the_minimum_and_no_further():
    with Cluster.stateless(instances=3) as shop:
        with Autoscaler(shop, min_instances=2, max_instances=5, cool_down_s=0.2, interval_s=0.05) as scaler:
            assert scaler.wait_for_instances(2, timeout=5)
            assert not scaler.wait_for_instances(1, timeout=0.5)
        assert len(shop.instances) == 2
        assert all(what == "remove" for _, what, _ in scaler.actions)


def test_max_instances_caps_the_growth():
    with Cluster.stateless(instances=1, workers=1, service_ms=20) as shop:
        with Autoscaler(shop, max_instances=2, interval_s=0.05) as scaler:
            shop.run_traffic(users=8, actions=10, seed=7)
        assert scaler.peak_instances == 2
        assert max(s.instances for s in scaler.timeline) <= 2


def test_stop_is_idempotent_and_leaves_no_thread():
    with Cluster.stateless(instances=1) as shop:
        scaler = Autoscaler(shop).start()
        scaler.stop()
        scaler.stop()
        assert not [t for t in lab_threads() if t.name == "autoscaler"]


def test_a_closed_cluster_ends_the_autoscaler_quietly():
    shop = Cluster.stateless(instances=1, workers=1, service_ms=20)
    scaler = Autoscaler(shop, interval_s=0.05).start()
    shop.close()
    scaler.stop()
    assert not [t for t in lab_threads() if t.name == "autoscaler"]


@pytest.mark.parametrize("options", [dict(target=0), dict(target=1.5), dict(min_instances=3, max_instances=2),
                                     dict(min_instances=0), dict(interval_s=0), dict(cool_down_s=-1),
                                     dict(window=0)])
def test_bad_settings_are_refused_with_a_clear_error(options):
    with Cluster.stateless(instances=1) as shop:
        with pytest.raises(InvalidArgumentError):
            Autoscaler(shop, **options)


def test_a_closed_cluster_is_recorded_in_the_events():
    shop = Cluster.stateless(instances=1, workers=1, service_ms=20)
    scaler = Autoscaler(shop, interval_s=0.02, min_instances=2, max_instances=3).start()   # wants a second instance
    shop.close()
    assert not scaler.wait_for_instances(5, timeout=0.3)
    scaler.stop()
    assert any("autoscaler" in m for m in shop.events.messages(50))
