"""The ticket model: immutable attrs value objects, changed only by applying events."""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final, TypeAlias, final

import attrs

from . import _validate
from ._clock import require_aware
from .exceptions import InvalidInputError

__all__ = [
    "EMPTY",
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
    """Who acted: the customer, an agent, or the system (rules, automation)."""

    CUSTOMER = "customer"
    AGENT = "agent"
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


ERASED_REQUESTER: Final = Requester(name="(erased)")


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
ERASED_CUSTOMER: Final = Actor("(erased)", Role.CUSTOMER)


def _check_author(value: object) -> None:
    if not isinstance(value, Actor):
        raise InvalidInputError(
            f"author must be an Actor, got {type(value).__name__}", field="author"
        )


@final
@attrs.frozen(kw_only=True, slots=True)
class Message:
    """One message of a ticket's thread.

    Attributes:
        at: When it was written (UTC).
        author: Who wrote it; ``author.role`` says customer, agent or system.
        body: The text.
        private: ``True`` for an internal note agents see and customers do not.
    """

    at: datetime = attrs.field(validator=lambda _m, _a, v: _validate.aware_time(v, "at"))
    author: Actor = attrs.field(validator=lambda _m, _a, v: _check_author(v))
    body: str = attrs.field(validator=lambda _m, _a, v: _validate.text(v, "body"))
    private: bool = False

    def to_dict(self) -> dict[str, JSONValue]:
        """Return the message as JSON data."""
        return {
            "at": self.at.isoformat(),
            "author": self.author.to_dict(),
            "body": self.body,
            "private": self.private,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Message:
        """Build a message from `to_dict` output."""
        author = data["author"]
        return cls(
            at=datetime.fromisoformat(data["at"]),
            author=Actor(author["id"], Role(author["role"])),
            body=data["body"],
            private=bool(data.get("private", False)),
        )


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
        subject: One-line summary.
        description: The customer's original request.
        requester: Who asked.
        priority: `Priority`.
        channel: Where it came from (``"email"``, ``"chat"``, ``"phone"``, ``"portal"``,
            ``"api"`` or any other name).
        assignee: The agent id it is assigned to, if any.
        department: The department it is assigned to, if any.
        status: The current status (a name declared by the workflow).
        tags: Tags, as a frozenset.
        custom_fields: Help-desk specific fields (JSON values).
        messages: The thread, oldest first.
        timeline: Every event, oldest first.
        first_response_at: The first public agent reply.
        last_customer_activity_at: The last customer message (or creation).
        last_agent_activity_at: The last public agent reply.
        resolved_at: The last time the ticket was resolved.
        closed_at: The last time the ticket was closed.
        postponed_until: When a postponed ticket is due to wake up.
        version: Number of saves; the optimistic-concurrency token.
    """

    id: str
    subject: str
    description: str = ""
    requester: Requester
    priority: Priority = Priority.NORMAL
    channel: str = "email"
    assignee: str | None = None
    department: str | None = None
    status: str
    tags: frozenset[str] = frozenset()
    custom_fields: Mapping[str, Any] = EMPTY
    messages: tuple[Message, ...] = ()
    timeline: tuple[Event, ...]
    first_response_at: datetime | None = None
    last_customer_activity_at: datetime | None = None
    last_agent_activity_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    postponed_until: datetime | None = None
    version: int = 1

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

    @classmethod
    def rebuild(cls, events: Iterable[Event]) -> Ticket:
        """Rebuild a ticket from its events alone (event sourcing).

        Raises:
            InvalidInputError: the first event is not a ``created`` event.
        """
        iterator = iter(events)
        first = next(iterator, None)
        if first is None or first.kind is not EventKind.CREATED:
            raise InvalidInputError("a timeline must start with a 'created' event", field="events")
        ticket = _from_created(first)
        for event in iterator:
            ticket = apply_event(ticket, event)
        return ticket


if TYPE_CHECKING:  # pragma: no cover

    def replace(ticket: Ticket, **changes: Any) -> Ticket:
        """Return ``ticket`` with ``changes`` (a fast `attrs.evolve`)."""
        ...

else:

    def _make_replace() -> Callable[..., Ticket]:
        # attrs.evolve costs ~2.5x this on the hot path. The source below is built
        # only from our own field names, never from user data.
        names = [f.name for f in attrs.fields(Ticket)]
        params = ", ".join(f"{n}=_M" for n in names)
        body = "".join(f"    _s_{n}(_n, _t.{n} if {n} is _M else {n})\n" for n in names)
        src = f"def replace(_t, *, {params}):\n    _n = _new(_T)\n{body}    return _n\n"
        namespace: dict[str, Any] = {"_new": object.__new__, "_T": Ticket, "_M": object()}
        for n in names:
            namespace[f"_s_{n}"] = Ticket.__dict__[n].__set__
        exec(src, namespace)  # noqa: S102 - trusted, generated from field names
        fn: Callable[..., Ticket] = namespace["replace"]
        fn.__doc__ = "Return ``ticket`` with ``changes`` (a fast `attrs.evolve`)."
        return fn

    replace = _make_replace()


# --- applying events ------------------------------------------------------------------


_NO_TAGS: Final[frozenset[str]] = frozenset()


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
        return keys

    def __getitem__(self, key: str) -> Any:
        """Return the value of ``key`` (JSON-shaped, but ``requester``)."""
        if key not in _CREATED_FIELDS or key not in self._present():
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
        )


_CREATED_FIELDS: Final = frozenset(f.name for f in attrs.fields(CreatedData))


def _requester_of(data: Mapping[str, Any]) -> Requester:
    value = data["requester"]
    return value if isinstance(value, Requester) else Requester.from_dict(value)


def _from_created(event: Event) -> Ticket:
    data = CreatedData.from_mapping(event.data)
    return Ticket(
        id=data.id,
        subject=data.subject,
        description=data.description,
        requester=data.requester,
        priority=data.priority,
        channel=data.channel,
        assignee=data.assignee,
        department=data.department,
        status=event.status_after,
        tags=frozenset(data.tags) if data.tags else _NO_TAGS,
        custom_fields=data.custom_fields,
        timeline=(event,),
        last_customer_activity_at=event.at,
        version=event.version,
    )


_new_object = object.__new__
_set_message_at = Message.__dict__["at"].__set__
_set_message_author = Message.__dict__["author"].__set__
_set_message_body = Message.__dict__["body"].__set__
_set_message_private = Message.__dict__["private"].__set__


def _message(event: Event, *, private: bool = False) -> Message:
    # Message(...) through attrs' frozen __init__ costs twice this on the hot path;
    # the values come from an event, so they need no validation.
    message: Message = _new_object(Message)
    _set_message_at(message, event.at)
    _set_message_author(message, event.actor)
    _set_message_body(message, event.data.get("body", ""))
    _set_message_private(message, private)
    return message


def _on_status_only(t: Ticket, e: Event) -> Ticket:
    return replace(
        t,
        status=e.status_after,
        timeline=(*t.timeline, e),
        version=e.version,
        postponed_until=None if e.status_after != e.status_before else t.postponed_until,
    )


def _on_agent_replied(t: Ticket, e: Event) -> Ticket:
    at = e.at
    return replace(
        t,
        status=e.status_after,
        messages=(*t.messages, _message(e)),
        timeline=(*t.timeline, e),
        version=e.version,
        first_response_at=at if t.first_response_at is None else t.first_response_at,
        last_agent_activity_at=at,
        postponed_until=None if e.status_after != e.status_before else t.postponed_until,
    )


def _on_customer_replied(t: Ticket, e: Event) -> Ticket:
    return replace(
        t,
        status=e.status_after,
        messages=(*t.messages, _message(e)),
        timeline=(*t.timeline, e),
        version=e.version,
        last_customer_activity_at=e.at,
        postponed_until=None if e.status_after != e.status_before else t.postponed_until,
    )


def _on_note(t: Ticket, e: Event) -> Ticket:
    # A workflow may map ``note`` to a trigger, so a note can move the status too.
    return replace(
        t,
        status=e.status_after,
        messages=(*t.messages, _message(e, private=True)),
        timeline=(*t.timeline, e),
        version=e.version,
        postponed_until=None if e.status_after != e.status_before else t.postponed_until,
    )


def _on_assigned(t: Ticket, e: Event) -> Ticket:
    d = e.data
    return replace(
        t,
        assignee=d.get("assignee", t.assignee),
        department=d.get("department", t.department),
        timeline=(*t.timeline, e),
        version=e.version,
    )


def _on_priority(t: Ticket, e: Event) -> Ticket:
    return replace(
        t, priority=Priority.parse(e.data["priority"]), timeline=(*t.timeline, e), version=e.version
    )


def _on_tags_added(t: Ticket, e: Event) -> Ticket:
    return replace(
        t, tags=t.tags | frozenset(e.data["tags"]), timeline=(*t.timeline, e), version=e.version
    )


def _on_tags_removed(t: Ticket, e: Event) -> Ticket:
    return replace(
        t, tags=t.tags - frozenset(e.data["tags"]), timeline=(*t.timeline, e), version=e.version
    )


def _on_field_set(t: Ticket, e: Event) -> Ticket:
    fields = dict(t.custom_fields)
    fields[e.data["name"]] = e.data["value"]
    return replace(
        t, custom_fields=MappingProxyType(fields), timeline=(*t.timeline, e), version=e.version
    )


def _on_resolved(t: Ticket, e: Event) -> Ticket:
    return replace(
        t,
        status=e.status_after,
        resolved_at=e.at,
        timeline=(*t.timeline, e),
        version=e.version,
        postponed_until=None,
    )


def _on_closed(t: Ticket, e: Event) -> Ticket:
    return replace(
        t,
        status=e.status_after,
        closed_at=e.at,
        timeline=(*t.timeline, e),
        version=e.version,
        postponed_until=None,
    )


def _on_confirmed(t: Ticket, e: Event) -> Ticket:
    # A confirmation closes the ticket only when it moves it (`fire("confirm")`);
    # confirm_resolution records it and leaves closing to the confirmation rule.
    return _on_closed(t, e) if e.changes_status else _on_status_only(t, e)


def _on_postponed(t: Ticket, e: Event) -> Ticket:
    return replace(
        t,
        status=e.status_after,
        postponed_until=_until(e),
        timeline=(*t.timeline, e),
        version=e.version,
    )


def _until(e: Event) -> datetime:
    value = e.data["until"]
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


def _on_merged(t: Ticket, e: Event) -> Ticket:
    return replace(
        t,
        status=e.status_after,
        closed_at=e.at,
        timeline=(*t.timeline, e),
        version=e.version,
        postponed_until=None,
    )


def _on_merge_received(t: Ticket, e: Event) -> Ticket:
    moved = tuple(m if isinstance(m, Message) else Message.from_dict(m) for m in e.data["messages"])
    thread = tuple(sorted((*t.messages, *moved), key=lambda m: m.at))
    return replace(
        t, status=e.status_after, messages=thread, timeline=(*t.timeline, e), version=e.version
    )


def _on_purged(t: Ticket, e: Event) -> Ticket:
    # The timeline handed to the purge is already scrubbed (see `scrub_event`);
    # applying the purge itself only records the final status.
    return replace(
        t,
        status=e.status_after,
        timeline=(*t.timeline, e),
        version=e.version,
        postponed_until=None,
        custom_fields=EMPTY,
    )


_APPLY: Final[dict[EventKind, Callable[[Ticket, Event], Ticket]]] = {
    EventKind.AGENT_REPLIED: _on_agent_replied,
    EventKind.CUSTOMER_REPLIED: _on_customer_replied,
    EventKind.NOTE_ADDED: _on_note,
    EventKind.ASSIGNED: _on_assigned,
    EventKind.PRIORITY_CHANGED: _on_priority,
    EventKind.TAGS_ADDED: _on_tags_added,
    EventKind.TAGS_REMOVED: _on_tags_removed,
    EventKind.FIELD_SET: _on_field_set,
    EventKind.RESOLVED: _on_resolved,
    EventKind.REOPENED: _on_status_only,
    EventKind.CLOSED: _on_closed,
    EventKind.CONFIRMED: _on_confirmed,
    EventKind.POSTPONED: _on_postponed,
    EventKind.WOKEN: _on_status_only,
    EventKind.MARKED_SPAM: _on_status_only,
    EventKind.DELETED: _on_status_only,
    EventKind.RESTORED: _on_status_only,
    EventKind.MERGED: _on_merged,
    EventKind.MERGE_RECEIVED: _on_merge_received,
    EventKind.PURGED: _on_purged,
    EventKind.TRANSITIONED: _on_status_only,
    EventKind.NOTIFIED: _on_status_only,
    EventKind.ESCALATED: _on_status_only,
    EventKind.SLA_WARNING: _on_status_only,
    EventKind.SLA_BREACHED: _on_status_only,
}


def apply_event(ticket: Ticket, event: Event) -> Ticket:
    """Return ``ticket`` with ``event`` applied; the single place state changes happen."""
    return _APPLY[event.kind](ticket, event)


# --- purging --------------------------------------------------------------------------


def _scrub_actor(actor: Actor) -> Actor:
    return ERASED_CUSTOMER if actor.role is Role.CUSTOMER else actor


def scrub_event(event: Event) -> Event:
    """Return ``event`` without personal data (used by purge).

    Customer identities become ``(erased)``; subjects, descriptions, message bodies,
    contact details and custom field values are removed. Kinds, times, roles,
    statuses and agent ids stay, so metrics computed from the timeline are unchanged.
    """
    data = event.data
    kind = event.kind
    if kind is EventKind.CREATED:
        data = attrs.evolve(
            CreatedData.from_mapping(data),
            subject="",
            description="",
            requester=ERASED_REQUESTER,
            custom_fields=EMPTY,
        )
    elif kind in (EventKind.AGENT_REPLIED, EventKind.CUSTOMER_REPLIED, EventKind.NOTE_ADDED):
        data = {**data, "body": ""}
    elif kind is EventKind.FIELD_SET:
        data = {**data, "value": None}
    elif kind is EventKind.MERGE_RECEIVED:
        data = {**data, "messages": tuple(_scrub_message(m) for m in data["messages"])}
    return event.replace(actor=_scrub_actor(event.actor), data=data)


def _scrub_message(m: Message | Mapping[str, Any]) -> Message:
    msg = m if isinstance(m, Message) else Message.from_dict(m)
    return attrs.evolve(msg, body="", author=_scrub_actor(msg.author))
