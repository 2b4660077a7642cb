"""The question bank: questions are data, and a malformed file fails loudly and precisely.

Pins that every shipped chapter has a real "Check your understanding" (at least
three questions, a prediction, explained options), and that a broken file
names itself, the question and the problem.
"""

import json

import pytest

from labsupport import InvalidArgumentError, LabError
from labsupport.widgets import (
    CHAPTERS,
    QUESTIONS_DIR,
    QuizFileError,
    load_chapter,
    load_questions,
)

GOOD_SINGLE = {"id": "pick-one", "kind": "single", "prompt": "Which?",
               "options": [{"text": "a", "correct": True, "explanation": "because"},
                           {"text": "b", "correct": False, "explanation": "because not"}]}


def write(tmp_path, questions, name="01_stateless.json"):
    path = tmp_path / name
    path.write_text(json.dumps(questions), encoding="utf-8")
    return path


# --- the shipped bank ---------------------------------------------------------
def test_there_is_one_question_file_per_chapter():
    assert sorted(p.stem for p in QUESTIONS_DIR.glob("*.json")) == sorted(CHAPTERS)


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_every_chapter_has_a_real_check_your_understanding(chapter):
    questions = load_chapter(chapter)
    kinds = [q.kind for q in questions]
    asked_at_the_end = [q for q in questions if q.kind != "predict"]      # predictions stand before experiments
    assert len(asked_at_the_end) >= 3
    assert "predict" in kinds
    assert {"single", "multiple"} & set(kinds)
    for question in questions:
        assert question.chapter == chapter
        if question.kind in ("single", "multiple"):
            assert all(option.explanation for option in question.options), question.id
        if question.kind == "predict":
            assert question.explanation
            if question.options:      # the expected outcome is one of the offered choices
                assert question.expected is None or question.option_for(question.expected) is not None


def test_chapter_09_asks_the_articles_two_questions_with_model_answers():
    open_questions = [q for q in load_chapter("09_questions_and_conclusion") if q.kind == "open"]
    assert len(open_questions) == 2
    assert "scale horizontally" in open_questions[0].prompt
    assert "databases and caches" in open_questions[1].prompt
    assert all(len(q.model_answer) > 200 for q in open_questions)


def test_unknown_chapter_names_the_known_ones():
    with pytest.raises(InvalidArgumentError, match="02_stateful"):
        load_chapter("02_statefull")


# --- grading ------------------------------------------------------------------
def test_grading_single_multiple_and_numeric(tmp_path):
    questions = load_questions(write(tmp_path, [
        GOOD_SINGLE,
        {"id": "pick-many", "kind": "multiple", "prompt": "Which?",
         "options": [{"text": "a", "correct": True, "explanation": "x"},
                     {"text": "b", "correct": True, "explanation": "x"},
                     {"text": "c", "correct": False, "explanation": "x"}]},
        {"id": "how-many", "kind": "numeric", "prompt": "How many?", "answer": 100,
         "tolerance": 5, "unit": "ms", "explanation": "x"},
    ]))
    single, multiple, numeric = questions
    assert single.grade(0) and not single.grade(1)
    assert multiple.grade({0, 1}) and not multiple.grade({0}) and not multiple.grade({0, 1, 2})
    assert numeric.grade(105) and numeric.grade(95) and not numeric.grade(105.5)


def test_prediction_values_keep_their_type(tmp_path):
    question, = load_questions(write(tmp_path, [
        {"id": "guess", "kind": "predict", "prompt": "?", "explanation": "x",
         "options": [{"text": "one", "value": 1}, {"text": "yes", "value": True}]}]))
    assert question.option_for(1) == 0
    assert question.option_for(True) == 1
    assert question.option_for("one") is None


# --- malformed files ----------------------------------------------------------
@pytest.mark.parametrize("broken, complaint", [
    ({**GOOD_SINGLE, "kind": "essay"}, "kind"),
    ({**GOOD_SINGLE, "prompt": ""}, "prompt"),
    ({**GOOD_SINGLE, "options": [{"text": "a", "correct": True}, {"text": "b", "correct": False, "explanation": "x"}]},
     "option 1: needs an \"explanation\""),
    ({**GOOD_SINGLE, "options": [{"text": "a", "correct": True, "explanation": "x"},
                                 {"text": "b", "correct": True, "explanation": "x"}]}, "exactly one correct"),
    ({**GOOD_SINGLE, "colour": "red"}, "unknown field"),
    ({"id": "pick-one", "kind": "numeric", "prompt": "?", "answer": "seven", "tolerance": 0, "unit": "",
      "explanation": "x"}, "\"answer\" must be a number"),
    ({"id": "pick-one", "kind": "numeric", "prompt": "?", "answer": 1, "tolerance": -1, "unit": "",
      "explanation": "x"}, "tolerance"),
    ({"id": "pick-one", "kind": "predict", "prompt": "?", "explanation": "x"}, "missing field(s) tolerance, unit"),
    ({"id": "pick-one", "kind": "predict", "prompt": "?", "explanation": "x", "expected": "maybe",
      "options": [{"text": "yes", "value": True}, {"text": "no", "value": False}]}, "expected"),
    ({"id": "pick-one", "kind": "open", "prompt": "?"}, "model_answer"),
])
def test_a_broken_question_names_the_file_the_question_and_the_problem(tmp_path, broken, complaint):
    path = write(tmp_path, [broken])
    with pytest.raises(QuizFileError) as caught:
        load_questions(path)
    message = str(caught.value)
    assert str(path) in message
    assert "'pick-one'" in message
    assert complaint in message
    assert isinstance(caught.value, LabError)


def test_a_question_without_a_usable_id_is_named_by_its_position(tmp_path):
    path = write(tmp_path, [GOOD_SINGLE, {**GOOD_SINGLE, "id": "Bad Id"}])
    with pytest.raises(QuizFileError, match=r"question #1: needs an \"id\""):
        load_questions(path)


def test_duplicate_ids_are_refused(tmp_path):
    with pytest.raises(QuizFileError, match="'pick-one': this id is used twice"):
        load_questions(write(tmp_path, [GOOD_SINGLE, GOOD_SINGLE]))


def test_invalid_json_names_the_line(tmp_path):
    path = tmp_path / "01_stateless.json"
    path.write_text('[\n{"id": "x",,}\n]', encoding="utf-8")
    with pytest.raises(QuizFileError, match=r"01_stateless.json: not valid JSON \(line 2"):
        load_questions(path)


def test_a_missing_file_says_so(tmp_path):
    with pytest.raises(QuizFileError, match="no such question file"):
        load_chapter("01_stateless", directory=tmp_path)
