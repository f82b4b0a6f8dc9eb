# ruff: noqa: S101, SIM300
# This module is a test suite shipped as a library: pytest's bare asserts are its
# language (pytest rewrites them, as it does in every module of a plugin's
# distribution), and they read `assert expected == actual` (CONVENTIONS.md 7).
"""The due index and claims: ``due``, ``next_due_at``, ``claim_due`` and their lease."""

from __future__ import annotations

from datetime import datetime, timedelta

from ..._clock import FakeClock
from ..._model import EventKind, Ticket
from ...rules import wake_postponed
from ...stores import MemoryStore, TicketStore
from ._base import (
    _ANN,
    _FAR,
    _US,
    LEASE,
    START,
    ContractBase,
    _desk,
    _listed_ids,
    _next_version,
    _put,
)

__all__ = ["DueContract"]


class DueContract(ContractBase):
    """The tests of the due index and its claims."""

    def _due_fixture(self, store: TicketStore) -> tuple[datetime, dict[str, Ticket]]:
        """Six tickets with due times around ``now``; return ``now`` and the tickets."""
        now = START + timedelta(days=1)
        desk = _desk(MemoryStore(), FakeClock(START), ids=_listed_ids(list("abcdef")))
        tickets = {t.id: t for t in (desk.open_ticket(subject=i, requester=_ANN) for i in "abcdef")}
        due_at = {
            "a": now + timedelta(hours=1),  # not yet due
            "b": now - timedelta(hours=1),
            "c": now - timedelta(hours=2),  # earliest
            "d": now - timedelta(hours=1),  # same time as b: after it, by id
            "e": now,  # due exactly now
            "f": None,  # never due
        }
        # Committed in an order unlike the expected one.
        for ticket_id in "fedcba":
            _put(store, tickets[ticket_id], due_at=due_at[ticket_id])
        return now, tickets

    def test_due_returns_due_tickets_by_due_time_then_id(self, store: TicketStore) -> None:
        """``due(now, limit)`` returns tickets due by ``now``, by due time then id, up to ``limit``.

        A ticket due exactly at ``now`` is due; ``next_due_at`` is the earliest due time.
        """
        now, tickets = self._due_fixture(store)
        order = [tickets[i] for i in "cbde"]
        assert order == store.due(now, 10)
        assert order[:2] == store.due(now, 2)
        assert [] == store.due(now, 0)
        assert [] == store.due(now - timedelta(hours=2) - _US, 10)
        assert [tickets["c"]] == store.due(now - timedelta(hours=2), 10)
        assert [*order, tickets["a"]] == store.due(_FAR, 10)
        assert now - timedelta(hours=2) == store.next_due_at()

    def test_due_claims_nothing(self, store: TicketStore) -> None:
        """``due`` only reads: it answers the same twice, and ``claim_due`` still gets all."""
        now, _ = self._due_fixture(store)
        first = store.due(now, 10)
        assert first == store.due(now, 10)
        assert first == store.claim_due(now, 10, LEASE)

    def test_a_commit_moves_or_clears_the_due_time(self, store: TicketStore) -> None:
        """Each commit sets the ticket's due time afresh: later, earlier, or none at all."""
        now, tickets = self._due_fixture(store)
        c2 = _next_version(tickets["c"], "later")
        _put(store, c2, due_at=now + timedelta(days=1))  # c leaves the due set
        a2 = _next_version(tickets["a"], "earlier")
        _put(store, a2, due_at=now - timedelta(hours=3))  # a becomes the earliest
        b2 = _next_version(tickets["b"], "none")
        _put(store, b2)  # b is no longer due at all
        assert [a2, tickets["d"], tickets["e"]] == store.due(now, 10)
        assert now - timedelta(hours=3) == store.next_due_at()
        assert [a2, tickets["d"], tickets["e"], c2] == store.due(_FAR, 10)
        for ticket in (a2, c2, tickets["d"], tickets["e"]):
            _put(store, _next_version(ticket, "done"))
        assert [] == store.due(_FAR, 10)
        assert store.next_due_at() is None

    def test_claim_due_hands_each_due_ticket_out_once_per_lease(self, store: TicketStore) -> None:
        """``claim_due`` returns what ``due`` would and claims it until ``now + lease``.

        No later call returns a claimed ticket before then, any call does from then on;
        ``due`` and ``next_due_at`` still see claimed tickets.
        """
        now, tickets = self._due_fixture(store)
        order = [tickets[i] for i in "cbde"]
        assert order == store.claim_due(now, 10, LEASE)
        assert [] == store.claim_due(now, 10, LEASE)
        assert [] == store.claim_due(now + LEASE - _US, 10, LEASE)
        assert order == store.due(now, 10)
        assert now - timedelta(hours=2) == store.next_due_at()
        assert order == store.claim_due(now + LEASE, 10, LEASE)

    def test_claim_due_takes_the_earliest_unclaimed_up_to_the_limit(
        self, store: TicketStore
    ) -> None:
        """Successive ``claim_due`` calls with a limit page through the due tickets in order."""
        now, tickets = self._due_fixture(store)
        lease = timedelta(hours=2)
        assert [tickets["c"], tickets["b"]] == store.claim_due(now, 2, lease)
        assert [tickets["d"]] == store.claim_due(now, 1, lease)
        assert [tickets["e"]] == store.claim_due(now, 2, lease)
        assert [] == store.claim_due(now, 2, lease)
        later = now + timedelta(hours=1)  # a is due now; the others are still claimed
        assert [tickets["a"]] == store.claim_due(later, 10, lease)

    def test_a_commit_ends_the_claim(self, store: TicketStore) -> None:
        """A commit ends the ticket's claim: ``claim_due`` returns it at once if still due."""
        now, tickets = self._due_fixture(store)
        store.claim_due(now, 10, LEASE)
        b2 = _next_version(tickets["b"], "still due")
        _put(store, b2, due_at=now - timedelta(minutes=1))
        assert [b2] == store.claim_due(now, 10, LEASE)

    def test_run_due_fires_through_the_store(self, store: TicketStore, clock: FakeClock) -> None:
        """A help desk on the store wakes a postponed ticket when it is due, once."""
        desk = _desk(store, clock, rules=[wake_postponed()])
        ticket = desk.open_ticket(subject="x", requester=_ANN)
        until = clock.now() + timedelta(hours=5)
        desk.postpone(ticket.id, until, by="bob")
        assert until == store.next_due_at()
        assert 0 == desk.run_due()
        clock.set(until)
        assert 1 == desk.run_due()
        assert 0 == desk.run_due()
        woken = store.get(ticket.id)
        assert EventKind.WOKEN == woken.timeline[-1].kind
        assert store.next_due_at() is None
