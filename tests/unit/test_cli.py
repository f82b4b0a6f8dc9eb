"""The command line in-process: the demo on SQLite, the diagram, the worker's setup and loop."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from pathlib import Path

import attrs
import pytest

from ticketflow import (
    Event,
    FakeClock,
    Helpdesk,
    HelpdeskConfig,
    MemoryStore,
    Requester,
    SQLiteStore,
    StoreUnavailable,
    SystemClock,
    Ticket,
    open_store,
    rules,
)
from ticketflow.cli import DEMO_STORE, main, run_demo
from ticketflow.cli._worker import _StoppableStore, _Worker
from ticketflow.stores._sqlite import SCHEMA_VERSION

DEMO_FILE = "ticketflow-demo.db"


# --- demo ------------------------------------------------------------------------------


def test_the_demo_keeps_its_tickets_in_a_sqlite_file_that_reopens_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`demo` writes ticketflow-demo.db in the working directory and says every ticket came back."""
    monkeypatch.chdir(tmp_path)
    assert 0 == main(["demo"])
    out = capsys.readouterr().out.splitlines()
    assert (
        f"(fake clock, store {DEMO_STORE}; every command below is timestamped by the clock)"
        == (out[1])
    )
    assert (
        f"Opened {DEMO_STORE} again as a new store: all 5 tickets came back, "
        "each equal to the ticket committed"
    ) in out
    assert "  by status: answered 1, closed 2, new 1, spam 1" in out
    where = f"The tickets are in the file {tmp_path / DEMO_FILE}; each run of the demo starts"
    assert f"{where} it afresh." in out
    store = open_store(DEMO_STORE)
    try:
        assert 5 == store.count()
        # The reminder the demo's rule raised; the SLA warning, breach, escalation
        # and the team lead's notification of the postponed ticket once it woke;
        # and the warning of a ticket whose command came after it was due (fired
        # at its due time by that command, as a sweep on time would have).
        assert 6 == store.outbox_pending()
    finally:
        store.close()
    assert (
        f"6 notifications wait in its outbox for a worker: "
        f"python -m ticketflow worker --store {DEMO_STORE} --once"
    ) == out[-1]


def test_the_demo_keeps_its_story(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The morning is the same on SQLite: rules and SLA stages fire, the queue is ordered."""
    monkeypatch.chdir(tmp_path)
    lines = run_demo()
    assert (
        "Then the clock skips 8 days with run_until; time rules and SLA stages fired at "
        "their exact due times: 4."
    ) in lines
    start = lines.index("The agents' queue at 08:44 UTC (desk.queue(), most urgent first):")
    assert [
        "'Dark mode for the portal?'  (new, first_reply due 09:44)",
        "'VPN drops every 10 minutes'  (open, next_reply due 12:42)",
    ] == [line.split("  ", 2)[2] for line in lines[start + 1 : start + 3]]
    # Postponed at 09:04 with 40 office minutes left, woken a week later at 09:04:
    # the first-reply warning 15 minutes before the breach, then the escalation.
    assert [
        "Mon 09 09:29 sla_warning",
        "Mon 09 09:44 sla_breached",
        "Mon 09 09:44 escalated",
        "Mon 09 09:44 notified",
        # Due during the morning, before a later command on that ticket: the command
        # fires it first, stamped at its due time, as a sweep on time would have.
        "Mon 02 10:59 sla_warning",
    ] == [" ".join(line.split()[:4]) for line in lines if "by sla (system)" in line]
    assert any(line.startswith("  => answered, follow-up of #") for line in lines)
    assert any(line.startswith("  => closed, rated 5/5") for line in lines)
    assert any("woken             postponed -> new" in line for line in lines)
    assert ["  new       1", "  open      0", "  pending   1"] == [
        line for line in lines if line.startswith(("  new ", "  open ", "  pending "))
    ]


def test_each_demo_run_starts_the_default_file_afresh(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A second run, or a leftover file that is not even a database, still gives 5 tickets."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / DEMO_FILE).write_text("left over, not a database")
    (tmp_path / f"{DEMO_FILE}-wal").write_text("stale")
    run_demo()
    run_demo()
    store = open_store(DEMO_STORE)
    try:
        assert 5 == store.count()
    finally:
        store.close()


def test_the_demo_never_deletes_a_store_the_user_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A named store holding tickets is refused, exit status 1, and left exactly as it was."""
    url = f"sqlite:///{tmp_path / 'mine.db'}"
    store = open_store(url)
    desk = Helpdesk(store=store, clock=FakeClock())
    mine = desk.open_ticket(subject="keep me", requester=Requester(name="Ann"))
    store.close()
    assert 1 == main(["demo", "--store", url])
    err = capsys.readouterr().err
    assert f"the demo needs an empty store, and {url!r} holds 1 tickets" in err
    store = open_store(url)
    try:
        assert [mine] == [store.get(mine.id)]
        assert 1 == store.count()
    finally:
        store.close()


def test_the_demo_on_a_named_new_file_keeps_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A new file the user names is filled and kept; the default file is not touched."""
    path = tmp_path / "kept.db"
    assert 0 == main(["demo", "--store", f"sqlite:///{path}"])
    out = capsys.readouterr().out
    assert f"The tickets are in the file {path}; it is yours to keep." in out
    assert path.exists()
    assert not (tmp_path / DEMO_FILE).exists()


def test_the_demo_on_a_memory_store_says_nothing_came_back(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """memory:// runs the same story; reopening gives a new, empty store, and the demo says so."""
    assert 0 == main(["demo", "--store", "memory://"])
    out = capsys.readouterr().out.splitlines()
    assert (
        "Opened memory:// again as a new store: it is empty (a memory store lives only "
        "as long as the store object)."
    ) == out[-1]


def test_the_diagram_command_prints_mermaid(capsys: pytest.CaptureFixture[str]) -> None:
    """`diagram zendesk` prints the preset's Mermaid state diagram."""
    assert 0 == main(["diagram", "zendesk"])
    out = capsys.readouterr().out
    assert out.startswith("---\ntitle: zendesk workflow\n---\nstateDiagram-v2\n")


# --- worker: setup errors --------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--store", "nowhere"], "--store 'nowhere': store URL 'nowhere' has no scheme"),
        (["--store", "sqlite://host/x.db"], "SQLite URLs have no host"),
        (["--store", "memory://", "--config", "missing.toml"], "--config 'missing.toml': cannot"),
        (["--store", "memory://", "--subscriber", "nocolon"], "write module:function"),
        (["--store", "memory://", "--subscriber", "json:nope"], "has no attribute 'nope'"),
        (["--store", "memory://", "--subscriber", "json:__doc__"], "not a callable"),
        (["--store", "memory://", "--subscriber", "no_such_mod:f"], "cannot import module"),
    ],
)
def test_worker_setup_errors_exit_2_with_a_message_naming_the_option(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A bad URL, config or subscriber stops the worker before it starts: status 2, one line."""
    assert 2 == main(["worker", *args, "--once"])
    err = capsys.readouterr().err
    assert err.startswith("ticketflow worker: error: ")
    assert message in err


def test_a_workflow_file_with_invalid_rules_is_a_setup_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A workflow whose [[rules]] are invalid is refused with the rule's error."""
    config = tmp_path / "bad.toml"
    text = (Path(__file__).parents[2] / "src/ticketflow/workflows/liveagent.toml").read_text()
    config.write_text(
        text + '\n[[rules]]\nname = "x"\non = ["created"]\nactions = [{ explode = true }]\n'
    )
    assert 2 == main(["worker", "--store", "memory://", "--config", str(config), "--once"])
    err = capsys.readouterr().err
    assert f"--config {str(config)!r}" in err
    assert "rules[2].actions[0].explode: unknown action" in err


@pytest.mark.parametrize("option", ["--batch", "--poll", "--lease"])
def test_worker_numbers_must_be_positive(option: str, capsys: pytest.CaptureFixture[str]) -> None:
    """--batch, --poll and --lease refuse 0 (argparse's usage error, status 2)."""
    with pytest.raises(SystemExit) as raised:
        main(["worker", "--store", "memory://", option, "0"])
    assert 2 == raised.value.code
    assert "expected a number above 0" in capsys.readouterr().err


# --- worker: the loop, in-process ------------------------------------------------------

REMIND = rules.inactivity(status="answered", after=timedelta(days=2), then="remind")


def due_desk(store: MemoryStore | _StoppableStore, count: int) -> list[str]:
    """Open ``count`` answered tickets whose reminder was due a day ago."""
    past = FakeClock(SystemClock().now() - timedelta(days=3))
    desk = Helpdesk(store=store, clock=past, rules=[REMIND])  # type: ignore[arg-type]
    ids = []
    for i in range(count):
        ticket = desk.open_ticket(subject=f"t{i}", requester=Requester(name="Ann"))
        desk.agent_reply(ticket.id, "Try this", by="bob")
        ids.append(ticket.id)
    return ids


def worker_on(
    store: object, stop: threading.Event, *, batch: int = 2, poll: float = 60.0
) -> tuple[_Worker, Helpdesk]:
    desk = Helpdesk(store=store, clock=SystemClock(), rules=[REMIND])  # type: ignore[arg-type]
    worker = _Worker(desk, batch=batch, poll=poll, lease=timedelta(seconds=30), stop=stop)
    return worker, desk


def test_stop_lets_the_batch_in_hand_finish_and_claims_nothing_more() -> None:
    """Stop set mid-batch: that batch's tickets are all fired, the rest stay due and unclaimed."""
    memory = MemoryStore()
    ids = due_desk(memory, 7)
    stop = threading.Event()
    worker, desk = worker_on(_StoppableStore(memory, stop), stop, batch=3)
    seen: list[str] = []

    def stop_at_first(ticket: Ticket, _event: Event) -> None:
        seen.append(ticket.id)
        stop.set()

    desk.subscribe(stop_at_first)
    assert 0 == worker.run(once=False)
    assert ids[:3] == seen
    now = SystemClock().now()
    assert ids[3:] == [t.id for t in memory.claim_due(now, 100, timedelta(seconds=1))]


def test_a_pass_fires_due_rules_then_delivers_the_outbox() -> None:
    """run_pass counts the rules fired and the pending entries delivered by dispatch."""
    memory = MemoryStore()
    ids = due_desk(memory, 4)
    Helpdesk(store=memory, clock=SystemClock(), rules=[REMIND]).run_due()  # no subscriber
    assert 4 == memory.outbox_pending()
    more = due_desk(memory, 2)
    stop = threading.Event()
    worker, desk = worker_on(_StoppableStore(memory, stop), stop)
    delivered: list[str] = []
    desk.subscribe(lambda ticket, _event: delivered.append(ticket.id))
    assert (2, 4) == worker.run_pass()
    assert sorted(ids + more) == sorted(delivered)
    assert 0 == memory.outbox_pending()


def test_the_worker_sleeps_until_the_next_due_time_when_it_is_sooner_than_the_poll() -> None:
    """pause() is the time to the next due ticket, capped by the poll interval."""
    memory = MemoryStore()
    stop = threading.Event()
    worker, _ = worker_on(memory, stop, poll=60.0)
    started = SystemClock().now()
    assert 60.0 == worker.pause(started)  # nothing due at all
    soon = FakeClock(started - timedelta(days=2) + timedelta(seconds=30))
    desk = Helpdesk(store=memory, clock=soon, rules=[REMIND])
    desk.agent_reply(desk.open_ticket(subject="s", requester=Requester(name="A")).id, "x", by="b")
    assert 25.0 < worker.pause(started) <= 30.0
    late = FakeClock(started - timedelta(days=3))
    desk = Helpdesk(store=memory, clock=late, rules=[REMIND])
    desk.agent_reply(desk.open_ticket(subject="s", requester=Requester(name="A")).id, "x", by="b")
    # Due before the pass started and still there: claimed elsewhere; poll, do not spin.
    assert 60.0 == worker.pause(started)


class FlakyStore(_StoppableStore):
    """Unavailable for the first ``failures`` claims."""

    def __init__(self, store: MemoryStore, stop: threading.Event, failures: int) -> None:
        super().__init__(store, stop)
        self.failures = failures

    def claim_due(self, now, limit, lease):  # type: ignore[no-untyped-def]
        if self.failures:
            self.failures -= 1
            raise StoreUnavailable("database restarting")
        return super().claim_due(now, limit, lease)


def test_an_unavailable_store_is_logged_and_retried_after_the_poll_interval(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """StoreUnavailable: a warning, a wait of --poll, then the pass runs and the rules fire."""
    memory = MemoryStore()
    ids = due_desk(memory, 2)
    stop = threading.Event()
    worker, desk = worker_on(FlakyStore(memory, stop, failures=2), stop, poll=0.001)
    desk.subscribe(lambda _t, _e: stop.set())
    with caplog.at_level(logging.WARNING, logger="ticketflow.worker"):
        assert 0 == worker.run(once=False)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert 2 == len(warnings)
    assert all("store unavailable: database restarting; retrying in" in w for w in warnings)
    assert all(len(memory.get(i).timeline) == 3 for i in ids)


def test_once_exits_1_when_the_store_is_unavailable(caplog: pytest.LogCaptureFixture) -> None:
    """With --once there is no retry: the pass fails with status 1 and an error record."""
    memory = MemoryStore()
    stop = threading.Event()
    worker, _ = worker_on(FlakyStore(memory, stop, failures=1), stop)
    with caplog.at_level(logging.ERROR, logger="ticketflow.worker"):
        assert 1 == worker.run(once=True)
    assert ["store unavailable: database restarting"] == [r.getMessage() for r in caplog.records]


def test_worker_once_in_process_fires_and_logs_deliveries(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`worker --once` with no subscriber logs each delivery, so the outbox still drains."""
    url = f"sqlite:///{tmp_path / 'w.db'}"
    store = open_store(url)
    ids = due_desk(store, 2)  # type: ignore[arg-type]
    waiting = store._conn.execute(  # type: ignore[attr-defined]
        "SELECT count(*) FROM search_docs WHERE id > (SELECT upto FROM search_indexed)"
    ).fetchone()[0]
    assert waiting == 4  # the text of two opens and two replies, not yet in the FTS5 index
    store.close()
    config = tmp_path / "helpdesk.toml"
    attrs.evolve(HelpdeskConfig.preset("liveagent"), rules=[REMIND]).save(config)
    assert 0 == main(["worker", "--store", url, "--config", str(config), "--once"])
    err = capsys.readouterr().err
    for ticket_id in ids:
        assert f"delivered notified of ticket {ticket_id} (version 3, topic reminder)" in err
    assert "pass done: 2 rules fired, 0 outbox entries delivered" in err
    store = open_store(url)
    try:
        assert 0 == store.outbox_pending()
        assert store.next_due_at() is None
        assert 0 == store.index_search()  # the worker's pass indexed the waiting text
    finally:
        store.close()


def test_the_worker_uses_the_embedded_sqlite_file_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without --store, `worker --once` opens (and creates) ./helpdesk.db, a ticketflow file."""
    monkeypatch.chdir(tmp_path)
    assert 0 == main(["worker", "--once"])
    assert SCHEMA_VERSION == SQLiteStore(tmp_path / "helpdesk.db").schema_version()


# --- report ----------------------------------------------------------------------------


def test_report_prints_a_summary_of_the_demo_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`report` on the demo's file: one row of all 5 tickets, by the figures of its timelines."""
    monkeypatch.chdir(tmp_path)
    run_demo()
    capsys.readouterr()
    url = f"sqlite:///{tmp_path / DEMO_FILE}"
    assert 0 == main(["report", "--store", url, "--now", "2026-03-20T00:00+00:00"])
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"5 tickets in {url} (workflow liveagent), at 2026-03-20 00:00 UTC"
    assert out[1].split() == [
        "group", "tickets", "1st", "resp", "med", "1st", "resp", "p90",
        "resolved", "med", "resolved", "p90", "replies", "a/c", "reopens", "csat",
    ]  # fmt: skip
    # First responses of 12, 14 and 20 minutes; resolutions of 58 and 57 minutes (the
    # median, 57.5 min, shows as 57m); 4 agent and 1 customer replies; one rating of 5.
    assert out[2].split() == ["all", "5", "14m", "20m", "57m", "58m", "4/1", "0", "5.0", "(1)"]


def test_report_groups_by_assignee_and_period_and_writes_csv(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """--by and --period add group columns; --csv writes the full aggregated rows."""
    monkeypatch.chdir(tmp_path)
    run_demo()
    capsys.readouterr()
    url = f"sqlite:///{tmp_path / DEMO_FILE}"
    csv_file = tmp_path / "report.csv"
    argv = ["report", "--store", url, "--by", "assignee", "--period", "week"]
    assert 0 == main([*argv, "--csv", str(csv_file), "--now", "2026-03-20T00:00+00:00"])
    out = capsys.readouterr().out.splitlines()
    assert out[1].split()[:3] == ["assignee", "period", "tickets"]
    assert [line.split()[:3] for line in out[2:5]] == [
        ["bob", "2026-W10", "1"],
        ["eve", "2026-W10", "2"],
        ["(none)", "2026-W10", "2"],
    ]
    assert out[5] == f"wrote 3 rows to {csv_file}"
    lines = csv_file.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("assignee,period,tickets,first_response_count,")
    assert lines[1].startswith("bob,2026-W10,1,1,720.0,")


def test_report_names_a_bad_now_or_config_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Setup errors are one line on stderr and exit status 2."""
    url = f"sqlite:///{tmp_path / 'r.db'}"
    assert 2 == main(["report", "--store", url, "--now", "2026-03-20T00:00"])
    assert "--now '2026-03-20T00:00': give a time zone" in capsys.readouterr().err
    assert 2 == main(["report", "--store", url, "--config", str(tmp_path / "none.toml")])
    assert "--config" in capsys.readouterr().err


def test_report_on_an_empty_store_prints_a_header_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No tickets: a zero count and no rows, exit status 0."""
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    assert 0 == main(["report", "--store", url, "--now", "2026-03-20T00:00+00:00"])
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("0 tickets in")
    assert len(out) == 2


SLA_TOML = """
schema_version = 1

[[sla]]
name = "standard"

[sla.targets.low]
first_reply = "1h"
resolution = "1d"

[sla.targets.normal]
first_reply = "15m"
resolution = "1h"

[sla.targets.high]
first_reply = "15m"
resolution = "1h"
"""


def test_report_with_sla_adds_an_achievement_column_per_metric(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """--sla FILE (TOML [[sla]]): first reply 2 of 4 within 15 min, resolution 2 of 3."""
    monkeypatch.chdir(tmp_path)
    run_demo()
    capsys.readouterr()
    policy_file = tmp_path / "sla.toml"
    policy_file.write_text(SLA_TOML, encoding="utf-8")
    url = f"sqlite:///{tmp_path / DEMO_FILE}"
    argv = ["report", "--store", url, "--now", "2026-03-10T12:00+00:00", "--sla", str(policy_file)]
    assert 0 == main([*argv, "--by", "assignee"])
    out = capsys.readouterr().out.splitlines()
    assert out[1].endswith("first reply SLA  resolution SLA")
    assert [line.split()[-4:] for line in out[2:5]] == [
        ["100%", "(1/1)", "100%", "(1/1)"],  # bob: replied in 12 min, solved in 58 min
        ["50%", "(1/2)", "100%", "(1/1)"],  # eve: one reply in 14 min, one in 20 min
        ["0%", "(0/1)", "0%", "(0/1)"],  # unassigned: never answered, never solved
    ]
    import json  # noqa: PLC0415 - this test's own needs (the file's imports are shared)
    import tomllib  # noqa: PLC0415

    policies = tomllib.loads(SLA_TOML)["sla"]
    as_json = tmp_path / "sla.json"
    as_json.write_text(json.dumps({"sla": policies}), encoding="utf-8")
    assert 0 == main(
        ["report", "--store", url, "--now", "2026-03-10T12:00+00:00", "--sla", str(as_json)]
    )
    assert capsys.readouterr().out.splitlines()[2].split()[-4:] == ["50%", "(2/4)", "67%", "(2/3)"]
    # Without --sla, the [[sla]] policies of the --config file count: the same spelling.
    config = tmp_path / "with-sla.toml"
    config.write_text(
        HelpdeskConfig.preset("liveagent").to_toml() + SLA_TOML.replace("schema_version = 1", "")
    )
    assert 0 == main(
        ["report", "--store", url, "--now", "2026-03-10T12:00+00:00", "--config", str(config)]
    )
    assert capsys.readouterr().out.splitlines()[2].split()[-4:] == ["50%", "(2/4)", "67%", "(2/3)"]
    # And the whole configuration file serves as --sla too.
    assert 0 == main(
        ["report", "--store", url, "--now", "2026-03-10T12:00+00:00", "--sla", str(config)]
    )
    assert capsys.readouterr().out.splitlines()[2].split()[-4:] == ["50%", "(2/4)", "67%", "(2/3)"]


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("old.toml", SLA_TOML.replace("[[sla]]", "[[policies]]").replace("[sla.", "[policies.")),
        ("old.json", None),
    ],
)
def test_report_still_reads_the_old_policies_spelling_with_a_deprecation_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, text: str | None
) -> None:
    """--sla with [[policies]] (or a JSON list), the 0.1 spelling: read, and stderr says so."""
    import json  # noqa: PLC0415 - this test's own needs (the file's imports are shared)
    import tomllib  # noqa: PLC0415

    path = tmp_path / name
    path.write_text(text or json.dumps(tomllib.loads(SLA_TOML)["sla"]), encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'r.db'}"
    assert 0 == main(["report", "--store", url, "--sla", str(path)])
    err = capsys.readouterr().err
    assert f"--sla {str(path)!r}: [[policies]] (or a JSON list) is deprecated" in err


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("missing.toml", None, "cannot read it"),
        ("broken.toml", "x =", "not valid TOML"),
        ("empty.json", "{}", "expected [[sla]] tables"),
        ("typo.toml", SLA_TOML.replace("resolution", "resolutoin", 1), "sla[0].targets.low"),
        ("bad.json", '[{"name": "x", "targets": {"normal": {"first_reply": "soon"}}}]', "soon"),
    ],
)
def test_report_names_a_bad_sla_file_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, text: str | None, message: str
) -> None:
    """An unreadable, malformed or invalid policy file: exit 2, one line naming the file."""
    path = tmp_path / name
    if text is not None:
        path.write_text(text, encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'r.db'}"
    assert 2 == main(["report", "--store", url, "--sla", str(path)])
    err = capsys.readouterr().err
    assert f"--sla {str(path)!r}" in err
    assert message in err


def test_demo_runs_on_the_configuration_file_given(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """demo --config FILE: the morning runs the file's rules and SLA policies, not the demo's."""
    config = tmp_path / "helpdesk.toml"
    text = HelpdeskConfig.preset("liveagent").to_toml()
    config.write_text(
        text + '\n[[sla]]\nname = "std"\ntargets = { normal = { first_reply = "2h" } }\n'
    )
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    assert 0 == main(["demo", "--store", url, "--config", str(config)])
    out = capsys.readouterr().out.splitlines()
    assert ["rules: wake_postponed, confirmation", "SLA: std"] == out[2:4]
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace("initial =", "initail ="))
    assert 1 == main(["demo", "--store", f"sqlite:///{tmp_path / 'd2.db'}", "--config", str(bad)])
    assert "initail: unknown key" in capsys.readouterr().err
