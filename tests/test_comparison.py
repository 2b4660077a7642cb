"""comparison.py: the suite that fills the article's side-by-side table from measurements.

Each row's experiment, run on fresh clusters of both kinds, tells the shops
apart the way the article's table says (nothing lost by the stateless shop,
a count of users hurt in the stateful one); the table has the article's ten
rows plus one it leaves out (can the state move?); and every cell of it reads
the same on every run.
"""

import pytest

from labsupport import InvalidArgumentError
from labsupport.engine import registry
from labsupport.labs import EXPERIMENTS, Suite, comparison, run_comparison
from tests.conftest import lab_threads, wait_for

ARTICLE_ROWS = ["where state lives", "request handling", "instance replaceability", "load balancing",
                "horizontal scaling", "failure recovery", "deployment complexity", "operational risk",
                "restart cost", "can state move?", "best use cases"]

# row function -> (stateless value, stateful value, words in the stateless cell, words in the stateful cell),
# for 6 users on 3 instances: round-robin for the stateless shop, sticky sessions for the stateful one.
EXPECTED = {
    "where_state_lives": (0, 6, "memory: 0 entries; database: 6 carts", "memory: 6 entries (sessions); no database"),
    "request_handling": (2, 0, "have her cart: yes (2 of 2)", "have her cart: no (0 of 2)"),
    "instance_replaceability": (2, 0, "cart kept: yes (2 of 2 items)", "cart kept: no (0 of 2 items)"),
    "load_balancing": (0, 6, "round-robin 0 of 6", "round-robin 6 of 6, sticky 0 of 6"),
    "horizontal_scaling": (6, 0, "existing users: yes (6 of 6)", "existing users: no (0 of 6)"),
    "failure_recovery": (0, 2, "lost their cart: 0 of 6 (0 items); failed requests: 0",
                         "lost their cart: 2 of 6"),
    "deployment_complexity": (0, 6, "sessions lost: 0; carts kept: 6 of 6", "sessions lost: 6; carts kept: 0 of 6"),
    "operational_risk": (0, 3, "matter: 0 of 3 (users hurt by losing each: 0, 0, 0)",
                         "matter: 3 of 3 (users hurt by losing each: 2, 2, 2)"),
    "restart_cost": (0, 2, "log in again: 0; items lost: 0", "log in again: 2"),
    "state_mobility": (0, 2, "nothing to move (0 sessions in its memory); users who lost their cart: 0",
                       "hand-off moved 2 sessions; users who lost their cart: 0"),
}


@pytest.fixture(scope="module")
def measured():
    """One full run of the suite with the chapter's settings, shared by the tests that read it."""
    shown = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(comparison, "display", shown.append)          # catch the notebook's progress bar
        result = run_comparison(seed=7, progress=True)
    return result, shown


def test_a_row_function_is_an_experiment_on_its_own():
    suite = Suite(seed=7, instances=3, users=6)
    stateless, stateful = (comparison.failure_recovery(kind, suite) for kind in ("stateless", "stateful"))
    assert (stateless.value, stateful.value) == (0, 2)


@pytest.mark.parametrize("row", sorted(EXPECTED))
def test_each_row_tells_the_two_shops_apart_as_the_article_says(row, measured):
    result, _ = measured
    dimension = next(e.dimension for e in EXPERIMENTS if e.measure.__name__ == row)
    stateless, stateful = (result.observations[dimension][kind] for kind in ("stateless", "stateful"))
    want_stateless, want_stateful, words_stateless, words_stateful = EXPECTED[row]
    assert (stateless.value, stateful.value) == (want_stateless, want_stateful)
    assert words_stateless in stateless.text
    assert words_stateful in stateful.text


def test_best_use_cases_come_from_the_article_and_say_so():
    suite = Suite()
    for kind in ("stateless", "stateful"):
        observation = comparison.best_use_cases(kind, suite)
        assert observation.text.endswith("(from the article, not measured)") and observation.value is None
    assert "databases" in comparison.best_use_cases("stateful", suite).text


def test_the_table_has_the_articles_ten_rows_plus_one_and_reads_the_same_on_every_run(measured):
    first, shown = measured
    second = run_comparison(seed=7)
    table = first.table
    assert table.headers == ["dimension", "stateless (observed)", "stateful (observed)", "evidence"]
    assert [row[0] for row in table.rows] == ARTICLE_ROWS == [e.dimension for e in EXPERIMENTS]
    assert repr(first) == repr(second) and first._repr_html_() == second._repr_html_()
    assert len(shown) == 1 and shown[0].value == shown[0].max == 22      # the progress bar, finished
    # what chapter 03 checks and reveals
    assert first.who_lost("failure recovery") == "stateful"
    assert first.who_lost("deployment complexity") == "stateful"
    assert first.value("restart cost", "stateless") == 0
    # timings go to their own table, one row per timed operation, never into the checked one
    assert [row[0] for row in first.timings.rows] == ["replace one instance", "start one more instance",
                                                      "rolling deploy", "restart one instance",
                                                      "hand off one instance"]
    assert all(isinstance(ms, float) and ms >= 0 for row in first.timings.rows for ms in row[1:3])
    assert " ms" not in repr(first)
    # and nothing of either run is left running
    assert not [thing for thing in registry.running() if type(thing).__name__ == "Cluster"]
    assert wait_for(lambda: not lab_threads())


def test_with_round_robin_as_its_own_policy_the_stateful_shop_loses_every_session():
    observation = comparison.load_balancing("stateful", Suite(seed=3, users=2, stateful_policy="round_robin"))
    assert observation.value == 2 and observation.text == "sessions lost: round-robin 2 of 2"


def test_misuse_gets_a_lab_error_that_says_what_to_do():
    with pytest.raises(InvalidArgumentError, match="instances must be a whole number from 2 to 10, not 1"):
        run_comparison(instances=1)
    with pytest.raises(InvalidArgumentError, match="users must be a whole number"):
        Suite(users=0)
    with pytest.raises(InvalidArgumentError, match="unknown policy 'sticky_sessions'"):
        Suite(stateful_policy="sticky_sessions")
    result = comparison.Comparison(Suite(), {}, 0.0)
    with pytest.raises(InvalidArgumentError, match="'stateless' or 'stateful'"):
        result.value("speed", "stateless")
