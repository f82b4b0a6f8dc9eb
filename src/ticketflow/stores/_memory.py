"""The in-memory store: for tests, simulations and embedding without persistence."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import final

from .._model import Event, Ticket
from ..exceptions import ConflictError, StoreError, TicketNotFound
from ._protocol import Change, TicketQuery

__all__ = ["MemoryStore"]


@final
class MemoryStore:
    """Keep tickets in a dict; nothing survives the process.

    Commits are atomic and thread-safe (one lock). ``find`` scans every ticket
    (fine up to some hundred thousand tickets); the durable stores use indexes.
    Tickets are immutable, so the store keeps and returns the very objects it was
    given: reading costs no copy.
    """

    __slots__ = ("_lock", "_tickets")

    def __init__(self) -> None:
        self._tickets: dict[str, Ticket] = {}
        self._lock = threading.Lock()

    def get(self, ticket_id: str) -> Ticket:
        """Return the stored ticket.

        Raises:
            TicketNotFound: no ticket has this id.
        """
        try:
            return self._tickets[ticket_id]
        except KeyError:
            raise TicketNotFound(ticket_id) from None

    def commit(self, changes: Sequence[Change]) -> None:
        """Write all ``changes`` atomically.

        Raises:
            ConflictError: a change's expected version is stale; nothing was written.
            StoreError: a change is malformed (version not expected + 1).
        """
        tickets = self._tickets
        with self._lock:
            if len(changes) == 1:  # the common case, without the second loop
                ticket, expected, _ = changes[0]
                current = tickets.get(ticket.id)
                actual = 0 if current is None else current.version
                if actual != expected or ticket.version != expected + 1:
                    self._refuse(changes[0], actual)
                tickets[ticket.id] = ticket
                return
            for change in changes:
                ticket = change.ticket
                current = tickets.get(ticket.id)
                actual = 0 if current is None else current.version
                if actual != change.expected_version or ticket.version != actual + 1:
                    self._refuse(change, actual)
            for change in changes:
                tickets[change.ticket.id] = change.ticket

    @staticmethod
    def _refuse(change: Change, actual: int) -> None:
        if actual != change.expected_version:
            raise ConflictError(
                ticket_id=change.ticket.id,
                expected_version=change.expected_version,
                actual_version=actual,
            )
        raise StoreError(
            f"ticket {change.ticket.id}: a commit must raise the version by one "
            f"(expected {change.expected_version + 1}, got {change.ticket.version})"
        )

    def events(self, ticket_id: str) -> tuple[Event, ...]:
        """Return the ticket's timeline, oldest first.

        Raises:
            TicketNotFound: no ticket has this id.
        """
        return self.get(ticket_id).timeline

    def find(self, query: TicketQuery) -> list[Ticket]:
        """Return the tickets matching ``query``, ordered by id."""
        found = sorted((t for t in self._tickets.values() if query.matches(t)), key=lambda t: t.id)
        return found if query.limit is None else found[: query.limit]

    def count(self) -> int:
        """Return the number of stored tickets."""
        return len(self._tickets)

    def close(self) -> None:
        """Forget every ticket."""
        self._tickets.clear()

    def __repr__(self) -> str:
        return f"MemoryStore(<{len(self._tickets)} tickets>)"
