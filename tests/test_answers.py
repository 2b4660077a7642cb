"""Saved answers: stored atomically where the learner expects, never lost to a bad file.

Pins where the progress file lives (argument, environment variable, default),
that a write leaves no temporary files behind, that a corrupt file is set
aside instead of crashing, and that ``progress()`` counts per chapter.
"""

import json
import os
import stat
import sys
from pathlib import Path

import pytest

from labsupport.widgets import (
    CHAPTERS,
    AnswerStore,
    Progress,
    load_chapter,
    progress,
    progress_path,
)


def test_the_path_argument_beats_the_environment_which_beats_the_default(tmp_path, monkeypatch):
    monkeypatch.delenv("LABSUPPORT_PROGRESS", raising=False)
    assert progress_path() == Path.home() / ".stateless_course" / "progress.json"
    monkeypatch.setenv("LABSUPPORT_PROGRESS", str(tmp_path / "env.json"))
    assert progress_path() == tmp_path / "env.json"
    assert progress_path(tmp_path / "arg.json") == tmp_path / "arg.json"


def test_saved_answers_survive_a_new_store_and_leave_no_temporary_files(tmp_path):
    path = tmp_path / "deep" / "progress.json"
    AnswerStore(path).save("02_stateful", "q1", {"answer": 1, "correct": True})
    AnswerStore(path).save("02_stateful", "q2", {"answer": 0, "correct": False})
    store = AnswerStore(path)
    assert store.get("02_stateful", "q1") == {"answer": 1, "correct": True}
    assert store.get("02_stateful", "q2") == {"answer": 0, "correct": False}
    assert store.get("01_stateless", "q1") is None
    assert sorted(p.name for p in path.parent.iterdir()) == ["progress.json"]


def test_a_later_answer_replaces_the_earlier_one(tmp_path):
    store = AnswerStore(tmp_path / "progress.json")
    store.save("02_stateful", "q1", {"answer": 0, "correct": False})
    store.save("02_stateful", "q1", {"answer": 1, "correct": True})
    assert store.answers() == {"02_stateful": {"q1": {"answer": 1, "correct": True}}}


def test_a_corrupt_file_is_set_aside_and_a_fresh_one_started(tmp_path):
    path = tmp_path / "progress.json"
    path.write_text("{ this is not json", encoding="utf-8")
    store = AnswerStore(path)
    assert store.answers() == {}
    assert "could not be read" in store.problem
    assert path.read_text(encoding="utf-8") == "{ this is not json"     # reading alone changes nothing
    store.save("01_stateless", "q1", {"answer": 2, "correct": True})
    assert (tmp_path / "progress.json.bad").read_text(encoding="utf-8") == "{ this is not json"
    assert AnswerStore(path).answers() == {"01_stateless": {"q1": {"answer": 2, "correct": True}}}
    store.save("01_stateless", "q2", {"answer": 0, "correct": False})   # the good file is kept this time
    assert len(AnswerStore(path).answers()["01_stateless"]) == 2


def test_wrong_shapes_and_binary_garbage_count_as_corrupt(tmp_path):
    for content in (b"[1, 2, 3]", b'{"answers": {"01_stateless": [1]}}', b"\xff\xfe\x00garbage"):
        path = tmp_path / "progress.json"
        path.write_bytes(content)
        store = AnswerStore(path)
        assert store.answers() == {} and store.problem


def test_progress_counts_questions_answered_and_correct_per_chapter(tmp_path):
    path = tmp_path / "progress.json"
    ids = [q.id for q in load_chapter("02_stateful")]
    store = AnswerStore(path)
    store.save("02_stateful", ids[0], {"answer": 0, "correct": True})
    store.save("02_stateful", ids[1], {"answer": 1, "correct": False})
    store.save("09_questions_and_conclusion", "why-stateless-scales-out", {"answer": "", "correct": None})
    store.save("02_stateful", "a-question-that-was-removed", {"answer": 0, "correct": True})
    summary = progress(path)
    row = summary.chapter("02_stateful")
    assert (row.questions, row.answered, row.correct) == (len(ids), 2, 1)
    assert summary.chapter("09_questions_and_conclusion").answered == 1
    assert summary.chapter("09_questions_and_conclusion").correct == 0
    assert (summary.answered, summary.correct) == (3, 1)
    assert summary.questions == sum(len(load_chapter(c)) for c in CHAPTERS)
    assert [r.chapter for r in summary.rows] == list(CHAPTERS)


def test_progress_renders_as_a_table_in_text_and_html(tmp_path):
    summary = progress(tmp_path / "none-yet.json")
    text = repr(summary)
    assert text.splitlines()[0].split() == ["chapter", "questions", "answered", "correct", "exercise"]
    assert text.splitlines()[-1].split() == ["total", str(summary.questions), "0", "0", "0", "of", "7", "passed"]
    assert repr(progress(tmp_path / "none-yet.json")) == text          # deterministic
    html = summary._repr_html_()
    assert html.startswith("<table") and html.count("<tr") == len(CHAPTERS) + 2
    assert not (tmp_path / "none-yet.json").exists()                    # reading writes nothing


def test_progress_of_a_corrupt_file_says_so_instead_of_failing(tmp_path):
    path = tmp_path / "progress.json"
    path.write_text("nonsense", encoding="utf-8")
    summary = progress(path)
    assert summary.answered == 0
    assert "could not be read" in repr(summary) and "could not be read" in summary._repr_html_()


def test_progress_object_is_a_small_plain_table():
    from labsupport.widgets import ChapterProgress
    summary = Progress([ChapterProgress("01_stateless", 3, 2, 1, "passed")])
    assert repr(summary) == ("chapter       questions  answered  correct  exercise\n"
                             "01_stateless          3         2        1  passed\n"
                             "total                 3         2        1  1 of 1 passed")


def test_a_passed_exercise_shows_next_to_its_chapter_and_is_no_question(tmp_path):
    path = tmp_path / "progress.json"
    AnswerStore(path).save_exercise("06_why_stateless_won", "hash_ring")
    summary = progress(path)
    assert summary.chapter("06_why_stateless_won").exercise == "passed"
    assert summary.chapter("06_why_stateless_won").answered == 0           # an exercise is not a question
    assert summary.chapter("01_stateless").exercise == "not yet"
    assert summary.chapter("00_the_thirty_second_deploy").exercise == "-"   # no exercise in this chapter
    assert summary.exercises_passed == 1


def test_the_file_is_plain_readable_json(tmp_path):
    path = tmp_path / "progress.json"
    AnswerStore(path).save("01_stateless", "q1", {"answer": [0, 2], "correct": True})
    assert json.loads(path.read_text(encoding="utf-8")) == {
        "version": 1, "answers": {"01_stateless": {"q1": {"answer": [0, 2], "correct": True}}}}


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX file modes")
def test_answers_are_readable_by_their_owner_only(tmp_path):
    """Issue 20: on a shared machine nobody else reads your answers (folder 0700, file 0600 from birth)."""
    old_umask = os.umask(0o022)           # a typical umask would make new files world-readable
    try:
        path = tmp_path / "course" / "progress.json"
        store = AnswerStore(path)
        store.save("01_stateless", "q1", {"answer": "a", "correct": True})
        store.save("01_stateless", "q2", {"answer": "b", "correct": False})   # a rewrite keeps the mode
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_progress_reset_deletes_the_saved_answers(tmp_path):
    path = tmp_path / "progress.json"
    question = load_chapter("01_stateless")[0].id
    AnswerStore(path).save("01_stateless", question, {"answer": "a", "correct": True})
    assert progress(path).answered == 1
    cleared = progress(path, reset=True)
    assert cleared.answered == 0 and cleared.note == "Your saved answers were deleted."
    assert not path.exists()
    assert progress(path, reset=True).note == "There were no saved answers to delete."
