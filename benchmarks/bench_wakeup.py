"""Wake-up benchmark: from a command's commit to the worker's delivery, LISTEN/NOTIFY vs polling.

Prints a table and writes ``benchmarks/results/bench_wakeup.json``. Needs a
PostgreSQL server: ``TICKETFLOW_POSTGRES_URL`` names a database (each run gets a
fresh schema in it); without it the script says so and exits with status 0.

One process, two threads, two `PostgresStore` objects (so two sets of
connections, as two processes would have):

* the **writer** opens ``--commits`` tickets through ``Helpdesk.open_ticket``,
  one every ``--gap`` seconds, with ``created`` among the outbox kinds, so each
  command's commit adds one outbox entry; it notes the time each call returned
  (the commit is durable then);
* the **worker** is the loop ``python -m ticketflow worker`` runs (``_Worker``,
  batch 100, lease 60 s, the default ``--poll`` of 5 s) with a subscriber that
  notes when each ticket's ``created`` entry reaches it.

Latency is delivery time minus commit time, per commit (``time.perf_counter`` in
both threads), and the table gives its 50th and 95th percentiles and maximum
over the commits of a run, for two modes measured in the same run:

* **listen**: the worker waits in `PostgresStore.wait_for_wakeup` (LISTEN/NOTIFY);
* **poll**: the same worker on a view of the same store without the capability
  (as on SQLite): it sleeps the poll interval between passes.

Each mode runs ``--repeats`` times; each figure is the median over the runs, with
the minimum beside it. The target (issue 14): at most 100 ms at the 95th
percentile with LISTEN/NOTIFY. Every commit must be delivered (checked).

Usage: ``python benchmarks/bench_wakeup.py [--quick] [--commits N] [--gap S]``.
``--quick`` (for CI): 30 commits, one repeat.
"""

from __future__ import annotations

import argparse
import os
import statistics
import threading
import time
from datetime import timedelta
from typing import Any

from _common import banner, machine_info, write_results

from ticketflow import Event, Helpdesk, Requester, SystemClock, Ticket
from ticketflow.cli._worker import _StoppableStore, _Worker
from ticketflow.stores import PostgresStore
from ticketflow.testing import postgres_schema

ENV = "TICKETFLOW_POSTGRES_URL"
POLL = 5.0  # the worker's default --poll
TARGET_P95_MS = 100.0
ANN = Requester(name="Ann Example", email="ann@example.com")


def percentile(values: list[float], fraction: float) -> float:
    """The ``fraction`` percentile of ``values`` (nearest rank)."""
    ordered = sorted(values)
    rank = max(1, round(fraction * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def run_once(url: str, *, listen: bool, commits: int, gap: float) -> dict[str, float]:
    """One run of one mode on a fresh schema: the latency figures, in milliseconds."""
    with postgres_schema(url, prefix="tf_bench_wakeup") as schema_url:
        writer_store = PostgresStore(schema_url)
        worker_store = PostgresStore(schema_url)
        try:
            return _measure(writer_store, worker_store, listen=listen, commits=commits, gap=gap)
        finally:
            writer_store.close()
            worker_store.close()


def _measure(
    writer_store: PostgresStore,
    worker_store: PostgresStore,
    *,
    listen: bool,
    commits: int,
    gap: float,
) -> dict[str, float]:
    committed: dict[str, float] = {}
    delivered: dict[str, float] = {}
    all_delivered = threading.Event()
    stop = threading.Event()
    worker_desk = Helpdesk(
        store=_StoppableStore(worker_store, stop),
        clock=SystemClock(),
        outbox=["created"],
    )

    def deliver(ticket: Ticket, event: Event) -> None:
        now = time.perf_counter()
        if event.kind.value == "created":
            delivered.setdefault(ticket.id, now)
            if len(delivered) == commits:
                all_delivered.set()

    worker_desk.subscribe(deliver)
    worker = _Worker(
        worker_desk,
        batch=100,
        poll=POLL,
        lease=timedelta(seconds=60),
        stop=stop,
        wakeup=worker_store if listen else None,
    )
    if listen:  # start listening now, so that the worker hears the first commit
        worker_store.wait_for_wakeup(30)
    statuses: list[int] = []
    thread = threading.Thread(target=lambda: statuses.append(worker.run(once=False)))
    thread.start()
    try:
        writer = Helpdesk(store=writer_store, clock=SystemClock(), outbox=["created"])
        next_at = time.perf_counter()
        for i in range(commits):
            ticket = writer.open_ticket(subject=f"ticket {i}", requester=ANN)
            committed[ticket.id] = time.perf_counter()
            next_at += gap
            time.sleep(max(0.0, next_at - time.perf_counter()))
        if not all_delivered.wait(POLL * 4 + 30):
            raise SystemExit(f"only {len(delivered)} of {commits} commits were delivered")
    finally:
        worker.request_stop()
        thread.join(60)
    if statuses != [0]:
        raise SystemExit(f"the worker stopped with {statuses}")
    latencies = [(delivered[tid] - at) * 1000 for tid, at in committed.items()]
    return {
        "p50_ms": percentile(latencies, 0.50),
        "p95_ms": percentile(latencies, 0.95),
        "max_ms": max(latencies),
    }


def summarise(runs: list[dict[str, float]]) -> dict[str, dict[str, float]]:
    """Per figure: the median and the minimum over the runs."""
    return {
        key: {
            "median": statistics.median(r[key] for r in runs),
            "min": min(r[key] for r in runs),
        }
        for key in runs[0]
    }


def server_version(url: str) -> str:
    """The server's version string, from a short connection."""
    import psycopg  # noqa: PLC0415 - the postgres extra

    with psycopg.connect(url) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    return "?" if row is None else str(row[0])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="30 commits, one repeat (for CI)")
    parser.add_argument("--commits", type=int, help="commits per run (default 200; quick 30)")
    parser.add_argument("--repeats", type=int, help="runs per mode (default 3; quick 1)")
    parser.add_argument(
        "--gap", type=float, default=0.05, help="seconds between commits (default 0.05)"
    )
    args = parser.parse_args(argv)
    url = os.environ.get(ENV, "")
    if not url:
        print(f"bench_wakeup: skipped: set {ENV} to a PostgreSQL database to measure")
        return 0
    commits = args.commits or (30 if args.quick else 200)
    repeats = args.repeats or (1 if args.quick else 3)
    info = machine_info()
    info["postgresql"] = server_version(url)
    results: dict[str, Any] = {
        "machine": info,
        "commits": commits,
        "repeats": repeats,
        "gap_s": args.gap,
        "poll_s": POLL,
        "target_p95_ms": TARGET_P95_MS,
        "modes": {},
    }
    for mode, listen in (("listen", True), ("poll", False)):
        runs = [run_once(url, listen=listen, commits=commits, gap=args.gap) for _ in range(repeats)]
        results["modes"][mode] = {"runs": runs, **summarise(runs)}
    listen_p95 = results["modes"]["listen"]["p95_ms"]["median"]
    poll_p95 = results["modes"]["poll"]["p95_ms"]["median"]
    results["poll_over_listen_p95"] = poll_p95 / listen_p95 if listen_p95 else None
    results["target_met"] = listen_p95 <= TARGET_P95_MS
    print(banner(info) + f", PostgreSQL {info['postgresql']}")
    print(
        f"commit -> delivery latency, {commits} commits {args.gap:g} s apart, "
        f"{repeats} run(s) per mode; median over runs (min)"
    )
    print(f"{'mode':<30} {'p50 ms':>16} {'p95 ms':>16} {'max ms':>16}")
    labels = {"listen": "LISTEN/NOTIFY", "poll": f"polling every {POLL:g} s (default)"}
    for mode, label in labels.items():
        row = results["modes"][mode]
        cells = [
            f"{row[k]['median']:.1f} ({row[k]['min']:.1f})" for k in ("p50_ms", "p95_ms", "max_ms")
        ]
        print(f"{label:<30} " + " ".join(f"{c:>16}" for c in cells))
    print(
        f"p95 polling / p95 LISTEN: {results['poll_over_listen_p95']:.0f}x; "
        f"target p95 <= {TARGET_P95_MS:g} ms with LISTEN: "
        + ("met" if results["target_met"] else "NOT met")
    )
    path = write_results("bench_wakeup", results)
    print(f"results: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
