"""Async benchmark: N coroutines adding notes to M shared tickets through `AsyncHelpdesk`.

Prints a table and writes ``benchmarks/results/bench_async.json``. For each
backend (memory, a SQLite file, PostgreSQL when ``TICKETFLOW_POSTGRES_URL`` is
set): the concurrent run (every coroutine retries through
`ConflictRetry.acall`), beside its baseline measured in the same run, the same
notes added one after the other by the sync `Helpdesk` on the same kind of
store. Reported: wall time (min and median over repeats), commands per second,
conflicts retried, and a check that every acknowledged note is stored exactly
once.

Usage: ``python benchmarks/bench_async.py [--quick]``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from _common import banner, machine_info, write_results

from ticketflow import (
    AsyncHelpdesk,
    AsyncMemoryStore,
    AsyncPostgresStore,
    AsyncSQLiteStore,
    ConflictError,
    ConflictRetry,
    FakeClock,
    Helpdesk,
    MemoryStore,
    PostgresStore,
    Requester,
    SQLiteStore,
    TicketStore,
)
from ticketflow.stores import AsyncTicketStore

ANN = Requester(name="Ann", email="ann@example.com")


async def concurrent(store: AsyncTicketStore, commands: int, tickets: int) -> dict[str, Any]:
    desk = AsyncHelpdesk(store=store, clock=FakeClock())
    ids = [(await desk.open_ticket(subject=f"t{i}", requester=ANN)).id for i in range(tickets)]
    retry = ConflictRetry(attempts=1_000, backoff=0.001, max_backoff=0.02)
    conflicts = 0

    async def note(ticket_id: str, body: str) -> None:
        nonlocal conflicts
        try:
            await desk.add_note(ticket_id, body, by="bob")
        except ConflictError:
            conflicts += 1
            raise

    started = time.perf_counter()
    await asyncio.gather(
        *(retry.acall(note, ids[i % tickets], f"note {i}") for i in range(commands))
    )
    elapsed = time.perf_counter() - started
    stored = [
        e.data["body"]
        for ticket_id in ids
        for e in (await store.get(ticket_id)).timeline
        if e.kind == "note_added"
    ]
    assert sorted(stored) == sorted(f"note {i}" for i in range(commands)), "lost or doubled"
    await store.aclose()
    return {"seconds": elapsed, "conflicts": conflicts}


def sequential(store: TicketStore, commands: int, tickets: int) -> float:
    desk = Helpdesk(store=store, clock=FakeClock())
    ids = [desk.open_ticket(subject=f"t{i}", requester=ANN).id for i in range(tickets)]
    started = time.perf_counter()
    for i in range(commands):
        desk.add_note(ids[i % tickets], f"note {i}", by="bob")
    elapsed = time.perf_counter() - started
    store.close()
    return elapsed


@contextmanager
def backends(tmp: Path) -> Iterator[list[tuple[str, Callable[[], Any], Callable[[], Any]]]]:
    """(name, async store factory, sync store factory) per backend available."""
    numbers = iter(range(1_000_000))
    found: list[tuple[str, Callable[[], Any], Callable[[], Any]]] = [
        ("memory", AsyncMemoryStore, MemoryStore),
        (
            "sqlite file",
            lambda: AsyncSQLiteStore(tmp / f"a{next(numbers)}.db"),
            lambda: SQLiteStore(tmp / f"s{next(numbers)}.db"),
        ),
    ]
    with ExitStack() as stack:
        url = os.environ.get("TICKETFLOW_POSTGRES_URL")
        if url:
            from ticketflow.testing._postgres import postgres_schema  # noqa: PLC0415

            def schema() -> str:
                return stack.enter_context(postgres_schema(url, "tf_bench_async"))

            found.append(
                (
                    "postgresql",
                    lambda: AsyncPostgresStore(schema(), max_size=10),
                    lambda: PostgresStore.from_url(schema()),
                )
            )
        yield found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes (for CI smoke runs)")
    args = parser.parse_args()
    commands, tickets, repeats = (100, 20, 2) if args.quick else (500, 20, 3)
    info = machine_info()
    rows: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp, backends(Path(tmp)) as found:
        for name, make_async, make_sync in found:
            runs = [
                asyncio.run(concurrent(make_async(), commands, tickets)) for _ in range(repeats)
            ]
            base = [sequential(make_sync(), commands, tickets) for _ in range(repeats)]
            secs = [r["seconds"] for r in runs]
            rows[name] = {
                "async_min_s": min(secs),
                "async_median_s": statistics.median(secs),
                "async_commands_per_s": commands / statistics.median(secs),
                "conflicts_median": statistics.median(r["conflicts"] for r in runs),
                "sync_sequential_min_s": min(base),
                "sync_sequential_median_s": statistics.median(base),
                "ratio_async_over_sync": statistics.median(secs) / statistics.median(base),
            }
    print(banner(info))
    print(f"\n{commands} coroutines, {tickets} shared tickets, {repeats} repeats (min/median)")
    print(f"{'backend':<12}{'async s':>16}{'cmd/s':>9}{'conflicts':>11}{'sync seq s':>16}{'x':>7}")
    for name, r in rows.items():
        print(
            f"{name:<12}{r['async_min_s']:>7.3f}/{r['async_median_s']:<8.3f}"
            f"{r['async_commands_per_s']:>9.0f}{r['conflicts_median']:>11.0f}"
            f"{r['sync_sequential_min_s']:>7.3f}/{r['sync_sequential_median_s']:<8.3f}"
            f"{r['ratio_async_over_sync']:>7.2f}"
        )
    print("every acknowledged note stored exactly once: checked on every run")
    path = write_results(
        "bench_async",
        {"machine": info, "commands": commands, "tickets": tickets, "results": rows},
    )
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
