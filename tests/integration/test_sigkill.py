"""SIGKILL a worker at random points of a sweep, restart it, and check nothing was lost.

Each trial makes 100-150 tickets whose two time rules are due now (a reminder,
which writes an outbox entry, then a close), starts the real worker process
(``python -m ticketflow worker``) with a subscriber that appends each delivery to a
file, and kills the worker with SIGKILL at a random point of its sweep: after a
random number of deliveries, drawn from a seeded RNG, plus a random sub-3 ms jitter.
The subscriber runs after each commit returns, so its file lists commits the store
had acknowledged. (It writes each line with one ``write()``: once that returns, no
SIGKILL can undo it; an fsync would guard against machine crashes, which this test
does not make.) Then:

* right after the kill: every acknowledged commit is in the database, at most one
  commit (the group of firings in flight when the process died) is there
  unacknowledged, and on
  SQLite ``PRAGMA integrity_check`` is ok: the state is the acknowledged prefix;
* the worker is restarted with ``--once`` until nothing is due and the outbox is
  empty, and then every ticket has each due rule applied exactly once, its events
  are versions 1..4 with none lost or repeated, and every outbox entry was
  delivered at least once.

Trials per backend: ``TICKETFLOW_KILL_TRIALS`` if set, else 50 when ``CI`` is set,
else 8. The PostgreSQL test needs ``TICKETFLOW_POSTGRES_URL`` (see conftest.py).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ticketflow import (
    EventKind,
    SQLiteStore,
    Ticket,
    Workflow,
    open_store,
    rules,
    workflows,
)
from ticketflow.stores import TicketQuery

from .conftest import CLOSE, REMIND, answered_tickets, install_recorder

KILL_TRIALS_ENV = "TICKETFLOW_KILL_TRIALS"
DEADLINE = 60.0  # seconds, per wait: generous for a loaded CI machine
LEASE = 0.25  # seconds: the killed worker's claims end soon after it dies
SETUP_VERSION = 2  # created, agent_replied
FINAL_VERSION = 4  # + notified (reminder), + closed


Delivery = tuple[str, int, int, str]  # ticket id, timeline position, version, kind


def trial_count() -> int:
    """How many kills per backend: the env override, else 50 in CI, else 8."""
    override = os.environ.get(KILL_TRIALS_ENV)
    if override:
        return int(override)
    return 50 if os.environ.get("CI") else 8


@dataclass
class Trial:
    """What one kill did, for the summary and for failure messages."""

    number: int
    tickets: int
    batch: int
    kill_after: int
    unfinished_at_kill: int = 0
    in_flight: int = 0
    restarts: int = 0
    redelivered: int = 0


class Harness:
    """The config, the subscriber module and the environment the workers run with."""

    def __init__(self, tmp_path: Path, *, sqlite: bool) -> None:
        self.dir = tmp_path
        self.sqlite = sqlite
        self.config = tmp_path / "workflow.toml"
        data = workflows.liveagent().to_dict()
        data["rules"] = rules.to_dicts([REMIND, CLOSE])
        Workflow.from_dict(data).save(self.config)
        self.pythonpath = install_recorder(tmp_path)

    def command(self, url: str, *extra: str) -> list[str]:
        return [
            sys.executable,
            "-m",
            "ticketflow",
            "worker",
            "--store",
            url,
            "--config",
            str(self.config),
            "--subscriber",
            "recorder:record",
            "--lease",
            str(LEASE),
            *extra,
        ]

    def env(self, record: Path) -> dict[str, str]:
        return {**os.environ, "PYTHONPATH": self.pythonpath, "TICKETFLOW_TEST_RECORD": str(record)}


def deliveries(record: Path) -> list[Delivery]:
    """The complete lines of the delivery file (a torn last line is not a delivery)."""
    try:
        text = record.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    rows = []
    for line in text.split("\n")[:-1]:
        ticket_id, position, version, kind = line.split()
        rows.append((ticket_id, int(position), int(version), kind))
    return rows


class LineCounter:
    """Counts the lines of a growing file, reading only what was appended since last time."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0
        self.lines = 0

    def __call__(self) -> int:
        try:
            with self.path.open("rb") as file:
                file.seek(self.offset)
                more = file.read()
        except FileNotFoundError:
            return 0
        self.offset += len(more)
        self.lines += more.count(b"\n")
        return self.lines


def load(url: str, tag: str, *, sqlite: bool) -> tuple[dict[str, Ticket], int, bool]:
    """Read the tagged tickets through a new store: (tickets, outbox pending, anything due)."""
    store = open_store(url)
    try:
        if sqlite:
            assert isinstance(store, SQLiteStore)
            assert "ok" == store.integrity_check()
        tickets = {t.id: t for t in store.find(TicketQuery(tag=tag))}
        return tickets, store.outbox_pending(), store.next_due_at() is not None
    finally:
        store.close()


class Run:
    """One trial: start, kill, check the prefix, restart, check the end state."""

    def __init__(
        self, harness: Harness, url: str, trial: Trial, rng: random.Random, where: Path
    ) -> None:
        self.harness = harness
        self.url = url
        self.trial = trial
        self.rng = rng
        self.record = where / f"deliveries-{trial.number}.txt"
        self.log = where / f"worker-{trial.number}.log"
        self.env = harness.env(self.record)
        self.tag = f"trial-{trial.number}"  # the trial's tickets, in a store shared by trials
        self.ids = answered_tickets(url, trial.tickets, tags=(self.tag,))
        self.killed_at = 0.0

    def context(self) -> str:
        log = self.log.read_text(encoding="utf-8")[-3000:] if self.log.exists() else ""
        return f"{self.trial}; worker log:\n{log}"

    def load(self) -> tuple[dict[str, Ticket], int, bool]:
        tickets, pending, due = load(self.url, self.tag, sqlite=self.harness.sqlite)
        assert sorted(self.ids) == sorted(tickets)
        return tickets, pending, due

    def start_and_kill(self) -> None:
        """Start the worker; SIGKILL it after ``kill_after`` deliveries and a random jitter."""
        command = self.harness.command(self.url, "--batch", str(self.trial.batch), "--poll", "30")
        with self.log.open("wb") as out:
            process = subprocess.Popen(command, env=self.env, stdout=out, stderr=subprocess.STDOUT)
        lines = LineCounter(self.record)
        try:
            deadline = time.monotonic() + DEADLINE
            while lines() < self.trial.kill_after:
                assert process.poll() is None, f"the worker exited early; {self.context()}"
                assert time.monotonic() < deadline, f"no progress; {self.context()}"
                time.sleep(0.0005)
            # Not waiting for anything: a random offset, so the kill lands anywhere in
            # the commit -> deliver -> acknowledge cycle, not only after a delivery.
            time.sleep(self.rng.uniform(0, 0.003))
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=DEADLINE)
            self.killed_at = time.monotonic()
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()

    def check_acknowledged_prefix(self) -> None:
        """Every acknowledged commit is stored, and at most one unacknowledged group."""
        acked = deliveries(self.record)
        tickets, _, _ = self.load()
        for ticket_id, position, version, kind in acked:
            timeline = tickets[ticket_id].timeline
            assert position < len(timeline), f"lost {ticket_id} {kind}; {self.context()}"
            assert (version, kind) == (timeline[position].version, timeline[position].kind.value)
        acked_commits = {(tid, version) for tid, _, version, _ in acked}
        stored_commits = {
            (tid, event.version)
            for tid, ticket in tickets.items()
            for event in ticket.timeline
            if event.version > SETUP_VERSION
        }
        in_flight = stored_commits - acked_commits
        # run_due commits its firings in groups (one transaction of up to 100, at most
        # a claim batch): the kill may fall between a group's commit and its delivery.
        group = min(self.trial.batch, 100)
        assert len(in_flight) <= group, f"unacknowledged {sorted(in_flight)}; {self.context()}"
        self.trial.in_flight = len(in_flight)
        self.trial.unfinished_at_kill = sum(
            1 for t in tickets.values() if t.version < FINAL_VERSION
        )

    def restart_until_done(self) -> dict[str, Ticket]:
        """Run ``--once`` until nothing is due and the outbox is empty; return the tickets."""
        # The dead worker's claims last LEASE seconds: a real wait, nothing to poll for.
        time.sleep(max(0.0, self.killed_at + LEASE - time.monotonic()))
        command = self.harness.command(self.url, "--once", "--batch", str(self.trial.batch))
        while True:
            self.trial.restarts += 1
            with self.log.open("ab") as out:
                done = subprocess.run(
                    command,
                    env=self.env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    timeout=DEADLINE,
                    check=False,
                )
            assert 0 == done.returncode, self.context()
            tickets, pending, due = self.load()
            if not pending and not due:
                return tickets
            assert self.trial.restarts < 5, f"not done after 5 restarts; {self.context()}"

    def check_end_state(self, tickets: dict[str, Ticket]) -> None:
        """Each rule fired once per ticket, versions 1..4, every entry delivered."""
        for ticket_id, ticket in tickets.items():
            versions = [e.version for e in ticket.timeline]
            assert list(range(1, FINAL_VERSION + 1)) == versions, f"{ticket_id}; {self.context()}"
            fired = Counter(e.data["rule"] for e in ticket.timeline if e.data and "rule" in e.data)
            assert {REMIND.name: 1, CLOSE.name: 1} == fired, f"{ticket_id}; {self.context()}"
            assert "closed" == ticket.status
        entries = {
            (tid, i)
            for tid, ticket in tickets.items()
            for i, event in enumerate(ticket.timeline)
            if event.kind is EventKind.NOTIFIED
        }
        assert self.trial.tickets == len(entries)
        delivered = Counter(
            (tid, pos) for tid, pos, _, kind in deliveries(self.record) if kind == "notified"
        )
        assert set() == entries - set(delivered), self.context()
        self.trial.redelivered = sum(1 for key in entries if delivered[key] > 1)


def run_trials(tmp_path: Path, url_for: Callable[[int], str], *, sqlite: bool, seed: str) -> None:
    harness = Harness(tmp_path, sqlite=sqlite)
    trials = []
    for number in range(trial_count()):
        rng = random.Random(f"{seed}-{number}")  # noqa: S311 - reproducible test draws
        count = rng.randint(100, 150)
        trial = Trial(
            number=number,
            tickets=count,
            batch=rng.choice([1, 7, 25, 100]),
            kill_after=rng.randint(1, 2 * count),  # a reminder and a close per ticket
        )
        run = Run(harness, url_for(number), trial, rng, tmp_path)
        run.start_and_kill()
        run.check_acknowledged_prefix()
        run.check_end_state(run.restart_until_done())
        trials.append(trial)
    mid_sweep = sum(1 for t in trials if t.unfinished_at_kill)
    print(  # noqa: T201 - the summary, shown with -s
        f"\n{seed}: {len(trials)} kills, {mid_sweep} mid-sweep, "
        f"{sum(t.in_flight for t in trials)} with a commit in flight, "
        f"{sum(t.redelivered for t in trials)} entries redelivered, "
        f"restarts {dict(Counter(t.restarts for t in trials))}"
    )
    # The kills must land inside sweeps, or the test would prove nothing.
    assert mid_sweep >= len(trials) * 0.75, trials


def test_sigkill_on_sqlite_loses_nothing_and_duplicates_nothing(tmp_path: Path) -> None:
    """SQLite file: after random SIGKILLs and restarts, every rule fired once, no event lost."""
    run_trials(
        tmp_path, lambda n: f"sqlite:///{tmp_path / f'trial-{n}.db'}", sqlite=True, seed="sqlite"
    )


def test_sigkill_on_postgres_loses_nothing_and_duplicates_nothing(
    tmp_path: Path, postgres_url: str
) -> None:
    """PostgreSQL: the same trials, all in one fresh schema (each trial makes new tickets)."""
    run_trials(tmp_path, lambda _n: postgres_url, sqlite=False, seed="postgres")
