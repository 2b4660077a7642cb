"""A plot with words: a matplotlib figure shown as an image that carries a text alternative.

A learner who cannot see the plot (a screen reader, a slow connection, an
image that failed to load) should still get what it shows. JupyterLab draws a
plain matplotlib output as an ``<img>`` without any ``alt`` text, so this
module draws the figure itself: ``show_figure(fig, alt)`` renders ``fig`` to
PNG and returns an object that Jupyter shows as ``<img alt="...">`` inside a
``<figure>``, and whose text form (what nbval and a terminal see) is the alt
text. Write the alt text as what the figure *says* (which line is higher,
where the failure is), not how it looks; format any number in it from the
run. The figure is closed afterwards, so pyplot does not show it a second
time. Chapters 04 and 06 use it; the figures themselves keep their light
card (see ``labsupport.sim.figures``), so they read in the dark theme too.
"""

import base64
import html
import io

from ..errors import InvalidArgumentError

__all__ = ["DescribedFigure", "show_figure"]


class DescribedFigure:
    """A PNG and its text alternative; Jupyter shows the image, ``repr()`` is the text."""

    def __init__(self, png, alt):
        self.png, self.alt = png, alt

    def _repr_html_(self):
        data = base64.b64encode(self.png).decode("ascii")
        alt = html.escape(self.alt, quote=True)
        return (f"<figure class='lab-figure' style='margin:0'><img src='data:image/png;base64,{data}' "
                f"alt='{alt}' style='max-width:100%;height:auto'></figure>")

    def __repr__(self):
        return f"Figure: {self.alt}"


def show_figure(figure, alt, dpi=100):
    """``figure`` (a matplotlib Figure) as an image with the text alternative ``alt``; closes the figure."""
    import matplotlib.pyplot as plt  # only when asked: importing labsupport draws nothing

    if not isinstance(alt, str) or len(alt.strip()) < 10:
        raise InvalidArgumentError("alt must say in a sentence what the figure shows, for example "
                                   "\"the stateful line drops to 0 during the failure; the stateless one stays flat\"")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight", facecolor=figure.get_facecolor())
    plt.close(figure)
    return DescribedFigure(buffer.getvalue(), alt.strip())
