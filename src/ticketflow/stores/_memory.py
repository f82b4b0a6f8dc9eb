"""The in-memory store: for tests, simulations and embedding without persistence."""

from __future__ import annotations

import heapq
import threading
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime, timedelta
from typing import Final, final

from .. import _validate
from .._model import Event, Ticket
from ..exceptions import ConflictError, TicketNotFound
from ._protocol import (
    Change,
    IndexUpdate,
    OutboxEntry,
    QueueKey,
    TicketQuery,
    check_creation,
    check_version_step,
    queue_order,
    requester_key,
)
from ._stream import STREAM_BATCH
from ._summary import SummaryQuery, SummaryRow, count_rows, select_page, summarize
from ._text import SearchQuery, TextIndex, indexed_text

__all__ = ["MemoryStore"]

_Rank = tuple[bool, datetime, datetime, int, str]  # a queued ticket's `queue_order`
_COMPACT_SLACK: Final = 1024  # stale heap entries tolerated beyond the live ones


@final
class MemoryStore:
    """Keep tickets in a dict; nothing survives the process.

    Commits are atomic and thread-safe (one lock). ``find`` scans every ticket
    (fine up to some hundred thousand tickets); the durable stores use indexes.
    Due times are kept in a heap with lazy deletion, so ``due`` and
    ``next_due_at`` cost O(log n) per ticket returned, however many are stored.
    Tickets are immutable, so the store keeps and returns the very objects it was
    given: reading costs no copy. Claims and the outbox follow the same rules as
    in the durable stores, within one process. The work queue is kept in heaps
    (overall, per assignee, per department) with lazy deletion: ``queue`` reads
    them in order without popping, at a cost that follows ``limit``. A dict from
    requester e-mail key to ticket ids answers ``find(TicketQuery(requester=...))``
    without a scan. It is a `WakeupStore`: a worker in the same process waiting
    in `wait_for_wakeup` is woken by commits that bring work nearer.

    Text is indexed as it is committed (`indexed_text`): a dict from external
    message id to ticket ids (`MessageIdStore`) and a `TextIndex`, an inverted
    index of words (`SearchStore`); a purge (a ``rewrite`` change) replaces
    what they hold of the ticket.
    """

    __slots__ = (
        "_claims",
        "_due",
        "_heap",
        "_listening",
        "_lock",
        "_message_ids",
        "_outbox",
        "_qdirty",
        "_qheap",
        "_qheaps_by_assignee",
        "_qheaps_by_department",
        "_qindexed",
        "_queue",
        "_requesters",
        "_summaries",
        "_text",
        "_tickets",
        "_wake",
        "_woken",
    )

    def __init__(self) -> None:
        self._tickets: dict[str, Ticket] = {}
        self._due: dict[str, datetime] = {}
        self._heap: list[tuple[datetime, str]] = []
        self._claims: dict[str, datetime] = {}
        # (ticket id, position) -> (claimed until, attempts); a dict keeps insertion order.
        self._outbox: dict[tuple[str, int], tuple[datetime | None, int]] = {}
        # Queued tickets: id -> key, live; the tickets changed
        # since the heaps last caught up; id -> (rank, assignee, department) as the
        # heaps know it; heaps of ranks, overall and per assignee and department,
        # with lazy deletion (an entry counts only while it is the indexed one).
        self._queue: dict[str, QueueKey] = {}
        self._qdirty: set[str] = set()
        self._qindexed: dict[str, tuple[_Rank, str | None, str | None]] = {}
        self._qheap: list[_Rank] = []
        self._qheaps_by_assignee: dict[str, list[_Rank]] = {}
        self._qheaps_by_department: dict[str, list[_Rank]] = {}
        # The requester index: e-mail key -> ids of the tickets it asked (see
        # `requester_key`); written only for new tickets and rewrites (purge), the
        # only commits that can change a ticket's requester.
        self._requesters: dict[str, set[str]] = {}
        # Summaries, built when a list or count first needs them and kept while
        # the ticket and its queue key are the very objects they were built from:
        # id -> (ticket, queue key, summary, requester key). The command path
        # never builds one.
        self._summaries: dict[str, tuple[Ticket, QueueKey | None, SummaryRow, str | None]] = {}
        # The text indexes: external message id -> ticket ids; words -> postings.
        self._message_ids: dict[str, set[str]] = {}
        self._text = TextIndex()
        self._lock = threading.Lock()
        # The wake-up capability (`WakeupStore`): a flag and a condition of its
        # own, on a re-entrant lock, so that `wakeup` may run in a signal handler
        # that interrupted this thread inside `wait_for_wakeup` or a commit.
        # Commits look at it only once somebody waits (`_listening`).
        self._wake = threading.Condition(threading.RLock())
        self._woken = False
        self._listening = False

    def _index_text(self, current: Ticket | None, change: Change) -> None:
        """Index the text ``change`` adds (all of it, replacing the old, on a rewrite)."""
        ticket = change.ticket
        tid = ticket.id
        if change.rewrite and current is not None:
            for message_id in indexed_text(current, 0).message_ids:
                holders = self._message_ids.get(message_id)
                if holders is not None:
                    holders.discard(tid)
                    if not holders:
                        del self._message_ids[message_id]
            self._text.remove(tid)
            start = 0
        else:
            start = 0 if current is None else len(current.timeline)
        added = indexed_text(ticket, start)
        for message_id in added.message_ids:
            self._message_ids.setdefault(message_id, set()).add(tid)
        if added.rows:
            self._text.add(tid, added.rows)

    def _index_requester(self, current: Ticket | None, ticket: Ticket) -> None:
        old = None if current is None else requester_key(current)
        new = requester_key(ticket)
        if old == new:
            return
        if old is not None:
            ids = self._requesters[old]
            ids.discard(ticket.id)
            if not ids:
                del self._requesters[old]
        if new is not None:
            self._requesters.setdefault(new, set()).add(ticket.id)

    def _index_due(self, ticket_id: str, due_at: datetime | None) -> None:
        if due_at is None:
            self._due.pop(ticket_id, None)
        elif self._due.get(ticket_id) != due_at:
            self._due[ticket_id] = due_at
            heapq.heappush(self._heap, (due_at, ticket_id))

    def _index_queue(self, ticket: Ticket, key: QueueKey | None) -> None:
        # Cheap on the command path: record the live key and mark the ticket; the
        # heaps catch up when the queue is read (the marks are a set: at most one
        # per ticket, however many commits come between two reads).
        ticket_id = ticket.id
        if key is not None:
            self._queue[ticket_id] = key
            self._qdirty.add(ticket_id)
        elif self._queue.pop(ticket_id, None) is not None:
            if ticket_id in self._qindexed:
                self._qdirty.add(ticket_id)  # its heap entries must go stale
            else:
                self._qdirty.discard(ticket_id)  # never reached the heaps: forget it

    def _drain_queue(self) -> None:
        """Bring the heaps up to the live keys of the tickets marked since the last drain."""
        live, indexed, tickets = self._queue, self._qindexed, self._tickets
        for ticket_id in self._qdirty:
            key = live.get(ticket_id)
            if key is None:
                indexed.pop(ticket_id, None)
                continue
            ticket = tickets[ticket_id]  # its assignee and department as committed last
            assignee, department = ticket.assignee, ticket.department
            entry = (queue_order(ticket_id, key), assignee, department)
            if indexed.get(ticket_id) == entry:
                continue
            indexed[ticket_id] = entry
            rank = entry[0]
            heapq.heappush(self._qheap, rank)
            if assignee is not None:
                heapq.heappush(self._qheaps_by_assignee.setdefault(assignee, []), rank)
            if department is not None:
                heapq.heappush(self._qheaps_by_department.setdefault(department, []), rank)
        self._qdirty.clear()
        if len(self._qheap) > 2 * len(indexed) + _COMPACT_SLACK:
            self._compact_queue()

    def _compact_queue(self) -> None:
        """Rebuild the queue heaps from the live entries (amortised: after as many pushes)."""
        self._qheap = [rank for rank, _, _ in self._qindexed.values()]
        by_assignee: dict[str, list[_Rank]] = {}
        by_department: dict[str, list[_Rank]] = {}
        for rank, assignee, department in self._qindexed.values():
            if assignee is not None:
                by_assignee.setdefault(assignee, []).append(rank)
            if department is not None:
                by_department.setdefault(department, []).append(rank)
        for heap in (self._qheap, *by_assignee.values(), *by_department.values()):
            heapq.heapify(heap)
        self._qheaps_by_assignee = by_assignee
        self._qheaps_by_department = by_department

    def get(self, ticket_id: str) -> Ticket:
        """Return the stored ticket.

        Raises:
            TicketNotFound: no ticket has this id.
        """
        try:
            return self._tickets[ticket_id]
        except KeyError:
            raise TicketNotFound(ticket_id) from None

    def commit(self, changes: Sequence[Change]) -> None:
        """Write all ``changes`` atomically.

        Raises:
            ConflictError: a change's expected version is stale; nothing was written.
            StoreError: a change is malformed (version not expected + 1).
        """
        with self._lock:
            if len(changes) == 1:  # the common case, without the second loop
                wake = self._listening and self._brings_work(changes)
                self._commit_one(changes[0])
            else:
                wake = self._commit_many(changes)
        if wake:
            self.wakeup()

    def _brings_work(self, changes: Sequence[Change]) -> bool:
        """Whether ``changes`` add outbox entries or a due time before the earliest stored.

        Called with the lock held, before the changes are indexed.
        """
        if any(c.outbox for c in changes):
            return True
        dues = [c.due_at for c in changes if c.due_at is not None]
        if not dues:
            return False
        earliest = self._earliest_due()
        return earliest is None or min(dues) < earliest

    def _commit_many(self, changes: Sequence[Change]) -> bool:
        """Write several changes (the lock held); return whether they bring work."""
        tickets = self._tickets
        for change in changes:
            ticket = change.ticket
            current = tickets.get(ticket.id)
            actual = 0 if current is None else current.version
            if actual != change.expected_version or ticket.version != actual + 1:
                self._refuse(change, actual)
        wake = self._listening and self._brings_work(changes)
        for change in changes:
            current = tickets.get(change.ticket.id)
            if current is None or change.rewrite:
                self._index_requester(current, change.ticket)
            self._index_text(current, change)
            tickets[change.ticket.id] = change.ticket
            self._index_due(change.ticket.id, change.due_at)
            self._index_queue(change.ticket, change.queue)
            self._claims.pop(change.ticket.id, None)
            if change.outbox:
                self._enqueue(change.ticket.id, change.outbox)
        return wake

    def _commit_one(self, change: Change) -> None:
        """Write one change (the lock held): the command path, kept short."""
        tickets = self._tickets
        ticket, expected, rewrite, due_at, outbox, queued = change
        current = tickets.get(ticket.id)
        actual = 0 if current is None else current.version
        if actual != expected or ticket.version != expected + 1:
            self._refuse(change, actual)
        if current is None or rewrite:
            self._index_requester(current, ticket)
        self._index_text(current, change)
        tickets[ticket.id] = ticket
        if due_at is not None or ticket.id in self._due:
            self._index_due(ticket.id, due_at)
        if queued is not None:  # _index_queue inlined: the command path
            self._queue[ticket.id] = queued
            self._qdirty.add(ticket.id)
        elif ticket.id in self._queue:
            self._index_queue(ticket, None)
        if self._claims:
            self._claims.pop(ticket.id, None)
        if outbox:
            self._enqueue(ticket.id, outbox)

    def insert_new(self, changes: Sequence[Change]) -> list[str]:
        """Write the changes whose tickets are not stored yet, atomically; skip the others.

        For bulk loads (`Helpdesk.import_tickets`): each change creates its
        ticket (expected version 0, version 1). A ticket that exists already
        (or repeats an earlier change of ``changes``) is left as it is and its
        id returned, where `commit` would refuse the whole batch. The tickets
        written are indexed as `commit` indexes them.

        Returns:
            The ids of the changes skipped, in order.

        Raises:
            StoreError: a change does not create its ticket; nothing was written.
        """
        for change in changes:
            check_creation(change)
        tickets = self._tickets
        skipped: list[str] = []
        with self._lock:
            wake = self._listening and self._brings_work(changes)
            for change in changes:
                ticket = change.ticket
                tid = ticket.id
                if tid in tickets:
                    skipped.append(tid)
                    continue
                self._index_requester(None, ticket)
                self._index_text(None, change)
                tickets[tid] = ticket
                if change.due_at is not None:
                    self._index_due(tid, change.due_at)
                if change.queue is not None:
                    self._queue[tid] = change.queue
                    self._qdirty.add(tid)
                self._claims.pop(tid, None)
                if change.outbox:
                    self._enqueue(tid, change.outbox)
        if wake:
            self.wakeup()
        return skipped

    def _enqueue(self, ticket_id: str, positions: tuple[int, ...]) -> None:
        outbox = self._outbox
        for position in positions:
            outbox[ticket_id, position] = (None, 0)

    @staticmethod
    def _refuse(change: Change, actual: int) -> None:
        if actual != change.expected_version:
            raise ConflictError(
                ticket_id=change.ticket.id,
                expected_version=change.expected_version,
                actual_version=actual,
            )
        check_version_step(change)

    def events(self, ticket_id: str) -> tuple[Event, ...]:
        """Return the ticket's timeline, oldest first.

        Raises:
            TicketNotFound: no ticket has this id.
        """
        return tuple(self.get(ticket_id).timeline)

    def find(self, query: TicketQuery) -> list[Ticket]:
        """Return the tickets matching ``query``, ordered by id.

        A query by ``requester`` reads only that requester's tickets (the index);
        any other scans every ticket.
        """
        tickets = self._tickets
        if query.requester is None:
            candidates: Iterable[Ticket] = tickets.values()
        else:
            with self._lock:
                ids = list(self._requesters.get(query.requester, ()))
            candidates = (tickets[tid] for tid in ids)
        found = sorted((t for t in candidates if query.matches(t)), key=lambda t: t.id)
        return found if query.limit is None else found[: query.limit]

    def iter_tickets(self, *, batch: int = STREAM_BATCH) -> Iterator[Ticket]:
        """Yield every stored ticket, ordered by id (`StreamStore`).

        The ids are sorted once when the call is made (a list of references:
        the tickets are in memory already); each ticket is yielded as it is
        when its turn comes. ``batch`` is checked only: nothing is read in batches.

        Raises:
            InvalidInputError: ``batch`` is not a whole number from 1 to 100,000.
        """
        _validate.batch_size(batch)
        with self._lock:
            ids = sorted(self._tickets)
        tickets = self._tickets
        return (tickets[tid] for tid in ids)

    def due(self, now: datetime, limit: int) -> list[Ticket]:
        """Return up to ``limit`` tickets due at or before ``now``, earliest first."""
        out: list[Ticket] = []
        with self._lock:
            heap, due = self._heap, self._due
            popped: list[tuple[datetime, str]] = []
            seen: set[str] = set()
            while heap and len(out) < limit and heap[0][0] <= now:
                entry = heapq.heappop(heap)
                # Entries whose time is no longer the ticket's, or repeats, are stale.
                if due.get(entry[1]) == entry[0] and entry[1] not in seen:
                    seen.add(entry[1])
                    popped.append(entry)
                    out.append(self._tickets[entry[1]])
            for entry in popped:  # still due until a commit moves them
                heapq.heappush(heap, entry)
        return out

    def claim_due(self, now: datetime, limit: int, lease: timedelta) -> list[Ticket]:
        """Claim and return up to ``limit`` unclaimed tickets due by ``now``, earliest first."""
        out: list[Ticket] = []
        until = now + lease
        with self._lock:
            heap, due, claims = self._heap, self._due, self._claims
            popped: list[tuple[datetime, str]] = []
            seen: set[str] = set()
            while heap and len(out) < limit and heap[0][0] <= now:
                entry = heapq.heappop(heap)
                ticket_id = entry[1]
                if due.get(ticket_id) != entry[0] or ticket_id in seen:
                    continue  # stale or repeated heap entry
                seen.add(ticket_id)
                popped.append(entry)
                claimed = claims.get(ticket_id)
                if claimed is not None and claimed > now:
                    continue
                claims[ticket_id] = until
                out.append(self._tickets[ticket_id])
            for entry in popped:  # still due until a commit moves them
                heapq.heappush(heap, entry)
        return out

    def claim_outbox(self, now: datetime, limit: int, lease: timedelta) -> list[OutboxEntry]:
        """Claim and return up to ``limit`` unclaimed pending outbox entries, oldest first."""
        out: list[OutboxEntry] = []
        until = now + lease
        with self._lock:
            outbox = self._outbox
            for key, (claimed, attempts) in outbox.items():
                if len(out) >= limit:
                    break
                if claimed is not None and claimed > now:
                    continue
                outbox[key] = (until, attempts + 1)  # same key: iteration stays valid
                ticket_id, position = key
                kind = self._tickets[ticket_id].timeline[position].kind
                out.append(OutboxEntry(ticket_id, position, kind.value, attempts + 1))
        return out

    def ack_outbox(self, keys: Sequence[tuple[str, int]]) -> None:
        """Remove delivered entries; unknown keys are ignored."""
        with self._lock:
            for key in keys:
                self._outbox.pop((key[0], key[1]), None)

    def outbox_pending(self) -> int:
        """Return the number of entries not yet acknowledged."""
        return len(self._outbox)

    def queue(self, *, assignee: str | None, department: str | None, limit: int) -> list[Ticket]:
        """Return up to ``limit`` queued tickets in queue order (see `QueueKey`).

        ``assignee`` and ``department``, when given, keep only the tickets
        currently assigned to that agent / in that department. Walks the heap of
        the narrowest filter in order without popping it, so the cost grows with
        ``limit`` (and the stale entries met), not with the tickets queued.
        """
        if limit <= 0:
            return []
        with self._lock:
            if self._qdirty:
                self._drain_queue()
            if assignee is not None:
                heap = self._qheaps_by_assignee.get(assignee, [])
            elif department is not None:
                heap = self._qheaps_by_department.get(department, [])
            else:
                heap = self._qheap
            live, tickets = self._qindexed, self._tickets
            out: list[Ticket] = []
            seen: set[str] = set()
            # The k smallest of a binary heap: a frontier of (rank, index) in the heap.
            frontier: list[tuple[_Rank, int]] = [(heap[0], 0)] if heap else []
            size = len(heap)
            while frontier and len(out) < limit:
                rank, index = heapq.heappop(frontier)
                ticket_id = rank[-1]
                entry = live.get(ticket_id)
                if (
                    entry is not None
                    and entry[0] == rank
                    and ticket_id not in seen
                    and (assignee is None or entry[1] == assignee)
                    and (department is None or entry[2] == department)
                ):
                    seen.add(ticket_id)
                    out.append(tickets[ticket_id])
                for child in (2 * index + 1, 2 * index + 2):
                    if child < size:
                        heapq.heappush(frontier, (heap[child], child))
            return out

    def reindex(self, updates: Sequence[IndexUpdate]) -> int:
        """Apply each update whose ticket is still at its ``version``; return how many applied.

        Updates for missing tickets or other versions are skipped. Claims, the
        outbox, versions and events are left as they are.
        """
        applied = 0
        with self._lock:
            tickets = self._tickets
            for update in updates:
                current = tickets.get(update.ticket_id)
                if current is None or current.version != update.version:
                    continue
                self._index_due(update.ticket_id, update.due_at)
                self._index_queue(current, update.queue)
                applied += 1
        return applied

    def _summary_rows(self) -> list[tuple[SummaryRow, str | None]]:
        """Every ticket's summary and requester key (the lock held), rebuilt where stale."""
        cache, queue = self._summaries, self._queue
        out: list[tuple[SummaryRow, str | None]] = []
        for ticket_id, ticket in self._tickets.items():
            key = queue.get(ticket_id)
            entry = cache.get(ticket_id)
            if entry is None or entry[0] is not ticket or entry[1] is not key:
                entry = (ticket, key, summarize(ticket, key), requester_key(ticket))
                cache[ticket_id] = entry
            out.append((entry[2], entry[3]))
        return out

    def summaries(self, query: SummaryQuery) -> list[SummaryRow]:
        """Return the page of summaries ``query`` selects, in its order.

        Scans every ticket (summaries are built once per ticket version and
        kept), keeping the ``limit`` best in a heap: O(n log limit).
        """
        with self._lock:
            rows = self._summary_rows()
        return select_page(rows, query)

    def summary_counts(self, by: str, query: SummaryQuery) -> dict[str | None, int]:
        """Return how many tickets pass ``query``'s filters, per value of ``by`` (a scan)."""
        with self._lock:
            rows = self._summary_rows()
        return count_rows(rows, by, query)

    def search(self, query: SearchQuery) -> list[tuple[SummaryRow, float]]:
        """Return the hits of ``query``, best first (`SearchStore`).

        The inverted index finds the tickets holding every term; only those are
        summarised and filtered.
        """
        with self._lock:
            scores = self._text.scores(query.terms, public_only=query.public_only)
            cache, queue, tickets = self._summaries, self._queue, self._tickets
            hits: list[tuple[float, str, SummaryRow]] = []
            for ticket_id, score in scores.items():
                if not query.past(score, ticket_id):
                    continue
                ticket, key = tickets[ticket_id], queue.get(ticket_id)
                entry = cache.get(ticket_id)
                if entry is None or entry[0] is not ticket or entry[1] is not key:
                    entry = (ticket, key, summarize(ticket, key), requester_key(ticket))
                    cache[ticket_id] = entry
                if query.filters.matches(entry[2], entry[3]):
                    hits.append((score, ticket_id, entry[2]))
        best = heapq.nsmallest(query.limit, hits, key=lambda h: (-h[0], h[1]))
        return [(row, score) for score, _, row in best]

    def tickets_by_message_id(self, message_ids: Sequence[str]) -> dict[str, tuple[str, ...]]:
        """Return the tickets holding each stored message id, newest first (`MessageIdStore`)."""
        out: dict[str, tuple[str, ...]] = {}
        with self._lock:
            for message_id in message_ids:
                holders = self._message_ids.get(message_id)
                if holders:
                    out[message_id] = tuple(sorted(holders, reverse=True))
        return out

    def next_due_at(self) -> datetime | None:
        """Return the earliest due time, or None."""
        with self._lock:
            return self._earliest_due()

    def _earliest_due(self) -> datetime | None:
        """The earliest due time (the lock held): stale heap entries are dropped first."""
        heap, due = self._heap, self._due
        while heap and due.get(heap[0][1]) != heap[0][0]:
            heapq.heappop(heap)
        return heap[0][0] if heap else None

    def wait_for_wakeup(self, timeout: float) -> bool:
        """Wait until a commit in this process brings work nearer, or ``timeout`` passes.

        The `WakeupStore` capability, for a worker in the same process: a
        commit that adds outbox entries, or sets a due time earlier than the
        earliest stored, records a wake-up, kept until a call consumes it. The
        first call starts the watch and returns True at once (commits before it
        were not watched).

        Args:
            timeout: The longest wait, in seconds.

        Returns:
            True if a wake-up was pending or arrived, False after ``timeout``.

        Raises:
            InvalidInputError: ``timeout`` is not a finite number of seconds from 0.
        """
        seconds = _validate.seconds(timeout, "timeout")
        with self._wake:
            if not self._listening:
                with self._lock:
                    self._listening = True
                return True
            self._wake.wait_for(lambda: self._woken, seconds)
            woken, self._woken = self._woken, False
            return woken

    def wakeup(self) -> None:
        """Make the waiting (or the next) `wait_for_wakeup` call return True."""
        with self._wake:
            self._woken = True
            self._wake.notify_all()

    def count(self) -> int:
        """Return the number of stored tickets."""
        return len(self._tickets)

    def close(self) -> None:
        """Forget every ticket."""
        self._tickets.clear()
        self._due.clear()
        self._heap.clear()
        self._claims.clear()
        self._outbox.clear()
        self._requesters.clear()
        self._summaries.clear()
        self._message_ids.clear()
        self._text.clear()
        self._queue.clear()
        self._qdirty.clear()
        self._qindexed.clear()
        self._qheap.clear()
        self._qheaps_by_assignee.clear()
        self._qheaps_by_department.clear()

    def __repr__(self) -> str:
        return f"MemoryStore(<{len(self._tickets)} tickets>)"
