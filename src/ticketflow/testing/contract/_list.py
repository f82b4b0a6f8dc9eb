# ruff: noqa: S101, SIM300
# This module is a test suite shipped as a library: pytest's bare asserts are its
# language (pytest rewrites them, as it does in every module of a plugin's
# distribution), and they read `assert expected == actual` (CONVENTIONS.md 7).
"""The read side: ``Helpdesk.list`` and ``Helpdesk.counts`` on the store under test.

The tests go through a `Helpdesk`, so they check a store with the `SummaryStore`
capability (its summaries, filters, order and counts) and one without it (the
engine's fallback) alike; the reference is the same workload on a `MemoryStore`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any, Final

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ..._clock import FakeClock
from ..._engine import Helpdesk
from ..._model import Actor, Requester, Role
from ...exceptions import InvalidInputError
from ...stores import MemoryStore, TicketStore
from ...stores._summary import SORT_KEYS
from ._base import _ANN, _BOB, START, ContractBase, StoreFactory, _desk

__all__ = ["ListContract"]

_SORTS: Final = (*SORT_KEYS, *(f"-{key}" for key in SORT_KEYS))
_CY: Final = Requester(name="Cy", email="cy@example.org")


def _workload(desk: Helpdesk, clock: FakeClock) -> list[str]:
    """Twelve tickets in varied states (replies, assignments, tags, priorities, a purge)."""
    ids = []
    for n in range(12):
        ticket = desk.open_ticket(
            subject=f"ticket {n}",
            requester=(_ANN, _BOB, _CY)[n % 3],
            priority=("low", "normal", "high", "urgent")[n % 4],
            channel=("email", "chat")[n % 2],
            tags=["vip"] if n % 5 == 0 else [],
        )
        ids.append(ticket.id)
        clock.advance(timedelta(minutes=7 * (n % 3) + 1))
    for n, tid in enumerate(ids):
        if n % 2:
            desk.agent_reply(tid, "on it", by="bob")
        if n % 3 == 0:
            desk.assign(tid, "carol", department="network", by="bob")
        if n % 4 == 1:
            desk.customer_reply(tid, "thanks, still broken")
        if n % 6 == 5:
            desk.add_note(tid, "private", by="bob")
        clock.advance(timedelta(minutes=3))
    desk.purge(ids[7], by=Actor("dpo", Role.ADMIN))
    return ids


def _pages(desk: Helpdesk, limit: int, **kwargs: Any) -> list[str]:
    out: list[str] = []
    cursor = None
    while True:
        page = desk.list(limit=limit, cursor=cursor, **kwargs)
        out.extend(s.id for s in page.items)
        cursor = page.next_cursor
        if cursor is None:
            return out


_FILTERS: Final[tuple[dict[str, Any], ...]] = (
    {},
    {"status": "new"},
    {"category": ["new", "open"]},
    {"assignee": "carol"},
    {"department": "network", "status": ["answered", "open"]},
    {"priority": "high"},
    {"tag": "vip"},
    {"requester": "CY@example.org"},
    {"channel": "chat"},
    {"created_after": START + timedelta(minutes=20)},
    {"created_before": START + timedelta(minutes=40), "updated_after": START},
    {"updated_before": START + timedelta(hours=2)},
)


class ListContract(ContractBase):
    """The tests of lists and counts (`SummaryStore`, or the engine's fallback)."""

    @pytest.fixture
    def pair(self, store: TicketStore) -> tuple[Helpdesk, Helpdesk]:
        """The workload on the store under test and on a `MemoryStore`, alike."""
        desks = []
        for target in (store, MemoryStore()):
            clock = FakeClock(START)
            desk = _desk(target, clock)
            _workload(desk, clock)
            desks.append(desk)
        return desks[0], desks[1]

    def test_lists_agree_with_the_reference_for_every_sort_and_filter(
        self, pair: tuple[Helpdesk, Helpdesk]
    ) -> None:
        """Every sort (both directions) under every filter gives the reference's summaries.

        Summaries equal those of a `MemoryStore` fed the same commands: each field,
        the order (ties by id) and the filters.
        """
        desk, reference = pair
        for sort in _SORTS:
            for filters in _FILTERS:
                expected = reference.list(sort=sort, limit=1000, **filters).items
                assert expected == desk.list(sort=sort, limit=1000, **filters).items, (
                    sort,
                    filters,
                )

    def test_pages_by_cursor_add_up_to_the_whole_list(
        self, pair: tuple[Helpdesk, Helpdesk]
    ) -> None:
        """Paging by cursor (two a page) gives the whole list in order, each ticket once."""
        desk, _ = pair
        for sort in _SORTS:
            whole = [s.id for s in desk.list(sort=sort, limit=1000).items]
            assert 12 == len(whole)
            assert whole == _pages(desk, 2, sort=sort)
            assert [s.id for s in desk.list(sort=sort, limit=1000, status="new").items] == (
                _pages(desk, 1, sort=sort, status="new")
            )

    def test_counts_agree_with_the_reference_and_the_list(
        self, pair: tuple[Helpdesk, Helpdesk]
    ) -> None:
        """Counts per group equal the reference's, and the length of the filtered lists."""
        desk, reference = pair
        for by in ("status", "category", "assignee", "department", "priority"):
            for filters in _FILTERS:
                counted = desk.counts(by, **filters)
                assert reference.counts(by, **filters) == counted, (by, filters)
                assert len(desk.list(limit=1000, **filters).items) == sum(counted.values())

    def test_a_summary_is_what_the_ticket_says(self, pair: tuple[Helpdesk, Helpdesk]) -> None:
        """A summary's fields are the ticket's; a purged ticket's hold no personal data."""
        desk, _ = pair
        by_id = {s.id: s for s in desk.list(limit=1000).items}
        for summary in by_id.values():
            ticket = desk.get(summary.id)
            assert (ticket.subject, ticket.status, ticket.priority, ticket.assignee) == (
                summary.subject,
                summary.status,
                summary.priority,
                summary.assignee,
            )
            assert (ticket.requester.name, ticket.requester.email) == (
                summary.requester_name,
                summary.requester_email,
            )
            assert len(ticket.messages) == summary.message_count
            assert (ticket.created_at, ticket.updated_at) == (
                summary.created_at,
                summary.updated_at,
            )
        purged = [s for s in by_id.values() if s.status == "purged"]
        assert 1 == len(purged)
        assert "ticket 7" != purged[0].subject
        assert purged[0].requester_email is None

    def test_a_foreign_or_broken_cursor_is_refused(self, pair: tuple[Helpdesk, Helpdesk]) -> None:
        """A cursor of another sort or other filters, or a mangled one: ``field="cursor"``."""
        desk, _ = pair
        cursor = desk.list(limit=2).next_cursor
        assert cursor is not None
        calls: list[Callable[[], object]] = [
            lambda: desk.list(limit=2, sort="-created", cursor=cursor),
            lambda: desk.list(limit=2, status="new", cursor=cursor),
            lambda: desk.list(limit=2, cursor=cursor[:-3]),
            lambda: desk.list(limit=2, cursor="not a cursor"),
            lambda: desk.list(limit=2, cursor=7),  # type: ignore[arg-type]
        ]
        for call in calls:
            with pytest.raises(InvalidInputError) as caught:
                call()
            assert "cursor" == caught.value.field

    @settings(
        max_examples=15,
        deadline=None,
        # One test per backend subclass (each example opens its own store).
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.too_slow,
            HealthCheck.differing_executors,
        ],
    )
    @given(
        sort=st.sampled_from(_SORTS),
        limit=st.integers(1, 4),
        writes=st.lists(st.tuples(st.integers(0, 11), st.integers(0, 3)), max_size=12),
    )
    def test_paging_is_stable_under_concurrent_writes(
        self, make_store: StoreFactory, sort: str, limit: int, writes: list[tuple[int, int]]
    ) -> None:
        """Writes between page reads: no ticket twice, none skipped that did not change.

        Between two pages, one write (a reply, a reassignment, a priority change or
        a new ticket). Every ticket that existed at the first page and was not
        written afterwards is listed exactly once.
        """
        store = make_store()
        try:
            clock = FakeClock(START)
            desk = _desk(store, clock)
            ids = _workload(desk, clock)
            clock.advance(timedelta(seconds=1))
            seen: list[str] = []
            changed: set[str] = set()
            page = desk.list(sort=sort, limit=limit)
            seen.extend(s.id for s in page.items)
            for target, kind in writes:
                if page.next_cursor is None:
                    break
                clock.advance(timedelta(seconds=1))
                tid = ids[target]
                if kind == 0 or desk.get(tid).status == "purged":  # a purged ticket is locked
                    tid = desk.open_ticket(subject="new", requester=_ANN).id
                elif kind == 1:
                    desk.agent_reply(tid, "moved", by="bob")
                elif kind == 2:
                    desk.assign(tid, "dave", by="bob")
                else:
                    desk.set_priority(tid, "urgent", by="bob")
                changed.add(tid)
                clock.advance(timedelta(seconds=1))
                page = desk.list(sort=sort, limit=limit, cursor=page.next_cursor)
                seen.extend(s.id for s in page.items)
            while page.next_cursor is not None:
                page = desk.list(sort=sort, limit=limit, cursor=page.next_cursor)
                seen.extend(s.id for s in page.items)
            assert len(seen) == len(set(seen))
            assert set(ids) - changed <= set(seen)
        finally:
            store.close()
