"""Saved answers: your quiz answers live in one small JSON file on your machine.

Every time you check an answer, lock in a prediction or reveal a model answer,
the quiz records it in ``~/.stateless_course/progress.json`` (or the file named
by the ``LABSUPPORT_PROGRESS`` environment variable, or a ``path`` you pass),
so chapter 09 can summarise the whole course with ``progress()``. The file is
written atomically (a temporary file, then a rename), so a crash mid-write
never leaves half a file; a file that is unreadable anyway is set aside as
``progress.json.bad`` and a fresh one started, never crashing the quiz.

Your answers are yours: the folder is created readable by you only (0700) and
the file is born with mode 0600 (the temporary file gets that mode before a
single byte is written, and the rename keeps it), so on a shared machine
nobody else can read them. ``progress(reset=True)`` deletes them.

A passed exercise (one per chapter from 01 to 08) is saved in the same file,
under ``exercise:<name>`` in its chapter, and ``progress()`` shows each
chapter's exercise as "passed" or "not yet" next to its questions. Only a pass
is written: running a checker on an unfinished scaffold leaves the file alone.
"""

import html
import json
import os
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from .question_bank import CHAPTERS, load_chapter

__all__ = ["DEFAULT_PROGRESS_PATH", "PROGRESS_ENV_VAR", "progress_path", "AnswerStore",
           "ChapterProgress", "Progress", "progress", "EXERCISE_CHAPTERS", "exercise_key"]

DEFAULT_PROGRESS_PATH = Path("~") / ".stateless_course" / "progress.json"
PROGRESS_ENV_VAR = "LABSUPPORT_PROGRESS"
_write_lock = threading.Lock()      # one read-modify-write at a time within this kernel
# The chapters with an exercise (labsupport/exercises/ has one module for each; a test keeps the two in step).
EXERCISE_CHAPTERS = ("01_stateless", "02_stateful", "04_state_exists_somewhere", "05_real_world_architectures",
                     "06_why_stateless_won", "07_why_stateful_still_matters", "08_decision_framework")


def exercise_key(name):
    """Where an exercise's outcome is saved within its chapter: ``exercise:<name>`` (never a question id)."""
    return f"exercise:{name}"


def progress_path(path=None):
    """Where answers are saved: ``path`` if given, else $LABSUPPORT_PROGRESS, else the default."""
    chosen = path or os.environ.get(PROGRESS_ENV_VAR) or DEFAULT_PROGRESS_PATH
    return Path(chosen).expanduser()


class AnswerStore:
    """Reads and writes the answers file: ``{"version": 1, "answers": {chapter: {id: record}}}``."""

    def __init__(self, path=None):
        self.path = progress_path(path)
        self.problem = None          # a sentence for the learner when the file was unreadable

    def answers(self):
        """Every saved record, as ``{chapter: {question_id: record}}``; {} if there is no file yet."""
        return self._read()[0]

    def _read(self):
        """(answers, corrupt): corrupt is True when the file exists but is not an answers file."""
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return {}, False
        except OSError as error:         # a folder in the way, no permission: say so, keep going
            self.problem = f"Your saved answers ({self.path.name}) could not be read: {error.strerror}."
            return {}, False
        answers = _parse(raw)
        if answers is None:
            self.problem = (f"Your saved answers ({self.path.name}) could not be read; a fresh file is "
                            f"started and the old one kept as {self.path.name}.bad.")
            return {}, True
        return answers, False

    def get(self, chapter, question_id):
        """The saved record of one question, or None."""
        return self.answers().get(chapter, {}).get(question_id)

    def save(self, chapter, question_id, record):
        """Store ``record`` (a JSON-able dict) for one question, replacing any earlier one."""
        with _write_lock:
            answers, corrupt = self._read()
            if corrupt:
                os.replace(self.path, self.path.with_name(self.path.name + ".bad"))
            answers.setdefault(chapter, {})[question_id] = record
            self._write({"version": 1, "answers": answers})

    def reset(self):
        """Delete every saved answer (the file, and a set-aside ``.bad`` copy); True if there was a file."""
        with _write_lock:
            self.path.with_name(self.path.name + ".bad").unlink(missing_ok=True)
            try:
                self.path.unlink()
            except FileNotFoundError:
                return False
            return True
    def save_exercise(self, chapter, name):
        """Record that the exercise ``name`` of ``chapter`` passed its checker."""
        self.save(chapter, exercise_key(name), {"exercise": name, "passed": True})

    def _write(self, data):
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        # mkstemp creates the file with mode 0600 (owner only); say so anyway, it is the point.
        handle = tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=self.path.parent,
                                             prefix=".progress-", suffix=".tmp", delete=False)
        try:
            with handle:
                os.chmod(handle.name, 0o600)
                json.dump(data, handle, indent=1, sort_keys=True)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(handle.name, self.path)
        except BaseException:
            os.unlink(handle.name)
            raise


def _exercise_outcome(records):
    """"passed" or "not yet", from one chapter's saved records."""
    passes = [record for qid, record in records.items() if qid.startswith(exercise_key("")) and record.get("passed")]
    return "passed" if passes else "not yet"


def _parse(raw):
    """The answers in ``raw`` (bytes), or None when it is not a well-formed answers file."""
    try:
        data = json.loads(raw)
    except ValueError:                   # includes bad JSON and bytes that are not text
        return None
    answers = data.get("answers") if isinstance(data, dict) else None
    if not isinstance(answers, dict):
        return None
    if not all(isinstance(records, dict) and all(isinstance(r, dict) for r in records.values())
               for records in answers.values()):
        return None
    return answers


@dataclass(frozen=True)
class ChapterProgress:
    chapter: str
    questions: int
    answered: int
    correct: int
    exercise: str = "-"       # "passed", "not yet" or "-" (the chapter has none)


class Progress:
    """Per-chapter counts of questions, answered and correct; a table in a notebook."""

    COLUMNS = ("chapter", "questions", "answered", "correct", "exercise")

    def __init__(self, rows, note=None):
        self.rows = list(rows)
        self.note = note
        self.questions = sum(row.questions for row in self.rows)
        self.answered = sum(row.answered for row in self.rows)
        self.correct = sum(row.correct for row in self.rows)

    def chapter(self, chapter):
        """The row of one chapter."""
        return next(row for row in self.rows if row.chapter == chapter)

    @property
    def exercises_passed(self):
        return sum(row.exercise == "passed" for row in self.rows)

    def _table(self):
        body = [(row.chapter, row.questions, row.answered, row.correct, row.exercise) for row in self.rows]
        exercises = sum(row.exercise != "-" for row in self.rows)
        return body + [("total", self.questions, self.answered, self.correct,
                        f"{self.exercises_passed} of {exercises} passed")]

    def __repr__(self):
        width = max(len(row[0]) for row in self._table())
        lines = [f"{'chapter':<{width}}  questions  answered  correct  exercise"]
        lines += [f"{name:<{width}}  {q:>9}  {a:>8}  {c:>7}  {x}".rstrip() for name, q, a, c, x in self._table()]
        return "\n".join(lines + ([self.note] if self.note else []))

    def _repr_html_(self):
        cell = "padding:2px 10px;text-align:{}"
        head = "".join(f"<th style='{cell.format('left' if i == 0 else 'right')}'>{name}</th>"
                       for i, name in enumerate(self.COLUMNS))
        rows = []
        for name, *numbers, exercise in self._table():
            style = " style='font-weight:600;border-top:1px solid #999'" if name == "total" else ""
            cells = "".join(f"<td style='{cell.format('right')}'>{n}</td>" for n in numbers)
            cells += f"<td style='{cell.format('left')}'>{html.escape(exercise)}</td>"
            rows.append(f"<tr{style}><td style='{cell.format('left')}'>{html.escape(name)}</td>{cells}</tr>")
        note = f"<p>{html.escape(self.note)}</p>" if self.note else ""
        return f"<table class='lab-progress'><tr>{head}</tr>{''.join(rows)}</table>{note}"


def progress(path=None, directory=None, reset=False):
    """Summarise the saved answers per chapter (``directory`` overrides where questions are read).

    ``reset=True`` first deletes every saved answer, to take the course again from scratch.
    """
    store = AnswerStore(path)
    note = None
    if reset:
        note = "Your saved answers were deleted." if store.reset() else "There were no saved answers to delete."
    answers = store.answers()
    rows = []
    for chapter in CHAPTERS:
        ids = {question.id for question in load_chapter(chapter, directory)}
        records = {qid: record for qid, record in answers.get(chapter, {}).items() if qid in ids}
        rows.append(ChapterProgress(chapter, len(ids), len(records),
                                    sum(record.get("correct") is True for record in records.values()),
                                    _exercise_outcome(answers.get(chapter, {})) if chapter in EXERCISE_CHAPTERS
                                    else "-"))
    return Progress(rows, note=store.problem or note)
