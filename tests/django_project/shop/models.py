from django.db import models


class Refund(models.Model):
    """An application row written in the same transaction as a ticket."""

    ticket_id = models.CharField(max_length=64)
    amount = models.IntegerField()

    def __str__(self) -> str:
        return f"refund of {self.amount} for {self.ticket_id}"
