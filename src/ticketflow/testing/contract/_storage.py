# ruff: noqa: S101, SIM300
# This module is a test suite shipped as a library: pytest's bare asserts are its
# language (pytest rewrites them, as it does in every module of a plugin's
# distribution), and they read `assert expected == actual` (CONVENTIONS.md 7).
"""Basic storage: reading back, optimistic concurrency and atomicity, ``find``, ``count``."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any, ClassVar

import pytest

from ..._clock import FakeClock
from ..._model import Actor, EventKind, Priority, Requester, Role, Ticket
from ...attachments import Attachment
from ...exceptions import ConflictError, InvalidInputError, StoreError, TicketNotFound
from ...rules import confirmation, wake_postponed
from ...stores import Change, MemoryStore, TicketQuery, TicketStore
from ._base import (
    _ANN,
    _BOB,
    _FAR,
    LEASE,
    START,
    ContractBase,
    _desk,
    _listed_ids,
    _next_version,
    _snapshot,
)

__all__ = ["StorageContract"]


class StorageContract(ContractBase):
    """The tests of the basic storage every backend provides."""

    # --- reading back what was committed --------------------------------------------

    def test_a_new_store_is_empty(self, store: TicketStore) -> None:
        """A fresh store holds no ticket, nothing due and no outbox entry."""
        assert store.count() == 0
        assert store.find(TicketQuery()) == []
        assert store.due(_FAR, 10) == []
        assert store.claim_due(_FAR, 10, LEASE) == []
        assert store.next_due_at() is None
        assert store.outbox_pending() == 0
        assert store.claim_outbox(_FAR, 10, LEASE) == []

    def test_get_and_events_return_the_committed_ticket(
        self, store: TicketStore, clock: FakeClock
    ) -> None:
        """``get`` returns a ticket equal to the one committed, every field and event included."""
        desk = _desk(store, clock)
        ticket = desk.open_ticket(
            subject="Ünïcode ✓ subject — with 'quotes' and \"doubles\"",
            requester=_ANN,
            description="line one\nline two\ttabbed \u2028 separator \U0001f600 astral",
            priority=Priority.HIGH,
            channel="chat",
            assignee="ann",
            department="it",
            tags=["vip", "bug"],
            custom_fields={
                "order": 12345678901234,
                "score": 0.1,
                "nested": {"a": [1, 2.5, None, True, "x"], "": {}},
            },
        )
        assert ticket == store.get(ticket.id)
        assert ticket.timeline == store.events(ticket.id)
        assert store.count() == 1

    @pytest.mark.parametrize("bad", ["\ud800", "a\x00b"], ids=["lone-surrogate", "nul"])
    def test_text_no_database_can_store_is_refused_before_anything_is_stored(
        self, store: TicketStore, clock: FakeClock, bad: str
    ) -> None:
        """A lone surrogate or a NUL anywhere is refused with InvalidInputError; nothing changes.

        UTF-8 databases cannot store either; every backend refuses them the same way,
        before the store sees them.
        """
        desk = _desk(store, clock)
        ticket = desk.open_ticket(subject="VPN down", requester=_ANN)
        attempts: list[tuple[str, Callable[[], object]]] = [
            ("body", lambda: desk.agent_reply(ticket.id, bad, by="bob")),
            ("by", lambda: desk.add_note(ticket.id, "x", by=bad)),
            ("tags", lambda: desk.add_tags(ticket.id, bad)),
            ("name", lambda: desk.set_field(ticket.id, bad, 1)),
            ("custom_fields.f", lambda: desk.set_field(ticket.id, "f", {"k": [bad]})),
            ("agent", lambda: desk.assign(ticket.id, bad)),
            ("ticket_id", lambda: desk.get(bad)),
            ("subject", lambda: desk.open_ticket(subject=bad, requester=_ANN)),
            ("requester", lambda: desk.open_ticket(subject="x", requester=Requester(name=bad))),
        ]
        for field, attempt in attempts:
            with pytest.raises(InvalidInputError) as info:
                attempt()
            assert field == info.value.field
        assert store.count() == 1
        assert ticket == store.get(ticket.id)

    def test_every_commit_of_a_lifecycle_reads_back(
        self, store: TicketStore, clock: FakeClock
    ) -> None:
        """After each command of a long lifecycle the store returns exactly the new snapshot.

        The confirmation closes the ticket in the same commit (two events of one
        version); the reply to the closed ticket opens a linked follow-up ticket.
        """
        desk = _desk(store, clock, rules=[wake_postponed(), confirmation()])
        ticket = desk.open_ticket(subject="VPN down", requester=_ANN, description="help")
        steps: list[Callable[[str], Ticket]] = [
            lambda i: desk.agent_reply(i, "Restarting the gateway", by="bob"),
            lambda i: desk.add_note(i, "internal: check logs", by="bob"),
            lambda i: desk.customer_reply(i, "Still down"),
            lambda i: desk.assign(i, "eve", department="network", by="bob"),
            lambda i: desk.set_priority(i, "urgent", by="eve"),
            lambda i: desk.add_tags(i, "vip", "outage", by="eve"),
            lambda i: desk.remove_tags(i, "outage", by="eve"),
            lambda i: desk.set_field(i, "plan", {"tier": "gold", "seats": [1, 2]}, by="eve"),
            lambda i: desk.postpone(i, clock.now() + timedelta(days=2), by="eve"),
            lambda i: desk.wake(i, by="eve"),
            lambda i: desk.resolve(i, by="eve"),
            lambda i: desk.reopen(i, by="eve"),
            lambda i: desk.resolve(i, by="eve"),
            lambda i: desk.confirm_resolution(i, 5),
        ]
        for step in steps:
            clock.advance(minutes=7)
            ticket = step(ticket.id)
            assert ticket == store.get(ticket.id)
            assert ticket.timeline == store.events(ticket.id)
        assert ticket.status == "closed"
        assert ticket.timeline[-1].version == ticket.timeline[-2].version == ticket.version
        follow_up = desk.customer_reply(ticket.id, "It broke again")
        assert follow_up.parent_id == ticket.id
        assert follow_up == store.get(follow_up.id)
        assert ticket == store.get(ticket.id)
        assert store.count() == 2

    def test_a_merge_commits_both_tickets(self, store: TicketStore, clock: FakeClock) -> None:
        """A merge (two changes in one commit) stores the new source and the new target."""
        desk = _desk(store, clock)
        source = desk.open_ticket(subject="dup", requester=_BOB, description="same problem")
        target = desk.open_ticket(subject="orig", requester=_ANN)
        clock.advance(hours=1)
        source = desk.customer_reply(source.id, "any news?")
        clock.advance(hours=1)
        merged_target = desk.merge(source.id, target.id, allow_other_requester=True, by="bob")
        merged_source = store.get(source.id)
        assert merged_target == store.get(target.id)
        assert merged_target.timeline == store.events(target.id)
        assert target.version + 1 == merged_target.version
        assert source.version + 1 == merged_source.version
        assert target.id == merged_source.merged_into
        assert merged_source.timeline[:-1] == source.timeline
        assert EventKind.MERGED == merged_source.timeline[-1].kind
        assert merged_source.timeline == store.events(source.id)

    def test_messages_with_metadata_read_back_whole(
        self, store: TicketStore, clock: FakeClock
    ) -> None:
        """A message's metadata reads back whole, on every kind of message.

        The description, replies, notes and merge copies: ids, attachments, e-mail
        ids, cc, HTML and JSON metadata.
        """
        desk = _desk(store, clock)
        pdf = Attachment(
            filename="ünïcode ✓.pdf",
            content_type="application/pdf",
            size=2**40,
            sha256="0f" * 32,
            ref="refs/1",
        )
        extra: dict[str, Any] = {
            "attachments": [pdf],
            "external_id": "a.1@example.com",
            "in_reply_to": "root@example.com",
            "references": ["root@example.com", "b@example.com"],
            "cc": ["Zoë <zoe@example.com>"],
            "html": '<p class="x">Hi \\ "there" ✓</p>',
            "metadata": {"score": 0.5, "tags": ["a", None, True], "nested": {"k": -(2**63)}},
        }
        source = desk.open_ticket(subject="dup", requester=_ANN, description="d", **extra)
        clock.advance(hours=1)
        desk.customer_reply(source.id, "reply", channel="email", **extra)
        desk.add_note(source.id, "note", by="bob", channel="internal", **extra)
        target = desk.open_ticket(subject="orig", requester=_ANN)
        clock.advance(hours=1)
        desk.agent_reply(target.id, "answer", by="bob", **extra)
        merged = desk.merge(source.id, target.id, by="bob")
        for ticket_id in (source.id, target.id):
            stored = store.get(ticket_id)
            assert desk.get(ticket_id) == stored
            assert Ticket.rebuild(store.events(ticket_id)) == stored
        assert merged == store.get(target.id)
        copied = {m.id: m for m in store.get(target.id).messages}
        assert {f"{source.id}/0", f"{source.id}/1", f"{source.id}/2", f"{target.id}/1"} == set(
            copied
        )
        for message in copied.values():
            assert (pdf,) == message.attachments
            assert ("Zoë <zoe@example.com>",) == message.cc
            assert extra["metadata"] == dict(message.metadata)
        assert "internal" == copied[f"{source.id}/2"].channel
        assert "a.1@example.com" == store.get(source.id).description_message.external_id

    def test_a_purge_replaces_the_stored_timeline(
        self, store: TicketStore, clock: FakeClock
    ) -> None:
        """A purge (a rewrite change) replaces every stored event: no erased data remains."""
        desk = _desk(store, clock)
        ticket = desk.open_ticket(
            subject="secret subject", requester=_ANN, description="secret description"
        )
        clock.advance(minutes=5)
        desk.customer_reply(ticket.id, "secret reply")
        desk.set_field(ticket.id, "card", "secret card")
        tombstone = desk.purge(ticket.id, by=Actor("dpo", Role.ADMIN)).ticket
        assert tombstone == store.get(ticket.id)
        stored = store.events(ticket.id)
        assert tombstone.timeline == stored
        assert "secret" not in repr([e.to_dict() for e in stored])
        assert store.count() == 1

    def test_unknown_ids_raise_ticket_not_found(self, store: TicketStore, clock: FakeClock) -> None:
        """``get`` and ``events`` of an id no ticket has raise `TicketNotFound` naming it."""
        _desk(store, clock).open_ticket(subject="x", requester=_ANN)
        with pytest.raises(TicketNotFound) as got:
            store.get("no-such-ticket")
        assert got.value.ticket_id == "no-such-ticket"
        with pytest.raises(TicketNotFound) as listed:
            store.events("no-such-ticket")
        assert listed.value.ticket_id == "no-such-ticket"

    # --- optimistic concurrency and atomicity ------------------------------------

    def test_creating_an_existing_ticket_conflicts(
        self, store: TicketStore, clock: FakeClock
    ) -> None:
        """A change with expected version 0 for a stored ticket raises `ConflictError`."""
        ticket = _desk(store, clock).open_ticket(subject="x", requester=_ANN)
        before = _snapshot(store, clock.now())
        with pytest.raises(ConflictError) as got:
            store.commit([Change(ticket, 0, due_at=START, outbox=(0,))])
        assert (ticket.id, 0, 1) == (
            got.value.ticket_id,
            got.value.expected_version,
            got.value.actual_version,
        )
        assert before == _snapshot(store, clock.now())

    def test_a_stale_change_conflicts_and_writes_nothing(
        self, store: TicketStore, clock: FakeClock
    ) -> None:
        """A stale change raises `ConflictError` with both versions and writes nothing.

        Nothing means nothing: not the ticket, not the due index, not the outbox.
        """
        desk = _desk(store, clock)
        first = desk.open_ticket(subject="x", requester=_ANN)
        desk.agent_reply(first.id, "hello", by="bob")  # stored: version 2
        before = _snapshot(store, clock.now())
        stale = _next_version(first, "written by a slow worker")  # version 2, read at 1
        with pytest.raises(ConflictError) as got:
            store.commit([Change(stale, 1, due_at=START, outbox=(1,))])
        assert (first.id, 1, 2) == (
            got.value.ticket_id,
            got.value.expected_version,
            got.value.actual_version,
        )
        assert before == _snapshot(store, clock.now())

    def test_changing_a_missing_ticket_conflicts(
        self, store: TicketStore, clock: FakeClock
    ) -> None:
        """An update (expected version 1) of a ticket the store lacks conflicts with version 0."""
        ticket = _desk(MemoryStore(), clock).open_ticket(subject="x", requester=_ANN)
        with pytest.raises(ConflictError) as got:
            store.commit([Change(_next_version(ticket, "n"), 1)])
        assert (ticket.id, 1, 0) == (
            got.value.ticket_id,
            got.value.expected_version,
            got.value.actual_version,
        )
        assert store.count() == 0
        with pytest.raises(TicketNotFound):
            store.get(ticket.id)

    @pytest.mark.parametrize("stale_first", [False, True], ids=["stale-last", "stale-first"])
    def test_a_commit_is_all_or_nothing(
        self, store: TicketStore, clock: FakeClock, stale_first: bool
    ) -> None:
        """One stale change fails the whole commit: its valid changes are not written either.

        The valid changes are an update with a due time and outbox entries, and a new ticket.
        """
        desk = _desk(store, clock)
        good = desk.open_ticket(subject="good", requester=_ANN)
        stale_ticket = desk.open_ticket(subject="stale", requester=_ANN)
        desk.agent_reply(stale_ticket.id, "moved on", by="bob")
        fresh = _desk(MemoryStore(), clock, ids=_listed_ids(["NEW"])).open_ticket(
            subject="new", requester=_BOB
        )
        before = _snapshot(store, clock.now())
        valid = [
            Change(_next_version(good, "update"), 1, due_at=START, outbox=(0, 1)),
            Change(fresh, 0, due_at=START, outbox=(0,)),
        ]
        stale = Change(_next_version(stale_ticket, "late"), 1)
        with pytest.raises(ConflictError) as got:
            store.commit([stale, *valid] if stale_first else [*valid, stale])
        assert (stale_ticket.id, 1, 2) == (
            got.value.ticket_id,
            got.value.expected_version,
            got.value.actual_version,
        )
        assert before == _snapshot(store, clock.now())
        with pytest.raises(TicketNotFound):
            store.get("NEW")

    @pytest.mark.parametrize("steps", [0, 2], ids=["same-version", "skips-a-version"])
    def test_a_malformed_version_is_a_store_error_not_a_conflict(
        self, store: TicketStore, clock: FakeClock, steps: int
    ) -> None:
        """A ticket version other than expected + 1 is a `StoreError`, and nothing is written.

        The expected version is right, so it is not a `ConflictError` (retrying cannot
        help); the valid change before it in the commit is not written either.
        """
        desk = _desk(store, clock)
        good = desk.open_ticket(subject="good", requester=_ANN)
        bad = desk.open_ticket(subject="bad", requester=_ANN)
        before = _snapshot(store, clock.now())
        malformed = bad  # version 1, then 3: never the 2 that expected version 1 calls for
        for n in range(steps):
            malformed = _next_version(malformed, f"oops {n}")
        with pytest.raises(StoreError) as got:
            store.commit(
                [
                    Change(_next_version(good, "fine"), 1, due_at=START, outbox=(1,)),
                    Change(malformed, 1),
                ]
            )
        assert not isinstance(got.value, ConflictError)
        assert bad.id in str(got.value)
        assert before == _snapshot(store, clock.now())

    def test_an_empty_commit_changes_nothing(self, store: TicketStore, clock: FakeClock) -> None:
        """``commit([])`` succeeds and changes nothing."""
        _desk(store, clock).open_ticket(subject="x", requester=_ANN)
        before = _snapshot(store, clock.now())
        store.commit([])
        assert before == _snapshot(store, clock.now())

    def test_one_of_several_racing_writers_wins(self, store: TicketStore, clock: FakeClock) -> None:
        """Of eight threads committing version 2 of one ticket at once, exactly one wins.

        The seven others get `ConflictError` (actual version 2); the winner's is stored.
        """
        ticket = _desk(store, clock).open_ticket(subject="x", requester=_ANN)
        writers = 8
        barrier = threading.Barrier(writers)
        won: list[Ticket] = []
        lost: list[ConflictError] = []
        failed: list[BaseException] = []

        def write(n: int) -> None:
            mine = _next_version(ticket, f"writer {n}")
            barrier.wait(timeout=10)
            try:
                store.commit([Change(mine, 1)])
            except ConflictError as exc:
                lost.append(exc)
            except BaseException as exc:  # noqa: BLE001 - reported by the asserts below
                failed.append(exc)
            else:
                won.append(mine)

        threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert [] == failed
        assert 1 == len(won)
        assert [2] * (writers - 1) == [exc.actual_version for exc in lost]
        assert won[0] == store.get(ticket.id)

    # --- find -------------------------------------------------------------------

    _QUERIES: ClassVar[dict[str, TicketQuery]] = {
        "everything": TicketQuery(),
        "one-status": TicketQuery(statuses=frozenset({"new"})),
        "two-statuses": TicketQuery(statuses=frozenset({"answered", "resolved"})),
        "no-status": TicketQuery(statuses=frozenset()),
        "assignee": TicketQuery(assignee="ann"),
        "department": TicketQuery(department="it"),
        "priority": TicketQuery(priority=Priority.HIGH),
        "low-priority": TicketQuery(priority=Priority.LOW),
        "tag": TicketQuery(tag="vip"),
        "tag-of-purged": TicketQuery(tag="gdpr"),  # a purge erases tags: nothing
        "tag-and-assignee": TicketQuery(tag="vip", assignee="ann"),
        "requester": TicketQuery(requester="Ann@Example.com"),
        "requester-and-priority": TicketQuery(requester="ann@example.com", priority=Priority.HIGH),
        "requester-with-limit": TicketQuery(requester="ann@example.com", limit=2),
        "status-and-priority": TicketQuery(statuses=frozenset({"new"}), priority=Priority.HIGH),
        "all-criteria": TicketQuery(
            statuses=frozenset({"new", "answered"}),
            assignee="ann",
            department="it",
            priority=Priority.HIGH,
            tag="vip",
        ),
        "limit": TicketQuery(limit=3),
        "limit-zero": TicketQuery(limit=0),
        "tag-with-limit": TicketQuery(tag="vip", limit=1),
        "status-with-limit": TicketQuery(statuses=frozenset({"new"}), limit=2),
        "nobody": TicketQuery(assignee="nobody"),
        "unknown-tag": TicketQuery(tag="no-such-tag"),
    }

    def _find_fixture(self, store: TicketStore, clock: FakeClock) -> list[Ticket]:
        """Tickets of varied fields, created out of id order; return them as stored."""
        ids = ["T7", "T3", "T5", "T1", "T6", "T2", "T4", "T8"]
        desk = _desk(store, clock, ids=_listed_ids(ids))
        made = [
            desk.open_ticket(
                subject="a", requester=_ANN, assignee="ann", department="it", tags=["vip"]
            ),
            desk.open_ticket(subject="b", requester=_BOB, priority="high", tags=["vip", "bug"]),
            desk.open_ticket(
                subject="c",
                requester=_ANN,
                assignee="ann",
                department="it",
                priority="high",
                tags=["vip"],
            ),
            desk.open_ticket(subject="d", requester=_BOB, department="sales", priority="low"),
            desk.open_ticket(subject="e", requester=_ANN, assignee="eve", tags=["bug"]),
            desk.open_ticket(subject="f", requester=_ANN, assignee="ann", priority="high"),
            desk.open_ticket(subject="g", requester=_BOB, tags=["gdpr"]),
            desk.open_ticket(subject="h", requester=_ANN, assignee="bob", department="it"),
        ]
        desk.agent_reply("T3", "answered", by="bob")  # answered
        desk.agent_reply("T5", "answered", by="bob")
        desk.resolve("T1", by="bob")  # resolved
        desk.remove_tags("T6", "bug", by="bob")  # no tag left
        desk.assign("T8", "ann", by="bob")  # moved to ann
        desk.set_priority("T8", "high", by="bob")
        desk.add_tags("T8", "vip", by="bob")
        desk.purge(
            "T4", by=Actor("dpo", Role.ADMIN)
        )  # a tombstone keeps no tag (they may be personal)
        desk.merge("T2", "T3", allow_other_requester=True, by="bob")
        return [store.get(t.id) for t in made]

    @pytest.mark.parametrize("name", list(_QUERIES))
    def test_find_matches_every_criterion_ordered_by_id(
        self, store: TicketStore, clock: FakeClock, name: str
    ) -> None:
        """``find`` returns the tickets matching every criterion, ordered by id, up to ``limit``.

        Tickets come back as stored, in id order (not in creation or update order).
        """
        query = self._QUERIES[name]
        tickets = self._find_fixture(store, clock)
        matching = sorted((t for t in tickets if query.matches(t)), key=lambda t: t.id)
        expected = matching if query.limit is None else matching[: query.limit]
        assert expected == store.find(query)

    def test_the_find_fixture_exercises_every_query(
        self, store: TicketStore, clock: FakeClock
    ) -> None:
        """(Self-check of the suite.) Each query matches some tickets, not all.

        The empty queries aside, so that `test_find_matches_every_criterion_ordered_by_id`
        can fail.
        """
        tickets = self._find_fixture(store, clock)
        empty = {"no-status", "limit-zero", "nobody", "unknown-tag", "tag-of-purged"}
        for name, query in self._QUERIES.items():
            hits = [t for t in tickets if query.matches(t)]
            if name in empty or query.limit is not None:
                continue
            assert hits, name
            assert name == "everything" or len(hits) < len(tickets), name

    # --- count ------------------------------------------------------------------

    def test_count_counts_every_stored_ticket(self, store: TicketStore, clock: FakeClock) -> None:
        """``count`` is the number of tickets stored, merged and purged ones included."""
        desk = _desk(store, clock)
        ids = [desk.open_ticket(subject=str(n), requester=_ANN).id for n in range(5)]
        assert 5 == store.count()
        desk.merge(ids[0], ids[1], allow_other_requester=True, by="bob")
        desk.purge(ids[2], by=Actor("dpo", Role.ADMIN))
        desk.agent_reply(ids[3], "hi", by="bob")
        assert 5 == store.count()
