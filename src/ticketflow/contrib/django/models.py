"""Read-only views of ticketflow's tables for Django's admin (unmanaged: no SQL of their own).

The columns mapped are those with the same type on SQLite and PostgreSQL; the
rest of a ticket (subject, requester, messages, history) is read through the
desk (`get_helpdesk`), which decodes it, never from the rows.
"""

from __future__ import annotations

from django.db import models

__all__ = ["Ticket"]


class Ticket(models.Model):  # type: ignore[misc]  # Django ships no types
    """A row of ticketflow's ``tickets`` table: written by ticketflow only, never by the ORM."""

    id = models.CharField(primary_key=True, max_length=64)
    version = models.IntegerField()
    status = models.CharField(max_length=64)
    priority = models.SmallIntegerField()
    assignee = models.CharField(max_length=200, null=True)  # noqa: DJ001 - ticketflow's column
    department = models.CharField(max_length=200, null=True)  # noqa: DJ001 - ticketflow's column

    class Meta:
        """Unmanaged: ticketflow's migrate() owns the table; only viewing is allowed."""

        managed = False
        db_table = "tickets"
        default_permissions = ("view",)
        ordering = ("-id",)
        verbose_name = "ticket"

    def __str__(self) -> str:
        """The ticket's id."""
        return str(self.id)

    def save(self, *args: object, **kwargs: object) -> None:
        """Refuse: tickets change through the desk's commands only."""
        raise NotImplementedError("ticketflow's tickets change through Helpdesk commands only")

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        """Refuse: tickets change through the desk's commands only (erasure: purge)."""
        raise NotImplementedError("ticketflow's tickets change through Helpdesk commands only")
