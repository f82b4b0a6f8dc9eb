"""``python -m ticketflow worker`` as a real process on a SQLite file.

The tickets are made on a `FakeClock` set days in the past, so their rules are due
now by the worker's real clock. A subscriber module written into ``tmp_path`` (on
``PYTHONPATH``) appends each delivery to a file. Nothing here sleeps to let
something happen: the tests poll the worker's log or the delivery file against a
deadline.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import attrs
import pytest

from ticketflow import (
    EventKind,
    FakeClock,
    Helpdesk,
    HelpdeskConfig,
    SystemClock,
    open_store,
    rules,
)
from ticketflow.rules import Rule

from .conftest import ANN, REMIND, install_recorder

DEADLINE = 60.0  # seconds: generous, for a loaded CI machine; passing runs take ~1 s


def wait_until(condition: Callable[[], bool], what: str, timeout: float = DEADLINE) -> None:
    """Poll ``condition`` until it holds; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.01)


class Setup:
    """A SQLite file, a workflow config, the recorder module and the worker's environment."""

    def __init__(self, tmp_path: Path, rule_list: list[Rule]) -> None:
        self.dir = tmp_path
        self.url = f"sqlite:///{tmp_path / 'desk.db'}"
        self.config = tmp_path / "helpdesk.toml"
        attrs.evolve(HelpdeskConfig.preset("liveagent"), rules=rule_list).save(self.config)
        self.rules = rule_list
        self.record = tmp_path / "deliveries.txt"
        self.log = tmp_path / "worker.log"
        self.env = {
            **os.environ,
            "PYTHONPATH": install_recorder(tmp_path),
            "TICKETFLOW_TEST_RECORD": str(self.record),
        }
        self.processes: list[subprocess.Popen[bytes]] = []

    def tickets(self, count: int, *, days_ago: float = 3.0) -> list[str]:
        """Open ``count`` answered tickets, ``days_ago`` days in the past by the real clock."""
        clock = FakeClock(SystemClock().now() - timedelta(days=days_ago))
        store = open_store(self.url)
        try:
            desk = Helpdesk(store=store, clock=clock, rules=self.rules)
            ids = []
            for i in range(count):
                ticket = desk.open_ticket(subject=f"ticket {i}", requester=ANN)
                desk.agent_reply(ticket.id, "Please try again", by="bob")
                ids.append(ticket.id)
        finally:
            store.close()
        return ids

    def command(self, *extra: str) -> list[str]:
        return [
            sys.executable,
            "-m",
            "ticketflow",
            "worker",
            "--store",
            self.url,
            "--config",
            str(self.config),
            *extra,
        ]

    def run(self, *extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.command(*extra),
            env=self.env,
            capture_output=True,
            text=True,
            timeout=DEADLINE,
            check=False,
        )

    def start(self, *extra: str) -> subprocess.Popen[bytes]:
        with self.log.open("wb") as log:
            process = subprocess.Popen(
                self.command(*extra), env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        self.processes.append(process)
        return process

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8") if self.log.exists() else ""

    def deliveries(self) -> list[tuple[str, int, int, str]]:
        if not self.record.exists():
            return []
        rows = []
        for line in self.record.read_text(encoding="utf-8").splitlines():
            ticket_id, position, version, kind = line.split()
            rows.append((ticket_id, int(position), int(version), kind))
        return rows

    def notified(self, ticket_ids: list[str]) -> set[tuple[str, int]]:
        """The (ticket, position) of every stored NOTIFIED event of these tickets."""
        store = open_store(self.url)
        try:
            return {
                (tid, i)
                for tid in ticket_ids
                for i, event in enumerate(store.get(tid).timeline)
                if event.kind is EventKind.NOTIFIED
            }
        finally:
            store.close()


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[Callable[[list[Rule]], Setup]]:
    made: list[Setup] = []

    def make(rule_list: list[Rule]) -> Setup:
        made.append(Setup(tmp_path, rule_list))
        return made[-1]

    yield make
    for each in made:
        for process in each.processes:
            if process.poll() is None:
                process.kill()
                process.wait()


def exit_status(process: subprocess.Popen[bytes]) -> int:
    return process.wait(timeout=DEADLINE)


def test_once_fires_due_rules_and_delivers_pending_entries_to_the_subscriber(
    setup: Callable[[list[Rule]], Setup],
) -> None:
    """--once: the due reminders fire, and those already waiting in the outbox are delivered."""
    s = setup([REMIND])
    waiting = s.tickets(3, days_ago=5)
    store = open_store(s.url)
    try:  # fired by a process with no subscriber: the entries wait in the outbox
        assert 3 == Helpdesk(store=store, rules=[REMIND]).run_due()
        assert 3 == store.outbox_pending()
    finally:
        store.close()
    due = s.tickets(5)
    done = s.run("--once", "--subscriber", "recorder:record")
    assert 0 == done.returncode, done.stderr
    assert "pass done: 5 rules fired, 3 outbox entries delivered" in done.stderr
    delivered = s.deliveries()
    assert {(t, p) for t, p, _, _ in delivered} == s.notified(waiting + due)
    assert 8 == len(delivered)
    assert {"notified"} == {kind for *_, kind in delivered}
    store = open_store(s.url)
    try:
        assert 0 == store.outbox_pending()
        assert store.next_due_at() is None
    finally:
        store.close()


def test_the_worker_wakes_for_the_next_due_time_without_waiting_for_the_poll(
    setup: Callable[[list[Rule]], Setup],
) -> None:
    """A reminder due 3 s after start fires then, though --poll is 10 minutes; SIGTERM: exit 0."""
    s = setup([REMIND])
    (ticket_id,) = s.tickets(1, days_ago=2 - 3 / 86400)  # due 3 seconds from now
    process = s.start("--poll", "600", "--subscriber", "recorder:record", "--log-level", "debug")
    wait_until(lambda: bool(s.deliveries()), "the reminder to be delivered")
    assert [(ticket_id, 2, 3, "notified")] == s.deliveries()
    process.send_signal(signal.SIGTERM)
    assert 0 == exit_status(process)
    log = s.log_text()
    assert "stopped on SIGTERM" in log
    # The first pass found nothing due and waited for the due time, not the poll interval.
    first_wait = log.split("waiting up to ", 1)[1].split("s", 1)[0]
    assert 0 < float(first_wait) < 3.5
    assert log.index("pass done: 0 rules fired") < log.index("pass done: 1 rules fired")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_while_idle_stops_the_worker_with_status_0(
    setup: Callable[[list[Rule]], Setup], sig: signal.Signals
) -> None:
    """SIGTERM or SIGINT wakes the waiting worker at once; it logs why and exits 0."""
    s = setup([REMIND])
    process = s.start("--poll", "600")
    wait_until(lambda: "worker started" in s.log_text(), "the worker's start line")
    process.send_signal(sig)
    assert 0 == exit_status(process)
    log = s.log_text()
    assert f"stopped on {sig.name}" in log
    assert "worker stopped" in log
    assert "Traceback" not in log


def test_sigterm_mid_sweep_finishes_the_batch_in_hand_and_claims_no_more(
    setup: Callable[[list[Rule]], Setup],
) -> None:
    """SIGTERM during a sweep: exit 0 after whole batches; the rest stay due, unclaimed."""
    s = setup([REMIND])
    ids = s.tickets(200)
    process = s.start("--batch", "5", "--subscriber", "recorder:slow")
    wait_until(lambda: bool(s.deliveries()), "the first delivery")
    process.send_signal(signal.SIGTERM)
    assert 0 == exit_status(process)
    fired = {t for t, *_ in s.deliveries()}
    assert 0 < len(fired) < len(ids)
    assert 0 == len(fired) % 5  # whole batches only
    assert fired == {t for t, _ in s.notified(ids)}
    store = open_store(s.url)
    try:
        assert 0 == store.outbox_pending()
        # No claim is left behind: every unfired ticket can be claimed at once.
        left = store.claim_due(SystemClock().now(), 1000, timedelta(seconds=1))
        assert set(ids) - fired == {t.id for t in left}
    finally:
        store.close()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("nowhere", "store URL 'nowhere' has no scheme"),
        ("sqlite:///no/such/dir/desk.db", "cannot be opened"),
        ("mysql://localhost/desk", "no backend for scheme 'mysql'"),
    ],
)
def test_a_bad_store_url_exits_2_with_a_clear_message(
    tmp_path: Path, url: str, message: str
) -> None:
    """The worker refuses a URL it cannot open: status 2 and one line naming the URL."""
    done = subprocess.run(
        [sys.executable, "-m", "ticketflow", "worker", "--store", url, "--once"],
        capture_output=True,
        text=True,
        timeout=DEADLINE,
        check=False,
        cwd=tmp_path,
    )
    assert 2 == done.returncode
    assert done.stderr.startswith(f"ticketflow worker: error: --store {url!r}: ")
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def test_the_worker_runs_the_sla_policies_of_its_workflow_config(
    setup: Callable[[list[Rule]], Setup],
) -> None:
    """[[sla]] in the config: a worker process fires the breach and the escalation, and delivers.

    Tickets opened 3 days ago by a help desk on the same config, never answered:
    first reply (1h) is long breached. One ``--once`` pass fires the breach and
    level 1 (stamped at the breach instant) and delivers the three outbox entries.
    """
    s = setup([])
    data = HelpdeskConfig.preset("liveagent").to_dict()
    data["sla"] = [
        {
            "name": "standard",
            "targets": {"normal": {"first_reply": "1h"}},
            "escalations": [{"level": 1, "notify": "team-lead"}],
        }
    ]
    config = HelpdeskConfig.from_dict(data)
    config.save(s.config)
    opened = SystemClock().now() - timedelta(days=3)
    store = open_store(s.url)
    try:
        desk = Helpdesk(config=config, store=store, clock=FakeClock(opened))
        ids = [desk.open_ticket(subject=f"t{i}", requester=ANN).id for i in range(4)]
        assert opened + timedelta(hours=1) == store.next_due_at()
    finally:
        store.close()
    done = s.run("--once", "--subscriber", "recorder:record")
    assert 0 == done.returncode, done.stderr
    assert "pass done: 4 rules fired, 0 outbox entries delivered" in done.stderr
    assert 12 == len(s.deliveries())
    assert {"sla_breached": 4, "escalated": 4, "notified": 4} == {
        kind: sum(1 for *_, k in s.deliveries() if k == kind)
        for kind in ("sla_breached", "escalated", "notified")
    }
    store = open_store(s.url)
    try:
        assert 0 == store.outbox_pending()
        assert store.next_due_at() is None
        for ticket_id in ids:
            breach = next(
                e for e in store.get(ticket_id).timeline if e.kind is EventKind.SLA_BREACHED
            )
            assert opened + timedelta(hours=1) == breach.at
    finally:
        store.close()


GUARDS_MODULE = """\
def closable(ticket):
    return "closable" in ticket.tags


GUARDS = {"closable": closable}
"""


def test_the_worker_loads_custom_guards_by_name(setup: Callable[[list[Rule]], Setup]) -> None:
    """--guards MODULE:MAPPING: the worker's transitions call the user's guard.

    The close transition is guarded by ``closable`` (a tag); a time rule closes
    answered tickets after 2 days. Of two tickets answered 3 days ago only the
    tagged one closes. Without --guards the worker refuses to start, naming the
    guard and the option.
    """
    s = setup([])
    (s.dir / "hooks" / "my_guards.py").write_text(GUARDS_MODULE, encoding="utf-8")
    data = HelpdeskConfig.preset("liveagent").to_dict()
    for transition in data["transitions"]:
        if transition["trigger"] == "close":
            transition["guard"] = "closable"
    data["rules"] = [
        *data["rules"],
        rules.after(status="answered", delay=timedelta(days=2), then="close").to_dict(),
    ]
    config = HelpdeskConfig.from_dict(data, guards={"closable": lambda t: "closable" in t.tags})
    config.save(s.config)
    store = open_store(s.url)
    try:
        desk = Helpdesk(
            config=config, store=store, clock=FakeClock(SystemClock().now() - timedelta(days=3))
        )
        ids = []
        for tags in (["closable"], []):
            ticket = desk.open_ticket(subject="x", requester=ANN, tags=tags)
            ids.append(desk.agent_reply(ticket.id, "Fixed?", by="bob").id)
    finally:
        store.close()
    refused = s.run("--once")
    assert 2 == refused.returncode
    assert "unknown guard 'closable'" in refused.stderr
    assert "--guards" in refused.stderr
    done = s.run("--once", "--guards", "my_guards:GUARDS")
    assert 0 == done.returncode, done.stderr
    store = open_store(s.url)
    try:
        assert ["closed", "answered"] == [store.get(i).status for i in ids]
    finally:
        store.close()


NOOP = Rule(
    name="same_priority",
    at=rules.TimeTrigger(anchor="created", delay=timedelta(days=1)),
    actions=({"set_priority": "normal"},),
)


def test_a_time_rule_that_changes_nothing_does_not_stop_the_worker(
    setup: Callable[[list[Rule]], Setup],
) -> None:
    """A rule setting the priority the tickets have: recorded once, the reminders still fire."""
    s = setup([NOOP, REMIND])
    ids = s.tickets(3)
    done = s.run("--once", "--subscriber", "recorder:record")
    assert 0 == done.returncode, done.stderr
    assert "pass done: 6 rules fired, 0 outbox entries delivered" in done.stderr
    assert "stopping" not in done.stderr
    notified = {(t, p) for t, p, _, kind in s.deliveries() if kind == "notified"}
    assert notified == s.notified(ids)
    again = s.run("--once")
    assert 0 == again.returncode, again.stderr
    store = open_store(s.url)
    try:
        assert store.next_due_at() is None
        for ticket_id in ids:
            marks = [e for e in store.get(ticket_id).timeline if rules.is_no_change(e)]
            assert ["same_priority"] == [e.actor.id for e in marks]
    finally:
        store.close()
