# ruff: noqa: S101, SIM300
# This module is a test suite shipped as a library: pytest's bare asserts are its
# language (pytest rewrites them, as it does in every module of a plugin's
# distribution), and they read `assert expected == actual` (CONVENTIONS.md 7).
"""Text indexes: ``Helpdesk.search`` and the message-id index, on the store under test.

Search goes through a `Helpdesk`, so a store with the `SearchStore` capability
and one without it (the engine's fallback) are checked alike: which tickets
match (every term, as a phrase, case and accents aside), filters, pages by
cursor, customers' searches (their tickets, public text only), purges, and
refused input. Scores are each backend's own: the tests compare sets and
pages, never scores, except that a better match ranks first. The message-id
tests run only on a store with `MessageIdStore`.
"""

from __future__ import annotations

from typing import Final

import pytest

from ..._clock import FakeClock
from ..._engine import Helpdesk
from ..._model import Actor, Requester, Role
from ...exceptions import InvalidInputError
from ...stores import TicketStore
from ...stores._text import MessageIdStore
from ._base import _ANN, ContractBase, _desk, _Opened

__all__ = ["MessageIdContract", "SearchContract"]

_DPO: Final = Actor("dpo", Role.ADMIN)
_CY: Final = Requester(name="Cy Zanzibar", email="cy@example.org")


def _ids(desk: Helpdesk, text: str, **filters: object) -> set[str]:
    return {s.id for s in desk.search(text, limit=1000, **filters).items}  # type: ignore[arg-type]


class SearchContract(ContractBase):
    """The tests of search (`SearchStore`, or the engine's fallback)."""

    @pytest.fixture
    def searched(self, store: TicketStore, clock: FakeClock) -> tuple[Helpdesk, list[str]]:
        """Four tickets whose words are known: subjects, descriptions, replies, a private note."""
        desk = _desk(store, clock)
        a = desk.open_ticket(
            subject="Printer on fire",
            requester=_ANN,
            description="The café printer smokes near the window",
        )
        b = desk.open_ticket(subject="VPN down", requester=_CY, description="No tunnel since noon")
        c = desk.open_ticket(subject="Printer jam", requester=_CY, priority="high")
        d = desk.open_ticket(subject="Mailbox full", requester=_ANN)
        desk.agent_reply(b.id, "Please restart the router", by="bob")
        desk.customer_reply(b.id, "The printer is fine, the VPN is not")
        desk.add_note(c.id, "quokka suspected: check the toner supplier", by="bob")
        desk.add_note(d.id, "printer printer printer", by="bob")
        return desk, [a.id, b.id, c.id, d.id]

    def test_every_term_must_match_anywhere_in_the_ticket(
        self, searched: tuple[Helpdesk, list[str]]
    ) -> None:
        """A ticket matches when it holds every term, in its subject, description or messages."""
        desk, (a, b, c, d) = searched
        assert {a, b, c, d} == _ids(desk, "printer")
        assert {b} == _ids(desk, "printer router")  # a customer reply and an agent reply
        assert {a} == _ids(desk, "printer window")  # the subject and the description
        assert set() == _ids(desk, "printer zebra")
        assert {b} == _ids(desk, "tunnel")

    def test_case_accents_and_the_requester_are_searched(
        self, searched: tuple[Helpdesk, list[str]]
    ) -> None:
        """Words compare case-folded without accents; the requester's name and address count."""
        desk, (a, b, c, _d) = searched
        assert {a} == _ids(desk, "CAFE")
        assert {a} == _ids(desk, "Café")
        assert {b, c} == _ids(desk, "zanzibar")
        assert {b, c} == _ids(desk, "cy@example.org")

    def test_a_term_is_a_phrase_of_its_words(self, searched: tuple[Helpdesk, list[str]]) -> None:
        """``printer-smokes`` is the phrase "printer smokes": adjacent words, in order."""
        desk, (a, _b, _c, _d) = searched
        assert {a} == _ids(desk, "printer-smokes")
        assert set() == _ids(desk, "smokes-printer")

    def test_agents_find_private_notes_customers_never_do(
        self, searched: tuple[Helpdesk, list[str]]
    ) -> None:
        """A private note's words match for agents; a customer's search never matches them.

        Cy's ticket ``c`` holds "quokka" in a private note only: Cy's search
        finds nothing, and finds ``c`` by its public words.
        """
        desk, (_a, b, c, _d) = searched
        assert {c} == _ids(desk, "quokka")
        cy = desk.for_customer(_CY)
        assert () == cy.search("quokka").items
        assert () == cy.search("toner supplier").items
        assert {b, c} == {v.id for v in cy.search("printer").items}

    def test_customers_search_only_their_own_tickets(
        self, searched: tuple[Helpdesk, list[str]]
    ) -> None:
        """Ann's search never shows Cy's tickets, even when their words match."""
        desk, (a, _b, _c, _d) = searched
        ann = desk.for_customer(_ANN)
        assert [a] == [v.id for v in ann.search("printer").items]
        assert () == ann.search("tunnel").items

    def test_filters_apply_to_hits(self, searched: tuple[Helpdesk, list[str]]) -> None:
        """The list filters narrow a search: priority, requester, status..."""
        desk, (a, b, c, d) = searched
        assert {c} == _ids(desk, "printer", priority="high")
        assert {a, d} == _ids(desk, "printer", requester="ANN@example.com")
        assert {b} == _ids(desk, "printer", status="open")

    def test_the_denser_match_ranks_first(self, searched: tuple[Helpdesk, list[str]]) -> None:
        """A short text saying the term three times ranks above texts saying it once or twice."""
        desk, (_a, _b, _c, d) = searched
        assert d == desk.search("printer").items[0].id

    def test_operators_are_words(self, searched: tuple[Helpdesk, list[str]]) -> None:
        """``OR`` is a word like any other: no ticket holds it, so nothing matches."""
        desk, _ = searched
        assert set() == _ids(desk, "router OR printer")

    def test_pages_by_cursor_add_up_to_the_whole_result(
        self, searched: tuple[Helpdesk, list[str]]
    ) -> None:
        """Pages of one hit each, by cursor, give every hit once, in the one-page order."""
        desk, _ = searched
        whole = [s.id for s in desk.search("printer", limit=100).items]
        paged: list[str] = []
        cursor = None
        while True:
            page = desk.search("printer", limit=1, cursor=cursor)
            paged.extend(s.id for s in page.items)
            cursor = page.next_cursor
            if cursor is None:
                break
        assert whole == paged
        assert 4 == len(whole)

    def test_a_purged_ticket_is_gone_from_search(
        self, searched: tuple[Helpdesk, list[str]]
    ) -> None:
        """After a purge none of the ticket's words find it: subject, description, notes."""
        desk, (a, b, c, d) = searched
        desk.purge(c, by=_DPO)
        assert set() == _ids(desk, "quokka")
        assert set() == _ids(desk, "jam")
        assert {a, b, d} == _ids(desk, "printer")
        assert {b} == _ids(desk, "cy@example.org")

    def test_an_erased_requester_is_gone_from_search(
        self, searched: tuple[Helpdesk, list[str]]
    ) -> None:
        """``erase_requester`` purges every ticket of the person: none of their words match."""
        desk, (_a, b, _c, _d) = searched
        desk.erase_requester("cy@example.org", by=_DPO)
        for word in ("zanzibar", "tunnel", "quokka", "router", "jam"):
            assert set() == _ids(desk, word), word
        assert b not in _ids(desk, "printer")

    def test_search_survives_a_reopen(self, contract_stores: _Opened, clock: FakeClock) -> None:
        """Closed and reopened, a durable store still finds what it indexed (and not the purged)."""
        store = contract_stores.new()
        desk = _desk(store, clock)
        kept = desk.open_ticket(subject="Wombat alarm", requester=_ANN).id
        gone = desk.open_ticket(subject="Wombat siren", requester=_ANN).id
        desk.purge(gone, by=_DPO)
        store = contract_stores.reopen(store)
        assert {kept} == _ids(_desk(store, clock), "wombat")

    @pytest.mark.parametrize(
        ("text", "field"),
        [
            ("", "text"),
            ("   ", "text"),
            ("*", "text"),
            ('"', "text"),
            ("- + ( ) :", "text"),
            (None, "text"),
            (42, "text"),
            ("a\x00b", "text"),
            ("x " * 17, "text"),
            ("y" * 1001, "text"),
        ],
    )
    def test_bad_text_is_refused(
        self, searched: tuple[Helpdesk, list[str]], text: object, field: str
    ) -> None:
        """Text without a word, too many terms, too long, or not text: `InvalidInputError`."""
        desk, _ = searched
        with pytest.raises(InvalidInputError) as info:
            desk.search(text)  # type: ignore[arg-type]
        assert field == info.value.field

    @pytest.mark.parametrize(
        "text",
        ['"printer', "printer*", "NEAR(printer fire)", "printer AND", "printer OR", "^printer"],
    )
    def test_query_syntax_is_plain_text(
        self, searched: tuple[Helpdesk, list[str]], text: str
    ) -> None:
        """Quotes, ``*``, ``NEAR``, ``AND``, ``OR``, ``^`` are never syntax: no error escapes."""
        desk, _ = searched
        found = _ids(desk, text)
        assert found <= _ids(desk, "printer") | _ids(desk, "fire")

    @pytest.mark.parametrize("limit", [0, -1, 1001, 10**20, True, 1.5, "5", None])
    def test_bad_search_limits_are_refused(
        self, searched: tuple[Helpdesk, list[str]], limit: object
    ) -> None:
        """A limit that is not a whole number from 1 to 1,000: `InvalidInputError` on ``limit``."""
        desk, _ = searched
        with pytest.raises(InvalidInputError) as info:
            desk.search("printer", limit=limit)  # type: ignore[arg-type]
        assert "limit" == info.value.field

    def test_a_foreign_or_broken_search_cursor_is_refused(
        self, searched: tuple[Helpdesk, list[str]]
    ) -> None:
        """A cursor of another search, of a list, or garbage: `InvalidInputError` on ``cursor``."""
        desk, _ = searched
        cursor = desk.search("printer", limit=1).next_cursor
        listed = desk.list(limit=1).next_cursor
        assert cursor is not None
        assert listed is not None
        for bad, kwargs in (
            (cursor, {"text": "printer fire"}),
            (cursor, {"text": "printer", "priority": "high"}),
            (listed, {"text": "printer"}),
            ("!!!", {"text": "printer"}),
            ("x" * 5000, {"text": "printer"}),
            (cursor[:-4], {"text": "printer"}),
        ):
            with pytest.raises(InvalidInputError) as info:
                desk.search(cursor=bad, **kwargs)  # type: ignore[arg-type]
            assert "cursor" == info.value.field
        customer = desk.for_customer(_ANN)
        with pytest.raises(InvalidInputError) as info:
            customer.search("printer", cursor=cursor)
        assert "cursor" == info.value.field


class MessageIdContract(ContractBase):
    """The tests of the message-id index (`MessageIdStore`); skipped for a store without it."""

    @pytest.fixture
    def indexed(self, store: TicketStore) -> MessageIdStore:
        if not isinstance(store, MessageIdStore):
            pytest.skip("the store has no message-id index (MessageIdStore)")
        return store

    def test_stored_ids_resolve_to_their_ticket(
        self, store: TicketStore, indexed: MessageIdStore, clock: FakeClock
    ) -> None:
        """The description's and every reply's and note's external id resolve; others do not."""
        desk = _desk(store, clock)
        a = desk.open_ticket(subject="a", requester=_ANN, external_id="first.a@example.com")
        b = desk.open_ticket(subject="b", requester=_CY, external_id="first.b@example.com")
        desk.customer_reply(a.id, "more", external_id="second.a@example.com")
        desk.add_note(b.id, "fwd", by="bob", external_id="note.b@example.com")
        found = indexed.tickets_by_message_id(
            ["first.a@example.com", "second.a@example.com", "note.b@example.com", "no@example"]
        )
        assert {
            "first.a@example.com": (a.id,),
            "second.a@example.com": (a.id,),
            "note.b@example.com": (b.id,),
        } == found
        assert {} == indexed.tickets_by_message_id([])
        assert {} == indexed.tickets_by_message_id(["FIRST.A@example.com"])  # exact match

    def test_one_id_on_several_tickets_lists_the_newest_first(
        self, store: TicketStore, indexed: MessageIdStore, clock: FakeClock
    ) -> None:
        """An id two tickets hold (an import, a resent mail) resolves to both, largest id first."""
        desk = _desk(store, clock)
        a = desk.open_ticket(subject="a", requester=_ANN, external_id="dup@example.com")
        b = desk.open_ticket(subject="b", requester=_ANN, external_id="dup@example.com")
        assert {"dup@example.com": (b.id, a.id)} == indexed.tickets_by_message_id(
            ["dup@example.com", "dup@example.com"]
        )

    def test_a_purged_tickets_ids_resolve_no_more(
        self, store: TicketStore, indexed: MessageIdStore, clock: FakeClock
    ) -> None:
        """After a purge its ids are gone; another ticket holding the same id keeps it."""
        desk = _desk(store, clock)
        a = desk.open_ticket(subject="a", requester=_ANN, external_id="x.1@example.com")
        b = desk.open_ticket(subject="b", requester=_CY, external_id="x.1@example.com")
        desk.customer_reply(a.id, "r", external_id="x.2@example.com")
        desk.purge(a.id, by=_DPO)
        assert {"x.1@example.com": (b.id,)} == indexed.tickets_by_message_id(
            ["x.1@example.com", "x.2@example.com"]
        )
