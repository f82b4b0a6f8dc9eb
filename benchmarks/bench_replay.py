"""Replay benchmark: the BPI Challenge 2013 incident log through Helpdesk, beside a dict.

Data: Ward Steeman, *BPI Challenge 2013, incidents*, 4TU.ResearchData,
doi:10.4121/uuid:500573e6-accc-4b0c-9576-aa5468b10cee, read in place from
``../shared/data/bpi2013-incidents.csv.gz`` beside the repository (or ``--data``).

Prints a table and writes ``benchmarks/results/bench_replay.json``. The log's rows
are replayed in time order by ``benchmarks/_bpi_replay.py`` (the command replay
``examples/bpi2013_replay.py`` ran before it became an import: open, assign, set
priority, fire the trigger to the row's status; see that script) through:

* ``Helpdesk`` + ``MemoryStore``;
* ``Helpdesk`` + ``SQLiteStore`` on a file, default settings (WAL,
  ``synchronous=FULL``: every command is durable when it returns), and with
  ``synchronous=NORMAL``;
* beside them, in the same run, a plain-Python replay of the same rows: the status,
  level and owner of each incident in dicts, each change checked against the same
  transition table (``(status, trigger) -> dest``) and the same lock rule.

Each figure is rows per second of the replay loop alone (the CSV is read once,
before timing). The in-memory replays are repeated and interleaved, and their
medians reported; each SQLite replay runs once (they are long, and dominated by
the disk's flushes).

Usage: ``python benchmarks/bench_replay.py [--quick] [--data PATH]``; ``--quick``
replays the first 300 incidents.
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import transitions
from _common import machine_info, write_results

from ticketflow import Category, SQLiteStore, Workflow

ROOT = Path(__file__).resolve().parent.parent


def _load_example() -> ModuleType:
    # The row-by-row command replay the example ran before it became an import
    # (`Helpdesk.import_tickets`, timed by bench_import.py): kept here, as it was,
    # because it times the command path on a real log.
    path = Path(__file__).resolve().parent / "_bpi_replay.py"
    spec = importlib.util.spec_from_file_location("bpi2013_replay", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


example = _load_example()


def dict_replay(changes: Sequence[Any], workflow: Workflow) -> tuple[float, dict[str, int]]:
    """Replay ``changes`` with dicts only; return the seconds taken and the counts."""
    table = {
        (source, t.trigger): t.dest
        for t in workflow.transitions
        for source in workflow.expand_sources(t)
    }
    by_label = {s.label: s.name for s in workflow.statuses}
    locked = workflow.statuses_in(Category.CLOSED) | {s.name for s in workflow.statuses if s.final}
    initial = workflow.initial
    trigger_for = example.trigger_for
    ordered = sorted(changes, key=lambda change: (change.at, change.index))
    status: dict[str, str] = {}
    level: dict[str, str] = {}
    owner: dict[str, str] = {}
    triggers: dict[str, str] = {}
    transitions_ = unchanged = rejected = 0
    start = time.perf_counter()
    for change in ordered:
        number = change.sr_number
        current = status.get(number)
        if current is None:
            current = status[number] = initial
        elif current in locked:
            rejected += 1
            continue
        level[number] = change.level
        owner[number] = change.owner
        target = by_label.get(change.label, change.label)
        if target == current:
            unchanged += 1
            continue
        trigger = triggers.get(target)
        if trigger is None:
            trigger = triggers[target] = trigger_for(target)
        dest = table.get((current, trigger))
        if dest is None:
            rejected += 1
        else:
            status[number] = dest
            transitions_ += 1
    seconds = time.perf_counter() - start
    return seconds, {"transitions": transitions_, "unchanged": unchanged, "rejected": rejected}


def _counts(result: Any) -> dict[str, int]:
    summary = example.summarise(result)
    return {
        "transitions": summary.transitions,
        "unchanged": summary.unchanged,
        "rejected": sum(summary.rejected.values()),
    }


def _sqlite_replay(changes: Sequence[Any], synchronous: str) -> tuple[float, dict[str, int]]:
    with tempfile.TemporaryDirectory() as directory:
        store = SQLiteStore(Path(directory) / "bpi2013.db", synchronous=synchronous)
        try:
            gc.collect()
            result = example.replay(changes, store=store)
            return result.seconds, _counts(result)
        finally:
            store.close()


def bench(changes: Sequence[Any], repeats: int) -> dict[str, Any]:
    """Time each replay; check that they all agree on what was accepted and rejected."""
    workflow = example.load_workflow()
    memory_s: list[float] = []
    dict_s: list[float] = []
    expected: dict[str, int] | None = None
    for _ in range(repeats):
        gc.collect()
        result = example.replay(changes, workflow=workflow)
        memory_s.append(result.seconds)
        counts = _counts(result)
        seconds, plain = dict_replay(changes, workflow)
        dict_s.append(seconds)
        assert counts == plain, (counts, plain)
        expected = counts
        del result
    full_s, full_counts = _sqlite_replay(changes, "FULL")
    normal_s, normal_counts = _sqlite_replay(changes, "NORMAL")
    assert expected == full_counts == normal_counts
    rows = len(changes)
    per_second = {
        "dict": rows / statistics.median(dict_s),
        "memory": rows / statistics.median(memory_s),
        "sqlite_full": rows / full_s,
        "sqlite_normal": rows / normal_s,
    }
    return {
        "rows": rows,
        "incidents": len({change.sr_number for change in changes}),
        "repeats_in_memory": repeats,
        "outcome": expected,
        "rows_per_second": {name: round(value) for name, value in per_second.items()},
        "seconds": {
            "dict": round(statistics.median(dict_s), 4),
            "memory": round(statistics.median(memory_s), 4),
            "sqlite_full": round(full_s, 3),
            "sqlite_normal": round(normal_s, 3),
        },
        "ratio_to_dict": {
            name: round(per_second["dict"] / value, 1)
            for name, value in per_second.items()
            if name != "dict"
        },
        "ratio_to_memory": {
            name: round(per_second["memory"] / per_second[name], 2)
            for name in ("sqlite_full", "sqlite_normal")
        },
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark, print the table and write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the first 300 incidents only")
    parser.add_argument("--data", type=Path, default=example.DEFAULT_DATA, help="the gzipped CSV")
    args = parser.parse_args(argv)
    if not args.data.is_file():
        print(f"BPI Challenge 2013 incident log not found at {args.data}: nothing to time.")
        return 0
    incidents, repeats = (300, 1) if args.quick else (None, 3)
    changes = example.read_log(args.data, incidents=incidents)
    info = machine_info(sqlite=sqlite3.sqlite_version, transitions=transitions.__version__)
    figures = bench(changes, repeats)
    print(
        f"ticketflow {info['ticketflow']} / SQLite {info['sqlite']} / Python {info['python']} "
        f"on {info['platform']} ({info['cpus']} CPUs)"
    )
    print(f"data: {example.CITATION}")
    outcome = figures["outcome"]
    print(
        f"{figures['rows']:,} rows of {figures['incidents']:,} incidents: "
        f"{outcome['transitions']:,} transitions, {outcome['unchanged']:,} unchanged, "
        f"{outcome['rejected']:,} rejected (every replay agrees)"
    )
    print()
    print(f"{'replay':<48} {'seconds':>9} {'rows/s':>10} {'x dict':>8} {'x memory':>9}")
    print("-" * 88)
    names = {
        "dict": "plain dicts, same table (baseline)",
        "memory": "Helpdesk + MemoryStore",
        "sqlite_full": "Helpdesk + SQLiteStore file, synchronous=FULL",
        "sqlite_normal": "Helpdesk + SQLiteStore file, synchronous=NORMAL",
    }
    for key, name in names.items():
        to_dict = figures["ratio_to_dict"].get(key, 1.0)
        to_memory = figures["ratio_to_memory"].get(key, 1.0 if key == "memory" else "")
        print(
            f"{name:<48} {figures['seconds'][key]:>9} {figures['rows_per_second'][key]:>10,} "
            f"{to_dict:>8} {to_memory:>9}"
        )
    path = write_results(
        "bench_replay",
        {"machine": info, "data": example.CITATION, "quick": args.quick, "replay": figures},
    )
    print(f"\nwrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
