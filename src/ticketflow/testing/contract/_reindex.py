# ruff: noqa: S101, SIM300
# This module is a test suite shipped as a library: pytest's bare asserts are its
# language (pytest rewrites them, as it does in every module of a plugin's
# distribution), and they read `assert expected == actual` (CONVENTIONS.md 7).
"""``reindex``: due times and queue keys set afresh, only where the version matches."""

from __future__ import annotations

from datetime import timedelta

from ..._clock import FakeClock
from ...stores import Change, IndexUpdate, MemoryStore, QueueKey, TicketStore
from ._base import (
    _ANN,
    _FAR,
    _MANY,
    LEASE,
    START,
    ContractBase,
    _desk,
    _listed_ids,
    _next_version,
    _put,
    _queued,
    _snapshot,
)
from ._queue import queue_fixture

__all__ = ["ReindexContract"]


class ReindexContract(ContractBase):
    """The tests of ``reindex``."""

    def test_reindex_applies_only_to_tickets_still_at_the_version(self, store: TicketStore) -> None:
        """``reindex`` sets due time and queue key where the version matches, skips the rest.

        Stale versions and missing tickets are skipped; the count says how many applied;
        a key of None takes a ticket out of the queue.
        """
        tickets = queue_fixture(store)
        c2 = _next_version(tickets["c"], "moved on")
        _put(store, c2, queue=QueueKey(START + timedelta(hours=1), START - timedelta(hours=1), 1))
        hour = timedelta(hours=1)
        applied = store.reindex(
            [
                IndexUpdate("g", 1, START, QueueKey(START - 3 * hour, START, 1)),  # to the front
                IndexUpdate("c", 1, START, None),  # stale: c is at version 2
                IndexUpdate("missing", 1, START, None),  # no such ticket
                IndexUpdate("b", 1, None, None),  # out of the queue
                IndexUpdate("h", 1, START + hour, QueueKey(None, START, 1)),  # in, last
            ]
        )
        assert 3 == applied
        assert "gcdeafh" == _queued(store)
        assert "dafh" == _queued(store, assignee="ann")
        assert [tickets["g"]] == store.due(START, _MANY)
        assert [tickets["g"], tickets["h"]] == store.due(_FAR, _MANY)
        assert START == store.next_due_at()
        assert 0 == store.reindex([])
        assert 1 == store.reindex([IndexUpdate("g", 1, None, None)])
        assert [tickets["h"]] == store.due(_FAR, _MANY)
        assert "cdeafh" == _queued(store)

    def test_reindex_touches_no_version_event_claim_or_outbox(self, store: TicketStore) -> None:
        """``reindex`` changes due times and keys only: versions, events, claims, outbox stay.

        Claimed tickets stay claimed (under their new due time) until the lease ends;
        claimed outbox entries keep their claim and attempts.
        """
        desk = _desk(MemoryStore(), FakeClock(START), ids=_listed_ids(["a", "b", "c"]))
        a, b, c = (desk.open_ticket(subject=tid, requester=_ANN) for tid in "abc")
        hour = timedelta(hours=1)
        store.commit(
            [
                Change(a, 0, due_at=START - hour, outbox=(0,), queue=QueueKey(None, START, 1)),
                Change(b, 0, due_at=START - 2 * hour, outbox=(0,)),
                Change(c, 0, outbox=(0,)),
            ]
        )
        assert [b, a] == store.claim_due(START, _MANY, LEASE)
        entries = store.claim_outbox(START, 2, LEASE)
        before = _snapshot(store, START)
        applied = store.reindex(
            [
                IndexUpdate("a", 1, START - 3 * hour, None),
                IndexUpdate("b", 1, START - hour, QueueKey(START, START, 2)),
                IndexUpdate("c", 1, START, QueueKey(None, START, 1)),
            ]
        )
        assert 3 == applied
        after = _snapshot(store, START)
        for field in ("tickets", "events", "count", "outbox_pending"):
            assert before[field] == after[field], field
        assert [a, b, c] == store.due(START, _MANY)
        assert [b, c] == after["queue"]
        assert [c] == store.claim_due(START, _MANY, LEASE)  # a and b stay claimed
        unclaimed = store.claim_outbox(START, _MANY, LEASE)  # a's and b's stay claimed
        assert [("c", 0)] == [(e.ticket_id, e.position) for e in unclaimed]
        assert [a, b, c] == store.claim_due(START + LEASE, _MANY, LEASE)
        retried = store.claim_outbox(START + LEASE, _MANY, LEASE)
        assert [e._replace(attempts=2) for e in entries] == retried[: len(entries)]
