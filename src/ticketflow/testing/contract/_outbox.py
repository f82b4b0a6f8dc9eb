# ruff: noqa: S101, SIM300
# This module is a test suite shipped as a library: pytest's bare asserts are its
# language (pytest rewrites them, as it does in every module of a plugin's
# distribution), and they read `assert expected == actual` (CONVENTIONS.md 7).
"""The outbox: entries from committed changes, claims, acknowledgements, ``dispatch``."""

from __future__ import annotations

from ..._clock import FakeClock
from ..._model import Event
from ...rules import confirmation
from ...stores import OutboxEntry, TicketStore
from ._base import _ANN, _FAR, _OUTBOX_KINDS, _US, LEASE, ContractBase, _desk

__all__ = ["OutboxContract"]


class OutboxContract(ContractBase):
    """The tests of the outbox."""

    def _outbox_fixture(self, store: TicketStore, clock: FakeClock) -> list[OutboxEntry]:
        """Commit tickets through a help desk with an outbox; return the expected entries."""
        desk = _desk(store, clock, rules=[confirmation()], outbox=_OUTBOX_KINDS)
        a = desk.open_ticket(subject="a", requester=_ANN)
        b = desk.open_ticket(subject="b", requester=_ANN)
        desk.add_note(a.id, "not in the outbox", by="bob")
        desk.agent_reply(a.id, "hello", by="bob")
        desk.resolve(b.id, by="bob")
        desk.confirm_resolution(b.id)  # confirmed + closed: two entries of one commit
        return [
            OutboxEntry(a.id, 0, "created", 1),
            OutboxEntry(b.id, 0, "created", 1),
            OutboxEntry(a.id, 2, "agent_replied", 1),
            OutboxEntry(b.id, 2, "confirmed", 1),
            OutboxEntry(b.id, 3, "closed", 1),
        ]

    def test_outbox_entries_come_from_the_committed_changes(
        self, store: TicketStore, clock: FakeClock
    ) -> None:
        """Each position in ``Change.outbox`` becomes a pending entry, handed out oldest first.

        Oldest first is commit order, then position; each entry names the event's kind.
        """
        expected = self._outbox_fixture(store, clock)
        assert len(expected) == store.outbox_pending()
        assert expected == store.claim_outbox(clock.now(), 10, LEASE)
        assert len(expected) == store.outbox_pending()

    def test_claimed_outbox_entries_wait_for_the_lease(
        self, store: TicketStore, clock: FakeClock
    ) -> None:
        """A claimed entry is handed out again from ``now + lease`` on, with one more attempt."""
        expected = self._outbox_fixture(store, clock)
        now = clock.now()
        assert expected[:2] == store.claim_outbox(now, 2, LEASE)
        assert expected[2:] == store.claim_outbox(now, 10, LEASE)
        assert [] == store.claim_outbox(now + LEASE - _US, 10, LEASE)
        again = [e._replace(attempts=2) for e in expected]
        assert again == store.claim_outbox(now + LEASE, 10, LEASE)
        assert len(expected) == store.outbox_pending()

    def test_ack_outbox_removes_delivered_entries(
        self, store: TicketStore, clock: FakeClock
    ) -> None:
        """``ack_outbox`` removes the entries named (claimed or not) and ignores unknown keys."""
        expected = self._outbox_fixture(store, clock)
        now = clock.now()
        store.claim_outbox(now, 2, LEASE)
        store.ack_outbox([])
        store.ack_outbox(
            [(expected[0].ticket_id, expected[0].position), ("no-such-ticket", 0), ("T1", 99)]
        )
        store.ack_outbox([(expected[3].ticket_id, expected[3].position)])  # never claimed
        assert len(expected) - 2 == store.outbox_pending()
        assert [expected[2], expected[4]] == store.claim_outbox(now, 10, LEASE)
        rest = [e._replace(attempts=2) for e in (expected[1], expected[2], expected[4])]
        assert rest == store.claim_outbox(now + LEASE, 10, LEASE)
        store.ack_outbox([(e.ticket_id, e.position) for e in expected])
        assert 0 == store.outbox_pending()
        assert [] == store.claim_outbox(_FAR, 10, LEASE)

    def test_dispatch_delivers_and_acknowledges_through_the_store(
        self, store: TicketStore, clock: FakeClock
    ) -> None:
        """A help desk delivers the store's outbox entries to a subscriber and empties it."""
        expected = self._outbox_fixture(store, clock)
        desk = _desk(store, clock, rules=[confirmation()], outbox=_OUTBOX_KINDS)
        seen: list[tuple[str, Event]] = []
        desk.subscribe(lambda ticket, event: seen.append((ticket.id, event)))
        assert len(expected) == desk.dispatch()
        stored = [(e.ticket_id, store.get(e.ticket_id).timeline[e.position]) for e in expected]
        assert stored == seen
        assert 0 == store.outbox_pending()
