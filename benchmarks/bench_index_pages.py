"""Index budget: WAL pages each kind of command writes on SQLite, beside the raw loop's.

Prints a table and writes ``benchmarks/results/bench_index_pages.json``.
``bench_store.py``'s command mix (open, agent reply, customer reply, assign,
tag, postpone, customer reply, agent reply, resolve; LiveAgent with its
default rules) runs step by step over ``--tickets`` tickets through
``Helpdesk`` on ``SQLiteStore`` (a file, WAL, ``synchronous=NORMAL``, automatic
checkpoints off so that the log only grows). Each command's cost is the growth
of the ``-wal`` file in frames (pages of 4 KiB); commands that index the
search backlog (`SQLiteStore.index_search`, once 256 rows wait) are counted in
their kind's mean, and the last batch (run after the mix) is reported apart.
Beside it, in the same run, ``bench_store``'s raw ``sqlite3`` loop writes the
same ticket, event, tag and outbox rows (no counters' triggers are skipped:
the schema is the store's; no text indexes: it writes no ``search_docs`` or
``message_ids``), one transaction per command: the difference is what the
store adds, the text indexes mostly. Pages are deterministic for a given
SQLite version, so there are no repeats.

Usage: ``python benchmarks/bench_index_pages.py [--tickets N] [--dir DIR]``
(default 300 tickets, 2,700 commands; a few seconds).
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import bench_store
from _common import machine_info, peak_rss_mib, write_results

from ticketflow import Requester, SQLiteStore

KINDS = (
    "open",
    "agent reply",
    "customer reply",
    "assign",
    "tag",
    "postpone",
    "customer reply (2nd)",
    "agent reply (2nd)",
    "resolve",
)
FRAME = 4096 + 24  # a WAL frame: a page and its header


def _frames(wal: Path) -> int:
    size = wal.stat().st_size if wal.exists() else 0
    return 0 if size == 0 else (size - 32) // FRAME


def store_pages(path: Path, tickets: int) -> tuple[dict[str, list[int]], int, int]:
    """Frames per command by kind (``Helpdesk``); the last batch's; a search's hits (<= 500)."""
    store = SQLiteStore(path, synchronous="NORMAL")
    store._conn.execute("PRAGMA wal_autocheckpoint = 0")  # noqa: SLF001 - the log must only grow
    wal = Path(f"{path}-wal")
    desk, clock = bench_store._helpdesk(store)  # noqa: SLF001 - the same desk as bench_store
    per: dict[str, list[int]] = {kind: [] for kind in KINDS}

    def run(kind: str, command: Callable[[], object]) -> object:
        before = _frames(wal)
        result = command()
        per[kind].append(_frames(wal) - before)
        clock.advance(bench_store.SECOND)
        return result

    ann = Requester(name="Ann Example", email="ann@example.org")
    ids = []
    for i in range(tickets):
        ticket: Any = run(
            "open",
            lambda i=i: desk.open_ticket(
                subject=f"Cannot log in to the VPN #{i}",
                description="Since this morning the VPN client says my password is wrong.",
                requester=ann,
            ),
        )
        ids.append(ticket.id)
    steps: list[Callable[[str], object]] = [
        lambda t: desk.agent_reply(t, "Have you tried resetting your password?", by="bob"),
        lambda t: desk.customer_reply(t, "Yes, twice; it still fails."),
        lambda t: desk.assign(t, "carol", department="network", by="bob"),
        lambda t: desk.add_tags(t, "vpn", "login", by="carol"),
        lambda t: desk.postpone(t, clock.now() + bench_store.timedelta(days=1), by="carol"),
        lambda t: desk.customer_reply(t, "It works again now, thank you!"),
        lambda t: desk.agent_reply(t, "Glad to hear it; closing this one.", by="carol"),
        lambda t: desk.resolve(t, by="carol"),
    ]
    for kind, step in zip(KINDS[1:], steps, strict=True):
        for ticket_id in ids:
            run(kind, lambda step=step, ticket_id=ticket_id: step(ticket_id))
    before = _frames(wal)
    store.index_search()
    last_batch = _frames(wal) - before
    hits = len(desk.search("vpn", limit=min(tickets, 500)).items)
    store.close()
    return per, last_batch, hits


def raw_pages(path: Path, tickets: int) -> dict[str, list[int]]:
    """Frames per command by kind for bench_store's raw loop (the same rows, no text indexes)."""
    params = bench_store._sqlite_params(bench_store.recorded_writes(tickets))  # noqa: SLF001
    SQLiteStore(path).close()  # the store's schema
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA wal_autocheckpoint = 0")
    wal = Path(f"{path}-wal")
    per: dict[str, list[int]] = {kind: [] for kind in KINDS}
    for i, one in enumerate(params):
        before = _frames(wal)
        bench_store.raw_sqlite_loop(conn, [one])
        per[KINDS[i // tickets]].append(_frames(wal) - before)
    conn.close()
    return per


def _row(frames: list[int]) -> dict[str, float]:
    return {
        "mean": round(statistics.fmean(frames), 2),
        "median": statistics.median(frames),
        "max": max(frames),
    }


def main() -> None:
    """Run the measurement, print the table and write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=300, help="tickets in the mix")
    parser.add_argument("--dir", default=None, help="where the SQLite files go (default: tmp)")
    args = parser.parse_args()
    began = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench_index_pages-", dir=args.dir) as name:
        root = Path(name)
        store, last_batch, hits = store_pages(root / "store.db", args.tickets)
        raw = raw_pages(root / "raw.db", args.tickets)
    assert hits == min(args.tickets, 500), f"search found {hits} of {args.tickets} tickets"
    commands = args.tickets * len(KINDS)
    results: dict[str, Any] = {
        "machine": machine_info(sqlite=sqlite3.sqlite_version),
        "tickets": args.tickets,
        "commands": commands,
        "kinds": {kind: {"store": _row(store[kind]), "raw": _row(raw[kind])} for kind in KINDS},
        "mix": {
            "store_mean": round(sum(map(sum, store.values())) / commands, 2),
            "store_mean_with_last_batch": round(
                (sum(map(sum, store.values())) + last_batch) / commands, 2
            ),
            "raw_mean": round(sum(map(sum, raw.values())) / commands, 2),
        },
        "last_batch_pages": last_batch,
        "run": {"wall_s": round(time.perf_counter() - began, 1), "peak_rss_mib": peak_rss_mib()},
    }
    width = 22
    print(
        f"WAL pages per command, synchronous=NORMAL, {args.tickets} tickets (SQLite "
        f"{sqlite3.sqlite_version})"
    )
    print(
        f"{'command':<{width}} {'store mean':>10} {'median':>7} {'max':>5} "
        f"{'raw mean':>9} {'store - raw':>11}"
    )
    for kind, row in results["kinds"].items():
        s, r = row["store"], row["raw"]
        print(
            f"{kind:<{width}} {s['mean']:>10} {s['median']:>7} {s['max']:>5} "
            f"{r['mean']:>9} {round(s['mean'] - r['mean'], 2):>11}"
        )
    mix = results["mix"]
    print(
        f"{'the mix':<{width}} {mix['store_mean']:>10} {'':>7} {'':>5} {mix['raw_mean']:>9} "
        f"{round(mix['store_mean'] - mix['raw_mean'], 2):>11}"
    )
    print(
        f"last search batch after the mix: {last_batch} pages "
        f"(mix mean with it: {mix['store_mean_with_last_batch']})"
    )
    path = write_results("bench_index_pages", results)
    print(f"\nwrote {path}", file=sys.stderr)


if __name__ == "__main__":
    main()
