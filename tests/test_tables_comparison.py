"""Chapter 03's table, as the chapter shows it: every measured value of the wide table, in a narrow one.

The article's ten rows side by side are about 250 characters wide. ``side_by_side``
puts each dimension's heading (what it is and how it was measured) on a line of
its own and one line per shop under it: nothing of ``table`` may be lost on the
way, and no line may be wider than a notebook.
"""

import pytest

from labsupport.labs import run_comparison


@pytest.fixture(scope="module")
def result():
    return run_comparison(seed=7)


def test_the_narrow_table_keeps_every_measured_value_of_the_wide_one(result):
    wide, narrow = result.table, result.side_by_side
    assert len(narrow.groups) == len(wide.rows)
    for (heading, rows), (dimension, stateless, stateful, evidence) in zip(narrow.groups, wide.rows):
        assert heading == f"{dimension} ({evidence})"
        assert rows == [["stateless", stateless], ["stateful", stateful]]


def test_it_fits_a_notebook_and_is_what_the_chapter_shows(result):
    text = repr(result)
    assert text == repr(result.side_by_side) and result._repr_html_() == result.side_by_side._repr_html_()
    assert max(len(line) for line in text.splitlines()) <= 120
    assert max(len(line) for line in repr(result.table).splitlines()) > 200       # what it replaces
    assert result._repr_html_().count("scope='colgroup'") == len(result.table.rows)
