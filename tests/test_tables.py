"""engine/tables.py: tables that read the same as text and as HTML, numbers right and text left.

JupyterLab right-aligns every table cell unless told otherwise, so the HTML
must say the alignment on every cell; the text form (what nbval compares)
must align the same way. A grouped table keeps a wide result narrow: a
heading per group and its rows under it. Chapter 03's comparison uses it.
"""

from labsupport.engine import GroupedTable, Table, html_table, text_table
from labsupport.engine.tables import numeric_columns


def test_numbers_go_right_and_text_goes_left_in_text():
    text = text_table(["policy", "lost", "ratio"], [["sticky", 12, "2.59"], ["round-robin", 3, "1.01"]])
    lines = text.splitlines()
    assert lines[0] == "policy       lost  ratio"
    assert lines[2] == "sticky         12   2.59"
    assert lines[3] == "round-robin     3   1.01"


def test_numbers_with_a_unit_count_as_numbers_and_words_do_not():
    assert numeric_columns(4, [[1, "3.2 h", "1,077", "yes"], [2.5, "0 s", "12 %", "no"]]) == [True, True, True, False]
    assert numeric_columns(2, [[True, ""], [False, ""]]) == [False, False]        # booleans and empty: text
    assert numeric_columns(1, [["10"], [""], ["12"]]) == [True]                  # empty cells are skipped
    assert numeric_columns(1, [["every cart"], [20]]) == [False]


def test_every_html_cell_says_its_alignment():
    page = html_table(["policy", "lost"], [["sticky", 12]], caption="Two drains")
    assert "<th style='text-align:left'>policy</th><th style='text-align:right'>lost</th>" in page
    assert "<td style='text-align:left'>sticky</td><td style='text-align:right'>12</td>" in page
    assert "<caption style='text-align:left;font-weight:600'>Two drains</caption>" in page


def test_an_empty_header_is_not_an_empty_th():
    page = html_table(["", "stateless"], [["where", "database"]])
    assert "<th style='text-align:left'></th>" not in page and "<thead><tr><td></td>" in page


def test_a_grouped_table_puts_rows_under_their_heading():
    table = GroupedTable(["shop", "lost"], [("failure recovery (kill one)", [["stateless", 0], ["stateful", 2]]),
                                            ("restart cost (restart one)", [["stateless", 0], ["stateful", 12]])],
                         title="Side by side")
    assert repr(table).splitlines() == [
        "Side by side",
        "  shop       lost",
        "  ---------  ----",
        "failure recovery (kill one)",
        "  stateless     0",
        "  stateful      2",
        "restart cost (restart one)",
        "  stateless     0",
        "  stateful     12",
    ]
    page = table._repr_html_()
    assert page.count("<tbody>") == 2
    assert "<th colspan='2' scope='colgroup' style='text-align:left;padding-top:8px'>failure recovery" in page
    assert "<td style='text-align:right'>12</td>" in page


def test_a_plain_table_keeps_its_title_and_rows():
    table = Table(["what", "count"], [["failed actions", 0]], title="Deploy")
    assert repr(table) == "Deploy\nwhat            count\n--------------  -----\nfailed actions      0"
