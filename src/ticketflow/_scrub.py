"""Purging: events without personal data, as a purged ticket's timeline keeps them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import attrs

from ._model import EMPTY, Actor, CreatedData, Event, EventKind, Message, Requester, Role

__all__ = ["ERASED_CUSTOMER", "ERASED_REQUESTER", "scrub_event"]

ERASED_REQUESTER: Final = Requester(name="(erased)")
ERASED_CUSTOMER: Final = Actor("(erased)", Role.CUSTOMER)


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
