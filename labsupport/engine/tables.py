"""How results show themselves: the same small table as text and HTML.

A notebook cell that ends with a result should print the same thing on every
run (nbval compares the text) and look tidy in JupyterLab (which shows the
HTML). ``Table`` is a ready-made table for notebook cells; ``ResultTable`` is
a mixin for result classes, such as the simulations in ``labsupport.sim``,
that know their headline numbers as a table. Used by every chapter.
"""

import html

__all__ = ["Table", "ResultTable", "text_table", "html_table", "format_duration"]


def _cell(value):
    if isinstance(value, float):
        return f"{value:,.1f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def text_table(headers, rows):
    """Render ``rows`` (lists of values) under ``headers`` as an aligned text table.

    Columns of numbers are right-aligned, columns with any text left-aligned.
    """
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [max([len(h)] + [len(row[i]) for row in cells]) for i, h in enumerate(headers)]
    numeric = [bool(rows) and all(isinstance(row[i], (int, float)) for row in rows)
               for i in range(len(headers))]

    def line(values):
        return "  ".join(v.rjust(w) if num else v.ljust(w)
                         for v, w, num in zip(values, widths, numeric)).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(list(headers)), rule] + [line(row) for row in cells])


def html_table(headers, rows, caption=""):
    """The same table as :func:`text_table`, as an HTML ``<table>``."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_cell(v))}</td>" for v in row) + "</tr>" for row in rows)
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    return f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


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
