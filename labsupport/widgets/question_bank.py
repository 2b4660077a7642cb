"""The question bank: every chapter's questions are data, loaded and checked here.

Each chapter has one JSON file in ``labsupport/questions/`` named after its
notebook (``02_stateful.json``), holding a list of questions. Keeping questions
as data means a teacher can add one without touching widget code, and
validating every field on load means a typo fails loudly, naming the file and
the question, instead of showing a learner a broken quiz. Used by the
"Check your understanding" section that ends every chapter.

Kinds of question:

- ``single``   options, exactly one ``correct``; every option has an ``explanation``
- ``multiple`` options, one or more ``correct``; every option has an ``explanation``
- ``numeric``  ``answer``, ``tolerance``, ``unit``, ``explanation``
- ``predict``  asked before an experiment runs; either ``options`` with a
  ``value`` each (the measured result is compared with the values) or a
  ``unit`` and ``tolerance`` (a number); ``explanation``; optional ``expected``
  (what the course's experiment measures)
- ``open``     ``model_answer`` revealed on request
"""

import dataclasses
import json
import math
import re
from pathlib import Path

from ..checks import is_number
from ..errors import InvalidArgumentError, LabError

__all__ = ["CHAPTERS", "KINDS", "QUESTIONS_DIR", "Option", "Question", "QuizFileError",
           "load_questions", "load_chapter"]

QUESTIONS_DIR = Path(__file__).resolve().parent / "questions"
CHAPTERS = ("00_the_thirty_second_deploy", "01_stateless", "02_stateful", "03_side_by_side",
            "04_state_exists_somewhere", "05_real_world_architectures", "06_why_stateless_won",
            "07_why_stateful_still_matters", "08_decision_framework", "09_questions_and_conclusion",
            "10_take_it_to_real_infrastructure")
KINDS = ("single", "multiple", "numeric", "predict", "open")
MAX_OPTIONS = 8                   # options are labelled A to H

_ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_REQUIRED = {"single": {"options"}, "multiple": {"options"},
             "numeric": {"answer", "tolerance", "unit", "explanation"},
             "predict": {"explanation"}, "open": {"model_answer"}}
_ALLOWED = {"single": {"options"}, "multiple": {"options"},
            "numeric": {"answer", "tolerance", "unit", "explanation"},
            "predict": {"options", "unit", "tolerance", "explanation", "expected"},
            "open": {"model_answer"}}


class QuizFileError(LabError, ValueError):
    """A question file is malformed; the message names the file, the question and the problem."""


def _value_key(value):
    """Compare option values with their type, so that true never equals 1."""
    return (type(value).__name__ if isinstance(value, (bool, str)) else "number", value)


@dataclasses.dataclass(frozen=True)
class Option:
    """One choice of a single, multiple or predict question."""

    text: str
    explanation: str = ""
    correct: bool = False
    value: object = None          # predict options: what the experiment can measure


@dataclasses.dataclass(frozen=True)
class Question:
    """One validated question; which fields matter depends on ``kind`` (see the module docstring)."""

    chapter: str
    id: str
    kind: str
    prompt: str
    options: tuple = ()
    answer: float = None
    tolerance: float = 0.0
    unit: str = ""
    explanation: str = ""
    model_answer: str = ""
    expected: object = None

    @property
    def is_numeric(self):
        """True for numeric questions and for predictions of a number."""
        return self.kind == "numeric" or (self.kind == "predict" and not self.options)

    def grade(self, response):
        """Is ``response`` right? An option index (single), a set of indices (multiple) or a number."""
        if self.kind == "single":
            return self.options[response].correct
        if self.kind == "multiple":
            return set(response) == {i for i, option in enumerate(self.options) if option.correct}
        if self.kind == "numeric":
            return self.close_enough(response, self.answer)
        raise InvalidArgumentError(f"question {self.id!r} is a {self.kind!r} question; only single, "
                                   f"multiple and numeric questions are graded")

    def close_enough(self, a, b):
        """Do two numbers agree within this question's tolerance?"""
        return abs(a - b) <= self.tolerance + 1e-9

    def option_for(self, value):
        """Index of the option whose ``value`` is ``value`` (type and all), or None."""
        for index, option in enumerate(self.options):
            if _value_key(option.value) == _value_key(value):
                return index
        return None


def load_chapter(chapter, directory=None):
    """The questions of ``chapter`` (one of ``CHAPTERS``), from ``directory`` or the shipped bank."""
    if chapter not in CHAPTERS:
        raise InvalidArgumentError(f"unknown chapter {chapter!r}; use one of: {', '.join(CHAPTERS)}")
    return load_questions(Path(directory or QUESTIONS_DIR) / f"{chapter}.json")


def load_questions(path):
    """Load and validate one question file; the chapter id is the file's stem."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise QuizFileError(f"{path}: no such question file") from None
    except json.JSONDecodeError as error:
        raise QuizFileError(f"{path}: not valid JSON (line {error.lineno}, column {error.colno}: "
                            f"{error.msg})") from None
    if not isinstance(data, list) or not data:
        raise QuizFileError(f"{path}: must hold a non-empty JSON list of questions")
    questions, seen = [], set()
    for index, item in enumerate(data):
        question = _parse_question(path, index, item)
        if question.id in seen:
            raise QuizFileError(f"{path}: question {question.id!r}: this id is used twice; ids must be unique")
        seen.add(question.id)
        questions.append(question)
    return questions


def _parse_question(path, index, item):
    where = f"{path}: question #{index}"
    if not isinstance(item, dict):
        raise QuizFileError(f"{where}: must be a JSON object, not {type(item).__name__}")
    qid = item.get("id")
    if not isinstance(qid, str) or not _ID_PATTERN.match(qid):
        raise QuizFileError(f"{where}: needs an \"id\" of lower-case letters, digits and dashes, got {qid!r}")
    where = f"{path}: question {qid!r}"
    kind = item.get("kind")
    if kind not in KINDS:
        raise QuizFileError(f"{where}: \"kind\" must be one of {', '.join(KINDS)}, got {kind!r}")
    unknown = set(item) - {"id", "kind", "prompt"} - _ALLOWED[kind]
    if unknown:
        raise QuizFileError(f"{where}: unknown field(s) {', '.join(sorted(unknown))} for a {kind} question")
    missing = ({"prompt"} | _REQUIRED[kind]) - set(item)
    if kind == "predict" and "options" not in item:
        missing |= {"unit", "tolerance"} - set(item)
    if missing:
        raise QuizFileError(f"{where}: missing field(s) {', '.join(sorted(missing))}")
    fields = {"prompt": _text(where, item, "prompt")}
    for name in ("explanation", "model_answer", "unit"):
        if name in item:
            fields[name] = _text(where, item, name, allow_empty=(name == "unit"))
    for name in ("answer", "tolerance"):
        if name in item:
            fields[name] = _number(where, item, name)
    if fields.get("tolerance", 0) < 0:
        raise QuizFileError(f"{where}: \"tolerance\" must be >= 0, got {fields['tolerance']}")
    if "options" in item:
        fields["options"] = _options(where, kind, item["options"])
    if "expected" in item:
        fields["expected"] = _expected(where, item["expected"], fields)
    return Question(chapter=path.stem, id=qid, kind=kind, **fields)


def _options(where, kind, raw):
    if not isinstance(raw, list) or not 2 <= len(raw) <= MAX_OPTIONS:
        raise QuizFileError(f"{where}: \"options\" must be a list of 2 to {MAX_OPTIONS} options")
    options = []
    for number, entry in enumerate(raw, start=1):
        at = f"{where}, option {number}"
        if not isinstance(entry, dict) or "text" not in entry:
            raise QuizFileError(f"{at}: must be an object with a \"text\"")
        if kind == "predict":
            extra = set(entry) - {"text", "value", "explanation"}
            value = entry.get("value")
            if "value" not in entry or not isinstance(value, (str, int, float, bool)):
                raise QuizFileError(f"{at}: a prediction option needs a \"value\" (text, number or true/false)")
            options.append(Option(_text(at, entry, "text"), value=value,
                                  explanation=_text(at, entry, "explanation") if "explanation" in entry else ""))
        else:
            extra = set(entry) - {"text", "correct", "explanation"}
            if not isinstance(entry.get("correct"), bool):
                raise QuizFileError(f"{at}: needs \"correct\": true or false")
            if "explanation" not in entry:
                raise QuizFileError(f"{at}: needs an \"explanation\" (every option explains itself)")
            options.append(Option(_text(at, entry, "text"), _text(at, entry, "explanation"), entry["correct"]))
        if extra:
            raise QuizFileError(f"{at}: unknown field(s) {', '.join(sorted(extra))}")
    right = sum(option.correct for option in options)
    if kind == "single" and right != 1:
        raise QuizFileError(f"{where}: a single-choice question needs exactly one correct option, has {right}")
    if kind == "multiple" and right < 1:
        raise QuizFileError(f"{where}: a multiple-choice question needs at least one correct option")
    values = [_value_key(option.value) for option in options]
    if kind == "predict" and len(set(values)) != len(values):
        raise QuizFileError(f"{where}: two prediction options share the same \"value\"")
    return tuple(options)


def _expected(where, expected, fields):
    if "options" in fields:
        if _value_key(expected) not in {_value_key(option.value) for option in fields["options"]}:
            raise QuizFileError(f"{where}: \"expected\" {expected!r} is not the value of any option")
        return expected
    return _number(where, {"expected": expected}, "expected")


def _text(where, item, name, allow_empty=False):
    value = item[name]
    if not isinstance(value, str) or not (allow_empty or value.strip()):
        raise QuizFileError(f"{where}: \"{name}\" must be a non-empty string, got {value!r}")
    return value.strip()


def _number(where, item, name):
    value = item[name]
    if not is_number(value) or not math.isfinite(value):
        raise QuizFileError(f"{where}: \"{name}\" must be a number, got {value!r}")
    return value
