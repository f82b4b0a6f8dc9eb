"""Store benchmark: commands persisted through ``Helpdesk`` beside raw writes of the same rows.

Prints a table and writes ``benchmarks/results/bench_store.json``. Every figure is
measured in the same run as its baseline, and the ratios are what to compare
across machines (the machine, the SQLite and PostgreSQL versions, the server's
``fsync`` / ``synchronous_commit`` settings and the directory the SQLite files
live in are printed with them).

* **Persisted commands**: a realistic mix of nine commands per ticket (open,
  agent reply, customer reply, assign, tag, postpone, customer reply, agent
  reply, resolve; LiveAgent preset with its default rules), step by step across
  many tickets, through ``Helpdesk`` on ``SQLiteStore`` (a file in a temporary
  directory, WAL, ``synchronous=FULL`` as shipped, then ``NORMAL``). Beside it, a
  raw ``sqlite3`` loop writing the same rows with the same statements, one
  ``BEGIN IMMEDIATE`` transaction per command, with the same settings, on a file
  whose schema the store created. The rows come from the same command sequence
  run once, untimed, on a recording ``MemoryStore`` (deterministic clock and ids),
  their event bodies serialised beforehand; after every measurement the two
  databases are compared table by table and must be identical, byte for byte.
  The raw loop does no reads and builds no tickets: on SQLite it is the floor the
  store's writes cannot beat. Target: commands/s at least half the raw rate. The
  same pair runs on PostgreSQL (``PostgresStore`` beside raw ``psycopg``, one
  connection, one transaction per command with one plain statement per table,
  about 4.5 round trips a command; the store folds a commit into one statement,
  2 round trips with its read, so there the raw loop is a plain baseline, not a
  floor) when
  ``TICKETFLOW_POSTGRES_URL`` names a database; every measurement gets a fresh
  schema in it.
* **run_due at scale** on SQLite (a file, ``synchronous=FULL``): stores of 10k,
  100k and 1M postponed tickets, each due when its postponement ends (the
  preset's ``wake_postponed`` rule). The stores are built fast by inserting rows
  directly (``executemany``, transactions of 20,000 tickets, ``synchronous=OFF``
  during the build only, into a file whose schema the store created): three
  template tickets are made through ``Helpdesk`` on a ``MemoryStore`` with a
  placeholder id and postponement time, their events serialised as the stores
  serialise them, and every stored ticket is a template with its own id and
  time written in. Before measuring, one ticket of each template is made through
  ``Helpdesk`` on a real store and its rows compared with the built ones: they
  must be identical. Then ``run_due`` with nothing due (time per call: a peek at
  the due index, which must stay flat from 10k to 1M tickets) and with a tenth
  of the store, at most 10,000, due (so 10,000 of 1M): three rounds, each waking
  a different set with one call, checked after every round.
* **The work queue**: ``store.queue(assignee=None, department=None, limit=50)``
  and the same for one agent (``assignee=``), on ``MemoryStore``, ``SQLiteStore``
  (a file) and ``PostgresStore`` (when configured) holding 10k and 100k tickets
  (``--quick``: 1k and 10k) of which a fifth are queued (synthetic keys from a
  seeded generator; assignees over 50 agents, departments over 10). The tickets
  are copies of one template made through ``Helpdesk``, loaded by commits
  (memory) or rows inserted directly (SQLite ``executemany``, PostgreSQL
  ``COPY``); sample tickets read back must equal the ``MemoryStore``'s. Beside
  each figure, the naive baseline in the same run: every ticket through
  ``find(TicketQuery())``, filtered and sorted by its key in Python. Both answers
  are checked against the expected first 50 ids before timing. Time per call is
  the median of batches of 20 calls (the baseline: of single calls).
* **PostgreSQL sweep** with 1, 2 and 4 worker processes, each running
  ``Helpdesk(store=open_store(url)).run_due(now)`` at once on one database holding
  10,000 due tickets among 50,000 (``--quick``: 1,000 among 5,000; the same
  templates, loaded with ``COPY``; a fresh schema per worker count): tickets/s
  for each count, and a check that every due ticket was woken exactly once and
  that the workers' counts add up to the due tickets. ``run_due`` claims 500
  tickets at a time, so ``--quick``'s 1,000 keep at most two workers busy.

Usage: ``python benchmarks/bench_store.py [--quick] [--dir DIR]`` (``--quick``:
fewer commands, only the 10k store and a smaller sweep, for CI smoke runs;
``--dir``: where the SQLite files go, default the system's temporary directory).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import multiprocessing
import os
import queue
import random
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

from _common import machine_info, peak_rss_mib, write_results

from ticketflow import (
    Event,
    FakeClock,
    Helpdesk,
    MemoryStore,
    Priority,
    Requester,
    SQLiteStore,
    Ticket,
    TicketStore,
    open_store,
    workflows,
)
from ticketflow.stores import Change, QueueKey, TicketQuery, requester_key
from ticketflow.stores._summary import encode_summary, summarize
from ticketflow.testing import postgres_schema

POSTGRES_ENV = "TICKETFLOW_POSTGRES_URL"
START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
TAG_KINDS = frozenset({"created", "tags_added", "tags_removed"})


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _dump(event: Event) -> str:
    """An event's JSON as both stores write it (compact, UTF-8 kept)."""
    return json.dumps(event.to_dict(), separators=(",", ":"), ensure_ascii=False)


def _micros(at: datetime) -> int:
    """A time as SQLite's columns hold it: microseconds since the epoch."""
    return (at - EPOCH) // timedelta(microseconds=1)


# queue_due of a queued ticket without an SLA due time in SQLite (after every real time).
_SQLITE_NO_SLA = 2**63 - 1


def _sqlite_queue(key: QueueKey | None) -> tuple[int | None, int | None, int | None]:
    """A queue key as SQLite's columns hold it: (queue_due, queue_since, queue_rank)."""
    if key is None:
        return (None, None, None)
    due = _SQLITE_NO_SLA if key.sla_due is None else _micros(key.sla_due)
    return (due, _micros(key.waiting_since), -key.priority)


def _pg_queue(key: QueueKey | None) -> tuple[datetime | None, datetime | None, int | None]:
    """A queue key as PostgreSQL's columns hold it: (queue_due, queue_since, queue_rank)."""
    if key is None:
        return (None, None, None)
    return (key.sla_due, key.waiting_since, -key.priority)


def _unlink_sqlite(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def _ulid(at: datetime, n: int) -> str:
    """A 26-character ULID-shaped id: the creation millisecond in base32, then ``n`` in hex."""
    ms = int(at.timestamp() * 1000)
    prefix = "".join(_CROCKFORD[(ms >> (5 * k)) & 31] for k in range(9, -1, -1))
    return f"{prefix}{n:016X}"


class _Ids:
    """Deterministic ids (time prefix + counter): two runs of the mix make the same ids."""

    __slots__ = ("_n",)

    def __init__(self) -> None:
        self._n = 0

    def __call__(self, at: datetime) -> str:
        self._n += 1
        return _ulid(at, self._n)


# --- persisted commands ------------------------------------------------------------------


class _Recorder:
    """A ``MemoryStore`` that keeps every committed change (for the raw baselines)."""

    def __init__(self) -> None:
        self.inner = MemoryStore()
        self.changes: list[Change] = []

    def get(self, ticket_id: str) -> Ticket:
        return self.inner.get(ticket_id)

    def commit(self, changes: Sequence[Change]) -> None:
        self.inner.commit(changes)
        assert len(changes) == 1
        self.changes.extend(changes)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def _helpdesk(store: Any) -> tuple[Helpdesk, FakeClock]:
    clock = FakeClock(START)
    desk = Helpdesk(workflow=workflows.liveagent(), store=store, clock=clock, id_factory=_Ids())
    return desk, clock


def command_mix(desk: Helpdesk, clock: FakeClock, tickets: int) -> int:
    """Run nine commands on each of ``tickets`` tickets, step by step across them.

    Returns:
        The number of commands (each one commit).
    """
    ann = Requester(name="Ann Example", email="ann@example.org")
    ids: list[str] = []
    for i in range(tickets):
        ticket = desk.open_ticket(
            subject=f"Cannot log in to the VPN #{i}",
            description="Since this morning the VPN client says my password is wrong.",
            requester=ann,
        )
        ids.append(ticket.id)
        clock.advance(SECOND)
    steps: list[Callable[[str], object]] = [
        lambda t: desk.agent_reply(t, "Have you tried resetting your password?", by="bob"),
        lambda t: desk.customer_reply(t, "Yes, twice; it still fails."),
        lambda t: desk.assign(t, "carol", department="network", by="bob"),
        lambda t: desk.add_tags(t, "vpn", "login", by="carol"),
        lambda t: desk.postpone(t, clock.now() + timedelta(days=1), by="carol"),
        lambda t: desk.customer_reply(t, "It works again now, thank you!"),
        lambda t: desk.agent_reply(t, "Glad to hear it; closing this one.", by="carol"),
        lambda t: desk.resolve(t, by="carol"),
    ]
    for step in steps:
        for ticket_id in ids:
            step(ticket_id)
            clock.advance(SECOND)
    return tickets * (1 + len(steps))


class Write(NamedTuple):
    """One command's writes, pre-serialised: what the store passes to its statements."""

    insert: bool
    ticket_id: str
    expected: int
    row: tuple[Any, ...]  # version, status, priority, assignee, department
    due_at: datetime | None
    positions: list[int]
    bodies: list[str]
    tags: list[str] | None  # the ticket's tags, sorted, when the command changed them
    outbox: list[tuple[int, str]]
    queue: QueueKey | None
    requester: str | None  # the requester index key (written by inserts)
    summary: tuple[datetime, datetime, str, str]  # created, updated, channel, summary text


def recorded_writes(tickets: int) -> list[Write]:
    """The writes of the command mix, recorded once on a ``MemoryStore`` and serialised."""
    recorder = _Recorder()
    desk, clock = _helpdesk(recorder)
    commands = command_mix(desk, clock, tickets)
    assert len(recorder.changes) == commands
    writes: list[Write] = []
    for ticket, expected, rewrite, due_at, outbox, queue_key in recorder.changes:
        assert not rewrite
        timeline = ticket.timeline
        start = len(timeline)
        while start and timeline[start - 1].version == ticket.version:
            start -= 1
        new = range(start, len(timeline))
        tagged = any(timeline[i].kind.value in TAG_KINDS for i in new)
        writes.append(
            Write(
                insert=expected == 0,
                ticket_id=ticket.id,
                expected=expected,
                row=(
                    ticket.version,
                    ticket.status,
                    int(ticket.priority),
                    ticket.assignee,
                    ticket.department,
                ),
                due_at=due_at,
                positions=list(new),
                bodies=[_dump(timeline[i]) for i in new],
                tags=sorted(ticket.tags) if tagged else None,
                outbox=[(i, timeline[i].kind.value) for i in outbox],
                queue=queue_key,
                requester=requester_key(ticket),
                summary=_summary_values(ticket, queue_key),
            )
        )
    return writes


def _summary_values(ticket: Ticket, key: QueueKey | None) -> tuple[datetime, datetime, str, str]:
    row = summarize(ticket, key)
    return (row.created_at, row.updated_at, row.channel, encode_summary(row))


_SQLITE_COLUMNS = (
    "status",
    "priority",
    "assignee",
    "department",
    "due_at",
    "queue_due",
    "queue_since",
    "queue_rank",
)


def _sqlite_params(writes: Sequence[Write]) -> list[tuple[Any, ...]]:
    """The statements and parameters for SQLite, computed before the timed loop.

    As the store does: an insert writes every column; an update sets the
    version, ``updated_at`` and the summary, and of the other columns only those
    whose values changed (the diff is computed here, from the previous write of
    the ticket, where the store reads the row).
    """
    params = []
    last: dict[str, tuple[Any, ...]] = {}
    for w in writes:
        due = None if w.due_at is None else _micros(w.due_at)
        values = (*w.row[1:], due, *_sqlite_queue(w.queue))
        created, updated, channel, summary = w.summary
        if w.insert:
            sql = (
                "INSERT INTO tickets (version, status, priority, assignee, department, "
                "due_at, queue_due, queue_since, queue_rank, requester_email, "
                "created_at, updated_at, channel, summary, id) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            )
            row: tuple[Any, ...] = (
                w.row[0],
                *values,
                w.requester,
                _micros(created),
                _micros(updated),
                channel,
                summary,
                w.ticket_id,
            )
        else:
            before = last[w.ticket_id]
            sets = ["version = ?", "updated_at = ?", "summary = ?"]
            args: list[Any] = [w.row[0], _micros(updated), summary]
            for name, value, old in zip(_SQLITE_COLUMNS, values, before, strict=True):
                if value != old:
                    sets.append(f"{name} = ?")
                    args.append(value)
            sql = f"UPDATE tickets SET {', '.join(sets)} WHERE id = ? AND version = ?"  # noqa: S608 - fixed column names
            row = (*args, w.ticket_id, w.expected)
        last[w.ticket_id] = values
        params.append(
            (
                sql,
                w.insert,
                row,
                [(w.ticket_id, p, b) for p, b in zip(w.positions, w.bodies, strict=True)],
                None if w.tags is None else [(tag, w.ticket_id) for tag in w.tags],
                [(w.ticket_id, p, kind) for p, kind in w.outbox],
            )
        )
    return params


def raw_sqlite_loop(conn: sqlite3.Connection, params: Sequence[tuple[Any, ...]]) -> None:
    """Write each command's rows in its own transaction, with SQLiteStore's statements."""
    execute, executemany = conn.execute, conn.executemany
    for sql, insert, row, events, tags, outbox in params:
        execute("BEGIN IMMEDIATE")
        if execute(sql, row).rowcount != 1:
            execute("ROLLBACK")
            raise AssertionError(f"version check failed: {row}")
        executemany("INSERT INTO events (ticket_id, position, body) VALUES (?, ?, ?)", events)
        if tags is not None:
            execute("DELETE FROM tags WHERE ticket_id = ?", (row[-1] if insert else row[-2],))
            executemany("INSERT INTO tags (tag, ticket_id) VALUES (?, ?)", tags)
        if outbox:
            executemany("INSERT INTO outbox (ticket_id, position, kind) VALUES (?, ?, ?)", outbox)
        execute("COMMIT")


_SQLITE_TABLES = {
    "tickets": "SELECT * FROM tickets ORDER BY id",
    "ticket_counts": "SELECT * FROM ticket_counts ORDER BY status, priority, assignee, department",
    "events": "SELECT * FROM events ORDER BY ticket_id, position",
    "tags": "SELECT * FROM tags ORDER BY tag, ticket_id",
    "outbox": "SELECT ticket_id, position, kind, claimed_until, attempts FROM outbox ORDER BY seq",
}


def _sqlite_rows(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    conn = sqlite3.connect(path)
    try:
        return {name: conn.execute(sql).fetchall() for name, sql in _SQLITE_TABLES.items()}
    finally:
        conn.close()


def _comparison(
    commands: int, helpdesk_s: list[float], raw_s: list[float], **extra: Any
) -> dict[str, Any]:
    helpdesk_rate = commands / statistics.median(helpdesk_s)
    raw_rate = commands / statistics.median(raw_s)
    return {
        **extra,
        "commands": commands,
        "repeats": len(helpdesk_s),
        "helpdesk_commands_per_s": round(helpdesk_rate),
        "raw_commands_per_s": round(raw_rate),
        "ratio_helpdesk_to_raw": round(helpdesk_rate / raw_rate, 3),
        "target_ratio": 0.5,
        "helpdesk_s_per_repeat": [round(x, 4) for x in helpdesk_s],
        "raw_s_per_repeat": [round(x, 4) for x in raw_s],
    }


def bench_sqlite_commands(
    writes: list[Write], tickets: int, synchronous: str, repeats: int, root: Path
) -> dict[str, Any]:
    """Commands/s through Helpdesk + SQLiteStore beside the raw loop (interleaved repeats)."""
    params = _sqlite_params(writes)
    helpdesk_s: list[float] = []
    raw_s: list[float] = []
    for r in range(repeats):
        store_path = root / f"helpdesk-{synchronous}-{r}.db"
        raw_path = root / f"raw-{synchronous}-{r}.db"
        store = SQLiteStore(store_path, synchronous=synchronous)
        desk, clock = _helpdesk(store)
        gc.collect()
        start = time.perf_counter()
        done = command_mix(desk, clock, tickets)
        helpdesk_s.append(time.perf_counter() - start)
        store.close()
        assert done == len(writes)

        SQLiteStore(raw_path).close()  # the schema, exactly as the store makes it
        conn = sqlite3.connect(raw_path, isolation_level=None)
        conn.execute(f"PRAGMA synchronous = {synchronous}")
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        gc.collect()
        start = time.perf_counter()
        raw_sqlite_loop(conn, params)
        raw_s.append(time.perf_counter() - start)
        conn.close()
        # The baseline wrote exactly what the store wrote.
        assert _sqlite_rows(store_path) == _sqlite_rows(raw_path)
        _unlink_sqlite(store_path)
        _unlink_sqlite(raw_path)
    return _comparison(len(writes), helpdesk_s, raw_s, synchronous=synchronous)


# --- PostgreSQL plumbing -----------------------------------------------------------------


def postgres_server(url: str) -> dict[str, str]:
    """The server's version and the settings that decide its commit cost."""
    import psycopg  # noqa: PLC0415

    with psycopg.connect(url, autocommit=True) as conn:
        out = {}
        for name in ("server_version", "fsync", "synchronous_commit", "shared_buffers"):
            row = conn.execute(f"SHOW {name}").fetchone()  # names from the tuple above
            out[name] = "" if row is None else str(row[0])
    return out


_PG_TABLES = {
    "tickets": "SELECT * FROM tickets ORDER BY id",
    "events": "SELECT ticket_id, position, body::text FROM events ORDER BY ticket_id, position",
    "tags": "SELECT * FROM tags ORDER BY tag, ticket_id",
    "outbox": "SELECT ticket_id, position, kind, claimed_until, attempts FROM outbox ORDER BY seq",
}


def _pg_rows(url: str) -> dict[str, list[tuple[Any, ...]]]:
    import psycopg  # noqa: PLC0415

    with psycopg.connect(url) as conn:
        return {name: conn.execute(sql).fetchall() for name, sql in _PG_TABLES.items()}


def raw_postgres_loop(conn: Any, writes: Sequence[Write]) -> None:
    """Write each command's rows in its own transaction, with PostgresStore's statements."""
    cur = conn.cursor()
    execute, commit = cur.execute, conn.commit
    for w in writes:
        values = (*w.row, w.due_at, *_pg_queue(w.queue))
        created, updated, channel, summary = w.summary
        if w.insert:
            execute(
                "INSERT INTO tickets (version, status, priority, assignee, department, "
                "due_at, queue_due, queue_since, queue_rank, requester_email, created_at, "
                "updated_at, channel, summary, id) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
                "ON CONFLICT (id) DO NOTHING",
                (*values, w.requester, created, updated, channel, summary, w.ticket_id),
            )
        else:
            execute(
                "UPDATE tickets SET version = %s, status = %s, priority = %s, assignee = %s, "
                "department = %s, due_at = %s, queue_due = %s, queue_since = %s, "
                "queue_rank = %s, updated_at = %s, summary = %s, claimed_until = NULL "
                "WHERE id = %s AND version = %s",
                (*values, updated, summary, w.ticket_id, w.expected),
            )
        if cur.rowcount != 1:
            conn.rollback()
            raise AssertionError(f"version check failed: {values}")
        execute(
            "INSERT INTO events (ticket_id, position, body) "
            "SELECT %s, p, b::json FROM unnest(%s::integer[], %s::text[]) AS u(p, b)",
            (w.ticket_id, w.positions, w.bodies),
        )
        if w.tags is not None:
            execute("DELETE FROM tags WHERE ticket_id = %s", (w.ticket_id,))
            execute(
                "INSERT INTO tags (tag, ticket_id) SELECT unnest(%s::text[]), %s",
                (w.tags, w.ticket_id),
            )
        if w.outbox:
            execute(
                "INSERT INTO outbox (ticket_id, position, kind) "
                "SELECT %s, p, k FROM unnest(%s::integer[], %s::text[]) "
                "WITH ORDINALITY AS u(p, k, n) ORDER BY n",
                (w.ticket_id, [p for p, _ in w.outbox], [k for _, k in w.outbox]),
            )
        commit()
    cur.close()


def bench_postgres_commands(
    url: str, writes: list[Write], tickets: int, repeats: int
) -> dict[str, Any]:
    """Commands/s through Helpdesk + PostgresStore beside raw psycopg (fresh schemas)."""
    import psycopg  # noqa: PLC0415

    helpdesk_s: list[float] = []
    raw_s: list[float] = []
    for _ in range(repeats):
        with (
            postgres_schema(url, "tf_bench") as store_url,
            postgres_schema(url, "tf_bench") as raw_url,
        ):
            store = open_store(store_url)
            desk, clock = _helpdesk(store)
            gc.collect()
            start = time.perf_counter()
            done = command_mix(desk, clock, tickets)
            helpdesk_s.append(time.perf_counter() - start)
            store.close()
            assert done == len(writes)

            open_store(raw_url).close()  # the schema, exactly as the store makes it
            with psycopg.connect(raw_url) as conn:
                gc.collect()
                start = time.perf_counter()
                raw_postgres_loop(conn, writes)
                raw_s.append(time.perf_counter() - start)
            assert _pg_rows(store_url) == _pg_rows(raw_url)
    return _comparison(len(writes), helpdesk_s, raw_s)


# --- stores of many postponed tickets, built row by row ---------------------------------------

PLACEHOLDER_ID = "ZZZZZZZZZZZZZZZZZZZZZZZZZZ"
PLACEHOLDER_UNTIL = datetime(2099, 12, 31, 23, 59, 59, tzinfo=UTC)
FIRST_DUE = START + timedelta(days=1)
BUILD_CHUNK = 20_000


def _template_commands(desk: Helpdesk, ticket_id: str, kind: int, until: datetime) -> Ticket:
    """The history of template ``kind`` (0, 1 or 2), ending postponed until ``until``."""
    ann = Requester(name="Ann Example", email="ann@example.org")
    clock = desk.clock
    assert isinstance(clock, FakeClock)
    if kind == 0:
        desk.open_ticket(subject="Invoice missing", requester=ann)
        clock.advance(timedelta(minutes=5))
        desk.agent_reply(ticket_id, "I will check with accounting.", by="bob")
    elif kind == 1:
        desk.open_ticket(
            subject="VPN down", requester=ann, priority=Priority.HIGH, tags=("vpn", "outage")
        )
        clock.advance(timedelta(minutes=2))
        desk.customer_reply(ticket_id, "Still down for the whole office.")
        desk.assign(ticket_id, "carol", by="bob")
        clock.advance(timedelta(minutes=3))
        desk.agent_reply(ticket_id, "The provider is on it; I will get back to you.", by="carol")
    else:
        desk.open_ticket(subject="New laptop", requester=ann, department="it")
        clock.advance(timedelta(hours=1))
        desk.agent_reply(ticket_id, "Which model would you like?", by="dave")
        clock.advance(timedelta(hours=2))
        desk.customer_reply(ticket_id, "The 14-inch one, please.")
        desk.agent_reply(ticket_id, "Ordered; it arrives next week.", by="dave")
    clock.advance(timedelta(minutes=1))
    return desk.postpone(ticket_id, until, by="bob")


def _template_desk(store: TicketStore, ticket_id: str) -> Helpdesk:
    return Helpdesk(
        workflow=workflows.liveagent(),
        store=store,
        clock=FakeClock(START),
        id_factory=lambda _at: ticket_id,
    )


class Template(NamedTuple):
    """One template ticket's rows with the placeholders still in."""

    row: tuple[Any, ...]  # version, status, priority, assignee, department
    events: list[tuple[int, str]]  # position, body
    tags: tuple[str, ...]
    queue: QueueKey | None  # the key its last commit carried


def make_templates() -> list[Template]:
    """Three histories through Helpdesk on a MemoryStore, serialised as the stores do."""
    templates = []
    for kind in range(3):
        recorder = _Recorder()
        desk = _template_desk(recorder, PLACEHOLDER_ID)  # type: ignore[arg-type]
        ticket = _template_commands(desk, PLACEHOLDER_ID, kind, PLACEHOLDER_UNTIL)
        assert ticket.status == "postponed"
        due = desk.next_due(ticket.id)
        assert due is not None
        assert due.at == PLACEHOLDER_UNTIL
        templates.append(
            Template(
                row=(
                    ticket.version,
                    ticket.status,
                    int(ticket.priority),
                    ticket.assignee,
                    ticket.department,
                ),
                events=[(i, _dump(e)) for i, e in enumerate(ticket.timeline)],
                tags=tuple(sorted(ticket.tags)),
                queue=recorder.changes[-1].queue,
            )
        )
    return templates


class Rows(NamedTuple):
    """A chunk of rows: tickets (id, row..., due_at, claimed_until, queue...), events, tags."""

    tickets: list[tuple[Any, ...]]
    events: list[tuple[str, int, str]]
    tags: list[tuple[str, str]]


class Replicas:
    """``tickets`` postponed tickets made from the templates, with their own ids and times.

    Ticket ``i`` follows template ``i % 3`` and is due at ``FIRST_DUE + order[i]``
    seconds, ``order`` a fixed random permutation of ``range(tickets)``: at
    ``FIRST_DUE + (k - 1)`` seconds exactly the ``k`` tickets with the smallest
    ``order`` are due, and before ``FIRST_DUE`` none is.
    """

    def __init__(self, tickets: int, templates: list[Template]) -> None:
        self.tickets = tickets
        self.templates = templates
        self.order = list(range(tickets))
        random.Random(tickets).shuffle(self.order)
        self.ids = [_ulid(START, i + 1) for i in range(tickets)]

    def until(self, i: int) -> datetime:
        """When ticket ``i``'s postponement ends (its due time)."""
        return FIRST_DUE + self.order[i] * SECOND

    def first_due(self, k: int) -> set[str]:
        """The ids of the ``k`` tickets due first."""
        by_order = sorted(range(self.tickets), key=self.order.__getitem__)
        return {self.ids[i] for i in by_order[:k]}

    def rows(
        self,
        start: int,
        stop: int,
        due: Callable[[datetime], Any],
        queue_columns: Callable[[QueueKey | None], tuple[Any, ...]],
    ) -> Rows:
        """The rows of tickets ``start`` to ``stop``; ``due`` and ``queue_columns`` convert."""
        out = Rows([], [], [])
        placeholder_until = PLACEHOLDER_UNTIL.isoformat()
        templates = self.templates
        for i in range(start, stop):
            template = templates[i % 3]
            tid = self.ids[i]
            until = self.until(i)
            out.tickets.append(
                (tid, *template.row, due(until), None, *queue_columns(template.queue))
            )
            last = len(template.events) - 1
            for position, body in template.events:
                text = body.replace(PLACEHOLDER_ID, tid)
                if position == last:
                    text = text.replace(placeholder_until, until.isoformat())
                out.events.append((tid, position, text))
            out.tags.extend((tag, tid) for tag in template.tags)
        return out

    def reference(self, store: TicketStore, i: int) -> str:
        """Make ticket ``i`` through Helpdesk on ``store``, as the built rows claim it was."""
        tid = self.ids[i]
        _template_commands(_template_desk(store, tid), tid, i % 3, self.until(i))
        return tid


_TICKETS_INSERT = (
    "INSERT INTO tickets (id, version, status, priority, assignee, department, due_at, "
    "claimed_until, queue_due, queue_since, queue_rank) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def build_sqlite(path: Path, replicas: Replicas) -> None:
    """Insert the replicas' rows into a new SQLite file (schema made by SQLiteStore)."""
    SQLiteStore(path).close()
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA synchronous = OFF")  # the build only; measured with FULL
        n = replicas.tickets
        step = max(n // 10, BUILD_CHUNK)
        for start in range(0, n, BUILD_CHUNK):
            stop = min(start + BUILD_CHUNK, n)
            rows = replicas.rows(start, stop, _micros, _sqlite_queue)
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(_TICKETS_INSERT, rows.tickets)
            conn.executemany(
                "INSERT INTO events (ticket_id, position, body) VALUES (?, ?, ?)", rows.events
            )
            conn.executemany("INSERT INTO tags (tag, ticket_id) VALUES (?, ?)", rows.tags)
            conn.execute("COMMIT")
            if stop % step == 0 and n >= 100_000:
                _progress(f"  {n:>9,} tickets: inserted {stop:,}")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()


def check_sqlite_build(path: Path, replicas: Replicas, root: Path) -> None:
    """One ticket per template, made through Helpdesk on SQLiteStore, has the built rows."""
    built = sqlite3.connect(path)
    try:
        for i in range(3):
            reference_path = root / f"reference-{i}.db"
            store = SQLiteStore(reference_path)
            tid = replicas.reference(store, i)
            store.close()
            reference = sqlite3.connect(reference_path)
            for sql in (
                # The columns the bulk build writes: it leaves the requester index
                # and the read side's summary columns (schema 3 and 4) empty, which
                # the sweeps and queue timed here never read.
                (
                    "SELECT id, version, status, priority, assignee, department, due_at, "
                    "claimed_until, queue_due, queue_since, queue_rank FROM tickets WHERE id = ?"
                ),
                "SELECT * FROM events WHERE ticket_id = ? ORDER BY position",
                "SELECT * FROM tags WHERE ticket_id = ? ORDER BY tag",
            ):
                expected = reference.execute(sql, (tid,)).fetchall()
                assert expected or "tags" in sql, sql
                assert expected == built.execute(sql, (tid,)).fetchall(), (sql, tid)
            reference.close()
            _unlink_sqlite(reference_path)
    finally:
        built.close()


def build_postgres(url: str, replicas: Replicas) -> None:
    """Load the replicas' rows with COPY into the schema ``url`` names (made by PostgresStore)."""
    import psycopg  # noqa: PLC0415

    open_store(url).close()
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        for start in range(0, replicas.tickets, BUILD_CHUNK):
            stop = min(start + BUILD_CHUNK, replicas.tickets)
            rows = replicas.rows(start, stop, lambda at: at, _pg_queue)
            for sql, chunk in (
                (
                    (
                        "COPY tickets (id, version, status, priority, assignee, department, "
                        "due_at, claimed_until, queue_due, queue_since, queue_rank) FROM STDIN"
                    ),
                    rows.tickets,
                ),
                ("COPY events (ticket_id, position, body) FROM STDIN", rows.events),
                ("COPY tags (tag, ticket_id) FROM STDIN", rows.tags),
            ):
                with cur.copy(sql) as copy:
                    for row in chunk:
                        copy.write_row(row)
        conn.commit()
        conn.autocommit = True
        cur.execute("ANALYZE")  # what a live database's autovacuum would have done


def check_postgres_build(url: str, replicas: Replicas) -> None:
    """One ticket per template, made through Helpdesk on PostgresStore, has the built rows."""
    import psycopg  # noqa: PLC0415

    with postgres_schema(url.partition("?")[0], "tf_bench") as reference_url:
        store = open_store(reference_url)
        ids = [replicas.reference(store, i) for i in range(3)]
        store.close()
        with psycopg.connect(reference_url) as reference, psycopg.connect(url) as built:
            for tid in ids:
                for sql in (
                    # The columns the bulk build writes (see check_sqlite_build).
                    (
                        "SELECT id, version, status, priority, assignee, department, "
                        "due_at, claimed_until, queue_due, queue_since, queue_rank "
                        "FROM tickets WHERE id = %s"
                    ),
                    (
                        "SELECT ticket_id, position, body::text FROM events "
                        "WHERE ticket_id = %s ORDER BY position"
                    ),
                    "SELECT * FROM tags WHERE ticket_id = %s ORDER BY tag",
                ):
                    expected = reference.execute(sql, (tid,)).fetchall()
                    assert expected or "tags" in sql, sql
                    assert expected == built.execute(sql, (tid,)).fetchall(), (sql, tid)


# --- run_due at scale (SQLite) ---------------------------------------------------------------


def bench_none_due(desk: Helpdesk, repeats: int, calls: int) -> dict[str, float]:
    """Time per ``run_due`` call with nothing due: batches of ``calls`` calls, 20 per repeat.

    The median batch and the best batch are reported, per call (the best one is
    what a noisy neighbour on a shared machine cannot move).
    """
    now = FIRST_DUE - SECOND
    run_due = desk.run_due
    per_call: list[float] = []
    for _ in range(repeats):
        gc.collect()
        for _ in range(20):
            start = time.perf_counter()
            for _ in range(calls):
                run_due(now)
            per_call.append((time.perf_counter() - start) / calls)
    assert run_due(now) == 0
    return {
        "calls": repeats * 20 * calls,
        "us_per_call": round(statistics.median(per_call) * 1e6, 2),
        "us_per_call_best_batch": round(min(per_call) * 1e6, 2),
    }


def _sqlite_ids(path: Path, sql: str) -> set[str]:
    conn = sqlite3.connect(path)
    try:
        return {r[0] for r in conn.execute(sql)}
    finally:
        conn.close()


def bench_due(
    path: Path, replicas: Replicas, desk: Helpdesk, due: int, rounds: int
) -> dict[str, Any]:
    """Wake ``due`` tickets per round with one ``run_due`` call; check each round."""
    seconds: list[float] = []
    for r in range(rounds):
        now = FIRST_DUE + ((r + 1) * due - 1) * SECOND
        gc.collect()
        start = time.perf_counter()
        fired = desk.run_due(now)
        seconds.append(time.perf_counter() - start)
        assert fired == due, (fired, due)
        expected = replicas.first_due((r + 1) * due)
        assert expected == _sqlite_ids(path, "SELECT id FROM tickets WHERE status != 'postponed'")
        assert desk.run_due(now) == 0
    postponed = _sqlite_ids(path, "SELECT id FROM tickets WHERE status = 'postponed'")
    assert len(postponed) == replicas.tickets - rounds * due
    median = statistics.median(seconds)
    return {
        "due_tickets": due,
        "rounds": rounds,
        "s": round(median, 3),
        "tickets_per_s": round(due / median),
        "s_per_round": [round(x, 3) for x in seconds],
    }


def bench_run_due_sqlite(
    counts: list[int], templates: list[Template], root: Path, rounds: int
) -> list[dict[str, Any]]:
    """Build each store, check it against Helpdesk, then time run_due none due and due."""
    results = []
    for tickets in counts:
        _progress(f"building a SQLite store of {tickets:,} tickets")
        path = root / f"scale-{tickets}.db"
        replicas = Replicas(tickets, templates)
        began = time.perf_counter()
        build_sqlite(path, replicas)
        build_s = time.perf_counter() - began
        file_mib = path.stat().st_size / 2**20
        _progress(f"  built in {build_s:.1f} s ({file_mib:,.0f} MiB); measuring")
        check_sqlite_build(path, replicas, root)
        store = SQLiteStore(path)
        desk = Helpdesk(workflow=workflows.liveagent(), store=store, clock=FakeClock(START))
        assert store.count() == tickets
        desk.run_due(FIRST_DUE - SECOND)  # first call: the connection's caches, not reported
        none_due = bench_none_due(desk, repeats=3, calls=50)
        due = bench_due(path, replicas, desk, min(10_000, tickets // 10), rounds)
        store.close()
        results.append(
            {
                "tickets": tickets,
                "build_s": round(build_s, 1),
                "file_mib": round(file_mib),
                "none_due": none_due,
                "due": due,
            }
        )
        del replicas
        _unlink_sqlite(path)
        gc.collect()
    return results


# --- PostgreSQL sweep with worker processes ---------------------------------------------------


def _sweep_worker(url: str, now: datetime, barrier: Any, results: Any) -> None:
    """One worker process: open the store, wait for the others, sweep, report."""
    try:
        desk = Helpdesk(store=open_store(url))
        desk.run_due(FIRST_DUE - SECOND)  # connect and warm up; nothing is due yet
        barrier.wait()
        start = time.perf_counter()
        fired = desk.run_due(now)
        results.put((fired, time.perf_counter() - start, ""))
        desk.store.close()
    except Exception as exc:  # noqa: BLE001 - reported to the parent, which fails
        results.put((0, 0.0, repr(exc)))
        barrier.abort()


def bench_postgres_sweep(
    url: str, templates: list[Template], tickets: int, due: int, workers: Sequence[int]
) -> list[dict[str, Any]]:
    """Tickets/s of ``n`` processes sweeping one database together, for each ``n``."""
    import psycopg  # noqa: PLC0415

    ctx = multiprocessing.get_context("spawn")  # no forked connections or locks
    replicas = Replicas(tickets, templates)
    expected = replicas.first_due(due)
    now = FIRST_DUE + (due - 1) * SECOND
    out = []
    for n in workers:
        with postgres_schema(url, "tf_bench") as schema_url:
            began = time.perf_counter()
            build_postgres(schema_url, replicas)
            build_s = time.perf_counter() - began
            if n == workers[0]:
                check_postgres_build(schema_url, replicas)
            barrier = ctx.Barrier(n + 1)
            results = ctx.Queue()
            processes = [
                ctx.Process(target=_sweep_worker, args=(schema_url, now, barrier, results))
                for _ in range(n)
            ]
            for process in processes:
                process.start()
            try:
                barrier.wait(timeout=120)
            except threading.BrokenBarrierError:
                # A worker failed before the start (it reported why) or never came.
                reports = []
                with contextlib.suppress(queue.Empty):
                    reports.extend(results.get(timeout=5) for _ in processes)
                raise AssertionError(f"a sweep worker did not start: {reports}") from None
            start = time.perf_counter()
            reports = [results.get(timeout=600) for _ in processes]
            elapsed = time.perf_counter() - start
            for process in processes:
                process.join(timeout=60)
                assert process.exitcode == 0, process.exitcode
            errors = [error for _, _, error in reports if error]
            assert not errors, errors
            fired = [f for f, _, _ in reports]
            assert sum(fired) == due, (fired, due)
            # Exactly once: every due ticket has one wake event, no other ticket has one.
            with psycopg.connect(schema_url) as conn:
                woken = dict(
                    conn.execute(
                        "SELECT ticket_id, count(*) FROM events "
                        "WHERE body->'actor'->>'id' = 'wake_postponed' GROUP BY ticket_id"
                    ).fetchall()
                )
                still_due = conn.execute(
                    "SELECT count(*) FROM tickets WHERE due_at <= %s", (now,)
                ).fetchone()
            assert set(woken) == expected
            assert set(woken.values()) == {1}
            assert still_due == (0,)
        out.append(
            {
                "workers": n,
                "tickets": tickets,
                "due_tickets": due,
                "build_s": round(build_s, 1),
                "s": round(elapsed, 3),
                "tickets_per_s": round(due / elapsed),
                "fired_per_worker": sorted(fired, reverse=True),
                "worker_s": sorted(round(s, 3) for _, s, _ in reports),
            }
        )
        _progress(f"  {n} worker(s): {due / elapsed:,.0f} tickets/s")
    first = out[0]["tickets_per_s"]
    for row in out:
        row["speedup_vs_1"] = round(row["tickets_per_s"] / first, 2)
    return out


# --- the work queue ------------------------------------------------------------------------------

QUEUE_LIMIT = 50
QUEUE_AGENTS = 50
QUEUE_DEPARTMENTS = 10
QUEUE_SHARE = 0.2
PLACEHOLDER_AGENT = "zz-placeholder-agent"
PLACEHOLDER_DEPARTMENT = "zz-placeholder-department"


class QueueStock:
    """``tickets`` tickets of one template, each with its own id, assignee and department.

    The template (a new ticket opened with placeholder assignee and department) is
    made through ``Helpdesk`` on a ``MemoryStore``;
    its event bodies are serialised as the stores do and every ticket is a copy
    with its id, assignee and department written in. About a fifth of them get a
    queue key (synthetic, from a seeded generator: an SLA due time within a week,
    none for three in ten, a wait of up to a week, a priority 1 to 4); the rest are
    not queued. Assignees are spread over 50 agents, departments over 10.
    """

    def __init__(self, tickets: int) -> None:
        rng = random.Random(tickets)
        self.tickets = tickets
        self.ids = [_ulid(START, i + 1) for i in range(tickets)]
        self.assignees = [f"agent-{rng.randrange(QUEUE_AGENTS):02d}" for _ in range(tickets)]
        self.departments = [f"dept-{rng.randrange(QUEUE_DEPARTMENTS)}" for _ in range(tickets)]
        self.keys: list[QueueKey | None] = []
        for _ in range(tickets):
            if rng.random() >= QUEUE_SHARE:
                self.keys.append(None)
                continue
            minutes = timedelta(minutes=1)
            sla = None if rng.random() < 0.3 else START + rng.randrange(10_080) * minutes
            since = START - rng.randrange(10_080) * minutes
            self.keys.append(QueueKey(sla, since, rng.randint(1, 4)))
        desk = _template_desk(MemoryStore(), PLACEHOLDER_ID)
        ann = Requester(name="Ann Example", email="ann@example.org")
        # One version: each copy is committed to a MemoryStore as a new ticket.
        template = desk.open_ticket(
            subject="Printer jammed on floor 2",
            description="It eats every second sheet.",
            requester=ann,
            assignee=PLACEHOLDER_AGENT,
            department=PLACEHOLDER_DEPARTMENT,
            tags=(),
        )
        self.row = (template.version, template.status, int(template.priority))
        self.bodies = [_dump(e) for e in template.timeline]

    def events(self, i: int) -> list[str]:
        """Ticket ``i``'s event bodies."""
        tid, agent, dept = self.ids[i], self.assignees[i], self.departments[i]
        return [
            b.replace(PLACEHOLDER_ID, tid)
            .replace(PLACEHOLDER_AGENT, agent)
            .replace(PLACEHOLDER_DEPARTMENT, dept)
            for b in self.bodies
        ]

    def ticket(self, i: int) -> Ticket:
        """Ticket ``i``, rebuilt from its events."""
        return Ticket.rebuild(Event.from_dict(json.loads(b)) for b in self.events(i))

    def queued(self, assignee: str | None) -> list[str]:
        """The ids of the first `QUEUE_LIMIT` queued tickets (of ``assignee``), in queue order."""
        keyed = [
            (key.sla_due is None, key.sla_due or START, key.waiting_since, -key.priority, tid)
            for tid, key, agent in zip(self.ids, self.keys, self.assignees, strict=True)
            if key is not None and assignee in {None, agent}
        ]
        return [k[-1] for k in sorted(keyed)[:QUEUE_LIMIT]]

    def sqlite_rows(self, start: int, stop: int) -> tuple[list[tuple[Any, ...]], list[Any]]:
        """Ticket rows (the store's columns) and event rows of tickets ``start`` to ``stop``."""
        tickets: list[tuple[Any, ...]] = []
        events: list[tuple[str, int, str]] = []
        for i in range(start, stop):
            tid = self.ids[i]
            tickets.append(
                (
                    tid,
                    *self.row,
                    self.assignees[i],
                    self.departments[i],
                    *_sqlite_queue(self.keys[i]),
                )
            )
            events.extend((tid, p, b) for p, b in enumerate(self.events(i)))
        return tickets, events


def _naive_queue(store: TicketStore, keys: dict[str, QueueKey], assignee: str | None) -> list[str]:
    """The baseline: every ticket through ``find``, filtered and sorted by its key in Python."""
    picked = [
        (key.sla_due is None, key.sla_due or START, key.waiting_since, -key.priority, t.id)
        for t in store.find(TicketQuery())
        if (key := keys.get(t.id)) is not None and assignee in {None, t.assignee}
    ]
    return [k[-1] for k in sorted(picked)[:QUEUE_LIMIT]]


def _per_call(call: Callable[[], object], calls: int, repeats: int) -> float:
    """Seconds per call: the median of ``repeats`` batches of ``calls`` calls."""
    batches = []
    for _ in range(repeats):
        gc.collect()
        start = time.perf_counter()
        for _ in range(calls):
            call()
        batches.append((time.perf_counter() - start) / calls)
    return statistics.median(batches)


def bench_queue_store(
    name: str, store: TicketStore, stock: QueueStock, repeats: int
) -> dict[str, Any]:
    """Time ``queue`` (whole, and one agent's) beside the naive baseline; check both answers."""
    keys = {tid: k for tid, k in zip(stock.ids, stock.keys, strict=True) if k is not None}
    agent = "agent-07"
    out: dict[str, Any] = {"backend": name, "tickets": stock.tickets, "queued": len(keys)}
    for label, assignee in (("all", None), ("assignee", agent)):
        expected = stock.queued(assignee)

        def queue(assignee: str | None = assignee) -> list[Ticket]:
            return store.queue(assignee=assignee, department=None, limit=QUEUE_LIMIT)

        assert expected == [t.id for t in queue()], (name, label)
        assert expected == _naive_queue(store, keys, assignee), (name, label)
        indexed = _per_call(queue, calls=20, repeats=repeats)
        naive = _per_call(lambda a=assignee: _naive_queue(store, keys, a), calls=1, repeats=3)
        out[label] = {
            "queue_us": round(indexed * 1e6, 1),
            "naive_ms": round(naive * 1e3, 2),
            "speedup": round(naive / indexed),
        }
    return out


def _load_memory(stock: QueueStock) -> MemoryStore:
    store = MemoryStore()
    for start in range(0, stock.tickets, 1000):
        stop = min(start + 1000, stock.tickets)
        store.commit([Change(stock.ticket(i), 0, queue=stock.keys[i]) for i in range(start, stop)])
    return store


def _load_sqlite(path: Path, stock: QueueStock) -> SQLiteStore:
    SQLiteStore(path).close()  # the schema, as the store makes it
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA synchronous = OFF")  # the build only
        for start in range(0, stock.tickets, BUILD_CHUNK):
            tickets, events = stock.sqlite_rows(start, min(start + BUILD_CHUNK, stock.tickets))
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(
                "INSERT INTO tickets (id, version, status, priority, assignee, department, "
                "queue_due, queue_since, queue_rank) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                tickets,
            )
            conn.executemany(
                "INSERT INTO events (ticket_id, position, body) VALUES (?, ?, ?)", events
            )
            conn.execute("COMMIT")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    return SQLiteStore(path)


def _load_postgres(url: str, stock: QueueStock) -> TicketStore:
    import psycopg  # noqa: PLC0415

    open_store(url).close()
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        for start in range(0, stock.tickets, BUILD_CHUNK):
            stop = min(start + BUILD_CHUNK, stock.tickets)
            with cur.copy(
                "COPY tickets (id, version, status, priority, assignee, department, "
                "queue_due, queue_since, queue_rank) FROM STDIN"
            ) as copy:
                for i in range(start, stop):
                    copy.write_row(
                        (
                            stock.ids[i],
                            *stock.row,
                            stock.assignees[i],
                            stock.departments[i],
                            *_pg_queue(stock.keys[i]),
                        )
                    )
            with cur.copy("COPY events (ticket_id, position, body) FROM STDIN") as copy:
                for i in range(start, stop):
                    for p, body in enumerate(stock.events(i)):
                        copy.write_row((stock.ids[i], p, body))
        conn.commit()
        conn.autocommit = True
        cur.execute("ANALYZE")
    return open_store(url)


def bench_queue(
    counts: Sequence[int], root: Path, url: str | None, repeats: int
) -> list[dict[str, Any]]:
    """``queue`` on MemoryStore, SQLite (a file) and PostgreSQL stores of each size."""
    out = []
    for tickets in counts:
        _progress(f"work queue: {tickets:,} tickets")
        stock = QueueStock(tickets)
        sample = [0, tickets // 2, tickets - 1]
        memory = _load_memory(stock)
        assert [stock.assignees[i] for i in sample] == [
            memory.get(stock.ids[i]).assignee for i in sample
        ]
        out.append(bench_queue_store("MemoryStore", memory, stock, repeats))
        path = root / f"queue-{tickets}.db"
        sqlite_store = _load_sqlite(path, stock)
        for i in sample:  # the rows built are the tickets the store would have written
            assert memory.get(stock.ids[i]) == sqlite_store.get(stock.ids[i])
        out.append(bench_queue_store("SQLite", sqlite_store, stock, repeats))
        sqlite_store.close()
        _unlink_sqlite(path)
        if url:
            with postgres_schema(url, "tf_bench") as schema_url:
                pg_store = _load_postgres(schema_url, stock)
                for i in sample:
                    assert memory.get(stock.ids[i]) == pg_store.get(stock.ids[i])
                out.append(bench_queue_store("PostgreSQL", pg_store, stock, repeats))
                pg_store.close()
        memory.close()
        gc.collect()
    return out


# --- machine and table ------------------------------------------------------------------------


def _postgres_url() -> tuple[str | None, str]:
    """The server to use, or None and why not."""
    url = os.environ.get(POSTGRES_ENV, "")
    if not url:
        return None, f"skipped: {POSTGRES_ENV} not set"
    try:
        import psycopg  # noqa: F401, PLC0415
        import psycopg_pool  # noqa: F401, PLC0415
    except ImportError as exc:
        return None, f"skipped: {exc.name} not installed (pip install 'ticketflow[postgres]')"
    return url, ""


def _print_table(results: dict[str, Any]) -> None:
    info = results["machine"]
    server = info["postgres"]
    pg = (
        f"PostgreSQL {server['server_version']} (fsync={server['fsync']}, "
        f"synchronous_commit={server['synchronous_commit']})"
        if server
        else "PostgreSQL -"
    )
    print(
        f"ticketflow {info['ticketflow']} / Python {info['python']} / SQLite {info['sqlite']} / "
        f"{pg} on {info['platform']} ({info['cpus']} CPUs); SQLite files in {info['sqlite_dir']}"
    )
    width = 56
    print()
    print(f"{'persisted commands (9-command mix per ticket)':<{width}} {'value':>12}")
    print("-" * (width + 13))
    commands = results["commands"]
    for row in commands["sqlite"]:
        label = f"SQLite {row['synchronous']}"
        print(
            f"{label + ': Helpdesk + SQLiteStore (commands/s)':<{width}} "
            f"{row['helpdesk_commands_per_s']:>12,}"
        )
        print(
            f"{label + ': raw sqlite3, same rows (commands/s)':<{width}} "
            f"{row['raw_commands_per_s']:>12,}"
        )
        print(
            f"{label + ': ratio Helpdesk / raw (target >= 0.5)':<{width}} "
            f"{row['ratio_helpdesk_to_raw']:>12}"
        )
    row = commands["postgres"]
    if "skipped" in row:
        print(f"{'PostgreSQL: Helpdesk + PostgresStore / raw psycopg':<{width}} {row['skipped']}")
    else:
        print(
            f"{'PostgreSQL: Helpdesk + PostgresStore (commands/s)':<{width}} "
            f"{row['helpdesk_commands_per_s']:>12,}"
        )
        print(
            f"{'PostgreSQL: raw psycopg, same rows (commands/s)':<{width}} "
            f"{row['raw_commands_per_s']:>12,}"
        )
        print(
            f"{'PostgreSQL: ratio Helpdesk / raw (target >= 0.5)':<{width}} "
            f"{row['ratio_helpdesk_to_raw']:>12}"
        )

    sizes = results["run_due_sqlite"]
    print()
    header = f"{'run_due on SQLiteStore (FULL): tickets stored':<{width}}" + "".join(
        f"{s['tickets']:>13,}" for s in sizes
    )
    print(header)
    print("-" * len(header))
    first = sizes[0]["none_due"]["us_per_call_best_batch"]
    table: list[tuple[str, Callable[[dict[str, Any]], str]]] = [
        ("build: rows inserted directly (s)", lambda s: f"{s['build_s']:.1f}"),
        ("file size (MiB)", lambda s: f"{s['file_mib']:,}"),
        (
            "none due: run_due per call, median batch (us)",
            lambda s: f"{s['none_due']['us_per_call']:.1f}",
        ),
        (
            "none due: run_due per call, best batch (us)",
            lambda s: f"{s['none_due']['us_per_call_best_batch']:.1f}",
        ),
        (
            "none due: best batch vs smallest store (target flat)",
            lambda s: f"{s['none_due']['us_per_call_best_batch'] / first:.2f}",
        ),
        ("due: tickets due per round", lambda s: f"{s['due']['due_tickets']:,}"),
        ("due: one run_due call, median of 3 rounds (s)", lambda s: f"{s['due']['s']:.2f}"),
        ("due: tickets/s", lambda s: f"{s['due']['tickets_per_s']:,}"),
    ]
    for name, cell in table:
        print(f"{name:<{width}}" + "".join(f"{cell(s):>13}" for s in sizes))

    _print_queue(results["queue"], width)

    sweep = results["postgres_sweep"]
    print()
    if isinstance(sweep, dict):
        print(f"{'PostgreSQL sweep, 1 / 2 / 4 worker processes':<{width}} {sweep['skipped']}")
        return
    header = f"{'PostgreSQL sweep: worker processes':<{width}}" + "".join(
        f"{s['workers']:>13}" for s in sweep
    )
    print(header)
    print("-" * len(header))
    sweep_rows: list[tuple[str, Callable[[dict[str, Any]], str]]] = [
        (
            "due tickets (of tickets stored)",
            lambda s: f"{s['due_tickets']:,}/{s['tickets'] // 1000}k",
        ),
        ("sweep wall time (s)", lambda s: f"{s['s']:.2f}"),
        ("tickets/s", lambda s: f"{s['tickets_per_s']:,}"),
        ("speed-up vs 1 worker", lambda s: f"{s['speedup_vs_1']:.2f}"),
        ("woken exactly once, counts add up", lambda _s: "yes"),
    ]
    for name, cell in sweep_rows:
        print(f"{name:<{width}}" + "".join(f"{cell(s):>13}" for s in sweep))


def _print_queue(rows: list[dict[str, Any]], width: int) -> None:
    sizes = sorted({r["tickets"] for r in rows})
    print()
    header = f"{'work queue, limit 50: tickets stored (a fifth queued)':<{width}}" + "".join(
        f"{s:>13,}" for s in sizes
    )
    print(header)
    print("-" * len(header))
    for backend in dict.fromkeys(r["backend"] for r in rows):
        by_size = {r["tickets"]: r for r in rows if r["backend"] == backend}
        for label, name in (("all", "queue()"), ("assignee", "queue(assignee=)")):
            for metric, unit, fmt in (
                ("queue_us", "us", "{:,.0f}"),
                ("naive_ms", "ms, naive find + sort", "{:,.1f}"),
                ("speedup", "x faster than naive", "{:,}"),
            ):
                text = f"{backend}: {name} ({unit})"
                print(
                    f"{text:<{width}}"
                    + "".join(f"{fmt.format(by_size[s][label][metric]):>13}" for s in sizes)
                )


def main() -> None:
    """Run the benchmark, print the table and write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (for CI smoke runs)")
    parser.add_argument("--dir", default=None, help="where the SQLite files go (default: tmp)")
    args = parser.parse_args()
    tickets, repeats = (30, 3) if args.quick else (200, 5)
    counts = [10_000] if args.quick else [10_000, 100_000, 1_000_000]
    queue_counts = [1_000, 10_000] if args.quick else [10_000, 100_000]
    sweep_tickets, sweep_due = (5_000, 1_000) if args.quick else (50_000, 10_000)
    began = time.perf_counter()
    url, skipped = _postgres_url()
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench_store-", dir=args.dir) as name:
        root = Path(name)
        results["machine"] = machine_info(
            sqlite=sqlite3.sqlite_version,
            sqlite_dir=str(root.parent),
            postgres=postgres_server(url) if url else None,
        )
        writes = recorded_writes(tickets)
        _progress(f"persisted commands: {len(writes):,} per run")
        bench_sqlite_commands(writes, tickets, "FULL", 1, root)  # warm-up, not reported
        results["commands"] = {
            "sqlite": [
                bench_sqlite_commands(writes, tickets, level, repeats, root)
                for level in ("FULL", "NORMAL")
            ],
            "postgres": (
                bench_postgres_commands(url, writes, tickets, repeats)
                if url
                else {"skipped": skipped}
            ),
        }
        templates = make_templates()
        results["run_due_sqlite"] = bench_run_due_sqlite(counts, templates, root, rounds=3)
        results["queue"] = bench_queue(queue_counts, root, url, repeats=3 if args.quick else 5)
    if url:
        _progress(f"PostgreSQL sweep: {sweep_due:,} due of {sweep_tickets:,} tickets")
        results["postgres_sweep"] = bench_postgres_sweep(
            url, templates, sweep_tickets, sweep_due, workers=(1, 2, 4)
        )
    else:
        results["postgres_sweep"] = {"skipped": skipped}
    results["run"] = {
        "quick": args.quick,
        "wall_s": round(time.perf_counter() - began, 1),
        "peak_rss_mib": peak_rss_mib(),
    }
    _print_table(results)
    run = results["run"]
    print(f"\nwall time {run['wall_s']} s, peak RSS {run['peak_rss_mib']} MiB")
    path = write_results("bench_store", results)
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
