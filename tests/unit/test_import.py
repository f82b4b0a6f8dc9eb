"""Bulk import (`Helpdesk.import_tickets`, `ticketflow.importing`): validation, idempotence,
past time rules and SLA stages, the two formats, the CLI, and every backend.
"""

from __future__ import annotations

import gzip
import json
import os
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ticketflow import (
    EventKind,
    FakeClock,
    Helpdesk,
    HelpdeskConfig,
    InvalidInputError,
    MemoryStore,
    SQLiteStore,
    TicketStore,
    open_store,
    workflows,
)
from ticketflow.cli import main as cli_main
from ticketflow.exceptions import ImportFormatError, ImportRecordError
from ticketflow.importing import CsvMapping, ImportEvent, ImportRecord, read_csv, read_jsonl
from ticketflow.rules import is_no_change
from ticketflow.sla import SlaPolicy

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
"""The import's instant (the fake clock)."""
PAST = datetime(2024, 1, 8, 9, 0, tzinfo=UTC)
"""Two years before: a Monday."""


def _desk(
    config: str = "liveagent", store: TicketStore | None = None, **kwargs: object
) -> Helpdesk:
    if kwargs:
        return Helpdesk(workflows.liveagent(), store=store, clock=FakeClock(NOW), **kwargs)  # type: ignore[arg-type]
    return Helpdesk(config=HelpdeskConfig.preset(config), store=store, clock=FakeClock(NOW))


def _created(at: datetime = PAST, **kwargs: object) -> ImportEvent:
    data = {"subject": "VPN down", "requester": {"name": "Ann", "email": "ann@example.com"}}
    return ImportEvent(kind="created", at=at, data=data, **kwargs)  # type: ignore[arg-type]


def _resolved_ticket(ext: str = "OLD-1") -> ImportRecord:
    return ImportRecord(
        external_id=ext,
        events=[
            _created(message="It drops every hour."),
            ImportEvent(
                kind="agent_replied", at=PAST + timedelta(hours=1), actor="bob", message="Fixed?"
            ),
            ImportEvent(kind="resolved", at=PAST + timedelta(hours=2), actor="bob"),
        ],
    )


# --- the happy path ----------------------------------------------------------------------


def test_a_record_becomes_a_ticket_with_its_own_times_and_statuses() -> None:
    """Events keep their instants, the reply moves the status as the workflow says."""
    desk = _desk()
    report = desk.import_tickets([_resolved_ticket()])
    assert (1, 3, 0, ()) == (report.tickets, report.events, report.skipped, report.refused)
    ticket = desk.get("OLD-1")
    assert "resolved" == ticket.status
    assert [
        (EventKind.CREATED, "new"),
        (EventKind.AGENT_REPLIED, "answered"),
        (EventKind.RESOLVED, "resolved"),
    ] == [(e.kind, e.status_after) for e in ticket.timeline]
    assert PAST == ticket.created_at
    assert PAST + timedelta(hours=1) == ticket.first_response_at
    assert PAST + timedelta(hours=2) == ticket.resolved_at
    assert {1} == {e.version for e in ticket.timeline}
    assert 1 == ticket.version
    assert "Fixed?" == ticket.messages[0].body
    assert "It drops every hour." == ticket.description
    # The stored ticket is the one its events rebuild.
    assert type(ticket).rebuild(ticket.timeline) == ticket


def test_a_ticket_can_start_in_any_status_and_carries_its_fields() -> None:
    """The creation names the status it starts in, the assignee, department and priority."""
    desk = _desk()
    record = ImportRecord(
        external_id="X",
        events=[
            _created(status="open", actor="bob", assignee="bob", department="it", priority="high"),
            ImportEvent(at=PAST + timedelta(minutes=5), actor="eve", assignee="eve"),
            ImportEvent(at=PAST + timedelta(minutes=6), priority="urgent", actor="eve"),
        ],
    )
    desk.import_tickets([record])
    ticket = desk.get("X")
    assert ("open", "eve", "it", "urgent") == (
        ticket.status,
        ticket.assignee,
        ticket.department,
        ticket.priority.label,
    )
    assert [EventKind.CREATED, EventKind.ASSIGNED, EventKind.PRIORITY_CHANGED] == [
        e.kind for e in ticket.timeline
    ]
    assert "bob" == ticket.timeline[0].actor.id


def test_open_tickets_get_their_queue_key_and_later_commands_continue_them() -> None:
    """An imported open ticket is in the work queue and takes commands at version 2."""
    desk = _desk()
    desk.import_tickets([ImportRecord(external_id="Q", events=[_created()])])
    assert ["Q"] == [t.id for t in desk.queue()]
    ticket = desk.agent_reply("Q", "Hello", by="bob")
    assert (2, "answered") == (ticket.version, ticket.status)


# --- validation ---------------------------------------------------------------------------


def test_a_naive_time_is_refused_naming_the_record_and_field() -> None:
    """A naive datetime raises ImportRecordError with the external id, index and field."""
    desk = _desk()
    naive = datetime(2024, 1, 8, 10, 0)
    record = ImportRecord(
        external_id="N-1", events=[_created(), ImportEvent(at=naive, status="open")]
    )
    with pytest.raises(ImportRecordError) as caught:
        desk.import_tickets([record])
    assert ("N-1", 1, "events[1].at") == (
        caught.value.external_id,
        caught.value.index,
        caught.value.field,
    )
    assert "naive" in str(caught.value)
    assert "N-1" in str(caught.value)
    assert 0 == desk.store.count()


def test_an_unknown_status_is_refused() -> None:
    """A status the workflow does not have is refused, named."""
    desk = _desk()
    record = ImportRecord(
        external_id="U", events=[_created(), ImportEvent(at=PAST, status="limbo")]
    )
    with pytest.raises(ImportRecordError, match="unknown status 'limbo'") as caught:
        desk.import_tickets([record])
    assert 1 == caught.value.index


def test_a_refused_transition_strict_commits_nothing_of_the_record_but_keeps_earlier_ones() -> None:
    """Strict: the records before the refused one are committed, it and later ones are not."""
    desk = _desk()
    bad = ImportRecord(
        external_id="BAD",
        events=[_created(), ImportEvent(at=PAST + timedelta(hours=1), status="open")],
    )
    with pytest.raises(ImportRecordError) as caught:
        desk.import_tickets([_resolved_ticket("A"), bad, _resolved_ticket("C")], batch=10)
    assert ("BAD", 1) == (caught.value.external_id, caught.value.index)
    assert "no transition from 'new' to 'open'" in caught.value.reason
    assert 1 == desk.store.count()
    assert "resolved" == desk.get("A").status


def test_a_refused_transition_non_strict_is_reported_and_skipped_alone() -> None:
    """Non-strict: the event is skipped and reported; its assignee stands; the rest goes on."""
    desk = _desk()
    record = ImportRecord(
        external_id="NS",
        events=[
            _created(),
            ImportEvent(at=PAST + timedelta(hours=1), status="open", assignee="bob"),
            ImportEvent(at=PAST + timedelta(hours=2), status="answered"),
        ],
    )
    report = desk.import_tickets([record], strict=False)
    assert 1 == len(report.refused)
    refusal = report.refused[0]
    assert ("NS", 1, "new", "open") == (
        refusal.external_id,
        refusal.index,
        refusal.status,
        refusal.wanted,
    )
    ticket = desk.get("NS")
    assert ("answered", "bob") == (ticket.status, ticket.assignee)


def test_events_after_a_locked_status_are_refused() -> None:
    """A closed ticket is locked: later events are refused whole (fields too)."""
    desk = _desk()
    record = ImportRecord(
        external_id="L",
        events=[
            _created(status="resolved"),
            ImportEvent(at=PAST + timedelta(hours=1), status="closed"),
            ImportEvent(at=PAST + timedelta(hours=2), status="open", assignee="bob"),
        ],
    )
    report = desk.import_tickets([record], strict=False)
    assert ["the ticket is locked in status 'closed'"] == [r.reason for r in report.refused]
    assert (None, "closed") == (desk.get("L").assignee, desk.get("L").status)


def test_events_out_of_order_or_after_the_import_are_refused() -> None:
    """Times go forward within a record and never pass the import's instant."""
    desk = _desk()
    record = ImportRecord(
        external_id="T",
        events=[
            _created(),
            ImportEvent(at=PAST - timedelta(hours=1), status="open"),
            ImportEvent(at=NOW + timedelta(days=1), status="open"),
        ],
    )
    report = desk.import_tickets([record], strict=False)
    reasons = [r.reason for r in report.refused]
    assert "earlier than the event before" in reasons[0]
    assert "after the import's instant" in reasons[1]


def test_a_bad_creation_skips_its_record_in_non_strict_mode() -> None:
    """A first event that is not a creation refuses the record (index 0)."""
    desk = _desk()
    record = ImportRecord(external_id="B", events=[ImportEvent(at=PAST, status="open")])
    report = desk.import_tickets([record, _resolved_ticket()], strict=False)
    assert 1 == report.tickets
    assert [("B", 0)] == [(r.external_id, r.index) for r in report.refused]
    with pytest.raises(ImportRecordError, match="'created'"):
        desk.import_tickets([record])


def test_a_bad_external_id_is_refused_strict_or_reported() -> None:
    """A blank external id raises ImportRecordError (strict) or is reported and skipped."""
    desk = _desk()
    record = ImportRecord(external_id=" ", events=[_created()])
    with pytest.raises(ImportRecordError) as caught:
        desk.import_tickets([record])
    assert ("external_id", None) == (caught.value.field, caught.value.index)
    report = desk.import_tickets([record, _resolved_ticket()], strict=False)
    assert (1, [" "]) == (report.tickets, [r.external_id for r in report.refused])


def test_records_must_be_an_iterable_of_records() -> None:
    """Anything else is refused with a typed error naming the argument."""
    desk = _desk()
    with pytest.raises(InvalidInputError) as caught:
        desk.import_tickets(42)  # type: ignore[arg-type]
    assert "records" == caught.value.field
    with pytest.raises(InvalidInputError):
        desk.import_tickets(["not a record"])  # type: ignore[list-item]


# --- idempotence --------------------------------------------------------------------------


def test_a_second_import_adds_nothing_and_reports_skipped() -> None:
    """Re-running an import skips the tickets it made (ticket id = prefix + external id)."""
    desk = _desk()
    records = [_resolved_ticket("A"), _resolved_ticket("B")]
    first = desk.import_tickets(records, id_prefix="zd-")
    second = desk.import_tickets(records, id_prefix="zd-")
    assert (2, 0) == (first.tickets, first.skipped)
    assert (0, 2, 0) == (second.tickets, second.skipped, second.events)
    assert 2 == desk.store.count()
    assert 1 == desk.get("zd-A").version


def test_a_record_repeated_in_one_input_is_skipped() -> None:
    """The same external id twice in one batch: the second is skipped."""
    desk = _desk()
    report = desk.import_tickets([_resolved_ticket("A"), _resolved_ticket("A")])
    assert (1, 1) == (report.tickets, report.skipped)


# --- time rules and SLA stages of the past ---------------------------------------------------


def test_past_time_rules_never_fire_after_the_import() -> None:
    """Zendesk closes solved tickets after 4 days: one solved 2 years ago stays solved."""
    desk = _desk("zendesk")
    record = ImportRecord(
        external_id="Z",
        events=[
            _created(),
            ImportEvent(at=PAST + timedelta(hours=2), actor="bob", status="solved"),
        ],
    )
    desk.import_tickets([record])
    ticket = desk.get("Z")
    markers = [e for e in ticket.timeline if is_no_change(e)]
    assert ["close_solved_after_4d"] == [e.data["rule"] for e in markers]
    assert desk.next_due("Z") is None
    assert 0 == desk.run_due()
    assert 0 == desk.run_due(NOW + timedelta(days=30))
    # A command on it fires nothing from the past: only the note is added.
    after = desk.add_note("Z", "looked at it", by="bob")
    assert ("solved", [EventKind.NOTE_ADDED]) == (
        after.status,
        [e.kind for e in after.timeline[len(ticket.timeline) :]],
    )


def test_time_rules_due_after_the_import_still_fire() -> None:
    """A ticket solved one day before the import is closed 3 days later, as usual."""
    desk = _desk("zendesk")
    solved = NOW - timedelta(days=1)
    record = ImportRecord(
        external_id="Z2",
        events=[_created(at=solved - timedelta(hours=1)), ImportEvent(at=solved, status="solved")],
    )
    desk.import_tickets([record])
    assert solved + timedelta(days=4) == desk.next_due("Z2").at  # type: ignore[union-attr]
    assert 1 == desk.run_due(NOW + timedelta(days=4))
    assert "closed" == desk.get("Z2").status


_POLICY = SlaPolicy(
    "standard", targets={"normal": {"first_reply": "1h"}}, warn_before="15m", escalations=()
)


def test_past_sla_stages_never_fire_after_the_import() -> None:
    """An open ticket whose first-reply target passed long ago fires no warning or breach."""
    desk = _desk(sla=[_POLICY])
    desk.import_tickets([ImportRecord(external_id="S", events=[_created()])])
    ticket = desk.get("S")
    assert not any(e.kind is EventKind.SLA_BREACHED for e in ticket.timeline)
    assert {"warning", "breach"} == {e.data["stage"] for e in ticket.timeline if is_no_change(e)}
    assert 0 == desk.run_due(NOW + timedelta(days=1))
    assert desk.sla_state("S").metrics  # the SLA state still reports the overdue target


def test_mark_breaches_records_the_breaches_at_their_instants() -> None:
    """mark_breaches: a first reply 3 h late records sla_breached at created + 1 h."""
    desk = _desk(sla=[_POLICY])
    record = ImportRecord(
        external_id="M",
        events=[
            _created(),
            ImportEvent(kind="agent_replied", at=PAST + timedelta(hours=3), actor="bob"),
            ImportEvent(kind="resolved", at=PAST + timedelta(hours=4), actor="bob"),
        ],
    )
    desk.import_tickets([record], mark_breaches=True)
    timeline = desk.get("M").timeline
    breaches = [e for e in timeline if e.kind is EventKind.SLA_BREACHED]
    assert [PAST + timedelta(hours=1)] == [e.at for e in breaches]
    assert "first_reply" == breaches[0].data["metric"]
    assert [e.at for e in timeline] == sorted(e.at for e in timeline)
    assert 0 == desk.run_due(NOW + timedelta(days=1))
    # Without the option the same history records no breach.
    plain = _desk(sla=[_POLICY])
    plain.import_tickets([record])
    assert not any(e.kind is EventKind.SLA_BREACHED for e in plain.get("M").timeline)


# --- streams --------------------------------------------------------------------------------


def _many(count: int) -> Iterator[ImportRecord]:
    for i in range(count):
        yield ImportRecord(
            external_id=f"G-{i}",
            events=(
                _created(at=PAST + timedelta(seconds=i)),
                ImportEvent(at=PAST + timedelta(seconds=i, minutes=1), status="answered"),
            ),
        )


def test_a_generator_is_consumed_lazily_in_batches() -> None:
    """Records are read as the batches go: progress sees each batch committed."""
    desk = _desk()
    seen: list[tuple[int, int]] = []
    report = desk.import_tickets(_many(25), batch=10, progress=lambda t, e: seen.append((t, e)))
    assert [(10, 20), (20, 40), (25, 50)] == seen
    assert 25 == report.tickets == desk.store.count()


def test_memory_stays_flat_apart_from_the_stored_tickets() -> None:
    """The import holds one batch: its own peak does not grow with the input.

    Measured with a store that keeps nothing, so only the import's own memory counts:
    the peak for 20,000 tickets is within 1.5x that of 2,000 (a list of all records
    would be ten times larger).
    """

    class Forgetful(MemoryStore):
        def commit(self, changes):  # type: ignore[no-untyped-def, override]
            pass

        def insert_new(self, changes):  # type: ignore[no-untyped-def, override]
            return []

    def peak(count: int) -> int:
        desk = _desk(store=Forgetful())
        tracemalloc.start()
        try:
            desk.import_tickets(_many(count), batch=500)
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    small, large = peak(2_000), peak(20_000)
    assert large < 1.5 * small, (small, large)


# --- formats ----------------------------------------------------------------------------------


def _jsonl(tmp_path: Path, lines: list[object]) -> Path:
    path = tmp_path / "history.jsonl"
    path.write_text("\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n")
    return path


def test_jsonl_groups_contiguous_lines_into_records(tmp_path: Path) -> None:
    """One event per line; a change of ``ticket`` starts the next record."""
    path = _jsonl(
        tmp_path,
        [
            {"ticket": "A", "kind": "created", "at": "2024-01-08T09:00:00+01:00"},
            {"ticket": "A", "at": "2024-01-08T10:00:00+01:00", "status": "answered"},
            "",
            {"ticket": "B", "kind": "created", "at": "2024-01-09T09:00:00Z"},
        ],
    )
    records = list(read_jsonl(path))
    assert [("A", 2), ("B", 1)] == [(r.external_id, len(r.events)) for r in records]
    assert datetime(2024, 1, 8, 8, tzinfo=UTC) == records[0].events[0].at


def test_a_bad_jsonl_line_is_named(tmp_path: Path) -> None:
    """Malformed JSON, an unknown key or a naive time names its line number."""
    good = {"ticket": "A", "kind": "created", "at": "2024-01-08T09:00:00Z"}
    for bad, words in (
        ("{not json", "not JSON"),
        ({"ticket": "A", "at": "2024-01-08T09:00:00Z", "colour": "red"}, "unknown key"),
        ({"ticket": "A", "at": "2024-01-08T09:00:00"}, "no UTC offset"),
        ({"ticket": "A", "at": "2024-01-08T09:00:00Z", "kind": "exploded"}, "unknown kind"),
    ):
        path = _jsonl(tmp_path, [good, bad])
        with pytest.raises(ImportFormatError) as caught:
            list(read_jsonl(path))
        assert 2 == caught.value.line
        assert "line 2" in str(caught.value)
        assert words in str(caught.value)


def test_jsonl_naive_times_take_an_explicit_zone(tmp_path: Path) -> None:
    """zone= places naive timestamps (Brussels in winter is UTC+1)."""
    path = _jsonl(tmp_path, [{"ticket": "A", "kind": "created", "at": "2024-01-08T09:00:00"}])
    (record,) = read_jsonl(path, zone="Europe/Brussels")
    assert datetime(2024, 1, 8, 8, tzinfo=UTC) == record.events[0].at


_MAPPING = {
    "columns": {
        "ticket": "case",
        "activity": "activity",
        "timestamp": "time",
        "actor": "who",
        "priority": "impact",
    },
    "activities": {"Opened": "new", "Answered": "answered", "Done": "resolved"},
    "priorities": {"High": "high"},
}


def _csv(tmp_path: Path, rows: list[str], name: str = "log.csv.gz") -> Path:
    path = tmp_path / name
    with gzip.open(path, "wt", encoding="utf-8", newline="") as file:
        file.write("case,activity,time,who,impact\n" + "\n".join(rows) + "\n")
    return path


def test_csv_rows_map_to_statuses_with_a_zone(tmp_path: Path) -> None:
    """Activities map to statuses; naive timestamps need the zone; fields follow the columns."""
    path = _csv(
        tmp_path,
        [
            "C1,Opened,2024-01-08 09:00:00,ann,High",
            "C1,Answered,2024-01-08 10:00:00,bob,High",
            "C1,Done,2024-01-08 11:00:00,bob,High",
            "C2,Opened,2024-01-09 09:00:00,cid,",
        ],
    )
    records = list(read_csv(path, _MAPPING, zone="UTC"))
    assert ["C1", "C2"] == [r.external_id for r in records]
    desk = _desk()
    desk.import_tickets(records)
    ticket = desk.get("C1")
    assert ("resolved", "high") == (ticket.status, ticket.priority.label)
    assert datetime(2024, 1, 8, 11, tzinfo=UTC) == ticket.resolved_at


def test_a_bad_csv_row_is_named(tmp_path: Path) -> None:
    """A naive time without a zone, a bad time or a short row names its row."""
    for row, words in (
        ("C1,Answered,2024-01-08 10:00:00,bob,High", "no UTC offset"),
        ("C1,Answered,yesterday,bob,High", "Invalid isoformat"),
        ("C1,Answered", "2 columns"),
    ):
        path = _csv(tmp_path, ["C1,Opened,2024-01-08T09:00:00Z,ann,High", row])
        with pytest.raises(ImportFormatError) as caught:
            list(read_csv(path, _MAPPING))
        assert 3 == caught.value.line
        assert words in str(caught.value)


def test_a_csv_header_without_a_mapped_column_is_refused(tmp_path: Path) -> None:
    """A mapped column the header lacks is named."""
    path = _csv(tmp_path, ["C1,Opened,2024-01-08T09:00:00Z,ann,High"])
    mapping = {**_MAPPING, "columns": {**_MAPPING["columns"], "department": "team"}}
    with pytest.raises(ImportFormatError, match="no column 'team'"):
        list(read_csv(path, mapping))


def test_a_csv_mapping_is_checked_when_loaded(tmp_path: Path) -> None:
    """Unknown tables and keys, or a missing column, are refused with the part named."""
    with pytest.raises(InvalidInputError, match="needs 'timestamp'"):
        CsvMapping.from_dict({"columns": {"ticket": "a", "activity": "b"}})
    with pytest.raises(InvalidInputError, match="unknown key"):
        CsvMapping.from_dict(
            {"columns": {"ticket": "a", "activity": "b", "timestamp": "c", "x": 1}}
        )
    path = tmp_path / "m.toml"
    path.write_text(
        '[columns]\nticket = "a"\nactivity = "b"\ntimestamp = "c"\n[ticket]\nstart = "x"\n'
    )
    with pytest.raises(InvalidInputError, match="start"):
        CsvMapping.load(path)


def test_activities_may_map_to_kinds(tmp_path: Path) -> None:
    """``{kind = "customer_replied"}`` records a reply; the workflow moves the status."""
    mapping = {
        **_MAPPING,
        "activities": {
            "Opened": "new",
            "Answered": "answered",
            "Mail": {"kind": "customer_replied"},
        },
    }
    path = _csv(
        tmp_path,
        [
            "C1,Opened,2024-01-08T09:00:00Z,ann,",
            "C1,Answered,2024-01-08T10:00:00Z,bob,",
            "C1,Mail,2024-01-08T11:00:00Z,,",
        ],
    )
    desk = _desk()
    desk.import_tickets(read_csv(path, mapping))
    ticket = desk.get("C1")
    assert EventKind.CUSTOMER_REPLIED is ticket.timeline[-1].kind
    assert "open" == ticket.status


# --- the command line -----------------------------------------------------------------------------


def test_the_cli_imports_jsonl_and_a_rerun_skips(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``python -m ticketflow import`` prints a summary; a re-run skips every ticket."""
    path = _jsonl(
        tmp_path,
        [
            {"ticket": "A", "kind": "created", "at": "2024-01-08T09:00:00Z"},
            {"ticket": "A", "at": "2024-01-08T10:00:00Z", "status": "answered"},
            {"ticket": "A", "at": "2024-01-08T11:00:00Z", "status": "new"},
        ],
    )
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    args = ["import", "--store", url, "--config", "liveagent", str(path)]
    assert 3 == cli_main(args)  # strict: the refused move stops it
    err = capsys.readouterr().err
    assert "record 'A', event 2" in err
    assert 0 == cli_main([*args[:-1], "--non-strict", str(path)])
    captured = capsys.readouterr()
    assert "imported 1 tickets, 3 events" in captured.out
    assert "refused 1" in captured.out
    assert "100%" in captured.err  # the progress bar
    assert 0 == cli_main([*args[:-1], "--non-strict", "--quiet", str(path)])
    assert "skipped 1" in capsys.readouterr().out
    store = open_store(url)
    try:
        assert ("answered", 1) == (store.get("A").status, store.count())
    finally:
        store.close()


def test_the_cli_needs_a_mapping_for_csv(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--format csv`` without ``--mapping`` is a setup error (exit 2)."""
    path = _csv(tmp_path, ["C1,Opened,2024-01-08T09:00:00Z,ann,High"], name="log.csv")
    url = f"sqlite:///{tmp_path / 'x.db'}"
    assert 2 == cli_main(["import", "--store", url, "--format", "csv", str(path)])
    assert "--mapping" in capsys.readouterr().err


# --- every backend ----------------------------------------------------------------------------


def _backends(tmp_path: Path) -> Iterator[tuple[str, TicketStore]]:
    yield "memory", MemoryStore()
    yield "sqlite", SQLiteStore(tmp_path / "import.db")
    url = os.environ.get("TICKETFLOW_POSTGRES_URL")
    if url:
        from ticketflow.testing._postgres import postgres_schema  # noqa: PLC0415

        with postgres_schema(url) as schema_url:
            yield "postgres", open_store(schema_url)


def test_every_backend_stores_the_import_and_skips_a_rerun(tmp_path: Path) -> None:
    """Memory, SQLite and PostgreSQL (when configured) store the same tickets and timelines."""
    seen = {}
    for name, store in _backends(tmp_path):
        try:
            desk = _desk("zendesk", store=store)
            records = [_resolved_ticket(f"R{i}") for i in range(5)]
            report = desk.import_tickets(records, batch=2)
            again = desk.import_tickets(records, batch=2)
            assert (5, 0, 5) == (report.tickets, again.tickets, again.skipped), name
            seen[name] = [(e.kind, e.at, e.status_after, e.version) for e in store.events("R3")]
            assert desk.get("R3") == type(desk.get("R3")).rebuild(store.events("R3")), name
        finally:
            store.close()
    assert len({tuple(v) for v in seen.values()}) == 1, seen


def test_the_store_codec_writes_the_same_text_as_to_dict() -> None:
    """dump_event's fast path writes exactly json.dumps(event.to_dict()) for every kind met."""
    from ticketflow.stores._codec import dump_event  # noqa: PLC0415

    desk = _desk()
    desk.import_tickets([_resolved_ticket("A")])
    other = desk.open_ticket(subject="Two", requester=desk.get("A").requester)
    desk.postpone(other.id, NOW + timedelta(days=2), by="bob")
    desk.add_tags(other.id, "vip", by="bob")
    desk.set_field(other.id, "order", {"id": 7, "lines": [1, 2]}, by="bob")
    third = desk.open_ticket(subject="Three", requester=desk.get("A").requester)
    desk.merge(third.id, other.id, by="bob")
    events = [e for t in ("A", other.id, third.id) for e in desk.timeline(t)]
    assert {"created", "postponed", "merge_received", "field_set", "tags_added"} <= {
        e.kind.value for e in events
    }
    for event in events:
        expected = json.dumps(event.to_dict(), separators=(",", ":"), ensure_ascii=False)
        assert expected == dump_event(event)


def test_a_bad_assignee_is_refused_whole_even_after_good_ones_were_remembered() -> None:
    """Assignees are checked once per distinct value; a list, a NUL or a lone surrogate is
    refused whole (nothing of the event recorded), before or after good ones."""
    desk = _desk()
    bad_values: list[object] = [["bob"], "bo\x00b", "bo\ud800b"]
    records = [
        ImportRecord(
            external_id=f"A{i}",
            events=[
                _created(),
                ImportEvent(at=PAST + timedelta(minutes=1), assignee="bob", department="L1"),
                ImportEvent(at=PAST + timedelta(minutes=2), assignee=bad, status="open"),  # type: ignore[arg-type]
                ImportEvent(at=PAST + timedelta(minutes=3), assignee="bob", department="L2"),
            ],
        )
        for i, bad in enumerate(bad_values)
    ]
    report = desk.import_tickets(records, strict=False)
    assert [(f"A{i}", 2) for i in range(3)] == [(r.external_id, r.index) for r in report.refused]
    assert all("assignee" in r.reason for r in report.refused)
    for i in range(3):
        ticket = desk.get(f"A{i}")
        assert ("bob", "L2", "new") == (ticket.assignee, ticket.department, ticket.status)
