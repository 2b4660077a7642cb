"""Chapter 07's split brain: a leader paused past its lease comes back and writes as if it still led.

Two nodes issue invoice numbers, which only the holder of the ``invoicing``
lease may do. Each node works in its own thread: it renews (or takes) the
lease, learns the last number issued, and writes the next ones to a shared
resource, sending its fencing token with each write. The experiment:

1. node-a takes the lease (token 1) and issues invoices 1 to 3; node-b asks for
   the lease and is told no.
2. node-a renews its lease, and right after that check its thread is frozen
   (``freeze()``: the thread simply stops where it stands and does not know it,
   as in a long garbage-collection pause or a stopped virtual machine).
3. node-a's lease runs out; node-b takes it (token 2) and issues 4 to 6.
4. node-a is resumed. It checked its lease a moment ago (for it), so it writes
   4 to 6 again with token 1.
5. node-b goes on with 7 to 9.

Without fencing the resource accepts node-a's late writes: invoice numbers 4
to 6 are issued twice, by two leaders at once. With fencing it refuses the
first of them (token 1 after token 2), and node-a steps down. The counts are
the same on every run. Claim M9.

``paused_worker_experiment`` does the same to chapter 04's job queue: a
worker claims "charge alice 10 EUR" and stalls past its lease; another worker
claims the job (the next token), charges and finishes; then the first one
carries on and charges too, unless the payment service fences its token.
"""

import dataclasses
import queue
import threading

from ..engine.lifecycle import Closable
from ..engine.tables import ResultTable, Table
from ..engine.waiting import wait_until
from ..errors import LabError
from ..services.job_queue import JobQueue
from ..services.leases import LeaseStore, SharedResource

__all__ = ["INVOICE_LOCK", "InvoiceLeader", "SplitBrainResult", "split_brain_experiment", "PausedWorkerResult",
           "paused_worker_experiment"]

INVOICE_LOCK = "invoicing"


class InvoiceLeader(Closable):
    """A node that issues invoice numbers while it holds the lease: ``issue(n)``, ``wait_idle()``, ``freeze()``, ``resume()``."""

    def __init__(self, name, leases, resource):
        self.name, self.leases, self.resource = name, leases, resource
        self.lease = None                    # the lease this node believes it holds
        self.next_number = None
        self.issued, self.refused = [], 0
        self.error = None                    # an exception the thread hit, raised again by wait_idle()
        self.frozen = threading.Event()      # set while the thread sits at its pause point
        self._awake = threading.Event()
        self._awake.set()
        self._tasks = queue.Queue()
        self._thread = threading.Thread(target=self._run, name=f"{name}-leader", daemon=True)
        self._thread.start()
        self._opened()

    def issue(self, count):
        """Ask the node to issue ``count`` invoices (if it holds, or can take, the lease)."""
        self._tasks.put(count)

    def wait_idle(self, timeout=10.0):
        if not wait_until(lambda: self._tasks.unfinished_tasks == 0, timeout):
            raise LabError(f"{self.name} is still busy after {timeout} s; is it frozen? call resume()")
        if self.error is not None:
            raise LabError(f"{self.name} failed while issuing invoices: {self.error!r}") from self.error

    def freeze(self):
        """From now on the thread stops at its next pause point, without knowing it."""
        self._awake.clear()

    def resume(self):
        self._awake.set()

    def _run(self):
        while True:
            count = self._tasks.get()
            try:
                if count is None:
                    return
                self._issue(count)
            except Exception as exc:         # kept for wait_idle() to raise in the caller's thread
                self.error = exc
            finally:
                self._tasks.task_done()

    def _issue(self, count):
        lease = self.leases.acquire(INVOICE_LOCK, self.name)
        if lease is None:
            self.lease = None                # someone else leads
            return
        if self.lease is None or lease.token != self.lease.token:
            numbers = [int(key.split("-")[1]) for key in self.resource.values()]
            self.next_number = max(numbers, default=0) + 1            # a new leader reads where things stand
        self.lease = lease
        self._pause_point()                  # between "I hold the lease" and the writes: the gap no check closes
        for _ in range(count):
            key = f"invoice-{self.next_number:03d}"
            if not self.resource.write(INVOICE_LOCK, lease.token, self.name, key, f"issued by {self.name}"):
                self.refused += 1
                self.lease = None            # refused: someone newer leads; step down
                return
            self.issued.append(self.next_number)
            self.next_number += 1

    def _pause_point(self):
        if not self._awake.is_set():
            self.frozen.set()
            self._awake.wait()
            self.frozen.clear()

    def _close(self):
        self._awake.set()
        self._tasks.put(None)
        self._thread.join(timeout=5.0)


@dataclasses.dataclass(frozen=True, repr=False)
class SplitBrainResult(ResultTable):
    """The resource's ledger after the run, and the counts that show (or rule out) split brain."""

    fencing: bool
    writes: tuple                      # every ``Write`` the resource received, in order
    takeover_token: int                # the token the second leader got

    @property
    def stale_accepted(self):
        """Writes with a token older than the takeover's that the resource accepted anyway."""
        return sum(1 for w in self.writes if w.accepted and w.token < self.takeover_token
                   and w.order > self._takeover_order())

    @property
    def refused(self):
        return sum(1 for w in self.writes if not w.accepted)

    @property
    def issued_twice(self):
        """Invoice numbers that two different writers issued (accepted writes only)."""
        writers = {}
        for w in self.writes:
            if w.accepted:
                writers.setdefault(w.key, set()).add(w.writer)
        return sum(1 for names in writers.values() if len(names) > 1)

    @property
    def leaders_after_takeover(self):
        """How many nodes got writes accepted after the takeover: 1 is healthy, 2 is split brain."""
        return len({w.writer for w in self.writes if w.accepted and w.order > self._takeover_order()})

    def _takeover_order(self):
        return min(w.order for w in self.writes if w.token == self.takeover_token)

    def ledger(self):
        """The resource's ledger as a table, one row per write."""
        rows = [[w.order, w.writer, w.token, w.key, "accepted" if w.accepted else "refused"] for w in self.writes]
        return Table(["#", "writer", "token", "invoice", "resource"], rows,
                     title=f"What the shared resource received (fencing {'on' if self.fencing else 'off'})")

    def _table_data(self):
        rows = [["nodes whose writes were accepted after the takeover", self.leaders_after_takeover],
                ["late writes of the paused leader accepted", self.stale_accepted],
                ["writes refused", self.refused],
                ["invoice numbers issued twice", self.issued_twice]]
        return f"A leader paused past its lease, fencing {'on' if self.fencing else 'off'}", ["", "count"], rows


def split_brain_experiment(fencing, lease_s=1.0, batch=3):
    """Run the five steps of the module docstring; returns a ``SplitBrainResult``."""
    with LeaseStore(lease_s) as leases, SharedResource(fencing).start() as resource:
        node_a, node_b = InvoiceLeader("node-a", leases, resource), InvoiceLeader("node-b", leases, resource)
        with node_a, node_b:
            node_a.issue(batch)
            node_a.wait_idle()                                   # node-a leads: 1 .. batch
            node_b.issue(batch)
            node_b.wait_idle()                                   # refused the lease: issues nothing
            node_a.freeze()
            node_a.issue(batch)
            node_a.frozen.wait(timeout=10)                       # it renewed its lease, then froze
            wait_until(lambda: leases.holder(INVOICE_LOCK) is None, timeout=lease_s + 10)
            node_b.issue(batch)
            node_b.wait_idle()                                   # node-b takes over with the next token
            takeover = node_b.lease.token
            node_a.resume()
            node_a.wait_idle()                                   # node-a's late writes
            node_b.issue(batch)
            node_b.wait_idle()
        return SplitBrainResult(fencing, tuple(resource.ledger()), takeover)


@dataclasses.dataclass(frozen=True, repr=False)
class PausedWorkerResult(ResultTable):
    """What one job cost when its first worker stalled past its lease."""

    fencing: bool
    charges: int                 # times the job's effect reached the payment service and was accepted
    refused: int                 # charges the payment service refused (a stale token)
    attempts: int                # leases the queue handed out for the job
    done_by: str                 # whose "done" the queue accepted
    late_done_accepted: bool     # did the queue accept the stalled worker's "done"?

    def _table_data(self):
        rows = [["leases of the job (attempts)", self.attempts], ["charges accepted", self.charges],
                ["charges refused", self.refused], ["job marked done by", self.done_by],
                ["stalled worker's 'done' accepted", "yes" if self.late_done_accepted else "no"]]
        return (f"One job, its worker stalled past its lease, fencing {'on' if self.fencing else 'off'}",
                ["", "value"], rows)


def paused_worker_experiment(fencing, lease_s=0.3):
    """worker-1 claims a payment job and stalls; worker-2 does it after the lease; worker-1 carries on."""
    with JobQueue(lease_s=lease_s) as jobs, SharedResource(fencing, name="payments").start() as payments:
        jobs.submit("charge alice 10 EUR")

        def charge_as(worker):
            def charge(job):
                accepted = payments.write(f"job-{job['id']}", job["token"], worker, "alice", "charge 10 EUR")
                return "charged" if accepted else "refused: stale token"
            return charge

        stalled = jobs.worker("worker-1", work=charge_as("worker-1"))
        stalled.claim()                          # token 1 ... and then nothing, for longer than the lease
        jobs.worker("worker-2", work=charge_as("worker-2")).run()     # waits out the lease: token 2
        late_done = stalled.finish()             # worker-1 wakes up and does the job it still thinks it has
        job, writes = jobs.jobs()[0], payments.ledger()
    return PausedWorkerResult(fencing, sum(w.accepted for w in writes), sum(not w.accepted for w in writes),
                              job["attempts"], job["done_by"], late_done)
