"""exercises/checker.py and catalogue.py: what every exercise checker keeps, and what every exercise has.

Pins that a learner's bug never crashes a checker (an exception becomes a
"not yet" quoting their own lines only, a ``NotImplementedError`` reads as
"not written yet", a missing method or a failing constructor is named, an
object passed instead of a class is explained); that a pass is saved and
shows in ``progress()`` while a "not yet" writes nothing; that hints unfold one
at a time; and that every exercise has its chapter, its notebook cells, its
solution file, and no notebook or labsupport module imports ``solutions/``.
The hash-ring checker is the vehicle here: it needs no servers for these paths.
"""

import json
import re

import pytest

from labsupport import progress
from labsupport.exercises import (
    EXERCISES,
    HASH_RING,
    Problem,
    TheirCode,
    TheirCodeFailed,
    Verdict,
    check_hash_ring,
    hints,
    overview,
    trimmed_traceback,
)
from labsupport.widgets import EXERCISE_CHAPTERS, AnswerStore, Hints, quiz_view
from tests.exercise_util import ROOT, scaffold_source, solution


def _raising_ring(error):
    class HashRing:
        def __init__(self, vnodes=100):
            self.nodes = []

        def add(self, node):
            self.nodes.append(node)

        def remove(self, node):
            self.nodes.remove(node)

        def owner(self, key):
            return self.pick(key)

        def pick(self, key):
            raise error

    return HashRing


def test_an_exception_in_their_code_is_a_not_yet_with_their_own_lines_only():
    verdict = check_hash_ring(_raising_ring(KeyError("typo")))
    assert not verdict.passed
    assert verdict.message == ("not yet: HashRing.owner raised KeyError: 'typo' (while the checker asked your "
                               "ring).")
    assert [line.split(",")[0] for line in verdict.problem.lines] == [
        "  in _raising_ring.<locals>.HashRing.owner", "  in _raising_ring.<locals>.HashRing.pick"]
    assert "raise error" in verdict.problem.lines[-1]
    assert "labsupport" not in repr(verdict) and "Your code, where it raised:" in repr(verdict)


def test_frames_of_python_itself_are_trimmed_from_their_traceback():
    def their_code():
        return json.loads("{")            # the error is raised deep inside the json module

    with pytest.raises(ValueError) as caught:
        their_code()
    lines = trimmed_traceback(caught.value)
    assert any("their_code" in line for line in lines)
    assert not any("decoder" in line or "json" in line.split(":")[0] for line in lines)


def test_a_scaffold_that_raises_not_implemented_is_not_written_yet_and_shows_no_traceback():
    problem = Problem.from_exception("HashRing.add", NotImplementedError("put the node on the ring"))
    assert problem.not_written and problem.lines == ()
    assert problem.sentence() == "HashRing.add is not written yet: put the node on the ring"


def test_a_missing_method_and_a_failing_constructor_are_named():
    class NoMethods:
        def __init__(self, vnodes=100):
            pass

    class BrokenInit:
        def __init__(self, vnodes=100):
            raise ValueError("no ring today")

    assert check_hash_ring(NoMethods).message.startswith("not yet: HashRing.owner does not exist;")
    assert check_hash_ring(BrokenInit).message.startswith(
        "not yet: HashRing.__init__ raised ValueError: no ring today")


def test_an_object_instead_of_a_class_is_explained_without_running_anything():
    ring = solution(HASH_RING)()
    verdict = check_hash_ring(ring)
    assert verdict.message == ("not yet: pass your class itself, as in check_hash_ring(HashRing); you passed a "
                               "HashRing object, so nothing was checked.")
    assert check_hash_ring("HashRing").message.endswith("you passed 'HashRing', so nothing was checked.")


def test_their_code_keeps_the_first_problem_and_raises_an_http_500_for_the_request():
    their = TheirCode(_raising_ring(KeyError("first")), "HashRing")
    ring = their.build()
    for error in ("first", "second"):
        with pytest.raises(TheirCodeFailed) as failed:
            their.call(ring, "owner", error)
        assert failed.value.status == 500
    assert their.problem.what == "raised KeyError: 'first'" and their.calls == 3


def test_a_pass_is_saved_and_shown_by_progress_and_a_not_yet_writes_nothing(progress_file):
    assert check_hash_ring(_raising_ring(KeyError("x"))).passed is False
    assert not progress_file.exists()
    assert progress().chapter("06_why_stateless_won").exercise == "not yet"
    assert check_hash_ring(solution(HASH_RING)).passed
    assert AnswerStore().get("06_why_stateless_won", "exercise:hash_ring") == {"exercise": "hash_ring",
                                                                               "passed": True}
    summary = progress()
    assert summary.chapter("06_why_stateless_won").exercise == "passed"
    assert summary.chapter("03_side_by_side").exercise == "-"
    assert repr(summary).splitlines()[-1].split()[-4:] == ["1", "of", "7", "passed"]


def test_the_verdict_shows_the_same_text_and_html_each_time():
    verdict = Verdict(HASH_RING, False, "the owner of key-1 moved.", {"keys asked": 10})
    assert repr(verdict).startswith("not yet: the owner of key-1 moved.\nStuck? Unfold the hints below; a reference "
                                    "solution is in solutions/x06_hash_ring.py.\n\nLedger of exercise 06")
    assert f"<b style='color:{quiz_view.RED}'>not yet: the owner of key-1 moved.</b>" in verdict._repr_html_()
    assert "keys asked" in verdict._repr_html_()
    assert repr(Verdict(HASH_RING, False, "the owner of key-1 moved.", {"keys asked": 10})) == repr(verdict)


def test_hints_unfold_one_at_a_time_and_the_last_points_to_the_solution():
    widget = hints("hash_ring")
    assert isinstance(widget, Hints) and widget.shown == 0 and widget.text.value == ""
    assert repr(widget) == "Hints for exercise 06 (a hash ring with virtual nodes): 4 hints, shown one at a time"
    widget.button.click()
    assert widget.shown == 1 and "Hint 1." in widget.text.value and "Hint 2." not in widget.text.value
    assert widget.button.description == "Show hint 2 of 4"
    for _ in range(3):
        widget.next()
    assert widget.button.disabled and "solutions/x06_hash_ring.py" in widget.text.value
    assert widget.next() is None and widget.shown == 4
    with pytest.raises(ValueError):
        hints("no_such_exercise")


def test_every_exercise_has_its_chapter_solution_file_and_notebook_cells():
    assert tuple(exercise.chapter for exercise in EXERCISES.values()) == EXERCISE_CHAPTERS
    for exercise in EXERCISES.values():
        assert (ROOT / exercise.solution).is_file(), exercise.solution
        notebook = json.loads((ROOT / "notebooks" / f"{exercise.chapter}.ipynb").read_text(encoding="utf-8"))
        checked = [c for c in notebook["cells"] if f"exercise-{exercise.number}" in c["metadata"].get("tags", [])]
        assert len(checked) == 1, exercise.chapter
        cell = checked[0]
        assert f"check_{exercise.name}({exercise.writes})" in "".join(cell["source"])
        assert "nbval-ignore-output" not in cell["metadata"]["tags"]
        shown = "".join(cell["outputs"][0]["data"]["text/plain"])
        assert shown.startswith("not yet: "), f"{exercise.chapter} should show the scaffold's verdict"
        assert f"class {exercise.writes}" in scaffold_source(exercise.chapter)
        text = "".join("".join(c["source"]) for c in notebook["cells"])
        assert f'hints("{exercise.name}")' in text and exercise.solution in text
    assert [row[0] for row in overview().rows] == ["01", "02", "04", "05", "06", "07", "08"]


def test_nothing_in_the_course_imports_the_solutions():
    importing = re.compile(r"(import|from)\s+solutions|x0\d_\w+\s+import|spec_from_file_location")
    for path in list((ROOT / "labsupport").rglob("*.py")) + list((ROOT / "notebooks").glob("*.ipynb")):
        assert not importing.search(path.read_text(encoding="utf-8")), path
    assert not (ROOT / "solutions" / "__init__.py").exists()
