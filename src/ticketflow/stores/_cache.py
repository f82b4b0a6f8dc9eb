"""The rebuilt-ticket cache the SQL stores share."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable
from typing import final

from .._model import Ticket
from ..exceptions import InvalidInputError

__all__ = ["TicketCache"]


@final
class TicketCache:
    """Tickets a store wrote or read one by one, by id: the ``size`` most recently used.

    A store trusts an entry only when the version it reads from the database is
    the entry's own, so other processes' writes are always seen; the cache only
    saves decoding and rebuilding a ticket that has not changed.

    Eviction is least-recently-used: `get` and `remember` make a ticket the most
    recent one, and a full cache drops its least recent one. Scans (``find``,
    ``due``, ``queue``, ``claim_due``) use `current`, which neither inserts nor
    reorders, so a scan over more tickets than the cache holds leaves the
    working set (the tickets that commands read and write) where it was.

    Thread-safe: one lock around each operation (the SQL stores read from
    several threads).
    """

    __slots__ = ("_lock", "_size", "_tickets")

    def __init__(self, size: int) -> None:
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise InvalidInputError(
                f"cache_size must be a whole number of tickets, 0 or more, not {size!r}",
                field="cache_size",
            )
        self._size = size
        self._tickets: OrderedDict[str, Ticket] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def size(self) -> int:
        """How many tickets the cache holds at most."""
        return self._size

    def __len__(self) -> int:
        """Return how many tickets the cache holds now."""
        return len(self._tickets)

    def __contains__(self, ticket_id: object) -> bool:
        """Whether a ticket with this id is cached (whatever its version); not a use."""
        return ticket_id in self._tickets

    def get(self, ticket_id: str) -> Ticket | None:
        """Return the cached ticket, whatever its version, or None; a hit is now the most recent."""
        with self._lock:
            ticket = self._tickets.get(ticket_id)
            if ticket is not None:
                self._tickets.move_to_end(ticket_id)
            return ticket

    def current(self, rows: Iterable[tuple[str, int]]) -> tuple[dict[str, Ticket], list[str]]:
        """Split ``(id, version)`` rows into the cached tickets at that version and the ids to load.

        For scans: the order of use is left as it is, and the caller does not
        `remember` what it loads.
        """
        found: dict[str, Ticket] = {}
        missing: list[str] = []
        with self._lock:
            lookup = self._tickets.get
            for ticket_id, version in rows:
                cached = lookup(ticket_id)
                if cached is not None and cached.version == version:
                    found[ticket_id] = cached
                else:
                    missing.append(ticket_id)
        return found, missing

    def remember(self, ticket: Ticket) -> None:
        """Keep ``ticket`` as the most recent, replacing an older copy; drop the least recent."""
        with self._lock:
            tickets = self._tickets
            tickets[ticket.id] = ticket
            tickets.move_to_end(ticket.id)
            if len(tickets) > self._size:
                tickets.popitem(last=False)

    def clear(self) -> None:
        """Forget every ticket."""
        with self._lock:
            self._tickets.clear()
