"""The read side's store kit: the summary row, the list query, and the shared codecs.

A ticket's summary is what a list shows of it (`SummaryRow`). It is computed
from the ticket and its work-queue key by `summarize`, once per commit, and kept
in the store beside the ticket, so that a list never rebuilds a ticket. The shape
is defined here only: every backend stores, filters and sorts the same fields.

`SummaryQuery` is what `SummaryStore.summaries` answers: filters, one sort key,
the keyset position to start after, and a limit. Sort keys are whole numbers
(`sort_key`): times in microseconds since 1970, the priority's value, and
`NO_KEY` for a ticket without the value (no SLA due, not waiting), so that such
tickets sort after every other one ascending and before every other descending.
Ties are broken by ticket id, in the same direction.
"""

from __future__ import annotations

import heapq
import json
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Final, NamedTuple, Protocol, final, runtime_checkable

import attrs

from .._model import Ticket
from ._protocol import QueueKey

__all__ = [
    "COUNT_FIELDS",
    "NO_KEY",
    "SORT_KEYS",
    "SummaryQuery",
    "SummaryRow",
    "SummaryStore",
    "count_key",
    "count_rows",
    "decode_summary",
    "encode_summary",
    "from_micros",
    "micros",
    "select_page",
    "sort_key",
    "summarize",
]

NO_KEY: Final = 2**63 - 1
"""The sort key of a ticket without the sorted value (no SLA due, not waiting)."""

SORT_KEYS: Final = ("created", "updated", "priority", "sla_due", "waiting_since")
"""The keys `SummaryQuery.sort` may name."""

COUNT_FIELDS: Final = ("status", "priority", "assignee", "department")
"""The fields a store groups counts by (categories are counted from statuses)."""

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_US: Final = timedelta(microseconds=1)


def micros(at: datetime) -> int:
    """Return ``at`` as whole microseconds since 1970-01-01 UTC (a sort key)."""
    return (at - _EPOCH) // _US


def from_micros(value: int) -> datetime:
    """Return the UTC time ``value`` microseconds after 1970-01-01 (the inverse of `micros`)."""
    return _EPOCH + timedelta(microseconds=value)


class SummaryRow(NamedTuple):
    """What a list shows of a ticket, as a store keeps it (see `summarize`).

    Attributes:
        id: The ticket id.
        subject: The subject.
        requester_name: The requester's name.
        requester_email: The requester's e-mail address as given, or None.
        status: The status.
        priority: The `Priority` value (1 low to 4 urgent).
        channel: Where the ticket came from.
        assignee: The agent it is assigned to, or None.
        department: Its department, or None.
        tags: Its tags, sorted.
        created_at: When it was created.
        updated_at: When it last changed.
        last_customer_activity_at: The customer's last message (or the creation).
        last_agent_activity_at: The last public agent reply, or None.
        sla_due: The nearest due time of its running SLA clocks (its `QueueKey`'s
            ``sla_due``), or None when it is not queued or no clock runs.
        waiting_since: Since when the customer has been waiting for an agent
            (its `QueueKey`'s ``waiting_since``), or None when it is not queued.
        message_count: The messages of its thread, internal notes included.
    """

    id: str
    subject: str
    requester_name: str
    requester_email: str | None
    status: str
    priority: int
    channel: str
    assignee: str | None
    department: str | None
    tags: tuple[str, ...]
    created_at: datetime
    updated_at: datetime
    last_customer_activity_at: datetime | None
    last_agent_activity_at: datetime | None
    sla_due: datetime | None
    waiting_since: datetime | None
    message_count: int


def summarize(ticket: Ticket, queue: QueueKey | None) -> SummaryRow:
    """Return the summary of ``ticket`` committed with the work-queue key ``queue``.

    Costs the same for a ticket of 10 events as for one of 10,000: every value is
    a folded fact of the snapshot (``len`` of the thread is constant time). A
    purged ticket's summary holds what the purged ticket holds: its scrubbed
    subject and requester.
    """
    requester = ticket.requester
    timeline = ticket.timeline
    return SummaryRow(
        ticket.id,
        ticket.subject,
        requester.name,
        requester.email,
        ticket.status,
        int(ticket.priority),
        ticket.channel,
        ticket.assignee,
        ticket.department,
        tuple(sorted(ticket.tags)),
        timeline[0].at,
        timeline[-1].at,
        ticket.last_customer_activity_at,
        ticket.last_agent_activity_at,
        None if queue is None else queue.sla_due,
        None if queue is None else queue.waiting_since,
        len(ticket.messages),
    )


def sort_key(row: SummaryRow, sort: str) -> int:
    """Return ``row``'s key for ``sort`` (one of `SORT_KEYS`), a whole number.

    Raises:
        KeyError: ``sort`` is not a sort key.
    """
    return _KEYS[sort](row)


def _time_key(at: datetime | None) -> int:
    return NO_KEY if at is None else micros(at)


def _created(row: SummaryRow) -> int:
    return micros(row.created_at)


def _updated(row: SummaryRow) -> int:
    return micros(row.updated_at)


def _priority(row: SummaryRow) -> int:
    return row.priority


def _sla_due(row: SummaryRow) -> int:
    return _time_key(row.sla_due)


def _waiting(row: SummaryRow) -> int:
    return _time_key(row.waiting_since)


_KEYS: Final[dict[str, Callable[[SummaryRow], int]]] = {
    "created": _created,
    "updated": _updated,
    "priority": _priority,
    "sla_due": _sla_due,
    "waiting_since": _waiting,
}


def count_key(row: SummaryRow, by: str) -> str | None:
    """Return the group ``row`` counts in when counting by ``by`` (one of `COUNT_FIELDS`)."""
    value: str | int | None = getattr(row, by)
    return None if value is None else str(value)


# The JSON column of the SQL stores: the fields no query filters or sorts by.
_PAYLOAD: Final = (
    "subject",
    "requester_name",
    "requester_email",
    "tags",
    "last_customer_activity_at",
    "last_agent_activity_at",
    "message_count",
)


def encode_summary(row: SummaryRow) -> str:
    """Return the JSON text the SQL stores keep of ``row``'s unindexed fields."""
    customer, agent = row.last_customer_activity_at, row.last_agent_activity_at
    return json.dumps(
        [
            row.subject,
            row.requester_name,
            row.requester_email,
            list(row.tags),
            None if customer is None else micros(customer),
            None if agent is None else micros(agent),
            row.message_count,
        ],
        separators=(",", ":"),
        ensure_ascii=False,
    )


def decode_summary(
    payload: str,
    *,
    ticket_id: str,
    status: str,
    priority: int,
    channel: str,
    assignee: str | None,
    department: str | None,
    created_at: datetime,
    updated_at: datetime,
    sla_due: datetime | None,
    waiting_since: datetime | None,
) -> SummaryRow:
    """Return the row whose JSON column is ``payload`` and whose other columns are given."""
    subject, name, email, tags, customer, agent, messages = json.loads(payload)
    return SummaryRow(
        ticket_id,
        subject,
        name,
        email,
        status,
        priority,
        channel,
        assignee,
        department,
        tuple(tags),
        created_at,
        updated_at,
        None if customer is None else from_micros(customer),
        None if agent is None else from_micros(agent),
        sla_due,
        waiting_since,
        messages,
    )


@final
@attrs.frozen(kw_only=True, slots=True)
class SummaryQuery:
    """Which summaries `SummaryStore.summaries` returns, in which order; None means "any".

    The engine validates every value before it builds a query (the store trusts it).

    Attributes:
        statuses: Tickets in one of these statuses.
        assignee: Tickets assigned to this agent.
        department: Tickets of this department.
        priority: Tickets of this `Priority` value.
        tag: Tickets carrying this tag.
        requester: Tickets whose requester's `requester_key` is this.
        channel: Tickets that came from this channel.
        created_from: Tickets created at or after this time.
        created_before: Tickets created before this time.
        updated_from: Tickets last changed at or after this time.
        updated_before: Tickets last changed before this time.
        as_of: Only tickets last changed at or before this time (a listing's
            snapshot: tickets changed after its first page are left out of later
            pages, so none shows twice).
        sort: One of `SORT_KEYS`.
        descending: Largest key first (ties: largest id first).
        after: The ``(sort key, id)`` of the last row of the previous page:
            return only rows past it in the sort order.
        limit: At most this many rows.
    """

    statuses: frozenset[str] | None = None
    assignee: str | None = None
    department: str | None = None
    priority: int | None = None
    tag: str | None = None
    requester: str | None = None
    channel: str | None = None
    created_from: datetime | None = None
    created_before: datetime | None = None
    updated_from: datetime | None = None
    updated_before: datetime | None = None
    as_of: datetime | None = None
    sort: str = "created"
    descending: bool = False
    after: tuple[int, str] | None = None
    limit: int = 50

    def matches(self, row: SummaryRow, requester_key: str | None) -> bool:
        """Whether ``row`` (whose requester key is ``requester_key``) passes every filter."""
        return (
            (self.statuses is None or row.status in self.statuses)
            and (self.assignee is None or row.assignee == self.assignee)
            and (self.department is None or row.department == self.department)
            and (self.priority is None or row.priority == self.priority)
            and (self.tag is None or self.tag in row.tags)
            and (self.requester is None or self.requester == requester_key)
            and (self.channel is None or row.channel == self.channel)
            and (self.created_from is None or row.created_at >= self.created_from)
            and (self.created_before is None or row.created_at < self.created_before)
            and (self.updated_from is None or row.updated_at >= self.updated_from)
            and (self.updated_before is None or row.updated_at < self.updated_before)
            and (self.as_of is None or row.updated_at <= self.as_of)
        )

    def past(self, key: int, ticket_id: str) -> bool:
        """Whether ``(key, ticket_id)`` comes after `after` in the query's order."""
        after = self.after
        if after is None:
            return True
        return (key, ticket_id) < after if self.descending else (key, ticket_id) > after


def select_page(
    rows: Iterable[tuple[SummaryRow, str | None]], query: SummaryQuery
) -> list[SummaryRow]:
    """Return the page ``query`` selects from ``rows`` (each with its requester key), in order.

    For stores without an index for it (and the engine's fallback): one pass,
    keeping the ``limit`` best rows in a heap, O(n log limit).
    """
    sort = _KEYS[query.sort]
    keyed = (
        (sort(row), row.id, row)
        for row, key in rows
        if query.matches(row, key) and query.past(sort(row), row.id)
    )

    def order(item: tuple[int, str, SummaryRow]) -> tuple[int, str]:
        return (item[0], item[1])

    if query.descending:
        return [item[2] for item in heapq.nlargest(query.limit, keyed, key=order)]
    return [item[2] for item in heapq.nsmallest(query.limit, keyed, key=order)]


def count_rows(
    rows: Iterable[tuple[SummaryRow, str | None]], by: str, query: SummaryQuery
) -> dict[str | None, int]:
    """Count ``rows`` passing ``query``'s filters by ``by`` (one of `COUNT_FIELDS`)."""
    counts: dict[str | None, int] = {}
    for row, key in rows:
        if query.matches(row, key):
            group = count_key(row, by)
            counts[group] = counts.get(group, 0) + 1
    return counts


@runtime_checkable
class SummaryStore(Protocol):
    """The read side's optional store capability: lists and counts of summaries.

    A `TicketStore` that also implements these methods serves
    ``Helpdesk.list`` and ``Helpdesk.counts`` from what it keeps; for one that
    does not, the engine rebuilds the matching tickets (``find``) and summarises
    them itself, which is correct but costs a rebuild of every ticket per call.

    The contract (the suite's ``ListContract``):

    * The summary of a ticket is `summarize` of the ticket and the `QueueKey`
      last committed (or reindexed) with it; it is written in the same
      transaction as the ticket.
    * ``summaries`` returns the rows passing every filter of the query, ordered
      by ``(sort_key(row, query.sort), row.id)`` (descending if asked), only those
      past ``query.after``, at most ``query.limit``; from one read snapshot.
    * ``summary_counts`` returns, per group of ``by``, how many rows pass the
      filters (``sort``, ``after`` and ``limit`` ignored); groups of no rows are
      left out. Groups are the field's value (the priority as its number in text,
      ``"4"``), None for no assignee or department.
    """

    def summaries(self, query: SummaryQuery) -> list[SummaryRow]:
        """Return the page of summaries ``query`` selects, in its order."""
        ...

    def summary_counts(self, by: str, query: SummaryQuery) -> dict[str | None, int]:
        """Return how many tickets pass ``query``'s filters, per value of ``by``."""
        ...
