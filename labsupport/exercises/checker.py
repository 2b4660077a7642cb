"""What every exercise checker shares: run the learner's code safely, and answer with the first anomaly.

An exercise hands you a contract (a small class with a few methods) and a
checker that runs your class on the live lab under a seeded nemesis, the way
Fly.io's Gossip Glomers run your node under Maelstrom. Three habits make such a
checker worth trusting, and they live here so every exercise keeps them:

* **Your bug never crashes the checker.** Every call into your code goes
  through ``TheirCode``. An exception becomes a ``Problem``: where it happened,
  what was raised, and the traceback trimmed to *your* lines (labsupport's and
  Python's own frames are left out). A server thread that meets it answers 500
  and keeps serving; the checker reports the first problem as its verdict. A
  scaffold that still raises ``NotImplementedError`` is reported as "not
  written yet", with the sentence it raises.
* **The answer is specific.** A ``Verdict`` reads "passed: ..." or "not yet:
  ...", names the first concrete anomaly (which user, which action, what they
  saw, what they expected) and shows the ledger of counts behind it. The
  nemesis is seeded, so the same seed gives the same verdict, every run.
* **A pass is remembered.** ``Verdict.save()`` stores a pass with your quiz
  answers, so ``progress()`` shows your exercises next to your questions.

``Exercise`` describes one exercise (its chapter, the class you write, its
hints and where its reference solution lives). Used by every module of this
folder, one exercise per chapter from 01 to 08.
"""

import html
import http.client
import json
import pathlib
import sysconfig
import threading
import traceback
import urllib.parse
from dataclasses import dataclass

from ..engine.messages import HTTPError
from ..engine.tables import Table
from ..widgets.answers import AnswerStore
from ..widgets.hints import Hints
from ..widgets.quiz_view import GREEN, RED

__all__ = ["Exercise", "Problem", "TheirCode", "TheirCodeFailed", "Crashed", "Verdict", "trimmed_traceback",
           "wrong_argument", "send", "cart_text"]

_LAB_FOLDER = pathlib.Path(__file__).resolve().parent.parent          # labsupport/
_PYTHON_FOLDERS = tuple({pathlib.Path(sysconfig.get_paths()[key]).resolve()
                         for key in ("stdlib", "platstdlib", "purelib", "platlib")})


@dataclass(frozen=True)
class Exercise:
    """One chapter's exercise: who writes what, the hints, and the file with a reference solution."""

    name: str           # "logout": also the name of its module and of its checker, check_logout
    chapter: str        # "01_stateless"
    title: str          # "Log out for real"
    writes: str         # the class the learner writes, as the scaffold names it: "Denylist"
    hints: tuple        # each a step closer; the last is a sketch of a solution

    @property
    def number(self):
        return self.chapter[:2]

    @property
    def solution(self):
        """Where the reference solution lives, from the repository root (never imported by the course)."""
        return f"solutions/x{self.number}_{self.name}.py"

    def hint_widget(self):
        """The hints, unfolding one at a time (a widget; its text form never changes)."""
        return Hints(self.hints, about=f"exercise {self.number} ({self.title})", solution=self.solution)


def _is_theirs(filename):
    """True for a frame of the learner's code: not labsupport, not Python or an installed package."""
    if filename.startswith("<frozen"):
        return False
    if filename.startswith("<"):
        return True                                   # code typed in and run directly
    path = pathlib.Path(filename).resolve()
    return not any(path.is_relative_to(folder) for folder in (_LAB_FOLDER,) + _PYTHON_FOLDERS)


def trimmed_traceback(exc):
    """The frames of ``exc``'s traceback that are the learner's own, one line each, as Python would show them.

    File names are left out on purpose: a notebook cell's file is a temporary
    path that changes with every kernel; the function and the line say enough.
    """
    lines = []
    frame_traceback = exc.__traceback__
    while frame_traceback is not None:
        code = frame_traceback.tb_frame.f_code
        if _is_theirs(code.co_filename):
            name = getattr(code, "co_qualname", code.co_name)          # Python 3.11+: Class.method
            lineno = frame_traceback.tb_lineno
            source = traceback.FrameSummary(code.co_filename, lineno, name).line or ""
            lines.append(f"  in {name}, line {lineno}: {source.strip()}".rstrip())
        frame_traceback = frame_traceback.tb_next
    return tuple(lines)


@dataclass(frozen=True)
class Problem:
    """What went wrong in the learner's code: ``where`` (``Denylist.revoke``), ``what`` happened, their lines."""

    where: str
    what: str                 # "raised KeyError: 'typo'", "is not written yet: ...", "returned None; ..."
    lines: tuple = ()         # the trimmed traceback
    not_written: bool = False

    def sentence(self):
        return f"{self.where} {self.what}"

    @classmethod
    def from_exception(cls, where, exc):
        message = str(exc)
        if isinstance(exc, NotImplementedError):
            return cls(where, f"is not written yet: {message or 'it raises NotImplementedError'}", (), True)
        return cls(where, f"raised {type(exc).__name__}" + (f": {message}" if message else ""),
                   trimmed_traceback(exc))


class Crashed(BaseException):
    """The nemesis stopped the learner's code right here, as a dying process stops: nothing after it runs.

    It is a ``BaseException`` (like ``KeyboardInterrupt``), so an ``except
    Exception`` in the learner's code cannot swallow it; the lab code that ran
    their code catches it and behaves as a dead process does (no answer).
    """


class TheirCodeFailed(HTTPError):
    """The learner's code raised: a request that meets this is answered 500, and the checker reports ``problem``."""

    def __init__(self, problem):
        super().__init__(500, f"{problem.sentence()} (the checker will say more)")
        self.problem = problem


def cart_text(cart):
    """A cart as a person reads it: "1 book, 2 lamp" (or "nothing")."""
    return ", ".join(f"{qty} {sku}" for sku, qty in sorted(cart.items())) or "nothing"


def send(url, method, path, payload=None, headers=None, timeout=10.0):
    """One HTTP request straight to ``url`` (an instance, bypassing the balancer): (status, JSON body).

    A connection that fails or is cut reads as status 0, as for a virtual user.
    """
    parts = urllib.parse.urlsplit(url)
    headers = dict(headers or {})
    body = None
    if payload is not None:
        body = json.dumps(payload).encode()
        headers["Content-Type"] = "application/json"
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers)
        answer = conn.getresponse()
        raw = answer.read()
    except (OSError, http.client.HTTPException) as exc:
        return 0, {"error": f"connection failed: {type(exc).__name__}"}
    finally:
        conn.close()
    try:
        return answer.status, json.loads(raw) if raw else {}
    except ValueError:
        return answer.status, {"error": "the answer was not JSON"}


def wrong_argument(their_class, writes, checker):
    """Why ``their_class`` cannot be checked (an object or a name instead of a class), or None if it can."""
    if isinstance(their_class, type):
        return None
    what = repr(their_class) if isinstance(their_class, str) else f"a {type(their_class).__name__} object"
    return f"pass your class itself, as in {checker}({writes}); you passed {what}, so nothing was checked."


class TheirCode:
    """Every call into the learner's class goes through here; the first problem is kept for the verdict.

    Thread-safe: server threads of several instances may call it at once.
    ``problem`` is the first problem met (None if none), ``calls`` how many calls were made.
    """

    def __init__(self, their_class, writes):
        self.their_class = their_class
        self.writes = writes                    # the class name the exercise uses, e.g. "Denylist"
        self.problem = None
        self.calls = 0
        self._lock = threading.Lock()

    def build(self, *args):
        """``TheClass(*args)``, or ``TheirCodeFailed``."""
        return self._run(f"{self.writes}.__init__", self.their_class, args)

    def call(self, obj, method, *args):
        """``obj.method(*args)``, or ``TheirCodeFailed`` (also when there is no such method)."""
        where = f"{self.writes}.{method}"
        bound = getattr(obj, method, None)
        if not callable(bound):
            self._fail(Problem(where, "does not exist; the scaffold's docstring lists the methods the checker calls"))
        return self._run(where, bound, args)

    def reject(self, method, what):
        """The learner's ``method`` returned something unusable: record ``what`` and raise ``TheirCodeFailed``."""
        self._fail(Problem(f"{self.writes}.{method}", what))

    def _run(self, where, function, args):
        with self._lock:
            self.calls += 1
        try:
            return function(*args)
        except Exception as exc:             # the learner's bug: recorded and reported, never a crash
            self._fail(Problem.from_exception(where, exc))

    def _fail(self, problem):
        with self._lock:
            if self.problem is None:
                self.problem = problem
        raise TheirCodeFailed(problem) from None


class Verdict:
    """The checker's answer: ``passed``, the ``message`` ("passed: ..." / "not yet: ...") and the ``ledger``.

    ``counts`` is the ledger as a dict (label -> number); ``problem`` the
    learner's exception, when there was one. Shown as text (what nbval compares)
    and as HTML in JupyterLab.
    """

    def __init__(self, exercise, passed, reason, counts, problem=None):
        self.exercise = exercise
        self.passed = passed
        self.reason = reason
        self.counts = dict(counts)
        self.problem = problem

    @classmethod
    def from_problem(cls, exercise, problem, counts, doing):
        """"not yet", because the learner's code raised while the checker was ``doing`` something."""
        return cls(exercise, False, f"{problem.sentence()} ({doing}).", counts, problem)

    @property
    def message(self):
        return ("passed: " if self.passed else "not yet: ") + self.reason

    @property
    def ledger(self):
        return Table(["what the checker counted", "count"], list(self.counts.items()),
                     title=f"Ledger of exercise {self.exercise.number} ({self.exercise.title})")

    def save(self, path=None):
        """A pass is saved with the quiz answers (``progress()`` shows it); "not yet" writes nothing. Returns self."""
        if self.passed:
            AnswerStore(path).save_exercise(self.exercise.chapter, self.exercise.name)
        return self

    def _traceback_lines(self):
        if self.problem is None or not self.problem.lines:
            return []
        return ["Your code, where it raised:", *self.problem.lines]

    def __repr__(self):
        parts = [self.message, *self._traceback_lines()]
        if not self.passed:
            parts.append(f"Stuck? Unfold the hints below; a reference solution is in {self.exercise.solution}.")
        return "\n".join(parts) + "\n\n" + self.ledger.table()

    def _repr_html_(self):
        colour = GREEN if self.passed else RED            # the quiz's colours, so both change together
        parts = [f"<div class='lab-verdict' role='status' style='border-left:4px solid {colour};padding:2px 10px;"
                 f"margin:6px 0'><b style='color:{colour}'>{html.escape(self.message)}</b>"]
        lines = self._traceback_lines()
        if lines:
            parts.append(f"<pre style='margin:4px 0'>{html.escape(chr(10).join(lines))}</pre>")
        if not self.passed:
            parts.append(f"<div>Stuck? Unfold the hints below; a reference solution is in "
                         f"<code>{html.escape(self.exercise.solution)}</code>.</div>")
        parts.append("</div>")
        return "".join(parts) + self.ledger._repr_html_()
