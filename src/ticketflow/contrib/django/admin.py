"""A read-only admin for ticketflow's tickets and their events.

The list is Django's own over the unmanaged `Ticket` model (filter by status,
priority, assignee, department; search by id). A ticket's page shows what the
desk decodes (`get_helpdesk().get`): subject, requester, tags, the thread and
every event of its timeline. Nothing can be added, changed or deleted here:
tickets change through the desk's commands only.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.utils.html import format_html, format_html_join

from ..._model import Ticket as _DeskTicket
from . import get_helpdesk
from .models import Ticket

__all__ = ["TicketAdmin"]

_FIELDS = ("id", "status", "priority", "assignee", "department", "version")


def _ticket(row: Ticket) -> _DeskTicket:
    """The desk's ticket for ``row``, read once per page (kept on the row)."""
    found: _DeskTicket | None = getattr(row, "_ticketflow_ticket", None)
    if found is None:
        found = get_helpdesk().get(row.id)
        row._ticketflow_ticket = found  # noqa: SLF001 - a cache on our own model's row
    return found


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):  # type: ignore[misc]  # Django ships no types
    """Tickets, viewable by users with ``ticketflow.view_ticket``; no add, change or delete."""

    list_display = _FIELDS
    list_filter = ("status", "priority", "assignee", "department")
    search_fields = ("=id",)
    fields = (*_FIELDS, "subject", "requester", "channel", "tags", "thread", "events")
    readonly_fields = fields
    actions = None

    def has_add_permission(self, request: Any, obj: Any = None) -> bool:
        """No: tickets are opened through the desk."""
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        """No: tickets change through the desk's commands."""
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        """No: tickets are erased through the desk (purge)."""
        return False

    def subject(self, row: Ticket) -> str:
        """The ticket's subject."""
        return _ticket(row).subject

    def requester(self, row: Ticket) -> str:
        """Who asked: name and e-mail address."""
        who = _ticket(row).requester
        return f"{who.name} <{who.email}>" if who.email else who.name

    def channel(self, row: Ticket) -> str:
        """Where the ticket came from."""
        return _ticket(row).channel or ""

    def tags(self, row: Ticket) -> str:
        """The ticket's tags, sorted."""
        return ", ".join(sorted(_ticket(row).tags))

    def thread(self, row: Ticket) -> Any:  # Django's SafeString
        """The messages, oldest first (private notes marked)."""
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (m.at.isoformat(), m.author.id, "private" if m.private else "public", m.body)
                for m in _ticket(row).messages
            ),
        )
        return format_html(
            "<table><tr><th>at</th><th>author</th><th></th><th>body</th></tr>{}</table>", rows
        )

    def events(self, row: Ticket) -> Any:  # Django's SafeString
        """Every event of the timeline, oldest first."""
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{} → {}</td></tr>",
            (
                (
                    e.version,
                    e.at.isoformat(),
                    e.kind.value,
                    e.actor.id,
                    e.status_before,
                    e.status_after,
                )
                for e in _ticket(row).timeline
            ),
        )
        return format_html(
            "<table><tr><th>version</th><th>at</th><th>event</th><th>by</th>"
            "<th>status</th></tr>{}</table>",
            rows,
        )
