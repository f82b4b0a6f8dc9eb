"""A store failure never leaves half a command behind.

Every `Helpdesk` command either is applied whole (status, timeline, due time and
outbox entries) or not at all, whatever store call fails. Each example runs a
random workload (tickets opened, random commands with merges and purges, time
passing, ``run_due``) on a help desk whose store fails once, at a point drawn by
Hypothesis, and on a `MemoryStore` twin that is given a command only if the
command succeeded on the failing store. After every step the two stores must hold
the same tickets, due times, claims and outbox entries.

Two ways to fail:

* ``call``: a wrapper store raises `StoreError` on the k-th call of any store
  method (`MemoryStore` and `SQLiteStore`).
* ``statement``: a proxy put in place of the `SQLiteStore`'s private connection
  raises ``sqlite3.OperationalError`` on the k-th SQL statement of a kind (any,
  the events insert, the outbox insert, the tags rewrite, the ticket row, the
  COMMIT...), before or after running it: so a commit fails *inside* its
  transaction, after writing part of the change (e.g. between the events insert
  and the outbox insert). The store must roll back, raise a `StoreError`, and
  stay usable.

``run_due`` commits ticket by ticket, so a failure in the middle of it may leave
the tickets before it fired: there each ticket must be either as it was or as the
twin's full ``run_due`` left it (and the example stops there).
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from ticketflow import (
    EventKind,
    FakeClock,
    Helpdesk,
    MemoryStore,
    Requester,
    SQLiteStore,
    StoreError,
    Ticket,
    TicketflowError,
    Workflow,
)
from ticketflow.rules import Rule, from_dicts, inactivity
from ticketflow.stores import Change, OutboxEntry, TicketQuery, TicketStore
from ticketflow.testing import Command, apply_command, commands, open_ticket_kwargs, presets

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ALL_KINDS = tuple(EventKind)  # every event goes to the outbox: every commit writes there
ANN = Requester(name="Ann", email="ann@example.com")


# --- failing on the k-th store call ----------------------------------------------------


class FailingStore:
    """Delegate to ``inner``, but raise `StoreError` on the ``fail_at``-th call (once)."""

    def __init__(self, inner: TicketStore, fail_at: int) -> None:
        self.inner = inner
        self.fail_at = fail_at
        self.calls = 0
        self.fired: str | None = None

    def _call(self, name: str, *args: Any) -> Any:
        self.calls += 1
        if self.calls == self.fail_at:
            self.fired = name
            raise StoreError(f"injected failure of {name} (call {self.calls})")
        return getattr(self.inner, name)(*args)

    def get(self, ticket_id: str) -> Ticket:
        return self._call("get", ticket_id)

    def commit(self, changes: Sequence[Change]) -> None:
        self._call("commit", changes)

    def events(self, ticket_id: str) -> Any:
        return self._call("events", ticket_id)

    def find(self, query: TicketQuery) -> list[Ticket]:
        return self._call("find", query)

    def due(self, now: datetime, limit: int) -> list[Ticket]:
        return self._call("due", now, limit)

    def claim_due(self, now: datetime, limit: int, lease: timedelta) -> list[Ticket]:
        return self._call("claim_due", now, limit, lease)

    def claim_outbox(self, now: datetime, limit: int, lease: timedelta) -> list[OutboxEntry]:
        return self._call("claim_outbox", now, limit, lease)

    def ack_outbox(self, keys: Sequence[tuple[str, int]]) -> None:
        self._call("ack_outbox", keys)

    def outbox_pending(self) -> int:
        return self._call("outbox_pending")

    def next_due_at(self) -> datetime | None:
        return self._call("next_due_at")

    def count(self) -> int:
        return self._call("count")

    def close(self) -> None:
        self.inner.close()


# --- failing on the k-th SQL statement --------------------------------------------------


class FailingConnection:
    """Stand in for a `sqlite3.Connection`; raise on the k-th statement of a kind (once).

    ``target`` is the start of the statements counted ("" counts every one);
    ``after`` runs the statement before raising (its writes are then inside the
    transaction the store must roll back).
    """

    def __init__(self, conn: sqlite3.Connection, target: str, fail_at: int, after: bool) -> None:
        self._conn = conn
        self.target = target
        self.fail_at = fail_at
        self.after = after
        self.seen = 0
        self.armed = True
        self.fired: str | None = None

    def _hit(self, sql: str) -> bool:
        text = " ".join(sql.split()).upper()
        if not self.armed or self.fired is not None or not text.startswith(self.target):
            return False
        self.seen += 1
        if self.seen != self.fail_at:
            return False
        self.fired = text[:40]
        return True

    def _after(self, sql: str) -> bool:
        # sqlite3 never fails a BEGIN or a COMMIT after doing it: fail those before.
        return self.after and not sql.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK"))

    def execute(self, sql: str, parameters: Any = ()) -> sqlite3.Cursor:
        hit = self._hit(sql)
        if hit and not self._after(sql):
            raise sqlite3.OperationalError(f"disk I/O error (injected before {sql[:30]!r})")
        cursor = self._conn.execute(sql, parameters)
        if hit:
            raise sqlite3.OperationalError(f"disk I/O error (injected after {sql[:30]!r})")
        return cursor

    def executemany(self, sql: str, rows: Any) -> sqlite3.Cursor:
        hit = self._hit(sql)
        if hit and not self._after(sql):
            raise sqlite3.OperationalError(f"disk I/O error (injected before {sql[:30]!r})")
        cursor = self._conn.executemany(sql, rows)
        if hit:
            raise sqlite3.OperationalError(f"disk I/O error (injected after {sql[:30]!r})")
        return cursor

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)


# --- the state a command may change ------------------------------------------------------


def state(store: TicketStore) -> dict[str, Any]:
    """Tickets, due times, live claims and outbox entries, read without changing anything.

    The due times, claims and outbox are read from the stores' insides (this file
    knows both): the protocol has no read-only view of them.
    """
    if isinstance(store, FailingStore):
        store = store.inner
    tickets = store.find(TicketQuery())
    if isinstance(store, MemoryStore):
        due = dict(store._due)
        claims = dict(store._claims)
        outbox = [
            (tid, pos, store._tickets[tid].timeline[pos].kind.value, attempts, until)
            for (tid, pos), (until, attempts) in store._outbox.items()
        ]
    else:
        assert isinstance(store, SQLiteStore)
        conn = store._conn
        real = conn._conn if isinstance(conn, FailingConnection) else conn
        rows = real.execute("SELECT id, due_at, claimed_until FROM tickets").fetchall()
        due = {r[0]: at(r[1]) for r in rows if r[1] is not None}
        claims = {r[0]: at(r[2]) for r in rows if r[2] is not None}
        outbox = [
            (r[0], r[1], r[2], r[3], None if r[4] is None else at(r[4]))
            for r in real.execute(
                "SELECT ticket_id, position, kind, attempts, claimed_until FROM outbox ORDER BY seq"
            )
        ]
    return {"tickets": tickets, "due": due, "claims": claims, "outbox": outbox}


def at(micros: int) -> datetime:
    return EPOCH + timedelta(microseconds=micros)


def of_ticket(snapshot: dict[str, Any], ticket_id: str) -> tuple[object, ...]:
    """What one ticket's commit changes: the ticket, its due time and its outbox entries."""
    [ticket] = [t for t in snapshot["tickets"] if t.id == ticket_id]
    return (
        ticket,
        snapshot["due"].get(ticket_id),
        [e[:3] for e in snapshot["outbox"] if e[0] == ticket_id],
    )


# --- the workload ------------------------------------------------------------------------


@attrs.define
class Ids:
    """Sequential ticket ids that a failed command can give back (``n`` is rewound)."""

    n: int = 0

    def __call__(self, _at: datetime) -> str:
        self.n += 1
        return f"T{self.n:04d}"


def rules_of(workflow: Workflow) -> list[Rule]:
    """The preset's rules and an inactivity reminder after an hour in the initial status."""
    return [
        *from_dicts(workflow.rules),
        inactivity(status=workflow.initial, after=timedelta(hours=1), then="remind"),
    ]


def desk_on(store: TicketStore, workflow: Workflow, clock: FakeClock, ids: Ids) -> Helpdesk:
    return Helpdesk(
        workflow,
        store=store,
        clock=clock,
        id_factory=ids,
        rules=rules_of(workflow),
        outbox=ALL_KINDS,
    )


def outcome(action: Callable[[], object]) -> tuple[str, object]:
    try:
        return ("returned", action())
    except StoreError as exc:
        return ("store error", exc)
    except TicketflowError as exc:
        return ("refused", f"{type(exc).__name__}: {exc}")


STATEMENTS = (
    "",
    "INSERT INTO EVENTS",
    "INSERT INTO OUTBOX",
    "INSERT INTO TAGS",
    "DELETE FROM EVENTS",
    "DELETE FROM TAGS",
    "INSERT INTO TICKETS",
    "UPDATE TICKETS",
    "SELECT",
    "COMMIT",
)
STEP_KINDS = ("open", "command", "command", "merge", "purge", "advance", "run_due")
"""Merges (two changes in one commit) and purges (a rewrite) get steps of their own."""
DELAYS = st.sampled_from((timedelta(minutes=10), timedelta(hours=1), timedelta(days=1)))


@st.composite
def faults(draw: st.DrawFn) -> dict[str, Any]:
    """Where the one failure strikes: a store call, or an SQL statement of SQLite."""
    if draw(st.booleans()):
        return {
            "mode": "call",
            "backend": draw(st.sampled_from(["memory", "sqlite"])),
            "fail_at": draw(st.integers(1, 60)),
        }
    target = draw(st.sampled_from(STATEMENTS))
    return {
        "mode": "statement",
        "backend": "sqlite",
        "target": target,
        "fail_at": draw(st.integers(1, 80 if target in ("", "SELECT") else 4)),
        "after": draw(st.booleans()),
    }


def _make(
    fault: dict[str, Any],
) -> tuple[TicketStore, Callable[[], str | None], Callable[[bool], None]]:
    """Build the failing store; return it, "what fired", and a switch for the fault."""
    inner: TicketStore = MemoryStore() if fault["backend"] == "memory" else SQLiteStore(":memory:")
    if fault["mode"] == "call":
        failing = FailingStore(inner, fault["fail_at"])
        return failing, lambda: failing.fired, lambda _on: None
    assert isinstance(inner, SQLiteStore)
    proxy = FailingConnection(inner._conn, fault["target"], fault["fail_at"], fault["after"])
    inner._conn = proxy  # type: ignore[assignment]

    def switch(on: bool) -> None:
        proxy.armed = on

    return inner, lambda: proxy.fired, switch


def _settings() -> settings:
    profile = settings()
    return settings(profile, deadline=None)


@_settings()
@given(workflow=presets(), fault=faults(), data=st.data())
def test_a_command_is_applied_whole_or_not_at_all(
    workflow: Workflow, fault: dict[str, Any], data: st.DataObject
) -> None:
    """Whatever store call or SQL statement fails, a command leaves all or nothing.

    The failing command raises a `StoreError` and leaves the store exactly as the
    twin that never ran it; every other command leaves it as the twin that ran it.
    """
    clock = FakeClock(START)
    store, fired, arm = _make(fault)
    twin = MemoryStore()
    ids, twin_ids = Ids(), Ids()
    desk = desk_on(store, workflow, clock, ids)
    twin_desk = desk_on(twin, workflow, clock, twin_ids)
    for _ in range(data.draw(st.integers(1, 12), label="steps")):
        known = [t.id for t in twin.find(TicketQuery())]
        kind = data.draw(st.sampled_from(STEP_KINDS if known else ("open",)), label="step")
        action: Callable[[Helpdesk], object]
        if kind == "open":
            kwargs = data.draw(open_ticket_kwargs(), label="open")
            action = lambda d, kwargs=kwargs: d.open_ticket(**kwargs)  # noqa: E731
        elif kind == "command":
            ticket_id = data.draw(st.sampled_from(known), label="ticket")
            others = [i for i in known if i != ticket_id]
            step = data.draw(commands(workflow, merge_into=others), label="command")
            action = lambda d, t=ticket_id, s=step: apply_command(d, t, s)  # noqa: E731
        elif kind in ("merge", "purge"):
            ticket_id = data.draw(st.sampled_from(known), label="ticket")
            others = [i for i in known if i != ticket_id]
            if kind == "merge" and not others:
                continue
            step = (
                Command("purge", {"by": "dpo"})
                if kind == "purge"
                else Command("merge", {"into_id": data.draw(st.sampled_from(others)), "by": "bob"})
            )
            action = lambda d, t=ticket_id, s=step: apply_command(d, t, s)  # noqa: E731
        elif kind == "advance":
            clock.advance(data.draw(DELAYS, label="delay"))
            continue
        else:
            action = lambda d: d.run_due()  # noqa: E731
        before_fired = fired()
        saved = ids.n
        arm(True)
        got = outcome(functools.partial(action, desk))
        arm(False)
        if got[0] == "store error":
            assert before_fired is None, f"a second failure, not injected: {got[1]!r}"
            assert fired() is not None, f"a failure that was not injected: {got[1]!r}"
            event(f"failed: {fault['mode']} {fired()} in {kind}")
            ids.n = saved  # the failed command's ticket id was never used
            if kind == "run_due":
                before = state(twin)
                assert outcome(twin_desk.run_due)[0] == "returned"
                after, now = state(twin), state(store)
                for ticket in now["tickets"]:
                    mine = of_ticket(now, ticket.id)
                    assert mine in (of_ticket(before, ticket.id), of_ticket(after, ticket.id))
                return  # the twin cannot follow a half-done run_due further
            assert state(twin) == state(store)
        else:
            assert got == outcome(functools.partial(action, twin_desk))
            assert state(twin) == state(store)


# --- the cases named in the brief, pinned down ---------------------------------------------


def _sqlite_desk(target: str, fail_at: int, after: bool) -> tuple[Helpdesk, FailingConnection]:
    store = SQLiteStore(":memory:")
    proxy = FailingConnection(store._conn, target, fail_at, after)
    proxy.armed = False
    store._conn = proxy  # type: ignore[assignment]
    desk = Helpdesk(store=store, clock=FakeClock(START), id_factory=Ids(), outbox=ALL_KINDS)
    return desk, proxy


COMMANDS: dict[str, Callable[[Helpdesk, str, str], Ticket]] = {
    "reply": lambda desk, ticket, _other: desk.agent_reply(ticket, "hello", by="bob"),
    "purge": lambda desk, ticket, _other: desk.purge(ticket, by="dpo").ticket,
    "merge": lambda desk, ticket, other: desk.merge(ticket, other, by="bob"),
}


@pytest.mark.parametrize(
    ("command", "target", "fail_at", "after"),
    [
        ("reply", "INSERT INTO OUTBOX", 1, False),
        ("reply", "INSERT INTO EVENTS", 1, True),
        ("reply", "UPDATE TICKETS", 1, True),
        ("purge", "DELETE FROM EVENTS", 1, True),
        ("purge", "INSERT INTO EVENTS", 1, True),
        ("merge", "UPDATE TICKETS", 2, False),
        ("merge", "INSERT INTO OUTBOX", 2, True),
        ("reply", "COMMIT", 1, False),
    ],
    ids=[
        "reply-before-outbox-insert",
        "reply-after-events-insert",
        "reply-after-ticket-update",
        "purge-after-events-delete",
        "purge-after-events-insert",
        "merge-before-second-ticket-update",
        "merge-after-second-outbox-insert",
        "reply-commit",
    ],
)
def test_a_sqlite_commit_failing_halfway_writes_nothing_and_the_store_goes_on(
    command: str, target: str, fail_at: int, after: bool
) -> None:
    """A command whose transaction fails midway is refused with `StoreError`; nothing stays.

    The tickets, their events, due times and outbox are as before (a purge's deleted
    events are back, a merge's first ticket is untouched), and the same command then
    succeeds.
    """
    desk, proxy = _sqlite_desk(target, fail_at, after)
    ticket = desk.open_ticket(subject="x", requester=ANN, description="private")
    other = desk.open_ticket(subject="y", requester=ANN)
    desk.customer_reply(ticket.id, "more private text")
    before = state(desk.store)
    proxy.armed = True
    with pytest.raises(StoreError) as failed:
        COMMANDS[command](desk, ticket.id, other.id)
    proxy.armed = False
    assert isinstance(failed.value.__cause__, sqlite3.OperationalError)
    assert proxy.fired is not None
    assert proxy.fired.startswith(target)
    assert before == state(desk.store)
    done = COMMANDS[command](desk, ticket.id, other.id)
    assert done == desk.get(done.id)
