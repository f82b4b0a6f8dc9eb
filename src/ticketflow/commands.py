"""Commands as values: one frozen class per command, validated when built, one name each.

Every change to a ticket is a command. Build one and hand it to
`ticketflow.Helpdesk.execute`; the `Helpdesk` methods (``agent_reply``,
``add_note``, ``mark_spam``...) are one-line sugar that build the same values::

    >>> from ticketflow import FakeClock, Helpdesk, Requester
    >>> from ticketflow.commands import AgentReply, Open
    >>> desk = Helpdesk(clock=FakeClock())
    >>> t = desk.execute(Open(subject="VPN down", requester=Requester(name="Ann")))
    >>> desk.execute(AgentReply(ticket_id=t.id, body="Restarting it"), by="bob").status
    'answered'

A command's `name` is the one name it has everywhere: in a workflow's
``events`` table, in `Helpdesk.allowed`, in a rule's ``command`` action (and the
other rule action keys), and in `TicketLockedError.command`. The `Helpdesk`
methods keep their longer names (``add_note`` for ``note``, ``mark_spam`` for
``spam``, ``confirm_resolution`` for ``confirm``): each class's `method` says
which. Arguments are checked when the value is built: a bad one raises
`ticketflow.InvalidInputError` naming the field, before any ticket is read.
What depends on the ticket (its status, the graph, its lock) is decided when
the command runs.

The message commands (`AgentReply`, `CustomerReply`, `Note`, and `Open` for the
description) take the message's metadata as optional keyword arguments, checked
when the value is built: ``channel`` (text; `Open` has the ticket's),
``attachments`` (`ticketflow.attachments.Attachment` values), ``external_id`` and
``in_reply_to`` (e-mail Message-IDs without angle brackets), ``references``
(such ids, oldest first), ``cc`` (addresses), ``html`` (an HTML body beside the
text) and ``metadata`` (a mapping of JSON values). The command keeps them in
``extra`` as event data, only the keys given; the `ticketflow.Message` built from
the event reads them back.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any, ClassVar, Final, TypeAlias, TypedDict, final

import attrs

from . import _validate
from ._model import EMPTY as _EMPTY
from ._model import EventKind, Priority, Requester, Role, check_json, message_data
from ._workflow import COMMAND_KINDS as _COMMAND_KINDS
from ._workflow import COMMANDS as _COMMANDS
from .attachments import Attachment
from .exceptions import InvalidInputError

__all__ = [  # noqa: RUF022 - plainly sorted, as every public module's
    "AddTags",
    "AgentReply",
    "Assign",
    "BY_KIND",
    "BY_NAME",
    "Close",
    "Command",
    "Confirm",
    "CustomerReply",
    "Delete",
    "Escalate",
    "Fire",
    "KEEP",
    "Keep",
    "Merge",
    "MessageMetadata",
    "Note",
    "Notify",
    "Open",
    "OpenMetadata",
    "Postpone",
    "Purge",
    "RemoveTags",
    "Reopen",
    "Resolve",
    "Restore",
    "SetField",
    "SetPriority",
    "Spam",
    "Wake",
]


class Keep(enum.Enum):
    """The type of `KEEP`: an `Assign` argument left as it is."""

    KEEP = enum.auto()


KEEP: Final = Keep.KEEP
"""Leave this assignment as it is (the default of `Assign`'s ``agent`` and ``department``)."""


# --- checks (cheap: a command is built on every call of the hot path) -----------------


def _text(value: object, field: str) -> None:
    # The inline test first: plain ASCII text needs no further call.
    if type(value) is not str or "\x00" in value or not value.isascii():
        _validate.text(value, field)


def _body(value: str) -> None:
    # A reply or note of nothing would count as a response (an SLA "met").
    _text(value, "body")
    if not value or value.isspace():
        raise InvalidInputError(
            "body must hold text: an empty or white-space-only message is refused",
            field="body",
        )


def _name(value: object, field: str) -> None:
    _validate.text(value, field, allow_empty=False)


_set: Final = object.__setattr__  # a frozen instance's own __init__ stores through this


def _check_id(ticket_id: object) -> None:
    # The inline test first: a command is built on every call of the hot path.
    if (
        type(ticket_id) is not str
        or not ticket_id.strip()
        or not ticket_id.isascii()
        or "\x00" in ticket_id
    ):
        _validate.ticket_id(ticket_id)


def _optional_name(value: object, field: str) -> None:
    if value is not None:
        _name(value, field)


def _tags(value: Iterable[str]) -> frozenset[str]:
    return _validate.tags(value)


def _priority(value: Priority | str) -> Priority:
    return value if type(value) is Priority else Priority.parse(value)


def _until(value: datetime) -> datetime:
    return _validate.aware_time(value, "until")


def _many(value: Any, field: str) -> tuple[Any, ...]:
    if isinstance(value, str | bytes | Mapping) or not isinstance(value, Iterable):
        raise InvalidInputError(
            f"{field} must be a list or tuple, got {_validate.describe(value)}", field=field
        )
    return tuple(value)


def _many_attachments(value: Iterable[Attachment]) -> tuple[Attachment, ...]:
    return _many(value, "attachments")


def _many_references(value: Iterable[str]) -> tuple[str, ...]:
    return _many(value, "references")


def _many_cc(value: Iterable[str]) -> tuple[str, ...]:
    return _many(value, "cc")


def _fields(value: Mapping[str, Any] | None) -> Mapping[str, Any]:
    if not value and (value is None or isinstance(value, Mapping)):
        return _EMPTY
    if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
        raise InvalidInputError("custom_fields must map names to values", field="custom_fields")
    check_json(dict(value), "custom_fields")
    return MappingProxyType(dict(value))


class MessageMetadata(TypedDict, total=False):
    """The optional keyword arguments of a message's metadata (the `Helpdesk` methods take them)."""

    channel: str | None
    attachments: Iterable[Attachment]
    external_id: str | None
    in_reply_to: str | None
    references: Iterable[str]
    cc: Iterable[str]
    html: str | None
    metadata: Mapping[str, Any] | None


class OpenMetadata(TypedDict, total=False):
    """The description's metadata keywords of `Open` (its channel is the ticket's)."""

    attachments: Iterable[Attachment]
    external_id: str | None
    in_reply_to: str | None
    references: Iterable[str]
    cc: Iterable[str]
    html: str | None
    metadata: Mapping[str, Any] | None


def _extra(**metadata: Any) -> Mapping[str, Any]:
    extra = message_data(**metadata)
    return MappingProxyType(dict(extra)) if extra else _EMPTY


# --- the commands ------------------------------------------------------------------------


class _Base:
    """What every command class declares (class attributes, not fields)."""

    __slots__ = ()

    name: ClassVar[str]
    """The command's one name (configs, `Helpdesk.allowed`, rule actions, errors)."""
    method: ClassVar[str]
    """The `Helpdesk` method that is sugar for it."""
    kind: ClassVar[EventKind]
    """The kind of the event it records."""
    role: ClassVar[Role] = Role.AGENT
    """Whose command it is: for `Role.CUSTOMER` (``open``, ``customer_reply``,
    ``confirm``) ``by=None`` means the ticket's requester, for the others the
    system. A ``by`` given as a string is always an agent's id."""
    triggered: ClassVar[bool] = False
    """Whether it can run from its workflow trigger alone: through `Helpdesk.fire`
    and as a rule's ``command`` action (it takes no arguments of its own)."""


@attrs.frozen(kw_only=True, init=False)
class _OnTicket(_Base):
    """A command that takes only the ticket: the status commands and purge."""

    ticket_id: str

    def __init__(self, *, ticket_id: str) -> None:
        """Build it; a hand-written ``__init__``: it is on every status change's path."""
        _check_id(ticket_id)
        _set_ticket_id(self, ticket_id)


_set_ticket_id = _OnTicket.__dict__["ticket_id"].__set__


@final
@attrs.frozen(kw_only=True)
class Open(_Base):
    """Open a ticket in the workflow's initial status (`Helpdesk.open_ticket`).

    Args:
        subject: One-line summary.
        requester: The customer.
        description: The customer's request.
        priority: A `Priority` or its name (stored as a `Priority`).
        channel: Where it came from.
        assignee: Agent id to assign it to.
        department: Department to assign it to.
        tags: Initial tags (stored as a frozenset).
        custom_fields: Initial custom fields (JSON values; stored read-only).
        parent_id: The ticket this one follows up (must exist when it runs).
        attachments: The description's attached files (`Attachment` values).
        external_id: The description's e-mail Message-ID (no angle brackets).
        in_reply_to: The Message-ID it answers, if any.
        references: The Message-IDs of its thread, oldest first.
        cc: The other addresses it went to.
        html: Its HTML body, beside the text ``description``.
        metadata: Application metadata (JSON values).

    Raises:
        InvalidInputError: an argument is invalid (``field`` names it).
    """

    name: ClassVar[str] = "open"
    method: ClassVar[str] = "open_ticket"
    kind: ClassVar[EventKind] = EventKind.CREATED
    role: ClassVar[Role] = Role.CUSTOMER

    subject: str
    requester: Requester
    description: str = ""
    priority: Priority = attrs.field(default=Priority.NORMAL, converter=_priority)
    channel: str = "email"
    assignee: str | None = None
    department: str | None = None
    tags: frozenset[str] = attrs.field(default=frozenset(), converter=_tags)
    custom_fields: Mapping[str, Any] = attrs.field(default=_EMPTY, converter=_fields)
    parent_id: str | None = None
    attachments: tuple[Attachment, ...] = attrs.field(default=(), converter=_many_attachments)
    external_id: str | None = None
    in_reply_to: str | None = None
    references: tuple[str, ...] = attrs.field(default=(), converter=_many_references)
    cc: tuple[str, ...] = attrs.field(default=(), converter=_many_cc)
    html: str | None = None
    metadata: Mapping[str, Any] | None = None
    extra: Mapping[str, Any] = attrs.field(init=False, default=_EMPTY)
    """The description's metadata as event data: only the keys given."""

    def __attrs_post_init__(self) -> None:
        """Check the arguments (``InvalidInputError`` names the bad one)."""
        _set(
            self,
            "extra",
            _extra(
                attachments=self.attachments,
                external_id=self.external_id,
                in_reply_to=self.in_reply_to,
                references=self.references,
                cc=self.cc,
                html=self.html,
                metadata=self.metadata,
            ),
        )
        if not isinstance(self.requester, Requester):
            raise InvalidInputError(
                f"requester must be a Requester, got {type(self.requester).__name__}",
                field="requester",
            )
        _text(self.subject, "subject")
        _text(self.description, "description")
        _name(self.channel, "channel")
        _optional_name(self.assignee, "assignee")
        _optional_name(self.department, "department")
        _optional_name(self.parent_id, "parent_id")


@attrs.frozen(kw_only=True, init=False)
class _MessageCommand(_Base):
    """A command that writes a message: a reply or a note (``body`` and its metadata)."""

    ticket_id: str
    body: str
    extra: Mapping[str, Any]
    """The message's metadata as event data: only the keys given (see `Message`)."""

    def __init__(
        self,
        *,
        ticket_id: str,
        body: str,
        channel: str | None = None,
        attachments: Iterable[Attachment] = (),
        external_id: str | None = None,
        in_reply_to: str | None = None,
        references: Iterable[str] = (),
        cc: Iterable[str] = (),
        html: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        """Build it; a hand-written ``__init__``: it is on every reply's path."""
        _check_id(ticket_id)
        _body(body)
        _message_ticket_id(self, ticket_id)
        _message_body(self, body)
        if (
            channel is None
            and external_id is None
            and in_reply_to is None
            and html is None
            and metadata is None
            and not attachments
            and not references
            and not cc
        ):
            _message_extra(self, _EMPTY)
        else:
            _message_extra(
                self,
                _extra(
                    channel=channel,
                    attachments=attachments,
                    external_id=external_id,
                    in_reply_to=in_reply_to,
                    references=references,
                    cc=cc,
                    html=html,
                    metadata=metadata,
                ),
            )


_message_ticket_id = _MessageCommand.__dict__["ticket_id"].__set__
_message_body = _MessageCommand.__dict__["body"].__set__
_message_extra = _MessageCommand.__dict__["extra"].__set__


@final
@attrs.frozen(kw_only=True, init=False)
class AgentReply(_MessageCommand):
    """A public agent reply (`Helpdesk.agent_reply`); an empty or blank ``body`` is refused.

    Built from ``ticket_id``, ``body`` and, optionally, the message's metadata
    (``channel``, ``attachments``, ``external_id``, ``in_reply_to``,
    ``references``, ``cc``, ``html``, ``metadata``; see `ticketflow.Message`),
    which ``extra`` keeps as event data, only the keys given.
    """

    name: ClassVar[str] = "agent_reply"
    method: ClassVar[str] = "agent_reply"
    kind: ClassVar[EventKind] = EventKind.AGENT_REPLIED


@final
@attrs.frozen(kw_only=True, init=False)
class CustomerReply(_MessageCommand):
    """A customer reply (`Helpdesk.customer_reply`); ``by`` defaults to the requester.

    An empty or white-space-only ``body`` is refused (`ticketflow.InvalidInputError`).
    It takes the same arguments as `AgentReply`.
    """

    name: ClassVar[str] = "customer_reply"
    method: ClassVar[str] = "customer_reply"
    kind: ClassVar[EventKind] = EventKind.CUSTOMER_REPLIED
    role: ClassVar[Role] = Role.CUSTOMER


@final
@attrs.frozen(kw_only=True, init=False)
class Note(_MessageCommand):
    """An internal note, private to agents (`Helpdesk.add_note`; a rule's ``note`` action).

    An empty or white-space-only ``body`` is refused (`ticketflow.InvalidInputError`).
    It takes the same arguments as `AgentReply`.
    """

    name: ClassVar[str] = "note"
    method: ClassVar[str] = "add_note"
    kind: ClassVar[EventKind] = EventKind.NOTE_ADDED


@final
@attrs.frozen(kw_only=True)
class Assign(_Base):
    """Assign to an agent and/or a department; `KEEP` leaves one as it is, ``None`` clears it.

    Nothing is recorded when nothing changes (`Helpdesk.assign`; the rule actions
    ``assign`` and ``assign_department``).
    """

    name: ClassVar[str] = "assign"
    method: ClassVar[str] = "assign"
    kind: ClassVar[EventKind] = EventKind.ASSIGNED

    ticket_id: str
    agent: str | None | Keep = KEEP
    department: str | None | Keep = KEEP

    def __attrs_post_init__(self) -> None:
        """Check the arguments (``InvalidInputError`` names the bad one)."""
        _check_id(self.ticket_id)
        if self.agent is not KEEP:
            _optional_name(self.agent, "agent")
        if self.department is not KEEP:
            _optional_name(self.department, "department")


@final
@attrs.frozen(kw_only=True)
class SetPriority(_Base):
    """Change the priority; nothing is recorded if it is already that (`Helpdesk.set_priority`)."""

    name: ClassVar[str] = "set_priority"
    method: ClassVar[str] = "set_priority"
    kind: ClassVar[EventKind] = EventKind.PRIORITY_CHANGED

    ticket_id: str
    priority: Priority = attrs.field(converter=_priority)

    def __attrs_post_init__(self) -> None:
        """Check the arguments (``InvalidInputError`` names the bad one)."""
        _check_id(self.ticket_id)


@final
@attrs.frozen(kw_only=True)
class AddTags(_Base):
    """Add tags (stored as a frozenset); those present are ignored (`Helpdesk.add_tags`)."""

    name: ClassVar[str] = "add_tags"
    method: ClassVar[str] = "add_tags"
    kind: ClassVar[EventKind] = EventKind.TAGS_ADDED

    ticket_id: str
    tags: frozenset[str] = attrs.field(converter=_tags)

    def __attrs_post_init__(self) -> None:
        """Check the arguments (``InvalidInputError`` names the bad one)."""
        _check_id(self.ticket_id)


@final
@attrs.frozen(kw_only=True)
class RemoveTags(_Base):
    """Remove tags (stored as a frozenset); those absent are ignored (`Helpdesk.remove_tags`)."""

    name: ClassVar[str] = "remove_tags"
    method: ClassVar[str] = "remove_tags"
    kind: ClassVar[EventKind] = EventKind.TAGS_REMOVED

    ticket_id: str
    tags: frozenset[str] = attrs.field(converter=_tags)

    def __attrs_post_init__(self) -> None:
        """Check the arguments (``InvalidInputError`` names the bad one)."""
        _check_id(self.ticket_id)


@final
@attrs.frozen(kw_only=True)
class SetField(_Base):
    """Set a custom field to a JSON value (`Helpdesk.set_field`)."""

    name: ClassVar[str] = "set_field"
    method: ClassVar[str] = "set_field"
    kind: ClassVar[EventKind] = EventKind.FIELD_SET

    ticket_id: str
    field: str
    value: Any

    def __attrs_post_init__(self) -> None:
        """Check the arguments (``InvalidInputError`` names the bad one)."""
        _check_id(self.ticket_id)
        _name(self.field, "field")
        check_json(self.value, f"custom_fields.{self.field}")


@final
@attrs.frozen(kw_only=True, init=False)
class Resolve(_OnTicket):
    """Resolve the ticket (`Helpdesk.resolve`)."""

    name: ClassVar[str] = "resolve"
    method: ClassVar[str] = "resolve"
    kind: ClassVar[EventKind] = EventKind.RESOLVED
    triggered: ClassVar[bool] = True


@final
@attrs.frozen(kw_only=True, init=False)
class Reopen(_OnTicket):
    """Reopen a resolved ticket (`Helpdesk.reopen`)."""

    name: ClassVar[str] = "reopen"
    method: ClassVar[str] = "reopen"
    kind: ClassVar[EventKind] = EventKind.REOPENED
    triggered: ClassVar[bool] = True


@final
@attrs.frozen(kw_only=True, init=False)
class Close(_OnTicket):
    """Close the ticket; it is locked from then on (`Helpdesk.close`)."""

    name: ClassVar[str] = "close"
    method: ClassVar[str] = "close"
    kind: ClassVar[EventKind] = EventKind.CLOSED
    triggered: ClassVar[bool] = True


@final
@attrs.frozen(kw_only=True)
class Confirm(_Base):
    """The customer confirms a resolved ticket is solved (`Helpdesk.confirm_resolution`).

    Args:
        ticket_id: The ticket.
        rating: Optional satisfaction rating, 1 (worst) to 5 (best).
    """

    name: ClassVar[str] = "confirm"
    method: ClassVar[str] = "confirm_resolution"
    kind: ClassVar[EventKind] = EventKind.CONFIRMED
    role: ClassVar[Role] = Role.CUSTOMER
    triggered: ClassVar[bool] = True

    ticket_id: str
    rating: int | None = None

    def __attrs_post_init__(self) -> None:
        """Check the arguments (``InvalidInputError`` names the bad one)."""
        _check_id(self.ticket_id)
        rating = self.rating
        if rating is not None and (
            isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5
        ):
            raise InvalidInputError(
                f"rating must be an integer from 1 to 5, got {_validate.describe(rating)}",
                field="rating",
            )


@final
@attrs.frozen(kw_only=True)
class Postpone(_Base):
    """Postpone until ``until`` (aware; in the future when it runs; `Helpdesk.postpone`)."""

    name: ClassVar[str] = "postpone"
    method: ClassVar[str] = "postpone"
    kind: ClassVar[EventKind] = EventKind.POSTPONED

    ticket_id: str
    until: datetime = attrs.field(converter=_until)

    def __attrs_post_init__(self) -> None:
        """Check the arguments (``InvalidInputError`` names the bad one)."""
        _check_id(self.ticket_id)


@final
@attrs.frozen(kw_only=True, init=False)
class Wake(_OnTicket):
    """Wake a postponed ticket (`Helpdesk.wake`)."""

    name: ClassVar[str] = "wake"
    method: ClassVar[str] = "wake"
    kind: ClassVar[EventKind] = EventKind.WOKEN
    triggered: ClassVar[bool] = True


@final
@attrs.frozen(kw_only=True, init=False)
class Spam(_OnTicket):
    """Mark the ticket as spam, restorably (`Helpdesk.mark_spam`)."""

    name: ClassVar[str] = "spam"
    method: ClassVar[str] = "mark_spam"
    kind: ClassVar[EventKind] = EventKind.MARKED_SPAM
    triggered: ClassVar[bool] = True


@final
@attrs.frozen(kw_only=True, init=False)
class Delete(_OnTicket):
    """Delete the ticket softly (`Helpdesk.delete`)."""

    name: ClassVar[str] = "delete"
    method: ClassVar[str] = "delete"
    kind: ClassVar[EventKind] = EventKind.DELETED
    triggered: ClassVar[bool] = True


@final
@attrs.frozen(kw_only=True, init=False)
class Restore(_OnTicket):
    """Restore a deleted or spam ticket (`Helpdesk.restore`)."""

    name: ClassVar[str] = "restore"
    method: ClassVar[str] = "restore"
    kind: ClassVar[EventKind] = EventKind.RESTORED
    triggered: ClassVar[bool] = True


@final
@attrs.frozen(kw_only=True)
class Merge(_Base):
    """Merge ``ticket_id`` into ``into_id`` (`Helpdesk.merge`; it returns the target).

    Args:
        ticket_id: The source, locked once merged.
        into_id: The target, which receives the source's thread.
        allow_other_requester: Merge even when the two tickets have different
            requesters (by default `ticketflow.RequesterMismatchError`); the
            source's requester then becomes a participant of the target.
    """

    name: ClassVar[str] = "merge"
    method: ClassVar[str] = "merge"
    kind: ClassVar[EventKind] = EventKind.MERGED

    ticket_id: str
    into_id: str
    allow_other_requester: bool = False

    def __attrs_post_init__(self) -> None:
        """Check the arguments (``InvalidInputError`` names the bad one)."""
        _check_id(self.ticket_id)
        _name(self.into_id, "into_id")
        if self.ticket_id == self.into_id:
            raise InvalidInputError("a ticket cannot be merged into itself", field="into_id")
        if not isinstance(self.allow_other_requester, bool):
            raise InvalidInputError(
                "allow_other_requester must be True or False, got "
                f"{_validate.describe(self.allow_other_requester)}",
                field="allow_other_requester",
            )


@final
@attrs.frozen(kw_only=True, init=False)
class Purge(_OnTicket):
    """Erase the ticket's personal data and its copies (`Helpdesk.purge`)."""

    name: ClassVar[str] = "purge"
    method: ClassVar[str] = "purge"
    kind: ClassVar[EventKind] = EventKind.PURGED


@final
@attrs.frozen(kw_only=True)
class Fire(_Base):
    """Fire a raw trigger of the workflow (`Helpdesk.fire`; a rule's ``trigger`` action).

    A trigger a command maps to is recorded as that command; others as a
    ``transitioned`` event carrying the trigger.
    """

    name: ClassVar[str] = "fire"
    method: ClassVar[str] = "fire"
    kind: ClassVar[EventKind] = EventKind.TRANSITIONED

    ticket_id: str
    trigger: str

    def __attrs_post_init__(self) -> None:
        """Check the arguments (``InvalidInputError`` names the bad one)."""
        _check_id(self.ticket_id)
        _name(self.trigger, "trigger")


@final
@attrs.frozen(kw_only=True)
class Notify(_Base):
    """Tell subscribers about ``topic``; the status stays (a rule's ``notify`` action)."""

    name: ClassVar[str] = "notify"
    method: ClassVar[str] = "execute"
    kind: ClassVar[EventKind] = EventKind.NOTIFIED

    ticket_id: str
    topic: str

    def __attrs_post_init__(self) -> None:
        """Check the arguments (``InvalidInputError`` names the bad one)."""
        _check_id(self.ticket_id)
        _name(self.topic, "topic")


@final
@attrs.frozen(kw_only=True)
class Escalate(_Base):
    """Record an escalation to ``level``; the status stays (rule and SLA ``escalate`` actions)."""

    name: ClassVar[str] = "escalate"
    method: ClassVar[str] = "execute"
    kind: ClassVar[EventKind] = EventKind.ESCALATED

    ticket_id: str
    level: int = 1

    def __attrs_post_init__(self) -> None:
        """Check the arguments (``InvalidInputError`` names the bad one)."""
        _check_id(self.ticket_id)
        if isinstance(self.level, bool) or not isinstance(self.level, int) or self.level < 0:
            raise InvalidInputError(
                f"level must be a whole number from 0, got {_validate.describe(self.level)}",
                field="level",
            )


Command: TypeAlias = (
    Open
    | AgentReply
    | CustomerReply
    | Note
    | Assign
    | SetPriority
    | AddTags
    | RemoveTags
    | SetField
    | Resolve
    | Reopen
    | Close
    | Confirm
    | Postpone
    | Wake
    | Spam
    | Delete
    | Restore
    | Merge
    | Purge
    | Fire
    | Notify
    | Escalate
)
"""Any command value."""

_CLASSES: Final[tuple[type[Command], ...]] = (
    Open,
    AgentReply,
    CustomerReply,
    Note,
    Assign,
    SetPriority,
    AddTags,
    RemoveTags,
    SetField,
    Resolve,
    Reopen,
    Close,
    Confirm,
    Postpone,
    Wake,
    Spam,
    Delete,
    Restore,
    Merge,
    Purge,
    Fire,
    Notify,
    Escalate,
)

BY_NAME: Final[Mapping[str, type[Command]]] = MappingProxyType({c.name: c for c in _CLASSES})
"""Every command class by its `name`: the one table of command names."""

BY_KIND: Final[Mapping[EventKind, type[Command]]] = MappingProxyType({c.kind: c for c in _CLASSES})
"""The command class that records each event kind (``merge_received`` and the SLA's
``sla_warning`` and ``sla_breached`` are recorded by no command of their own)."""


def _check_vocabulary() -> None:
    # The commands a workflow maps to triggers (its ``events`` table) are this table's.
    for name in _COMMANDS:
        if BY_NAME[name].kind is not _COMMAND_KINDS[name]:  # pragma: no cover - a typo here
            raise AssertionError(f"command {name!r}: kinds disagree")


_check_vocabulary()
