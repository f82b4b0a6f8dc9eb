# ruff: noqa: S101, SIM300
# This module is a test suite shipped as a library: pytest's bare asserts are its
# language (pytest rewrites them, as it does in every module of a plugin's
# distribution), and they read `assert expected == actual` (CONVENTIONS.md 7).
"""The store contract suite: the tests every `TicketStore` backend must pass.

Subclass `StoreContract` in a pytest module of your backend's test suite and
give it a ``make_store`` fixture; pytest then runs every test of the contract
on your store::

    import pytest
    from ticketflow.testing import StoreContract

    from my_backend import MyStore


    class TestMyStore(StoreContract):
        @pytest.fixture
        def make_store(self, tmp_path):
            # A factory of fresh, empty stores: the suite calls it once per
            # store it needs (some tests open two) and closes each store itself.
            names = iter(range(1_000_000))
            return lambda: MyStore(tmp_path / f"store-{next(names)}.db")

        @pytest.fixture
        def reopen_store(self):
            # Optional: a durable store is closed by the suite, then reopened
            # on the same data; leave this out and the durability tests skip.
            return lambda closed: MyStore(closed.path)

The suite checks every guarantee the `TicketStore` docstrings state, on
tickets made by a real `ticketflow.Helpdesk` on a `ticketflow.FakeClock`
(merges, which commit two changes at once, and purges, which rewrite a
timeline, included): reading back what was committed, `TicketNotFound`,
optimistic concurrency and its `ConflictError` fields, atomic multi-change
commits, `find` by every `TicketQuery` field, the due index, claims and their
lease, the outbox, the work queue (`TicketStore.queue`: its order, filters and
limit) and `TicketStore.reindex`, ``count``, durability across a reopen, and, last, a
Hypothesis state machine (`StoreAgreementMachine`) that drives random
workloads through your store and a `MemoryStore` side by side and asserts
they agree after every step.

This module imports pytest and Hypothesis (the ``test`` extra);
``ticketflow.testing`` loads it only when `StoreContract` is first used.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, Final, TypeAlias

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from .._apply import apply_event
from .._clock import FakeClock
from .._engine import Helpdesk
from .._model import Actor, Event, EventKind, Priority, Requester, Role, Ticket
from .._workflow import Workflow
from ..exceptions import (
    ConflictError,
    InvalidInputError,
    StoreError,
    TicketflowError,
    TicketNotFound,
)
from ..rules import Rule, confirmation, from_dicts, inactivity, wake_postponed
from ..sla import SlaPolicy
from ..stores import (
    Change,
    IndexUpdate,
    MemoryStore,
    OutboxEntry,
    QueueKey,
    TicketQuery,
    TicketStore,
)
from .strategies import apply_command, commands, open_ticket_kwargs, presets

__all__ = [
    "LEASE",
    "START",
    "StoreAgreementMachine",
    "StoreContract",
    "StoreFactory",
    "StoreReopener",
]

StoreFactory: TypeAlias = Callable[[], TicketStore]
"""Makes a fresh, empty store each time it is called (the ``make_store`` fixture)."""

StoreReopener: TypeAlias = Callable[[TicketStore], TicketStore]
"""Opens a new store object on the data of a store the suite has just closed."""

START: Final = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
"""Where the suite's fake clocks start: Monday 2026-01-05 09:00 UTC."""

LEASE: Final = timedelta(seconds=60)
"""The lease the suite claims due tickets and outbox entries for, unless a test says otherwise."""

_US: Final = timedelta(microseconds=1)
_FAR: Final = datetime(2100, 1, 1, tzinfo=UTC)
_MANY: Final = 10_000
_ANN: Final = Requester(
    name="Ann Example",
    email="ann@example.com",
    contacts={"phone": "+32 2 555 01 01"},
    organisation="Example NV",
)
_BOB: Final = Requester(name="Bob Ünïcode ✓", email=None)
_AGENT: Final = Actor("agent-7", Role.AGENT)


def _sequential_ids(prefix: str = "T") -> Callable[[datetime], str]:
    """An id factory giving ``T000001``, ``T000002``...: sorted ids, the same on every run."""
    numbers = itertools.count(1)
    return lambda _at: f"{prefix}{next(numbers):06d}"


def _listed_ids(ids: Sequence[str]) -> Callable[[datetime], str]:
    """An id factory handing out ``ids`` in order (to create tickets out of id order)."""
    remaining = iter(ids)
    return lambda _at: next(remaining)


def _desk(
    store: TicketStore,
    clock: FakeClock,
    *,
    ids: Callable[[datetime], str] | None = None,
    rules: Sequence[Rule] = (),
    outbox: Sequence[EventKind | str] = (),
) -> Helpdesk:
    """A LiveAgent help desk on ``store`` with deterministic ids and only the given rules."""
    return Helpdesk(
        store=store,
        clock=clock,
        id_factory=ids or _sequential_ids(),
        rules=rules,
        outbox=outbox,
    )


def _next_version(ticket: Ticket, body: str, at: datetime | None = None) -> Ticket:
    """Return ``ticket`` one version on, with an internal note (a valid next snapshot)."""
    event = Event(
        kind=EventKind.NOTE_ADDED,
        at=at or ticket.updated_at,
        actor=_AGENT,
        status_before=ticket.status,
        status_after=ticket.status,
        data={"body": body},
        version=ticket.version + 1,
    )
    return apply_event(ticket, event)


def _assigned(ticket: Ticket, **data: str | None) -> Ticket:
    """Return ``ticket`` one version on, reassigned (``assignee=`` and/or ``department=``)."""
    event = Event(
        kind=EventKind.ASSIGNED,
        at=ticket.updated_at,
        actor=_AGENT,
        status_before=ticket.status,
        status_after=ticket.status,
        data=dict(data),
        version=ticket.version + 1,
    )
    return apply_event(ticket, event)


def _put(
    store: TicketStore,
    ticket: Ticket,
    *,
    due_at: datetime | None = None,
    outbox: tuple[int, ...] = (),
    queue: QueueKey | None = None,
) -> None:
    """Commit ``ticket`` as the next version of what ``store`` holds (or as new)."""
    store.commit([Change(ticket, ticket.version - 1, due_at=due_at, outbox=outbox, queue=queue)])


def _queued(store: TicketStore, assignee: str | None = None, department: str | None = None) -> str:
    """The ids of the whole work queue (filtered as given), joined: ``"bcd"``."""
    return "".join(t.id for t in store.queue(assignee=assignee, department=department, limit=_MANY))


def _snapshot(store: TicketStore, now: datetime) -> dict[str, object]:
    """Everything a store answers without changing anything, for before/after comparisons."""
    tickets = store.find(TicketQuery())
    return {
        "tickets": tickets,
        "events": [store.events(t.id) for t in tickets],
        "due": [t.id for t in store.due(_FAR, _MANY)],
        "due_now": [t.id for t in store.due(now, _MANY)],
        "next_due_at": store.next_due_at(),
        "count": store.count(),
        "outbox_pending": store.outbox_pending(),
        "queue": store.queue(assignee=None, department=None, limit=_MANY),
    }


class _Opened:
    """The stores a contract test opened: made by the factory, closed at teardown."""

    def __init__(self, make_store: StoreFactory, reopen_store: StoreReopener | None) -> None:
        self._make = make_store
        self._reopen = reopen_store
        self.open: list[TicketStore] = []

    def new(self) -> TicketStore:
        store = self._make()
        if not isinstance(store, TicketStore):
            pytest.fail(f"make_store returned {type(store).__name__}, which is not a TicketStore")
        self.open.append(store)
        return store

    def reopen(self, store: TicketStore) -> TicketStore:
        if self._reopen is None:
            pytest.skip("the store is not durable (no reopen_store fixture)")
        self.open.remove(store)
        store.close()
        again = self._reopen(store)
        self.open.append(again)
        return again

    def close_all(self) -> None:
        while self.open:
            self.open.pop().close()


class StoreContract:
    """Base class of the store contract suite: subclass it, give it ``make_store``.

    Fixtures a subclass provides:

    * ``make_store`` (required): returns a `StoreFactory`, a callable that
      returns a fresh, empty store each time it is called. The suite calls it
      once per store it needs and closes every store it gets; the fixture may
      clean up other resources (files, schemas) after the test, as a yield
      fixture.
    * ``reopen_store`` (optional): returns a `StoreReopener`, a callable that
      takes a store the suite has just closed and returns a new store object on
      the same data (as a new process would open it). The default returns
      None: the store is not durable and the durability tests are skipped.

    Class attributes and methods a subclass may override:

    * `agreement_settings`: the Hypothesis settings of the state-machine test
      (by default a twentieth of the active profile's examples, at least 10,
      of `agreement_step_count` steps each).

    Every test is a method named ``test_...``, so pytest runs them all in the
    subclass; a failing test names the guarantee it checks in its docstring. The
    suite's own fixtures are ``store`` (a fresh store), ``clock`` (a `FakeClock`
    at `START`) and ``contract_stores``: a subclass should not define fixtures of
    these names.
    """

    agreement_step_count: ClassVar[int] = 30
    """Steps per example of `test_agrees_with_memory_store_on_random_workloads`."""

    # --- the fixtures a backend provides --------------------------------------------

    @pytest.fixture
    def make_store(self) -> StoreFactory:
        """Return a factory of fresh, empty stores (a subclass must override this)."""
        pytest.fail(
            f"{type(self).__name__} must define a make_store fixture returning a "
            "callable that makes fresh, empty stores"
        )

    @pytest.fixture
    def reopen_store(self) -> StoreReopener | None:
        """Return a reopener for durable stores, or None (the default: not durable)."""
        return None

    @pytest.fixture
    def contract_stores(
        self, make_store: StoreFactory, reopen_store: StoreReopener | None
    ) -> Iterator[_Opened]:
        """The stores a test opens, closed when it ends."""
        opened = _Opened(make_store, reopen_store)
        yield opened
        opened.close_all()

    @pytest.fixture
    def store(self, contract_stores: _Opened) -> TicketStore:
        """A fresh, empty store of the backend under test."""
        return contract_stores.new()

    @pytest.fixture
    def clock(self) -> FakeClock:
        """A fake clock at `START`."""
        return FakeClock(START)

    def agreement_settings(self) -> settings:
        """Return the Hypothesis settings of the state-machine test.

        By default: the active profile (``settings.load_profile``), with a twentieth
        of its examples (at least 10), `agreement_step_count` steps each and no
        deadline. Each example opens a store, so a backend that opens slowly may
        want fewer; override this method to change them.
        """
        profile = settings()
        return settings(
            profile,
            max_examples=max(10, profile.max_examples // 20),
            stateful_step_count=self.agreement_step_count,
            deadline=None,
        )

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
        merged_target = desk.merge(source.id, target.id, by="bob")
        merged_source = store.get(source.id)
        assert merged_target == store.get(target.id)
        assert merged_target.timeline == store.events(target.id)
        assert target.version + 1 == merged_target.version
        assert source.version + 1 == merged_source.version
        assert target.id == merged_source.merged_into
        assert merged_source.timeline[:-1] == source.timeline
        assert EventKind.MERGED == merged_source.timeline[-1].kind
        assert merged_source.timeline == store.events(source.id)

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
        tombstone = desk.purge(ticket.id, by="dpo")
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
        "tag-of-purged": TicketQuery(tag="gdpr"),
        "tag-and-assignee": TicketQuery(tag="vip", assignee="ann"),
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
        desk.purge("T4", by="dpo")  # a tombstone keeps its tags and stays findable
        desk.merge("T2", "T3", by="bob")
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
        empty = {"no-status", "limit-zero", "nobody", "unknown-tag"}
        for name, query in self._QUERIES.items():
            hits = [t for t in tickets if query.matches(t)]
            if name in empty or query.limit is not None:
                continue
            assert hits, name
            assert name == "everything" or len(hits) < len(tickets), name

    # --- the due index and claims --------------------------------------------------

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

    # --- the work queue and reindex -------------------------------------------------

    _QUEUE_ORDER: ClassVar[str] = "bcdeafg"
    """The fixture's queue: b has the earliest SLA due time; c, d, e and a share one,
    c has waited longest, d and e outrank a and tie with each other (id order); f
    and g have no SLA due time (last), f outranks g; h is not queued."""

    def _queue_fixture(self, store: TicketStore) -> dict[str, Ticket]:
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

    def test_queue_orders_by_sla_due_then_waiting_since_then_priority_then_id(
        self, store: TicketStore
    ) -> None:
        """The queue is ordered by SLA due time (none last), wait, priority (highest first), id.

        Tickets committed without a queue key are not in it; the tickets come back
        as stored.
        """
        tickets = self._queue_fixture(store)
        queue = store.queue(assignee=None, department=None, limit=_MANY)
        assert self._QUEUE_ORDER == "".join(t.id for t in queue)
        assert [tickets[tid] for tid in self._QUEUE_ORDER] == queue

    def test_queue_returns_at_most_limit_tickets_from_the_front(self, store: TicketStore) -> None:
        """``limit`` cuts the queue from the front, filtered or not."""
        self._queue_fixture(store)
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
        tickets = self._queue_fixture(store)
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
        tickets = self._queue_fixture(store)
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
        tickets = self._queue_fixture(store)
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

    def test_reindex_applies_only_to_tickets_still_at_the_version(self, store: TicketStore) -> None:
        """``reindex`` sets due time and queue key where the version matches, skips the rest.

        Stale versions and missing tickets are skipped; the count says how many applied;
        a key of None takes a ticket out of the queue.
        """
        tickets = self._queue_fixture(store)
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

    # --- the outbox -------------------------------------------------------------

    _OUTBOX_KINDS: ClassVar[tuple[str, ...]] = (
        "created",
        "agent_replied",
        "confirmed",
        "closed",
    )

    def _outbox_fixture(self, store: TicketStore, clock: FakeClock) -> list[OutboxEntry]:
        """Commit tickets through a help desk with an outbox; return the expected entries."""
        desk = _desk(store, clock, rules=[confirmation()], outbox=self._OUTBOX_KINDS)
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
        desk = _desk(store, clock, rules=[confirmation()], outbox=self._OUTBOX_KINDS)
        seen: list[tuple[str, Event]] = []
        desk.subscribe(lambda ticket, event: seen.append((ticket.id, event)))
        assert len(expected) == desk.dispatch()
        stored = [(e.ticket_id, store.get(e.ticket_id).timeline[e.position]) for e in expected]
        assert stored == seen
        assert 0 == store.outbox_pending()

    # --- count ------------------------------------------------------------------

    def test_count_counts_every_stored_ticket(self, store: TicketStore, clock: FakeClock) -> None:
        """``count`` is the number of tickets stored, merged and purged ones included."""
        desk = _desk(store, clock)
        ids = [desk.open_ticket(subject=str(n), requester=_ANN).id for n in range(5)]
        assert 5 == store.count()
        desk.merge(ids[0], ids[1], by="bob")
        desk.purge(ids[2], by="dpo")
        desk.agent_reply(ids[3], "hi", by="bob")
        assert 5 == store.count()

    # --- durability -------------------------------------------------------------

    def test_a_reopened_store_holds_everything_committed(
        self, contract_stores: _Opened, clock: FakeClock
    ) -> None:
        """Closed and reopened, a durable store answers as before.

        Tickets and timelines (after a merge and a purge), ``find``, the due index, claims
        and outbox entries with their attempts all survive.
        """
        store = contract_stores.new()
        desk = _desk(
            store, clock, rules=[wake_postponed(), confirmation()], outbox=self._OUTBOX_KINDS
        )
        a = desk.open_ticket(subject="a", requester=_ANN, tags=["vip"], assignee="ann")
        b = desk.open_ticket(subject="b", requester=_BOB, priority="high")
        c = desk.open_ticket(subject="c", requester=_ANN, description="private")
        d = desk.open_ticket(subject="d", requester=_ANN)
        desk.agent_reply(a.id, "hello", by="bob")
        desk.postpone(a.id, clock.now() + timedelta(hours=1), by="bob")
        desk.postpone(d.id, clock.now() + timedelta(hours=2), by="bob")
        desk.merge(b.id, d.id, by="bob")
        desk.purge(c.id, by="dpo")
        now = clock.advance(hours=3)
        claimed = store.claim_due(now, 1, LEASE)
        outbox = store.claim_outbox(now, 2, LEASE)
        before = _snapshot(store, now)

        store = contract_stores.reopen(store)
        assert before == _snapshot(store, now)
        assert [a.id] == [t.id for t in claimed]
        assert [] == [t.id for t in store.claim_due(now, 10, LEASE) if t.id == a.id]
        assert [] == [e for e in store.claim_outbox(now, 10, LEASE) if e in outbox]
        retried = store.claim_outbox(now + LEASE, 10, LEASE)
        assert [e._replace(attempts=2) for e in outbox] == retried[: len(outbox)]

    def test_a_refused_commit_leaves_nothing_behind_after_reopen(
        self, contract_stores: _Opened, clock: FakeClock
    ) -> None:
        """What a conflicting commit tried to write is not there after a reopen either."""
        store = contract_stores.new()
        desk = _desk(store, clock)
        good = desk.open_ticket(subject="good", requester=_ANN)
        stale = desk.open_ticket(subject="stale", requester=_ANN)
        desk.agent_reply(stale.id, "moved on", by="bob")
        before = _snapshot(store, clock.now())
        with pytest.raises(ConflictError):
            store.commit(
                [
                    Change(_next_version(good, "update"), 1, due_at=START, outbox=(1,)),
                    Change(_next_version(stale, "late"), 1),
                ]
            )
        store = contract_stores.reopen(store)
        assert before == _snapshot(store, clock.now())

    # --- random workloads, side by side with MemoryStore ----------------------------

    def test_agrees_with_memory_store_on_random_workloads(
        self, make_store: StoreFactory, reopen_store: StoreReopener | None
    ) -> None:
        """Random workloads leave this store and a `MemoryStore` agreeing after every step.

        Commands, merges, purges, time passing, rules firing, claims, outbox delivery and
        reopening durable stores; the stores must hold the same tickets and timelines and
        agree on due tickets and the outbox (see `StoreAgreementMachine`).
        """
        run_state_machine_as_test(
            StoreAgreementMachine.bind(make_store, reopen_store),
            settings=self.agreement_settings(),
        )


# --- the state machine ---------------------------------------------------------------

_DELAYS: Final = st.sampled_from(
    (timedelta(minutes=1), timedelta(minutes=20), timedelta(hours=1), timedelta(hours=3))
) | st.timedeltas(timedelta(0), timedelta(days=2))
_LIMITS: Final = st.integers(1, 5)
_LEASES: Final = st.sampled_from((timedelta(0), timedelta(minutes=1), timedelta(hours=2)))
_Outcome: TypeAlias = tuple[str, Any]
# Few distinct values, so that keys tie on every field and the tie-breaks count.
_QUEUE_KEYS: Final = st.none() | st.builds(
    QueueKey,
    sla_due=st.sampled_from((None, START, START + timedelta(hours=1))),
    waiting_since=st.sampled_from((START - timedelta(hours=1), START)),
    priority=st.integers(1, 4),
)


def _rules_of(workflow: Workflow) -> list[Rule]:
    """The workflow's default rules plus inactivity reminders, which notify (the outbox).

    One reminder per status a ticket can sit in, after 1, 2, 3... hours: most
    tickets have a due time, and the steps of a few hours make them fall due.
    """
    open_statuses = [s.name for s in workflow.statuses if not workflow.is_locked(s.name)]
    return [
        *from_dicts(workflow.rules),
        *(
            inactivity(status=name, after=timedelta(hours=n), then="remind")
            for n, name in enumerate(open_statuses, start=1)
        ),
    ]


_MACHINE_SLA: Final = (
    SlaPolicy(
        "contract",
        targets={
            priority: {"first_reply": "2h", "next_reply": "4h", "resolution": "1d"}
            for priority in ("low", "normal", "high", "urgent")
        },
        warn_before="30m",
        escalations=[{"level": 1, "notify": "lead"}],
    ),
)


class StoreAgreementMachine(RuleBasedStateMachine):
    """Drive a store under test and a `MemoryStore` with the same random workload.

    Each example draws a preset workflow (random settings) and runs two help
    desks, one per store, on one `FakeClock`, with the workflow's default rules
    plus inactivity reminders, an SLA policy with warnings and an escalation (so
    the queue keys carry SLA due times and sweeps commit SLA events), the default
    outbox kinds, and the same deterministic ids. Steps: open a ticket, run a random command on one
    (`ticketflow.testing.commands`, merges and purges included, invalid
    arguments too), advance the clock, ``run_due``, ``claim_due``, claim and
    acknowledge outbox entries, ``dispatch`` to a subscriber, ``reindex`` with
    random queue keys (stale versions and missing tickets included),
    ``reschedule``, and (when a reopener is given) close and reopen the store under
    test. Each step must have the same outcome on both desks (the same ticket, or
    the same error), and after every step both stores must hold the same tickets
    and timelines and agree on ``find``, ``due``, ``next_due_at``, ``count``,
    ``outbox_pending`` and ``queue`` (unfiltered, and by an assignee, a
    department and both).

    `StoreContract` runs it; to run it on its own, with settings of your own, bind
    it to your store (`bind`) and use the bound class's ``TestCase``::

        from hypothesis import settings

        TestMyStoreAgreement = StoreAgreementMachine.bind(MyStore).TestCase
        TestMyStoreAgreement.settings = settings(max_examples=500)

    Args:
        make_store: Makes a fresh, empty store of the backend under test (one per example).
        reopen_store: Reopens a closed store on its data, or None if it is not durable.
    """

    def __init__(self, make_store: StoreFactory, reopen_store: StoreReopener | None) -> None:
        super().__init__()
        self._make_store = make_store
        self._reopen_store = reopen_store
        self.clock = FakeClock(START)
        self.store = make_store()
        self.model = MemoryStore()
        self.store_ids = _sequential_ids()
        self.model_ids = _sequential_ids()
        self.ids: list[str] = []
        self.checked: dict[str, int] = {}  # ticket id -> version last compared by get
        self.workflow: Workflow | None = None
        self.desk_rules: list[Rule] = []

    @classmethod
    def bind(
        cls, make_store: StoreFactory, reopen_store: StoreReopener | None = None
    ) -> type[StoreAgreementMachine]:
        """Return a subclass whose constructor takes no arguments, bound to these stores.

        That is what ``run_state_machine_as_test`` and a ``TestCase`` need.

        Args:
            make_store: Makes a fresh, empty store of the backend under test.
            reopen_store: Reopens a closed store on its data, or None if it is not durable.
        """

        def construct(self: StoreAgreementMachine) -> None:
            cls.__init__(self, make_store, reopen_store)

        # type() rather than a class statement: ``cls`` may be a subclass with more rules.
        return type(f"Bound{cls.__name__}", (cls,), {"__init__": construct})

    # --- plumbing ----------------------------------------------------------------

    def _desks(self) -> tuple[Helpdesk, Helpdesk]:
        """(desk on the store under test, desk on the model) with the same settings."""
        return (
            Helpdesk(
                self.workflow,
                store=self.store,
                clock=self.clock,
                id_factory=self.store_ids,
                rules=self.desk_rules,
                sla=_MACHINE_SLA,
            ),
            Helpdesk(
                self.workflow,
                store=self.model,
                clock=self.clock,
                id_factory=self.model_ids,
                rules=self.desk_rules,
                sla=_MACHINE_SLA,
            ),
        )

    @staticmethod
    def _outcome(action: Callable[[], object]) -> _Outcome:
        try:
            return ("returned", action())
        except StoreError as exc:
            # A store error is the backend's alone: the model never raises one.
            return ("store error", f"{type(exc).__name__}: {exc}")
        except TicketflowError as exc:
            return ("refused", f"{type(exc).__name__}: {exc}")

    def _same(self, action: Callable[[Helpdesk], object]) -> object:
        """Run ``action`` on both desks; assert the same outcome; return the model's result."""
        desk, model_desk = self._desks()
        expected = self._outcome(lambda: action(model_desk))
        actual = self._outcome(lambda: action(desk))
        assert expected == actual
        self.ids = [t.id for t in self.model.find(TicketQuery())]
        return expected[1]

    # --- steps -------------------------------------------------------------------

    @initialize(workflow=presets())
    def use_workflow(self, workflow: Workflow) -> None:
        """Draw the workflow both help desks run."""
        self.workflow = workflow
        self.desk_rules = _rules_of(workflow)

    @rule(kwargs=open_ticket_kwargs())
    def open_ticket(self, kwargs: Any) -> None:
        """Open a ticket on both desks."""
        self._same(lambda desk: desk.open_ticket(**kwargs))

    @precondition(lambda self: bool(self.ids))
    @rule(data=st.data())
    def command(self, data: st.DataObject) -> None:
        """Run one random command (merges and purges included) on a ticket on both desks."""
        ticket_id = data.draw(st.sampled_from(self.ids), label="ticket")
        others = tuple(i for i in self.ids if i != ticket_id)
        step = data.draw(commands(self.workflow, merge_into=others, invalid=True), label="step")
        self._same(lambda desk: apply_command(desk, ticket_id, step))

    @rule(delay=_DELAYS)
    def advance(self, delay: timedelta) -> None:
        """Let time pass."""
        self.clock.advance(delay)

    @rule(lease=_LEASES)
    def run_due(self, lease: timedelta) -> None:
        """Fire the time rules due now on both desks."""
        self._same(lambda desk: desk.run_due(lease=lease))

    @rule(limit=_LIMITS, lease=_LEASES)
    def claim_due(self, limit: int, lease: timedelta) -> None:
        """Claim due tickets directly (as a crashed worker would, leaving the claims)."""
        now = self.clock.now()
        self._same(lambda desk: desk.store.claim_due(now, limit, lease))

    @rule(limit=_LIMITS, lease=_LEASES, ack=st.booleans())
    def claim_outbox(self, limit: int, lease: timedelta, ack: bool) -> None:
        """Claim outbox entries directly, and acknowledge them or leave them claimed."""
        now = self.clock.now()
        entries = self._same(lambda desk: desk.store.claim_outbox(now, limit, lease))
        if ack and isinstance(entries, list) and entries:
            keys = [(e.ticket_id, e.position) for e in entries]
            self._same(lambda desk: desk.store.ack_outbox(keys))

    @rule()
    def dispatch(self) -> None:
        """Deliver the pending outbox entries to a subscriber on both desks."""

        def deliver(desk: Helpdesk) -> object:
            seen: list[tuple[str, Event]] = []
            stop = desk.subscribe(lambda ticket, event: seen.append((ticket.id, event)))
            try:
                return (desk.dispatch(lease=LEASE), seen)
            finally:
                stop()

        self._same(deliver)

    @precondition(lambda self: bool(self.ids))
    @rule(data=st.data())
    def reindex(self, data: st.DataObject) -> None:
        """Reindex a few tickets (or missing ones) at their version or a stale one.

        With random queue keys, and the due time the help desk computes (a due
        time no rule stands behind would only test the engine's sweep).
        """
        picked = data.draw(
            st.lists(st.sampled_from([*self.ids, "missing"]), max_size=4), label="tickets"
        )
        model_desk = self._desks()[1]
        updates = []
        for ticket_id in picked:
            version, due_at = 1, None
            if ticket_id in self.ids:
                version = self.model.get(ticket_id).version
                due = model_desk.next_due(ticket_id)
                due_at = None if due is None else due.at
            stale = data.draw(st.sampled_from((0, 0, 1)), label="stale")
            key = data.draw(_QUEUE_KEYS, label="queue")
            updates.append(IndexUpdate(ticket_id, version - stale, due_at, key))
        self._same(lambda desk: desk.store.reindex(updates))

    @rule()
    def reschedule(self) -> None:
        """Recompute every due time and queue key through the help desks (``reindex``)."""
        self._same(lambda desk: desk.reschedule())

    @precondition(lambda self: self._reopen_store is not None)
    @rule(now=st.integers(0, 2))
    def reopen(self, now: int) -> None:
        """Close the store under test and open it again on its data.

        Only one time in three: opening costs more than any other step.
        """
        assert self._reopen_store is not None
        if now:
            return
        self.store.close()
        self.store = self._reopen_store(self.store)
        self.checked.clear()

    # --- after every step --------------------------------------------------------

    @invariant()
    def stores_agree(self) -> None:
        """Both stores hold the same tickets and answer every read the same.

        ``find`` compares every ticket, timelines included; ``get`` and ``events``
        are compared for each ticket the step changed (all of them after a reopen).
        """
        now = self.clock.now()
        store, model = self.store, self.model
        tickets = model.find(TicketQuery())
        assert tickets == store.find(TicketQuery())
        for ticket in tickets:
            if self.checked.get(ticket.id) != ticket.version:
                assert ticket == store.get(ticket.id)
                assert ticket.timeline == store.events(ticket.id)
                self.checked[ticket.id] = ticket.version
        assert model.due(now, _MANY) == store.due(now, _MANY)
        assert [t.id for t in model.due(_FAR, _MANY)] == [t.id for t in store.due(_FAR, _MANY)]
        assert model.next_due_at() == store.next_due_at()
        assert model.count() == store.count()
        assert model.outbox_pending() == store.outbox_pending()
        query = TicketQuery(statuses=frozenset({self.workflow.initial}) if self.workflow else None)
        assert model.find(query) == store.find(query)
        self._queues_agree(tickets)

    def _queues_agree(self, tickets: Sequence[Ticket]) -> None:
        """The work queues agree: whole, by an assignee, a department and both, and cut short."""
        store, model = self.store, self.model
        queued = model.queue(assignee=None, department=None, limit=_MANY)
        assert queued == store.queue(assignee=None, department=None, limit=_MANY)
        assert queued[:2] == store.queue(assignee=None, department=None, limit=2)
        assignee = next((t.assignee for t in queued if t.assignee is not None), None)
        department = next((t.department for t in tickets if t.department is not None), None)
        for who, dept in ((assignee, None), (None, department), (assignee, department)):
            if who is not None or dept is not None:
                expected = model.queue(assignee=who, department=dept, limit=_MANY)
                assert expected == store.queue(assignee=who, department=dept, limit=_MANY)

    def teardown(self) -> None:
        """Close both stores."""
        self.store.close()
        self.model.close()
