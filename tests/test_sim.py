"""The simulations of labsupport.sim: seeded, and showing what the course claims.

Pinned here: the same seed gives the same result and another seed other
details; the HPA's rule (hpa.py) step by step: load over target rounded up,
a 10 % tolerance both ways, starting instances counted as idle, the
scale-down window, rate-limit policies and bounds; autoscaling a stateless
tier clears a spike sooner than a tier whose sessions are pinned, and a
stateful scale-down either loses sessions or pays for draining in
instance-hours (chapter 06 W2); a rolling deploy of a stateful tier trades
deploy time against lost sessions, while a stateless one loses nothing (F5,
W5); in a region failure the replication choice, not the tier, decides what
is lost, synchronous replication charges every write a round trip, and a
stateful tier's replica region overloads where a stateless tier spreads
(W6); and the request-level model of the lab's cluster reaches the
capacity bound. Models run at small scale here; benchmarks/sim_speed.py
times the full scale.
"""

import math

import matplotlib
import pytest
from matplotlib.figure import Figure

from labsupport import InvalidArgumentError, LabError
from labsupport.sim import (
    CARD,
    REPLICATIONS,
    Instances,
    Percent,
    ScalingRule,
    compare_autoscaling,
    compare_drain_timeouts,
    compare_region_failure,
    folded,
    scaling_tiers,
    simulate_autoscaling,
    simulate_cluster,
    simulate_region_failure,
    simulate_rolling_deploy,
)
from labsupport.sim import regions as regions_model
from labsupport.sim import replication as replication_model

SMALL_PEAK = 100          # instances at the day's normal peak: fast, same shape as 1,000


@pytest.fixture(scope="module")
def day():
    """Stateless, stateful with draining, stateful without: one day, same users."""
    stateless, drain, kill = compare_autoscaling(peak_instances=SMALL_PEAK, seed=7).results
    return {"stateless": stateless, "drain": drain, "kill": kill}


@pytest.fixture(scope="module")
def deploys():
    return compare_drain_timeouts(instances=8, timeouts=(0, 60, 300, 1800, None), seed=7).results


@pytest.fixture(scope="module")
def regions():
    """Both tiers with no replication, an async replica 5 s behind, and sync replication."""
    comparison = compare_region_failure(regions=3, replication_lag_s=5, seed=7)
    return {(r.tier, r.replication): r for r in comparison.results}


# --- seeds --------------------------------------------------------------------------------------

@pytest.mark.parametrize("run", [
    lambda seed: simulate_autoscaling("stateful", SMALL_PEAK, seed),
    lambda seed: simulate_rolling_deploy("stateful", instances=5, drain_timeout_s=300, seed=seed),
    lambda seed: simulate_region_failure("stateful", seed=seed),
    lambda seed: simulate_cluster(seed=seed),
], ids=["autoscaling", "rolling_deploy", "regions", "calibration"])
def test_same_seed_same_result_other_seed_other_details(run):
    first, again, other = run(7), run(7), run(8)
    assert first == again
    assert first.table() == again.table() and first.series == again.series
    assert first != other or first.series != other.series


def test_autoscaling_seed_moves_the_spike():
    spikes = {simulate_autoscaling("stateless", SMALL_PEAK, seed).spike_at for seed in range(5)}
    assert len(spikes) > 1


# --- autoscaling (F4, W2) -----------------------------------------------------------------------

def test_both_tiers_see_the_same_users_and_the_same_autoscaler(day):
    assert day["stateless"].sessions_started == day["drain"].sessions_started
    assert day["stateless"].peak_instances == day["drain"].peak_instances
    assert day["stateless"].peak_instances > SMALL_PEAK          # the spike needs more than the normal peak


def test_stateless_tier_clears_a_spike_sooner_than_a_pinned_tier(day):
    assert day["stateless"].overloaded_minutes < day["drain"].overloaded_minutes
    assert day["stateless"].requests_over_capacity < day["drain"].requests_over_capacity


def test_stateless_scale_down_loses_nothing(day):
    assert day["stateless"].sessions_lost == 0


def test_stateful_scale_down_without_draining_loses_sessions(day):
    assert day["kill"].sessions_lost > 0
    assert day["drain"].sessions_lost == 0


def test_draining_keeps_instances_longer_and_costs_instance_hours(day):
    assert day["drain"].max_drain_minutes > 60
    assert day["drain"].instance_hours > day["kill"].instance_hours
    assert day["drain"].instance_hours > day["stateless"].instance_hours


def test_a_drain_timeout_caps_the_drain_and_loses_the_rest():
    capped = simulate_autoscaling("stateful", SMALL_PEAK, 7, "drain", drain_timeout_s=1800)
    assert capped.max_drain_minutes == pytest.approx(30)
    assert capped.sessions_lost > 0


def test_a_new_stateful_instance_only_gets_new_sessions():
    tier = scaling_tiers.StatefulTier(instances=2, sessions=2000, drain=True, drain_timeout_s=None)
    tier.instance_ready()
    tier.start_sessions(300)
    assert sorted(inst.sessions for inst in tier.serving) == [300, 1000, 1000]
    assert tier.over_capacity_rps() == pytest.approx(0)          # 1000 sessions x 0.1 = capacity


def test_a_new_stateless_instance_takes_load_at_once():
    sessions = 3 * scaling_tiers.CAPACITY_RPS / scaling_tiers.SESSION_RPS                     # enough for three instances
    tier = scaling_tiers.StatelessTier(instances=2, sessions=sessions)
    assert tier.over_capacity_rps() == pytest.approx(scaling_tiers.CAPACITY_RPS)
    tier.instance_ready()
    assert tier.over_capacity_rps() == 0


# --- rolling deploy (F5, W5) --------------------------------------------------------------------

def test_longer_drain_loses_fewer_sessions_and_takes_longer(deploys):
    stateful = [r for r in deploys if r.tier == "stateful"]
    lost = [r.sessions_lost for r in stateful]
    took = [r.deploy_s for r in stateful]
    assert lost == sorted(lost, reverse=True) and lost[0] > lost[-1]
    assert took == sorted(took) and took[0] < took[-1]


@pytest.mark.parametrize("seed", range(4))
def test_longer_drain_loses_a_smaller_share_whatever_the_seed(seed):
    # Counts of lost sessions for 0 s and 60 s can swap by a few for some seeds
    # (a one-minute drain saves few 15-minute sessions); the share lost cannot.
    results = compare_drain_timeouts(instances=6, timeouts=(0, 60, 300, 1800, None), seed=seed).results
    shares = [r.lost_share for r in results if r.tier == "stateful"]
    assert shares == sorted(shares, reverse=True) and shares[0] == 1 and shares[-1] == 0


def test_no_drain_loses_every_session_on_replaced_instances(deploys):
    no_drain = deploys[0]
    assert no_drain.sessions_lost == no_drain.sessions_on_replaced > 0


def test_waiting_for_all_loses_none_and_lasts_as_long_as_the_longest_session(deploys):
    wait_all = next(r for r in deploys if r.tier == "stateful" and r.drain_timeout_s is None)
    assert wait_all.sessions_lost == 0
    assert wait_all.longest_drain_s > 15 * 60                     # longer than the mean session
    assert wait_all.deploy_s >= wait_all.longest_drain_s


def test_stateless_deploy_loses_nothing_and_is_short(deploys):
    stateless = deploys[-1]
    assert stateless.tier == "stateless"
    assert stateless.sessions_on_replaced > 0 and stateless.sessions_lost == 0
    assert stateless.deploy_s < 2 * deploys[0].deploy_s


def test_deploy_records_every_instance_moving_to_v2():
    result = simulate_rolling_deploy("stateless", instances=4, seed=7)
    assert result.series["instances_on_v2"] == [0, 1, 2, 3, 4]


# --- regions (W6) -------------------------------------------------------------------------------

@pytest.mark.parametrize("replication", REPLICATIONS)
def test_the_replication_not_the_tier_decides_what_is_lost(regions, replication):
    stateless, stateful = regions["stateless", replication], regions["stateful", replication]
    assert (stateless.writes_lost, stateless.sessions_lost, stateless.rpo_s) == \
        (stateful.writes_lost, stateful.sessions_lost, stateful.rpo_s)


def test_without_replication_the_failed_regions_sessions_are_gone_for_both_tiers(regions):
    per_region = 10 * 100 * 0.6 / 0.2       # instances x rps each x utilisation / rps per session
    for tier in ("stateless", "stateful"):
        assert regions[tier, "none"].sessions_lost == pytest.approx(per_region, rel=0.1)
        assert math.isinf(regions[tier, "none"].rpo_s)


def test_an_async_replica_loses_the_lag_window_and_sync_loses_nothing(regions):
    replica, synchronous = regions["stateless", "async"], regions["stateless", "sync"]
    assert replica.rpo_s == 5 and replica.sessions_lost == 0
    assert 0 < replica.writes_lost < regions["stateless", "none"].writes_lost
    assert synchronous.rpo_s == 0 and synchronous.writes_lost == 0 and synchronous.sessions_lost == 0


def test_sync_replication_charges_every_write_a_cross_region_round_trip(regions):
    for tier in ("stateless", "stateful"):
        assert regions[tier, "sync"].write_ms - regions[tier, "async"].write_ms == replication_model.CROSS_REGION_RTT_MS
        assert regions[tier, "async"].write_ms == regions[tier, "none"].write_ms == replication_model.LOCAL_WRITE_MS


def test_recovery_time_is_detection_then_promotion_for_a_stateless_tier(regions):
    assert regions["stateless", "none"].rto_s == pytest.approx(regions_model.DETECT_S, abs=2)
    promoted = regions_model.DETECT_S + replication_model.PROMOTE_S
    assert regions["stateless", "async"].rto_s == pytest.approx(promoted, abs=2)
    assert regions["stateless", "sync"].rto_s == pytest.approx(promoted, abs=2)


def test_a_stateful_tier_pins_the_failed_users_to_the_replica_region_and_overloads_it(regions):
    stateless, stateful = regions["stateless", "async"], regions["stateful", "async"]
    assert stateless.peak_survivor_utilisation < 1 < stateful.peak_survivor_utilisation
    assert stateful.rto_s > 5 * stateless.rto_s
    assert stateful.requests_failed > 2 * stateless.requests_failed
    load = stateful.series
    after = [i for i, t in enumerate(load["time_s"]) if t > 1800 + 120]
    assert max(load["us-east_load_pct"][i] for i in after) > 100 > max(load["ap-south_load_pct"][i] for i in after)


def test_failover_needs_spare_capacity_in_the_surviving_regions():
    three = simulate_region_failure("stateless", regions=3, seed=7)
    two = simulate_region_failure("stateless", regions=2, seed=7)
    assert three.peak_survivor_utilisation < 1 < two.peak_survivor_utilisation
    assert two.requests_failed > 5 * three.requests_failed
    assert two.rto_s is None                  # one region cannot carry both: service never fully back


def test_the_region_plot_shares_its_axes_and_marks_the_failure(regions):
    comparison = compare_region_failure(seed=7)
    figure = Figure()
    axes = figure.subplots(1, 2, sharex=True, sharey=True)
    assert comparison.plot("async", axes) is axes
    assert axes[0].get_shared_y_axes().joined(axes[0], axes[1])
    assert axes[0].get_title() != axes[1].get_title()
    assert any("service back" in text.get_text() for ax in axes for text in ax.texts)


# --- calibration against the live lab -----------------------------------------------------------

def test_simulate_cluster_exposes_what_the_live_comparison_reads():
    result = simulate_cluster(instances=3, workers=4, service_ms=20, clients=12, requests=600, seed=7)
    assert result.throughput_rps == pytest.approx(3 * 4 * 1000 / 20, rel=0.05)
    assert result.latency_ms(50) == pytest.approx(20)
    assert result.latency_ms(99) >= result.latency_ms(50)


@pytest.mark.parametrize("clients", [12, 24, 48])
def test_saturating_clients_reach_the_analytic_throughput(clients):
    result = simulate_cluster(instances=3, workers=4, service_ms=20, clients=clients, requests=1200, seed=7)
    assert result.bound_rps == 600
    assert result.throughput_rps == pytest.approx(result.bound_rps, rel=0.05)
    assert result.latency_ms(50) == pytest.approx(20 * clients / 12)   # extra clients only queue


def test_too_few_clients_leave_slots_idle():
    result = simulate_cluster(instances=3, workers=4, service_ms=20, clients=6, requests=600, seed=7)
    assert result.throughput_rps == pytest.approx(6 * 1000 / 20, rel=0.05)


# --- results a notebook shows -------------------------------------------------------------------

def test_results_show_as_text_and_html(day, deploys, regions):
    comparison = compare_region_failure(seed=7)
    for result in (day["drain"], comparison, simulate_cluster()):
        text = result.table()
        assert repr(result) == text and text.splitlines()[0]
        assert result._repr_html_().startswith("<table>")
    assert "wait for all" in compare_drain_timeouts(instances=2, timeouts=(None,)).table()


def test_plot_draws_on_the_given_axes_without_touching_rcparams(day):
    before = dict(matplotlib.rcParams)
    ax = Figure().subplots()
    assert day["drain"].plot(ax) is ax
    assert len(ax.get_lines()) == 1
    assert dict(matplotlib.rcParams) == before


# --- misuse -------------------------------------------------------------------------------------

@pytest.mark.parametrize("call, named", [
    (lambda: simulate_autoscaling("blue"), "tier"),
    (lambda: simulate_autoscaling("stateful", scale_down="later"), "scale_down"),
    (lambda: simulate_autoscaling(peak_instances=0), "peak_instances"),
    (lambda: simulate_rolling_deploy(instances=-3), "instances"),
    (lambda: simulate_rolling_deploy(drain_timeout_s=-1), "drain_timeout_s"),
    (lambda: compare_drain_timeouts(timeouts=()), "timeouts"),
    (lambda: simulate_region_failure(regions=5), "regions"),
    (lambda: simulate_region_failure(fail_region="mars"), "fail_region"),
    (lambda: simulate_cluster(service_ms=0), "service_ms"),
    (lambda: simulate_cluster(seed="seven"), "seed"),
    (lambda: simulate_cluster().latency_ms(101), "percentile"),
])
def test_misuse_raises_a_lab_error_naming_the_argument(call, named):
    with pytest.raises(InvalidArgumentError) as caught:
        call()
    assert isinstance(caught.value, LabError) and isinstance(caught.value, ValueError)
    assert named in str(caught.value)


def test_series_are_plain_lists_a_notebook_can_plot(day):
    series = day["stateless"].series
    assert len(series["hour"]) == len(series["instances"]) == 24 * 60
    assert all(isinstance(v, (int, float)) and math.isfinite(v) for v in series["demand_rps"])


# --- the HPA's rule (hpa.py), shared by the simulated day and the live autoscaler ---------------

def _rule(**options):
    settings = dict(target=0.5, min_instances=1, max_instances=100, scale_down_window_s=300)
    return ScalingRule(**dict(settings, **options))


def test_the_rule_asks_for_load_over_target_rounded_up():
    rule = _rule()
    assert rule.propose(load=3.0, ready=4) == 6            # 75 % busy against 50 %: 4 x 1.5
    assert rule.propose(load=1.4, ready=2) == 3            # 1.4 / 0.5 = 2.8 -> 3
    assert _rule(target=0.7).propose(load=1.4, ready=1) == 2   # exactly 2, not 3 (float dust ignored)


@pytest.mark.parametrize("load, proposal", [(2.1, 4), (1.9, 4), (2.3, 5), (1.7, 4), (1.5, 3)])
def test_the_tolerance_holds_both_ways(load, proposal):
    # 4 instances at a 50 % target want a load of 2.0; within 10 % (1.8 .. 2.2) nothing changes
    assert _rule().propose(load=load, ready=4) == proposal


def test_starting_instances_count_as_idle_when_scaling_up():
    rule = _rule()
    assert rule.propose(load=3.0, ready=4) == 6
    assert rule.propose(load=3.0, ready=4, starting=2) == 6     # the 2 already coming are enough
    assert rule.propose(load=5.0, ready=4, starting=2) == 10    # 5.0 / 0.5: four more on top


def test_scale_down_waits_for_the_highest_proposal_of_the_window():
    rule = _rule(scale_down_window_s=300)
    assert rule.decide(0, load=5.0, ready=10) == 10
    assert rule.decide(15, load=1.0, ready=10) == 10            # quiet, but 10 was wanted 15 s ago
    assert rule.decide(290, load=1.0, ready=10) == 10
    assert rule.decide(315, load=1.0, ready=10) == 2            # the busy proposal has left the window


def test_scale_up_is_limited_to_double_or_four_more_per_period():
    rule = _rule()
    assert rule.decide(0, load=50.0, ready=2) == 6              # max(2 x 2, 2 + 4)
    assert rule.decide(5, load=50.0, ready=6) == 6              # the same 15 s period: no more yet
    assert rule.decide(15, load=50.0, ready=6) == 12            # next period: double again
    assert rule.decide(30, load=50.0, ready=12) == 24


def test_custom_policies_and_bounds_apply():
    slow = _rule(scale_up=(Instances(1, 60),), scale_down=(Percent(50, 60),), scale_down_window_s=0,
                 max_instances=8, min_instances=2)
    assert slow.decide(0, load=50.0, ready=4) == 5
    assert slow.decide(30, load=50.0, ready=5) == 5
    assert slow.decide(61, load=50.0, ready=5) == 6             # one more per minute
    assert slow.decide(130, load=0.1, ready=6) == 3             # at most half of the 6 of a minute ago
    assert slow.decide(200, load=0.1, ready=3) == 2             # half of 3, but never below min_instances
    assert _rule(max_instances=8).decide(0, load=50.0, ready=4) == 8


def test_the_simulated_day_holds_capacity_for_the_scale_down_window():
    def first_drop_after_peak(window_s):
        counts = simulate_autoscaling("stateless", SMALL_PEAK, 7, scale_down_window_s=window_s).series["instances"]
        peak = counts.index(max(counts))
        return next(m for m in range(peak + 1, len(counts)) if counts[m] < counts[m - 1]) - peak

    drops = [first_drop_after_peak(window_s) for window_s in (0, 300, 600)]
    assert drops == sorted(drops) and drops[0] < drops[1] < drops[2]       # minutes after the rush's peak


@pytest.mark.parametrize("options", [dict(target=0), dict(target=1.5), dict(min_instances=0),
                                     dict(min_instances=5, max_instances=2), dict(tolerance=-0.1)])
def test_the_rule_refuses_bad_settings(options):
    with pytest.raises(InvalidArgumentError):
        _rule(**options)


def test_a_folded_result_shows_a_summary_in_html_and_the_whole_table_as_text(day):
    shown = folded(day["drain"], "one day, click to unfold")
    assert repr(shown) == day["drain"].table()
    page = shown._repr_html_()
    assert page.startswith("<details><summary>one day, click to unfold</summary><table>")
    assert folded("plain text", "a note")._repr_html_().endswith("<pre>&#x27;plain text&#x27;</pre></details>")


def test_figures_use_the_card_without_touching_rcparams(day):
    before = dict(matplotlib.rcParams)
    figure = Figure()
    day["stateless"].plot(figure.subplots())
    assert figure.get_facecolor()[:3] == matplotlib.colors.to_rgb(CARD)
    assert dict(matplotlib.rcParams) == before
