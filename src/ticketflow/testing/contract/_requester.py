# ruff: noqa: S101, SIM300
# This module is a test suite shipped as a library: pytest's bare asserts are its
# language (pytest rewrites them, as it does in every module of a plugin's
# distribution), and they read `assert expected == actual` (CONVENTIONS.md 7).
"""The requester index: ``find(TicketQuery(requester=...))`` by e-mail, case-insensitively."""

from __future__ import annotations

from typing import Final

from ..._clock import FakeClock
from ..._model import Actor, Requester, Role
from ...stores import TicketQuery, TicketStore
from ._base import _ANN, _BOB, ContractBase, _desk, _Opened

__all__ = ["RequesterContract"]

# Stored in mixed case, with white space around: the index holds the normalised key.
_CY: Final = Requester(name="Cy", email="  Cy.Wong@Example.ORG ")
# Case folding beyond ASCII: "ß" folds to "ss" (a SQL lower() would not match).
_DORA: Final = Requester(name="Dora", email="Dora.Straße@Example.de")


class RequesterContract(ContractBase):
    """The tests of the requester index (`TicketQuery.requester`)."""

    def test_find_by_requester_returns_their_tickets_by_id(
        self, store: TicketStore, clock: FakeClock
    ) -> None:
        """``find`` by requester returns exactly that person's tickets, ordered by id.

        The address matches whatever its case and surrounding white space, as given
        at creation or in the query; other criteria and ``limit`` still apply.
        """
        desk = _desk(store, clock)
        ann = [desk.open_ticket(subject=f"a{n}", requester=_ANN) for n in range(3)]
        cy = [desk.open_ticket(subject=f"c{n}", requester=_CY, tags=["vip"]) for n in range(2)]
        desk.open_ticket(subject="b", requester=_BOB)
        desk.agent_reply(ann[1].id, "hello", by="bob")
        ann = [store.get(t.id) for t in ann]
        assert ann == store.find(TicketQuery(requester="ann@example.com"))
        assert ann == store.find(TicketQuery(requester=" ANN@example.COM"))
        assert [t.id for t in cy] == [
            t.id for t in store.find(TicketQuery(requester="cy.wong@example.org"))
        ]
        assert [ann[1]] == store.find(
            TicketQuery(requester="ann@example.com", statuses=frozenset({"answered"}))
        )
        assert ann[:2] == store.find(TicketQuery(requester="ann@example.com", limit=2))
        assert [cy[0].id] == [
            t.id
            for t in store.find(TicketQuery(requester="CY.WONG@example.org", tag="vip", limit=1))
        ]
        assert [] == store.find(TicketQuery(requester="nobody@example.com"))

    def test_requesters_are_matched_by_case_folding(
        self, store: TicketStore, clock: FakeClock
    ) -> None:
        """The key is case-folded (``str.casefold``), beyond ASCII: "Straße" is "STRASSE"."""
        desk = _desk(store, clock)
        dora = desk.open_ticket(subject="d", requester=_DORA)
        assert [dora] == store.find(TicketQuery(requester="dora.strasse@example.de"))
        assert [dora] == store.find(TicketQuery(requester="DORA.STRASSE@EXAMPLE.DE"))

    def test_a_requester_index_follows_merges_and_purges(
        self, store: TicketStore, clock: FakeClock
    ) -> None:
        """A merge keeps both tickets in the index; a purged ticket leaves it.

        A purge erases the requester, so the tombstone is no one's ticket any more.
        """
        desk = _desk(store, clock)
        a = desk.open_ticket(subject="a", requester=_ANN)
        b = desk.open_ticket(subject="b", requester=_ANN)
        c = desk.open_ticket(subject="c", requester=_ANN)
        desk.merge(a.id, b.id, by="bob")
        assert [a.id, b.id, c.id] == [
            t.id for t in store.find(TicketQuery(requester="ann@example.com"))
        ]
        desk.purge(c.id, by=Actor("dpo", Role.ADMIN))
        assert [a.id, b.id] == [t.id for t in store.find(TicketQuery(requester="ann@example.com"))]
        assert 3 == store.count()

    def test_a_ticket_without_an_address_is_nobodys(
        self, store: TicketStore, clock: FakeClock
    ) -> None:
        """A requester without an e-mail address is in no requester's result."""
        desk = _desk(store, clock)
        desk.open_ticket(subject="b", requester=_BOB)
        desk.open_ticket(subject="x", requester=Requester(name="Blank", email="   "), by="bob")
        assert [] == store.find(TicketQuery(requester="bob"))
        assert [] == store.find(TicketQuery(requester="blank"))

    def test_the_requester_index_survives_a_reopen(
        self, contract_stores: _Opened, clock: FakeClock
    ) -> None:
        """Closed and reopened, a durable store still finds tickets by requester."""
        store = contract_stores.new()
        desk = _desk(store, clock)
        ids = [desk.open_ticket(subject=str(n), requester=_CY).id for n in range(3)]
        desk.purge(ids[1], by=Actor("dpo", Role.ADMIN))
        store = contract_stores.reopen(store)
        assert [ids[0], ids[2]] == [
            t.id for t in store.find(TicketQuery(requester="cy.wong@example.org"))
        ]
