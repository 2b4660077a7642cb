"""Traffic: many virtual users shopping at once.

``run_traffic`` starts one thread per ``User`` (``users.py``), each doing a
seeded sequence of adds, removes and cart views, optionally while a chaos
schedule (``chaos.py``) strikes, and returns the ``Report`` that the users'
shared ``Ledger`` adds up to. The ledger and the report live in
``ledger.py``; this module only drives the users. Every chapter uses it.
"""

import random
import threading
import time

from ..errors import InvalidArgumentError
from .ledger import Ledger, Report
from .users import SKUS, User

# Ledger and Report are re-exported: a traffic run hands them out.
__all__ = ["run_traffic", "Ledger", "Report"]


def run_traffic(cluster=None, users=20, actions=30, seed=7, chaos=None, idempotent=True, ledger=None, stop=None,
                think_ms=0, url=None):
    """``users`` virtual users each do ``actions`` seeded actions at once; returns a ``Report``.

    Users log in one by one first (so who lands where is reproducible), then
    shop concurrently. ``chaos`` (a ``Chaos`` or a string such as "kill one
    instance every 100 actions") runs alongside and strikes ``cluster``.
    Without a cluster, give the ``url`` of any shop (processes behind nginx, your
    own deployment): the users and the ledger are the same (chapter 10).
    """
    from .chaos import Chaos  # chaos imports nothing from here; kept local for clarity

    if not isinstance(users, int) or users < 1:
        raise InvalidArgumentError(f"users must be a whole number >= 1, not {users!r}")
    if not isinstance(actions, int) or actions < 0:
        raise InvalidArgumentError(f"actions must be a whole number >= 0, not {actions!r}")
    if url is None and cluster is None:
        raise InvalidArgumentError("give the cluster to shop at, or url='http://...' of any shop")
    if chaos is not None and cluster is None:
        raise InvalidArgumentError("chaos needs a cluster whose instances it can kill; a bare url has none")
    url = url if url is not None else cluster.url
    ledger = ledger if ledger is not None else Ledger()
    stop = stop if stop is not None else threading.Event()
    # The same names every run, so a second run on a stateless shop meets carts the first one filled.
    people = [User(url, f"user-{i:02d}", ledger, idempotent=idempotent).login().look_at_cart()
              for i in range(users)]
    schedule = Chaos.parse(chaos, seed=seed) if chaos is not None else None

    def shop(person, rng):
        for _ in range(actions):
            if stop.is_set():
                return
            roll = rng.random()
            if roll < 0.6:
                person.add(rng.choice(SKUS), rng.randint(1, 3))
            elif roll < 0.75 and person.expected:
                person.remove(rng.choice(sorted(person.expected)))
            else:
                person.cart()
            if think_ms:
                stop.wait(think_ms / 1000.0)

    started = time.perf_counter()
    threads = [threading.Thread(target=shop, args=(p, random.Random(f"{seed}-{p.name}")), daemon=True,
                                name=f"traffic-{p.name}") for p in people]
    chaos_thread = schedule.start(cluster, ledger, total=users * actions) if schedule else None
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    if chaos_thread is not None:
        schedule.finish(cluster, aborted=stop.is_set())
    for person in people:
        person.close()
    return Report(users, ledger, seconds, schedule.events if schedule else [])
