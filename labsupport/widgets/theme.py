"""How every widget looks, in JupyterLab's light and dark themes and to every learner.

Three rules, so that nothing is white on white, black on black, or told by
colour alone:

* **Text takes the theme's colours.** Widgets write ``var(--jp-content-font-color1)``
  and friends, JupyterLab's CSS variables, instead of fixed black or grey, so
  the same output reads on the light theme's white and the dark theme's
  near-black. The few boxes with a fixed fill (a tile, a legend chip, a
  button, a diagram node) carry their own fixed text colour chosen for that
  fill, so they read the same in both themes.
* **Colours come from the Okabe-Ito palette** (M. Okabe and K. Ito, "Color
  Universal Design", 2008), which stays distinguishable for the common kinds
  of colour blindness. The course's meanings keep their hues: bluish green for
  an instance that keeps nothing, reddish purple ("pink") for whatever holds
  state, vermillion for dead, orange for draining.
* **Colour is never the only signal.** A tile says UP or DEAD in words, a
  verdict starts with a tick or a cross and says "Right" or "Not quite", a
  trouble counter gets a warning sign, the chart's failed line is dashed.

Buttons get a fixed dark fill with white text (at least 4.5:1 contrast),
because ipywidgets' own success/warning/info colours fail that with white text.
Used by the dashboard, quizzes, predictions, diagrams and tables (every chapter).
"""

import ipywidgets as widgets

__all__ = ["OKABE_ITO", "TEXT", "MUTED", "BORDER", "SURFACE", "GOOD", "BAD", "ON_FILL", "BUTTON_FILLS",
           "button", "mermaid_style"]

OKABE_ITO = {
    "black": "#000000", "orange": "#E69F00", "sky": "#56B4E9", "green": "#009E73",
    "yellow": "#F0E442", "blue": "#0072B2", "vermillion": "#D55E00", "purple": "#CC79A7",
}

TEXT = "var(--jp-content-font-color1)"       # body text: black-ish on light, white on dark
MUTED = "var(--jp-content-font-color2)"      # secondary text: still 4.5:1 on either background
BORDER = "var(--jp-border-color2)"           # quiet frames
SURFACE = "var(--jp-layout-color1)"          # a card's background
GOOD, BAD = OKABE_ITO["green"], OKABE_ITO["vermillion"]    # for borders and lines, never for text
ON_FILL = "#000000"                          # text on any palette fill: at least 5.4:1 on each of them

BUTTON_FILLS = {                             # white text on each: 5.2:1 to 7.9:1
    "danger": "#B3261E",     # Kill
    "success": "#1B5E20",    # Restart, Start a fresh cluster
    "warning": "#8A5A00",    # Drain, Lock in
    "info": "#005A8C",       # Deploy
    "primary": "#0072B2",    # Start traffic, Check
}


def button(label, css_class, tone="", tooltip=""):
    """A button sized to its label, carrying ``css_class`` (for tests and styling) and a ``tone`` from
    ``BUTTON_FILLS`` ("" keeps the theme's plain button)."""
    made = widgets.Button(description=label, tooltip=tooltip,
                          layout=widgets.Layout(width="auto", align_self="flex-start"))    # not stretched in a column
    if tone:
        made.style.button_color = BUTTON_FILLS[tone]
        made.style.text_color = "#FFFFFF"
    made.add_class(css_class)
    return made


def mermaid_style(node, fill):
    """A Mermaid ``style`` line that sets the text colour with the fill, so the node reads in both themes
    (Mermaid's dark theme writes light text, which vanishes on a pale fill)."""
    return f"style {node} fill:{fill},color:{ON_FILL},stroke:#333333"
