"""What the stores index of a ticket's text: stored message ids and searchable text.

Two optional store capabilities share one walk over the events a commit added:

* `MessageIdStore`: the external message ids (e-mail Message-IDs) of a ticket's
  messages, so that inbound mail answering any stored message finds its ticket.
* `SearchStore`: the words of a ticket's subject, description, requester and
  messages, for ``Helpdesk.search``.

`indexed_text` says what a commit adds to both; a store writes it in the
commit's transaction. Both are append-only except in a ``rewrite`` change (a
purge, or a merge target scrubbed of a purged ticket's copies): the store then
drops what it holds of the ticket and indexes ``indexed_text(ticket, 0)``, so a
purged ticket's ids and words are gone from the index.

Search text is tokenised alike on every backend as far as it can be: words are
runs of letters and digits (`words`), compared case-folded and without
diacritics. A query is a list of terms (`query_terms`): each white-space
separated chunk of the user's text is one term, matched as a phrase of its
words (``ann@example.com`` is the phrase ``ann example com``); a ticket
matches when every term occurs in its indexed text. Nothing in the user's text
is query syntax: quotes, ``*``, ``AND``, ``OR``, ``NEAR`` are words or nothing.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final, NamedTuple, Protocol, final, runtime_checkable

import attrs

from .._model import EMPTY, EventKind, Message, Ticket
from .._scrub import ERASED_REQUESTER
from ._summary import SummaryQuery, SummaryRow

__all__ = [
    "MAX_TERMS",
    "IndexedText",
    "MessageIdStore",
    "SearchQuery",
    "SearchStore",
    "TextIndex",
    "TextRow",
    "indexed_text",
    "plain_words",
    "unaccented",
    "words",
]

MAX_TERMS: Final = 16
"""The most terms (white-space separated chunks) a search query may hold."""

_WORD: Final = re.compile(r"[^\W_]+")  # as unicode61: "_" separates
_MESSAGE_KINDS: Final = frozenset(
    {EventKind.AGENT_REPLIED, EventKind.CUSTOMER_REPLIED, EventKind.NOTE_ADDED}
)


class TextRow(NamedTuple):
    """One piece of a ticket's searchable text.

    Attributes:
        private: Agents only (an internal note): a customer's search never matches it.
        text: The text.
    """

    private: bool
    text: str


class IndexedText(NamedTuple):
    """What a commit adds to a ticket's text indexes (`indexed_text`).

    Attributes:
        message_ids: The external message ids of the messages added, without
            repeats, in timeline order.
        rows: The searchable text added.
    """

    message_ids: tuple[str, ...]
    rows: tuple[TextRow, ...]


def _message(value: Message | Mapping[str, Any]) -> Message:
    return value if isinstance(value, Message) else Message.from_dict(value)


def _created(
    ticket: Ticket, extra: Mapping[str, Any], ids: dict[str, None], rows: list[TextRow]
) -> None:
    """The creation's text (subject, description, requester) and the description's id.

    A purged ticket's creation (its requester erased) adds nothing: searching
    ``erased`` finds no tombstones.
    """
    requester = ticket.requester
    if requester == ERASED_REQUESTER:  # purged: nothing of it is anyone's words
        return
    head = " ".join(
        part
        for part in (ticket.subject, ticket.description, requester.name, requester.email)
        if part
    )
    if head:
        rows.append(TextRow(private=False, text=head))
    external = extra.get("external_id")
    if external:
        ids[external] = None


def indexed_text(ticket: Ticket, start: int) -> IndexedText:
    """Return what the events of ``ticket`` from timeline position ``start`` add to the indexes.

    The creation (position 0) adds the subject, the description and the
    requester's name and e-mail address (public), and the description's
    message id; each reply or note adds its body (a note, or a private message,
    as private text) and its message id; a merge adds the messages it copied.
    A store calls it with ``new_positions(ticket).start`` on a commit, and with
    0 on a ``rewrite`` change. Its cost follows the events added, not the
    ticket's history.
    """
    timeline = ticket.timeline
    ids: dict[str, None] = {}
    rows: list[TextRow] = []
    for position in range(start, len(timeline)):
        event = timeline[position]
        kind = event.kind
        if kind is EventKind.CREATED:
            _created(ticket, getattr(event.data, "extra", EMPTY), ids, rows)
        elif kind in _MESSAGE_KINDS:
            data = event.data
            body = data.get("body", "")
            if body:
                rows.append(TextRow(private=kind is EventKind.NOTE_ADDED, text=body))
            external = data.get("external_id")
            if external:
                ids[external] = None
        elif kind is EventKind.MERGE_RECEIVED:
            for copied in event.data.get("messages", ()):
                message = _message(copied)
                if message.body:
                    rows.append(TextRow(private=message.private, text=message.body))
                if message.external_id:
                    ids[message.external_id] = None
    return IndexedText(tuple(ids), tuple(rows))


def unaccented(text: str) -> str:
    """Return ``text`` without diacritics ("café" -> "cafe"), compatibility-decomposed.

    PostgreSQL's configurations keep accents (its ``unaccent`` is an extension):
    the PostgreSQL store indexes and queries text through this, so that it
    matches as SQLite's ``remove_diacritics`` and the in-memory index do.
    """
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


_NOT_WORD: Final = re.compile(r"[\W_]+")


def plain_words(text: str) -> str:
    """Return ``text`` as its words separated by spaces, accents removed, case kept.

    The PostgreSQL store indexes and queries text through this, so that its
    parser sees the words the other backends see: without it, it would keep
    ``ann@example.com`` or ``printer-smokes`` as single tokens.

    Examples:
        >>> plain_words("Ann@Example.com: café_printer-smokes!")
        'Ann Example com cafe printer smokes '
    """
    return _NOT_WORD.sub(" ", unaccented(text))


def _fold(text: str) -> str:
    """Case-folded, without diacritics (as SQLite's ``unicode61 remove_diacritics 2``)."""
    return unaccented(text.casefold())


def words(text: str) -> list[str]:
    """Return the words of ``text`` as the search indexes compare them.

    Runs of letters and digits (an underscore separates, as in SQLite's
    ``unicode61`` tokenizer), case-folded and without diacritics.

    Examples:
        >>> words("Ann@Example.com: the Café's printer!")
        ['ann', 'example', 'com', 'the', 'cafe', 's', 'printer']
    """
    return _WORD.findall(_fold(text))


@final
@attrs.frozen(kw_only=True, slots=True)
class SearchQuery:
    """What `SearchStore.search` answers (built and validated by the engine).

    Attributes:
        terms: The query's terms, each the text of one white-space separated
            chunk of the user's query, at least one word each (see `words`).
            A ticket matches when every term occurs in its text, each as a
            phrase of its words.
        filters: The list filters (as ``Helpdesk.list``'s); its ``sort``,
            ``after`` and ``limit`` are not used.
        public_only: Match public text only (a customer's search): private
            notes never make a ticket match, nor add to its score.
        after: The ``(score, id)`` of the last hit of the previous page:
            return only hits past it in the order.
        limit: At most this many hits.
    """

    terms: tuple[str, ...]
    filters: SummaryQuery
    public_only: bool = False
    after: tuple[float, str] | None = None
    limit: int = 50

    def past(self, score: float, ticket_id: str) -> bool:
        """Whether a hit comes after `after`: by score descending, then id ascending."""
        after = self.after
        if after is None:
            return True
        return score < after[0] or (score == after[0] and ticket_id > after[1])


@runtime_checkable
class SearchStore(Protocol):
    """The optional search capability: ``Helpdesk.search`` from an index the store keeps.

    For a store without it, the engine rebuilds the tickets the filters select
    (``find``) and searches them with a `TextIndex` built per call: correct,
    but a cost that grows with the store.

    The contract (the suite's ``SearchContract``):

    * What `indexed_text` returns for a commit is written in the commit's
      transaction, and every ``search`` after the commit finds it. A store may
      feed a derived index (a full-text index over those rows) later, in
      batches, if ``search`` brings it up to date first (`SQLiteStore` does:
      `SQLiteStore.index_search`). A ``rewrite`` change replaces everything
      indexed of the ticket with ``indexed_text(ticket, 0)``, so none of a
      purged ticket's words match any more, nor remain in the index.
    * ``search`` returns the tickets whose indexed text (public text only if
      ``query.public_only``) holds every term of ``query.terms``, passing the
      filters, as ``(summary, score)`` pairs ordered by score (higher is a
      better match; how it is computed is the store's) descending, then id
      ascending; only hits past ``query.after``, at most ``query.limit``.
    """

    def search(self, query: SearchQuery) -> list[tuple[SummaryRow, float]]:
        """Return the hits of ``query``, best first."""
        ...


@runtime_checkable
class MessageIdStore(Protocol):
    """The optional message-id capability: which tickets hold a stored message id.

    Used by `ticketflow.email.EmailChannel` to thread inbound mail that answers
    any stored message (the customer's own first mail, a cc'd participant's
    reply, an imported message). For a store without it, the channel looks up
    the ids among the tickets of the sender (the requester index) only.

    The contract (the suite's ``MessageIdContract``): the ids `indexed_text`
    returns for a commit are indexed in the commit's transaction; a ``rewrite``
    change replaces the ticket's ids with ``indexed_text(ticket, 0)``'s, so a
    purged ticket's ids resolve no more.
    """

    def tickets_by_message_id(self, message_ids: Sequence[str]) -> dict[str, tuple[str, ...]]:
        """Return, for each of ``message_ids`` some ticket holds, those tickets' ids.

        Ids compare exactly (as stored: without angle brackets); each tuple is
        ordered by ticket id, newest (largest) first; ids no ticket holds are
        left out.
        """
        ...


class _Posting(NamedTuple):
    ticket_id: str
    row: int  # the row's number within its ticket
    private: bool


@final
class TextIndex:
    """A simple inverted index of ticket text, in memory: word -> postings.

    `MemoryStore`'s search index, and the engine's for a store without
    `SearchStore`. Each ticket's text is kept as rows of words; a term matches
    a row holding its words in sequence. The score of a ticket is the sum, over
    the terms, of ``tf * idf`` of the term's best row (tf: occurrences of the
    term's first word in the row, idf: ``log(1 + tickets / tickets holding the
    word)``). Not thread-safe: the caller locks.
    """

    __slots__ = ("_postings", "_rows")

    def __init__(self) -> None:
        self._rows: dict[str, list[tuple[bool, tuple[str, ...]]]] = {}
        self._postings: dict[str, dict[str, set[int]]] = {}  # word -> ticket -> rows

    def add(self, ticket_id: str, rows: Iterable[TextRow]) -> None:
        """Index more text of ``ticket_id``."""
        held = self._rows.setdefault(ticket_id, [])
        postings = self._postings
        for private, text in rows:
            tokens = tuple(words(text))
            if not tokens:
                continue
            number = len(held)
            held.append((private, tokens))
            for token in set(tokens):
                postings.setdefault(token, {}).setdefault(ticket_id, set()).add(number)

    def remove(self, ticket_id: str) -> None:
        """Forget everything indexed of ``ticket_id``."""
        held = self._rows.pop(ticket_id, None)
        if not held:
            return
        postings = self._postings
        for token in {t for _, tokens in held for t in tokens}:
            tickets = postings.get(token)
            if tickets is None:
                continue
            tickets.pop(ticket_id, None)
            if not tickets:
                del postings[token]

    def clear(self) -> None:
        """Forget every ticket."""
        self._rows.clear()
        self._postings.clear()

    def contains(self, needle: str) -> bool:
        """Whether any indexed word contains ``needle`` (for purge tests)."""
        return any(needle in word for word in self._postings)

    def scores(self, terms: Sequence[str], *, public_only: bool) -> dict[str, float]:
        """Return the score of every ticket matching all ``terms`` (see the class)."""
        found: dict[str, float] | None = None
        for term in terms:
            tokens = words(term)
            if not tokens:
                continue
            per_ticket = self._term(tokens, public_only=public_only)
            if found is None:
                found = per_ticket
            else:
                found = {tid: s + per_ticket[tid] for tid, s in found.items() if tid in per_ticket}
            if not found:
                return {}
        return found or {}

    def _term(self, tokens: list[str], *, public_only: bool) -> dict[str, float]:
        postings = self._postings
        first = postings.get(tokens[0])
        if not first:
            return {}
        candidates = dict(first)
        for token in tokens[1:]:
            more = postings.get(token)
            if not more:
                return {}
            candidates = {tid: rows & more[tid] for tid, rows in candidates.items() if tid in more}
        idf = math.log(1 + len(self._rows) / len(first))
        out: dict[str, float] = {}
        width = len(tokens)
        for tid, numbers in candidates.items():
            held = self._rows[tid]
            best = 0
            for number in numbers:
                private, row = held[number]
                if public_only and private:
                    continue
                hits = sum(
                    1
                    for i in range(len(row) - width + 1)
                    if row[i] == tokens[0] and list(row[i : i + width]) == tokens
                )
                best = max(best, hits)
            if best:
                out[tid] = best * idf
        return out
