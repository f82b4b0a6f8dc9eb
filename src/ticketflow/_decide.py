"""Decide and build: what a command does to one ticket, as events, stamped in one place.

`Batch` holds the events of one commit on one ticket and is the only code that
stamps versions (the first event of a commit raises the version by one, the
others repeat it). `decide` turns a command value into events on a batch,
asking the workflow where the ticket goes; the `Helpdesk` pipeline, rule
actions and SLA escalations all run through it. Commands that span tickets or
rewrite a timeline (open, merge, purge, a reply redirected or turned into a
follow-up) are the pipeline's own; `decide` covers the rest.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Final, final

from ._apply import apply_event
from ._model import EMPTY, Actor, Event, EventKind, Ticket
from ._workflow import COMMAND_KINDS, Category, Workflow
from .commands import (
    BY_NAME,
    KEEP,
    AddTags,
    AgentReply,
    Assign,
    Close,
    Command,
    Confirm,
    CustomerReply,
    Delete,
    Escalate,
    Fire,
    Note,
    Notify,
    Postpone,
    RemoveTags,
    Reopen,
    Resolve,
    Restore,
    SetField,
    SetPriority,
    Spam,
    Wake,
)
from .exceptions import InvalidInputError, TicketLockedError, TransitionError

__all__ = ["Batch", "decide"]


@final
class Batch:
    """The events of one commit on one ticket, and the ticket with them applied.

    Args:
        ticket: The ticket as read (or as it stands after earlier events of the
            same commit, which ``events`` then holds).
        events: Earlier events of the same commit, appended to in place.
    """

    __slots__ = ("events", "ticket", "version")

    def __init__(self, ticket: Ticket, events: list[Event] | None = None) -> None:
        self.ticket = ticket
        # All events of one commit share the commit's version: the first event of a
        # commit raises it by one, the others repeat it.
        if events:
            self.events = events
            self.version = events[0].version
        else:
            self.events = [] if events is None else events
            self.version = ticket.version + 1

    def emit(
        self,
        kind: EventKind,
        actor: Actor,
        dest: str,
        at: datetime,
        data: Mapping[str, Any] = EMPTY,
    ) -> Ticket:
        """Build the event, append it, apply it; return the new ticket."""
        ticket = self.ticket
        event = Event(
            kind=kind,
            at=at,
            actor=actor,
            status_before=ticket.status,
            status_after=dest,
            data=data,
            version=self.version,
        )
        self.events.append(event)
        self.ticket = ticket = apply_event(ticket, event)
        return ticket

    def fork(self) -> Batch:
        """Return a copy to try something on; `adopt` keeps what it did."""
        trial = Batch(self.ticket, list(self.events))
        trial.version = self.version
        return trial

    def adopt(self, trial: Batch) -> None:
        """Keep the events and the ticket of ``trial`` (made by `fork`)."""
        self.events[:] = trial.events
        self.ticket = trial.ticket


_Decide = Callable[[Batch, Any, Actor, Workflow, datetime, Mapping[str, Any]], None]


def _data(tag: Mapping[str, Any], data: Mapping[str, Any]) -> Mapping[str, Any]:
    # A rule's or the SLA's tag comes first, as the rule engine always wrote it.
    if not tag:
        return data
    return {**tag, **data} if data else dict(tag)


def _unlocked(workflow: Workflow, ticket: Ticket, name: str) -> None:
    if workflow.is_locked(ticket.status):
        raise TicketLockedError(ticket_id=ticket.id, status=ticket.status, command=name)


def _message(
    batch: Batch,
    command: AgentReply | Note,
    actor: Actor,
    wf: Workflow,
    at: datetime,
    tag: Mapping[str, Any],
) -> None:
    ticket = batch.ticket
    name = command.name
    if wf.is_locked(ticket.status):
        _unlocked(wf, ticket, name)
    data: Mapping[str, Any] = {"body": command.body}
    if command.extra:
        data = {**data, **command.extra}
    if tag:
        data = {**tag, **data}
    batch.emit(command.kind, actor, wf.next_status(ticket, name), at, data)


def _customer_reply(
    batch: Batch,
    command: CustomerReply,
    actor: Actor,
    wf: Workflow,
    at: datetime,
    tag: Mapping[str, Any],
) -> None:
    # A locked ticket's reply (redirect, reopen window, follow-up) is the
    # pipeline's: it can involve other tickets. Here the ticket takes the reply.
    ticket = batch.ticket
    if not wf.reopen_resolved and wf.category(ticket.status) is Category.RESOLVED:
        dest = ticket.status
    else:
        dest = wf.next_status(ticket, "customer_reply")
    data: Mapping[str, Any] = {"body": command.body}
    if command.extra:
        data = {**data, **command.extra}
    if tag:
        data = {**tag, **data}
    batch.emit(EventKind.CUSTOMER_REPLIED, actor, dest, at, data)


def _status(
    batch: Batch,
    command: Resolve | Reopen | Close | Wake | Spam | Delete | Restore,
    actor: Actor,
    wf: Workflow,
    at: datetime,
    tag: Mapping[str, Any],
) -> None:
    ticket = batch.ticket
    name = command.name
    if wf.is_locked(ticket.status):
        _unlocked(wf, ticket, name)
    batch.emit(command.kind, actor, wf.next_status(ticket, name), at, dict(tag) if tag else EMPTY)


def _assign(
    batch: Batch,
    command: Assign,
    actor: Actor,
    wf: Workflow,
    at: datetime,
    tag: Mapping[str, Any],
) -> None:
    ticket = batch.ticket
    _unlocked(wf, ticket, "assign")
    data: dict[str, Any] = {}
    if command.agent is not KEEP and command.agent != ticket.assignee:
        data["assignee"] = command.agent
    if command.department is not KEEP and command.department != ticket.department:
        data["department"] = command.department
    if data:
        batch.emit(EventKind.ASSIGNED, actor, ticket.status, at, _data(tag, data))


def _set_priority(
    batch: Batch,
    command: SetPriority,
    actor: Actor,
    wf: Workflow,
    at: datetime,
    tag: Mapping[str, Any],
) -> None:
    ticket = batch.ticket
    _unlocked(wf, ticket, "set_priority")
    if command.priority is not ticket.priority:
        data = {"priority": command.priority.label}
        batch.emit(EventKind.PRIORITY_CHANGED, actor, ticket.status, at, _data(tag, data))


def _tags(
    batch: Batch,
    command: AddTags | RemoveTags,
    actor: Actor,
    wf: Workflow,
    at: datetime,
    tag: Mapping[str, Any],
) -> None:
    ticket = batch.ticket
    _unlocked(wf, ticket, command.name)
    if isinstance(command, AddTags):
        change = command.tags - ticket.tags
    else:
        change = command.tags & ticket.tags
    if change:
        data = {"tags": sorted(change)}
        batch.emit(command.kind, actor, ticket.status, at, _data(tag, data))


def _set_field(
    batch: Batch,
    command: SetField,
    actor: Actor,
    wf: Workflow,
    at: datetime,
    tag: Mapping[str, Any],
) -> None:
    ticket = batch.ticket
    _unlocked(wf, ticket, "set_field")
    name, value = command.field, command.value
    fields = ticket.custom_fields
    if name not in fields or fields[name] != value:
        data = {"name": name, "value": value}
        batch.emit(EventKind.FIELD_SET, actor, ticket.status, at, _data(tag, data))


def _confirm(
    batch: Batch,
    command: Confirm,
    actor: Actor,
    wf: Workflow,
    at: datetime,
    tag: Mapping[str, Any],
) -> None:
    # The confirmation is recorded and the status stays: the confirmation rule
    # (every preset has it) closes the ticket in the same commit.
    ticket = batch.ticket
    _unlocked(wf, ticket, "confirm")
    if wf.category(ticket.status) is not Category.RESOLVED:
        raise TransitionError(
            ticket_id=ticket.id,
            status=ticket.status,
            command="confirm",
            allowed=wf.allowed(ticket.status),
        )
    data = EMPTY if command.rating is None else {"rating": command.rating}
    batch.emit(EventKind.CONFIRMED, actor, ticket.status, at, _data(tag, data))


def _postpone(
    batch: Batch,
    command: Postpone,
    actor: Actor,
    wf: Workflow,
    at: datetime,
    tag: Mapping[str, Any],
) -> None:
    until = command.until
    if until <= at:
        raise InvalidInputError(
            f"until must be in the future (now {at.isoformat()}, got {until.isoformat()})",
            field="until",
        )
    ticket = batch.ticket
    _unlocked(wf, ticket, "postpone")
    dest = wf.next_status(ticket, "postpone")
    batch.emit(EventKind.POSTPONED, actor, dest, at, _data(tag, {"until": until}))


def _fire(
    batch: Batch,
    command: Fire,
    actor: Actor,
    wf: Workflow,
    at: datetime,
    tag: Mapping[str, Any],
) -> None:
    trigger = command.trigger
    name = wf.command_for(trigger)
    if name is not None and not BY_NAME[name].triggered:
        raise InvalidInputError(
            f"trigger {trigger!r} is the {name!r} command, which needs its own "
            f"arguments: call Helpdesk.{BY_NAME[name].method}() instead",
            field="trigger",
        )
    ticket = batch.ticket
    _unlocked(wf, ticket, name or trigger)
    dest = wf.fire(ticket, trigger, name)
    if name is not None:
        batch.emit(COMMAND_KINDS[name], actor, dest, at, _data(tag, EMPTY))
    else:
        batch.emit(EventKind.TRANSITIONED, actor, dest, at, _data(tag, {"trigger": trigger}))


def _notify(
    batch: Batch,
    command: Notify,
    actor: Actor,
    _wf: Workflow,
    at: datetime,
    tag: Mapping[str, Any],
) -> None:
    # A notification changes nothing on the ticket: a locked one may get one too
    # (a satisfaction survey a day after closing).
    ticket = batch.ticket
    data = _data(tag, {"topic": command.topic})
    batch.emit(EventKind.NOTIFIED, actor, ticket.status, at, data)


def _escalate(
    batch: Batch,
    command: Escalate,
    actor: Actor,
    wf: Workflow,
    at: datetime,
    tag: Mapping[str, Any],
) -> None:
    ticket = batch.ticket
    _unlocked(wf, ticket, "escalate")
    data = _data(tag, {"level": command.level})
    batch.emit(EventKind.ESCALATED, actor, ticket.status, at, data)


DECIDE: Final[Mapping[type[Command], _Decide]] = {
    AgentReply: _message,
    Note: _message,
    CustomerReply: _customer_reply,
    Assign: _assign,
    SetPriority: _set_priority,
    AddTags: _tags,
    RemoveTags: _tags,
    SetField: _set_field,
    Resolve: _status,
    Reopen: _status,
    Close: _status,
    Wake: _status,
    Spam: _status,
    Delete: _status,
    Restore: _status,
    Confirm: _confirm,
    Postpone: _postpone,
    Fire: _fire,
    Notify: _notify,
    Escalate: _escalate,
}
"""How each single-ticket command decides (open, merge and purge are the pipeline's)."""


def decide(
    batch: Batch,
    command: Command,
    actor: Actor,
    workflow: Workflow,
    at: datetime,
    tag: Mapping[str, Any] = EMPTY,
) -> None:
    """Append what ``command`` does to the batch's ticket (nothing, if it changes nothing).

    Args:
        batch: The commit's events so far; the command's are appended.
        command: A single-ticket command (not `Open`, `Merge` or `Purge`).
        actor: Who runs it.
        workflow: The graph that decides the status.
        at: The instant the events are stamped with.
        tag: Data written first into each event (a rule's name and due time).

    Raises:
        TicketLockedError: the ticket is locked.
        TransitionError: the workflow does not allow the command here.
        InvalidInputError: what the command asks is impossible now (a postpone
            into the past, `Fire` of a trigger whose command needs arguments).
    """
    DECIDE[type(command)](batch, command, actor, workflow, at, tag)
