# ruff: noqa: S101, SIM300
# This module is a test suite shipped as a library: pytest's bare asserts are its
# language (pytest rewrites them, as it does in every module of a plugin's
# distribution), and they read `assert expected == actual` (CONVENTIONS.md 7).
"""The optional wake-up capability (`WakeupStore`), for stores that have it.

A store without the capability skips these tests. A wake-up may reach the
waiting side asynchronously (a database notification), so a test that expects
one waits up to `_PATIENCE` seconds (returning as soon as it arrives), and a
test that expects none waits `_QUIET` seconds.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Final

import pytest

from ..._clock import FakeClock
from ..._engine import Helpdesk
from ..._model import Ticket
from ...exceptions import ConflictError, InvalidInputError
from ...stores import Change, TicketStore, WakeupStore
from ._base import _ANN, START, ContractBase, _next_version

__all__ = ["WakeupContract"]

_PATIENCE: Final = 30.0  # seconds: the longest an expected wake-up may take to arrive
_QUIET: Final = 0.3  # seconds: how long a wait must stay quiet when none is expected
_HOUR: Final = timedelta(hours=1)


def _tickets(count: int) -> list[Ticket]:
    """``count`` new tickets (version 1), made on a memory store."""
    desk = Helpdesk(clock=FakeClock(START))
    return [desk.open_ticket(subject=f"w{i}", requester=_ANN) for i in range(count)]


class WakeupContract(ContractBase):
    """The tests of the `WakeupStore` capability (skipped for a store without it)."""

    @pytest.fixture
    def waking(self, store: TicketStore) -> WakeupStore:
        """The store under test, listening, with no wake-up pending."""
        if not isinstance(store, WakeupStore):
            pytest.skip(f"{type(store).__name__} is not a WakeupStore (it is polled)")
        assert store.wait_for_wakeup(_PATIENCE), "the first wait must return True at once"
        assert not store.wait_for_wakeup(0)
        return store

    def test_a_commit_adding_outbox_entries_wakes_once(
        self, store: TicketStore, waking: WakeupStore
    ) -> None:
        """A wake-up is kept until a wait consumes it; one commit, one wake-up."""
        (ticket,) = _tickets(1)
        store.commit([Change(ticket, 0, outbox=(0,))])
        assert waking.wait_for_wakeup(_PATIENCE)
        assert not waking.wait_for_wakeup(_QUIET)

    def test_only_a_due_time_before_every_stored_one_wakes(
        self, store: TicketStore, waking: WakeupStore
    ) -> None:
        """A first due time wakes; a later one, or no due time, does not; an earlier one does."""
        a, b, c = _tickets(3)
        store.commit([Change(a, 0, due_at=START + 2 * _HOUR)])
        assert waking.wait_for_wakeup(_PATIENCE)
        store.commit([Change(b, 0, due_at=START + 3 * _HOUR)])
        store.commit([Change(c, 0)])
        assert not waking.wait_for_wakeup(_QUIET)
        store.commit([Change(_next_version(c, "sooner"), 1, due_at=START + _HOUR)])
        assert waking.wait_for_wakeup(_PATIENCE)

    def test_a_commit_of_several_changes_wakes_once(
        self, store: TicketStore, waking: WakeupStore
    ) -> None:
        """Several changes in one commit: the earliest due time counts, one wake-up."""
        tickets = _tickets(4)
        store.commit([Change(t, 0, due_at=START + (4 - i) * _HOUR) for i, t in enumerate(tickets)])
        assert waking.wait_for_wakeup(_PATIENCE)
        assert not waking.wait_for_wakeup(_QUIET)

    def test_a_refused_commit_does_not_wake(self, store: TicketStore, waking: WakeupStore) -> None:
        """A conflict writes nothing and wakes nobody, alone or among several changes."""
        a, b = _tickets(2)
        store.commit([Change(a, 0)])
        with pytest.raises(ConflictError):
            store.commit([Change(a, 0, outbox=(0,), due_at=START)])
        with pytest.raises(ConflictError):
            store.commit([Change(b, 0, outbox=(0,)), Change(a, 0, outbox=(0,))])
        assert not waking.wait_for_wakeup(_QUIET)
        assert 0 == store.outbox_pending()

    def test_wakeup_is_a_wake_up(self, waking: WakeupStore) -> None:
        """`wakeup` makes the next wait return True, once."""
        waking.wakeup()
        assert waking.wait_for_wakeup(_PATIENCE)
        assert not waking.wait_for_wakeup(0)

    def test_a_timeout_that_is_not_seconds_is_refused(self, waking: WakeupStore) -> None:
        """Negative, NaN, infinite, text or bool: `InvalidInputError` naming ``timeout``."""
        for bad in (-1, float("nan"), float("inf"), "1", True):
            with pytest.raises(InvalidInputError) as caught:
                waking.wait_for_wakeup(bad)  # type: ignore[arg-type]
            assert "timeout" == caught.value.field
