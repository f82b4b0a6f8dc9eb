"""How the SQL stores write events and read tickets back: one shared codec.

An event is stored as the JSON text of `Event.to_dict` (the format is unchanged
since the first schema). Reading a ticket back decodes its rows in one pass:

* one ``json.loads`` for the whole timeline (the rows, in position order, joined
  into one JSON array), not one call per row; a long timeline in chunks of 1,024
  rows, so that the parsed rows do not pile up beside the events;
* the kind and the two statuses resolved to their shared flyweight through one
  dict lookup, not an ``EventKind(...)`` call;
* each distinct actor and time stamp built once per ticket (a timeline repeats a
  few actors and, within a commit, one instant); agent and system actors are also
  shared across tickets, in a bounded table. Customer actors are not: that table
  lives as long as the process, and a purge must not leave a customer's address
  behind in it;
* the events built without the public constructor's checks (`trusted_event`):
  the store wrote them from events that were validated when their command ran.

Then the reducer (`ticketflow._apply.rebuild`, what `Ticket.rebuild` runs) folds the
events into the snapshot.
"""

from __future__ import annotations

import json
import json.encoder
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final

from .._apply import rebuild
from .._model import (
    EMPTY,
    Actor,
    CreatedData,
    Event,
    EventKind,
    Message,
    Priority,
    Requester,
    Role,
    Ticket,
    trusted_created_data,
    trusted_event,
)
from ..exceptions import StoreError

__all__ = ["decode_events", "decode_ticket", "dump_event", "dump_events"]

_ROLES: Final[Mapping[str, Role]] = {role.value: role for role in Role}

# Agent and system actors shared by every decoded ticket: a help desk has few of
# them and they act on many tickets. Bounded, like the step flyweights: once full,
# new ones are built per ticket instead.
_SHARED_ACTORS: dict[tuple[str, str], Actor] = {}
_SHARED_ACTORS_LIMIT: Final = 4096
_CHUNK: Final = 1024  # rows parsed by one json.loads


def _plain_default(value: Any) -> Any:
    """What the encoder writes for a value JSON has no form for (as `Event.to_dict` does)."""
    if isinstance(value, Requester | Message):
        return value.to_dict()
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


# One encoder for every event: json.dumps with options builds a new one per call.
_encode: Final = json.JSONEncoder(
    separators=(",", ":"), ensure_ascii=False, default=_plain_default
).encode
_PLAIN_DATA: Final = frozenset(EventKind) - {
    EventKind.CREATED,
    EventKind.POSTPONED,
    EventKind.MERGE_RECEIVED,
}


def dump_event(event: Event) -> str:
    """Return the stored form of ``event``: compact JSON text of `Event.to_dict`.

    The same text as ``json.dumps(event.to_dict(), separators=(",", ":"),
    ensure_ascii=False)``, built without copying the plain JSON payloads first.
    """
    step = event._step  # noqa: SLF001 - the flyweight: Event.kind is a property
    kind = step.kind
    data: Any = event.data
    if kind not in _PLAIN_DATA:
        data = event.to_dict()["data"]
    elif type(data) is not dict:
        data = dict(data)  # a read-only mapping; nested ones go through _plain_default
    actor = event.actor
    return _encode(
        {
            "kind": kind.value,
            "at": event.at.isoformat(),
            "actor": {"id": actor.id, "role": actor.role.value},
            "status_before": step.status_before,
            "status_after": step.status_after,
            "data": data,
            "version": event.version,
        }
    )


# JSON string literals as `_encode` writes them (ensure_ascii=False): the C function.
_quote: Final[Callable[[str], str]] = json.encoder.encode_basestring


def _created_data(data: CreatedData) -> dict[str, Any]:
    """``Event.to_dict()["data"]`` of a creation without metadata, built in one pass.

    The keys in `CreatedData`'s own order (as iterating it gives them), only
    those that differ from the defaults; a creation whose description carries
    message metadata (``extra``) goes through `Event.to_dict` instead.
    """
    out: dict[str, Any] = {
        "id": data.id,
        "subject": data.subject,
        "requester": data.requester.to_dict(),
    }
    if data.description:
        out["description"] = data.description
    if data.priority is not Priority.NORMAL:
        out["priority"] = data.priority.label
    if data.channel != "email":
        out["channel"] = data.channel
    if data.assignee is not None:
        out["assignee"] = data.assignee
    if data.department is not None:
        out["department"] = data.department
    if data.parent_id is not None:
        out["parent_id"] = data.parent_id
    if data.tags:
        out["tags"] = list(data.tags)
    if data.custom_fields:
        out["custom_fields"] = data.custom_fields  # JSON already (checked when created)
    return out


def _text_object(data: Mapping[str, Any]) -> str | None:
    """`_encode` of a mapping of strings to strings, written directly (None for other values)."""
    parts = []
    for key, value in data.items():
        if type(key) is not str or type(value) is not str:
            return None
        parts.append(f"{_quote(key)}:{_quote(value)}")
    return "{" + ",".join(parts) + "}"


def _payload(kind: EventKind, data: Any, payloads: dict[int, str]) -> str | None:
    """The JSON text of an event's data, as `dump_event` writes it; None: let it do so.

    ``payloads`` holds the texts of the payload objects met so far in this call,
    by identity (the events hold them).
    """
    if kind not in _PLAIN_DATA:
        if kind is not EventKind.CREATED or type(data) is not CreatedData or data.extra:
            return None
        return _encode(_created_data(data))  # a new dict: never cached by identity
    if not data:
        return "{}"
    text = payloads.get(id(data))
    if text is None:
        text = _text_object(data) or _encode(data if type(data) is dict else dict(data))
        if len(payloads) >= _CHUNK:
            payloads.clear()
        payloads[id(data)] = text
    return text


def dump_events(events: Sequence[Event]) -> list[str]:
    """Return `dump_event` of each event, the same texts, for a bulk write of many events.

    What events repeat is encoded once per call: the kind and the two statuses
    (one step flyweight), the actor, the instant, a payload shared by several
    events. A creation's data is built in one pass (`_created_data`); an empty
    payload is ``{}`` without a call. The caches go by object identity (the
    events hold those objects for the length of the call): equal actors that
    are distinct objects are encoded once each, which costs time, not correctness.
    """
    steps: dict[int, tuple[str, str]] = {}
    actors: dict[int, str] = {}
    payloads: dict[int, str] = {}
    stamps: dict[datetime, str] = {}
    out: list[str] = []
    append = out.append
    for event in events:
        step = event._step  # noqa: SLF001 - the flyweight: Event.kind is a property
        kind = step.kind
        data = event.data
        if not data and kind in _PLAIN_DATA:
            body: str | None = "{}"
        else:
            body = payloads.get(id(data)) if kind in _PLAIN_DATA else None
            if body is None:
                body = _payload(kind, data, payloads)
                if body is None:
                    append(dump_event(event))
                    continue
        parts = steps.get(id(step))
        if parts is None:
            parts = steps[id(step)] = (
                f'{{"kind":{_quote(kind.value)},"at":"',
                (
                    f',"status_before":{_quote(step.status_before)}'
                    f',"status_after":{_quote(step.status_after)},"data":'
                ),
            )
        actor = event.actor
        who = actors.get(id(actor))
        if who is None:
            who = actors[id(actor)] = (
                f'","actor":{{"id":{_quote(actor.id)},"role":{_quote(actor.role.value)}}}'
            )
        at = event.at
        if at.tzinfo is UTC:  # equal instants in other zones are written differently
            stamp = stamps.get(at)
            if stamp is None:
                if len(stamps) >= _CHUNK:
                    stamps.clear()
                stamp = stamps[at] = at.isoformat()
        else:
            stamp = at.isoformat()
        append(f'{parts[0]}{stamp}{who}{parts[1]}{body},"version":{event.version:d}}}')
    return out


def _actor(key: tuple[str, str]) -> Actor:
    actor = _SHARED_ACTORS.get(key)
    if actor is None:
        role = _ROLES[key[1]]
        actor = Actor(key[0], role)
        if role is not Role.CUSTOMER and len(_SHARED_ACTORS) < _SHARED_ACTORS_LIMIT:
            _SHARED_ACTORS[key] = actor
    return actor


def _postponed(data: dict[str, Any]) -> Mapping[str, Any]:
    until = data.get("until")
    if isinstance(until, str):
        return {**data, "until": datetime.fromisoformat(until)}
    return data


def _merge_received(data: dict[str, Any]) -> Mapping[str, Any]:
    return {
        **data,
        "messages": tuple(
            Message.from_dict(m) if isinstance(m, Mapping) else m for m in data["messages"]
        ),
    }


# The payloads that hold model objects in memory (see `Event`); every other one
# is the JSON object itself.
_IN_MEMORY: Final[Mapping[str, Callable[[dict[str, Any]], Mapping[str, Any]]]] = {
    EventKind.CREATED.value: trusted_created_data,
    EventKind.POSTPONED.value: _postponed,
    EventKind.MERGE_RECEIVED.value: _merge_received,
}


def decode_events(
    records: Iterable[dict[str, Any]],
    *,
    into: list[Event] | None = None,
    actors: dict[tuple[str, str], Actor] | None = None,
    stamps: dict[str, datetime] | None = None,
) -> list[Event]:
    """Return the events of ``records`` (`Event.to_dict` output, as JSON gives it back).

    The events take ownership of the records' ``data`` objects: pass records
    nobody else holds (fresh from ``json.loads`` or the database driver).

    Args:
        records: The stored events, oldest first.
        into: A list to append the events to (and return); a new one by default.
        actors: The actors built so far for this ticket, by ``(id, role)``.
        stamps: The time stamps parsed so far for this ticket, by their text.

    Raises:
        KeyError, TypeError, ValueError: a record is not `Event.to_dict` output.
    """
    special, parse = _IN_MEMORY, datetime.fromisoformat
    actors = {} if actors is None else actors
    stamps = {} if stamps is None else stamps
    events: list[Event] = [] if into is None else into
    append = events.append
    for record in records:
        kind = record["kind"]
        who = record["actor"]
        key = (who["id"], who["role"])
        actor = actors.get(key)
        if actor is None:
            actor = actors[key] = _actor(key)
        text = record["at"]
        at = stamps.get(text)
        if at is None:
            at = stamps[text] = parse(text)
        data = record.get("data")
        if not data:
            data = EMPTY
        elif kind in special:
            data = special[kind](data)
        append(
            trusted_event(
                kind,
                at,
                actor,
                record["status_before"],
                record["status_after"],
                data,
                record["version"],
            )
        )
    return events


def _undecodable(where: str, exc: Exception) -> StoreError:
    return StoreError(
        f"{where}: its stored events cannot be decoded ({type(exc).__name__}: {exc}); "
        "was the database written by ticketflow?"
    )


def decode_ticket(bodies: Sequence[str], where: str) -> Ticket:
    """Return the ticket whose stored event texts, in position order, are ``bodies``.

    Args:
        bodies: The JSON texts of the ticket's events, oldest first (at least one).
        where: The store and ticket, for the error message.

    Raises:
        StoreError: a body is not an event this codec wrote.
    """
    events: list[Event] = []
    actors: dict[tuple[str, str], Actor] = {}
    stamps: dict[str, datetime] = {}
    try:
        # One parse per chunk of rows: the per-call cost of json.loads is most of
        # the cost of a short body, and a bounded chunk keeps the parsed dicts of
        # a long timeline from piling up (the collector would walk them all, again
        # and again, while the events are built).
        for start in range(0, len(bodies), _CHUNK):
            records = json.loads(f"[{','.join(bodies[start : start + _CHUNK])}]")
            decode_events(records, into=events, actors=actors, stamps=stamps)
    except (KeyError, TypeError, ValueError) as exc:
        raise _undecodable(where, exc) from exc
    return rebuild(events)
