"""The rebuilt-ticket cache the SQL stores share."""

from __future__ import annotations

from collections.abc import Iterable
from typing import final

from .._model import Ticket

__all__ = ["TicketCache"]


@final
class TicketCache:
    """Tickets a store wrote or rebuilt, by id, at most ``size`` of them.

    A store trusts an entry only when the version it reads from the database is
    the entry's own, so other processes' writes are always seen; the cache only
    saves decoding and rebuilding a ticket that has not changed.
    """

    __slots__ = ("_size", "_tickets")

    def __init__(self, size: int) -> None:
        self._size = size
        self._tickets: dict[str, Ticket] = {}

    def get(self, ticket_id: str) -> Ticket | None:
        """Return the cached ticket, whatever its version, or None."""
        return self._tickets.get(ticket_id)

    def current(self, rows: Iterable[tuple[str, int]]) -> tuple[dict[str, Ticket], list[str]]:
        """Split ``(id, version)`` rows into the cached tickets at that version and the ids to load.

        Take them before loading the others: loading may evict cached tickets.
        """
        found: dict[str, Ticket] = {}
        missing: list[str] = []
        tickets = self._tickets
        for ticket_id, version in rows:
            cached = tickets.get(ticket_id)
            if cached is not None and cached.version == version:
                found[ticket_id] = cached
            else:
                missing.append(ticket_id)
        return found, missing

    def remember(self, ticket: Ticket) -> None:
        """Keep ``ticket``, replacing an older copy."""
        tickets = self._tickets
        if len(tickets) >= self._size and ticket.id not in tickets:
            tickets.clear()  # cheaper than LRU bookkeeping on every read
        tickets[ticket.id] = ticket

    def clear(self) -> None:
        """Forget every ticket."""
        self._tickets.clear()
