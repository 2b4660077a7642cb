"""Exercise 07 mistake: commit after processing, and nothing more.

No payment is lost any more. But a kill between applying a payment and
committing its offset makes the next consumer receive it again
(at-least-once), and the balance counts it twice.
"""

GROUP, TOPIC = "billing", "payments"


class PaymentConsumer:
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
        self.database.update("balance:" + payment["account"], lambda total: (total or 0) + payment["amount"])

    def balance(self, account):
        return self.database.get("balance:" + account) or 0
