"""Objects the test settings name by dotted path (CLOCK, SUBSCRIBERS)."""

from __future__ import annotations

from ticketflow import Event, FakeClock, Ticket

CLOCK = FakeClock()
delivered: list[tuple[str, str]] = []


def record(ticket: Ticket, event: Event) -> None:
    """A subscriber: remember (ticket id, event kind) of each delivery."""
    delivered.append((ticket.id, event.kind.value))
