"""Reference solution of exercise 07 (chapter 07): commit after processing, and an idempotent effect.

The consumer applies a payment, then commits its offset: a kill between the
two never loses a payment, it only makes the next consumer receive it again
(at-least-once delivery). The effect is made idempotent by keeping, in each
account's own record, the ids of the payments already applied. Checking the
id, adding the amount and remembering the id happen in one
``database.update``, one transaction, so a kill leaves all three done or none:
a redelivered payment finds its id and changes nothing. Every payment takes
effect exactly once, though some are delivered twice.

Try the exercise before reading this. The notebook never imports this file.
"""

GROUP, TOPIC = "billing", "payments"


class PaymentConsumer:
    """One run of the billing consumer: apply, then commit; applied ids kept with each balance."""

    def __init__(self, broker, database):
        self.broker = broker
        self.database = database

    def run(self):
        for partition in range(self.broker.partitions(TOPIC)):
            offset = self.broker.committed(GROUP, TOPIC, partition)
            for message in self.broker.fetch(TOPIC, partition, offset):
                self.apply(message.value)
                self.broker.commit(GROUP, TOPIC, partition, message.offset + 1)

    def apply(self, payment):
        def change(record):
            record = record or {"total": 0, "applied": []}
            if payment["id"] in record["applied"]:
                return record                          # delivered again after a kill: already took effect
            record["total"] += payment["amount"]
            record["applied"].append(payment["id"])
            return record

        self.database.update("balance:" + payment["account"], change)

    def balance(self, account):
        return (self.database.get("balance:" + account) or {"total": 0})["total"]
