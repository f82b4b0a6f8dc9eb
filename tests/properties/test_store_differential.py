"""Every store backend agrees with a pure-Python reference model on random workloads.

One `RuleBasedStateMachine` drives a help desk per backend, all on one `FakeClock`
with the same ids, the workflow's default rules and two time rules of our own (an
inactivity reminder, which notifies through the outbox, and an inactivity close
of resolved tickets), so due times matter. The backends:

* ``reference``: `ReferenceStore` below, a few lines of plain Python that keep each
  ticket as a list of event dicts (JSON, as a database would) plus its due time
  and queue key, fed only from the `Change` and `IndexUpdate` objects, and that
  share no code with the real stores;
* ``memory``: `MemoryStore`;
* ``sqlite-memory``: `SQLiteStore` on ``:memory:``;
* ``sqlite-file``: `SQLiteStore` on a file (closed and reopened by ``reload``);
* ``postgres``: `open_store` on ``TICKETFLOW_POSTGRES_URL`` when it is set, each
  example in a fresh schema (``options=-csearch_path=...``, as
  ``tests/integration/conftest.py`` does), dropped afterwards; also reopened by
  ``reload``.

Steps: open tickets, random commands (`ticketflow.testing.commands`: replies,
resolve, postpone, tags, assign, merge, purge... and invalid arguments), advance
the clock, ``run_due``, reload the durable backends from storage, save stale
changes directly (an update at an old version, a re-creation, and a two-ticket
commit whose second change is stale): every backend must refuse those with the
same `ConflictError` and change nothing; save changes carrying random queue keys
directly, and ``reindex`` random tickets (stale versions and missing ids
included) with random due times and keys. Each step must have the same outcome
on every backend, and after each step every backend must return the same
tickets, timelines, ``find`` results, due tickets, ``next_due_at``, count, outbox
size and work queues (whole, by assignee, by department, both, cut short) as the
reference.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from ticketflow import (
    ConflictError,
    Event,
    EventKind,
    FakeClock,
    Helpdesk,
    MemoryStore,
    Priority,
    SQLiteStore,
    StoreError,
    Ticket,
    TicketflowError,
    TicketNotFound,
    TicketStore,
    Workflow,
    open_store,
)
from ticketflow._apply import apply_event
from ticketflow._model import Actor, Role
from ticketflow.rules import Rule, from_dicts, inactivity
from ticketflow.stores import Change, IndexUpdate, OutboxEntry, QueueKey, TicketQuery
from ticketflow.testing import apply_command, commands, open_ticket_kwargs, postgres_schema, presets

POSTGRES_ENV = "TICKETFLOW_POSTGRES_URL"
START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
FAR = datetime(2100, 1, 1, tzinfo=UTC)
MANY = 10_000
AGENT = Actor("auditor", Role.AGENT)


# --- the reference model ----------------------------------------------------------------


class ReferenceStore:
    """The simplest store that could work: event dicts per ticket, scanned on every read.

    It checks what it is given as it goes: a change that is not a rewrite must
    keep the stored events as they are and append only events of the new version.
    """

    def __init__(self) -> None:
        self.stored: dict[str, list[dict[str, Any]]] = {}
        self.due_at: dict[str, datetime] = {}
        self.claims: dict[str, datetime] = {}
        self.keys: dict[str, QueueKey] = {}
        # [ticket id, position, kind, claimed until, attempts], oldest first
        self.outbox: list[list[Any]] = []

    def _version(self, ticket_id: str) -> int:
        stored = self.stored.get(ticket_id)
        return 0 if not stored else int(stored[-1]["version"])

    def commit(self, changes: Sequence[Change]) -> None:
        for change in changes:
            actual = self._version(change.ticket.id)
            if actual != change.expected_version:
                raise ConflictError(
                    ticket_id=change.ticket.id,
                    expected_version=change.expected_version,
                    actual_version=actual,
                )
            if change.ticket.version != actual + 1:
                raise StoreError(f"ticket {change.ticket.id}: version must rise by one")
        for change in changes:
            ticket = change.ticket
            written = [json.loads(json.dumps(e.to_dict())) for e in ticket.timeline]
            old = self.stored.get(ticket.id, [])
            if not change.rewrite:
                assert old == written[: len(old)], f"{ticket.id}: history changed"
                assert all(e["version"] == ticket.version for e in written[len(old) :])
            self.stored[ticket.id] = written
            if change.due_at is None:
                self.due_at.pop(ticket.id, None)
            else:
                self.due_at[ticket.id] = change.due_at
            self.claims.pop(ticket.id, None)
            self._set_key(ticket.id, change.queue)
            for position in change.outbox:
                kind = written[position]["kind"]
                self.outbox.append([ticket.id, position, kind, None, 0])

    def _set_key(self, ticket_id: str, key: QueueKey | None) -> None:
        if key is None:
            self.keys.pop(ticket_id, None)
        else:
            self.keys[ticket_id] = key

    def queue(self, *, assignee: str | None, department: str | None, limit: int) -> list[Ticket]:
        picked = [
            t
            for t in map(self.get, self.keys)
            if assignee in {None, t.assignee} and department in {None, t.department}
        ]
        # Stable sorts from the last tie-break to the first.
        picked.sort(key=lambda t: t.id)
        picked.sort(key=lambda t: self.keys[t.id].priority, reverse=True)
        picked.sort(key=lambda t: self.keys[t.id].waiting_since)
        picked.sort(key=lambda t: self.keys[t.id].sla_due or FAR)
        picked.sort(key=lambda t: self.keys[t.id].sla_due is None)
        return picked[:limit]

    def reindex(self, updates: Sequence[IndexUpdate]) -> int:
        applied = 0
        for update in updates:
            if self._version(update.ticket_id) == update.version and update.version > 0:
                if update.due_at is None:
                    self.due_at.pop(update.ticket_id, None)
                else:
                    self.due_at[update.ticket_id] = update.due_at
                self._set_key(update.ticket_id, update.queue)
                applied += 1
        return applied

    def get(self, ticket_id: str) -> Ticket:
        if ticket_id not in self.stored:
            raise TicketNotFound(ticket_id)
        return Ticket.rebuild(Event.from_dict(e) for e in self.stored[ticket_id])

    def events(self, ticket_id: str) -> tuple[Event, ...]:
        return self.get(ticket_id).timeline

    def find(self, query: TicketQuery) -> list[Ticket]:
        found = []
        for ticket_id in sorted(self.stored):
            t = self.get(ticket_id)
            if query.statuses is not None and t.status not in query.statuses:
                continue
            if query.assignee is not None and t.assignee != query.assignee:
                continue
            if query.department is not None and t.department != query.department:
                continue
            if query.priority is not None and t.priority != query.priority:
                continue
            if query.tag is not None and query.tag not in t.tags:
                continue
            found.append(t)
        return found if query.limit is None else found[: query.limit]

    def _due_ids(self, now: datetime) -> list[str]:
        return [i for at, i in sorted((at, i) for i, at in self.due_at.items()) if at <= now]

    def due(self, now: datetime, limit: int) -> list[Ticket]:
        return [self.get(i) for i in self._due_ids(now)[:limit]]

    def claim_due(self, now: datetime, limit: int, lease: timedelta) -> list[Ticket]:
        free = [i for i in self._due_ids(now) if self.claims.get(i, now) <= now][:limit]
        for ticket_id in free:
            self.claims[ticket_id] = now + lease
        return [self.get(i) for i in free]

    def claim_outbox(self, now: datetime, limit: int, lease: timedelta) -> list[OutboxEntry]:
        out = []
        for entry in self.outbox:
            if len(out) < limit and (entry[3] is None or entry[3] <= now):
                entry[3], entry[4] = now + lease, entry[4] + 1
                out.append(OutboxEntry(entry[0], entry[1], entry[2], entry[4]))
        return out

    def ack_outbox(self, keys: Sequence[tuple[str, int]]) -> None:
        done = {(k[0], k[1]) for k in keys}
        self.outbox = [e for e in self.outbox if (e[0], e[1]) not in done]

    def outbox_pending(self) -> int:
        return len(self.outbox)

    def next_due_at(self) -> datetime | None:
        return min(self.due_at.values(), default=None)

    def count(self) -> int:
        return len(self.stored)

    def close(self) -> None:
        pass


def test_reference_store_is_a_ticket_store() -> None:
    """The reference model has every method of the protocol (so a Helpdesk can use it)."""
    assert isinstance(ReferenceStore(), TicketStore)


# --- the backends ------------------------------------------------------------------------


def sequential_ids() -> Callable[[datetime], str]:
    """``T000001``, ``T000002``...: the same ids on every backend."""
    numbers = itertools.count(1)
    return lambda _at: f"T{next(numbers):06d}"


@attrs.define
class Backend:
    """One store under test, its help desk, and how to reopen it (durable ones)."""

    name: str
    store: TicketStore
    ids: Callable[[datetime], str] = attrs.field(factory=sequential_ids)
    reopen: Callable[[], TicketStore] | None = None
    cleanup: Callable[[], None] | None = None
    checked: dict[str, int] = attrs.field(factory=dict)  # id -> version compared by get


def postgres_backend() -> Backend | None:
    """A PostgreSQL store in a fresh schema, or None without ``TICKETFLOW_POSTGRES_URL``.

    The hook for the PostgreSQL backend: each example needs an empty database, so
    each gets a schema of its own, dropped when the example ends.
    """
    server = os.environ.get(POSTGRES_ENV, "")
    if not server:
        return None
    schema = contextlib.ExitStack()
    url = schema.enter_context(postgres_schema(server, "tf_diff"))
    return Backend(
        "postgres", open_store(url), reopen=lambda: open_store(url), cleanup=schema.close
    )


def default_rules(workflow: Workflow) -> list[Rule]:
    """The preset's own rules, inactivity reminders and an inactivity close.

    A reminder in each status a ticket can sit in, after 2 h in the initial status
    and after 20 min to 2 h in the others (so a newer ticket is often due before an
    older one, and due order differs from id order), and a close of resolved
    tickets after a day without activity.
    """
    resolved = [
        s.name
        for s in workflow.statuses
        if s.category.value == "resolved" and "close" in workflow.allowed(s.name)
    ]
    others = [
        s.name
        for s in workflow.statuses
        if not workflow.is_locked(s.name) and s.name != workflow.initial and s.name not in resolved
    ]
    delays = itertools.cycle([timedelta(minutes=20), timedelta(hours=2), timedelta(minutes=50)])
    return [
        *from_dicts(workflow.rules),
        inactivity(status=workflow.initial, after=timedelta(hours=2), then="remind"),
        *(inactivity(status=name, after=next(delays), then="remind") for name in others),
        *(inactivity(status=name, after=timedelta(days=1), then="close") for name in resolved),
    ]


# Few values, so that keys often tie and every tie-break counts.
QUEUE_KEYS = st.none() | st.builds(
    QueueKey,
    sla_due=st.sampled_from((None, START, START + timedelta(hours=2))),
    waiting_since=st.sampled_from((START - timedelta(hours=1), START)),
    priority=st.sampled_from([int(p) for p in Priority]),
)
QUEUE_FILTERS = ((None, None), ("ann", None), (None, "it"), ("ann", "it"))
"""The queue filters compared after each step (whole, by assignee, by department, both)."""

QUERIES = (
    TicketQuery(tag="vip"),
    TicketQuery(assignee="ann", priority=Priority.HIGH),
    TicketQuery(department="it", limit=2),
)
"""Queries besides "everything" and "in the initial status" (each one is a round trip)."""
DELAYS = st.sampled_from(
    (timedelta(minutes=5), timedelta(hours=1), timedelta(hours=3), timedelta(days=1))
) | st.timedeltas(timedelta(0), timedelta(days=3))


def outcome(action: Callable[[], object]) -> tuple[str, object]:
    """What a step did: its result, or the error's type and message."""
    try:
        return ("returned", action())
    except StoreError as exc:
        return ("store error", f"{type(exc).__name__}: {exc}")
    except TicketflowError as exc:
        return ("refused", f"{type(exc).__name__}: {exc}")


def next_version(ticket: Ticket, at: datetime) -> Ticket:
    """``ticket`` one version on, with an auditor's note: a valid next snapshot."""
    event = Event(
        kind=EventKind.NOTE_ADDED,
        at=max(at, ticket.updated_at),
        actor=AGENT,
        status_before=ticket.status,
        status_after=ticket.status,
        data={"body": "audit"},
        version=ticket.version + 1,
    )
    return apply_event(ticket, event)


# --- the machine -------------------------------------------------------------------------


class StoreDifferential(RuleBasedStateMachine):
    """The reference model and every backend, driven by the same steps."""

    def __init__(self) -> None:
        super().__init__()
        self.clock = FakeClock(START)
        self.directory = tempfile.mkdtemp(prefix="ticketflow-differential-")
        self.reference = Backend("reference", ReferenceStore())
        path = os.path.join(self.directory, "store.db")  # noqa: PTH118 - a str path is fine
        self.backends = [
            Backend("memory", MemoryStore()),
            Backend("sqlite-memory", SQLiteStore(":memory:")),
            Backend("sqlite-file", SQLiteStore(path), reopen=lambda: SQLiteStore(path)),
        ]
        postgres = postgres_backend()
        if postgres is not None:
            self.backends.append(postgres)
        self.workflow: Workflow | None = None
        self.desk_rules: list[Rule] = []
        self.ids: list[str] = []

    def desk(self, backend: Backend) -> Helpdesk:
        return Helpdesk(
            self.workflow,
            store=backend.store,
            clock=self.clock,
            id_factory=backend.ids,
            rules=self.desk_rules,
        )

    def everywhere(self, action: Callable[[Helpdesk], object]) -> tuple[str, object]:
        """Run ``action`` on every desk; each outcome must be the reference's."""
        expected = outcome(lambda: action(self.desk(self.reference)))
        for backend in self.backends:
            assert (backend.name, expected) == (
                backend.name,
                outcome(lambda b=backend: action(self.desk(b))),
            )
        self.ids = [t.id for t in self.reference.store.find(TicketQuery())]
        return expected

    # --- steps -----------------------------------------------------------------------

    @initialize(workflow=presets())
    def use_workflow(self, workflow: Workflow) -> None:
        self.workflow = workflow
        self.desk_rules = default_rules(workflow)

    @rule(kwargs=open_ticket_kwargs())
    def open_ticket(self, kwargs: Any) -> None:
        self.everywhere(lambda desk: desk.open_ticket(**kwargs))

    @precondition(lambda self: bool(self.ids))
    @rule(data=st.data())
    def command(self, data: st.DataObject) -> None:
        ticket_id = data.draw(st.sampled_from(self.ids), label="ticket")
        others = tuple(i for i in self.ids if i != ticket_id)
        step = data.draw(commands(self.workflow, merge_into=others, invalid=True), label="step")
        self.everywhere(lambda desk: apply_command(desk, ticket_id, step))

    @rule(delay=DELAYS)
    def advance(self, delay: timedelta) -> None:
        self.clock.advance(delay)

    @rule()
    def run_due(self) -> None:
        self.everywhere(lambda desk: desk.run_due())

    @rule()
    def reload(self) -> None:
        """Close the durable backends and open them again from storage."""
        for backend in self.backends:
            if backend.reopen is not None:
                backend.store.close()
                backend.store = backend.reopen()
                backend.checked.clear()

    @precondition(lambda self: bool(self.ids))
    @rule(data=st.data(), kind=st.sampled_from(["old version", "re-create", "second of two"]))
    def stale_save(self, data: st.DataObject, kind: str) -> None:
        """Save a stale change directly: refused everywhere, with the same fields."""
        ticket_id = data.draw(st.sampled_from(self.ids), label="ticket")
        current = self.reference.store.get(ticket_id)
        now = self.clock.now()
        changes: list[Change]
        if kind == "re-create":
            first = [e for e in current.timeline if e.version == 1]
            changes = [Change(Ticket.rebuild(first), 0, due_at=now, outbox=(0,))]
            expected = (ticket_id, 0, current.version)
        elif kind == "second of two" and len(self.ids) > 1:
            other = self.reference.store.get(
                data.draw(st.sampled_from([i for i in self.ids if i != ticket_id]), label="other")
            )
            changes = [
                Change(
                    next_version(other, now),
                    other.version,
                    due_at=now,
                    outbox=(len(other.timeline),),
                ),
                Change(current, current.version - 1),
            ]
            expected = (ticket_id, current.version - 1, current.version)
        else:
            if current.version < 2:
                return  # no older version to save
            changes = [Change(current, current.version - 1, due_at=now)]
            expected = (ticket_id, current.version - 1, current.version)
        for backend in [self.reference, *self.backends]:
            try:
                backend.store.commit(changes)
            except ConflictError as exc:
                got = (exc.ticket_id, exc.expected_version, exc.actual_version)
                assert (backend.name, expected) == (backend.name, got)
            else:
                raise AssertionError(f"{backend.name}: a stale commit was accepted: {changes}")

    @precondition(lambda self: bool(self.ids))
    @rule(data=st.data(), key=QUEUE_KEYS)
    def keyed_save(self, data: st.DataObject, key: QueueKey | None) -> None:
        """Save a ticket's next version with a queue key (or none) directly, everywhere."""
        ticket_id = data.draw(st.sampled_from(self.ids), label="ticket")
        current = self.reference.store.get(ticket_id)
        change = Change(next_version(current, self.clock.now()), current.version, queue=key)
        for backend in [self.reference, *self.backends]:
            backend.store.commit([change])

    @precondition(lambda self: bool(self.ids))
    @rule(data=st.data())
    def reindex(self, data: st.DataObject) -> None:
        """Reindex random tickets (stale versions, missing ids): the same count everywhere."""
        now = self.clock.now()
        updates = []
        for ticket_id in data.draw(
            st.lists(st.sampled_from([*self.ids, "T999999"]), max_size=5), label="tickets"
        ):
            version = self.reference.store._version(ticket_id) or 1
            updates.append(
                IndexUpdate(
                    ticket_id,
                    version - data.draw(st.sampled_from((0, 0, 1)), label="stale"),
                    data.draw(st.sampled_from((None, now, now + timedelta(hours=1)))),
                    data.draw(QUEUE_KEYS, label="key"),
                )
            )
        expected = self.reference.store.reindex(updates)
        for backend in self.backends:
            assert (backend.name, expected) == (backend.name, backend.store.reindex(updates))

    # --- after every step ---------------------------------------------------------------

    @invariant()
    def backends_agree(self) -> None:
        now = self.clock.now()
        reference = self.reference.store
        tickets = reference.find(TicketQuery())
        answers = {
            "due now": [t.id for t in reference.due(now, MANY)],
            "due ever": [t.id for t in reference.due(FAR, MANY)],
            "next_due_at": reference.next_due_at(),
            "count": reference.count(),
            "outbox": reference.outbox_pending(),
        }
        queries = [*QUERIES]
        if self.workflow is not None:
            queries.append(TicketQuery(statuses=frozenset({self.workflow.initial})))
        found = [reference.find(q) for q in queries]
        queued = [reference.queue(assignee=a, department=d, limit=MANY) for a, d in QUEUE_FILTERS]
        front = reference.queue(assignee=None, department=None, limit=3)
        for backend in self.backends:
            store = backend.store
            assert (backend.name, tickets) == (backend.name, store.find(TicketQuery()))
            for ticket in tickets:
                if backend.checked.get(ticket.id) != ticket.version:
                    assert (backend.name, ticket) == (backend.name, store.get(ticket.id))
                    assert (backend.name, ticket.timeline) == (
                        backend.name,
                        store.events(ticket.id),
                    )
                    backend.checked[ticket.id] = ticket.version
            assert (backend.name, answers) == (
                backend.name,
                {
                    "due now": [t.id for t in store.due(now, MANY)],
                    "due ever": [t.id for t in store.due(FAR, MANY)],
                    "next_due_at": store.next_due_at(),
                    "count": store.count(),
                    "outbox": store.outbox_pending(),
                },
            )
            assert (backend.name, found) == (backend.name, [store.find(q) for q in queries])
            assert (backend.name, queued) == (
                backend.name,
                [store.queue(assignee=a, department=d, limit=MANY) for a, d in QUEUE_FILTERS],
            )
            assert (backend.name, front) == (
                backend.name,
                store.queue(assignee=None, department=None, limit=3),
            )

    def teardown(self) -> None:
        for backend in self.backends:
            backend.store.close()
            if backend.cleanup is not None:
                backend.cleanup()
        shutil.rmtree(self.directory, ignore_errors=True)


_PROFILE = settings()
StoreDifferential.TestCase.settings = settings(
    _PROFILE,
    # A tenth of the profile's examples: each example runs every backend (PostgreSQL
    # included, at about 0.4 s an example).
    max_examples=max(10, _PROFILE.max_examples // 10),
    stateful_step_count=30,
    deadline=None,
)
TestStoreDifferential = StoreDifferential.TestCase
