"""job_queue.py: job state lives in the queue, so a worker can die mid-job and another finishes the job.

Pins chapter 04, claim E1 (message queue): a job leased by a worker that is
killed is not lost; after the lease runs out another worker takes it, and
every job ends done exactly once in the queue's records. And claim M9 (07):
a worker merely paused past its lease does the job's effect a second time
unless the resource checks the lease's fencing token.
"""

import os
import threading

import pytest

from labsupport import InvalidArgumentError
from labsupport.engine import registry
from labsupport.labs import paused_worker_experiment
from labsupport.services import JobQueue

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def queue(tmp_path):
    with JobQueue(tmp_path / "jobs.sqlite3", lease_s=0.2) as jobs:
        yield jobs


def test_a_job_is_leased_to_one_worker_at_a_time(queue):
    queue.submit("resize a.png")
    one, two = queue.worker("one"), queue.worker("two")
    assert one.claim() == {"id": 1, "task": "resize a.png", "token": 1}
    assert two.claim() is None
    assert one.finish() and queue.counts() == {"waiting": 0, "leased": 0, "done": 1}


def test_a_killed_workers_job_is_picked_up_after_the_lease_runs_out(queue):
    for name in ("a.png", "b.png", "c.png"):
        queue.submit(f"resize {name}")
    crashed = queue.worker("worker-1")
    assert crashed.claim()["id"] == 1
    crashed.kill()
    assert queue.jobs()[0]["state"] == "leased"                   # the queue still remembers the job
    rescuer = queue.worker("worker-2")
    assert sorted(rescuer.run()) == [1, 2, 3]
    jobs = queue.jobs()
    assert [(j["state"], j["done_by"]) for j in jobs] == [("done", "worker-2")] * 3
    assert [j["attempts"] for j in jobs] == [2, 1, 1]
    with pytest.raises(InvalidArgumentError, match="killed"):
        crashed.claim()


def test_a_late_worker_cannot_complete_a_job_it_lost(queue):
    queue.submit("send email")
    slow = queue.worker("slow")
    slow.claim()
    fast = queue.worker("fast")
    assert fast.run() == [1]                 # waited out slow's lease, then did the job
    assert slow.finish() is False            # slow's result is refused: the job was done once
    assert queue.jobs()[0]["done_by"] == "fast"


def test_concurrent_workers_do_every_job_exactly_once(queue):
    for i in range(30):
        queue.submit(f"job {i}")
    workers = [queue.worker(f"w{i}") for i in range(4)]
    threads = [threading.Thread(target=w.run) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(i for w in workers for i in w.finished) == list(range(1, 31))
    assert queue.counts() == {"waiting": 0, "leased": 0, "done": 30}


def test_bad_arguments_and_cleanup():
    with pytest.raises(InvalidArgumentError, match="lease_s"):
        JobQueue(lease_s=0)
    jobs = JobQueue()
    with pytest.raises(InvalidArgumentError, match="task"):
        jobs.submit("")
    with pytest.raises(InvalidArgumentError, match="claim"):
        jobs.worker("idle").finish()
    path = jobs.path
    registry.shutdown_all()
    assert not os.path.exists(path)


def test_each_lease_of_a_job_carries_a_higher_fencing_token(queue):
    queue.submit("resize a.png")
    first = queue.worker("one").claim()
    assert first == {"id": 1, "task": "resize a.png", "token": 1}
    second = queue.worker("two")
    assert second.run() == [1]               # after one's lease ran out
    assert queue.jobs()[0]["attempts"] == 2


def test_a_paused_worker_runs_the_job_twice_without_fencing():
    result = paused_worker_experiment(fencing=False)
    assert (result.attempts, result.charges, result.refused) == (2, 2, 0)
    assert result.done_by == "worker-2" and result.late_done_accepted is False   # the queue's record says once


def test_with_fencing_the_job_runs_once():
    result = paused_worker_experiment(fencing=True)
    assert (result.attempts, result.charges, result.refused) == (2, 1, 1)
    assert result.done_by == "worker-2"


def test_work_gets_the_job_with_its_token(queue):
    queue.submit("send email")
    seen = []
    worker = queue.worker("w", work=lambda job: seen.append(job) or "sent")
    assert worker.run() == [1]
    assert seen == [{"id": 1, "task": "send email", "token": 1}]
