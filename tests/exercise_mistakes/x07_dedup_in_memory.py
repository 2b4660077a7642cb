"""Exercise 07 mistake: applied payment ids remembered in the consumer's memory.

Duplicates within one run are skipped. But the redelivery that matters comes
after a kill, to a *new* consumer whose set is empty, so the payment is
applied twice anyway.
"""

GROUP, TOPIC = "billing", "payments"


class PaymentConsumer:
    def __init__(self, broker, database):
        self.broker = broker
        self.database = database
        self.applied = set()

    def run(self):
        for partition in range(self.broker.partitions(TOPIC)):
            offset = self.broker.committed(GROUP, TOPIC, partition)
            for message in self.broker.fetch(TOPIC, partition, offset):
                self.apply(message.value)
                self.broker.commit(GROUP, TOPIC, partition, message.offset + 1)

    def apply(self, payment):
        if payment["id"] in self.applied:
            return
        self.database.update("balance:" + payment["account"], lambda total: (total or 0) + payment["amount"])
        self.applied.add(payment["id"])

    def balance(self, account):
        return self.database.get("balance:" + account) or 0
