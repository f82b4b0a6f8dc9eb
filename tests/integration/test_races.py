"""Races between real processes on one SQLite file: exact counts, never "roughly".

Processes are started with multiprocessing's ``spawn`` (a fresh interpreter, as
separate worker processes would be) and released together by a Barrier.
"""

from __future__ import annotations

import logging
import multiprocessing
from collections import Counter
from datetime import timedelta
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from pathlib import Path
from typing import Any

import pytest

from ticketflow import (
    ConflictError,
    Helpdesk,
    SystemClock,
    Ticket,
    TicketStore,
    open_store,
    retry_on_conflict,
)
from ticketflow.stores import Change

from .conftest import CLOSE, REMIND, answered_tickets

DEADLINE = 120.0  # seconds, for a loaded CI machine
SPAWN = multiprocessing.get_context("spawn")


class BarrierStore:
    """A store whose commits wait at a barrier: every process has read before any writes."""

    def __init__(self, store: TicketStore, barrier: Barrier) -> None:
        self._store = store
        self._barrier = barrier

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def commit(self, changes: list[Change]) -> None:
        self._barrier.wait(DEADLINE)
        self._store.commit(changes)


# --- what the child processes run (module level, so spawn can import it) -----------------


def child_stale_note(url: str, ticket_id: str, n: int, barrier: Barrier, out: Queue[Any]) -> None:
    """Add a note holding the version every process read; report ok or the conflict."""
    store = open_store(url)
    try:
        desk = Helpdesk(store=BarrierStore(store, barrier), clock=SystemClock())  # type: ignore[arg-type]
        try:
            desk.add_note(ticket_id, f"note from process {n}", by=f"agent{n}")
        except ConflictError as exc:
            out.put(("conflict", n, exc.expected_version, exc.actual_version))
        else:
            out.put(("ok", n, 0, 0))
    finally:
        store.close()


def child_notes(url: str, ids: list[str], n: int, barrier: Barrier, out: Queue[Any]) -> None:
    """Add 25 notes round-robin on the tickets, each through retry_on_conflict."""
    store = open_store(url)
    conflicts = 0

    def counted(ticket_id: str, body: str) -> Ticket:
        nonlocal conflicts
        try:
            return desk.add_note(ticket_id, body, by=f"agent{n}")
        except ConflictError:
            conflicts += 1
            raise

    try:
        desk = Helpdesk(store=store, clock=SystemClock())
        barrier.wait(DEADLINE)
        for i in range(25):
            retry_on_conflict(counted, ids[i % len(ids)], f"p{n}-{i}")
        out.put((n, conflicts))
    finally:
        store.close()


def child_run_due(url: str, lease_s: float, barrier: Barrier, out: Queue[Any]) -> None:
    """Run run_due over the shared file; report (rules fired, commits lost to another worker)."""
    lost = ConflictLog()
    engine_log = logging.getLogger("ticketflow")
    engine_log.addHandler(lost)
    engine_log.setLevel(logging.INFO)
    store = open_store(url)
    try:
        desk = Helpdesk(store=store, clock=SystemClock(), rules=[REMIND, CLOSE])
        barrier.wait(DEADLINE)
        out.put((desk.run_due(batch=20, lease=timedelta(seconds=lease_s)), lost.count))
    finally:
        store.close()


class ConflictLog(logging.Handler):
    """Counts run_due's records of a ticket another worker committed first."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        if "changed while due" in record.getMessage():
            self.count += 1


def run_children(target: Any, args_for: list[tuple[Any, ...]]) -> list[Any]:
    """Start one spawned process per argument tuple; return what each put on the queue."""
    out: Queue[Any] = SPAWN.Queue()
    barrier = SPAWN.Barrier(len(args_for))
    processes = [
        SPAWN.Process(target=target, args=(*args, barrier, out), daemon=True) for args in args_for
    ]
    for process in processes:
        process.start()
    try:
        results = [out.get(timeout=DEADLINE) for _ in processes]
        for process in processes:
            process.join(DEADLINE)
            assert 0 == process.exitcode
    finally:
        for process in processes:
            if process.is_alive():
                process.kill()
                process.join()
    return results


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'desk.db'}"


def test_eight_stale_writers_one_wins_seven_conflict(url: str) -> None:
    """8 processes commit the same ticket from the same version at once: 1 ok, 7 ConflictError."""
    (ticket_id,) = answered_tickets(url, 1)
    results = run_children(child_stale_note, [(url, ticket_id, n) for n in range(8)])
    outcomes = Counter(kind for kind, *_ in results)
    assert {"ok": 1, "conflict": 7} == outcomes
    assert {(2, 3)} == {(expected, actual) for kind, _, expected, actual in results if kind != "ok"}
    (winner,) = [n for kind, n, *_ in results if kind == "ok"]
    store = open_store(url)
    try:
        ticket = store.get(ticket_id)
    finally:
        store.close()
    assert 3 == ticket.version
    assert [f"note from process {winner}"] == [m.body for m in ticket.messages if m.private]


def test_retried_commands_from_four_processes_all_land_exactly_once(url: str) -> None:
    """4 processes x 25 notes on 3 tickets through retry_on_conflict: exactly 100 notes."""
    ids = answered_tickets(url, 3)
    results = run_children(child_notes, [(url, ids, n) for n in range(4)])
    store = open_store(url)
    try:
        tickets = [store.get(tid) for tid in ids]
    finally:
        store.close()
    bodies = [m.body for t in tickets for m in t.messages if m.private]
    assert sorted(f"p{n}-{i}" for n in range(4) for i in range(25)) == sorted(bodies)
    assert [36, 32, 32] == [sum(1 for m in t.messages if m.private) for t in tickets]
    assert [2 + 36, 2 + 32, 2 + 32] == [t.version for t in tickets]
    conflicts = sum(c for _, c in results)
    print(f"\n{conflicts} conflicts retried")  # noqa: T201 - shown with -s


@pytest.mark.parametrize(
    "lease_s",
    [60.0, 0.000001],
    ids=["leases-hold", "leases-run-out-at-once"],
)
def test_three_workers_sweeping_one_file_fire_each_due_rule_exactly_once(
    url: str, lease_s: float
) -> None:
    """3 processes run run_due over 600 due tickets: 1200 firings in all, one per rule and ticket.

    With a microsecond lease every claim has run out by the time another worker
    looks, so workers take the same tickets and only the version check on commit
    keeps each rule to one firing.
    """
    ids = answered_tickets(url, 600)
    results = run_children(child_run_due, [(url, lease_s)] * 3)
    fired = [f for f, _ in results]
    lost = sum(c for _, c in results)
    assert 1200 == sum(fired), results
    if lease_s < 1:
        assert lost > 0, "the workers never took the same ticket: the race did not happen"
    store = open_store(url)
    try:
        tickets = [store.get(tid) for tid in ids]
        assert store.next_due_at() is None
        assert 600 == store.outbox_pending()  # one reminder each; no subscriber here
    finally:
        store.close()
    for ticket in tickets:
        assert [1, 2, 3, 4] == [e.version for e in ticket.timeline], ticket.id
        assert {REMIND.name: 1, CLOSE.name: 1} == Counter(
            e.data["rule"] for e in ticket.timeline if e.data and "rule" in e.data
        )
    print(f"\nfired per worker: {fired}; commits lost to another worker: {lost}")  # noqa: T201
