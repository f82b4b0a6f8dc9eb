"""The storage seam: what a backend must provide and guarantee."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Final, NamedTuple, Protocol, final, runtime_checkable

import attrs

from .. import _validate
from .._model import Event, Priority, Ticket
from ..exceptions import InvalidInputError, StoreError

__all__ = [
    "Change",
    "IndexUpdate",
    "OutboxEntry",
    "QueueKey",
    "TicketQuery",
    "TicketStore",
    "check_creation",
    "check_version_step",
    "new_positions",
    "queue_order",
    "requester_key",
]


class QueueKey(NamedTuple):
    """Where a ticket waiting on an agent stands in the work queue.

    The queue is ordered by ``sla_due`` (earliest first, ``None`` last), then
    ``waiting_since`` (longest wait first), then ``priority`` (highest first),
    then ticket id. The engine computes the key; the store only indexes it.

    Attributes:
        sla_due: The nearest due time of the ticket's running SLA clocks
            (past when breached), or ``None`` when no SLA clock runs.
        waiting_since: Since when the customer has been waiting for an agent.
        priority: The ticket's `Priority` value (higher is more urgent).
    """

    sla_due: datetime | None
    waiting_since: datetime
    priority: int


_NO_SLA_DUE: Final = datetime.max.replace(tzinfo=UTC)  # where a key without an SLA due sorts


def queue_order(ticket_id: str, key: QueueKey) -> tuple[bool, datetime, datetime, int, str]:
    """Return the sort key that puts queued tickets in work-queue order.

    Sorting ``(ticket_id, key)`` pairs by it gives `TicketStore.queue`'s order:
    ``sla_due`` earliest first (``None`` last), then ``waiting_since`` earliest
    first, then ``priority`` highest first, then ticket id.

    Examples:
        >>> from datetime import UTC, datetime
        >>> at = datetime(2026, 1, 5, 9, tzinfo=UTC)
        >>> keys = {"a": QueueKey(None, at, 4), "b": QueueKey(at, at, 1), "c": QueueKey(at, at, 3)}
        >>> sorted(keys, key=lambda tid: queue_order(tid, keys[tid]))
        ['c', 'b', 'a']
    """
    sla_due = key.sla_due
    return (
        sla_due is None,
        _NO_SLA_DUE if sla_due is None else sla_due,
        key.waiting_since,
        -key.priority,
        ticket_id,
    )


def requester_key(ticket: Ticket) -> str | None:
    """Return the key a store indexes ``ticket`` under for `TicketQuery.requester`.

    The requester's e-mail address, white space stripped and case-folded
    (``" Ann@Example.COM "`` -> ``"ann@example.com"``), or None when the
    requester has no address (or the ticket was purged: its requester is erased).
    A ticket's requester is set at creation and changes only when a purge
    rewrites the timeline, so a store needs to index it only for new tickets
    and ``rewrite`` changes.
    """
    return _validate.email_key(ticket.requester.email)


class Change(NamedTuple):
    """One ticket to write in a `TicketStore.commit`.

    A named tuple rather than an attrs class: one is made per command, and a
    tuple costs a third of the time to build.

    Attributes:
        ticket: The new snapshot; ``ticket.version == expected_version + 1``.
        expected_version: The version the writer read (0: the ticket must not exist yet).
        rewrite: The timeline was rewritten, not only appended to (purge): the
            store must replace the stored events with ``ticket.timeline``.
        due_at: When the ticket's next time rule is due (None: none is). The
            store indexes it for `TicketStore.due`; it knows nothing of rules.
            Writing a change also ends any claim on the ticket (`claim_due`).
        outbox: Positions in ``ticket.timeline`` of the events to put in the
            outbox, in the same transaction (see `TicketStore.claim_outbox`).
        queue: The ticket's place in the work queue (`TicketStore.queue`), or
            ``None`` when it is not waiting on an agent.
    """

    ticket: Ticket
    expected_version: int
    rewrite: bool = False
    due_at: datetime | None = None
    outbox: tuple[int, ...] = ()
    queue: QueueKey | None = None


class IndexUpdate(NamedTuple):
    """New scheduling data for a stored ticket, without a new version (`TicketStore.reindex`).

    Used when what the engine derives from a ticket changes without the ticket
    changing: new rules, SLA policies or calendars.

    Attributes:
        ticket_id: The ticket.
        version: The version the values were computed from; the update applies
            only if the ticket is still at this version.
        due_at: As `Change.due_at`.
        queue: As `Change.queue`.
    """

    ticket_id: str
    version: int
    due_at: datetime | None
    queue: QueueKey | None


def check_version_step(change: Change) -> None:
    """Refuse a change whose ticket does not raise the version by exactly one.

    A store calls it on every change of a `TicketStore.commit` before writing
    anything; it says nothing of the version the store holds (compare that with
    ``change.expected_version`` and raise `ConflictError` when they differ).

    Raises:
        StoreError: ``change.ticket.version != change.expected_version + 1``.
    """
    if change.ticket.version != change.expected_version + 1:
        raise StoreError(
            f"ticket {change.ticket.id}: a commit must raise the version by one "
            f"(expected {change.expected_version + 1}, got {change.ticket.version})"
        )


def check_creation(change: Change) -> None:
    """Refuse a change that does not create its ticket (for a store's ``insert_new``).

    Raises:
        StoreError: ``change.expected_version`` is not 0, ``change.ticket.version``
            not 1, or the change is a ``rewrite``.
    """
    if change.expected_version != 0 or change.ticket.version != 1 or change.rewrite:
        raise StoreError(
            f"ticket {change.ticket.id}: insert_new writes new tickets only (expected "
            f"version 0, version 1, no rewrite; got {change.expected_version}, "
            f"{change.ticket.version}, rewrite={change.rewrite})"
        )


def new_positions(ticket: Ticket) -> range:
    """Return the timeline positions of the events the ticket's last commit added.

    All events of one commit share the commit's version, so they are the tail of
    the timeline whose version is the ticket's. A store appends these events to
    the ones it holds (unless the change is a ``rewrite``: then it replaces them
    with the whole timeline).
    """
    timeline = ticket.timeline
    start = len(timeline)
    while start and timeline[start - 1].version == ticket.version:
        start -= 1
    return range(start, len(timeline))


class OutboxEntry(NamedTuple):
    """An event waiting in the outbox to be delivered (at least once).

    Attributes:
        ticket_id: The ticket the event belongs to.
        position: The event's index in the ticket's timeline; with ``ticket_id``
            it identifies the entry.
        kind: The event's kind (so a dispatcher can filter without loading it).
        attempts: How many times the entry has been claimed, this claim included.
    """

    ticket_id: str
    position: int
    kind: str
    attempts: int


@final
@attrs.frozen(kw_only=True, slots=True)
class TicketQuery:
    """Which tickets `TicketStore.find` returns; ``None`` means "any".

    Attributes:
        statuses: Tickets in one of these statuses.
        assignee: Tickets assigned to this agent.
        department: Tickets of this department.
        priority: Tickets with this priority.
        tag: Tickets carrying this tag.
        requester: Tickets whose requester has this e-mail address, matched
            case-insensitively: the query keeps it normalised (white space
            stripped, case-folded; see `requester_key`), and a store compares
            it with the key of ``ticket.requester.email``, through an index.
        limit: At most this many tickets.
    """

    statuses: frozenset[str] | None = None
    assignee: str | None = None
    department: str | None = None
    priority: Priority | None = None
    tag: str | None = None
    requester: str | None = None
    limit: int | None = None

    def __attrs_post_init__(self) -> None:
        """Refuse criteria no backend could answer alike (every backend sees the same query).

        Raises:
            InvalidInputError: a criterion of the wrong type or holding unstorable
                text, or a ``limit`` that is not None or a whole number from 0 to 2**63-1.
        """
        if self.statuses is not None:
            _validate.names(self.statuses, "statuses")
        for name in ("assignee", "department", "tag"):
            _validate.optional_text(getattr(self, name), name)
        if self.requester is not None:
            # Frozen: the normalised key replaces what was given, once, here.
            object.__setattr__(self, "requester", _validate.email(self.requester, "requester"))
        if self.priority is not None and not isinstance(self.priority, Priority):
            raise InvalidInputError(
                f"priority must be a Priority, got {_validate.describe(self.priority)}",
                field="priority",
            )
        _validate.optional_limit(self.limit)

    def matches(self, ticket: Ticket) -> bool:
        """Whether ``ticket`` satisfies every criterion (``limit`` aside)."""
        return (
            (self.statuses is None or ticket.status in self.statuses)
            and (self.assignee is None or ticket.assignee == self.assignee)
            and (self.department is None or ticket.department == self.department)
            and (self.priority is None or ticket.priority is self.priority)
            and (self.tag is None or self.tag in ticket.tags)
            and (self.requester is None or self.requester == requester_key(ticket))
        )


@runtime_checkable
class TicketStore(Protocol):
    """Where tickets and their timelines live.

    A backend implements these methods; it needs to inherit nothing. The contract
    (checked by the suite in `ticketflow.testing`):

    * ``get`` returns a ticket equal to the one last committed, timeline included.
    * ``commit`` is atomic: every change is written, or none is, and a failed commit
      leaves the store as it was.
    * Optimistic concurrency: a change whose ``expected_version`` differs from the
      stored version (0 when absent) fails the whole commit with `ConflictError`,
      whatever other process or thread wrote first. Exactly one of several writers
      holding the same version wins.
    * Events are append-only except in a ``rewrite`` change (purge), which replaces
      the stored timeline with the ticket's.
    * ``find`` returns matching tickets ordered by id (that is, by creation).
    * ``due`` returns tickets whose committed ``due_at`` is at or before ``now``,
      ordered by ``due_at`` then id, at a cost that grows with the number returned,
      not with the number stored (an index on ``due_at``).
    * ``claim_due`` is ``due`` for workers: it also claims what it returns until
      ``now + lease``, and no ``claim_due`` call in any process returns a claimed
      ticket before its claim ends (a commit of the ticket or the lease running out).
    * The outbox: positions listed in ``Change.outbox`` become entries in the same
      transaction as the change; ``claim_outbox`` hands out pending entries oldest
      first under the same lease rule, and ``ack_outbox`` removes delivered ones.
      An entry stays pending until acknowledged: delivery is at least once.
    * ``queue`` returns tickets committed (or reindexed) with a `QueueKey`, in
      the key's order, at a cost that grows with the number returned (indexes on
      the key, by assignee and by department), not with the number stored.
    * ``reindex`` sets ``due_at`` and the queue key of tickets still at the given
      version, without touching versions, events, claims or the outbox.
    * Errors of the underlying driver are raised as `StoreError` subclasses.

    The store knows nothing of workflows or rules: the engine passes statuses,
    never categories.
    """

    def get(self, ticket_id: str) -> Ticket:
        """Return the stored ticket.

        Raises:
            TicketNotFound: no ticket has this id.
        """
        ...

    def commit(self, changes: Sequence[Change]) -> None:
        """Write all ``changes`` atomically.

        Raises:
            ConflictError: a change's ``expected_version`` is stale; nothing was written.
        """
        ...

    def events(self, ticket_id: str) -> tuple[Event, ...]:
        """Return the ticket's timeline, oldest first.

        Raises:
            TicketNotFound: no ticket has this id.
        """
        ...

    def find(self, query: TicketQuery) -> list[Ticket]:
        """Return the tickets matching ``query``, ordered by id."""
        ...

    def due(self, now: datetime, limit: int) -> list[Ticket]:
        """Return up to ``limit`` tickets due at or before ``now``, earliest ``due_at`` first."""
        ...

    def claim_due(self, now: datetime, limit: int, lease: timedelta) -> list[Ticket]:
        """Claim and return up to ``limit`` unclaimed tickets due by ``now``, earliest first.

        Each returned ticket is claimed until ``now + lease`` or until it is next
        committed, whichever comes first; meanwhile no other ``claim_due`` returns it.
        """
        ...

    def claim_outbox(self, now: datetime, limit: int, lease: timedelta) -> list[OutboxEntry]:
        """Claim and return up to ``limit`` unclaimed pending outbox entries, oldest first.

        Each returned entry is claimed until ``now + lease``; if it is not
        acknowledged by then, a later call hands it out again (``attempts`` + 1).
        """
        ...

    def ack_outbox(self, keys: Sequence[tuple[str, int]]) -> None:
        """Remove delivered entries, as ``(ticket_id, position)``; unknown keys are ignored."""
        ...

    def outbox_pending(self) -> int:
        """Return the number of entries not yet acknowledged."""
        ...

    def queue(self, *, assignee: str | None, department: str | None, limit: int) -> list[Ticket]:
        """Return up to ``limit`` queued tickets in queue order (see `QueueKey`).

        ``assignee`` and ``department``, when given, keep only the tickets
        currently assigned to that agent / in that department.
        """
        ...

    def reindex(self, updates: Sequence[IndexUpdate]) -> int:
        """Apply each update whose ticket is still at its ``version``; return how many applied.

        Updates for missing tickets or other versions are skipped (the commit
        that moved the ticket on computed fresh values). Atomic as a whole.
        """
        ...

    def next_due_at(self) -> datetime | None:
        """Return the earliest ``due_at`` of any ticket, or None."""
        ...

    def count(self) -> int:
        """Return the number of stored tickets (tombstones included)."""
        ...

    def close(self) -> None:
        """Release the backend's resources; the store is unusable afterwards."""
        ...
