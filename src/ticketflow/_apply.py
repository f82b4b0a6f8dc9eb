"""The reducer: the only place a ticket changes.

`apply_event` folds one event into a new snapshot; `rebuild` folds a whole
timeline (and is what `Ticket.rebuild` runs). The facts later steps need (what
each time rule and SLA stage fired for) are folded here as each event is applied.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final

import attrs

from ._model import (
    EMPTY,
    CreatedData,
    Event,
    EventKind,
    Message,
    Priority,
    Ticket,
    _extend,
    message_extra,
    reduced_message,
)
from .exceptions import InvalidInputError

__all__ = ["apply_event", "apply_in_place", "fired_due", "fired_sla", "rebuild", "replace"]


_set_ticket_fired = Ticket.__dict__["_fired"].__set__

if TYPE_CHECKING:  # pragma: no cover

    def replace(ticket: Ticket, **changes: Any) -> Ticket:
        """Return ``ticket`` with ``changes`` (a fast `attrs.evolve`)."""
        ...

    def _update(ticket: Ticket, **changes: Any) -> Ticket:
        """Set ``changes`` on ``ticket`` itself: only on a snapshot nobody else holds yet."""
        ...

else:

    def _make_replace() -> Callable[..., Ticket]:
        # attrs.evolve costs ~2.5x this on the hot path. The source below is built
        # only from our own field names, never from user data.
        fields = attrs.fields(Ticket)
        names = [f.name for f in fields]
        params = ", ".join(f"{f.alias}=_M" for f in fields)
        body = "".join(
            f"    _s_{f.name}(_n, _t.{f.name} if {f.alias} is _M else {f.alias})\n" for f in fields
        )
        src = f"def replace(_t, *, {params}):\n    _n = _new(_T)\n{body}    return _n\n"
        namespace: dict[str, Any] = {"_new": object.__new__, "_T": Ticket, "_M": object()}
        for n in names:
            namespace[f"_s_{n}"] = Ticket.__dict__[n].__set__
        exec(src, namespace)  # noqa: S102 - trusted, generated from field names
        fn: Callable[..., Ticket] = namespace["replace"]
        fn.__doc__ = "Return ``ticket`` with ``changes`` (a fast `attrs.evolve`)."
        return fn

    replace = _make_replace()

    def _make_update() -> Callable[..., Ticket]:
        setters = {f.alias: Ticket.__dict__[f.name].__set__ for f in attrs.fields(Ticket)}

        def update(ticket: Ticket, **changes: Any) -> Ticket:
            for name, value in changes.items():
                setters[name](ticket, value)
            return ticket

        return update

    _update = _make_update()

_Replace = Callable[..., Ticket]

# The defaults every new ticket starts from (`_from_created` sets the rest).
_BLANK: Final = Ticket(
    id="", status="", timeline=(), status_entered_at=datetime.min.replace(tzinfo=UTC)
)


_NO_TAGS: Final[frozenset[str]] = frozenset()


def _from_created(event: Event) -> Ticket:
    data = CreatedData.from_mapping(event.data)
    if data is not event.data:
        # The ticket reads subject, description, requester and channel from its
        # creation record, so the record is always a `CreatedData` (an equal event).
        event = event.replace(data=data)
    at = event.at
    # `replace` on a blank ticket: attrs' __init__ costs three times this, and
    # every cold read and every new ticket starts here.
    return replace(
        _BLANK,
        id=data.id,
        priority=data.priority,
        assignee=data.assignee,
        department=data.department,
        status=event.status_after,
        tags=frozenset(data.tags) if data.tags else _NO_TAGS,
        timeline=(event,),
        custom_fields=data.custom_fields,
        last_customer_activity_at=at,
        version=event.version,
        status_entered_at=at,
        customer_since=at,
    )


def _message(t: Ticket, e: Event, *, private: bool = False) -> Message:
    # Message(...) validates; the values come from an event, so they need none.
    # The id is the event's position in the timeline (the length before it is
    # appended); the metadata is read from the event's data only when it has more
    # than a body (`message_extra`: one length test for a plain reply).
    data = e.data
    return reduced_message(
        e.at, e.actor, data.get("body", ""), private, t.id, len(t.timeline), message_extra(data)
    )


def _entered(t: Ticket, e: Event) -> datetime:
    step = e._step  # noqa: SLF001 - the flyweight: Event.kind is a property
    return e.at if step.status_before != step.status_after else t.status_entered_at


def _on_status_only(t: Ticket, e: Event, r: _Replace = replace) -> Ticket:
    return r(
        t,
        status=e.status_after,
        status_entered_at=_entered(t, e),
        timeline=_extend(t.timeline, e),
        version=e.version,
        postponed_until=None if e.status_after != e.status_before else t.postponed_until,
    )


def _on_agent_replied(t: Ticket, e: Event, r: _Replace = replace) -> Ticket:
    at = e.at
    return r(
        t,
        status=e.status_after,
        status_entered_at=_entered(t, e),
        messages=_extend(t.messages, _message(t, e)),
        timeline=_extend(t.timeline, e),
        version=e.version,
        first_response_at=at if t.first_response_at is None else t.first_response_at,
        last_agent_activity_at=at,
        customer_since=None,
        postponed_until=None if e.status_after != e.status_before else t.postponed_until,
    )


def _on_customer_replied(t: Ticket, e: Event, r: _Replace = replace) -> Ticket:
    return r(
        t,
        status=e.status_after,
        status_entered_at=_entered(t, e),
        messages=_extend(t.messages, _message(t, e)),
        timeline=_extend(t.timeline, e),
        version=e.version,
        last_customer_activity_at=e.at,
        customer_since=e.at if t._customer_since is None else t._customer_since,  # noqa: SLF001
        postponed_until=None if e.status_after != e.status_before else t.postponed_until,
    )


def _on_note(t: Ticket, e: Event, r: _Replace = replace) -> Ticket:
    # A workflow may map ``note`` to a trigger, so a note can move the status too.
    return r(
        t,
        status=e.status_after,
        status_entered_at=_entered(t, e),
        messages=_extend(t.messages, _message(t, e, private=True)),
        timeline=_extend(t.timeline, e),
        version=e.version,
        postponed_until=None if e.status_after != e.status_before else t.postponed_until,
    )


def _on_assigned(t: Ticket, e: Event, r: _Replace = replace) -> Ticket:
    d = e.data
    return r(
        t,
        assignee=d.get("assignee", t.assignee),
        department=d.get("department", t.department),
        timeline=_extend(t.timeline, e),
        version=e.version,
    )


def _on_priority(t: Ticket, e: Event, r: _Replace = replace) -> Ticket:
    return r(
        t,
        priority=Priority.parse(e.data["priority"]),
        timeline=_extend(t.timeline, e),
        version=e.version,
    )


def _on_tags_added(t: Ticket, e: Event, r: _Replace = replace) -> Ticket:
    return r(
        t,
        tags=t.tags | frozenset(e.data["tags"]),
        timeline=_extend(t.timeline, e),
        version=e.version,
    )


def _on_tags_removed(t: Ticket, e: Event, r: _Replace = replace) -> Ticket:
    return r(
        t,
        tags=t.tags - frozenset(e.data["tags"]),
        timeline=_extend(t.timeline, e),
        version=e.version,
    )


def _on_field_set(t: Ticket, e: Event, r: _Replace = replace) -> Ticket:
    fields = dict(t.custom_fields)
    fields[e.data["name"]] = e.data["value"]
    return r(
        t,
        custom_fields=MappingProxyType(fields),
        timeline=_extend(t.timeline, e),
        version=e.version,
    )


def _on_resolved(t: Ticket, e: Event, r: _Replace = replace) -> Ticket:
    return r(
        t,
        status=e.status_after,
        status_entered_at=_entered(t, e),
        resolved_at=e.at,
        timeline=_extend(t.timeline, e),
        version=e.version,
        postponed_until=None,
    )


def _on_closed(t: Ticket, e: Event, r: _Replace = replace) -> Ticket:
    return r(
        t,
        status=e.status_after,
        status_entered_at=_entered(t, e),
        closed_at=e.at,
        timeline=_extend(t.timeline, e),
        version=e.version,
        postponed_until=None,
    )


def _on_confirmed(t: Ticket, e: Event, r: _Replace = replace) -> Ticket:
    # A confirmation closes the ticket only when it moves it (`fire("confirm")`);
    # confirm_resolution records it and leaves closing to the confirmation rule.
    return _on_closed(t, e, r) if e.changes_status else _on_status_only(t, e, r)


def _on_postponed(t: Ticket, e: Event, r: _Replace = replace) -> Ticket:
    return r(
        t,
        status=e.status_after,
        status_entered_at=_entered(t, e),
        postponed_until=_until(e),
        timeline=_extend(t.timeline, e),
        version=e.version,
    )


def _until(e: Event) -> datetime:
    value = e.data["until"]
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


def _on_merged(t: Ticket, e: Event, r: _Replace = replace) -> Ticket:
    return r(
        t,
        status=e.status_after,
        status_entered_at=_entered(t, e),
        closed_at=e.at,
        timeline=_extend(t.timeline, e),
        version=e.version,
        postponed_until=None,
    )


def _on_merge_received(t: Ticket, e: Event, r: _Replace = replace) -> Ticket:
    moved = tuple(m if isinstance(m, Message) else Message.from_dict(m) for m in e.data["messages"])
    thread = tuple(sorted((*t.messages, *moved), key=lambda m: m.at))
    return r(
        t,
        status=e.status_after,
        status_entered_at=_entered(t, e),
        messages=thread,
        timeline=_extend(t.timeline, e),
        version=e.version,
    )


def _on_purged(t: Ticket, e: Event, r: _Replace = replace) -> Ticket:
    # The timeline handed to the purge is already scrubbed (see `scrub_event`);
    # applying the purge itself only records the final status.
    return r(
        t,
        status=e.status_after,
        status_entered_at=_entered(t, e),
        timeline=_extend(t.timeline, e),
        version=e.version,
        postponed_until=None,
        custom_fields=EMPTY,
    )


_APPLY: Final[dict[EventKind, Callable[[Ticket, Event, _Replace], Ticket]]] = {
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
    # What a merge copied here from a purged ticket was erased: the timeline handed
    # over is already scrubbed (see `scrub_copies`); the event only records it.
    EventKind.ERASED: _on_status_only,
    EventKind.TRANSITIONED: _on_status_only,
    EventKind.NOTIFIED: _on_status_only,
    EventKind.ESCALATED: _on_status_only,
    EventKind.SLA_WARNING: _on_status_only,
    EventKind.SLA_BREACHED: _on_status_only,
}


def apply_event(ticket: Ticket, event: Event) -> Ticket:
    """Return ``ticket`` with ``event`` applied; the single place state changes happen."""
    new = _APPLY[event._step.kind](ticket, event, replace)  # noqa: SLF001 - the flyweight
    data = event.data
    if data and "due" in data and "rule" in data:
        _set_ticket_fired(new, _fold_fired(ticket._fired, event))  # noqa: SLF001
    return new


def apply_in_place(ticket: Ticket, event: Event) -> Ticket:
    """Fold ``event`` into ``ticket`` itself and return it (as `rebuild` folds a timeline).

    Only for a snapshot nobody else holds yet (one under construction, as an
    import builds its tickets): its fields change in place, a third of the cost
    of `apply_event`'s copy.
    """
    _APPLY[event._step.kind](ticket, event, _update)  # noqa: SLF001 - the flyweight
    data = event.data
    if data and "due" in data and "rule" in data:
        _set_ticket_fired(ticket, _fold_fired(ticket._fired, event))  # noqa: SLF001
    return ticket


_SLA_STAGES: Final = {
    EventKind.SLA_WARNING: "warning",
    EventKind.SLA_BREACHED: "breach",
    EventKind.ESCALATED: "escalation",
}
_SLA_STAGE_NAMES: Final = frozenset(_SLA_STAGES.values())


def _fold_fired(fired: Mapping[Any, Any], event: Event) -> Mapping[Any, Any]:
    """What the timed event ``event`` adds to a ticket's record of what fired.

    A time rule's events carry ``rule`` and ``due``: the record keeps, per rule,
    the latest due instant it fired for (anchors only move forward, so a rule
    never comes due again at or before it). The SLA's events (``rule = "sla"``,
    with ``metric`` and ``cycle``) are kept per metric for the metric's latest
    cycle only, the one that can still fire: ``("sla", metric) -> (cycle,
    frozenset of (stage, level), breach due or None)``.
    """
    data = event.data
    out = dict(fired)
    if "metric" in data and data["rule"] == "sla":
        stage = _SLA_STAGES.get(event.kind)
        if stage is None:
            # An import records a past stage as done without firing it: a
            # ``no_change`` marker naming the stage (see `ticketflow._engine._import`).
            stage = data.get("stage") if data.get("no_change") is True else None
            if stage not in _SLA_STAGE_NAMES:
                return fired
        key = ("sla", str(data["metric"]))
        cycle = str(data.get("cycle"))
        current = fired.get(key)
        stages: frozenset[tuple[str, int]] = frozenset()
        breach_due: str | None = None
        if current is not None and current[0] == cycle:
            _, stages, breach_due = current
        level = int(data.get("level", 0)) if stage == "escalation" else 0
        if stage == "breach":
            breach_due = str(data.get("due"))
        out[key] = (cycle, stages | {(stage, level)}, breach_due)
        return MappingProxyType(out)
    due = datetime.fromisoformat(data["due"])
    rule = data["rule"]
    latest = fired.get(rule)
    if latest is None or due > latest:
        out[rule] = due
    return MappingProxyType(out)


def fired_due(ticket: Ticket, rule: str) -> datetime | None:
    """Return the latest due instant the time rule ``rule`` fired for on ``ticket``."""
    value: datetime | None = ticket._fired.get(rule)  # noqa: SLF001 - the model's own record
    return value


def fired_sla(ticket: Ticket, metric: str) -> tuple[str, frozenset[tuple[str, int]], str | None]:
    """Return the SLA stages fired for ``metric``'s latest cycle: (cycle, stages, breach due)."""
    value = ticket._fired.get(("sla", metric))  # noqa: SLF001 - the model's own record
    return ("", frozenset(), None) if value is None else value


# --- rebuilding ------------------------------------------------------------------------


def rebuild(events: Iterable[Event]) -> Ticket:
    """Rebuild a ticket from its events alone (event sourcing); `Ticket.rebuild` runs this.

    Raises:
        InvalidInputError: the first event is not a ``created`` event.
    """
    iterator = iter(events)
    first = next(iterator, None)
    if first is None or first.kind is not EventKind.CREATED:
        raise InvalidInputError("a timeline must start with a 'created' event", field="events")
    # The snapshot under construction is private until it is returned, so each
    # event is folded into it in place (`_update`) instead of copying its 19
    # fields per event (`replace`): the same reducer, a third of the cost.
    ticket = _from_created(first)
    handlers = _APPLY
    for event in iterator:
        handlers[event._step.kind](ticket, event, _update)  # noqa: SLF001 - the flyweight
        data = event.data
        if data and "due" in data and "rule" in data:
            _set_ticket_fired(ticket, _fold_fired(ticket._fired, event))  # noqa: SLF001
    return ticket


Ticket._fold = rebuild  # noqa: SLF001 - the model's hook for its public `rebuild`
