"""A database is stateful on purpose: what it committed survives the death of its process.

A writer in its own OS process inserts rows into SQLite (in WAL mode) and
commits every few rows. We kill it outright -- no cleanup, no last flush --
while a transaction is half done: ``Popen.kill()`` sends SIGKILL on Linux and
macOS and calls TerminateProcess on Windows, and neither lets the process run
another instruction. Opening the database again, SQLite keeps every committed
row and none of the unfinished transaction: the commit is the line between
"saved" and "never happened".

What this shows, and what it does not: the kill ends the *process*, not the
machine. Every byte the writer had handed to the operating system (each
``write()`` call) sits in the kernel's page cache and reaches the file
anyway, fsync or not. So the experiment proves atomicity and surviving a
process crash; it cannot show a power cut or a kernel panic. Against those,
only what reached the disk counts: ``fsync`` asks the kernel to write the
file's data to the device and waits until the device says it has. SQLite's
``PRAGMA synchronous`` says when it calls fsync: ``FULL`` at every commit (in
WAL mode, on the log), ``OFF`` never. ``commit_latency`` measures what that
promise costs per commit, which is the honest part we can show on one
machine: the same rows, committed one at a time, with and without the wait
for the disk. Chapter 07 uses this module.

The writer needs no watchdog: it waits for its end by reading its standard
input, so if the lab process dies instead, the pipe closes and it exits
without committing.
"""

import contextlib
import dataclasses
import pathlib
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time

from ..checks import require_int
from ..engine import workspace
from ..engine.registry import register, unregister
from ..engine.tables import Table
from ..errors import InvalidArgumentError, LabError

__all__ = ["WRITER_PROGRAM", "KILLED_RETURNCODE", "WriterProcess", "CrashResult", "crash_writer_experiment",
           "expected_rows", "SYNCHRONOUS", "open_with_synchronous", "commit_latency"]

# What Popen.returncode says after Popen.kill(): TerminateProcess's exit code 1 on Windows,
# "ended by signal 9" (negative: the signal's number) everywhere else.
if sys.platform == "win32":
    KILLED_RETURNCODE = 1
else:
    KILLED_RETURNCODE = -signal.SIGKILL

SYNCHRONOUS = {"OFF": "never fsync", "FULL": "fsync at every commit"}     # PRAGMA synchronous settings shown
# A PRAGMA takes no ? parameters, so each setting's statement is written out whole: no SQL is ever built from text.
_PRAGMAS = {"OFF": "PRAGMA synchronous=OFF", "FULL": "PRAGMA synchronous=FULL"}

# The child process runs this program (python -I -c WRITER_PROGRAM path rows commit_every pause_after seed).
# When it has written ``pause_after`` rows it reports "<committed> <pending>" on stdout and waits for
# its end, leaving the pending rows in an open transaction. pause_after=0 means: write everything.
WRITER_PROGRAM = """
import random, sqlite3, sys

path, rows, commit_every, pause_after, seed = sys.argv[1], *map(int, sys.argv[2:])
db = sqlite3.connect(path, isolation_level=None)       # no hidden transactions: we say BEGIN and COMMIT
db.execute("PRAGMA journal_mode=WAL")
db.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, amount INTEGER NOT NULL)")
amounts = random.Random(seed)
committed = 0
db.execute("BEGIN")
for row in range(1, rows + 1):
    db.execute("INSERT INTO orders VALUES (?, ?)", (row, amounts.randint(1, 999)))
    if row % commit_every == 0:
        db.execute("COMMIT")
        committed = row
        db.execute("BEGIN")
    if row == pause_after:
        print(committed, row - committed, flush=True)   # "this much is committed, this much is not"
        sys.stdin.readline()                            # wait to be killed; if the parent goes away instead,
        sys.exit("parent went away")                    # exit without committing
db.execute("COMMIT")
print(rows, 0, flush=True)
"""


def expected_rows(seed, count):
    """The first ``count`` rows the writer inserts with ``seed``: what recovery must give back."""
    amounts = random.Random(seed)
    return [(row, amounts.randint(1, 999)) for row in range(1, count + 1)]


class WriterProcess:
    """The writer as a real OS process; registered, so it never outlives the lesson.

    ``start()`` launches it, ``wait_for_report()`` blocks until it says where it
    stopped, ``kill()`` kills it outright, ``join()`` waits for a normal exit. Both
    reap the process (no zombie) and close its pipes; ``close()`` kills if needed.
    """

    def __init__(self, path, rows, commit_every, pause_after=None, seed=7):
        self.args = [str(path), str(rows), str(commit_every), str(pause_after or 0), str(seed)]
        self.returncode = None
        self._process = None

    def start(self):
        self._process = subprocess.Popen([sys.executable, "-I", "-c", WRITER_PROGRAM, *self.args],
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                         text=True)
        register(self)
        return self

    @property
    def pid(self):
        """The writer's operating-system process id (None before start)."""
        return None if self._process is None else self._process.pid

    def wait_for_report(self):
        """Block until the writer reports; returns ``(committed, pending)`` row counts."""
        line = self._process.stdout.readline()
        if not line:
            error = self._reap()
            raise LabError(f"the writer process ended before reporting (exit code {self.returncode}): {error[-500:]}")
        committed, pending = map(int, line.split())
        return committed, pending

    def kill(self):
        """Crash the writer (SIGKILL; TerminateProcess on Windows): it cannot close its database or commit."""
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
        self._reap()

    def join(self):
        """Wait for the writer to finish on its own."""
        self._reap()

    def close(self):
        self.kill()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.close()

    def _reap(self):
        """Wait for the process and close its pipes; returns what it wrote to stderr."""
        if self._process is None or self.returncode is not None:
            return ""
        _, error = self._process.communicate()
        self.returncode = self._process.returncode
        unregister(self)
        return error


@dataclasses.dataclass(frozen=True)
class CrashResult:
    """What a killed writer left behind; its repr is a small table."""
    commit_every: int
    rows_written: int             # rows inserted when the writer died
    committed_before_kill: int    # ... of which committed
    rows_after_recovery: int      # rows found when the database was opened again
    uncommitted_lost: int         # rows written but gone: the unfinished transaction
    intact: bool                  # the surviving rows are exactly the committed ones, values included
    killed: bool                  # ended by Popen.kill(), not by finishing

    def __repr__(self):
        how = "killed outright" if self.killed else "finished normally"
        rows = [("rows written", self.rows_written), ("committed by the writer", self.committed_before_kill),
                ("rows after recovery", self.rows_after_recovery), ("uncommitted rows lost", self.uncommitted_lost),
                ("surviving rows intact", "yes" if self.intact else "no")]
        return "\n".join([f"SQLite writer (commit every {self.commit_every} rows), {how}"] +
                         [f"  {name:<27}{value:>6}" for name, value in rows])


def crash_writer_experiment(path=None, rows=1000, commit_every=100, kill_after=250, seed=7):
    """Let a writer process insert ``kill_after`` rows, kill it, then count what the database kept.

    ``path`` is a new database file (default: one in a temporary directory,
    removed afterwards). ``kill_after=None`` lets the writer finish instead.
    """
    for name, value in (("rows", rows), ("commit_every", commit_every)):
        if not isinstance(value, int) or value < 1:
            raise InvalidArgumentError(f"{name} must be an int >= 1, got {value!r}")
    if kill_after is not None and (not isinstance(kill_after, int) or not 1 <= kill_after <= rows):
        raise InvalidArgumentError(f"kill_after must be None or an int from 1 to rows ({rows}), got {kill_after!r}")
    if path is not None and pathlib.Path(path).exists():
        raise InvalidArgumentError(f"{str(path)!r} already exists; pass a new file name (or None: a temporary one)")
    workdir = tempfile.TemporaryDirectory(prefix="durability-", dir=workspace.lab_folder()) if path is None else contextlib.nullcontext()
    with workdir as directory:
        database = pathlib.Path(directory, "orders.db") if path is None else pathlib.Path(path)
        with WriterProcess(database, rows, commit_every, kill_after, seed) as writer:
            committed, pending = writer.wait_for_report()
            if kill_after is None:
                writer.join()
            writer.kill()           # killed in the middle of a transaction, then the process is reaped
        with contextlib.closing(sqlite3.connect(database)) as db:   # opening it runs SQLite's recovery
            survivors = db.execute("SELECT id, amount FROM orders ORDER BY id").fetchall()
    return CrashResult(commit_every, committed + pending, committed, len(survivors),
                       committed + pending - len(survivors), survivors == expected_rows(seed, committed),
                       writer.returncode == KILLED_RETURNCODE)


def open_with_synchronous(path, setting):
    """A WAL-mode connection to ``path`` (autocommit) with ``PRAGMA synchronous`` set to ``setting``."""
    if setting not in SYNCHRONOUS:
        raise InvalidArgumentError(f"setting must be one of {', '.join(SYNCHRONOUS)}, not {setting!r}")
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute(_PRAGMAS[setting])
    return db


def commit_latency(commits=200, directory=None):
    """Commit ``commits`` one-row transactions under each ``PRAGMA synchronous`` setting; a ``Table`` of timings.

    Both runs write the same rows to a new WAL-mode database in ``directory``
    (default: a temporary one, removed afterwards). The times vary with the disk
    and with how busy the machine is; on a RAM disk (tmpfs) fsync costs almost
    nothing, and the table would say so.
    """
    require_int("commits", commits, 1, 100_000)
    rows = []
    if directory is None:
        workdir = tempfile.TemporaryDirectory(prefix="commit-cost-", dir=workspace.lab_folder())
    else:
        workdir = contextlib.nullcontext()
    with workdir as folder:
        for setting, what in SYNCHRONOUS.items():
            with contextlib.closing(open_with_synchronous(pathlib.Path(directory or folder, f"{setting}.db"),
                                                          setting)) as db:
                db.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, amount INTEGER NOT NULL)")
                started = time.perf_counter()
                for row in range(commits):
                    db.execute("INSERT INTO orders VALUES (?, ?)", (row, row % 999))   # autocommit: one commit each
                seconds = time.perf_counter() - started
            rows.append([setting, what, commits, f"{seconds * 1000 / commits:.3f}"])
    return Table(["synchronous", "what SQLite does", "commits", "ms per commit"], rows,
                 title="The price of waiting for the disk (timings vary with the disk and the machine)")
