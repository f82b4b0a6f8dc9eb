"""Delivery: subscribers, publishing committed events to them, and the outbox.

`publish` runs after a commit (in-process, at most once for kinds outside the
outbox); `dispatch` hands out pending outbox entries (at least once). Both are
`Steps` (see `_steps`): the store calls they make are yielded, so `Helpdesk` and
`AsyncHelpdesk` run the same code.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from operator import methodcaller
from typing import TYPE_CHECKING, Final

from .. import _validate
from .._clock import require_aware
from .._model import Event, EventKind, Ticket
from ..exceptions import InvalidInputError
from ..stores import Change
from ..stores._protocol import new_positions
from ._steps import Steps, drive

if TYPE_CHECKING:
    from ._helpdesk import Helpdesk

__all__ = ["EVENT_KINDS", "deliver", "dispatch", "publishing", "subscribe"]

EVENT_KINDS: Final = frozenset(k.value for k in EventKind)
"""Every event kind's name: what ``kinds`` and ``outbox`` may list."""
_LOG: Final = logging.getLogger("ticketflow")


def subscribe(
    desk: Helpdesk,
    callback: Callable[[Ticket, Event], None],
    kinds: Iterable[EventKind | str] | None,
) -> Callable[[], None]:
    """`Helpdesk.subscribe` (documented there)."""
    if not callable(callback):
        raise InvalidInputError("callback must be callable", field="callback")
    if kinds is not None:
        _validate.names(kinds, "kinds", allowed=EVENT_KINDS)
    entry = (callback, frozenset(EventKind(k) for k in kinds or ()))
    desk._subscribers.append(entry)

    def unsubscribe() -> None:
        if entry in desk._subscribers:
            desk._subscribers.remove(entry)

    return unsubscribe


def dispatch(
    desk: Helpdesk,
    *,
    limit: int,
    lease: timedelta,
    now: datetime | None,
) -> Steps[int]:
    """`Helpdesk.dispatch` (documented there)."""
    _validate.batch_size(limit, "limit")
    _validate.lease(lease)
    if now is not None:
        _validate.aware_time(now, "now")
    if not desk._subscribers:
        raise InvalidInputError(
            "dispatch needs a subscriber: call subscribe() first", field="subscribers"
        )
    now = desk._now() if now is None else require_aware(now, "now")
    delivered = 0
    while True:
        entries = yield methodcaller("claim_outbox", now, limit, lease)
        if not entries:
            return delivered
        tickets: dict[str, Ticket] = {}
        done: list[tuple[str, int]] = []
        for entry in entries:
            ticket = tickets.get(entry.ticket_id)
            if ticket is None:
                ticket = tickets[entry.ticket_id] = yield methodcaller("get", entry.ticket_id)
            if deliver(desk, ticket, ticket.timeline[entry.position]):
                done.append((entry.ticket_id, entry.position))
                delivered += 1
        if done:
            yield methodcaller("ack_outbox", done)


def publishing(desk: Helpdesk, changes: Sequence[Change]) -> Steps[None]:
    """Deliver each change's new events to the subscribers; acknowledge outbox entries.

    On a store inside the application's transaction (its ``after_commit`` is
    not None), the delivery waits for the application's commit: it runs then,
    on its own (never if the application rolls back).
    """
    after_commit = desk._after_commit
    if after_commit is not None:
        after_commit(lambda: _deliver_committed(desk, changes))
        return
    yield from _delivering(desk, changes)


def _deliver_committed(desk: Helpdesk, changes: Sequence[Change]) -> None:
    """Deliver after the application's commit; a failure there is logged, not raised.

    The commit has happened: the application's caller must not see an error
    for it. An outbox entry that could not be acknowledged stays pending, and
    the worker's ``dispatch`` delivers it again (at least once).
    """
    try:
        drive(desk._store, _delivering(desk, changes))
    except Exception:  # noqa: BLE001 - after the commit, only a log can tell
        _LOG.exception("delivery after the application's commit failed; the outbox keeps it")


def _delivering(desk: Helpdesk, changes: Sequence[Change]) -> Steps[None]:
    """`publishing`'s delivery itself."""
    delivered: list[tuple[str, int]] = []
    for change in changes:
        ticket = change.ticket
        for position in new_positions(ticket):
            ok = deliver(desk, ticket, ticket.timeline[position])
            if ok and position in change.outbox:
                delivered.append((ticket.id, position))
    if delivered:
        yield methodcaller("ack_outbox", delivered)


def deliver(desk: Helpdesk, ticket: Ticket, event: Event) -> bool:
    """Call the subscribers of ``event``; return whether none of them failed."""
    ok = True
    for callback, kinds in desk._subscribers:
        if not kinds or event.kind in kinds:
            try:
                callback(ticket, event)
            except Exception:  # noqa: BLE001 - any subscriber bug is logged
                # The change is committed; a subscriber's failure must not look
                # like the command's. An outbox entry stays pending for a retry.
                _LOG.exception("subscriber %r failed on %s", callback, event.kind)
                ok = False
    return ok
