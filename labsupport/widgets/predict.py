"""Predict, then run: commit to an outcome before the experiment shows it.

A prediction written down before the run is the fastest way to find out what
you actually believed. ``Predict(chapter, question_id)`` asks one question of
kind "predict" from the question bank; the learner picks or types an answer
and presses "Lock in". The notebook's next cells run the experiment and call
``predict.reveal(measured)``, which shows the prediction next to what the lab
measured, says whether they matched, and explains why.

The measurement waits for the learner. *Run All* runs ``reveal()`` long
before anyone has predicted anything, so a reveal without a prediction shows
only "Lock in your prediction to see what the lab measured" and a small
"Show me anyway" button; the number and the explanation appear when the
learner locks in (then next to their prediction) or asks to see them.
Used by every chapter.
"""

import html
import numbers

import ipywidgets as widgets

from ..checks import is_number
from ..errors import InvalidArgumentError
from . import quiz_view as view
from .accessible import ChoiceGroup, LiveHTML
from .answers import AnswerStore
from .question_bank import load_chapter
from .theme import button

__all__ = ["Predict", "WAITING_TEXT"]

WAITING_TEXT = "Lock in your prediction to see what the lab measured."


class Predict(widgets.VBox):
    """One prediction question; ``choice`` (options) or ``number`` (a number) is its input.

    For callers: ``lock_in()`` (what the Lock in button does), ``reveal(measured)``
    (the experiment's cell), ``show_anyway()`` (the "Show me anyway" button).
    ``prediction``, ``actual`` and ``matched`` hold what happened; ``shown`` says
    whether the measurement is on screen yet.
    """

    def __init__(self, chapter, question_id, path=None, questions_dir=None):
        super().__init__()
        self.question, self.number_in_chapter = _find(load_chapter(chapter, questions_dir), question_id)
        self.store = AnswerStore(path)
        self.prediction = None       # the option value or number locked in
        self.actual = None           # what reveal() was given
        self.matched = None          # True/False once shown next to a prediction
        self.shown = False           # the measurement is on screen
        q = self.question
        self.choice = self.number = None
        if q.is_numeric:
            self.number = widgets.Text(placeholder=f"your prediction ({q.unit})" if q.unit else "your prediction",
                                       layout=widgets.Layout(width="220px"))
            entry = self.number
        else:
            self.choice = ChoiceGroup(view.option_labels(q), label=q.prompt)
            entry = self.choice
        self.prompt = widgets.HTML(view.prompt_html(q, list_options=False))
        # Names a screen reader can tell apart from the chapter's other predictions' buttons.
        self.lock_button = button(f"Lock in prediction {self.number_in_chapter}", "lab-quiz-lock", "warning",
                                  "commit to this prediction")
        self.anyway_button = button(f"Show me anyway (prediction {self.number_in_chapter})", "lab-predict-anyway",
                                    "", "see the measurement without predicting")
        self.anyway_button.layout.display = "none"
        self.status = widgets.HTML(view.hint_html("Make your prediction, then lock it in before running the "
                                                  "next cell."))
        self.feedback = LiveHTML()   # the verdict and the measurement are announced when they appear
        self.prompt.add_class("lab-quiz-prompt")
        self.status.add_class("lab-quiz-status")
        self.feedback.add_class("lab-quiz-feedback")
        self.lock_button.on_click(lambda _button: self.lock_in())
        self.anyway_button.on_click(lambda _button: self.show_anyway())
        self.children = [widgets.HTML(view.hint_html("Predict before you run")), self.prompt, entry,
                         self.lock_button, self.status, self.feedback, self.anyway_button]
        self.add_class("lab-quiz")
        self.add_class("lab-predict")

    def lock_in(self):
        """Commit to the current input; returns the prediction, or None if nothing was chosen.

        If the experiment already ran (``reveal`` was called), its measurement appears now."""
        value = self._read_input()
        if value is None:
            self.status.value = view.hint_html("Choose an option first." if self.choice else
                                               "Type a number first, for example 3 or 2.5.")
            return None
        self.prediction = value
        self._freeze()
        if self.actual is None:
            self.status.value = view.hint_html(f"Locked in: {self._describe(value)}. "
                                               "Now run the next cell and compare.")
            self._save({"prediction": value, "correct": None})
        else:
            self.status.value = view.hint_html(f"Locked in: {self._describe(value)}.")
            self._show()
        return value

    def reveal(self, actual):
        """Give the widget the measured ``actual``; returns the widget to display again.

        With a prediction locked in, both are shown side by side; without one,
        the measurement waits until the learner locks in or presses "Show me anyway".
        """
        self.actual = self._check_actual(actual)
        if self.prediction is None and not self.shown:
            view.mark(self.feedback, None)
            self.feedback.value = view.hint_html(WAITING_TEXT)
            self.anyway_button.layout.display = None
        else:
            self._show()
        return self

    def show_anyway(self):
        """Show the measurement without a prediction (too late to predict after that)."""
        if self.actual is None:
            self.status.value = view.hint_html("Run the experiment's cell first: nothing was measured yet.")
            return
        self._freeze()
        self._show()

    def _show(self):
        """The measurement on screen: next to the prediction if there is one, and the explanation."""
        q, measured = self.question, self._describe(self.actual)
        self.shown = True
        self.anyway_button.layout.display = "none"
        if self.prediction is None:
            self.matched = None
            view.mark(self.feedback, None)
            head = view.hint_html(f"You made no prediction; the lab measured {measured}.")
        else:
            if q.is_numeric:
                self.matched = q.close_enough(self.prediction, self.actual)
            else:
                self.matched = q.option_for(self.prediction) == q.option_for(self.actual)
            view.mark(self.feedback, self.matched)
            said = f"You predicted {self._describe(self.prediction)}; the lab measured {measured}."
            head = (f"<div style='margin:6px 0'>{html.escape(said)}</div>"
                    + view.verdict_html(self.matched, "Your prediction matched." if self.matched else
                                        "Your prediction did not match: the explanation says why."))
            self._save({"prediction": self.prediction, "actual": self.actual, "correct": self.matched})
        self.feedback.value = head + view.paragraphs_html(q.explanation)

    def close(self):
        view.close_tree(self)
        super().close()

    def __repr__(self):
        return f"Predict({self.question.chapter}/{self.question.id})"

    # --- helpers -----------------------------------------------------------
    def _read_input(self):
        if self.number is not None:
            return view.parse_number(self.number.value)
        index = self.choice.index
        return None if index is None else self.question.options[index].value

    def _freeze(self):
        entry = self.number if self.number is not None else self.choice
        entry.disabled = True
        self.lock_button.disabled = True
        self.anyway_button.disabled = True

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
    """The prediction question ``question_id`` and its number among the chapter's predictions (from 1)."""
    predictions = [q for q in questions if q.kind == "predict"]
    for number, question in enumerate(predictions, start=1):
        if question.id == question_id:
            return question, number
    names = ", ".join(q.id for q in predictions)
    raise InvalidArgumentError(f"no prediction question {question_id!r} in this chapter; "
                               f"its predictions are {names} (other questions go in Quiz)")
