# ruff: noqa: S101, SIM300
# This module is a test suite shipped as a library: pytest's bare asserts are its
# language (pytest rewrites them, as it does in every module of a plugin's
# distribution), and they read `assert expected == actual` (CONVENTIONS.md 7).
"""Durability: a reopened store answers as before, and a refused commit leaves nothing behind."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ..._clock import FakeClock
from ..._model import Actor, Role
from ...exceptions import ConflictError
from ...rules import confirmation, wake_postponed
from ...stores import Change
from ._base import (
    _ANN,
    _BOB,
    _OUTBOX_KINDS,
    LEASE,
    START,
    ContractBase,
    _desk,
    _next_version,
    _Opened,
    _snapshot,
)

__all__ = ["DurabilityContract"]


class DurabilityContract(ContractBase):
    """The tests of durability (skipped without ``reopen_store``)."""

    def test_a_reopened_store_holds_everything_committed(
        self, contract_stores: _Opened, clock: FakeClock
    ) -> None:
        """Closed and reopened, a durable store answers as before.

        Tickets and timelines (after a merge and a purge), ``find``, the due index, claims
        and outbox entries with their attempts all survive.
        """
        store = contract_stores.new()
        desk = _desk(store, clock, rules=[wake_postponed(), confirmation()], outbox=_OUTBOX_KINDS)
        a = desk.open_ticket(subject="a", requester=_ANN, tags=["vip"], assignee="ann")
        b = desk.open_ticket(subject="b", requester=_BOB, priority="high")
        c = desk.open_ticket(subject="c", requester=_ANN, description="private")
        d = desk.open_ticket(subject="d", requester=_ANN)
        desk.agent_reply(a.id, "hello", by="bob")
        desk.postpone(a.id, clock.now() + timedelta(hours=1), by="bob")
        desk.postpone(d.id, clock.now() + timedelta(hours=2), by="bob")
        desk.merge(b.id, d.id, allow_other_requester=True, by="bob")
        desk.purge(c.id, by=Actor("dpo", Role.ADMIN))
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
