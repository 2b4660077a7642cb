"""Exercise 07: an exactly-once *effect* from an at-least-once broker.

A broker delivers at least once at best: a consumer that dies after handling
a message and before committing its offset gets the message again after the
restart (chapter 07, M2). Committing first does not help, it turns the
duplicate into a loss. What can be exactly once is the *effect*: commit after
processing, and make processing idempotent, by remembering which message ids
were applied *in the same transaction* as the effect itself.

You write ``PaymentConsumer``, one run of the billing consumer. The checker
builds a new one every time the consumer (re)starts, as
``PaymentConsumer(broker, database)``: ``broker`` is a real broker (partitioned
logs on disk, committed offsets) holding topic "payments", ``database`` the
SQLite database of balances (``get(key)``, ``put(key, value)``,
``update(key, change)``, one transaction). ``run()`` handles every payment
from the group's committed offsets on, then returns; ``balance(account)``
says an account's balance. A payment is ``{"id", "account", "amount"}``.

``check_exactly_once(PaymentConsumer)`` produces 30 payments over four
accounts, then runs consumers one after another. Four of them are killed at
seeded points, each right after the consumer's n-th write (a database change
or an offset commit): nothing after that point runs, as in a crash. A fifth
consumer finishes the work. Then every balance must equal the sum of its
payments (each applied exactly once), and every offset must be committed.
Chapter 07 (M2) uses it.
"""

import random
import tempfile
from collections import defaultdict

from ..engine import workspace
from ..engine.held_state import Infrastructure
from ..services.broker import Broker
from ..state.stores import SQLiteStore
from .checker import Crashed, Exercise, TheirCode, TheirCodeFailed, Verdict, wrong_argument

__all__ = ["EXACTLY_ONCE", "check_exactly_once", "KillSwitch", "CrashingBroker", "CrashingBalances",
           "GROUP", "TOPIC", "ACCOUNTS"]

GROUP, TOPIC = "billing", "payments"
ACCOUNTS = ("acct-1", "acct-2", "acct-3", "acct-4")
PAYMENTS = 30
PARTITIONS = 3
KILL_MOMENTS = ("change", "commit", "change", "commit")    # what the killed consumers had just done, in order
KILL_AFTER = range(2, 8)            # ...for the n-th time in their run, n drawn from here

EXACTLY_ONCE = Exercise(
    name="exactly_once", chapter="07_why_stateful_still_matters", title="an exactly-once effect",
    writes="PaymentConsumer",
    hints=(
        "First, when to commit. Committing an offset says \"everything before it is done\". Commit before "
        "applying, and a kill in between loses the payment. Commit after applying.",
        "Now a kill between applying and committing makes the next consumer apply the same payment again "
        "(at-least-once delivery). You cannot stop the redelivery, but you can make it harmless: remember which "
        "payment ids were applied, and skip those.",
        "Where to remember them? Not in the consumer (the next one starts empty), and not in a separate write "
        "after the balance (a kill between the two writes again duplicates). Keep them in the balance's own "
        "record, e.g. `{\"total\": 0, \"applied\": [...]}`, changed in one `database.update`.",
        "A sketch:\n\n"
        "- `run`: for each partition, `offset = broker.committed(GROUP, TOPIC, p)`; for each message of "
        "`broker.fetch(TOPIC, p, offset)`: `self.apply(message.value)`, then "
        "`broker.commit(GROUP, TOPIC, p, message.offset + 1)`\n"
        "- `apply`: `database.update(\"balance:\" + account, change)` where `change(record)` starts with "
        "`record = record or {\"total\": 0, \"applied\": []}`, returns it unchanged if the payment's id is in "
        "`record[\"applied\"]`, else adds the amount and appends the id\n"
        "- `balance`: `(database.get(\"balance:\" + account) or {\"total\": 0})[\"total\"]`",
    ))


class KillSwitch:
    """Kills the consumer right after its n-th offset commit, or right after its n-th database change.

    ``arm(kind, n)`` before a consumer starts (kind "commit" or "change");
    ``disarm()`` for the last one. ``kills`` describes where each kill landed.
    """

    def __init__(self):
        self.armed = None               # (kind, n) or None
        self.done = {"commit": 0, "change": 0}
        self.kills = []

    def arm(self, kind, n):
        self.armed, self.done = (kind, n), {"commit": 0, "change": 0}

    def disarm(self):
        self.armed = None

    def passed(self, kind, what):
        """The consumer just made a ``kind`` of write, described by ``what``: kill it here if armed for it."""
        self.done[kind] += 1
        if self.armed == (kind, self.done[kind]):
            self.armed = None
            self.kills.append(f"right after {what}")
            raise Crashed(f"the consumer was killed right after {what}")


class CrashingBroker(Infrastructure):
    """The broker as the learner's consumer sees it: every commit passes the kill switch."""

    def __init__(self, broker, switch):
        self.broker, self.switch = broker, switch

    def partitions(self, topic):
        return self.broker.partitions(topic)

    def committed(self, group, topic, partition):
        return self.broker.committed(group, topic, partition)

    def end_offset(self, topic, partition):
        return self.broker.end_offset(topic, partition)

    def fetch(self, topic, partition, offset=0, max_messages=100):
        return self.broker.fetch(topic, partition, offset, max_messages)

    def commit(self, group, topic, partition, offset):
        self.broker.commit(group, topic, partition, offset)
        self.switch.passed("commit", f"committing partition {partition} up to offset {offset}")


class CrashingBalances(Infrastructure):
    """The balances database as the learner's consumer sees it: every change passes the kill switch."""

    def __init__(self, database, switch):
        self.database, self.switch = database, switch

    def get(self, key, default=None):
        return self.database.get(key, default)

    def put(self, key, value, ttl_s=None):
        self.database.put(key, value, ttl_s)
        self.switch.passed("change", f"writing {key!r}")

    def update(self, key, change, ttl_s=None):
        value = self.database.update(key, change, ttl_s)
        self.switch.passed("change", f"updating {key!r}")
        return value

    def delete(self, key):
        self.database.delete(key)
        self.switch.passed("change", f"deleting {key!r}")


def _payments(rng):
    """30 payments; within one account no two amounts are equal, so a balance that is off names the payment."""
    amounts = {account: rng.sample(range(1, 40), PAYMENTS) for account in ACCOUNTS}
    payments = []
    for number in range(1, PAYMENTS + 1):
        account = rng.choice(ACCOUNTS)
        payments.append({"id": f"pay-{number:02d}", "account": account, "amount": amounts[account].pop()})
    return payments


def _explain(account, found, expected, payments, kills):
    """Why ``account``'s balance is off, naming the payment when the difference is exactly one of its amounts."""
    diff = found - expected
    culprit = next((p for p in payments if p["account"] == account and p["amount"] == abs(diff)), None)
    if culprit:
        named, its, was, it = f"payment {culprit['id']} ({culprit['amount']})", "its offset was", "it was", "it"
    else:
        named, its, was, it = f"payments worth {abs(diff)} in all", "their offsets were", "they were", "them"
    story = f"{account}'s balance is {found}, but its payments add up to {expected}: "
    landed = "; ".join(f"#{n} {where}" for n, where in enumerate(kills, 1))
    if diff < 0:
        return (story + f"{named} never took effect: {its} committed before {was} applied, and a kill in between "
                        f"made the next consumer start after {it} (the kills landed: {landed}). "
                        "Commit after processing.")
    return (story + f"{named} took effect twice: {was} applied, then the consumer was killed before the commit and "
                    f"the next consumer got {it} again (the kills landed: {landed}). Delivery is at least once; make "
                    "the effect idempotent: remember applied payment ids in the same transaction as the balance.")


def check_exactly_once(PaymentConsumer, seed=7):
    """Payments through consumers killed at seeded points; returns a ``Verdict`` (and saves it)."""
    counts = {"payments": PAYMENTS, "consumers started": 0, "consumers killed": 0}
    mistake = wrong_argument(PaymentConsumer, "PaymentConsumer", "check_exactly_once")
    if mistake:
        return Verdict(EXACTLY_ONCE, False, mistake, counts).save()
    their = TheirCode(PaymentConsumer, "PaymentConsumer")
    rng = random.Random(seed)
    payments = _payments(rng)
    switch = KillSwitch()
    with tempfile.TemporaryDirectory(prefix="exercise-", dir=workspace.lab_folder()) as folder, Broker(folder, PARTITIONS) as broker, \
            SQLiteStore() as database:
        for payment in payments:
            broker.produce(TOPIC, payment["account"], payment)
        their_broker, balances = CrashingBroker(broker, switch), CrashingBalances(database, switch)
        try:
            for moment in [(kind, rng.choice(KILL_AFTER)) for kind in KILL_MOMENTS] + [None]:
                switch.arm(*moment) if moment else switch.disarm()
                counts["consumers started"] += 1
                consumer = their.build(their_broker, balances)
                try:
                    their.call(consumer, "run")
                except Crashed:
                    counts["consumers killed"] += 1
            found = {account: their.call(their.build(their_broker, balances), "balance", account)
                     for account in ACCOUNTS}
        except TheirCodeFailed as failure:
            return Verdict.from_problem(EXACTLY_ONCE, failure.problem, counts,
                                        f"in consumer #{counts['consumers started']}").save()
        lag = {p: broker.end_offset(TOPIC, p) - broker.committed(GROUP, TOPIC, p) for p in range(PARTITIONS)}
    expected = defaultdict(int)
    for payment in payments:
        expected[payment["account"]] += payment["amount"]
    wrong = [account for account in ACCOUNTS if found[account] != expected[account]]
    counts["accounts with the right balance"] = len(ACCOUNTS) - len(wrong)
    counts["messages left uncommitted"] = sum(lag.values())
    if wrong:
        account = wrong[0]
        return Verdict(EXACTLY_ONCE, False, _explain(account, found[account], expected[account], payments,
                                                     switch.kills), counts).save()
    behind = next((p for p, left in lag.items() if left), None)
    if behind is not None:
        return Verdict(EXACTLY_ONCE, False, f"every balance is right, but partition {behind} still has {lag[behind]} "
                                            "messages past the committed offset: commit what you processed, or "
                                            "every restart handles them again.", counts).save()
    return Verdict(EXACTLY_ONCE, True, f"{counts['consumers killed']} consumers killed mid-work, and each of the "
                                       f"{PAYMENTS} payments took effect exactly once: every balance is right and "
                                       "every offset committed.", counts).save()
