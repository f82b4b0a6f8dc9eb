"""The streaming capability: every ticket of a store, in id order, in bounded memory."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Final, Protocol, runtime_checkable

from .. import _validate
from .._model import Ticket
from ._protocol import TicketQuery, TicketStore
from ._summary import SummaryQuery, SummaryStore, sort_key

__all__ = ["STREAM_BATCH", "StreamStore", "stream_tickets"]

STREAM_BATCH: Final = 500
"""Tickets read per query by default: a few hundred rebuilt tickets in memory at a time."""


@runtime_checkable
class StreamStore(Protocol):
    """The optional streaming capability: every stored ticket, in bounded memory.

    For reports (``python -m ticketflow report``, `ticketflow.metrics.MetricsAggregator`)
    over whole stores: ``find(TicketQuery())`` rebuilds every ticket and holds
    them all; a stream holds one batch.

    The contract (the suite's ``StreamContract``):

    * ``iter_tickets`` yields every ticket stored when the call began exactly
      once, ordered by id, each as committed at or after that moment (a ticket
      committed while the stream runs is read at its newer version if its
      batch is read after the commit). Tickets created while it runs may or
      may not be yielded (once at most).
    * It reads ``batch`` tickets per step, keyset on id (one query per batch on
      the SQL stores, each a read snapshot of its own), and keeps at most one
      batch of rebuilt tickets: memory does not grow with the store.
    * Tickets it rebuilds are not put in a read cache (a scan must not evict
      the tickets in use; see ``TicketCache``).
    * A ``batch`` that is not a whole number from 1 to 100,000 raises
      `InvalidInputError` (``field="batch"``) when the call is made, before
      anything is read.
    """

    def iter_tickets(self, *, batch: int = STREAM_BATCH) -> Iterator[Ticket]:
        """Yield every stored ticket, ordered by id, ``batch`` at a time.

        Raises:
            InvalidInputError: ``batch`` is not a whole number from 1 to 100,000.
        """
        ...


def stream_tickets(store: TicketStore, *, batch: int = STREAM_BATCH) -> Iterator[Ticket]:
    """Yield every ticket of ``store`` once, in bounded memory where it can.

    A `StreamStore` streams itself. Otherwise, a store with `SummaryStore`
    (lists) is paged by its summaries in creation order, ``batch`` rows per
    page (keyset on creation time and id), and each ticket is read with
    ``get``: bounded memory, one ``get`` per ticket, creation order (id order
    for tickets ticketflow made: their ids are ULIDs of their creation). A store with neither is
    read with one ``find(TicketQuery())``: every ticket in memory at once
    (a plugin store should implement ``iter_tickets``).

    Args:
        store: Any `TicketStore`.
        batch: Tickets per step, from 1 to 100,000.

    Raises:
        InvalidInputError: ``batch`` is not a whole number from 1 to 100,000
            (raised by the call, before anything is read).
    """
    size = _validate.batch_size(batch)
    if isinstance(store, StreamStore):
        return store.iter_tickets(batch=size)
    if isinstance(store, SummaryStore):
        return _paged(store, store, size)
    return iter(store.find(TicketQuery()))


def _paged(store: TicketStore, pages: SummaryStore, size: int) -> Iterator[Ticket]:
    # Creation order is id order for tickets made by ticketflow (ids are ULIDs of
    # the creation time), but a stream by summaries promises creation order only.
    after: tuple[int, str] | None = None
    while True:
        rows = pages.summaries(SummaryQuery(sort="created", after=after, limit=size))
        for row in rows:
            yield store.get(row.id)
        if len(rows) < size:
            return
        last = rows[-1]
        after = (sort_key(last, "created"), last.id)
