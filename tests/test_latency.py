"""latency.py: the latency ladder measured live, whose order (not its numbers) is the lesson.

Pins chapter 04, claim E2 and chapter 07, claim M5: a dict in the process's
memory is the fastest rung and an HTTP hop is slower than it; the cost of a
request grows with how often it touches state. Only orderings are asserted,
never a duration.
"""

import matplotlib
import pytest

from labsupport import InvalidArgumentError
from labsupport.labs import RUNGS, Ladder, measure_ladder

pytestmark = pytest.mark.timeout(60)


def test_the_ladder_measures_every_rung_and_memory_is_fastest():
    ladder = measure_ladder(repeats=50)
    assert ladder.rungs == list(RUNGS) or ladder.notes
    assert ladder.fastest == "dict"
    assert ladder.faster("dict", "HTTP hop") and ladder.faster("dict", "SQLite")
    assert all(us > 0 for us in ladder.median_us.values())


def test_cost_per_request_grows_with_touches_and_the_table_is_stable():
    ladder = Ladder({"dict": 0.1, "SQLite": 10.0, "Redis": 50.0, "HTTP hop": 150.0})
    assert ladder.cost_per_request_ms(100) == {"dict": 0.01, "SQLite": 1.0, "Redis": 5.0, "HTTP hop": 15.0}
    assert ladder.times_slower("HTTP hop") == 1500
    assert "HTTP hop" in repr(ladder) and "<table>" in ladder._repr_html_()


def test_plot_draws_two_panels_without_changing_global_settings():
    matplotlib.use("Agg")
    before = dict(matplotlib.rcParams)
    fig = Ladder({"dict": 0.1, "Redis": 50.0}).plot(touches=10)
    assert len(fig.axes) == 2
    assert dict(matplotlib.rcParams) == before
    import matplotlib.pyplot as plt
    plt.close(fig)


def test_bad_repeats_are_refused():
    with pytest.raises(InvalidArgumentError, match="repeats"):
        measure_ladder(repeats=1)
