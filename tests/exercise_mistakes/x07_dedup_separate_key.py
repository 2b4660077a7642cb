"""Exercise 07 mistake: applied ids kept in the database, but written after the balance, in a second write.

Durable, shared, and almost right: a kill between the balance update and the
"applied" record leaves an applied payment that looks unapplied, so the next
consumer applies it again.
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
        if self.database.get("applied:" + payment["id"]):
            return
        self.database.update("balance:" + payment["account"], lambda total: (total or 0) + payment["amount"])
        self.database.put("applied:" + payment["id"], True)

    def balance(self, account):
        return self.database.get("balance:" + account) or 0
