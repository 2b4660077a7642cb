"""Predict, then run: a locked-in prediction is shown next to what the lab measured.

Pins the predict-then-run contract the notebooks rely on: lock in, run the
experiment, ``reveal(measured)`` shows both values and whether they matched.
Run All reveals before anyone predicted, so a reveal without a prediction
shows no number and no explanation: only "Lock in your prediction..." and a
"Show me anyway" button; locking in afterwards (or pressing the button) shows
them. A measurement that fits no option is refused with a message saying
what to pass. The choices form one radio group, and every button has a name
of its own.
"""

import json

import pytest

from labsupport import InvalidArgumentError
from labsupport.widgets import CHAPTERS, AnswerStore, ChoiceGroup, Predict, load_chapter
from labsupport.widgets.predict import WAITING_TEXT

CHAPTER = "02_stateful"
QUESTIONS = [
    {"id": "cart-survives", "kind": "predict", "prompt": "Will the cart survive?", "expected": False,
     "options": [{"text": "Yes, still there", "value": True}, {"text": "No, it is gone", "value": False}],
     "explanation": "It lives on another instance."},
    {"id": "sessions-held", "kind": "predict", "prompt": "How many sessions?", "unit": "sessions",
     "tolerance": 1, "expected": 0, "explanation": "Nothing is kept between requests."},
    {"id": "not-a-prediction", "kind": "open", "prompt": "Why?", "model_answer": "Because."},
]


@pytest.fixture
def make_predict(tmp_path, progress_file):
    folder = tmp_path / "bank"
    folder.mkdir()
    (folder / f"{CHAPTER}.json").write_text(json.dumps(QUESTIONS), encoding="utf-8")
    made = []

    def make(question_id):
        widget = Predict(CHAPTER, question_id, path=progress_file, questions_dir=folder)
        made.append(widget)
        return widget
    yield make
    for widget in made:
        widget.close()


def test_a_locked_in_choice_is_shown_next_to_the_measurement_and_matches(make_predict, progress_file):
    predict = make_predict("cart-survives")
    predict.choice.index = 1
    predict.lock_button.click()
    assert predict.prediction is False
    assert predict.choice.disabled and predict.lock_button.disabled
    assert "Locked in" in predict.status.value
    assert predict.reveal(False) is predict
    text = predict.feedback.value
    assert "You predicted \u201cNo, it is gone\u201d; the lab measured \u201cNo, it is gone\u201d." in text
    assert predict.matched is True and "lab-quiz-correct" in predict.feedback._dom_classes
    assert "It lives on another instance." in text
    assert AnswerStore(progress_file).get(CHAPTER, "cart-survives") == {
        "prediction": False, "actual": False, "correct": True}


def test_a_wrong_prediction_is_marked_wrong_with_both_values(make_predict):
    predict = make_predict("cart-survives")
    predict.choice.index = 0
    predict.lock_button.click()
    predict.reveal(False)
    assert predict.matched is False and "lab-quiz-wrong" in predict.feedback._dom_classes
    assert "\u201cYes, still there\u201d" in predict.feedback.value
    assert "\u201cNo, it is gone\u201d" in predict.feedback.value


@pytest.mark.parametrize("typed, measured, matched", [("0", 0, True), ("1 session", 0, True), ("3", 0, False)])
def test_a_numeric_prediction_matches_within_the_tolerance(make_predict, typed, measured, matched):
    predict = make_predict("sessions-held")
    predict.number.value = typed
    predict.lock_button.click()
    predict.reveal(measured)
    assert predict.matched is matched
    assert f"the lab measured {measured} sessions" in predict.feedback.value


def test_a_reveal_before_any_prediction_shows_no_measurement(make_predict, progress_file):
    predict = make_predict("sessions-held")
    predict.reveal(7)                                      # Run All: the experiment ran, nobody predicted
    text = predict.feedback.value
    assert WAITING_TEXT in text
    assert "7" not in text and "Nothing is kept" not in text          # neither the number nor the explanation
    assert predict.anyway_button.layout.display is None and not predict.anyway_button.disabled
    assert not predict.lock_button.disabled and not predict.number.disabled   # still time to predict
    assert predict.matched is None and not predict.shown
    assert not progress_file.exists()


def test_locking_in_after_the_reveal_shows_both_values(make_predict, progress_file):
    predict = make_predict("cart-survives")
    predict.reveal(False)
    assert "\u201cNo, it is gone\u201d" not in predict.feedback.value
    predict.choice.index = 0
    predict.lock_button.click()
    text = predict.feedback.value
    assert "You predicted \u201cYes, still there\u201d; the lab measured \u201cNo, it is gone\u201d." in text
    assert "It lives on another instance." in text and WAITING_TEXT not in text
    assert predict.matched is False and predict.shown
    assert predict.anyway_button.layout.display == "none"
    assert AnswerStore(progress_file).get(CHAPTER, "cart-survives") == {
        "prediction": True, "actual": False, "correct": False}


def test_show_me_anyway_shows_the_measurement_and_ends_the_prediction(make_predict, progress_file):
    predict = make_predict("sessions-held")
    predict.reveal(0)
    predict.anyway_button.click()
    assert "You made no prediction; the lab measured 0 sessions." in predict.feedback.value
    assert "Nothing is kept between requests." in predict.feedback.value
    assert predict.matched is None and predict.shown
    assert not {"lab-quiz-correct", "lab-quiz-wrong"} & set(predict.feedback._dom_classes)
    assert predict.lock_button.disabled and predict.number.disabled      # too late to predict now
    assert not progress_file.exists()


def test_show_me_anyway_before_the_experiment_ran_says_so(make_predict):
    predict = make_predict("sessions-held")
    predict.show_anyway()
    assert "nothing was measured yet" in predict.status.value and not predict.shown
    assert not predict.lock_button.disabled


def test_a_second_reveal_after_showing_updates_the_measurement(make_predict):
    predict = make_predict("sessions-held")
    predict.number.value = "2"
    predict.lock_button.click()
    predict.reveal(5)
    assert predict.matched is False
    predict.reveal(2)                                      # the learner re-ran the experiment's cell
    assert predict.matched is True and "the lab measured 2 sessions" in predict.feedback.value


def test_locking_in_nothing_asks_for_a_prediction(make_predict):
    predict = make_predict("sessions-held")
    predict.number.value = "lots"
    predict.lock_button.click()
    assert predict.prediction is None and not predict.lock_button.disabled
    assert "Type a number first" in predict.status.value


@pytest.mark.parametrize("question_id, measured, complaint", [
    ("cart-survives", "gone", "pass the value of one option"),
    ("cart-survives", 0, "pass the value of one option"),        # 0 is not False here
    ("sessions-held", "none", "pass the measured number"),
    ("sessions-held", True, "pass the measured number"),
])
def test_a_measurement_that_does_not_fit_is_refused(make_predict, question_id, measured, complaint):
    with pytest.raises(InvalidArgumentError, match=complaint):
        make_predict(question_id).reveal(measured)


def test_only_predict_questions_can_be_predicted(make_predict):
    with pytest.raises(InvalidArgumentError, match="its predictions are cart-survives, sessions-held"):
        make_predict("not-a-prediction")


def test_the_repr_is_fixed_before_and_after_the_reveal(make_predict):
    predict = make_predict("sessions-held")
    before = repr(predict)
    predict.number.value = "0"
    predict.lock_button.click()
    predict.reveal(0)
    assert repr(predict) == before == "Predict(02_stateful/sessions-held)"
    assert predict._repr_mimebundle_()["text/plain"] == before


def test_the_options_are_one_radio_group_named_after_the_question(make_predict):
    predict = make_predict("cart-survives")
    assert isinstance(predict.choice, ChoiceGroup)
    assert predict.choice.options == ["A. Yes, still there", "B. No, it is gone"]
    assert predict.choice.label == "Will the cart survive?"
    assert "Yes, still there" not in predict.prompt.value               # listed once: as the radios
    predict.choice.index = 1
    assert predict.lock_in() is False


def test_each_prediction_of_a_chapter_has_buttons_of_its_own(make_predict):
    first, second = make_predict("cart-survives"), make_predict("sessions-held")
    names = {first.lock_button.description, second.lock_button.description,
             first.anyway_button.description, second.anyway_button.description}
    assert len(names) == 4 and first.lock_button.description == "Lock in prediction 1"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_every_shipped_prediction_reveals_its_expected_outcome(chapter):
    for question in (q for q in load_chapter(chapter) if q.kind == "predict"):
        predict = Predict(chapter, question.id)
        try:
            if question.expected is not None:
                predict.reveal(question.expected)
                assert WAITING_TEXT in predict.feedback.value
                predict.show_anyway()
                assert "the lab measured" in predict.feedback.value
        finally:
            predict.close()


def chapter_cells():
    """(notebook name, its cells) for every chapter."""
    import pathlib
    for path in sorted((pathlib.Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb")):
        yield path.name, json.loads(path.read_text(encoding="utf-8"))["cells"]


def test_every_chapter_says_when_to_run_on_and_folds_what_would_answer_a_prediction():
    """In the saved notebook, scrolling from a prediction to its reveal shows no experiment output."""
    import re
    pairs = 0
    for name, cells in chapter_cells():
        sources = ["".join(cell["source"]) for cell in cells]
        for index, source in enumerate(sources):
            made = re.search(r"^(\w+) = Predict\(", source, re.M)
            if cells[index]["cell_type"] != "code" or not made:
                continue
            reveal = next(i for i in range(index + 1, len(cells)) if f"{made.group(1)}.reveal(" in sources[i])
            experiment = next(i for i in range(index + 1, len(cells))
                              if cells[i]["cell_type"] == "code" and "Predict(" not in sources[i])
            assert any("Lock in your prediction, then run on." in sources[i] for i in range(index + 1, experiment)), (
                name, made.group(1))
            between = [cells[i] for i in range(index + 1, reveal) if cells[i]["cell_type"] == "code"]
            experiments = [cell for cell in between if not re.search(r"Predict\(|\.reveal\(", "".join(cell["source"]))]
            shown = [cell for cell in experiments
                     if cell.get("outputs") and not cell["metadata"].get("jupyter", {}).get("outputs_hidden")]
            assert not shown, (name, made.group(1), ["".join(cell["source"])[:60] for cell in shown])
            pairs += 1
    assert pairs >= 20
