"""How results show themselves: the same small table as text and HTML.

A notebook cell that ends with a result should print the same thing on every
run (nbval compares the text) and look tidy in JupyterLab (which shows the
HTML). ``Table`` is a ready-made table for notebook cells; ``ResultTable`` is
a mixin for result classes, such as the simulations in ``labsupport.sim``,
that know their headline numbers as a table; ``GroupedTable`` is a two-level
table (rows under a heading per group) for results too wide for one line each.

Columns read the way people expect: numbers right-aligned so their digits
line up, text left-aligned. A column counts as numbers when every filled cell
is a number, or a string that is one with at most a short unit after it
("2.59", "1,077", "3.2 h", "12 %"). The HTML says so on every cell, because
JupyterLab right-aligns every table cell by default. Used by every chapter.
"""

import html
import re

__all__ = ["Table", "ResultTable", "GroupedTable", "text_table", "html_table", "grouped_text_table",
           "grouped_html_table", "numeric_columns", "format_duration"]

_NUMBER_WITH_UNIT = re.compile(r"[-+]?\d[\d,]*(\.\d+)?( ?(%|[a-zµ]{1,3}))?")


def _cell(value):
    if isinstance(value, float):
        return f"{value:,.1f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def _is_number(value):
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return True
    return isinstance(value, str) and _NUMBER_WITH_UNIT.fullmatch(value.strip()) is not None


def numeric_columns(width, rows):
    """For each of ``width`` columns: True if every filled cell of it is a number (right-align it)."""
    columns = []
    for i in range(width):
        filled = [row[i] for row in rows if i < len(row) and row[i] not in ("", None)]
        columns.append(bool(filled) and all(_is_number(v) for v in filled))
    return columns


def _line(values, widths, numeric, indent=""):
    return (indent + "  ".join(v.rjust(w) if num else v.ljust(w)
                               for v, w, num in zip(values, widths, numeric))).rstrip()


def text_table(headers, rows):
    """Render ``rows`` (lists of values) under ``headers`` as an aligned text table.

    Columns of numbers are right-aligned, columns with any text left-aligned.
    """
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [max([len(h)] + [len(row[i]) for row in cells]) for i, h in enumerate(headers)]
    numeric = numeric_columns(len(headers), rows)
    rule = "  ".join("-" * w for w in widths)
    return "\n".join([_line(list(headers), widths, numeric), rule] + [_line(row, widths, numeric) for row in cells])


def _align(numeric):
    return "text-align:right" if numeric else "text-align:left"


def _header_cells(headers, numeric):
    """Header cells; an empty header is a plain cell (an empty ``<th>`` names nothing for a screen reader)."""
    return "".join(f"<th style='{_align(num)}'>{html.escape(h)}</th>" if h else "<td></td>"
                   for h, num in zip(headers, numeric))


def _body_row(row, numeric):
    return "<tr>" + "".join(f"<td style='{_align(num)}'>{html.escape(_cell(v))}</td>"
                            for v, num in zip(row, numeric)) + "</tr>"


def _caption(caption):
    return f"<caption style='text-align:left;font-weight:600'>{html.escape(caption)}</caption>" if caption else ""


def html_table(headers, rows, caption=""):
    """The same table as :func:`text_table`, as an HTML ``<table>`` (numbers right, text left)."""
    numeric = numeric_columns(len(headers), rows)
    body = "".join(_body_row(row, numeric) for row in rows)
    return (f"<table>{_caption(caption)}<thead><tr>{_header_cells(headers, numeric)}</tr></thead>"
            f"<tbody>{body}</tbody></table>")


def grouped_text_table(headers, groups):
    """``groups`` of rows, each under its own heading line, as one aligned text table.

    ``groups`` is a list of ``(heading, rows)``; the rows are indented under
    their heading and share one set of column widths, so the table stays
    narrow however long the headings are.
    """
    all_rows = [row for _, rows in groups for row in rows]
    cells = {id(row): [_cell(v) for v in row] for row in all_rows}
    widths = [max([len(h)] + [len(cells[id(row)][i]) for row in all_rows]) for i, h in enumerate(headers)]
    numeric = numeric_columns(len(headers), all_rows)
    lines = [_line(list(headers), widths, numeric, "  "), "  " + "  ".join("-" * w for w in widths)]
    for heading, rows in groups:
        lines.append(heading)
        lines += [_line(cells[id(row)], widths, numeric, "  ") for row in rows]
    return "\n".join(lines)


def grouped_html_table(headers, groups, caption=""):
    """The same as :func:`grouped_text_table`, as HTML: one ``<tbody>`` per group, its heading in a
    ``<th scope="colgroup">`` that spans the row."""
    all_rows = [row for _, rows in groups for row in rows]
    numeric = numeric_columns(len(headers), all_rows)
    bodies = "".join(
        f"<tbody><tr><th colspan='{len(headers)}' scope='colgroup' style='text-align:left;padding-top:8px'>"
        f"{html.escape(heading)}</th></tr>{''.join(_body_row(row, numeric) for row in rows)}</tbody>"
        for heading, rows in groups)
    return f"<table>{_caption(caption)}<thead><tr>{_header_cells(headers, numeric)}</tr></thead>{bodies}</table>"


def format_duration(seconds):
    """A duration a person reads at a glance: '45 s', '12.5 min', '3.2 h'; None means 'never'."""
    if seconds is None:
        return "never"
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


class ResultTable:
    """Mixin for result dataclasses: subclasses define ``_table_data()``.

    ``_table_data()`` returns ``(title, headers, rows)``. Callers use
    ``table()``; Jupyter uses ``_repr_html_()``; ``repr()`` is the text table.
    """

    def _table_data(self):  # for subclasses
        raise NotImplementedError

    def table(self):
        """The result as a plain-text table (deterministic for a given seed)."""
        title, headers, rows = self._table_data()
        return f"{title}\n{text_table(headers, rows)}"

    def _repr_html_(self):
        title, headers, rows = self._table_data()
        return html_table(headers, rows, caption=title)

    def __repr__(self):
        return self.table()


class Table(ResultTable):
    """A small table for a notebook: ``Table(["policy", "lost"], [["sticky", 0]], title="...")``."""

    def __init__(self, headers, rows, title=""):
        self.headers = list(headers)
        self.rows = [list(row) for row in rows]
        self.title = title

    def _table_data(self):
        return self.title, self.headers, self.rows

    def table(self):
        text = text_table(self.headers, self.rows)
        return f"{self.title}\n{text}" if self.title else text


class GroupedTable(ResultTable):
    """Rows under a heading per group: ``GroupedTable(["shop", "lost"], [("kill", [["stateless", 0]])])``.

    For a table whose rows would be too wide side by side: each group (a
    dimension, an experiment) gets a heading line, and its rows sit under it.
    """

    def __init__(self, headers, groups, title=""):
        self.headers = list(headers)
        self.groups = [(heading, [list(row) for row in rows]) for heading, rows in groups]
        self.title = title

    def table(self):
        text = grouped_text_table(self.headers, self.groups)
        return f"{self.title}\n{text}" if self.title else text

    def _repr_html_(self):
        return grouped_html_table(self.headers, self.groups, caption=self.title)
