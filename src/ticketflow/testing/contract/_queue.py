# ruff: noqa: S101, SIM300
# This module is a test suite shipped as a library: pytest's bare asserts are its
# language (pytest rewrites them, as it does in every module of a plugin's
# distribution), and they read `assert expected == actual` (CONVENTIONS.md 7).
"""The work queue: ``queue``'s order, filters and limit, and each commit's queue key."""

from __future__ import annotations

from datetime import timedelta
from typing import ClassVar

import pytest

from ..._clock import FakeClock
from ..._model import Ticket
from ...exceptions import ConflictError
from ...stores import Change, MemoryStore, QueueKey, TicketStore
from ._base import (
    _ANN,
    _MANY,
    START,
    ContractBase,
    _assigned,
    _desk,
    _listed_ids,
    _next_version,
    _put,
    _queued,
)

__all__ = ["QueueContract", "queue_fixture"]


def queue_fixture(store: TicketStore) -> dict[str, Ticket]:
    """Eight tickets committed with queue keys, out of queue order; return them."""
    desk = _desk(MemoryStore(), FakeClock(START), ids=_listed_ids(list("abcdefgh")))
    assigned = {
        "a": ("ann", "it"),
        "b": ("ann", None),
        "c": (None, "it"),
        "d": ("ann", "it"),
        "e": ("bob", "it"),
        "f": ("ann", "sales"),
        "g": (None, None),
        "h": ("ann", "it"),
    }
    tickets = {
        tid: desk.open_ticket(subject=tid, requester=_ANN, assignee=who, department=dept)
        for tid, (who, dept) in assigned.items()
    }
    hour = timedelta(hours=1)
    keys = {
        "a": QueueKey(START + hour, START, 1),
        "b": QueueKey(START, START + 2 * hour, 1),
        "c": QueueKey(START + hour, START - hour, 1),
        "d": QueueKey(START + hour, START, 3),
        "e": QueueKey(START + hour, START, 3),
        "f": QueueKey(None, START - 5 * hour, 4),
        "g": QueueKey(None, START - 5 * hour, 1),
        "h": None,
    }
    for tid in "hgfedcba":
        _put(store, tickets[tid], queue=keys[tid])
    return tickets


class QueueContract(ContractBase):
    """The tests of the work queue."""

    _QUEUE_ORDER: ClassVar[str] = "bcdeafg"
    """The fixture's queue: b has the earliest SLA due time; c, d, e and a share one,
    c has waited longest, d and e outrank a and tie with each other (id order); f
    and g have no SLA due time (last), f outranks g; h is not queued."""

    def test_queue_orders_by_sla_due_then_waiting_since_then_priority_then_id(
        self, store: TicketStore
    ) -> None:
        """The queue is ordered by SLA due time (none last), wait, priority (highest first), id.

        Tickets committed without a queue key are not in it; the tickets come back
        as stored.
        """
        tickets = queue_fixture(store)
        queue = store.queue(assignee=None, department=None, limit=_MANY)
        assert self._QUEUE_ORDER == "".join(t.id for t in queue)
        assert [tickets[tid] for tid in self._QUEUE_ORDER] == queue

    def test_queue_returns_at_most_limit_tickets_from_the_front(self, store: TicketStore) -> None:
        """``limit`` cuts the queue from the front, filtered or not."""
        queue_fixture(store)
        for limit in range(9):
            queue = store.queue(assignee=None, department=None, limit=limit)
            assert self._QUEUE_ORDER[:limit] == "".join(t.id for t in queue)
        assert "bd" == "".join(t.id for t in store.queue(assignee="ann", department=None, limit=2))
        assert "c" == "".join(t.id for t in store.queue(assignee=None, department="it", limit=1))

    def test_queue_filters_on_the_current_assignee_and_department(self, store: TicketStore) -> None:
        """The filters keep the tickets now assigned to the agent / in the department (both: both).

        After reassignment commits (with unchanged keys), each ticket is found
        under its new assignee and department only.
        """
        tickets = queue_fixture(store)
        assert "bdaf" == _queued(store, assignee="ann")
        assert "cdea" == _queued(store, department="it")
        assert "da" == _queued(store, assignee="ann", department="it")
        assert "" == _queued(store, assignee="nobody")
        hour = timedelta(hours=1)
        _put(store, _assigned(tickets["d"], assignee="bob"), queue=QueueKey(START + hour, START, 3))
        _put(
            store,
            _assigned(tickets["c"], assignee="ann"),
            queue=QueueKey(START + hour, START - hour, 1),
        )
        _put(
            store,
            _assigned(tickets["a"], department="sales"),
            queue=QueueKey(START + hour, START, 1),
        )
        _put(
            store,
            _assigned(tickets["b"], assignee=None),
            queue=QueueKey(START, START + 2 * hour, 1),
        )
        assert self._QUEUE_ORDER == _queued(store)
        assert "caf" == _queued(store, assignee="ann")
        assert "de" == _queued(store, assignee="bob")
        assert "cde" == _queued(store, department="it")
        assert "af" == _queued(store, department="sales")
        assert "c" == _queued(store, assignee="ann", department="it")
        assert "af" == _queued(store, assignee="ann", department="sales")
        assert "" == _queued(store, assignee="bob", department="sales")

    def test_each_commit_sets_the_queue_key_afresh(self, store: TicketStore) -> None:
        """A commit moves a ticket in the queue, or takes it out when it carries no key.

        In single-change and multi-change commits alike.
        """
        tickets = queue_fixture(store)
        _put(store, _next_version(tickets["b"], "answered"))  # no key: out of the queue
        assert "cdeafg" == _queued(store)
        g2 = _next_version(tickets["g"], "breached")
        f2 = _next_version(tickets["f"], "answered")
        h2 = _next_version(tickets["h"], "waiting")
        store.commit(
            [
                Change(g2, 1, queue=QueueKey(START - timedelta(hours=1), START, 1)),  # first now
                Change(f2, 1),  # out
                Change(h2, 1, queue=QueueKey(None, START, 2)),  # in, last
            ]
        )
        assert "gcdeah" == _queued(store)
        assert "dah" == _queued(store, assignee="ann")
        queue = store.queue(assignee=None, department=None, limit=_MANY)
        assert [g2, h2] == [t for t in queue if t.version == 2]

    def test_a_refused_commit_leaves_the_queue_as_it_was(self, store: TicketStore) -> None:
        """A commit that conflicts changes no queue key, not even of its valid changes."""
        tickets = queue_fixture(store)
        _put(store, _next_version(tickets["c"], "moved on"), queue=QueueKey(START, START, 1))
        before = {
            (who, dept): _queued(store, who, dept)
            for who in (None, "ann", "bob")
            for dept in (None, "it", "sales")
        }
        with pytest.raises(ConflictError):
            store.commit(
                [
                    Change(
                        _next_version(tickets["g"], "first"), 1, queue=QueueKey(START, START, 4)
                    ),
                    Change(_assigned(tickets["a"], assignee="bob"), 1),
                    Change(_next_version(tickets["c"], "stale"), 1),
                ]
            )
        after = {key: _queued(store, *key) for key in before}
        assert before == after
        assert "cbdeafg" == before[None, None]  # c moved up before the refused commit
