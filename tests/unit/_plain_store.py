"""A store with the `TicketStore` methods only: no optional capability (the engine's fallbacks)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from ticketflow import MemoryStore, Ticket
from ticketflow.stores import Change, IndexUpdate, OutboxEntry, TicketQuery


class PlainStore:
    """Delegates the `TicketStore` protocol to a `MemoryStore`, and nothing else."""

    def __init__(self) -> None:
        self._inner = MemoryStore()

    def get(self, ticket_id: str) -> Ticket:
        return self._inner.get(ticket_id)

    def commit(self, changes: Sequence[Change]) -> None:
        self._inner.commit(changes)

    def events(self, ticket_id: str) -> tuple[object, ...]:
        return self._inner.events(ticket_id)

    def find(self, query: TicketQuery) -> list[Ticket]:
        return self._inner.find(query)

    def due(self, now: datetime, limit: int) -> list[Ticket]:
        return self._inner.due(now, limit)

    def claim_due(self, now: datetime, limit: int, lease: timedelta) -> list[Ticket]:
        return self._inner.claim_due(now, limit, lease)

    def claim_outbox(self, now: datetime, limit: int, lease: timedelta) -> list[OutboxEntry]:
        return self._inner.claim_outbox(now, limit, lease)

    def ack_outbox(self, keys: Sequence[tuple[str, int]]) -> None:
        self._inner.ack_outbox(keys)

    def outbox_pending(self) -> int:
        return self._inner.outbox_pending()

    def queue(self, *, assignee: str | None, department: str | None, limit: int) -> list[Ticket]:
        return self._inner.queue(assignee=assignee, department=department, limit=limit)

    def reindex(self, updates: Sequence[IndexUpdate]) -> int:
        return self._inner.reindex(updates)

    def next_due_at(self) -> datetime | None:
        return self._inner.next_due_at()

    def count(self) -> int:
        return self._inner.count()

    def close(self) -> None:
        self._inner.close()
