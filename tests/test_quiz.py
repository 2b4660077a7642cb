"""The quiz widget: right and wrong answers get the right feedback, every option is explained.

Answers are given exactly as a learner would, by setting the controls and
pressing the buttons (``.click()`` works without a browser). Also pins what
nbval sees: a widget's text repr is fixed, whatever has been answered.
"""

import json

import pytest

from labsupport import InvalidArgumentError
from labsupport.widgets import CHAPTERS, AnswerStore, Quiz, load_chapter

CHAPTER = "01_stateless"
QUESTIONS = [
    {"id": "one", "kind": "single", "prompt": "Where is the cart?",
     "options": [{"text": "In the database", "correct": True, "explanation": "Rows any instance can read."},
                 {"text": "In the balancer", "correct": False, "explanation": "It only forwards traffic."},
                 {"text": "In the token", "correct": False, "explanation": "It says who you are."}]},
    {"id": "many", "kind": "multiple", "prompt": "Which hold state?",
     "options": [{"text": "Database", "correct": True, "explanation": "Durable rows."},
                 {"text": "Redis", "correct": True, "explanation": "Shared memory."},
                 {"text": "Instance dict", "correct": False, "explanation": "Never in this shop."}]},
    {"id": "number", "kind": "numeric", "prompt": "How long?", "answer": 100, "tolerance": 5,
     "unit": "ms", "explanation": "100 reads of 1 ms."},
    {"id": "essay", "kind": "open", "prompt": "Why?", "model_answer": "Because any instance can serve any request."},
    {"id": "guess", "kind": "predict", "prompt": "How many?", "unit": "sessions", "tolerance": 0,
     "explanation": "None are kept."},
]


@pytest.fixture
def bank(tmp_path):
    folder = tmp_path / "bank"
    folder.mkdir()
    (folder / f"{CHAPTER}.json").write_text(json.dumps(QUESTIONS), encoding="utf-8")
    return folder


@pytest.fixture
def make_quiz(bank, progress_file):
    made = []

    def make(**kwargs):
        quiz = Quiz(CHAPTER, path=progress_file, questions_dir=bank, **kwargs)
        made.append(quiz)
        return quiz
    yield make
    for quiz in made:
        quiz.close()


def test_the_quiz_shows_every_question_but_the_predictions(make_quiz):
    quiz = make_quiz()
    assert list(quiz.questions) == ["one", "many", "number", "essay"]
    assert "lab-quiz" in quiz._dom_classes
    assert all("lab-quiz-check" in q.check_button._dom_classes for q in quiz.questions.values())


def test_a_right_single_answer_is_green_and_explains_every_option(make_quiz):
    question = make_quiz().questions["one"]
    question.choice.index = 0
    question.check_button.click()
    assert "lab-quiz-correct" in question.feedback._dom_classes
    assert "Right." in question.feedback.value
    for option in QUESTIONS[0]["options"]:
        assert option["explanation"] in question.feedback.value


def test_a_wrong_single_answer_is_red_names_the_right_one_and_explains_every_option(make_quiz):
    question = make_quiz().questions["one"]
    question.choice.index = 2
    question.check_button.click()
    assert "lab-quiz-wrong" in question.feedback._dom_classes
    assert "the answer is A" in question.feedback.value
    assert question.feedback.value.count("lab-quiz-explanation") == 3
    question.choice.index = 0                       # a second try replaces the verdict
    question.check_button.click()
    assert "lab-quiz-correct" in question.feedback._dom_classes
    assert "lab-quiz-wrong" not in question.feedback._dom_classes


def test_checking_without_an_answer_asks_for_one(make_quiz, progress_file):
    question = make_quiz().questions["one"]
    question.check_button.click()
    assert "Choose an answer first" in question.feedback.value
    assert not {"lab-quiz-correct", "lab-quiz-wrong"} & set(question.feedback._dom_classes)
    assert not progress_file.exists()


def test_multiple_choice_needs_exactly_the_true_options(make_quiz):
    question = make_quiz().questions["many"]
    question.boxes[0].value = True
    question.check_button.click()
    assert "lab-quiz-wrong" in question.feedback._dom_classes
    assert "you ticked 1 of the 2 true options and no false ones" in question.feedback.value
    question.boxes[1].value = True
    question.check_button.click()
    assert "lab-quiz-correct" in question.feedback._dom_classes
    question.boxes[2].value = True
    question.check_button.click()
    assert "lab-quiz-wrong" in question.feedback._dom_classes
    assert "2 of the 2 true options and 1 false one." in question.feedback.value
    for option in QUESTIONS[1]["options"]:
        assert option["explanation"] in question.feedback.value


@pytest.mark.parametrize("typed, right", [("100", True), ("104.5 ms", True), ("95", True),
                                          ("106", False), ("1,000", False), ("-100", False)])
def test_numeric_answers_count_within_the_tolerance(make_quiz, typed, right):
    question = make_quiz().questions["number"]
    question.number.value = typed
    question.check_button.click()
    assert ("lab-quiz-correct" if right else "lab-quiz-wrong") in question.feedback._dom_classes
    assert "100 ms" in question.feedback.value and "\u00b15 ms" in question.feedback.value
    assert "100 reads of 1 ms." in question.feedback.value


def test_a_numeric_answer_that_is_not_a_number_gets_a_hint(make_quiz):
    question = make_quiz().questions["number"]
    question.number.value = "about a hundred"
    question.check_button.click()
    assert "Type a number first" in question.feedback.value


def test_an_open_question_reveals_its_model_answer_and_saves_what_was_written(make_quiz, progress_file):
    question = make_quiz().questions["essay"]
    assert "any instance can serve" not in question.feedback.value
    question.text.value = "No session to move."
    question.reveal_button.click()
    assert "Because any instance can serve any request." in question.feedback.value
    assert AnswerStore(progress_file).get(CHAPTER, "essay") == {"answer": "No session to move.", "correct": None}


def test_answers_persist_across_a_new_quiz_without_changing_its_repr(make_quiz, progress_file):
    first = make_quiz()
    before = repr(first)
    first.questions["one"].choice.index = 0
    first.questions["one"].check_button.click()
    assert AnswerStore(progress_file).get(CHAPTER, "one") == {"answer": 0, "correct": True}
    second = make_quiz()
    assert "answered this before: right" in second.questions["one"].history.value
    assert second.questions["many"].history.value == ""
    assert repr(second) == before == "Quiz(01_stateless: 4 questions)"


def test_only_shows_a_subset_in_the_order_asked(make_quiz):
    quiz = make_quiz(only=["number", "one"])
    assert list(quiz.questions) == ["number", "one"]
    assert repr(quiz) == "Quiz(01_stateless: 2 questions)"
    assert repr(make_quiz(only=["essay"])) == "Quiz(01_stateless: 1 question)"


@pytest.mark.parametrize("only, complaint", [(["nope"], "no question 'nope'"), (["guess"], "Predict"),
                                             ("one", "list of question ids")])
def test_only_with_a_bad_id_says_what_to_do(make_quiz, only, complaint):
    with pytest.raises(InvalidArgumentError, match=complaint):
        make_quiz(only=only)


def test_the_text_repr_nbval_compares_is_fixed(make_quiz):
    quiz = make_quiz()
    bundle = quiz._repr_mimebundle_()
    assert bundle["text/plain"] == "Quiz(01_stateless: 4 questions)"
    assert "application/vnd.jupyter.widget-view+json" in bundle     # nbval skips this key (model ids vary)
    assert repr(quiz.questions["one"]) == "SingleChoice(01_stateless/one)"
    assert repr(quiz.questions["number"]) == "NumericAnswer(01_stateless/number)"


def test_a_corrupt_progress_file_does_not_break_the_quiz(make_quiz, progress_file):
    progress_file.write_text("\x00\x01 not json", encoding="utf-8")
    quiz = make_quiz()
    assert repr(quiz) == "Quiz(01_stateless: 4 questions)"
    quiz.questions["one"].choice.index = 0
    quiz.questions["one"].check_button.click()
    assert "lab-quiz-correct" in quiz.questions["one"].feedback._dom_classes
    assert (progress_file.parent / "progress.json.bad").exists()
    assert AnswerStore(progress_file).get(CHAPTER, "one") == {"answer": 0, "correct": True}


def test_an_unwritable_progress_location_is_reported_not_raised(bank, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("", encoding="utf-8")
    quiz = Quiz(CHAPTER, path=blocker / "progress.json", questions_dir=bank)
    try:
        question = quiz.questions["one"]
        question.choice.index = 0
        question.check_button.click()
        assert "lab-quiz-correct" in question.feedback._dom_classes
        assert "could not be saved" in question.feedback.value
    finally:
        quiz.close()


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_every_shipped_chapter_builds_a_quiz(chapter):
    quiz = Quiz(chapter)
    try:
        asked = [q for q in load_chapter(chapter) if q.kind != "predict"]
        plural = "" if len(asked) == 1 else "s"
        assert repr(quiz) == f"Quiz({chapter}: {len(asked)} question{plural})"
    finally:
        quiz.close()
