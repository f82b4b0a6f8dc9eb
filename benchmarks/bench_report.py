"""Report benchmark: ``python -m ticketflow report`` over whole SQLite stores, time and peak memory.

Prints a table and writes ``benchmarks/results/bench_report.json``. The stores
are bench_read's list databases (``bench_read.build_list_sqlite``: tickets made
through ``Helpdesk``, opened 30 s apart, assigned, replied to or resolved by a
fixed random draw; about 2.5 events per ticket), built once and kept under
``/tmp/ticketflow-bench-read`` (``--list-cache``): 10,000 and 100,000 tickets
(``--quick``: 2,000), ``--million`` adds 1,000,000 (building it takes about a
quarter of an hour on a 2-core machine; reused afterwards).

Measured per size, each in a fresh subprocess (its peak resident memory from
``os.wait4``, its wall time around it), min and median of ``--repeats`` runs:

* **report (streamed)**: ``python -m ticketflow report --store sqlite:///... --by
  assignee --now <after the last event>``: tickets streamed by
  ``SQLiteStore.iter_tickets`` (a batch of 500 at a time), metrics aggregated
  one ticket at a time by ``MetricsAggregator``.
* **list-based (before)**: what the report did before (10k and 100k only; at 1M it
  needs gigabytes): ``find(TicketQuery())``, every ``TicketMetrics`` in a list,
  then ``aggregate``.
* **baselines, in this process**: the plain SQL the report stands on, on the same
  file in the same run: ``SELECT ticket_id, body FROM events ORDER BY ticket_id,
  position`` iterated with ``sqlite3`` (no decoding), and the same with
  ``json.loads`` of each row. A Python interpreter that imports ticketflow and
  exits is measured too (the start-up inside each subprocess figure).

Usage: ``python benchmarks/bench_report.py [--quick] [--million] [--repeats N]
[--list-cache DIR]``. Targets (issue 12 item 6), SQLite at 1M tickets: the report
within 30 s and 500 MiB peak.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import banner, machine_info, write_results
from bench_read import LIST_CACHE, build_list_sqlite, list_end

_SRC = Path(__file__).resolve().parent.parent / "src"

_OLD_PATH = """
import sys
from datetime import datetime
from ticketflow import SQLiteStore, workflows
from ticketflow.metrics import aggregate, ticket_metrics
from ticketflow.stores import TicketQuery
now = datetime.fromisoformat(sys.argv[2])
workflow = workflows.liveagent()
store = SQLiteStore(sys.argv[1])
tickets = store.find(TicketQuery())
figures = [ticket_metrics(t, workflow, now=max(now, t.updated_at)) for t in tickets]
rows = aggregate(figures, by=["assignee"])
print(sum(r["tickets"] for r in rows))
"""


def _rusage_child(args: list[str]) -> tuple[float, float, str]:
    """Run ``python args`` with ticketflow on the path: (seconds, peak MiB of that child, stdout).

    Spawned and reaped with ``os.wait4``, whose resource usage is the child's alone.
    """
    path = os.pathsep.join([str(_SRC), os.environ.get("PYTHONPATH", "")])
    env = {**os.environ, "PYTHONPATH": path}
    with tempfile.NamedTemporaryFile("w+b", suffix=".out") as out:
        started = time.perf_counter()
        pid = os.posix_spawn(
            sys.executable,
            [sys.executable, *args],
            env,
            file_actions=[
                (os.POSIX_SPAWN_DUP2, out.fileno(), 1),
            ],
        )
        _, status, usage = os.wait4(pid, 0)
        elapsed = time.perf_counter() - started
        out.seek(0)
        text = out.read().decode()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{args[:3]} failed with status {status}")
    return elapsed, round(usage.ru_maxrss / 1024, 1), text


def _stats(samples: list[float]) -> dict[str, float]:
    return {"min": round(min(samples), 3), "median": round(statistics.median(samples), 3)}


def _sql_rows(path: Path) -> int:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        count = 0
        for _row in conn.execute("SELECT ticket_id, body FROM events ORDER BY ticket_id, position"):
            count += 1
        return count
    finally:
        conn.close()


def _sql_json(path: Path) -> int:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    loads = json.loads
    try:
        count = 0
        for _tid, body in conn.execute(
            "SELECT ticket_id, body FROM events ORDER BY ticket_id, position"
        ):
            loads(body)
            count += 1
        return count
    finally:
        conn.close()


def _timed(fn: Any, *args: Any) -> float:
    started = time.perf_counter()
    fn(*args)
    return time.perf_counter() - started


def bench_size(tickets: int, repeats: int, cache: Path | None, *, old_path: bool) -> dict[str, Any]:
    """Every figure for one store size."""
    path = build_list_sqlite(tickets, cache)
    now = list_end(tickets).isoformat()
    report_args = [
        "-m",
        "ticketflow",
        "report",
        "--store",
        f"sqlite:///{path}",
        "--by",
        "assignee",
        "--now",
        now,
    ]
    runs = [_rusage_child(report_args) for _ in range(repeats)]
    assert f"{tickets} tickets in" in runs[0][2], runs[0][2][:200]
    result: dict[str, Any] = {
        "tickets": tickets,
        "events": _sql_rows(path),
        "report_s": _stats([r[0] for r in runs]),
        "report_peak_mib": _stats([r[1] for r in runs]),
        "sql_rows_s": _stats([_timed(_sql_rows, path) for _ in range(repeats)]),
        "sql_json_s": _stats([_timed(_sql_json, path) for _ in range(repeats)]),
    }
    result["report_per_ticket_us"] = round(result["report_s"]["min"] / tickets * 1e6, 1)
    result["report_vs_sql_rows"] = round(result["report_s"]["min"] / result["sql_rows_s"]["min"], 1)
    if old_path:
        old = [_rusage_child(["-c", _OLD_PATH, str(path), now]) for _ in range(repeats)]
        assert old[0][2].strip() == str(tickets), old[0][2]
        result["list_based_s"] = _stats([r[0] for r in old])
        result["list_based_peak_mib"] = _stats([r[1] for r in old])
    return result


def main() -> None:
    """Run the benchmark and print its table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2,000 tickets only (CI smoke run)")
    parser.add_argument("--million", action="store_true", help="also 1,000,000 tickets")
    parser.add_argument("--repeats", type=int, help="runs per figure (default 3; --quick 2)")
    parser.add_argument("--list-cache", type=Path, help=f"where the databases are ({LIST_CACHE})")
    args = parser.parse_args()
    repeats = args.repeats or (2 if args.quick else 3)
    sizes = [2_000] if args.quick else [10_000, 100_000]
    if args.million:
        sizes.append(1_000_000)
    info = machine_info(sqlite=sqlite3.sqlite_version)
    startup = [_rusage_child(["-c", "import ticketflow.cli"]) for _ in range(repeats)]
    results: dict[str, Any] = {
        "machine": info,
        "startup_s": _stats([r[0] for r in startup]),
        "startup_peak_mib": _stats([r[1] for r in startup]),
        "sizes": {},
    }
    for tickets in sizes:
        results["sizes"][str(tickets)] = bench_size(
            tickets,
            1 if tickets >= 1_000_000 else repeats,
            args.list_cache,
            old_path=tickets <= 100_000,
        )
    print(banner(info))
    print(
        f"python start-up + import: {results['startup_s']['min']:.2f} s, "
        f"{results['startup_peak_mib']['min']:.0f} MiB"
    )
    header = (
        f"{'tickets':>9} {'events':>9}  {'report s min/med':>17} {'peak MiB':>9} "
        f"{'us/ticket':>9}  {'SQL rows s':>10} {'+json s':>8} {'x rows':>6}  "
        f"{'list-based s':>12} {'peak MiB':>9}"
    )
    print(header)
    for row in results["sizes"].values():
        old = (
            f"{row['list_based_s']['min']:>12.2f} {row['list_based_peak_mib']['min']:>9.0f}"
            if "list_based_s" in row
            else f"{'-':>12} {'-':>9}"
        )
        print(
            f"{row['tickets']:>9,} {row['events']:>9,}  "
            f"{row['report_s']['min']:>8.2f}/{row['report_s']['median']:<8.2f} "
            f"{row['report_peak_mib']['min']:>9.0f} {row['report_per_ticket_us']:>9.1f}  "
            f"{row['sql_rows_s']['min']:>10.2f} {row['sql_json_s']['min']:>8.2f} "
            f"{row['report_vs_sql_rows']:>6.1f}  {old}"
        )
    print(f"wrote {write_results('bench_report', results)}")


if __name__ == "__main__":
    main()
