"""How chapter 06 shows results: figures in colours everyone can tell apart, on a card that reads in any
theme, and long tables folded away until the learner opens them.

Colours come from the Okabe-Ito palette (M. Okabe and K. Ito, "Color
Universal Design", 2008), chosen to stay distinct for the common kinds of
colour blindness, and every line also gets its own marker or dash, so
colour is never the only cue. A figure is drawn on its own light *card*
(a fixed pale background with dark text): a transparent figure would need
text that is readable on both JupyterLab's white and its near-black
background, and no grey is (it reaches 4.5:1 contrast on one or the other,
not both). Helpers style the figure they are given and never touch
matplotlib's global settings.

``folded(result, summary)`` shows a long table as a one-line summary the
learner clicks to unfold (HTML ``<details>``) while its text, which nbval
compares, stays the whole table. Used by chapter 06.
"""

import html

__all__ = ["OKABE_ITO", "CARD", "INK", "on_card", "new_axes", "folded", "Folded"]

OKABE_ITO = {
    "black": "#000000", "orange": "#E69F00", "sky": "#56B4E9", "green": "#009E73",
    "yellow": "#F0E442", "blue": "#0072B2", "vermillion": "#D55E00", "purple": "#CC79A7",
}
CARD = "#F4F4F4"          # the figure's own background: pale, not glaring white
INK = "#1A1A1A"           # text, ticks and frames: 16:1 contrast on the card


def on_card(figure):
    """Give ``figure`` and all its axes the card look (background, text, ticks, frames); returns it."""
    figure.set_facecolor(CARD)
    for ax in figure.get_axes():
        ax.set_facecolor("#FFFFFF")
        ax.title.set_color(INK)
        ax.xaxis.label.set_color(INK)
        ax.yaxis.label.set_color(INK)
        ax.tick_params(colors=INK, which="both")
        for spine in ax.spines.values():
            spine.set_color(INK)
        legend = ax.get_legend()
        if legend is not None:
            for text in legend.get_texts():
                text.set_color(INK)
    for text in figure.texts:
        text.set_color(INK)
    return figure


def new_axes(rows=1, cols=1, figsize=(8, 3.5), **options):
    """A new pyplot figure with ``rows x cols`` axes (``plt.subplots``); returns the axes."""
    import matplotlib.pyplot as plt
    return plt.subplots(rows, cols, figsize=figsize, **options)[1]


class Folded:
    """A result shown folded: ``summary`` until clicked; its text form (``repr``) is the full result."""

    def __init__(self, result, summary):
        self.result, self.summary = result, summary

    def __repr__(self):
        return repr(self.result)

    def _repr_html_(self):
        inner = getattr(self.result, "_repr_html_", None)
        body = inner() if inner else f"<pre>{html.escape(repr(self.result))}</pre>"
        return f"<details><summary>{html.escape(self.summary)}</summary>{body}</details>"


def folded(result, summary):
    """``result`` folded behind a one-line ``summary`` (click to unfold in JupyterLab)."""
    return Folded(result, summary)
