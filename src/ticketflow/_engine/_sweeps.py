"""Sweeps: fire the time rules and SLA stages that are due, for `Helpdesk.run_due`.

Tickets are claimed from the store's due index, fired one by one through the
pipeline's `Helpdesk._fire_due_into`, and committed in groups; a ticket that
fails is logged and backed off, never holding up the others. `run_until` walks a
`FakeClock` through the due times; `reschedule` recomputes stored due times and
queue keys after the rules or SLA policies changed. `run_due`, `run_until` and
`reschedule` are `Steps` (see `_steps`), so `Helpdesk` and `AsyncHelpdesk` run
the same code.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from operator import methodcaller
from typing import TYPE_CHECKING, Final

from .. import _validate
from .._clock import FakeClock, require_aware
from .._decide import Batch
from .._model import Event, Ticket
from ..exceptions import ConflictError, InvalidInputError, RuleLoopError, StoreError
from ..stores import Change, IndexUpdate, TicketQuery
from ._delivery import publishing
from ._steps import Steps

if TYPE_CHECKING:
    from ._helpdesk import Helpdesk

__all__ = ["reschedule", "run_due", "run_until"]

_COMMIT_GROUP: Final = 100  # rule firings per transaction in run_due
_BACK_OFF_MIN: Final = timedelta(minutes=1)  # a failing ticket's first retry in run_due
_BACK_OFF_MAX: Final = timedelta(hours=1)
_LOG: Final = logging.getLogger("ticketflow")
_RUN_BATCH: Final = 500  # run_until's sweeps: Helpdesk.run_due's defaults
_RUN_LEASE: Final = timedelta(seconds=60)


def run_due(
    desk: Helpdesk,
    now: datetime | None,
    *,
    batch: int,
    lease: timedelta,
) -> Steps[int]:
    """`Helpdesk.run_due` (documented there)."""
    _validate.batch_size(batch)
    _validate.lease(lease)
    if now is not None:
        _validate.aware_time(now, "now")
    now = desk._now() if now is None else require_aware(now, "now")
    fired = 0
    # Tickets left due in this run: the claim keeps them out of later batches,
    # unless the lease is shorter than the run (zero), when they come back.
    skipped: set[str] = set()
    while True:
        claimed = yield methodcaller("claim_due", now, batch, lease)
        due = [t for t in claimed if t.id not in skipped]
        if not due:
            return fired
        group: list[Change] = []
        for ticket in due:
            try:
                result = _fire_due(desk, ticket, now)
                if result is not None:
                    new, events = result
                    change = desk._change(Batch(new, events))
            except RuleLoopError:
                # Its rules undo each other: nothing is saved, the ticket stays
                # due (and claimed until the lease ends), the others still run.
                _LOG.exception("ticket %s skipped by run_due: its rules loop", ticket.id)
                skipped.add(ticket.id)
                continue
            except Exception:  # noqa: BLE001 - one ticket's failure must not stop the sweep
                _LOG.exception("ticket %s failed in run_due; retried later", ticket.id)
                skipped.add(ticket.id)
                yield from _back_off(desk, ticket, now)
                continue
            if result is None:
                # The stored due time is stale (rules or policies changed; see
                # reschedule): the claim keeps it out of this run.
                skipped.add(ticket.id)
                continue
            group.append(change)
            if len(group) >= _COMMIT_GROUP:
                fired += yield from _commit_group(desk, group, now, skipped)
                group = []
        fired += yield from _commit_group(desk, group, now, skipped)


def _back_off(desk: Helpdesk, ticket: Ticket, now: datetime) -> Steps[None]:
    """Move a failing ticket's due time later: as long again as it is overdue (1 min to 1 h).

    The delay doubles with each failure without any state: a ticket due at
    ``D`` that fails at ``D + x`` is retried at ``D + 2x``. Only the stored due
    time moves, so the next success fires everything that is due. When even
    its schedule cannot be computed (the failure is in its rules), the ticket
    is retried when its claim ends.
    """
    try:
        due_at, queue = desk._schedule(ticket)
    except Exception:  # noqa: BLE001 - the claim's lease retries it anyway
        _LOG.warning("ticket %s: retried when its claim ends", ticket.id)
        return
    overdue = now - due_at if due_at is not None else _BACK_OFF_MIN
    delay = min(max(overdue, _BACK_OFF_MIN), _BACK_OFF_MAX)
    yield methodcaller("reindex", [IndexUpdate(ticket.id, ticket.version, now + delay, queue)])


def _fire_due(desk: Helpdesk, ticket: Ticket, now: datetime) -> tuple[Ticket, list[Event]] | None:
    """Fire what is due first by ``now``; return the new ticket and its events."""
    batch = Batch(ticket)
    if not desk._fire_due_into(batch, now):
        return None
    return batch.ticket, batch.events


def _commit_group(
    desk: Helpdesk, group: list[Change], now: datetime, skipped: set[str]
) -> Steps[int]:
    """Commit rule firings of distinct tickets together; return how many were saved.

    One transaction for many firings: on a durable store the cost of a sweep is
    one sync per group, not per ticket. If the group is refused (a ticket
    changed since it was claimed, by a command or another worker whose lease
    ran out, or one change is refused by the store), it is saved ticket by
    ticket: a stale ticket is dropped (the commit that won set its due time
    afresh), a refused one is logged with its id and retried later with
    back-off; the others are saved.
    """
    if not group:
        return 0
    try:
        yield methodcaller("commit", group)
        saved = group
    except StoreError:
        saved = []
        for change in group:
            ticket_id = change.ticket.id
            try:
                yield methodcaller("commit", (change,))
            except ConflictError:
                _LOG.info("ticket %s changed while due; left to its new due time", ticket_id)
                continue
            except StoreError:
                _LOG.exception("ticket %s could not be saved by run_due; retried later", ticket_id)
                skipped.add(ticket_id)
                yield from _back_off(desk, (yield methodcaller("get", ticket_id)), now)
                continue
            saved.append(change)
    if desk._subscribers and saved:
        yield from publishing(desk, saved)
    return len(saved)


def run_until(desk: Helpdesk, until: datetime) -> Steps[int]:
    """`Helpdesk.run_until` (documented there)."""
    _validate.aware_time(until, "until")
    clock = desk._clock
    if not isinstance(clock, FakeClock):
        raise InvalidInputError("run_until needs a FakeClock", field="clock")
    until = require_aware(until, "until")
    fired = 0
    while True:
        next_at = yield methodcaller("next_due_at")
        if next_at is None or next_at > until:
            break
        if next_at <= clock.now():
            # A ticket that stays due (its rules loop, or its due time is stale)
            # would hold the clock here: sweep the rest of the way in one go.
            fired += yield from run_due(desk, until, batch=_RUN_BATCH, lease=_RUN_LEASE)
            break
        clock.set(next_at)
        fired += yield from run_due(desk, None, batch=_RUN_BATCH, lease=_RUN_LEASE)
    clock.set(max(until, clock.now()))
    return fired


def reschedule(desk: Helpdesk, *, batch: int) -> Steps[int]:
    """`Helpdesk.reschedule` (documented there)."""
    _validate.batch_size(batch)
    wf = desk._workflow
    # Closed tickets too: a time rule may notify about them (a survey after closing).
    live = frozenset(s.name for s in wf.statuses if not s.final)
    updates: list[IndexUpdate] = []
    changed = 0
    for ticket in (yield methodcaller("find", TicketQuery(statuses=live))):
        due_at, queue = desk._schedule(ticket)
        updates.append(IndexUpdate(ticket.id, ticket.version, due_at, queue))
        if len(updates) >= batch:
            changed += yield methodcaller("reindex", updates)
            updates = []
    if updates:
        changed += yield methodcaller("reindex", updates)
    return changed
