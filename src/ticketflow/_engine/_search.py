"""Search: `Helpdesk.search` and `CustomerHandle.search` (ranked pages of matching tickets).

The user's text is never query syntax: it is split at white space into terms
(at most `MAX_TERMS`), each matched as a phrase of its words (see
`ticketflow.stores._text`); terms without a word (``*``, ``"``, ``-``) are
dropped, and a query left without a term is refused. Hits are ordered by score
(higher first; each backend computes its own: BM25 on SQLite, ``ts_rank`` on
PostgreSQL, tf-idf in memory), then id. Cursors are opaque, as `Helpdesk.list`'s:
the URL-safe base64 of a JSON array holding a format version, a fingerprint of
the terms, scope and filters, and the ``(score, id)`` of the last hit handed out.
A cursor made for another query is refused with ``InvalidInputError(field="cursor")``.
Scores move when the index changes, so paging while tickets are written may
show a ticket twice or skip one whose score moved past the cursor.

Both are `Steps` (see `_steps`), so `Helpdesk` and `AsyncHelpdesk` (and their
handles) run the same validation, cursors, paging and fallback.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
from collections.abc import Mapping
from operator import methodcaller
from typing import TYPE_CHECKING, Any, Final

from .. import _validate
from .._summary import Page
from ..exceptions import InvalidInputError
from ..stores import TicketQuery, requester_key
from ..stores._summary import SummaryRow, summarize
from ..stores._text import MAX_TERMS, SearchQuery, SearchStore, TextIndex, indexed_text, words
from . import _list
from ._steps import Steps

if TYPE_CHECKING:
    from ._helpdesk import Helpdesk

__all__ = ["SEARCH_MAX", "SEARCH_TEXT_MAX", "search_hits", "search_page", "terms"]

SEARCH_MAX: Final = 1000
"""The largest page ``Helpdesk.search`` hands out."""

SEARCH_TEXT_MAX: Final = 1000
"""The longest query text, in characters."""

_CURSOR_VERSION: Final = 1
_CURSOR_MAX: Final = 1024


def terms(text: object) -> tuple[str, ...]:
    """Return the terms of a query text, or raise `InvalidInputError(field="text")`."""
    value = _validate.text(text, "text")
    if len(value) > SEARCH_TEXT_MAX:
        raise InvalidInputError(
            f"text must be at most {SEARCH_TEXT_MAX} characters, got {len(value)}", field="text"
        )
    found = tuple(chunk for chunk in value.split() if words(chunk))
    if not found:
        raise InvalidInputError(
            f"text must hold at least one word (letters or digits), got {value!r}", field="text"
        )
    if len(found) > MAX_TERMS:
        raise InvalidInputError(
            f"text may hold at most {MAX_TERMS} words or phrases, got {len(found)}", field="text"
        )
    return found


def _bad_cursor(why: str) -> InvalidInputError:
    return InvalidInputError(
        f"cursor {why}: pass the next_cursor of a page searched with the same text, "
        "scope and filters, or no cursor for the first page",
        field="cursor",
    )


def _encode(fingerprint: str, score: float, ticket_id: str) -> str:
    raw = json.dumps([_CURSOR_VERSION, fingerprint, score, ticket_id], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode(cursor: object, fingerprint: str) -> tuple[float, str]:
    if not isinstance(cursor, str) or not cursor or len(cursor) > _CURSOR_MAX:
        raise _bad_cursor(f"must be a non-empty string, got {_validate.describe(cursor)}")
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode())
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise _bad_cursor("is malformed") from None
    if not isinstance(data, list) or len(data) != 4 or data[0] != _CURSOR_VERSION:
        raise _bad_cursor("is malformed")
    _, mark, score, ticket_id = data
    if mark != fingerprint:
        raise _bad_cursor("was made for another search")
    if (
        isinstance(score, bool)
        or not isinstance(score, int | float)
        or not math.isfinite(score)
        or not isinstance(ticket_id, str)
    ):
        raise _bad_cursor("is malformed")
    try:
        _validate.ticket_id(ticket_id, "cursor")
    except InvalidInputError:
        raise _bad_cursor("is malformed") from None
    return float(score), ticket_id


def _searches(store: object) -> bool:
    """Whether ``store`` searches itself (a request: the steps do not hold the store).

    `SearchStore` is checked by method name, so an async store with a ``search``
    coroutine (`AsyncMemoryStore`, `AsyncSQLiteStore`, `AsyncPostgresStore`)
    passes too, and its result is awaited by the async driver.
    """
    return isinstance(store, SearchStore)


def _fallback(desk: Helpdesk, query: SearchQuery) -> Steps[list[tuple[SummaryRow, float]]]:
    """Search without `SearchStore`: the tickets the filters select, indexed per call."""
    f = query.filters
    found = yield methodcaller(
        "find",
        TicketQuery(
            statuses=f.statuses,
            assignee=f.assignee,
            department=f.department,
            tag=f.tag,
            requester=f.requester,
        ),
    )
    index = TextIndex()
    tickets = {}
    for ticket in found:
        tickets[ticket.id] = ticket
        index.add(ticket.id, indexed_text(ticket, 0).rows)
    hits: list[tuple[float, str, SummaryRow]] = []
    for ticket_id, score in index.scores(query.terms, public_only=query.public_only).items():
        if not query.past(score, ticket_id):
            continue
        ticket = tickets[ticket_id]
        _, key = desk._schedule(ticket)
        row = summarize(ticket, key)
        if f.matches(row, requester_key(ticket)):
            hits.append((score, ticket_id, row))
    hits.sort(key=lambda h: (-h[0], h[1]))
    return [(row, score) for score, _, row in hits[: query.limit]]


def search_hits(
    desk: Helpdesk,
    text: object,
    *,
    limit: object,
    cursor: object,
    filters: Mapping[str, Any],
    public_only: bool = False,
    scope: str = "agent",
) -> Steps[tuple[list[tuple[SummaryRow, float]], str | None]]:
    """Validate a search, run it on the store (or the fallback); return hits and next cursor."""
    found = terms(text)
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= SEARCH_MAX:
        raise InvalidInputError(
            f"limit must be a whole number from 1 to {SEARCH_MAX}, got {_validate.describe(limit)}",
            field="limit",
        )
    filters_query, canonical = _list._query(desk, filters)
    text_key = json.dumps([list(found), scope, public_only, canonical], sort_keys=True)
    fingerprint = hashlib.sha256(text_key.encode()).hexdigest()[:16]
    after = None if cursor is None else _decode(cursor, fingerprint)
    if filters_query.statuses is not None and not filters_query.statuses:
        return [], None
    query = SearchQuery(
        terms=found,
        filters=filters_query,
        public_only=public_only,
        after=after,
        limit=limit + 1,
    )
    hits: list[tuple[SummaryRow, float]]
    if (yield _searches):
        hits = yield methodcaller("search", query)
    else:
        hits = yield from _fallback(desk, query)
    more = len(hits) > limit
    hits = hits[:limit]
    next_cursor = None
    if more:
        row, score = hits[-1]
        next_cursor = _encode(fingerprint, score, row.id)
    return hits, next_cursor


def search_page(
    desk: Helpdesk,
    text: object,
    *,
    limit: object,
    cursor: object,
    filters: Mapping[str, Any],
) -> Steps[Page]:
    """`Helpdesk.search` (documented there)."""
    hits, next_cursor = yield from search_hits(
        desk, text, limit=limit, cursor=cursor, filters=filters
    )
    return Page(items=_list._summaries(desk, [row for row, _ in hits]), next_cursor=next_cursor)
