"""What a customer may see of a ticket: `CustomerView`, built by whitelisting.

A ticket holds what agents need: private notes, rule and SLA bookkeeping in event
data, agent ids, tags, custom fields. A customer-facing read must show none of it.
`customer_view` copies into a new value only the fields, messages and event
details named here; everything else, including whatever later versions add to
tickets and events, is left out until it is named here too. The view holds no
reference to the ticket, its events or its messages.

What is shown and why is written down in ``docs/explanation/security.md``
("What a customer view contains"); keep the two in step.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any, Final, final

import attrs

from . import _validate
from ._model import EMPTY, Actor, EventKind, JSONValue, Message, Requester, Role, Ticket
from .exceptions import InvalidInputError

__all__ = [
    "AGENT_NAME",
    "CUSTOMER_NAME",
    "STATUS_CHANGED",
    "SYSTEM_NAME",
    "CustomerView",
    "PublicAttachment",
    "PublicEvent",
    "PublicMessage",
    "customer_view",
]

AGENT_NAME: Final = "Agent"
"""The name a customer sees for every agent (agent ids are never shown)."""

SYSTEM_NAME: Final = "System"
"""The name a customer sees for automation (rules, SLA escalations, the worker)."""

CUSTOMER_NAME: Final = "Customer"
"""The name shown for a customer message not written by the ticket's requester."""

STATUS_CHANGED: Final = "status_changed"
"""The kind of a `PublicEvent` standing for an internal event that changed the status."""


def _role(actor: Actor) -> str:
    # Whitelisted: a customer is a customer, automation is the system, and every
    # other role (agents, and any staff role added later) is shown as "agent".
    if actor.role is Role.CUSTOMER:
        return Role.CUSTOMER.value
    if actor.role is Role.SYSTEM:
        return Role.SYSTEM.value
    return Role.AGENT.value


@final
@attrs.frozen(kw_only=True, slots=True)
class PublicAttachment:
    """An attached file of a public message, as a customer sees it.

    Attributes:
        filename: The file's name.
        content_type: Its MIME type.
        size: Its size in bytes.
        ref: Where the application's `ticketflow.attachments.AttachmentStore`
            keeps the bytes (for a download link).
    """

    filename: str
    content_type: str
    size: int
    ref: str

    def to_dict(self) -> dict[str, JSONValue]:
        """Return the attachment as JSON data."""
        return {
            "filename": self.filename,
            "content_type": self.content_type,
            "size": self.size,
            "ref": self.ref,
        }


def _attachments(message: Message) -> tuple[PublicAttachment, ...]:
    if not message._extra:  # noqa: SLF001 - a plain message: no decoding
        return ()
    return tuple(
        PublicAttachment(filename=a.filename, content_type=a.content_type, size=a.size, ref=a.ref)
        for a in message.attachments
    )


@final
@attrs.frozen(kw_only=True, slots=True)
class PublicMessage:
    """One message of the public thread, as a customer sees it.

    Attributes:
        at: When it was written (UTC).
        author_role: ``"customer"``, ``"agent"`` or ``"system"``.
        author_name: The requester's name for their own messages, ``"Customer"``
            for another customer's, ``"Agent"`` for any agent, ``"System"`` for
            automation. Agent ids and customer addresses are never shown.
        body: The text.
        channel: Where it came from or went, if recorded.
        attachments: Its attached files (`PublicAttachment`: no content hash).
        html: Its HTML body, if any.

    Never shown: the message's cc addresses (other people's addresses, as the
    view shows no customer address but the requester's), e-mail ids (Message-ID,
    In-Reply-To, References), application metadata, and its id: the id holds the
    position of its event in the timeline (a gap would show that internal events,
    such as private notes, happened) and, for a message a merge copied, the
    source ticket's id (which a merge target's view does not show).
    """

    at: datetime
    author_role: str
    author_name: str
    body: str
    channel: str | None = None
    attachments: tuple[PublicAttachment, ...] = ()
    html: str | None = None

    def to_dict(self) -> dict[str, JSONValue]:
        """Return the message as JSON data."""
        return {
            "at": self.at.isoformat(),
            "author_role": self.author_role,
            "author_name": self.author_name,
            "body": self.body,
            "channel": self.channel,
            "attachments": [a.to_dict() for a in self.attachments],
            "html": self.html,
        }


@final
@attrs.frozen(kw_only=True, slots=True)
class PublicEvent:
    """One entry of the public timeline, as a customer sees it.

    Attributes:
        kind: The `EventKind` value of a public event (``"created"``,
            ``"agent_replied"``, ``"resolved"``, ...), or ``"status_changed"``
            for an internal event that moved the ticket to another status (so the
            public history of statuses has no gap).
        at: When (UTC).
        actor_role: ``"customer"``, ``"agent"`` or ``"system"``.
        status: The ticket's status after the event.
        details: Only the whitelisted data of the kind, read-only: ``rating`` of
            ``confirmed``, ``into`` of ``merged``, and ``department`` /
            ``agent_assigned`` of ``assigned`` (shown only with
            ``show_assignment``); empty for every other kind.
    """

    kind: str
    at: datetime
    actor_role: str
    status: str
    details: Mapping[str, JSONValue] = EMPTY

    def to_dict(self) -> dict[str, JSONValue]:
        """Return the event as JSON data."""
        return {
            "kind": self.kind,
            "at": self.at.isoformat(),
            "actor_role": self.actor_role,
            "status": self.status,
            "details": dict(self.details),
        }


def _no_details(_data: Mapping[str, Any]) -> Mapping[str, JSONValue]:
    return EMPTY


def _confirmed(data: Mapping[str, Any]) -> Mapping[str, JSONValue]:
    rating = data.get("rating")
    if isinstance(rating, int) and not isinstance(rating, bool):
        return MappingProxyType({"rating": rating})
    return EMPTY


def _merged(data: Mapping[str, Any]) -> Mapping[str, JSONValue]:
    into = data.get("into")
    return MappingProxyType({"into": into}) if isinstance(into, str) else EMPTY


def _assigned(data: Mapping[str, Any]) -> Mapping[str, JSONValue]:
    details: dict[str, JSONValue] = {}
    if "department" in data:
        department = data["department"]
        details["department"] = department if isinstance(department, str) else None
    if "assignee" in data:
        details["agent_assigned"] = data["assignee"] is not None
    return MappingProxyType(details) if details else EMPTY


_Details = Callable[[Mapping[str, Any]], Mapping[str, JSONValue]]

_PUBLIC_KINDS: Final[Mapping[EventKind, _Details]] = MappingProxyType(
    {
        EventKind.CREATED: _no_details,  # subject, description: fields of the view
        EventKind.AGENT_REPLIED: _no_details,  # the body is in the public thread
        EventKind.CUSTOMER_REPLIED: _no_details,  # likewise
        EventKind.RESOLVED: _no_details,
        EventKind.REOPENED: _no_details,
        EventKind.CLOSED: _no_details,
        EventKind.CONFIRMED: _confirmed,  # the customer's own rating
        EventKind.POSTPONED: _no_details,  # not ``until``: the agents' schedule
        EventKind.WOKEN: _no_details,
        EventKind.MARKED_SPAM: _no_details,
        EventKind.DELETED: _no_details,
        EventKind.RESTORED: _no_details,
        EventKind.MERGED: _merged,  # where the conversation went
        EventKind.MERGE_RECEIVED: _no_details,  # not ``source``; the messages are in the thread
        EventKind.PURGED: _no_details,
    }
)
"""Kinds a customer sees, each with the only data it shows (see the module docstring)."""
# Left out (never shown, except as ``status_changed`` when they move the status):
# note_added, priority_changed, tags_added, tags_removed, field_set, transitioned,
# notified, escalated, sla_warning, sla_breached; assigned unless show_assignment.


@final
@attrs.frozen(kw_only=True, slots=True)
class CustomerView:
    """What a customer may see of a ticket (from `customer_view` or `Ticket.for_customer`).

    Built by whitelisting: every field below is copied from the ticket, and
    nothing else is. Never in a view: private notes (their bodies or that they
    exist), agent ids, tags, custom fields, priority, the requester's other
    contact details, event data other than the whitelisted details of
    `PublicEvent`, rule names, SLA policies, metrics, warnings, breaches and
    escalations.

    Attributes:
        id: The ticket's id.
        subject: Its subject.
        description: The original request.
        description_html: The original request's HTML body, if any.
        attachments: The files attached to the original request.
        status: The status name of the workflow, as it is (not renamed).
        requester: The requester's name, e-mail address and organisation (other
            contact details are left out).
        channel: Where the ticket came from.
        created_at: When it was created.
        updated_at: The time of the last public event (an internal event, such
            as a private note or an SLA breach, does not move it).
        department: The department, only when the view shows assignment
            (``show_assignment``); otherwise ``None``.
        merged_into: The ticket this one was merged into, if any.
        parent_id: The ticket this one follows up, if any.
        messages: The public thread (messages that are not private), oldest first.
        events: The public timeline, oldest first.
        shows_assignment: Whether the view shows assignment changes and the department.
    """

    id: str
    subject: str
    description: str
    status: str
    requester: Requester
    channel: str
    created_at: datetime
    updated_at: datetime
    department: str | None = None
    merged_into: str | None = None
    parent_id: str | None = None
    messages: tuple[PublicMessage, ...] = ()
    events: tuple[PublicEvent, ...] = ()
    shows_assignment: bool = False
    description_html: str | None = None
    attachments: tuple[PublicAttachment, ...] = ()

    def to_dict(self) -> dict[str, JSONValue]:
        """Return the view as JSON data: what an API would send the customer."""
        return {
            "id": self.id,
            "subject": self.subject,
            "description": self.description,
            "status": self.status,
            "requester": self.requester.to_dict(),
            "channel": self.channel,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "department": self.department,
            "merged_into": self.merged_into,
            "parent_id": self.parent_id,
            "messages": [m.to_dict() for m in self.messages],
            "events": [e.to_dict() for e in self.events],
            "shows_assignment": self.shows_assignment,
            "description_html": self.description_html,
            "attachments": [a.to_dict() for a in self.attachments],
        }


def _same_person(author: Actor, requester: Requester) -> bool:
    email = requester.email
    if email is not None and author.id.casefold() == email.casefold():
        return True
    return bool(requester.name) and author.id == requester.name


def _author_name(author: Actor, requester: Requester) -> str:
    if author.role is Role.CUSTOMER:
        if _same_person(author, requester):
            return requester.name or CUSTOMER_NAME
        return CUSTOMER_NAME
    if author.role is Role.SYSTEM:
        return SYSTEM_NAME
    return AGENT_NAME


def customer_view(ticket: Ticket, *, show_assignment: bool = False) -> CustomerView:
    """Return what the ticket's customer may see of ``ticket``.

    Example:
        >>> from ticketflow import FakeClock, Helpdesk, Requester
        >>> desk = Helpdesk(clock=FakeClock())
        >>> t = desk.open_ticket(subject="Printer", requester=Requester(name="Ann"))
        >>> t = desk.add_note(t.id, "Ann is a VIP", by="bob")
        >>> t = desk.agent_reply(t.id, "On my way", by="bob")
        >>> [(m.author_name, m.body) for m in customer_view(t).messages] == [("Agent", "On my way")]
        True
        >>> [e.kind for e in customer_view(t).events] == ["created", "agent_replied"]
        True

    Args:
        ticket: The ticket.
        show_assignment: Also show assignment changes (``assigned`` events with
            the new department and whether an agent is assigned, never the
            agent's id) and the ticket's department.

    Raises:
        InvalidInputError: ``ticket`` is not a `Ticket`, or ``show_assignment``
            is not a bool.
    """
    if not isinstance(ticket, Ticket):
        raise InvalidInputError(
            f"ticket must be a Ticket, got {_validate.describe(ticket)}", field="ticket"
        )
    if not isinstance(show_assignment, bool):
        raise InvalidInputError(
            f"show_assignment must be a bool, got {_validate.describe(show_assignment)}",
            field="show_assignment",
        )
    full = ticket.requester
    requester = (
        Requester(name=full.name, email=full.email, organisation=full.organisation)
        if full.contacts
        else full
    )
    messages = tuple(
        PublicMessage(
            at=m.at,
            author_role=_role(m.author),
            author_name=_author_name(m.author, full),
            body=m.body,
            channel=m.channel,
            attachments=_attachments(m),
            html=m.html,
        )
        for m in ticket.messages
        if m.private is False
    )
    opening = ticket.description_message
    events: list[PublicEvent] = []
    for event in ticket.timeline:
        kind = event.kind
        details = _PUBLIC_KINDS.get(kind)
        if details is None and show_assignment and kind is EventKind.ASSIGNED:
            details = _assigned
        if details is not None:
            public_kind = kind.value
            shown = details(event.data)
        elif event.changes_status:
            public_kind, shown = STATUS_CHANGED, EMPTY
        else:
            continue
        events.append(
            PublicEvent(
                kind=public_kind,
                at=event.at,
                actor_role=_role(event.actor),
                status=event.status_after,
                details=shown,
            )
        )
    return CustomerView(
        id=ticket.id,
        subject=ticket.subject,
        description=ticket.description,
        status=ticket.status,
        requester=requester,
        channel=ticket.channel,
        created_at=ticket.created_at,
        updated_at=events[-1].at if events else ticket.created_at,
        department=ticket.department if show_assignment else None,
        merged_into=ticket.merged_into,
        parent_id=ticket.parent_id,
        messages=messages,
        events=tuple(events),
        shows_assignment=show_assignment,
        description_html=opening.html,
        attachments=_attachments(opening),
    )


Ticket._customer_view = customer_view  # noqa: SLF001 - the model's hook for `for_customer`
