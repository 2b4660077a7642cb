"""Check your understanding: the quiz that ends every chapter.

``Quiz("02_stateful")`` shows the chapter's questions from the question bank,
each with its own Check button. After checking it says right or wrong and
explains *every* option, because the wrong options are where the
misconceptions live. Each answer is saved (see answers.py), so chapter 09 can
summarise the course with ``progress()``. Prediction questions are not part
of the quiz: the notebook asks them with ``Predict`` right before the
experiment they are about (see predict.py).

Every control is a public attribute (``question.choice``, ``.check_button``,
``.feedback``), so code and tests can answer exactly as a learner would.
"""

import ipywidgets as widgets

from ..errors import InvalidArgumentError
from . import quiz_view as view
from .accessible import ChoiceGroup, LiveHTML
from .answers import AnswerStore
from .question_bank import load_chapter
from .theme import button

__all__ = ["Quiz", "QuestionWidget", "SingleChoice", "MultipleChoice", "NumericAnswer", "OpenQuestion"]


class QuestionWidget(widgets.VBox):
    """One question: prompt, input, button and feedback. Subclasses say how to read the input."""

    button_label = "Check answer"
    missing_hint = "Choose an answer first."
    lists_options = True          # False when the input itself shows every option (a radio group)

    def __init__(self, question, store, saved=None, number=1):
        super().__init__()
        self.question = question
        self.store = store
        self.prompt = widgets.HTML(view.prompt_html(question, self.lists_options))
        self.history = widgets.HTML(view.hint_html(self.history_text(saved)) if saved else "")
        # A name a screen reader can tell apart from the other questions' buttons: "Check answer 2".
        self.check_button = button(f"{self.button_label} {number}", "lab-quiz-check", "primary")
        self.feedback = LiveHTML()                # the verdict is announced when it appears
        self.prompt.add_class("lab-quiz-prompt")
        self.feedback.add_class("lab-quiz-feedback")
        self.check_button.on_click(self._on_click)
        self.children = [self.prompt, *self.inputs(), self.check_button, self.feedback, self.history]
        self.add_class("lab-quiz-question")
        self.layout.margin = "0 0 14px 0"

    # --- for subclasses ---------------------------------------------------
    def inputs(self):
        """The widgets the learner answers with."""
        raise NotImplementedError

    def response(self):
        """The learner's answer in the form ``Question.grade`` takes, or None if there is none yet."""
        raise NotImplementedError

    def feedback_html(self, response, correct):
        raise NotImplementedError

    def history_text(self, saved):
        return f"You answered this before: {'right' if saved.get('correct') else 'not right yet'}."

    # --- what the button does --------------------------------------------
    def check(self):
        """Grade the current answer, show why, save it. Returns True/False, or None if unanswered."""
        response = self.response()
        if response is None:
            view.mark(self.feedback, None)
            self.feedback.value = view.hint_html(self.missing_hint)
            return None
        correct = self.question.grade(response)
        view.mark(self.feedback, correct)
        self.feedback.value = self.feedback_html(response, correct)
        self.save({"answer": _jsonable(response), "correct": correct})
        return correct

    def _on_click(self, _button):
        self.check()

    def save(self, record):
        try:
            self.store.save(self.question.chapter, self.question.id, record)
        except OSError as error:
            self.feedback.value += view.hint_html(f"(Your answer could not be saved: {error.strerror}.)")

    def __repr__(self):
        return f"{type(self).__name__}({self.question.chapter}/{self.question.id})"


class SingleChoice(QuestionWidget):
    """Pick one option from a radio group; ``choice.index`` is the option's position."""

    lists_options = False

    def inputs(self):
        self.choice = ChoiceGroup(view.option_labels(self.question), label=self.question.prompt)
        return [self.choice]

    def response(self):
        return self.choice.index

    def feedback_html(self, response, correct):
        verdict = "Right." if correct else f"Not quite: the answer is {view.LETTERS[self._right()]}."
        return view.verdict_html(correct, verdict) + view.explained_options_html(self.question.options, {response})

    def _right(self):
        return next(i for i, option in enumerate(self.question.options) if option.correct)


class MultipleChoice(QuestionWidget):
    """Tick every right letter; ``boxes[i]`` is the checkbox of option i."""

    missing_hint = "Tick at least one option first."

    def inputs(self):
        self.boxes = [widgets.Checkbox(value=False, description=view.LETTERS[i], indent=False,
                                       layout=widgets.Layout(width="auto", margin="0 16px 0 0"))
                      for i in range(len(self.question.options))]
        return [widgets.HBox(self.boxes), widgets.HTML(view.hint_html("Tick every option that is true."))]

    def response(self):
        ticked = {i for i, box in enumerate(self.boxes) if box.value}
        return ticked or None

    def feedback_html(self, response, correct):
        right = {i for i, option in enumerate(self.question.options) if option.correct}
        wrong = len(response - right)
        verdict = ("Right: exactly the true options." if correct else
                   f"Not quite: you ticked {len(response & right)} of the {len(right)} true options "
                   f"and {wrong or 'no'} false {'one' if wrong == 1 else 'ones'}.")
        return view.verdict_html(correct, verdict) + view.explained_options_html(self.question.options, response)


class NumericAnswer(QuestionWidget):
    """Type a number; ``number.value`` is the text box."""

    missing_hint = "Type a number first, for example 3 or 2.5."

    def inputs(self):
        unit = self.question.unit
        self.number = widgets.Text(placeholder=f"a number{f' ({unit})' if unit else ''}",
                                   layout=widgets.Layout(width="220px"))
        return [self.number]

    def response(self):
        return view.parse_number(self.number.value)

    def feedback_html(self, response, correct):
        q = self.question
        answer = view.format_number(q.answer, q.unit)
        margin = f" (anything within \u00b1{view.format_number(q.tolerance, q.unit)} counts)" if q.tolerance else ""
        verdict = (f"Right: {answer}{margin}." if correct else
                   f"Not quite: you said {view.format_number(response, q.unit)}; the answer is {answer}{margin}.")
        return view.verdict_html(correct, verdict) + view.paragraphs_html(q.explanation)


class OpenQuestion(QuestionWidget):
    """Write your own answer (optional), then compare it with the model answer."""

    button_label = "Show model answer"

    def inputs(self):
        self.text = widgets.Textarea(placeholder="Write your answer here, then compare it with the model answer.",
                                     layout=widgets.Layout(width="100%", height="90px"))
        self.reveal_button = self.check_button
        return [self.text]

    def history_text(self, saved):
        return "You read the model answer before."

    def check(self):
        """Reveal the model answer and save what the learner wrote. Open answers are not graded."""
        view.mark(self.feedback, None)
        self.feedback.value = ("<div style='font-weight:600;margin:6px 0'>Model answer</div>"
                               + view.paragraphs_html(self.question.model_answer))
        self.feedback.add_class("lab-quiz-model-answer")
        self.save({"answer": self.text.value, "correct": None})
        return None


_WIDGET_FOR_KIND = {"single": SingleChoice, "multiple": MultipleChoice,
                    "numeric": NumericAnswer, "open": OpenQuestion}


class Quiz(widgets.VBox):
    """The chapter's questions (all but predictions), or the ``only`` ones, in a column."""

    def __init__(self, chapter, path=None, only=None, questions_dir=None):
        super().__init__()
        questions = _select(load_chapter(chapter, questions_dir), only)
        store = AnswerStore(path)
        saved = store.answers().get(chapter, {})
        self.chapter = chapter
        self.questions = {q.id: _WIDGET_FOR_KIND[q.kind](q, store, saved.get(q.id), number)
                          for number, q in enumerate(questions, start=1)}
        note = f" {store.problem}" if store.problem else ""
        header = widgets.HTML(view.hint_html(f"{len(questions)} question{_plural(len(questions))}; "
                                             f"your answers are saved on this computer.{note}"))
        self.children = [header, *self.questions.values()]
        self.add_class("lab-quiz")

    def close(self):
        view.close_tree(self)
        super().close()

    def __repr__(self):
        n = len(self.questions)
        return f"Quiz({self.chapter}: {n} question{_plural(n)})"


def _select(questions, only):
    asked = [q for q in questions if q.kind != "predict"]
    if only is None:
        return asked
    if isinstance(only, str) or not all(isinstance(qid, str) for qid in only):
        raise InvalidArgumentError(f"only={only!r}: pass a list of question ids, for example only=[{only!r}]")
    by_id = {q.id: q for q in questions}
    for qid in only:
        if qid not in by_id:
            raise InvalidArgumentError(f"no question {qid!r} in this chapter; its questions are "
                                       f"{', '.join(q.id for q in asked)}")
        if by_id[qid].kind == "predict":
            raise InvalidArgumentError(f"{qid!r} is a prediction; show it with Predict(chapter, {qid!r})")
    return [by_id[qid] for qid in only]


def _plural(n):
    return "" if n == 1 else "s"


def _jsonable(response):
    return sorted(response) if isinstance(response, set) else response
