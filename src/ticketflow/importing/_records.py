"""What an import reads and what it reports: `ImportEvent`, `ImportRecord`, `ImportReport`.

Plain values, checked by `Helpdesk.import_tickets` (which knows the record and the
event a bad value belongs to, and so can name both), not when they are built: a
history of millions of events is built once and checked once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Final, final

import attrs

from .._model import EMPTY

__all__ = ["IMPORT_KINDS", "ImportEvent", "ImportRecord", "ImportReport", "Refusal"]

IMPORT_KINDS: Final = frozenset(
    {
        "created",
        "status",
        "assigned",
        "priority_changed",
        "agent_replied",
        "customer_replied",
        "note_added",
        "resolved",
        "reopened",
        "closed",
        "confirmed",
        "postponed",
        "woken",
        "marked_spam",
        "deleted",
        "restored",
        "transitioned",
        "tags_added",
        "tags_removed",
        "field_set",
    }
)
"""The kinds an `ImportEvent` may have (see `ImportEvent.kind`)."""


@final
@attrs.frozen(kw_only=True, slots=True)
class ImportEvent:
    """One past event of an imported ticket.

    Values are checked by `Helpdesk.import_tickets`, which names the record and
    the event at fault; building an `ImportEvent` checks nothing.

    Attributes:
        kind: What happened: ``"created"`` (the first event of a record, and
            only it), ``"status"`` (a status change, recorded as the kind the
            workflow's trigger between the two statuses maps to: a ``resolved``
            event for a trigger mapped to ``resolve``, else ``transitioned``; no
            status change records nothing but the field changes), or an event
            kind of ticketflow: ``assigned``, ``priority_changed``,
            ``agent_replied``, ``customer_replied``, ``note_added``, ``resolved``,
            ``reopened``, ``closed``, ``confirmed``, ``postponed``, ``woken``,
            ``marked_spam``, ``deleted``, ``restored``, ``transitioned``,
            ``tags_added``, ``tags_removed``, ``field_set``.
        at: When it happened: timezone-aware (a naive time is refused), not
            before the record's previous event, not after the import's instant.
        actor: Who did it (an agent's id, a customer's address); ``None``: the
            requester for ``created``, ``customer_replied`` and ``confirmed``,
            else the system.
        role: ``"agent"``, ``"customer"`` or ``"system"``; ``None``: customer for
            ``customer_replied`` and ``confirmed`` (and ``created`` without an
            actor), agent otherwise.
        status: The ticket's status after the event (a status name of the
            workflow); ``None``: where the workflow's trigger for the kind's
            command leads (``resolved``: the ``resolve`` trigger), else unchanged.
            For ``created``: the status the ticket starts in (``None``: the
            workflow's initial status).
        assignee: The ticket's assignee as of this event, ``None`` when not
            given; a change is recorded as an ``assigned`` event before the event.
        department: Likewise, the department.
        priority: Likewise, the priority (``low``, ``normal``, ``high``,
            ``urgent``), recorded as ``priority_changed``.
        message: The body of a reply or a note (``agent_replied``,
            ``customer_replied``, ``note_added``); for ``created``, the description.
        data: What the kind needs beyond that: for ``created`` ``subject``,
            ``requester`` (``{"name": ..., "email": ...}``), ``channel``, ``tags``,
            ``custom_fields``; ``tags`` for the tag kinds; ``name`` and ``value``
            for ``field_set``; ``until`` (ISO 8601 with offset) for
            ``postponed``; ``rating`` (1 to 5) for ``confirmed``.
    """

    kind: str = "status"
    at: datetime
    actor: str | None = None
    role: str | None = None
    status: str | None = None
    assignee: str | None = None
    department: str | None = None
    priority: str | None = None
    message: str | None = None
    data: Mapping[str, Any] = EMPTY


def _events(value: Iterable[ImportEvent]) -> tuple[ImportEvent, ...]:
    return value if type(value) is tuple else tuple(value)


@final
@attrs.frozen(kw_only=True, slots=True)
class ImportRecord:
    """One ticket to import: its external id and its past events, oldest first.

    Attributes:
        external_id: The ticket's id in the system it comes from. The imported
            ticket's id is ``id_prefix + external_id`` (see
            `Helpdesk.import_tickets`), so a second import of the same record
            finds it and skips it.
        events: The events, the creation first (``kind="created"``).
    """

    external_id: str
    events: tuple[ImportEvent, ...] = attrs.field(converter=_events)


@final
@attrs.frozen(kw_only=True, slots=True)
class Refusal:
    """One event (or record) a non-strict import refused and skipped.

    Attributes:
        external_id: The record's external id.
        index: The event's position in the record (0: the creation, whose
            refusal skips the whole record).
        reason: Why it was refused.
        status: The ticket's status when the event came (``""`` for a refused creation).
        wanted: The status the event asked for, as given (``None``: none was).
    """

    external_id: str
    index: int
    reason: str
    status: str = ""
    wanted: str | None = None


@final
@attrs.frozen(kw_only=True, slots=True)
class ImportReport:
    """What `Helpdesk.import_tickets` did.

    Attributes:
        tickets: Tickets imported (committed).
        events: Events read from the imported records (the creations included).
        written: Events written to their timelines (field changes, past time
            rules recorded as done and breaches marked included).
        refused: The events refused (non-strict mode), in input order.
        skipped: Records skipped because their ticket already exists (an earlier
            import of the same external id) or repeats an earlier record of the input.
        seconds: Wall-clock time of the import.
    """

    tickets: int = 0
    events: int = 0
    written: int = 0
    refused: tuple[Refusal, ...] = ()
    skipped: int = 0
    seconds: float = 0.0

    @property
    def events_per_second(self) -> float:
        """Events read per second of wall-clock time (0 for an instant import)."""
        return self.events / self.seconds if self.seconds > 0 else 0.0


def records_of(records: object) -> Iterable[ImportRecord]:
    """Return ``records`` if it can be iterated (checked item by item later)."""
    if isinstance(records, ImportRecord) or not isinstance(records, Iterable):
        from ..exceptions import InvalidInputError  # noqa: PLC0415 - only on the error path

        raise InvalidInputError(
            f"records must be an iterable of ImportRecord, got {type(records).__name__}",
            field="records",
        )
    return records
