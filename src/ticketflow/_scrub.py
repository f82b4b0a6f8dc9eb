"""Purging: events without personal data, as a purged ticket's timeline keeps them.

Two jobs, both pure: `scrub_event` empties one event of the purged ticket, and
`scrub_copies` empties what a merge copied from the purged ticket into another
(the merge target, and the tickets that target was merged into in turn).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any, Final

import attrs

from ._model import (
    EMPTY,
    Actor,
    CreatedData,
    Event,
    EventKind,
    Message,
    Requester,
    Role,
    same_person,
)

__all__ = [
    "ERASED_CUSTOMER",
    "ERASED_FIELD",
    "ERASED_REQUESTER",
    "MessageKey",
    "copied_messages",
    "scrub_copies",
    "scrub_event",
]

ERASED_REQUESTER: Final = Requester(name="(erased)")
ERASED_CUSTOMER: Final = Actor("(erased)", Role.CUSTOMER)
ERASED_FIELD: Final = "(erased)"
"""The name a purged ``field_set`` event keeps (the field's own name may be personal)."""

MessageKey = tuple[str, str, str, str]
"""What identifies a copied message: its time (ISO), author id, author role and body."""


_KEPT_ON_MESSAGES: Final = ("rule", "due", "processed_at")


def _scrub_actor(actor: Actor) -> Actor:
    return ERASED_CUSTOMER if actor.role is Role.CUSTOMER else actor


def scrub_event(event: Event) -> Event:
    """Return ``event`` without personal data (used by purge).

    Customer identities become ``(erased)``; subjects, descriptions, message
    bodies, contact details, tags, custom field names and values are removed.
    Kinds, times, roles, statuses, agent ids and links between tickets
    (``parent_id``, ``into``, ``source``) stay, so metrics computed from the
    timeline are unchanged.
    """
    data = event.data
    kind = event.kind
    if kind is EventKind.CREATED:
        data = attrs.evolve(
            CreatedData.from_mapping(data),
            subject="",
            description="",
            requester=ERASED_REQUESTER,
            tags=(),
            custom_fields=EMPTY,
            extra=EMPTY,  # the description's HTML, attachments, e-mail ids, cc, metadata
        )
    elif kind in (EventKind.AGENT_REPLIED, EventKind.CUSTOMER_REPLIED, EventKind.NOTE_ADDED):
        # Kept by name (what a rule tagged it with), never by omission: a message's
        # other data (HTML, attachments, addresses, metadata) is the person's.
        data = {"body": "", **{k: data[k] for k in _KEPT_ON_MESSAGES if k in data}}
    elif kind in (EventKind.TAGS_ADDED, EventKind.TAGS_REMOVED):
        data = {**data, "tags": []}
    elif kind is EventKind.FIELD_SET:
        data = {**data, "name": ERASED_FIELD, "value": None}
    elif kind is EventKind.MERGE_RECEIVED:
        data = {**data, "messages": tuple(_scrub_message(m) for m in data["messages"])}
        if "participants" in data:
            data["participants"] = []  # the people who joined it: nothing of theirs stays
    return event.replace(actor=_scrub_actor(event.actor), data=data)


def _message(m: Message | Mapping[str, Any]) -> Message:
    return m if isinstance(m, Message) else Message.from_dict(m)


def _scrub_message(m: Message | Mapping[str, Any]) -> Message:
    """A tombstone of ``m``: its time, author role (and agent id), privacy and id; no body.

    Nor any metadata: HTML, attachments, e-mail ids, cc and metadata are dropped.
    """
    msg = _message(m)
    return Message(
        at=msg.at, author=_scrub_actor(msg.author), body="", private=msg.private, id=msg.id
    )


def _key(msg: Message) -> MessageKey:
    return (msg.at.isoformat(), msg.author.id, msg.author.role.value, msg.body)


def copied_messages(timeline: Sequence[Event]) -> frozenset[MessageKey]:
    """Return the keys of what a merge of a ticket with this timeline copies, and copied.

    The description (as the message a merge makes of it), the replies and notes,
    and what the ticket itself received from merges, which a later merge of it
    passes on.
    """
    keys: set[MessageKey] = set()
    created = timeline[0]
    description = created.data.get("description", "")
    if description:
        # A merge writes the description as the requester's message (see Helpdesk.merge).
        requester = created.data.get("requester")
        author = requester.email or requester.name if isinstance(requester, Requester) else ""
        keys.add((created.at.isoformat(), author, Role.CUSTOMER.value, description))
    for event in timeline:
        kind = event.kind
        if kind in (EventKind.AGENT_REPLIED, EventKind.CUSTOMER_REPLIED, EventKind.NOTE_ADDED):
            actor = event.actor
            keys.add((event.at.isoformat(), actor.id, actor.role.value, event.data["body"]))
        elif kind is EventKind.MERGE_RECEIVED:
            keys.update(_key(_message(m)) for m in event.data["messages"])
    return frozenset(keys)


def scrub_copies(
    timeline: Sequence[Event],
    source: str,
    copied: Collection[MessageKey],
    customers: Collection[str],
    person: Requester | None = None,
) -> tuple[list[Event], bool]:
    """Return ``timeline`` with what came from the purged ticket ``source`` scrubbed.

    In a merge target: every message of the ``merge_received`` event from
    ``source`` becomes a tombstone (time and author role kept, no body). Further
    down a chain of merges (the target merged in turn): the received messages
    whose key is in ``copied`` (`copied_messages` of the purged ticket). And the
    events written after the merge by one of ``customers`` (the purged ticket's
    customer ids: their replies redirected to the target) are scrubbed whole,
    as `scrub_event` does. ``person`` (the purged ticket's requester) is
    removed from the participants recorded by the merge of ``source`` itself
    (not from another merge's: the same person's other ticket, merged here too
    or carrying ``source`` on down a chain, still makes them a participant).

    Returns:
        The timeline, and whether anything changed.
    """
    out: list[Event] = []
    changed = False
    after_merge = False
    for event in timeline:
        kind = event.kind
        new = event
        if kind is EventKind.MERGE_RECEIVED:
            messages = [_message(m) for m in event.data["messages"]]
            whole = event.data.get("source") == source
            scrubbed = tuple(
                _scrub_message(m) if whole or _key(m) in copied else m for m in messages
            )
            data = dict(event.data)
            if whole or scrubbed != tuple(messages):
                after_merge = True
                data["messages"] = scrubbed
            # Only the purged ticket's own merge: another merge's record of the
            # same person is not the purged ticket's (their other ticket, merged
            # here too; or, down a chain, a ticket of theirs that carried it on).
            if whole and person is not None and data.get("participants"):
                data["participants"] = [
                    p for p in data["participants"] if not same_person(person, _requester(p))
                ]
            if data != event.data:
                new = event.replace(data=data)
        elif after_merge and event.actor.role is Role.CUSTOMER and event.actor.id in customers:
            new = scrub_event(event)
        changed = changed or new != event
        out.append(new)
    return out, changed


def _requester(participant: Requester | Mapping[str, Any]) -> Requester:
    """A participant as a merge recorded it (its stored form), as a `Requester`."""
    return participant if isinstance(participant, Requester) else Requester.from_dict(participant)
