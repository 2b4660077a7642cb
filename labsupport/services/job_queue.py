"""A job queue whose state lives outside the workers, so a worker can die mid-job.

When a request needs slow work (resize an upload, send an email), the API
puts a job on a queue and answers at once; workers take jobs and do them.
The queue, not the worker, remembers every job: waiting, leased to one worker
until a deadline, or done. A worker that crashes mid-job simply never reports
back; when its lease runs out the job is up for grabs again and another
worker finishes it. Workers stay as disposable as stateless API instances
because the job state is elsewhere (here a SQLite table; in production SQS,
Pub/Sub or RabbitMQ). The price: a job may run twice, so jobs should be safe
to repeat. Chapter 04, claim E1.

A worker that is merely *paused* past its lease (a long garbage-collection
pause, a stopped machine) is worse than a dead one: it wakes up and finishes
the job that another worker already did, and the queue's refusal of its
"done" comes too late, because the job's effect (a charge, an email) already
happened twice. Every lease of a job therefore carries a *fencing token*
(``token``: the job's attempt number, which grows with every lease); a worker
sends it along with the job's effect, and a resource that remembers the
highest token per job (``leases.SharedResource``) refuses the stale worker.
``labs/split_brain.py``'s ``paused_worker_experiment`` shows both. Chapters 04 and 07, claim M9.
"""

import os
import shutil
import sqlite3
import threading
import time

from ..checks import require_number
from ..engine import workspace
from ..engine.lifecycle import Closable
from ..errors import InvalidArgumentError

__all__ = ["JobQueue", "Worker"]

SCHEMA = ("CREATE TABLE IF NOT EXISTS jobs (id INTEGER PRIMARY KEY, task TEXT NOT NULL, state TEXT NOT NULL, "
          "worker TEXT, lease_until REAL, attempts INTEGER NOT NULL DEFAULT 0, done_by TEXT, result TEXT)")


class JobQueue(Closable):
    """Jobs in a SQLite table: ``submit``, ``claim`` (with a lease), ``complete``, ``jobs``, ``counts``."""

    def __init__(self, path=None, lease_s=0.5):
        require_number("lease_s", lease_s, 0, allow_minimum=False, unit="seconds")
        self.lease_s = lease_s
        self._tempdir = str(workspace.new_folder("jobs")) if path is None else None
        self.path = str(path) if path is not None else os.path.join(self._tempdir, "jobs.sqlite3")
        self._db = sqlite3.connect(self.path, timeout=5, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(SCHEMA)
        self._lock = threading.Lock()        # one sqlite3 connection, shared by the workers' threads
        self._opened()

    def submit(self, task):
        """Add a job described by the text ``task``; returns its id."""
        if not isinstance(task, str) or not task:
            raise InvalidArgumentError(f"a task is a non-empty text such as 'resize avatars/alice.png', not {task!r}")
        with self._lock:
            return self._db.execute("INSERT INTO jobs (task, state) VALUES (?, 'waiting')", (task,)).lastrowid

    def claim(self, worker):
        """Lease the oldest job that is waiting or whose lease ran out to ``worker``; None if there is none.

        The job comes back as ``{"id", "task", "token"}``: ``token`` is this lease's fencing token.
        """
        now = time.time()
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")          # find and lease in one step: no job goes to two workers
            try:
                row = self._db.execute("SELECT id, task, attempts + 1 FROM jobs WHERE state = 'waiting' OR "
                                       "(state = 'leased' AND lease_until <= ?) ORDER BY id LIMIT 1", (now,)).fetchone()
                if row is not None:
                    self._db.execute("UPDATE jobs SET state = 'leased', worker = ?, lease_until = ?, "
                                     "attempts = attempts + 1 WHERE id = ?", (worker, now + self.lease_s, row[0]))
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
        return None if row is None else {"id": row[0], "task": row[1], "token": row[2]}

    def complete(self, job_id, worker, result):
        """Mark the job done, if ``worker`` still holds its lease; False if the lease was lost to another."""
        with self._lock:
            changed = self._db.execute("UPDATE jobs SET state = 'done', done_by = ?, result = ?, lease_until = NULL "
                                       "WHERE id = ? AND state = 'leased' AND worker = ?",
                                       (worker, result, job_id, worker)).rowcount
        return changed == 1

    def jobs(self):
        """Every job as a dict: id, task, state, worker (last to lease it), attempts, done_by."""
        with self._lock:
            rows = self._db.execute("SELECT id, task, state, worker, attempts, done_by FROM jobs "
                                    "ORDER BY id").fetchall()
        return [dict(zip(("id", "task", "state", "worker", "attempts", "done_by"), row)) for row in rows]

    def counts(self):
        """{"waiting": n, "leased": n, "done": n}."""
        states = [job["state"] for job in self.jobs()]
        return {state: states.count(state) for state in ("waiting", "leased", "done")}

    def worker(self, name, work=None):
        return Worker(self, name, work)

    def _close(self):
        with self._lock:
            self._db.close()
        if self._tempdir is not None:
            shutil.rmtree(self._tempdir, ignore_errors=True)
            self._tempdir = None

    def __repr__(self):
        return f"JobQueue({self.counts()})"


class Worker:
    """A disposable worker: ``claim()`` a job, ``finish()`` it, or ``kill()`` it mid-job (a crash).

    What a worker holds in memory (its current job, its progress) dies with
    it; the queue still knows the job is leased and gives it to another
    worker once the lease runs out. ``run()`` works until the queue is empty.
    ``work(job)`` does a job (``job`` is the claimed ``{"id", "task", "token"}``)
    and returns its result.
    """

    def __init__(self, queue, name, work=None):
        self.queue = queue
        self.name = name
        self.work = work if work is not None else (lambda job: f"{job['task']}: done")
        self.current = None                  # the job this worker is doing, in its memory only
        self.alive = True
        self.finished = []                   # ids this worker completed

    def claim(self):
        self._check_alive()
        self.current = self.queue.claim(self.name)
        return self.current

    def finish(self):
        """Do the current job and report it done; True if the queue accepted the result."""
        self._check_alive()
        if self.current is None:
            raise InvalidArgumentError(f"{self.name} has no job; call claim() first")
        job, self.current = self.current, None
        accepted = self.queue.complete(job["id"], self.name, self.work(job))
        if accepted:
            self.finished.append(job["id"])
        return accepted

    def kill(self):
        """A crash: the worker and its job-in-progress vanish without a word to the queue."""
        self.current = None
        self.alive = False

    def run(self, timeout=10.0):
        """Claim and finish jobs until none is waiting or leased; waits out other workers' leases.

        Returns the ids this call completed.
        """
        done, deadline = [], time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.claim() is not None:
                job_id = self.current["id"]
                if self.finish():
                    done.append(job_id)
            elif self.queue.counts()["leased"] == 0:
                break                        # nothing waiting, nothing leased: the queue is empty
            else:
                time.sleep(min(0.02, self.queue.lease_s / 10))      # a lease held by someone else: wait it out
        return done

    def _check_alive(self):
        if not self.alive:
            raise InvalidArgumentError(f"{self.name} was killed; start another worker with queue.worker('...')")

    def __repr__(self):
        doing = f"doing job {self.current['id']}" if self.current else "idle"
        return f"Worker({self.name!r}, {doing if self.alive else 'dead'})"
