"""Predict, then run: commit to an outcome before the experiment shows it.

A prediction written down before the run is the fastest way to find out what
you actually believed. ``Predict(chapter, question_id)`` asks one question of
kind "predict" from the question bank; the learner picks or types an answer
and presses "Lock in". The notebook's next cell runs the experiment and calls
``predict.reveal(measured)``, which shows the prediction next to what the lab
measured, says whether they matched, and explains why. Used by every chapter.
"""

import html
import numbers

import ipywidgets as widgets

from ..checks import is_number
from ..errors import InvalidArgumentError
from . import quiz_view as view
from .answers import AnswerStore
from .question_bank import load_chapter

__all__ = ["Predict"]


class Predict(widgets.VBox):
    """One prediction question; ``choice`` (options) or ``number`` (a number) is its input."""

    def __init__(self, chapter, question_id, path=None, questions_dir=None):
        super().__init__()
        self.question = _find(load_chapter(chapter, questions_dir), question_id)
        self.store = AnswerStore(path)
        self.prediction = None       # the option value or number locked in
        self.actual = None           # what reveal() was given
        self.matched = None          # True/False once revealed with a prediction
        q = self.question
        self.choice = self.number = None
        if q.is_numeric:
            self.number = widgets.Text(placeholder=f"your prediction ({q.unit})" if q.unit else "your prediction",
                                       layout=widgets.Layout(width="220px"))
            entry = self.number
        else:
            self.choice = widgets.RadioButtons(options=list(view.LETTERS[:len(q.options)]), value=None,
                                               orientation="horizontal", layout=widgets.Layout(width="auto"))
            entry = self.choice
        self.prompt = widgets.HTML(view.prompt_html(q))
        self.lock_button = widgets.Button(description="Lock in", button_style="warning")
        self.status = widgets.HTML(view.hint_html("Make your prediction, then lock it in before running the next cell."))
        self.feedback = widgets.HTML("")
        self.prompt.add_class("lab-quiz-prompt")
        self.lock_button.add_class("lab-quiz-lock")
        self.status.add_class("lab-quiz-status")
        self.feedback.add_class("lab-quiz-feedback")
        self.lock_button.on_click(self._on_click)
        self.children = [widgets.HTML(view.hint_html("Predict before you run")), self.prompt, entry,
                         self.lock_button, self.status, self.feedback]
        self.add_class("lab-quiz")
        self.add_class("lab-predict")

    def lock_in(self):
        """Commit to the current input; returns the prediction, or None if nothing was chosen."""
        value = self._read_input()
        if value is None:
            self.status.value = view.hint_html("Choose an option first." if self.choice else
                                               "Type a number first, for example 3 or 2.5.")
            return None
        self.prediction = value
        self._freeze()
        self.status.value = view.hint_html(f"Locked in: {self._describe(value)}. "
                                           "Now run the next cell and compare.")
        self._save({"prediction": value, "correct": None})
        return value

    def reveal(self, actual):
        """Show the measured ``actual`` next to the prediction; returns the widget to display again."""
        actual = self._check_actual(actual)
        self.actual = actual
        self._freeze()
        q = self.question
        measured = self._describe(actual)
        if self.prediction is None:
            self.matched = None
            view.mark(self.feedback, None)
            head = view.hint_html(f"You made no prediction; the lab measured {measured}.")
        else:
            if q.is_numeric:
                self.matched = q.close_enough(self.prediction, actual)
            else:
                self.matched = q.option_for(self.prediction) == q.option_for(actual)
            view.mark(self.feedback, self.matched)
            said = f"You predicted {self._describe(self.prediction)}; the lab measured {measured}."
            head = (f"<div style='margin:6px 0'>{html.escape(said)}</div>"
                    + view.verdict_html(self.matched, "Your prediction matched." if self.matched else
                                        "Your prediction did not match: the explanation says why."))
            self._save({"prediction": self.prediction, "actual": actual, "correct": self.matched})
        self.feedback.value = head + view.paragraphs_html(q.explanation)
        return self

    def close(self):
        view.close_tree(self)
        super().close()

    def __repr__(self):
        return f"Predict({self.question.chapter}/{self.question.id})"

    # --- helpers -----------------------------------------------------------
    def _on_click(self, _button):
        self.lock_in()

    def _read_input(self):
        if self.number is not None:
            return view.parse_number(self.number.value)
        index = self.choice.index
        return None if index is None else self.question.options[index].value

    def _freeze(self):
        entry = self.number if self.number is not None else self.choice
        entry.disabled = True
        self.lock_button.disabled = True

    def _describe(self, value):
        if self.question.is_numeric:
            return view.format_number(value, self.question.unit)
        return f"\u201c{self.question.options[self.question.option_for(value)].text}\u201d"

    def _check_actual(self, actual):
        q = self.question
        if hasattr(actual, "item") and not isinstance(actual, (bool, str, int, float)):
            actual = actual.item()       # a numpy number or bool from a measurement
        if q.is_numeric:
            if not is_number(actual):
                raise InvalidArgumentError(f"reveal({actual!r}): this prediction is a number of {q.unit or 'units'}; "
                                           "pass the measured number")
            return int(actual) if isinstance(actual, numbers.Integral) else float(actual)
        if q.option_for(actual) is None:
            values = ", ".join(repr(option.value) for option in q.options)
            raise InvalidArgumentError(f"reveal({actual!r}): pass the value of one option ({values})")
        return actual

    def _save(self, record):
        try:
            self.store.save(self.question.chapter, self.question.id, record)
        except OSError as error:
            self.status.value += view.hint_html(f"(Your prediction could not be saved: {error.strerror}.)")


def _find(questions, question_id):
    predictions = [q for q in questions if q.kind == "predict"]
    for question in predictions:
        if question.id == question_id:
            return question
    names = ", ".join(q.id for q in predictions)
    raise InvalidArgumentError(f"no prediction question {question_id!r} in this chapter; "
                               f"its predictions are {names} (other questions go in Quiz)")
