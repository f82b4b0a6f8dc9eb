"""The ticket's values: immutable attrs objects (tickets, events, messages, enums).

Nothing here changes a ticket: the reducer (`ticketflow._apply`) folds events into
new snapshots, and purging scrubs them (`ticketflow._scrub`).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from itertools import islice
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar, Final, TypeAlias, final

import attrs

from . import _validate
from ._clock import require_aware
from .attachments import Attachment
from .exceptions import InvalidInputError

if TYPE_CHECKING:
    from ._views import CustomerView

__all__ = [
    "EMPTY",
    "MESSAGE_KEYS",
    "Actor",
    "CreatedData",
    "Event",
    "EventKind",
    "JSONValue",
    "Message",
    "Priority",
    "Requester",
    "Role",
    "Ticket",
    "check_json",
    "same_person",
]

JSONValue: TypeAlias = "str | int | float | bool | None | list[JSONValue] | dict[str, JSONValue]"
"""A value that survives a JSON round trip."""

EMPTY: Final[Mapping[str, Any]] = MappingProxyType({})
"""The shared empty mapping (read-only), so empty data costs nothing per ticket."""


def check_json(value: object, field: str) -> None:
    """Raise `InvalidInputError` unless ``value`` survives a JSON round trip unchanged.

    Allowed: None, bool, int within 64 bits, finite float, str, list, and dict with
    str keys, nested at most 64 levels; strings (keys too) must not hold a lone
    surrogate or a NUL character, which a UTF-8 database cannot store. Tuples and
    non-str keys are refused, since a store would give back lists and str keys.
    The error's ``field`` is ``field``; its message gives the path inside the value.
    """
    _validate.check_data(value, field)


class Priority(enum.IntEnum):
    """Ticket priority, ordered ``LOW < NORMAL < HIGH < URGENT``."""

    LOW = 1
    NORMAL = 2
    HIGH = 3
    URGENT = 4

    @classmethod
    def parse(cls, value: Priority | str, field: str = "priority") -> Priority:
        """Return the priority named ``value`` (a `Priority` or its lower-case name).

        Raises:
            InvalidInputError: ``value`` names no priority.
        """
        if isinstance(value, Priority):
            return value
        if isinstance(value, str):
            member = cls.__members__.get(value.upper())
            if member is not None:
                return member
        names = ", ".join(m.name.lower() for m in cls)
        raise InvalidInputError(
            f"{field} must be one of {names}, got {_validate.describe(value)}", field=field
        )

    @property
    def label(self) -> str:
        """The lower-case name used in data files and events (``"urgent"``)."""
        return self.name.lower()


class Role(enum.StrEnum):
    """Who acted: the customer, an agent, an administrator, or the system (rules, automation).

    The configuration's permission table (`ticketflow.config.HelpdeskConfig.permissions`)
    says which commands each role may run.
    """

    CUSTOMER = "customer"
    AGENT = "agent"
    ADMIN = "admin"
    SYSTEM = "system"


class EventKind(enum.StrEnum):
    """What an event in a ticket's timeline records."""

    CREATED = "created"
    AGENT_REPLIED = "agent_replied"
    CUSTOMER_REPLIED = "customer_replied"
    NOTE_ADDED = "note_added"
    ASSIGNED = "assigned"
    PRIORITY_CHANGED = "priority_changed"
    TAGS_ADDED = "tags_added"
    TAGS_REMOVED = "tags_removed"
    FIELD_SET = "field_set"
    RESOLVED = "resolved"
    REOPENED = "reopened"
    CLOSED = "closed"
    CONFIRMED = "confirmed"
    POSTPONED = "postponed"
    WOKEN = "woken"
    MARKED_SPAM = "marked_spam"
    DELETED = "deleted"
    RESTORED = "restored"
    MERGED = "merged"
    MERGE_RECEIVED = "merge_received"
    PURGED = "purged"
    ERASED = "erased"
    TRANSITIONED = "transitioned"
    NOTIFIED = "notified"
    ESCALATED = "escalated"
    SLA_WARNING = "sla_warning"
    SLA_BREACHED = "sla_breached"


def _str_map(value: Mapping[str, str]) -> Mapping[str, str]:
    if not value:
        return EMPTY
    if not isinstance(value, Mapping):
        raise InvalidInputError(
            f"requester.contacts must map names to strings, got {type(value).__name__}",
            field="requester",
        )
    for key, item in value.items():
        _validate.text(key, "requester", allow_empty=False)
        _validate.text(item, "requester")
    return MappingProxyType(dict(value))


@final
@attrs.frozen(kw_only=True, slots=True)
class Requester:
    """The customer who asked for help.

    Args:
        name: Display name.
        email: E-mail address, if known.
        contacts: Other contact details (``{"phone": "+32 ..."}``).
        organisation: The customer's organisation, if any.
    """

    name: str = ""
    email: str | None = None
    contacts: Mapping[str, str] = attrs.field(default=EMPTY, converter=_str_map)
    organisation: str | None = None

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.name, str) or not (self.name.strip() or self.email):
            raise InvalidInputError(
                "requester needs a name or an e-mail address", field="requester"
            )
        for name in ("name", "email", "organisation"):
            value = getattr(self, name)
            if value is not None and (
                not isinstance(value, str) or _validate.text_problem(value) is not None
            ):
                problem = (
                    _validate.text_problem(value) if isinstance(value, str) else "is not a string"
                )
                raise InvalidInputError(f"requester.{name} {problem}", field="requester")

    def to_dict(self) -> dict[str, JSONValue]:
        """Return the requester as plain JSON data (only the fields that are set)."""
        out: dict[str, JSONValue] = {"name": self.name}
        if self.email is not None:
            out["email"] = self.email
        if self.contacts:
            out["contacts"] = dict(self.contacts)
        if self.organisation is not None:
            out["organisation"] = self.organisation
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Requester:
        """Build a requester from `to_dict` output."""
        return cls(
            name=data.get("name", ""),
            email=data.get("email"),
            contacts=data.get("contacts") or EMPTY,
            organisation=data.get("organisation"),
        )


def same_person(a: Requester, b: Requester) -> bool:
    """Whether two requesters are one person.

    Their e-mail addresses match (`_validate.email_key`) when both have one; when
    neither has one, their names match exactly; a requester with an address and
    one without are different people (a name alone proves nothing).
    """
    ka, kb = _validate.email_key(a.email), _validate.email_key(b.email)
    if ka is not None or kb is not None:
        return ka == kb
    return a.name == b.name


@final
@attrs.frozen(slots=True)
class Actor:
    """Who did something: an id (agent id, customer address, rule name) and a role."""

    id: str
    role: Role

    def to_dict(self) -> dict[str, JSONValue]:
        """Return ``{"id": ..., "role": ...}``."""
        return {"id": self.id, "role": self.role.value}


SYSTEM_ACTOR: Final = Actor("system", Role.SYSTEM)


# --- a message's metadata ----------------------------------------------------------------

MESSAGE_KEYS: Final = (
    "channel",
    "attachments",
    "external_id",
    "in_reply_to",
    "references",
    "cc",
    "html",
    "metadata",
)
"""The event-data keys of a message's metadata, beside ``body`` (each written only when set)."""

_MESSAGE_KEY_SET: Final = frozenset(MESSAGE_KEYS)


def _many(value: object, field: str) -> tuple[Any, ...]:
    if isinstance(value, str | bytes | Mapping) or not isinstance(value, Iterable):
        raise InvalidInputError(
            f"{field} must be a list or tuple, got {_validate.describe(value)}", field=field
        )
    return tuple(value)


def _line(value: object, field: str, *, angle: bool) -> str:
    text = _validate.text(value, field, allow_empty=False)
    bad = "\r\n<>" if angle else "\r\n"
    if any(c in text for c in bad):
        what = "CR, LF or angle brackets" if angle else "CR or LF"
        raise InvalidInputError(f"{field} must not contain {what}, got {text!r}", field=field)
    return text


def message_data(  # noqa: C901, PLR0912 - one flat check per piece of metadata
    *,
    channel: str | None = None,
    attachments: Iterable[Attachment] = (),
    external_id: str | None = None,
    in_reply_to: str | None = None,
    references: Iterable[str] = (),
    cc: Iterable[str] = (),
    html: str | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> Mapping[str, Any]:
    """Check a message's metadata; return it as event data (only the keys set), or `EMPTY`.

    Raises:
        InvalidInputError: a value is invalid (``field`` names it): attachments
            must be `Attachment` values, ``cc`` addresses non-empty text without
            CR or LF, ids text without CR, LF or angle brackets, ``html`` text,
            ``metadata`` a mapping of JSON values.
    """
    out: dict[str, Any] = {}
    if channel is not None:
        out["channel"] = _validate.text(channel, "channel", allow_empty=False)
    if attachments:
        items = _many(attachments, "attachments")
        for item in items:
            if not isinstance(item, Attachment):
                raise InvalidInputError(
                    f"attachments must be Attachment values, got {_validate.describe(item)}",
                    field="attachments",
                )
        if items:
            out["attachments"] = [item.to_dict() for item in items]
    if external_id is not None:
        out["external_id"] = _line(external_id, "external_id", angle=True)
    if in_reply_to is not None:
        out["in_reply_to"] = _line(in_reply_to, "in_reply_to", angle=True)
    if references:
        refs = [_line(r, "references", angle=True) for r in _many(references, "references")]
        if refs:
            out["references"] = refs
    if cc:
        addresses = [_line(a, "cc", angle=False) for a in _many(cc, "cc")]
        if addresses:
            out["cc"] = addresses
    if html is not None:
        out["html"] = _validate.text(html, "html")
    if metadata is not None:
        if not isinstance(metadata, Mapping):
            raise InvalidInputError(
                f"metadata must be a mapping, got {_validate.describe(metadata)}",
                field="metadata",
            )
        if metadata:
            plain = dict(metadata)
            check_json(plain, "metadata")
            out["metadata"] = plain
    return out or EMPTY


def message_extra(data: Mapping[str, Any]) -> Mapping[str, Any]:
    """The metadata keys of an event's (or a stored message's) data, read-only; `EMPTY` if none."""
    # A plain reply's data is {"body": ...}: one length test and it is done.
    if len(data) <= 1 or _MESSAGE_KEY_SET.isdisjoint(data):
        return EMPTY
    return MappingProxyType({k: data[k] for k in MESSAGE_KEYS if k in data})


def _check_author(value: object) -> None:
    if not isinstance(value, Actor):
        raise InvalidInputError(
            f"author must be an Actor, got {type(value).__name__}", field="author"
        )


@final
@attrs.frozen(slots=True, init=False, repr=False)
class Message:
    """One message of a ticket's thread.

    A message's metadata (channel, attachments, e-mail ids, cc, HTML, metadata)
    is held in one slot, shared and empty for a plain message, and read through
    properties.

    Attributes:
        at: When it was written (UTC).
        author: Who wrote it; ``author.role`` says customer, agent or system.
        body: The text.
        private: ``True`` for an internal note agents see and customers do not.
        id: Unique across the store: ``"<ticket id>/<position of its event in the
            timeline>"`` (``"<ticket id>/0"`` for the description). A message a
            merge copied keeps its original id; a message built by hand has ``""``
            unless given one, as have copies that older versions stored.
    """

    at: datetime
    author: Actor
    body: str
    private: bool
    # The id as its parts: the ticket id (shared with the ticket, not copied) and
    # the position (a small int, cached); ``_pos`` None when the id is not of
    # that form. Formatting "<ticket>/<n>" only when asked saves ~70 bytes and a
    # format call per message on the hot path.
    _tid: str
    _pos: int | None
    # Excluded from the hash: the metadata mapping is not hashable.
    _extra: Mapping[str, Any] = attrs.field(hash=False)

    def __init__(
        self,
        *,
        at: datetime,
        author: Actor,
        body: str,
        private: bool = False,
        id: str = "",  # noqa: A002 - the message's id, as Ticket.id
        channel: str | None = None,
        attachments: Iterable[Attachment] = (),
        external_id: str | None = None,
        in_reply_to: str | None = None,
        references: Iterable[str] = (),
        cc: Iterable[str] = (),
        html: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        _validate.aware_time(at, "at")
        _check_author(author)
        _validate.text(body, "body")
        _validate.text(id, "id")
        _set_message_at(self, at)
        _set_message_author(self, author)
        _set_message_body(self, body)
        _set_message_private(self, bool(private))
        _split_id(self, id)
        extra = message_data(
            channel=channel,
            attachments=attachments,
            external_id=external_id,
            in_reply_to=in_reply_to,
            references=references,
            cc=cc,
            html=html,
            metadata=metadata,
        )
        _set_message_extra(self, MappingProxyType(dict(extra)) if extra else EMPTY)

    @property
    def id(self) -> str:
        """Unique across the store: ``"<ticket id>/<position of its event in the timeline>"``."""
        pos = self._pos
        return self._tid if pos is None else f"{self._tid}/{pos}"

    def __repr__(self) -> str:
        extra = f", extra={dict(self._extra)!r}" if self._extra else ""
        return (
            f"Message(id={self.id!r}, at={self.at.isoformat()!r}, author={self.author!r}, "
            f"body={self.body!r}, private={self.private!r}{extra})"
        )

    @property
    def channel(self) -> str | None:
        """Where the message came from or went (``"email"``, ...), if recorded."""
        value: str | None = self._extra.get("channel")
        return value

    @property
    def attachments(self) -> tuple[Attachment, ...]:
        """The attached files (their bytes live in an `ticketflow.attachments.AttachmentStore`)."""
        items = self._extra.get("attachments")
        return tuple(Attachment.from_dict(a) for a in items) if items else ()

    @property
    def external_id(self) -> str | None:
        """The e-mail Message-ID, without angle brackets, if any."""
        value: str | None = self._extra.get("external_id")
        return value

    @property
    def in_reply_to(self) -> str | None:
        """The Message-ID this message answers (In-Reply-To), without angle brackets."""
        value: str | None = self._extra.get("in_reply_to")
        return value

    @property
    def references(self) -> tuple[str, ...]:
        """The Message-IDs of the thread (References), oldest first, without angle brackets."""
        return tuple(self._extra.get("references", ()))

    @property
    def cc(self) -> tuple[str, ...]:
        """The other addresses the message went to (cc)."""
        return tuple(self._extra.get("cc", ()))

    @property
    def html(self) -> str | None:
        """The HTML body beside the text ``body``, if any."""
        value: str | None = self._extra.get("html")
        return value

    @property
    def metadata(self) -> Mapping[str, Any]:
        """Application metadata: a read-only mapping of JSON values (empty if none)."""
        value = self._extra.get("metadata")
        return MappingProxyType(value) if value else EMPTY

    def replace(self, **changes: Any) -> Message:
        """Return a copy with ``changes`` (the keyword arguments of the constructor)."""
        values: dict[str, Any] = {
            "at": self.at,
            "author": self.author,
            "body": self.body,
            "private": self.private,
            "id": self.id,
            "channel": self.channel,
            "attachments": self.attachments,
            "external_id": self.external_id,
            "in_reply_to": self.in_reply_to,
            "references": self.references,
            "cc": self.cc,
            "html": self.html,
            "metadata": self.metadata,
        }
        values.update(changes)
        return Message(**values)

    def to_dict(self) -> dict[str, JSONValue]:
        """Return the message as JSON data (``id`` and the metadata keys only when set)."""
        out: dict[str, JSONValue] = {
            "at": self.at.isoformat(),
            "author": self.author.to_dict(),
            "body": self.body,
            "private": self.private,
        }
        if self.id:
            out["id"] = self.id
        if self._extra:
            out.update(_plain(self._extra))
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Message:
        """Build a message from `to_dict` output (older output, without id or metadata, too)."""
        author = data["author"]
        return trusted_message(
            datetime.fromisoformat(data["at"]),
            Actor(author["id"], Role(author["role"])),
            data["body"],
            private=bool(data.get("private", False)),
            id=data.get("id", ""),
            extra=message_extra(data),
        )


_set_message_at = Message.__dict__["at"].__set__
_set_message_author = Message.__dict__["author"].__set__
_set_message_body = Message.__dict__["body"].__set__
_set_message_private = Message.__dict__["private"].__set__
_set_message_tid = Message.__dict__["_tid"].__set__
_set_message_pos = Message.__dict__["_pos"].__set__


def _split_id(message: Message, id: str) -> None:  # noqa: A002 - the message's id
    head, slash, tail = id.rpartition("/")
    if slash and tail.isdigit() and tail.isascii() and str(int(tail)) == tail:
        _set_message_tid(message, head)
        _set_message_pos(message, int(tail))
    else:
        _set_message_tid(message, id)
        _set_message_pos(message, None)


_set_message_extra = Message.__dict__["_extra"].__set__


def reduced_message(
    at: datetime,
    author: Actor,
    body: str,
    private: bool,
    tid: str,
    pos: int,
    extra: Mapping[str, Any],
) -> Message:
    """Return the `Message` of the event at ``pos`` of ticket ``tid`` (the reducer's)."""
    message: Message = _new_object(Message)
    _set_message_at(message, at)
    _set_message_author(message, author)
    _set_message_body(message, body)
    _set_message_private(message, private)
    _set_message_tid(message, tid)
    _set_message_pos(message, pos)
    _set_message_extra(message, extra)
    return message


def trusted_message(
    at: datetime,
    author: Actor,
    body: str,
    *,
    private: bool,
    id: str,  # noqa: A002 - the message's id
    extra: Mapping[str, Any],
) -> Message:
    """Return the `Message` with these values, without the constructor's checks.

    For the reducer and the decoder: the values come from an event, validated
    when its command was built. ``extra`` is `message_extra` output.
    """
    message: Message = _new_object(Message)
    _set_message_at(message, at)
    _set_message_author(message, author)
    _set_message_body(message, body)
    _set_message_private(message, private)
    _split_id(message, id)
    _set_message_extra(message, extra)
    return message


@attrs.frozen(slots=True)
class _Step:
    """What an event did: a flyweight shared by every event with the same three values."""

    kind: EventKind
    status_before: str
    status_after: str


_STEPS: dict[tuple[EventKind, str, str], _Step] = {}
_STEP_CACHE_LIMIT: Final = 65_536


def _step(kind: EventKind, status_before: str, status_after: str) -> _Step:
    key = (kind, status_before, status_after)
    step = _STEPS.get(key)
    if step is None:
        step = _Step(EventKind(kind), status_before, status_after)
        if len(_STEPS) < _STEP_CACHE_LIMIT:
            _STEPS[key] = step
    return step


@final
@attrs.frozen(slots=True, init=False, repr=False)
class Event:
    """One entry of a ticket's timeline.

    Attributes:
        kind: What happened.
        at: When (from the engine's clock, UTC).
        actor: Who did it, with their role.
        status_before: The ticket's status before the event.
        status_after: The ticket's status after it (equal when the status did not change).
        data: What the event carries, read-only. Values are JSON values, except
            three that hold model objects in memory (and JSON in storage): the
            ``created`` event's data is a `CreatedData` (its ``requester`` a
            `Requester`), a ``postponed`` event's ``until`` is a datetime, and a
            ``merge_received`` event's ``messages`` are `Message` objects.
            A message event (``agent_replied``, ``customer_replied``,
            ``note_added``) holds ``body`` and, only when set, the message's
            metadata keys (`MESSAGE_KEYS`): ``channel``, ``attachments`` (a list
            of `ticketflow.attachments.Attachment.to_dict` dicts),
            ``external_id``, ``in_reply_to``, ``references`` (a list),
            ``cc`` (a list), ``html`` and ``metadata`` (a JSON object); a
            ``created`` event holds the description's (all but ``channel``,
            which is the ticket's). Events written before these keys existed
            have none and read back unchanged.
        version: The ticket version that this event's save produced.
    """

    # kind and the two statuses live in one shared flyweight: a timeline of N
    # events then costs N * 80 bytes instead of N * 96 (see docs/explanation/performance.md).
    _step: _Step
    at: datetime
    actor: Actor
    data: Mapping[str, Any]
    version: int

    def __init__(
        self,
        *,
        kind: EventKind,
        at: datetime,
        actor: Actor,
        status_before: str,
        status_after: str,
        data: Mapping[str, Any] = EMPTY,
        version: int = 1,
    ) -> None:
        step = _STEPS.get((kind, status_before, status_after))
        _set_event_step(self, step or _step(kind, status_before, status_after))
        _set_event_at(self, at)
        _set_event_actor(self, actor)
        _set_event_data(self, data)
        _set_event_version(self, version)

    @property
    def kind(self) -> EventKind:
        """What happened."""
        return self._step.kind

    @property
    def status_before(self) -> str:
        """The ticket's status before the event."""
        return self._step.status_before

    @property
    def status_after(self) -> str:
        """The ticket's status after the event."""
        return self._step.status_after

    def replace(self, **changes: Any) -> Event:
        """Return a copy with ``changes`` (the keyword arguments of the constructor)."""
        values: dict[str, Any] = {
            "kind": self.kind,
            "at": self.at,
            "actor": self.actor,
            "status_before": self.status_before,
            "status_after": self.status_after,
            "data": self.data,
            "version": self.version,
        }
        values.update(changes)
        return Event(**values)

    def __repr__(self) -> str:
        return (
            f"Event(kind={self.kind.value!r}, at={self.at.isoformat()!r}, actor={self.actor!r}, "
            f"status_before={self.status_before!r}, status_after={self.status_after!r}, "
            f"data={self.data!r}, version={self.version})"
        )

    @property
    def changes_status(self) -> bool:
        """Whether the event moved the ticket to another status."""
        return self.status_before != self.status_after

    def to_dict(self) -> dict[str, JSONValue]:
        """Return the event as JSON data (what stores persist)."""
        return {
            "kind": self.kind.value,
            "at": self.at.isoformat(),
            "actor": self.actor.to_dict(),
            "status_before": self.status_before,
            "status_after": self.status_after,
            "data": _plain(self.data),
            "version": self.version,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Event:
        """Build an event from `to_dict` output."""
        actor = data["actor"]
        kind = EventKind(data["kind"])
        return cls(
            kind=kind,
            at=require_aware(datetime.fromisoformat(data["at"]), "at"),
            actor=Actor(actor["id"], Role(actor["role"])),
            status_before=data["status_before"],
            status_after=data["status_after"],
            data=_decode_data(kind, data.get("data") or EMPTY),
            version=int(data["version"]),
        )


def _decode_data(kind: EventKind, data: Mapping[str, Any]) -> Mapping[str, Any]:
    # The three payloads that hold model objects in memory get them back on load,
    # so an event read from a store equals the event that was saved.
    if not data:
        return EMPTY
    if kind is EventKind.CREATED:
        return CreatedData.from_mapping(data)
    if kind is EventKind.POSTPONED and isinstance(data.get("until"), str):
        return {**data, "until": require_aware(datetime.fromisoformat(data["until"]), "until")}
    if kind is EventKind.MERGE_RECEIVED:
        return {
            **data,
            "messages": tuple(
                Message.from_dict(m) if isinstance(m, Mapping) else m for m in data["messages"]
            ),
        }
    return dict(data)


# Slot setters: a frozen class's __init__ cannot use plain assignment.
_set_event_step = Event.__dict__["_step"].__set__
_set_event_at = Event.__dict__["at"].__set__
_set_event_actor = Event.__dict__["actor"].__set__
_set_event_data = Event.__dict__["data"].__set__
_set_event_version = Event.__dict__["version"].__set__


def _plain(value: Any) -> Any:
    if isinstance(value, Requester | Message):
        return value.to_dict()
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


@final
@attrs.frozen(kw_only=True, slots=True)
class Ticket:
    """A support ticket: an immutable snapshot, rebuilt from or extended by events.

    A ticket is never changed in place: every command of `ticketflow.Helpdesk`
    appends events and returns a new snapshot. ``created_at`` and ``updated_at``
    come from the timeline.

    Attributes:
        id: Unique id, sortable by creation time (a ULID).
        subject: One-line summary (a property: read from the creation record).
        description: The customer's original request (a property, likewise).
        requester: Who asked (a property, likewise).
        priority: `Priority`.
        channel: Where it came from (``"email"``, ``"chat"``, ``"phone"``, ``"portal"``,
            ``"api"`` or any other name; a property, likewise).
        assignee: The agent id it is assigned to, if any.
        department: The department it is assigned to, if any.
        status: The current status (a name declared by the workflow).
        tags: Tags, as a frozenset.
        custom_fields: Help-desk specific fields (JSON values).
        messages: The thread, oldest first (a read-only sequence: a tuple, or for a
            long thread a view that shares storage with earlier snapshots).
        timeline: Every event, oldest first (a read-only sequence, likewise; it
            compares equal to a tuple of the same events).
        first_response_at: The first public agent reply.
        last_customer_activity_at: The last customer message (or creation).
        last_agent_activity_at: The last public agent reply.
        resolved_at: The last time the ticket was resolved.
        closed_at: The last time the ticket was closed.
        postponed_until: When a postponed ticket is due to wake up.
        version: Number of saves; the optimistic-concurrency token.
        status_entered_at: When the ticket entered its current status.
    """

    id: str
    priority: Priority = Priority.NORMAL
    assignee: str | None = None
    department: str | None = None
    status: str
    tags: frozenset[str] = frozenset()
    custom_fields: Mapping[str, Any] = EMPTY
    messages: Sequence[Message] = ()
    timeline: Sequence[Event]
    first_response_at: datetime | None = None
    last_customer_activity_at: datetime | None = None
    last_agent_activity_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    postponed_until: datetime | None = None
    version: int = 1
    # Facts folded as each event is applied, so that rules, SLAs and the queue
    # never walk the timeline (see `_fold_facts`).
    status_entered_at: datetime
    _customer_since: datetime | None = None
    _fired: Mapping[Any, Any] = EMPTY

    @property
    def subject(self) -> str:
        """One-line summary (from the creation record)."""
        return self.timeline[0].data.subject  # type: ignore[attr-defined, no-any-return]

    @property
    def description(self) -> str:
        """The customer's original request (from the creation record)."""
        return self.timeline[0].data.description  # type: ignore[attr-defined, no-any-return]

    @property
    def requester(self) -> Requester:
        """Who asked (from the creation record)."""
        return self.timeline[0].data.requester  # type: ignore[attr-defined, no-any-return]

    @property
    def channel(self) -> str:
        """Where it came from (from the creation record)."""
        return self.timeline[0].data.channel  # type: ignore[attr-defined, no-any-return]

    @property
    def description_message(self) -> Message:
        """The description as the thread's first message (id ``"<ticket id>/0"``).

        Written by whoever opened the ticket, on the ticket's channel, with the
        metadata `ticketflow.commands.Open` recorded (attachments, e-mail ids...).
        It is not in `messages`, which holds what came after the creation.
        """
        created = self.timeline[0]
        extra = getattr(created.data, "extra", EMPTY)
        return trusted_message(
            created.at,
            created.actor,
            self.description,
            private=False,
            id=f"{self.id}/0",
            extra=MappingProxyType({"channel": self.channel, **extra}),
        )

    @property
    def waiting_since(self) -> datetime:
        """Since when the customer has been waiting for an agent (the work queue's key).

        The first customer message (or the creation) after the last public agent
        reply; when the agent spoke last (a reopen, a move by hand), the later of
        that reply and `status_entered_at`.
        """
        since = self._customer_since
        if since is not None:
            return since
        last = self.last_agent_activity_at
        entered = self.status_entered_at
        return entered if last is None or entered > last else last

    @property
    def parent_id(self) -> str | None:
        """The ticket this one follows up, if any (recorded at creation)."""
        parent: str | None = self.timeline[0].data.get("parent_id")
        return parent

    @property
    def merged_into(self) -> str | None:
        """The ticket this one was merged into, if any."""
        for event in reversed(self.timeline):
            if event.kind is EventKind.MERGED:
                into: str = event.data["into"]
                return into
        return None

    @property
    def participants(self) -> tuple[Requester, ...]:
        """The other requesters whose tickets were merged into this one, oldest first.

        A merge of another requester's ticket (``allow_other_requester=True``)
        records them in its ``merge_received`` event; they may see this ticket
        (its customer view) and reply to it. Read from the timeline: it is asked
        only when a customer is not the requester.
        """
        found: list[Requester] = []
        for event in self.timeline:
            if event.kind is EventKind.MERGE_RECEIVED:
                for stored in event.data.get("participants", ()):
                    person = Requester.from_dict(stored)
                    # Each merge records whom it joined: a person once, however many.
                    if not any(same_person(person, p) for p in found):
                        found.append(person)
        return tuple(found)

    @property
    def created_at(self) -> datetime:
        """When the ticket was created (its first event)."""
        return self.timeline[0].at

    @property
    def updated_at(self) -> datetime:
        """When the ticket last changed (its last event)."""
        return self.timeline[-1].at

    @property
    def satisfaction(self) -> int | None:
        """The rating the customer gave when confirming the resolution, if any."""
        for event in reversed(self.timeline):
            if event.kind is EventKind.CONFIRMED:
                rating = event.data.get("rating")
                return rating if isinstance(rating, int) else None
        return None

    # The fold is the reducer's (`ticketflow._apply.rebuild`), set there when it is
    # imported: the reducer imports the model, so the model cannot import it back.
    _fold: ClassVar[Callable[[Iterable[Event]], Ticket]]

    @classmethod
    def rebuild(cls, events: Iterable[Event]) -> Ticket:
        """Rebuild a ticket from its events alone (event sourcing).

        Raises:
            InvalidInputError: the first event is not a ``created`` event.
        """
        return cls._fold(events)

    # Likewise the customer view is `ticketflow._views`' (set there when it is imported,
    # which importing `ticketflow` does): the view builds on the model.
    _customer_view: ClassVar[Callable[..., CustomerView]]

    def for_customer(self, *, show_assignment: bool = False) -> CustomerView:
        """Return what the ticket's customer may see of it (`ticketflow.customer_view`).

        The public thread, the public events and the fields a customer may see;
        never private notes, agent ids, rule or SLA internals (see `CustomerView`).

        Args:
            show_assignment: Also show assignment changes and the department.

        Raises:
            InvalidInputError: ``show_assignment`` is not a bool.
        """
        return Ticket._customer_view(self, show_assignment=show_assignment)


# --- timelines that grow without copying ---------------------------------------------------

_SMALL: Final = 32  # below this many items a tuple copy is cheaper than a shared list


@final
class _Log(Sequence[Any]):
    """An immutable view of the first ``n`` items of a list shared by successive snapshots.

    Appending to a snapshot's log appends to the shared list when the snapshot is
    its newest (the common case: one ticket, one line of versions), so a command
    costs the same at 10 events as at 100,000; appending to an older snapshot
    (a refused trial, a stale copy) copies its prefix first. The append is checked
    after the fact (``items[n] is item``), so two threads appending to the same
    snapshot cannot both win.
    """

    __slots__ = ("_items", "_n")

    def __init__(self, items: list[Any], n: int) -> None:
        self._items = items
        self._n = n

    def append(self, item: Any) -> _Log:
        """Return a log of these items and ``item``."""
        items, n = self._items, self._n
        if len(items) == n:
            items.append(item)
            if items[n] is item:
                return _Log(items, n + 1)
        fresh = items[:n]
        fresh.append(item)
        return _Log(fresh, n + 1)

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, index: Any) -> Any:
        n = self._n
        if isinstance(index, slice):
            return tuple(self._items[:n][index])
        if index < 0:
            index += n
        if not 0 <= index < n:
            raise IndexError("timeline index out of range")
        return self._items[index]

    def __iter__(self) -> Iterator[Any]:
        return islice(self._items, self._n)

    def __reversed__(self) -> Iterator[Any]:
        items = self._items
        return (items[i] for i in range(self._n - 1, -1, -1))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence) and not isinstance(other, str):
            return len(other) == self._n and all(a == b for a, b in zip(self, other, strict=True))
        return NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(self))

    def __repr__(self) -> str:
        return repr(tuple(self))


def raw_items(items: Sequence[Any]) -> Sequence[Any]:
    """The list or tuple behind ``items``: index it only below ``len(items)`` (hot loops)."""
    return items._items if type(items) is _Log else items  # noqa: SLF001 - the log's own storage


def _extend(items: Sequence[Any], item: Any) -> Sequence[Any]:
    """Return ``items`` with ``item`` appended, sharing storage once they are long."""
    if type(items) is tuple:
        if len(items) < _SMALL:
            return (*items, item)
        return _Log([*items, item], len(items) + 1)
    return items.append(item)  # type: ignore[attr-defined, no-any-return]


@final
@attrs.frozen(kw_only=True, slots=True, eq=False)
class CreatedData(Mapping[str, Any]):
    """The data of a ``created`` event: a read-only mapping of the ticket's first values.

    It holds only the values that differ from the defaults (as a dict would), but
    in slots: a ticket's creation record costs 128 bytes instead of a dict's 200+.
    ``requester`` maps to a `Requester`; ``priority`` to its name; ``tags`` to a
    sorted list.
    """

    id: str
    subject: str
    description: str = ""
    requester: Requester
    priority: Priority = Priority.NORMAL
    channel: str = "email"
    assignee: str | None = None
    department: str | None = None
    tags: tuple[str, ...] = ()
    custom_fields: Mapping[str, Any] = EMPTY
    parent_id: str | None = None
    extra: Mapping[str, Any] = EMPTY
    """The description's message metadata (`MESSAGE_KEYS` but ``channel``), as flat keys."""

    def _present(self) -> list[str]:
        keys = ["id", "subject", "requester"]
        if self.description:
            keys.append("description")
        if self.priority is not Priority.NORMAL:
            keys.append("priority")
        if self.channel != "email":
            keys.append("channel")
        keys.extend(
            key for key in ("assignee", "department", "parent_id") if getattr(self, key) is not None
        )
        if self.tags:
            keys.append("tags")
        if self.custom_fields:
            keys.append("custom_fields")
        if self.extra:
            keys.extend(self.extra)
        return keys

    def __getitem__(self, key: str) -> Any:
        """Return the value of ``key`` (JSON-shaped, but ``requester``)."""
        if key in self.extra:
            return self.extra[key]
        if key not in _CREATED_FIELDS or key == "extra" or key not in self._present():
            raise KeyError(key)
        if key == "priority":
            return self.priority.label
        if key == "tags":
            return list(self.tags)
        if key == "custom_fields":
            return dict(self.custom_fields)
        return getattr(self, key)

    def get(self, key: str, default: Any = None) -> Any:
        """Return the value of ``key``, or ``default`` when it is not present."""
        try:
            return self[key]
        except KeyError:
            return default

    def __iter__(self) -> Iterator[str]:
        """Iterate over the keys that are present."""
        return iter(self._present())

    def __len__(self) -> int:
        """Return the number of keys present."""
        return len(self._present())

    def __eq__(self, other: object) -> bool:
        """Compare as mappings (equal to a dict with the same items)."""
        if isinstance(other, CreatedData):
            return attrs.astuple(self, recurse=False) == attrs.astuple(other, recurse=False)
        if isinstance(other, Mapping):
            return dict(self.items()) == dict(other.items())
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"CreatedData({dict(self.items())!r})"

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> CreatedData:
        """Build from a plain mapping (as read back from JSON)."""
        if isinstance(data, CreatedData):
            return data
        fields = data.get("custom_fields")
        return cls(
            id=data["id"],
            subject=data["subject"],
            description=data.get("description", ""),
            requester=_requester_of(data),
            priority=Priority.parse(data.get("priority", "normal")),
            channel=data.get("channel", "email"),
            assignee=data.get("assignee"),
            department=data.get("department"),
            tags=tuple(sorted(data.get("tags") or ())),
            custom_fields=MappingProxyType(dict(fields)) if fields else EMPTY,
            parent_id=data.get("parent_id"),
            extra=_created_extra(data),
        )


def _created_extra(data: Mapping[str, Any]) -> Mapping[str, Any]:
    # ``channel`` of a created event is the ticket's (and so the description's) channel.
    extra = message_extra(data)
    if "channel" in extra:
        extra = MappingProxyType({k: v for k, v in extra.items() if k != "channel"})
    return extra or EMPTY


_CREATED_FIELDS: Final = frozenset(f.name for f in attrs.fields(CreatedData))


def _requester_of(data: Mapping[str, Any]) -> Requester:
    value = data["requester"]
    return value if isinstance(value, Requester) else Requester.from_dict(value)


# --- trusted construction (for the stores' decoder) ------------------------------------
# Added for ticketflow.stores._codec, which decodes events a store wrote itself: their
# values were validated when the command that made them ran, so these build the value
# objects without the public constructors' checks, conversions and keyword handling
# (object.__new__ and the slot setters). Never use them on input from outside.

_new_object = object.__new__
_set_requester_name = Requester.__dict__["name"].__set__
_set_requester_email = Requester.__dict__["email"].__set__
_set_requester_contacts = Requester.__dict__["contacts"].__set__
_set_requester_organisation = Requester.__dict__["organisation"].__set__
_set_created = {name: CreatedData.__dict__[name].__set__ for name in _CREATED_FIELDS}
_set_created_id = _set_created["id"]
_set_created_subject = _set_created["subject"]
_set_created_description = _set_created["description"]
_set_created_requester = _set_created["requester"]
_set_created_priority = _set_created["priority"]
_set_created_channel = _set_created["channel"]
_set_created_assignee = _set_created["assignee"]
_set_created_department = _set_created["department"]
_set_created_tags = _set_created["tags"]
_set_created_custom_fields = _set_created["custom_fields"]
_set_created_parent_id = _set_created["parent_id"]
_set_created_extra = _set_created["extra"]
_PRIORITY_LABELS: Final[Mapping[str, Priority]] = {p.label: p for p in Priority}


def trusted_event(
    kind: str,
    at: datetime,
    actor: Actor,
    status_before: str,
    status_after: str,
    data: Mapping[str, Any],
    version: int,
) -> Event:
    """Return the `Event` with these values, built without the constructor's keyword handling.

    ``kind`` may be an `EventKind` or its value (the shared step flyweight holds
    the member either way); ``data`` must already be in memory form (see `Event`),
    and the event owns it from now on.

    Raises:
        ValueError: ``kind`` names no `EventKind`.
    """
    event: Event = _new_object(Event)
    # A StrEnum member hashes and compares as its value: the string finds the entry.
    step = _STEPS.get((kind, status_before, status_after))  # type: ignore[arg-type]
    _set_event_step(event, step or _step(EventKind(kind), status_before, status_after))
    _set_event_at(event, at)
    _set_event_actor(event, actor)
    _set_event_data(event, data)
    _set_event_version(event, version)
    return event


def trusted_requester(data: Mapping[str, Any]) -> Requester:
    """Return the `Requester` of `Requester.to_dict` output, without re-validating it."""
    requester: Requester = _new_object(Requester)
    _set_requester_name(requester, data.get("name", ""))
    _set_requester_email(requester, data.get("email"))
    contacts = data.get("contacts")
    _set_requester_contacts(requester, MappingProxyType(dict(contacts)) if contacts else EMPTY)
    _set_requester_organisation(requester, data.get("organisation"))
    return requester


def trusted_created_data(data: Mapping[str, Any]) -> CreatedData:
    """Return the `CreatedData` of a stored ``created`` event's data (as JSON gives it back).

    The same values as `CreatedData.from_mapping`, without its checks.
    """
    created: CreatedData = _new_object(CreatedData)
    get = data.get
    priority = get("priority", "normal")
    tags = get("tags")
    fields = get("custom_fields")
    _set_created_id(created, data["id"])
    _set_created_subject(created, data["subject"])
    _set_created_description(created, get("description", ""))
    _set_created_requester(created, trusted_requester(data["requester"]))
    _set_created_priority(created, _PRIORITY_LABELS.get(priority) or Priority.parse(priority))
    _set_created_channel(created, get("channel", "email"))
    _set_created_assignee(created, get("assignee"))
    _set_created_department(created, get("department"))
    _set_created_tags(created, tuple(sorted(tags)) if tags else ())
    _set_created_custom_fields(created, MappingProxyType(dict(fields)) if fields else EMPTY)
    _set_created_parent_id(created, get("parent_id"))
    _set_created_extra(created, _created_extra(data))
    return created
