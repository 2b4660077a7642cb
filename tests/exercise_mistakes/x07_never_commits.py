"""Exercise 07 mistake: an idempotent effect, and no commits at all.

Every balance comes out right, because redelivered payments are skipped. But
the group's offsets never move: every restart reads every partition from the
beginning, and the work (and the log the broker must keep) grows without end.
"""

GROUP, TOPIC = "billing", "payments"


class PaymentConsumer:
    def __init__(self, broker, database):
        self.broker = broker
        self.database = database

    def run(self):
        for partition in range(self.broker.partitions(TOPIC)):
            for message in self.broker.fetch(TOPIC, partition, 0):
                self.apply(message.value)

    def apply(self, payment):
        def change(record):
            record = record or {"total": 0, "applied": []}
            if payment["id"] not in record["applied"]:
                record["total"] += payment["amount"]
                record["applied"].append(payment["id"])
            return record

        self.database.update("balance:" + payment["account"], change)

    def balance(self, account):
        return (self.database.get("balance:" + account) or {"total": 0})["total"]
