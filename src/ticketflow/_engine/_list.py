"""The read side: `Helpdesk.list` (keyset pages of summaries) and `Helpdesk.counts`.

Cursors are opaque to callers: the URL-safe base64 of a small JSON array holding
a format version, a fingerprint of the sort and filters (the first 16 hex digits
of their SHA-256), the listing's snapshot time and the ``(sort key, id)`` of the
last row handed out. They are not signed: a cursor only says where to resume;
the filters come from the call, so a forged cursor can show no ticket the same
call without a cursor would not. One made for another sort or other filters, or
one that does not decode, is refused with ``InvalidInputError(field="cursor")``.

Both are `Steps` (see `_steps`), so `Helpdesk` and `AsyncHelpdesk` run the same code.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from operator import methodcaller
from typing import TYPE_CHECKING, Any, Final

from .. import _validate
from .._model import Priority
from .._summary import Page, TicketSummary
from .._workflow import Category
from ..exceptions import InvalidInputError, WorkflowError
from ..stores import TicketQuery, requester_key
from ..stores._summary import (
    NO_KEY,
    SORT_KEYS,
    SummaryQuery,
    SummaryRow,
    SummaryStore,
    count_rows,
    from_micros,
    micros,
    select_page,
    sort_key,
    summarize,
)
from ._steps import Steps

if TYPE_CHECKING:
    from ._helpdesk import Helpdesk

__all__ = ["COUNT_BY", "LIST_MAX", "counts", "list_page"]

LIST_MAX: Final = 1000
"""The largest page ``Helpdesk.list`` hands out."""

COUNT_BY: Final = ("status", "category", "assignee", "department", "priority")
"""What ``Helpdesk.counts`` groups by."""

_CURSOR_VERSION: Final = 1
_CURSOR_MAX: Final = 1024  # characters: a real cursor is about 120


def _summarises(store: object) -> bool:
    """Whether ``store`` answers summaries itself (a request: the steps do not hold the store)."""
    return isinstance(store, SummaryStore)


def _time(value: object, field: str) -> datetime | None:
    return None if value is None else _validate.aware_time(value, field)


def _query(
    desk: Helpdesk,
    filters: Mapping[str, Any],
) -> tuple[SummaryQuery, dict[str, Any]]:
    """Validate the filters; return the store query and their canonical form (for cursors)."""
    status, category = filters.get("status"), filters.get("category")
    statuses: frozenset[str] | None = None
    wf = desk._workflow
    if status is not None:
        statuses = _validate.names(status, "status")
        for name in statuses:
            try:
                wf.status(name)
            except WorkflowError as exc:
                raise InvalidInputError(
                    f"status {name!r} is not a status of this workflow "
                    f"(known: {', '.join(s.name for s in wf.statuses)})",
                    field="status",
                ) from exc
    if category is not None:
        cats = _validate.names(
            category if isinstance(category, str) else [str(c) for c in category], "category"
        )
        try:
            in_cats = wf.statuses_in(*cats)
        except ValueError as exc:
            raise InvalidInputError(
                f"unknown category in {sorted(cats)!r} "
                f"(known: {', '.join(c.value for c in Category)})",
                field="category",
            ) from exc
        statuses = in_cats if statuses is None else statuses & in_cats
    priority = filters.get("priority")
    requester = filters.get("requester")
    query = SummaryQuery(
        statuses=statuses,
        assignee=_validate.optional_text(filters.get("assignee"), "assignee"),
        department=_validate.optional_text(filters.get("department"), "department"),
        priority=None if priority is None else int(Priority.parse(priority)),
        tag=_validate.optional_text(filters.get("tag"), "tag"),
        requester=None if requester is None else _validate.email(requester, "requester"),
        channel=_validate.optional_text(filters.get("channel"), "channel"),
        created_from=_time(filters.get("created_after"), "created_after"),
        created_before=_time(filters.get("created_before"), "created_before"),
        updated_from=_time(filters.get("updated_after"), "updated_after"),
        updated_before=_time(filters.get("updated_before"), "updated_before"),
    )
    canonical = {
        "statuses": None if statuses is None else sorted(statuses),
        "assignee": query.assignee,
        "department": query.department,
        "priority": query.priority,
        "tag": query.tag,
        "requester": query.requester,
        "channel": query.channel,
        **{
            name: None if at is None else micros(at)
            for name, at in (
                ("created_from", query.created_from),
                ("created_before", query.created_before),
                ("updated_from", query.updated_from),
                ("updated_before", query.updated_before),
            )
        },
    }
    return query, canonical


def _parse_sort(sort: object) -> tuple[str, bool]:
    if not isinstance(sort, str) or sort.removeprefix("-") not in SORT_KEYS:
        raise InvalidInputError(
            f"sort must be one of {', '.join(SORT_KEYS)}, with a leading '-' for "
            f"descending order, got {_validate.describe(sort)}",
            field="sort",
        )
    return sort.removeprefix("-"), sort.startswith("-")


def _fingerprint(sort: str, canonical: Mapping[str, Any]) -> str:
    text = json.dumps([sort, canonical], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _bad_cursor(why: str) -> InvalidInputError:
    return InvalidInputError(
        f"cursor {why}: pass the next_cursor of a page listed with the same sort and "
        "filters, or no cursor for the first page",
        field="cursor",
    )


def _encode_cursor(fingerprint: str, as_of: int, key: int, ticket_id: str) -> str:
    raw = json.dumps([_CURSOR_VERSION, fingerprint, as_of, key, ticket_id], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_cursor(cursor: object, fingerprint: str) -> tuple[int, tuple[int, str]]:
    """Return the snapshot time and the ``(key, id)`` position of a cursor."""
    if not isinstance(cursor, str) or not cursor or len(cursor) > _CURSOR_MAX:
        raise _bad_cursor(f"must be a non-empty string, got {_validate.describe(cursor)}")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw.decode())
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise _bad_cursor("is malformed") from None
    if not isinstance(data, list) or len(data) != 5 or data[0] != _CURSOR_VERSION:
        raise _bad_cursor("is malformed")
    _, mark, as_of, key, ticket_id = data
    if mark != fingerprint:
        raise _bad_cursor("was made for another sort or other filters")
    if (
        any(isinstance(v, bool) or not isinstance(v, int) for v in (as_of, key))
        or not -NO_KEY <= as_of <= NO_KEY
        or not -NO_KEY <= key <= NO_KEY
        or not isinstance(ticket_id, str)
    ):
        raise _bad_cursor("is malformed")
    try:
        _validate.ticket_id(ticket_id, "cursor")
        from_micros(as_of)
    except (InvalidInputError, OverflowError):
        raise _bad_cursor("is malformed") from None
    return as_of, (key, ticket_id)


_PRIORITIES: Final = {int(p): p for p in Priority}


def _summaries(desk: Helpdesk, rows: Iterable[SummaryRow]) -> tuple[TicketSummary, ...]:
    """The public summaries of a page's rows (each status's category looked up once)."""
    wf = desk._workflow
    categories: dict[str, Category] = {}
    out = []
    for row in rows:
        category = categories.get(row.status)
        if category is None:
            try:
                category = wf.status(row.status).category
            except WorkflowError:  # a status the workflow no longer declares
                category = Category.OPEN
            categories[row.status] = category
        out.append(
            TicketSummary(
                id=row.id,
                subject=row.subject,
                requester_name=row.requester_name,
                requester_email=row.requester_email,
                status=row.status,
                category=category,
                priority=_PRIORITIES.get(row.priority) or Priority(row.priority),
                channel=row.channel,
                assignee=row.assignee,
                department=row.department,
                tags=row.tags,
                created_at=row.created_at,
                updated_at=row.updated_at,
                last_customer_activity_at=row.last_customer_activity_at,
                last_agent_activity_at=row.last_agent_activity_at,
                sla_due=row.sla_due,
                waiting_since=row.waiting_since,
                message_count=row.message_count,
            )
        )
    return tuple(out)


def _fallback_rows(
    desk: Helpdesk, query: SummaryQuery
) -> Steps[Iterable[tuple[SummaryRow, str | None]]]:
    """Summaries built from rebuilt tickets, for a store without `SummaryStore`."""
    found = yield methodcaller(
        "find",
        TicketQuery(
            statuses=query.statuses,
            assignee=query.assignee,
            department=query.department,
            priority=None if query.priority is None else Priority(query.priority),
            tag=query.tag,
            requester=query.requester,
        ),
    )
    return [(summarize(t, desk._schedule(t)[1]), requester_key(t)) for t in found]


def list_page(
    desk: Helpdesk,
    *,
    sort: object,
    limit: object,
    cursor: object,
    filters: Mapping[str, Any],
) -> Steps[Page]:
    """`Helpdesk.list` (documented there)."""
    key_name, descending = _parse_sort(sort)
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= LIST_MAX:
        raise InvalidInputError(
            f"limit must be a whole number from 1 to {LIST_MAX}, got {_validate.describe(limit)}",
            field="limit",
        )
    query, canonical = _query(desk, filters)
    fingerprint = _fingerprint(sort, canonical)  # type: ignore[arg-type] # str, checked
    if cursor is None:
        # The first page shows everything stored, whatever the clock says (another
        # process's clock may run ahead); later pages leave out what changed since.
        as_of = micros(desk._now())
        after = None
        snapshot = None
    else:
        as_of, after = _decode_cursor(cursor, fingerprint)
        snapshot = from_micros(as_of)
    if query.statuses is not None and not query.statuses:
        return Page(items=(), next_cursor=None)
    query = SummaryQuery(
        **{
            **{f.name: getattr(query, f.name) for f in SummaryQuery.__attrs_attrs__},
            "as_of": snapshot,
            "sort": key_name,
            "descending": descending,
            "after": after,
            "limit": limit + 1,  # one more: is there a next page?
        }
    )
    if (yield _summarises):
        rows = yield methodcaller("summaries", query)
    else:
        rows = select_page((yield from _fallback_rows(desk, query)), query)
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = None
    if more:
        last = rows[-1]
        next_cursor = _encode_cursor(fingerprint, as_of, sort_key(last, key_name), last.id)
    return Page(items=_summaries(desk, rows), next_cursor=next_cursor)


def counts(desk: Helpdesk, by: object, filters: Mapping[str, Any]) -> Steps[dict[str | None, int]]:
    """`Helpdesk.counts` (documented there)."""
    if by not in COUNT_BY:
        raise InvalidInputError(
            f"by must be one of {', '.join(COUNT_BY)}, got {_validate.describe(by)}", field="by"
        )
    query, _ = _query(desk, filters)
    if query.statuses is not None and not query.statuses:
        return {}
    field = "status" if by == "category" else str(by)
    found: dict[str | None, int]
    if (yield _summarises):
        found = yield methodcaller("summary_counts", field, query)
    else:
        found = count_rows((yield from _fallback_rows(desk, query)), field, query)
    if by == "priority":
        return {Priority(int(str(k))).label: n for k, n in sorted(found.items(), key=_order)}
    if by == "category":
        out: dict[str | None, int] = {}
        wf = desk._workflow
        for name, n in found.items():
            try:
                cat = wf.status(str(name)).category.value
            except WorkflowError:
                cat = Category.OPEN.value
            out[cat] = out.get(cat, 0) + n
        return dict(sorted(out.items(), key=_order))
    return dict(sorted(found.items(), key=_order))


def _order(item: tuple[str | None, int]) -> tuple[bool, str]:
    """Groups in name order, None (no assignee, no department) last."""
    return (item[0] is None, item[0] or "")
