"""autoscaler.py: identical stateless instances are added under load and removed after a quiet window.

The claims: busy instances make the autoscaler add more, up to what the load
asks for at the target (it settles below ``max_instances`` when the load is
bounded), quiet ones make it drain back to ``min_instances`` (never below),
no instance is removed sooner than the scale-down window after the last one
was added, scale-up policies limit how fast it grows, users notice nothing
while it works, and it leaves no thread behind. The rule itself (tolerance,
window, policies) is pinned step by step in ``test_sim.py``.
"""

import pytest

from labsupport import Cluster, InvalidArgumentError
from labsupport.shop import Autoscaler
from labsupport.sim import Instances
from tests.conftest import lab_threads

USERS, WORKERS, TARGET = 8, 2, 0.7


def test_scales_up_to_what_the_load_asks_and_back_to_the_minimum_after():
    with Cluster.stateless(instances=1, workers=WORKERS, service_ms=20) as shop:
        with Autoscaler(shop, target=TARGET, min_instances=1, max_instances=12, scale_down_window_s=0.5) as scaler:
            report = shop.run_traffic(users=USERS, actions=30, seed=7)
            assert scaler.wait_for_instances(1, timeout=10)
        # 8 users keep at most 8 requests in flight (plus the balancer's health checks, 20 ms each per
        # 0.1 s): about 4-5 instances' worth of busy workers, so 6-8 instances at 70 %, well below the cap
        assert 1 < scaler.peak_instances < 12
        kinds = [what for _, what, _ in scaler.actions]
        assert "add" in kinds and kinds[-1] == "remove"
        assert (report.failed_actions, report.unknown_outcomes, report.lost_items) == (0, 0, 0)
        assert len(shop.instances) == 1
        assert scaler.series["instances"] and len(scaler.series["time_s"]) == len(scaler.timeline)


def test_nothing_is_removed_within_the_window_after_the_last_addition():
    with Cluster.stateless(instances=1, workers=WORKERS, service_ms=20) as shop:
        with Autoscaler(shop, min_instances=1, max_instances=12, scale_down_window_s=0.8) as scaler:
            shop.run_traffic(users=USERS, actions=20, seed=7)
            assert scaler.wait_for_instances(1, timeout=10)
    added = [when for when, what, _ in scaler.actions if what == "add"]
    removed = [when for when, what, _ in scaler.actions if what == "remove"]
    assert added and removed
    assert min(removed) >= max(added) + 0.8                # the proposal that added stays in the window


def test_a_scale_up_policy_limits_the_growth():
    with Cluster.stateless(instances=1, workers=1, service_ms=20) as shop:
        with Autoscaler(shop, max_instances=12, interval_s=0.05, scale_up=(Instances(1, 60),)) as scaler:
            shop.run_traffic(users=8, actions=15, seed=7)
        assert scaler.peak_instances == 2                   # one more per minute, however busy


def test_a_quiet_cluster_shrinks_to_the_minimum_and_no_further():
    with Cluster.stateless(instances=3) as shop:
        with Autoscaler(shop, min_instances=2, max_instances=5, scale_down_window_s=0.2, interval_s=0.05) as scaler:
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
                                     dict(min_instances=0), dict(interval_s=0), dict(scale_down_window_s=-1),
                                     dict(window=0), dict(tolerance=-0.5)])
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


def test_the_plot_shows_instances_utilisation_and_the_tolerance_band():
    from matplotlib.figure import Figure
    with Cluster.stateless(instances=1) as shop:
        with Autoscaler(shop, interval_s=0.02) as scaler:
            assert scaler.wait_for_instances(1, timeout=1)
            shop.user("alice").cart()
        ax = Figure().subplots()
        assert scaler.plot(ax) is ax
        labels = ax.get_legend_handles_labels()[1]   # the right axis's entries are merged into one legend
        assert "instances serving" in labels
    legend_texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any("tolerance" in t for t in legend_texts) and any("utilisation" in t for t in legend_texts)
