"""Erasure: `Helpdesk.purge` and `Helpdesk.erase_requester`, and what they return.

A purge rewrites the purged ticket's timeline without personal data (`scrub_event`)
and, in the same commit, every ticket a merge copied its messages into
(`scrub_copies`), following the chain of merges; it lists, without touching
them, the follow-ups the same requester opened from it. `erase_requester` finds a
person's tickets through the store's requester index and purges each. Both are
`Steps` (see `_steps`), so `Helpdesk` and `AsyncHelpdesk` run the same code.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from operator import methodcaller
from typing import TYPE_CHECKING, final

import attrs

from .. import _validate
from .._decide import Batch
from .._model import Actor, Event, EventKind, Role, Ticket
from .._scrub import copied_messages, scrub_copies, scrub_event
from ..commands import Purge
from ..exceptions import TicketLockedError
from ..stores import Change, TicketQuery, requester_key
from ._delivery import publishing
from ._steps import Steps

if TYPE_CHECKING:
    from ..attachments import AttachmentStore
    from ._helpdesk import Helpdesk

__all__ = ["ErasureResult", "PurgeResult", "erase_requester", "purge"]


@final
@attrs.frozen(kw_only=True)
class PurgeResult:
    """What `Helpdesk.purge` did.

    Attributes:
        ticket: The purged ticket: an anonymous tombstone.
        scrubbed: Ids of the other tickets whose copies of the purged ticket's
            data were erased in the same commit: the ticket it was merged into,
            and the tickets that one was merged into in turn. Each records an
            ``erased`` event; its copied messages are tombstones keeping their
            time and author role.
        follow_ups: Ids of the follow-up tickets (``parent_id`` the purged
            ticket) of the same requester, left as they are: they are tickets of
            their own. Purge them too, or use `Helpdesk.erase_requester`, to
            erase the person.
        attachments: The references of the attached files of the erased
            messages (the purged ticket's own, and the person's replies a
            merge target scrubbed; not the copies a merge made of other
            tickets' messages, whose originals stay), sorted. With
            ``Helpdesk(attachments=...)`` their bytes were deleted after the
            commit; without, deleting them is the application's job.
    """

    ticket: Ticket
    scrubbed: tuple[str, ...] = ()
    follow_ups: tuple[str, ...] = ()
    attachments: tuple[str, ...] = ()


@final
@attrs.frozen(kw_only=True)
class ErasureResult:
    """What `Helpdesk.erase_requester` did.

    Attributes:
        email: The address erased, as the requester index keys it (stripped,
            case-folded).
        purged: Ids of the person's tickets purged, in id order.
        scrubbed: Ids of other people's tickets whose copies of the person's
            messages (merges) were erased, sorted.
        skipped: Ids of the person's tickets in a final status other than
            purged (a workflow may declare one), which no purge may change:
            their data is still there.
    """

    email: str
    purged: tuple[str, ...] = ()
    scrubbed: tuple[str, ...] = ()
    skipped: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        """Whether anything was found: a second run on the same person finds nothing."""
        return bool(self.purged or self.scrubbed or self.skipped)


def purge(desk: Helpdesk, command: Purge, actor: Actor) -> Steps[PurgeResult]:
    """`Helpdesk.purge` (documented there): one commit for the ticket and every copy."""
    wf = desk._workflow
    ticket: Ticket = yield methodcaller("get", command.ticket_id)
    if wf.status(ticket.status).final:
        raise TicketLockedError(ticket_id=ticket.id, status=ticket.status, command="purge")
    batch, at = desk._begin(ticket)
    dest = wf.next_status(batch.ticket, "purge")
    batch.emit(EventKind.PURGED, actor, dest, at)
    original = batch.ticket
    # Nothing of the erased data may stay: the whole timeline is rewritten.
    tombstone = Ticket.rebuild(map(scrub_event, original.timeline))
    changes = [
        Change(
            tombstone,
            ticket.version,
            rewrite=True,
            outbox=desk._outbox_of(tombstone, len(batch.events)),
        )
    ]
    refs = attachment_refs(original.timeline)
    changes.extend((yield from _scrub_merge_targets(desk, original, actor, refs)))
    follow_ups = yield from _follow_ups(desk, original)
    yield methodcaller("commit", changes)
    if desk._subscribers:
        yield from publishing(desk, changes)
    if desk._attachments is not None and refs:
        _delete(desk._attachments, sorted(refs))
    return PurgeResult(
        ticket=tombstone,
        scrubbed=tuple(c.ticket.id for c in changes[1:]),
        follow_ups=follow_ups,
        attachments=tuple(sorted(refs)),
    )


_MESSAGE_KINDS = (EventKind.CREATED, EventKind.AGENT_REPLIED, EventKind.CUSTOMER_REPLIED)


def attachment_refs(timeline: Sequence[Event]) -> set[str]:
    """The references of the files attached to a timeline's own messages (not merge copies)."""
    refs: set[str] = set()
    for event in timeline:
        if event.kind in _MESSAGE_KINDS or event.kind is EventKind.NOTE_ADDED:
            refs.update(a["ref"] for a in event.data.get("attachments") or ())
    return refs


def _delete(attachments: AttachmentStore, refs: Sequence[str]) -> None:
    """Delete every ref's bytes; re-raise the first failure once all were tried."""
    failure: Exception | None = None
    for ref in refs:
        try:
            attachments.delete(ref)
        except Exception as exc:  # noqa: BLE001 - the others are still deleted; raised below
            failure = failure or exc
    if failure is not None:
        raise failure


def _scrub_merge_targets(
    desk: Helpdesk, purged: Ticket, actor: Actor, refs: set[str]
) -> Steps[list[Change]]:
    """The rewrites of the tickets ``purged`` was merged into (along the chain of merges).

    Adds to ``refs`` the attachments of the person's replies a target scrubs whole.
    """
    into = purged.merged_into
    if into is None:
        return []
    copied = copied_messages(purged.timeline)
    customers = {e.actor.id for e in purged.timeline if e.actor.role is Role.CUSTOMER}
    requester = purged.requester
    customers.add(requester.email or requester.name)
    key = requester_key(purged)
    seen = {purged.id}
    changes: list[Change] = []
    while into is not None and into not in seen:
        seen.add(into)
        target: Ticket = yield methodcaller("get", into)
        into = target.merged_into
        if desk._workflow.status(target.status).final:
            continue  # purged already: nothing of anyone is left in it
        # Replies the person sent to the merged ticket landed here; they are erased
        # unless this ticket is the person's own (it is not purged).
        same_person = key is not None and key == requester_key(target)
        timeline, _ = scrub_copies(
            target.timeline,
            purged.id,
            copied,
            () if same_person else customers,
            None if same_person else requester,
        )
        # Every ticket of the chain records the erasure, copies found or not (a
        # merge of a ticket without messages copied none): the same result always.
        refs.update(attachment_refs(target.timeline) - attachment_refs(timeline))
        rebuilt = Ticket.rebuild(timeline)
        batch = Batch(rebuilt)  # the next version: target.version + 1
        at = desk._now(target.updated_at)
        batch.emit(EventKind.ERASED, actor, rebuilt.status, at, {"source": purged.id})
        new = batch.ticket
        due_at, queue = desk._schedule(new)
        changes.append(
            Change(
                new,
                target.version,
                rewrite=True,
                due_at=due_at,
                outbox=desk._outbox_of(new, 1),
                queue=queue,
            )
        )
    return changes


def _follow_ups(_desk: Helpdesk, purged: Ticket) -> Steps[tuple[str, ...]]:
    """Ids of the follow-ups of ``purged`` opened by the same requester (the index finds them)."""
    key = requester_key(purged)
    if key is None:
        return ()
    mine: list[Ticket] = yield methodcaller("find", TicketQuery(requester=key))
    return tuple(t.id for t in mine if t.parent_id == purged.id)


def erase_requester(
    desk: Helpdesk, email: str, actor: Actor, check: Callable[[Ticket], None]
) -> Steps[ErasureResult]:
    """`Helpdesk.erase_requester` (documented there); ``check`` refuses a ticket by raising."""
    key = _validate.email(email, "email")
    wf = desk._workflow
    purged: list[str] = []
    skipped: list[str] = []
    scrubbed: set[str] = set()
    for ticket in (yield methodcaller("find", TicketQuery(requester=key))):
        if wf.status(ticket.status).final:
            skipped.append(ticket.id)  # a final status the workflow lets nothing leave
            continue
        check(ticket)
        result = yield from purge(desk, Purge(ticket_id=ticket.id), actor)
        purged.append(ticket.id)
        scrubbed.update(result.scrubbed)
    return ErasureResult(
        email=key,
        purged=tuple(purged),
        scrubbed=tuple(sorted(scrubbed - set(purged))),
        skipped=tuple(skipped),
    )
