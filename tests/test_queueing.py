"""queueing.py (sim) and queueing.py (labs): waiting time against utilisation, in theory, simulated and live.

Pinned here: the formulas give the textbook values (M/M/1, Erlang C, the
Pollaczek-Khinchine half for one worker, and the issue's 89 ms / 44 ms for
4 workers at 95 %); ``simulate_queue`` agrees with Erlang C for exponential
service and with Cosmetatos' M/D/c approximation for fixed service, within a
few percent; the hockey stick's shape (waits grow much faster than
utilisation); and the live instance's waits are measured inside the server,
from arrival to admission by a worker. Tolerances come from the spread of
the simulation over seeds (see each test), not from the seed used here.
"""

import math

import pytest

from labsupport import InvalidArgumentError, LabError
from labsupport.labs import measure_hockey_stick
from labsupport.labs import queueing as live_queueing
from labsupport.sim import (
    arrival_gaps_ms,
    erlang_c,
    mdc_mean_wait_ms,
    mmc_mean_wait_ms,
    mmc_wait_percentile_ms,
    simulate_queue,
    theory_mean_wait_ms,
)
from tests.conftest import lab_threads

LONG = 400_000        # requests: enough for a mean within about 1.5 % (one standard deviation over seeds)


# --- the formulas -----------------------------------------------------------------------------------

@pytest.mark.parametrize("utilisation", [0.2, 0.5, 0.9])
def test_one_worker_is_the_textbook_single_server_queue(utilisation):
    assert erlang_c(1, utilisation) == pytest.approx(utilisation)            # it waits if the one worker is busy
    assert mmc_mean_wait_ms(1, 20, utilisation) == pytest.approx(20 * utilisation / (1 - utilisation))
    # Pollaczek-Khinchine: fixed service halves the wait exactly, so Cosmetatos' correction vanishes for c = 1
    assert mdc_mean_wait_ms(1, 20, utilisation) == pytest.approx(mmc_mean_wait_ms(1, 20, utilisation) / 2)


def test_erlang_c_matches_a_value_computed_by_hand():
    # 2 workers at 50 %: load a = 1; C = (a^2/2! / (1 - 0.5)) / (1 + a + a^2/2! / (1 - 0.5)) = 1 / 3
    assert erlang_c(2, 0.5) == pytest.approx(1 / 3)


def test_four_workers_at_95_percent_wait_as_the_course_says():
    assert mmc_mean_wait_ms(4, 20, 0.95) == pytest.approx(89.1, abs=0.1)
    assert mdc_mean_wait_ms(4, 20, 0.95) == pytest.approx(44.9, abs=0.1)
    assert theory_mean_wait_ms(4, 20, 0.95, "poisson", "fixed") == (mdc_mean_wait_ms(4, 20, 0.95),
                                                                     "M/D/c, Cosmetatos")
    assert theory_mean_wait_ms(4, 20, 0.95, "fixed", "fixed")[0] is None


def test_mmc_percentiles_follow_the_exponential_tail():
    waiting = erlang_c(4, 0.8)                    # about 60 % of requests wait at all
    assert mmc_wait_percentile_ms(4, 20, 0.8, 30) == 0.0
    p99 = mmc_wait_percentile_ms(4, 20, 0.8, 99)
    assert p99 == pytest.approx(math.log(waiting / 0.01) * 20 / (4 * 0.2))
    assert mmc_wait_percentile_ms(4, 20, 0.8, 95) < p99


def test_the_mean_wait_is_a_hockey_stick():
    waits = [mdc_mean_wait_ms(4, 20, u / 100) for u in range(30, 100, 5)]
    assert waits == sorted(waits)
    steps = [b - a for a, b in zip(waits, waits[1:])]
    assert steps == sorted(steps)                 # each 5 % step costs more than the one before
    assert mdc_mean_wait_ms(4, 20, 0.95) > 40 * mdc_mean_wait_ms(4, 20, 0.5)


# --- the simulation against the formulas ---------------------------------------------------------------

@pytest.mark.parametrize("utilisation", [0.5, 0.7])
def test_simulated_mmc_matches_erlang_c(utilisation):
    # Over 12 seeds at 200,000 requests the mean wait's error had a spread of 2-3 %; at 400,000 about 2 %.
    result = simulate_queue(4, 20, utilisation, "poisson", "exponential", LONG, seed=7)
    assert result.mean_wait_ms == pytest.approx(mmc_mean_wait_ms(4, 20, utilisation), rel=0.05)
    assert result.share_waited == pytest.approx(erlang_c(4, utilisation), rel=0.03)
    assert result.p99_wait_ms == pytest.approx(mmc_wait_percentile_ms(4, 20, utilisation, 99), rel=0.05)
    assert result.measured_utilisation == pytest.approx(utilisation, rel=0.01)
    assert result.theory_mean_wait_ms == mmc_mean_wait_ms(4, 20, utilisation)


@pytest.mark.parametrize("utilisation", [0.5, 0.7])
def test_simulated_mdc_matches_cosmetatos_within_its_error(utilisation):
    # Against 4 x 2,000,000 requests Cosmetatos was 0.9 % low at 50 % and 0.6 % low at 70 %
    # (2 % high at 30 %, where it is known to overestimate); the run here adds about 1.5 % of noise.
    result = simulate_queue(4, 20, utilisation, "poisson", "fixed", LONG, seed=7)
    assert result.mean_wait_ms == pytest.approx(mdc_mean_wait_ms(4, 20, utilisation), rel=0.05)
    assert result.mean_wait_ms < 0.65 * mmc_mean_wait_ms(4, 20, utilisation)   # fixed service waits far less


def test_fixed_arrivals_and_fixed_service_never_wait_below_full_load():
    result = simulate_queue(4, 20, 0.95, "fixed", "fixed", 2_000, seed=7)
    assert result.mean_wait_ms == 0 and result.p99_wait_ms == 0 and result.share_waited == 0
    assert result.theory_mean_wait_ms is None


def test_random_arrivals_alone_make_requests_wait():
    calm = simulate_queue(4, 20, 0.8, "fixed", "exponential", 50_000, seed=7)
    random = simulate_queue(4, 20, 0.8, "poisson", "exponential", 50_000, seed=7)
    assert 0 < calm.mean_wait_ms < random.mean_wait_ms


def test_simulated_waits_grow_much_faster_than_utilisation():
    means = [simulate_queue(4, 20, u, "poisson", "fixed", 100_000, seed=7).mean_wait_ms for u in (0.5, 0.8, 0.95)]
    assert means == sorted(means)
    assert means[2] > 20 * means[0]


def test_poisson_gaps_are_random_but_bring_exactly_the_work_asked():
    gaps = arrival_gaps_ms(500, 2.5, "poisson", seed=7)
    assert sum(gaps) == pytest.approx(500 * 2.5)
    assert len(set(gaps)) == 500 and min(gaps) < 0.1 * 2.5 < 3 * 2.5 < max(gaps)
    assert arrival_gaps_ms(500, 2.5, "poisson", seed=7) == gaps
    assert arrival_gaps_ms(500, 2.5, "poisson", seed=8) != gaps
    assert arrival_gaps_ms(3, 2.5, "fixed") == [2.5, 2.5, 2.5]


def test_same_seed_same_run_other_seed_other_run():
    first, again, other = (simulate_queue(2, 10, 0.9, requests=5_000, seed=s) for s in (7, 7, 8))
    assert first == again and first.waits_ms == again.waits_ms
    assert first.mean_wait_ms != other.mean_wait_ms


def test_result_shows_the_formula_beside_the_measurement():
    result = simulate_queue(4, 20, 0.8, "poisson", "fixed", requests=10_000, seed=7)
    text = result.table()
    assert repr(result) == text and "M/D/4" in text and "Cosmetatos" in text
    assert result._repr_html_().startswith("<table>")
    assert result.p50_wait_ms <= result.p95_wait_ms <= result.p99_wait_ms


@pytest.mark.parametrize("call, named", [
    (lambda: simulate_queue(servers=0), "servers"),
    (lambda: simulate_queue(utilisation=1.0), "utilisation"),
    (lambda: simulate_queue(utilisation=0), "utilisation"),
    (lambda: simulate_queue(service_ms=-5), "service_ms"),
    (lambda: simulate_queue(arrivals="bursty"), "arrivals"),
    (lambda: simulate_queue(service="lognormal"), "service"),
    (lambda: simulate_queue(requests=0), "requests"),
    (lambda: simulate_queue(seed="seven"), "seed"),
    (lambda: erlang_c(4, 1.2), "utilisation"),
    (lambda: mmc_wait_percentile_ms(4, 20, 0.5, 101), "percentile"),
    (lambda: simulate_queue(requests=10).wait_ms(-1), "percentile"),
    (lambda: measure_hockey_stick(utilisations=()), "utilisations"),
    (lambda: measure_hockey_stick(utilisations=(1.0,)), "utilisation"),
    (lambda: measure_hockey_stick(workers=0), "workers"),
])
def test_misuse_raises_a_lab_error_naming_the_argument(call, named):
    with pytest.raises(InvalidArgumentError) as caught:
        call()
    assert isinstance(caught.value, LabError) and named in str(caught.value)


# --- live: one real instance ---------------------------------------------------------------------------

def test_a_request_behind_a_busy_worker_waits_until_that_worker_is_free():
    app = live_queueing.WorkerApp(service_ms=200)
    with live_queueing.StopwatchInstance(lambda: app, name="queue-1", workers=1) as instance:
        failures, _ = live_queueing._open_loop(instance.address, [0.0, 0.0])     # two at once
    assert failures == []
    (_, first_admitted), (second_in, second_admitted) = sorted(app.moments, key=lambda m: m[1])
    assert second_admitted - first_admitted >= 0.199     # one worker: the second waits for the first's 200 ms
    assert second_in < first_admitted + 0.2               # it arrived while the first was being served...
    assert max(app.waits_ms) == (second_admitted - second_in) * 1000 > 0     # ...so its wait is that gap


def test_live_waits_explode_near_full_load_and_leave_nothing_behind():
    stick = measure_hockey_stick(utilisations=(0.5, 0.95), workers=4, service_ms=10, seconds=0.5, seed=7)
    assert [point.failures for point in stick.live] == [0, 0]
    assert [len(point.waits_ms) for point in stick.live] == list(stick.requests)
    assert all(wait >= 0 for point in stick.live for wait in point.waits_ms)
    for curve in ("live", "simulated", "formula"):
        assert stick.growth(curve, high=0.95, low=0.5) > 5, curve
    assert "formula mean ms" in stick.table()
    assert all(1 <= point.tries <= 3 for point in stick.live)
    assert not [t for t in lab_threads() if t.name.startswith(("hockey-stick", "queue-1"))]
