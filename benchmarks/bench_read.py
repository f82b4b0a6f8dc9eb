"""Read benchmark: decoding tickets, cold reads of long timelines, the collector, lists and counts.

Prints a table and writes ``benchmarks/results/bench_read.json``. Every figure is
measured in the same run as its baseline; min and median over the repeats are
given (the machine may be shared: the min is the cleanest figure, the median the
typical one).

* **Decoding a stored 4-event ticket** (open, agent reply, customer reply,
  assign; LiveAgent preset), from the JSON texts of its rows as ``SQLiteStore``
  stores them: the stores' codec (`decode_ticket`: one ``json.loads`` of the
  rows joined, shared actors and step flyweights, events built without the public
  constructor's checks, then ``Ticket.rebuild``) beside, in the same run,
  ``json.loads`` of each row alone (the floor of the old path), the old path
  (``Event.from_dict(json.loads(row))`` for each row, then ``Ticket.rebuild``),
  and the codec's two halves (decoding the events; ``Ticket.rebuild`` of decoded
  events). Both paths must give the stored ticket. Time per ticket: best of
  batches of 2,000.
* **Cold read of a long ticket** from SQLite: ``SQLiteStore.get`` on a fresh store
  object (empty cache) of one ticket with 10,000 and 100,000 events (``--quick``:
  1,000 and 10,000). The database is built with a raw ``executemany`` of event
  rows: a ticket made through ``Helpdesk`` (open, then agent and customer
  replies) gives the stored form of a reply pair, repeated with consecutive
  versions and times, so every row is what the store writes for such a command.
  The ticket read back is checked (length, version, status, messages). Beside
  it, the pieces: reading the rows alone, ``json.loads`` of them, decoding the
  events, ``Ticket.rebuild``. Target: 100k at most 12x the 10k figure, under 2 s.
* **The collector during commands**: ``Helpdesk`` + ``MemoryStore`` holding
  100,000 tickets (``--quick``: 20,000; ``--gc-tickets`` to change), then
  alternating agent and customer replies on random tickets; every collection is
  timed with ``gc.callbacks`` in CPU time: the share of the loop's CPU time spent
  collecting, the 99th percentile and the longest pause, with the default
  collector, and after ``gc.freeze()`` once the store is loaded (what an
  application can do after start-up; a library must not freeze the caller's heap).

* **Lists and counts** (issue 12): SQLite files of 10,000 and 100,000 tickets
  (``--quick``: 2,000; ``--million`` adds 1,000,000), PostgreSQL at 100,000
  (``--quick``: 2,000) when ``TICKETFLOW_POSTGRES_URL`` is set. Tickets are
  made through ``Helpdesk`` (opened 30 s apart; assigned, replied to, resolved
  by a fixed random draw) and written through the store's own ``commit``, 10,000
  tickets per commit: every row is what the store writes. Each database is built
  once and kept: SQLite files under ``/tmp/ticketflow-bench-read`` (``--list-cache``),
  PostgreSQL schemas ``tf_bench_read_v<schema>_b<build>_<n>`` in the database
  (drop them to rebuild). Building costs about 1 ms per command on a 2-core
  machine: a few minutes at 100k, about half an hour at 1M. Measured, each
  beside the plain SQL query it stands for on the same database in the same
  run (the same rows fetched, no decoding): the first page of ``sort="-updated"``
  (50 rows), the same filtered by ``status="open"``, a page 10,000 rows deep by
  cursor (9,000 at 10k), and ``counts(by="status")`` (beside a ``GROUP BY``
  count of the rows and, on SQLite, the counters' own query), and two searches
  (issue 12 item 4): ``search("<n/2 + 1>")``, a ticket number found in one
  subject, and ``search("floor")``, a word of a quarter of the tickets (a page of
  50 ranked hits), each beside the plain full-text query on the same index (FTS5
  ``MATCH ... ORDER BY rank LIMIT 51``; PostgreSQL ``@@ phraseto_tsquery ...
  ORDER BY ts_rank``), which neither groups rows by ticket nor reads summaries.
  Milliseconds per call, min and median of the repeats after one warm-up call.

Usage: ``python benchmarks/bench_read.py [--quick] [--million] [--list-cache DIR]
[--gc-tickets N] [--repeats N] [--cold-sizes 10000,100000] [--dir DIR]``.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from _common import banner, machine_info, peak_rss_mib, write_results

from ticketflow import (
    Event,
    FakeClock,
    Helpdesk,
    MemoryStore,
    Requester,
    SQLiteStore,
    Ticket,
    workflows,
)
from ticketflow.stores._codec import decode_events, decode_ticket, dump_event
from ticketflow.stores._postgres_schema import SCHEMA_VERSION as POSTGRES_SCHEMA
from ticketflow.stores._sqlite import SCHEMA_VERSION as SQLITE_SCHEMA

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
ANN = Requester(name="Ann", email="ann@example.org")


def _stats(samples: list[float], scale: float = 1.0) -> dict[str, float]:
    return {
        "min": round(min(samples) * scale, 3),
        "median": round(statistics.median(samples) * scale, 3),
    }


# --- decoding a 4-event ticket ---------------------------------------------------------


def _four_event_rows() -> tuple[Ticket, list[str]]:
    desk = Helpdesk(workflow=workflows.liveagent(), clock=FakeClock(START))
    ticket = desk.open_ticket(subject="Printer on fire", description="Help", requester=ANN)
    desk.agent_reply(ticket.id, "Which printer?", by="bob")
    desk.customer_reply(ticket.id, "The one on floor 2")
    ticket = desk.assign(ticket.id, "bob", by="bob")
    assert len(ticket.timeline) == 4
    return ticket, [dump_event(e) for e in ticket.timeline]


def _decode_paths() -> dict[str, Callable[[], object]]:
    """The ways of reading the 4-event ticket, each checked to give the stored ticket."""
    ticket, bodies = _four_event_rows()
    decoded = decode_events(json.loads(f"[{','.join(bodies)}]"))

    def json_rows() -> object:
        return [json.loads(b) for b in bodies]

    def old_path() -> Ticket:
        return Ticket.rebuild([Event.from_dict(json.loads(b)) for b in bodies])

    def codec() -> Ticket:
        return decode_ticket(bodies, "bench")

    def codec_events() -> object:
        return decode_events(json.loads(f"[{','.join(bodies)}]"))

    def rebuild() -> Ticket:
        return Ticket.rebuild(decoded)

    assert old_path() == ticket
    assert codec() == ticket
    return {
        "json_loads_rows": json_rows,
        "old_from_dict_rebuild": old_path,
        "codec_decode_ticket": codec,
        "codec_events_only": codec_events,
        "rebuild_only": rebuild,
    }


def bench_decode(repeats: int, batch: int = 2000) -> dict[str, Any]:
    """Microseconds per 4-event ticket for each path, interleaved in every repeat."""
    paths = _decode_paths()
    samples: dict[str, list[float]] = {name: [] for name in paths}
    for _ in range(repeats):
        for name, fn in paths.items():
            gc.collect()
            start = time.perf_counter()
            for _ in range(batch):
                fn()
            samples[name].append((time.perf_counter() - start) / batch)
    out: dict[str, Any] = {"events": 4, "batch": batch, "repeats": repeats}
    for name, values in samples.items():
        out[name + "_us"] = _stats(values, 1e6)
    for stat in ("min", "median"):
        out[f"speedup_{stat}"] = round(
            out["old_from_dict_rebuild_us"][stat] / out["codec_decode_ticket_us"][stat], 2
        )
        out[f"codec_to_json_{stat}"] = round(
            out["codec_decode_ticket_us"][stat] / out["json_loads_rows_us"][stat], 2
        )
    return out


# --- cold read of a long ticket ---------------------------------------------------------


def _reply_pair_records() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The stored forms of a ticket's first two events and of one later reply pair."""
    clock = FakeClock(START)
    desk = Helpdesk(workflow=workflows.liveagent(), clock=clock)
    ticket = desk.open_ticket(subject="Long thread", requester=ANN)
    for _ in range(2):
        clock.advance(seconds=1)
        desk.agent_reply(ticket.id, "Any news?", by="bob")
        clock.advance(seconds=1)
        ticket = desk.customer_reply(ticket.id, "Not yet.")
    records = [e.to_dict() for e in ticket.timeline]
    assert [r["kind"] for r in records[3:5]] == ["agent_replied", "customer_replied"]
    assert records[3]["status_before"] == records[4]["status_after"]  # a pair repeats
    return records[:3], records[3:5]


def build_long_ticket(path: Path, events: int) -> str:
    """Write one ticket of ``events`` events into a store file; return its id."""
    head, pair = _reply_pair_records()
    ticket_id = str(head[0]["data"]["id"])
    store = SQLiteStore(path, synchronous="OFF")  # creates the schema
    store.close()
    rows = []
    for position in range(events):
        template = head[position] if position < len(head) else pair[(position - len(head)) % 2]
        at = START + timedelta(seconds=position)
        record = {**template, "at": at.isoformat(), "version": position + 1}
        rows.append((ticket_id, position, json.dumps(record, separators=(",", ":"))))
    last = json.loads(rows[-1][2])
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA synchronous = OFF")
        conn.execute(
            "INSERT INTO tickets (id, version, status, priority) VALUES (?, ?, ?, 2)",
            (ticket_id, events, last["status_after"]),
        )
        conn.executemany("INSERT INTO events (ticket_id, position, body) VALUES (?, ?, ?)", rows)
    return ticket_id


def bench_cold_read(sizes: list[int], repeats: int, directory: Path) -> dict[str, Any]:
    """Seconds for ``SQLiteStore.get`` on a fresh store, and its pieces, per timeline length."""
    out: dict[str, Any] = {"repeats": repeats}
    for events in sizes:
        path = directory / f"long-{events}.db"
        ticket_id = build_long_ticket(path, events)
        pieces: dict[str, list[float]] = {
            "get": [],
            "rows": [],
            "json": [],
            "decode_events": [],
            "rebuild": [],
        }
        for _ in range(repeats):
            store = SQLiteStore(path)
            gc.collect()
            start = time.perf_counter()
            ticket = store.get(ticket_id)
            pieces["get"].append(time.perf_counter() - start)
            store.close()
            assert len(ticket.timeline) == events
            assert ticket.version == events
            assert len(ticket.messages) == events - 1
            del ticket
            with sqlite3.connect(path) as conn:
                gc.collect()
                start = time.perf_counter()
                bodies = [
                    r[0]
                    for r in conn.execute(
                        "SELECT body FROM events WHERE ticket_id = ? ORDER BY position",
                        (ticket_id,),
                    )
                ]
                pieces["rows"].append(time.perf_counter() - start)
            start = time.perf_counter()
            records = json.loads(f"[{','.join(bodies)}]")
            pieces["json"].append(time.perf_counter() - start)
            start = time.perf_counter()
            decoded = decode_events(records)
            pieces["decode_events"].append(time.perf_counter() - start)
            start = time.perf_counter()
            Ticket.rebuild(decoded)
            pieces["rebuild"].append(time.perf_counter() - start)
            del records, decoded, bodies
        out[str(events)] = {name: _stats(values) for name, values in pieces.items()}
        path.unlink()
    if len(sizes) == 2:
        small, large = (out[str(s)]["get"] for s in sizes)
        out["ratio_large_to_small"] = {
            stat: round(large[stat] / small[stat], 2) for stat in ("min", "median")
        }
        out["size_ratio"] = sizes[1] // sizes[0]
    return out


# --- the collector during commands ------------------------------------------------------


class _GcTimer:
    """Time every collection through ``gc.callbacks``, in the process's CPU time.

    CPU time, not wall time: on a shared machine a collection during which the
    process was descheduled would otherwise count the other processes' time.
    """

    def __init__(self) -> None:
        self.pauses: list[tuple[int, float]] = []
        self._start = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._start = time.process_time()
        else:
            self.pauses.append((info["generation"], time.process_time() - self._start))


def bench_gc(tickets: int, commands: int, *, freeze: bool) -> dict[str, Any]:
    """The collector's share of a command loop on a loaded MemoryStore, and its longest pause."""
    clock = FakeClock(START)
    desk = Helpdesk(workflow=workflows.liveagent(), store=MemoryStore(), clock=clock)
    ids = [desk.open_ticket(subject=f"t{i}", requester=ANN).id for i in range(tickets)]
    gc.collect()
    if freeze:
        gc.freeze()
    timer = _GcTimer()
    rng = random.Random(7)
    picks = [rng.choice(ids) for _ in range(commands // 2)]
    gc.callbacks.append(timer)
    try:
        start = time.process_time()
        for ticket_id in picks:
            desk.agent_reply(ticket_id, "x", by="bob")
            desk.customer_reply(ticket_id, "x")
        elapsed = time.process_time() - start
    finally:
        gc.callbacks.remove(timer)
        if freeze:
            gc.unfreeze()
    collecting = sum(p for _, p in timer.pauses)
    pauses = sorted(p for _, p in timer.pauses) or [0.0]
    by_generation = {str(g): sum(1 for gen, _ in timer.pauses if gen == g) for g in range(3)}
    del desk, ids
    gc.collect()
    return {
        "tickets": tickets,
        "commands": len(picks) * 2,
        "us_per_command": round(elapsed / (len(picks) * 2) * 1e6, 2),
        "gc_share_percent": round(100 * collecting / elapsed, 1),
        "p99_pause_ms": round(pauses[int(0.99 * (len(pauses) - 1))] * 1e3, 2),
        "longest_pause_ms": round(pauses[-1] * 1e3, 2),
        "ms_by_generation": {
            str(g): round(sum(p for gen, p in timer.pauses if gen == g) * 1e3, 1) for g in range(3)
        },
        "collections_by_generation": by_generation,
    }


# --- lists and counts at scale -----------------------------------------------------------

LIST_CACHE = Path(tempfile.gettempdir()) / "ticketflow-bench-read"
LIST_BATCH = 10_000  # tickets per store commit while building
LIST_BUILD_VERSION = 1  # bump when the built tickets change (the cache is keyed by it)
AGENTS = tuple(f"agent-{n}" for n in range(20))
DEPARTMENTS = ("billing", "tech", "sales")
TICKET_GAP = timedelta(seconds=30)


class _Recorder(MemoryStore):
    """A memory store that also keeps every change committed to it, in order."""

    def __init__(self) -> None:
        super().__init__()
        self.changes: list[Any] = []

    def commit(self, changes: Any) -> None:
        super().commit(changes)
        self.changes.extend(changes)


def _list_changes(start: int, stop: int) -> list[Any]:
    """The store changes of tickets ``start`` to ``stop``, made through ``Helpdesk``.

    Ticket ``i`` is opened at ``START + i * 30 s`` (so ids, ULIDs, follow
    creation); a fixed random draw per ticket picks its priority, department and
    what follows: assigned (60%), an agent reply (50%), then a customer reply
    (half of those), or resolved (20%); each step a few seconds later.
    """
    clock = FakeClock(START + start * TICKET_GAP)
    recorder = _Recorder()
    desk = Helpdesk(workflow=workflows.liveagent(), store=recorder, clock=clock)
    priorities = ("low", "normal", "normal", "high", "urgent")
    for i in range(start, stop):
        rng = random.Random(i)
        clock.set(START + i * TICKET_GAP)
        tid = desk.open_ticket(
            subject=f"Ticket {i}: printer on fire",
            description="Help",
            requester=Requester(name=f"Customer {i % 997}", email=f"c{i % 997}@example.org"),
            priority=rng.choice(priorities),
            department=rng.choice(DEPARTMENTS),
            tags=("vip",) if rng.random() < 0.1 else (),
        ).id
        draw = rng.random()
        if draw < 0.6:
            clock.advance(seconds=rng.randrange(1, 5))
            desk.assign(tid, rng.choice(AGENTS), by="lead")
        if draw < 0.5:
            clock.advance(seconds=rng.randrange(1, 5))
            desk.agent_reply(tid, "Which printer?", by="bob")
            if draw < 0.25:
                clock.advance(seconds=rng.randrange(1, 5))
                desk.customer_reply(tid, "The one on floor 2")
        elif draw > 0.8:
            clock.advance(seconds=rng.randrange(1, 5))
            desk.resolve(tid, by="bob")
    return recorder.changes


def list_end(tickets: int) -> datetime:
    """A time after every change of a list database of ``tickets`` tickets."""
    return START + (tickets + 1) * TICKET_GAP


def build_list_sqlite(tickets: int, directory: Path | None = None) -> Path:
    """The SQLite file of ``tickets`` list tickets, built once and cached under /tmp.

    Built through the store's own commit, ``LIST_BATCH`` tickets per commit
    (``synchronous=OFF`` for the build only): every row is what the store writes.
    """
    root = directory or LIST_CACHE
    root.mkdir(parents=True, exist_ok=True)
    path = root / f"list-v{SQLITE_SCHEMA}-b{LIST_BUILD_VERSION}-{tickets}.db"
    if path.exists():
        return path
    partial = path.with_suffix(".partial")
    for leftover in root.glob(partial.name + "*"):
        leftover.unlink()
    store = SQLiteStore(partial, synchronous="OFF")
    started = time.perf_counter()
    try:
        for start in range(0, tickets, LIST_BATCH):
            store.commit(_list_changes(start, min(start + LIST_BATCH, tickets)))
            if tickets >= 100_000 and (start // LIST_BATCH) % 10 == 9:
                elapsed = time.perf_counter() - started
                print(f"  building {tickets:,}: {start + LIST_BATCH:,} in {elapsed:.0f} s")
        store.index_search()  # the last batch's text too: the plain FTS5 query reads the index
        assert store.count() == tickets
    finally:
        store.close()
    conn = sqlite3.connect(partial, isolation_level=None)
    try:
        conn.execute("ANALYZE")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()  # the last connection: SQLite removes the -wal and -shm files
    partial.rename(path)
    return path


def _time_calls(fn: Callable[[], object], repeats: int) -> dict[str, float]:
    """Milliseconds per call of ``fn``: min and median of ``repeats`` calls (after one warm-up)."""
    fn()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return _stats(samples, 1e3)


_SQLITE_COLUMNS = (
    "id, status, priority, assignee, department, created_at, updated_at, channel, "
    "queue_due, queue_since, summary"
)


def _deep_cursor(desk: Helpdesk, depth: int, **filters: Any) -> tuple[str, str]:
    """The cursor after the first ``depth`` rows of ``-updated`` (and the last id seen)."""
    cursor, seen, last = None, 0, ""
    while seen < depth:
        page = desk.list(sort="-updated", limit=1000, cursor=cursor, **filters)
        seen += len(page.items)
        last = page.items[-1].id
        assert page.next_cursor is not None
        cursor = page.next_cursor
    return cursor, last


# The search benchmark's terms: a ticket number (one ticket's subject), and a word
# of the customer replies (a quarter of the tickets; a page of 50 ranked hits).
_COMMON = "floor"
# The plain FTS5 query a search stands for: the best 51 matching rows by BM25.
_SQLITE_FTS = (
    "SELECT rowid, rank FROM search_index WHERE search_index MATCH ? ORDER BY rank LIMIT 51"
)
_POSTGRES_FTS = (
    "SELECT ticket_id, ts_rank(words, q) AS r FROM search_docs, "
    "phraseto_tsquery('simple', %s) AS q WHERE words @@ q ORDER BY r DESC LIMIT 51"
)


def bench_list_sqlite(path: Path, tickets: int, repeats: int) -> dict[str, Any]:
    """Each list, count and search call beside the plain SQL query it stands for, on one file."""
    rare = str(tickets // 2 + 1)
    store = SQLiteStore(path)
    desk = Helpdesk(workflow=workflows.liveagent(), store=store, clock=FakeClock(list_end(tickets)))
    raw = sqlite3.connect(path)
    try:
        depth = min(10_000, tickets - 1_000)
        cursor, last_id = _deep_cursor(desk, depth)
        key = raw.execute("SELECT updated_at FROM tickets WHERE id = ?", (last_id,)).fetchone()[0]
        order = "ORDER BY updated_at DESC, id DESC LIMIT 51"
        sql = f"SELECT {_SQLITE_COLUMNS} FROM tickets"  # noqa: S608 - fixed SQL
        checks = {
            "first_page": (
                lambda: desk.list(sort="-updated"),
                lambda: raw.execute(f"{sql} {order}").fetchall(),
            ),
            "first_page_status": (
                lambda: desk.list(sort="-updated", status="open"),
                lambda: raw.execute(f"{sql} WHERE status = ? {order}", ("open",)).fetchall(),
            ),
            "page_deep": (
                lambda: desk.list(sort="-updated", cursor=cursor),
                lambda: raw.execute(
                    f"{sql} WHERE (updated_at, id) < (?, ?) {order}", (key, last_id)
                ).fetchall(),
            ),
            "counts_by_status": (
                lambda: desk.counts(by="status"),
                lambda: raw.execute(
                    "SELECT status, count(*) FROM tickets GROUP BY status"
                ).fetchall(),
            ),
            "search_rare": (
                lambda: desk.search(rare),
                lambda: raw.execute(_SQLITE_FTS, (f'"{rare}"',)).fetchall(),
            ),
            "search_common": (
                lambda: desk.search(_COMMON),
                lambda: raw.execute(_SQLITE_FTS, (f'"{_COMMON}"',)).fetchall(),
            ),
        }
        assert [f"Ticket {rare}: printer on fire"] == [s.subject for s in desk.search(rare).items]
        assert len(desk.search(_COMMON).items) == 50
        plain_page = raw.execute(f"{sql} WHERE (updated_at, id) < (?, ?) {order}", (key, last_id))
        assert [r[0] for r in plain_page.fetchall()[:50]] == [
            s.id for s in desk.list(sort="-updated", cursor=cursor).items
        ]
        counted = dict(raw.execute("SELECT status, count(*) FROM tickets GROUP BY status"))
        assert desk.counts(by="status") == dict(sorted(counted.items()))
        out: dict[str, Any] = {"tickets": tickets, "repeats": repeats, "deep_rows": depth}
        for name, (ticketflow_call, plain_call) in checks.items():
            out[name] = {
                "ticketflow_ms": _time_calls(ticketflow_call, repeats),
                "plain_sql_ms": _time_calls(plain_call, repeats),
            }
        out["counts_by_status"]["counters_sql_ms"] = _time_calls(
            lambda: raw.execute(
                "SELECT status, sum(n) FROM ticket_counts GROUP BY status HAVING sum(n) > 0"
            ).fetchall(),
            repeats,
        )
        return out
    finally:
        raw.close()
        store.close()


def build_list_postgres(url: str, tickets: int) -> str:
    """The URL of a schema holding ``tickets`` list tickets, built once and kept.

    The schema (``tf_bench_read_v<schema>_b<build>_<tickets>``) stays in the
    database for the next run; one left half-built is dropped and built again.
    Built through the store's own commit, ``LIST_BATCH`` tickets per commit.
    """
    import psycopg  # noqa: PLC0415 - only with a server
    from psycopg import sql  # noqa: PLC0415

    from ticketflow import open_store  # noqa: PLC0415
    from ticketflow.testing._postgres import with_schema  # noqa: PLC0415

    schema = f"tf_bench_read_v{POSTGRES_SCHEMA}_b{LIST_BUILD_VERSION}_{tickets}"
    schema_url = with_schema(url, schema)
    with psycopg.connect(url, autocommit=True) as conn:
        found = conn.execute(
            "SELECT 1 FROM information_schema.tables WHERE table_schema = %s "
            "AND table_name = 'bench_read_built'",
            (schema,),
        ).fetchone()
        if found:
            return schema_url
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    store = open_store(schema_url)
    try:
        for start in range(0, tickets, LIST_BATCH):
            store.commit(_list_changes(start, min(start + LIST_BATCH, tickets)))
        assert store.count() == tickets
    finally:
        store.close()
    with psycopg.connect(schema_url, autocommit=True) as conn:
        conn.execute("ANALYZE")
        conn.execute("CREATE TABLE bench_read_built ()")  # the mark of a finished build
    return schema_url


def bench_list_postgres(url: str, tickets: int, repeats: int) -> dict[str, Any]:
    """The same calls on PostgreSQL (a kept schema, built through the store's commit)."""
    import psycopg  # noqa: PLC0415 - only with a server

    from ticketflow import open_store  # noqa: PLC0415

    rare = str(tickets // 2 + 1)
    schema_url = build_list_postgres(url, tickets)
    store = open_store(schema_url)
    try:
        clock = FakeClock(list_end(tickets))
        desk = Helpdesk(workflow=workflows.liveagent(), store=store, clock=clock)
        with psycopg.connect(schema_url, autocommit=True) as raw:
            depth = min(10_000, tickets - 1_000)
            cursor, last_id = _deep_cursor(desk, depth)
            key = raw.execute("SELECT updated_at FROM tickets WHERE id = %s", (last_id,)).fetchone()
            assert key is not None
            order = "ORDER BY updated_at DESC, id DESC LIMIT 51"
            checks = {
                "first_page": (
                    lambda: desk.list(sort="-updated"),
                    lambda: raw.execute(f"SELECT * FROM tickets {order}").fetchall(),  # noqa: S608
                ),
                "first_page_status": (
                    lambda: desk.list(sort="-updated", status="open"),
                    lambda: raw.execute(
                        f"SELECT * FROM tickets WHERE status = %s {order}",  # noqa: S608
                        ("open",),
                    ).fetchall(),
                ),
                "page_deep": (
                    lambda: desk.list(sort="-updated", cursor=cursor),
                    lambda: raw.execute(
                        f"SELECT * FROM tickets WHERE (updated_at, id) < (%s, %s) {order}",  # noqa: S608
                        (key[0], last_id),
                    ).fetchall(),
                ),
                "counts_by_status": (
                    lambda: desk.counts(by="status"),
                    lambda: raw.execute(
                        "SELECT status, count(*) FROM tickets GROUP BY status"
                    ).fetchall(),
                ),
                "search_rare": (
                    lambda: desk.search(rare),
                    lambda: raw.execute(_POSTGRES_FTS, (rare,)).fetchall(),
                ),
                "search_common": (
                    lambda: desk.search(_COMMON),
                    lambda: raw.execute(_POSTGRES_FTS, (_COMMON,)).fetchall(),
                ),
            }
            assert len(desk.search(rare).items) == 1
            out: dict[str, Any] = {"tickets": tickets, "repeats": repeats, "deep_rows": depth}
            for name, (ticketflow_call, plain_call) in checks.items():
                out[name] = {
                    "ticketflow_ms": _time_calls(ticketflow_call, repeats),
                    "plain_sql_ms": _time_calls(plain_call, repeats),
                }
    finally:
        store.close()
    return out


# A smoke run's store size: CI builds it from nothing (through commits) in seconds.
_QUICK_LIST = 2_000


def run_lists(*, quick: bool, million: bool, cache: Path | None) -> dict[str, dict[str, Any]]:
    """Lists and counts on SQLite (10k; 100k unless quick; 1M if asked), and PostgreSQL if set."""
    sizes = [_QUICK_LIST] if quick else [10_000, 100_000]
    if million:
        sizes.append(1_000_000)
    repeats = 15 if quick else 50
    lists: dict[str, dict[str, Any]] = {}
    for tickets in sizes:
        path = build_list_sqlite(tickets, cache)
        lists[f"sqlite_{tickets}"] = bench_list_sqlite(path, tickets, repeats)
    postgres_url = os.environ.get("TICKETFLOW_POSTGRES_URL")
    if postgres_url:
        tickets = _QUICK_LIST if quick else 100_000
        lists[f"postgres_{tickets}"] = bench_list_postgres(postgres_url, tickets, repeats)
    return lists


def print_list_table(results: dict[str, dict[str, Any]]) -> None:
    """The list and count figures: ticketflow beside the plain SQL, min / median ms."""
    print(f"{'list and counts (ms, min / median)':<44} {'ticketflow':>17} {'plain SQL':>17}")
    print("-" * 80)
    for backend, result in results.items():
        for name in (
            "first_page",
            "first_page_status",
            "page_deep",
            "counts_by_status",
            "search_rare",
            "search_common",
        ):
            row = result[name]
            tf, plain = row["ticketflow_ms"], row["plain_sql_ms"]
            what = f"page {result['deep_rows']:,} deep" if name == "page_deep" else name
            label = f"{backend} {result['tickets']:,}: {what}"
            print(
                f"{label:<44} {tf['min']:>8} {tf['median']:>8} "
                f"{plain['min']:>8} {plain['median']:>8}"
            )
        if "counters_sql_ms" in result["counts_by_status"]:
            counters = result["counts_by_status"]["counters_sql_ms"]
            label = f"{backend} {result['tickets']:,}:   (the counters' own SQL)"
            print(f"{label:<44} {'':>17} {counters['min']:>8} {counters['median']:>8}")


def main() -> None:
    """Run the benchmark, print the table and write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes (for CI smoke runs)")
    parser.add_argument("--gc-tickets", type=int, help="tickets in the store for the gc section")
    parser.add_argument("--repeats", type=int, help="repeats of the cold reads")
    parser.add_argument("--dir", type=Path, help="where the SQLite files go")
    parser.add_argument(
        "--cold-sizes", help="timeline lengths for the cold reads, comma-separated (two)"
    )
    parser.add_argument(
        "--million", action="store_true", help="also lists and counts at 1,000,000 tickets"
    )
    parser.add_argument("--list-cache", type=Path, help=f"where list databases go ({LIST_CACHE})")
    args = parser.parse_args()
    sizes = [1_000, 10_000] if args.quick else [10_000, 100_000]
    if args.cold_sizes:
        sizes = [int(n) for n in args.cold_sizes.split(",")]
    repeats = args.repeats or (2 if args.quick else 5)
    gc_tickets = args.gc_tickets or (20_000 if args.quick else 100_000)
    gc_commands = 20_000 if args.quick else 200_000
    info = machine_info(sqlite=sqlite3.sqlite_version)

    decode = bench_decode(repeats=5 if args.quick else 15)
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        cold = bench_cold_read(sizes, repeats, Path(tmp))
    collector = {
        "default": bench_gc(gc_tickets, gc_commands, freeze=False),
        "frozen_after_load": bench_gc(gc_tickets, gc_commands, freeze=True),
    }
    lists = run_lists(quick=args.quick, million=args.million, cache=args.list_cache)

    print(banner(info) + f", SQLite {info['sqlite']}")
    print()
    print(f"{'decoding a stored 4-event ticket (us)':<52} {'min':>9} {'median':>9}")
    print("-" * 72)
    for name, label in (
        ("json_loads_rows", "json.loads of each row (baseline)"),
        ("old_from_dict_rebuild", "Event.from_dict + Ticket.rebuild (old path)"),
        ("codec_decode_ticket", "stores' codec: decode_ticket"),
        ("codec_events_only", "  of which: json + decoding the events"),
        ("rebuild_only", "  of which: Ticket.rebuild"),
    ):
        values = decode[name + "_us"]
        print(f"{label:<52} {values['min']:>9} {values['median']:>9}")
    for label, key in (
        ("old path / codec (target >= 2)", "speedup"),
        ("codec / json.loads of the rows", "codec_to_json"),
    ):
        print(f"{label:<52} {decode[key + '_min']:>9} {decode[key + '_median']:>9}")
    print()
    print(f"{'cold SQLiteStore.get of one ticket (s)':<52} {'min':>9} {'median':>9}")
    print("-" * 72)
    for events in sizes:
        row = cold[str(events)]
        for name in ("get", "rows", "json", "decode_events", "rebuild"):
            label = f"{events:,} events: {name}" if name == "get" else f"  of which {name}"
            print(f"{label:<52} {row[name]['min']:>9} {row[name]['median']:>9}")
    if "ratio_large_to_small" in cold:
        ratio = cold["ratio_large_to_small"]
        label = f"ratio {sizes[1]:,} / {sizes[0]:,} (target <= 12 for 10x)"
        print(f"{label:<52} {ratio['min']:>9} {ratio['median']:>9}")
    print()
    print_list_table(lists)
    print()
    header = f"{'collector during commands':<36} {'us/cmd':>7} {'gc %':>5} {'p99 ms':>7}"
    print(f"{header} {'max ms':>7} {'gen0/1/2':>11}")
    print("-" * 78)
    for name, row in collector.items():
        gens = "/".join(str(row["collections_by_generation"][str(g)]) for g in range(3))
        label = f"{row['tickets']:,} tickets, {name}"
        print(
            f"{label:<36} {row['us_per_command']:>7} {row['gc_share_percent']:>5} "
            f"{row['p99_pause_ms']:>7} {row['longest_pause_ms']:>7} {gens:>11}"
        )
    path = write_results(
        "bench_read",
        {
            "machine": info,
            "decode_4_events": decode,
            "cold_read": cold,
            "collector": collector,
            "lists": lists,
            "peak_rss_mib": peak_rss_mib(),
        },
    )
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
