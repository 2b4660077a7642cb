"""locality.py: the latency ladder, from a dict in memory to another server over HTTP.

The claim is the ordering, which holds by orders of magnitude (a dict read is
a fraction of a microsecond, an HTTP hop hundreds): memory < SQLite < HTTP.
No absolute timing is asserted.
"""

import pytest

from labsupport import InvalidArgumentError
from labsupport.locality import ALWAYS_MEASURED, RUNGS, measure_ladder
from tests.conftest import lab_threads


def test_each_rung_further_away_costs_more():
    ladder = measure_ladder(reads=30, batches=3)
    assert set(ALWAYS_MEASURED) <= set(ladder.per_read_us) <= set(RUNGS)
    assert ladder.ordered()
    assert ladder.slower_than_memory(RUNGS[3]) > 1
    text = repr(ladder)
    assert all(rung in text for rung in ladder.per_read_us) and "100 reads (ms)" in text


def test_it_leaves_no_server_running():
    measure_ladder(reads=5, batches=1)
    assert not [t for t in lab_threads() if t.name.startswith("state-server")]


@pytest.mark.parametrize("options", [dict(reads=0), dict(batches=-1), dict(reads_per_request=1.5)])
def test_bad_counts_are_refused(options):
    with pytest.raises(InvalidArgumentError):
        measure_ladder(**options)
