"""Read benchmark: decoding stored tickets, cold reads of long timelines, the collector's share.

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

Usage: ``python benchmarks/bench_read.py [--quick] [--gc-tickets N] [--repeats N]
[--cold-sizes 10000,100000] [--dir DIR]``.
"""

from __future__ import annotations

import argparse
import gc
import json
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
            "peak_rss_mib": peak_rss_mib(),
        },
    )
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
