"""Hints that unfold one at a time: each a step closer, the last a sketch of a solution.

A hint shown too early spoils the exercise; a hint that never comes leaves a
learner stuck. ``Hints`` shows one button. Each press reveals the next hint
under the ones already shown, and the button says how many are left; after
the last one it points to the reference solution's file. Nothing is saved:
hints are there to be used. Its text form is always the same sentence, so a
notebook cell that shows it can be compared by nbval whatever a learner
pressed. Used by the exercise of every chapter from 01 to 08.
"""

import html

import ipywidgets as widgets

from ..errors import InvalidArgumentError
from . import quiz_view as view

__all__ = ["Hints"]


class Hints(widgets.VBox):
    """``Hints(["first", "closer", "a sketch"], about="exercise 01")``: press ``button`` (or call ``next()``)."""

    def __init__(self, hints, about="this exercise", solution=None):
        super().__init__()
        if not hints or not all(isinstance(hint, str) and hint.strip() for hint in hints):
            raise InvalidArgumentError("hints must be a non-empty list of sentences, first hint first")
        self.hints = tuple(hints)
        self.title = f"Hints for {about}"
        self.solution = solution           # where a reference solution lives, named after the last hint
        self.shown = 0
        self.heading = widgets.HTML(f"<b>{html.escape(self.title)}</b>")
        self.text = widgets.HTML("")
        self.button = widgets.Button(description=self._label(), button_style="info",
                                     tooltip=f"{self.title}: show the next hint")
        self.text.add_class("lab-hints-text")
        self.button.add_class("lab-hints-next")
        self.button.on_click(lambda _button: self.next())
        self.children = [self.heading, self.text, self.button]
        self.add_class("lab-hints")

    def next(self):
        """Reveal the next hint; returns its text (None when every hint is already shown)."""
        if self.shown == len(self.hints):
            return None
        self.shown += 1
        self.text.value = self._html()
        self.button.description = self._label()
        self.button.disabled = self.shown == len(self.hints)
        return self.hints[self.shown - 1]

    def _label(self):
        if self.shown == len(self.hints):
            return "No more hints"
        return f"Show hint {self.shown + 1} of {len(self.hints)}"

    def _html(self):
        items = "".join(f"<div style='margin:4px 0'><b>Hint {number}.</b> {view.paragraphs_html(hint)}</div>"
                        for number, hint in enumerate(self.hints[:self.shown], start=1))
        if self.shown == len(self.hints) and self.solution:
            items += view.hint_html(f"Still stuck? A reference solution is in {self.solution}; "
                                    "read it, then write your own version from memory.")
        return f"<div aria-live='polite'>{items}</div>"

    def close(self):
        view.close_tree(self)
        super().close()

    def __repr__(self):
        return f"{self.title}: {len(self.hints)} hints, shown one at a time"
