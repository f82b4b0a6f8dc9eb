# This module is a test suite shipped as a library: pytest's bare asserts are its
# language (pytest rewrites them, as it does in every module of a plugin's
# distribution), and they read `assert expected == actual` (CONVENTIONS.md 7).
"""What the contract suite's capabilities share: fixtures, the fake start, helpers."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Final, TypeAlias

import pytest

from ..._apply import apply_event
from ..._clock import FakeClock
from ..._engine import Helpdesk
from ..._model import Actor, Event, EventKind, Requester, Role, Ticket
from ...rules import Rule
from ...stores import Change, QueueKey, TicketQuery, TicketStore

__all__ = ["LEASE", "START", "ContractBase", "StoreFactory", "StoreReopener"]

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
# The outbox kinds of the help desks that the outbox and durability tests commit through.
_OUTBOX_KINDS: Final[tuple[str, ...]] = ("created", "agent_replied", "confirmed", "closed")


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


class ContractBase:
    """The fixtures every capability's tests use; `StoreContract` documents them."""

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
