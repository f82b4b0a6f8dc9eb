"""The example third-party backend (examples/jsonfile_store): the contract suite, plus
what only a directory of files can get wrong (crashes mid-commit, several processes,
foreign directories).

The contract class is the one docs/howto/storage.md shows, taken from the page.

Skipped unless the package is installed: ``pip install -e examples/jsonfile_store``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import attrs
import pytest

from ticketflow import (
    Actor,
    ConflictError,
    FakeClock,
    Helpdesk,
    Requester,
    Role,
    StoreError,
    StoreUnavailable,
    Ticket,
    TicketNotFound,
    TicketStore,
    open_store,
    rules,
)
from ticketflow.stores import Change, IndexUpdate, QueueKey, TicketQuery
from ticketflow.testing.contract import StoreContract

pytest.importorskip(
    "ticketflow_jsonfile",
    reason="the example backend is not installed: pip install -e examples/jsonfile_store",
)

from ticketflow_jsonfile import FORMAT_VERSION, JsonFileStore

ROOT = Path(__file__).resolve().parents[2]
START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
ANN = Requester(name="Ann Example", email="ann@example.com")


def _contract_class_from_the_docs() -> type[StoreContract]:
    """Return the `StoreContract` subclass that docs/howto/storage.md shows.

    The page's example is the class this module runs, so the page cannot show a
    contract class that does not work.
    """
    page = ROOT / "docs" / "howto" / "storage.md"
    blocks = re.findall(
        r"^```python\n(.*?)^```", page.read_text(encoding="utf-8"), re.MULTILINE | re.DOTALL
    )
    [code] = [b for b in blocks if "class TestJsonFileStore(StoreContract):" in b]
    namespace: dict[str, object] = {"__name__": __name__}
    exec(compile(code, str(page), "exec"), namespace)  # noqa: S102 - our own docs page
    contract = namespace["TestJsonFileStore"]
    assert isinstance(contract, type)
    assert issubclass(contract, StoreContract)
    return contract


TestJsonFileStore = _contract_class_from_the_docs()


@pytest.fixture
def directory(tmp_path: Path) -> Path:
    """Where the store lives (not created yet: the store creates it)."""
    return tmp_path / "desk"


@pytest.fixture
def store(directory: Path) -> Iterator[JsonFileStore]:
    """A JsonFileStore with fsync on, as users get it."""
    opened = JsonFileStore(directory)
    yield opened
    opened.close()


def desk_on(store: TicketStore, *, at: datetime = START, **kwargs: object) -> Helpdesk:
    """A help desk on ``store`` whose clock starts at ``at``."""
    return Helpdesk(store=store, clock=FakeClock(at), **kwargs)  # type: ignore[arg-type]


def bumped(ticket: Ticket) -> Ticket:
    """The next version of ``ticket``, as a writer holding it would commit."""
    return attrs.evolve(ticket, version=ticket.version + 1)


def ticket_files(directory: Path) -> dict[str, str]:
    """File name -> content of every ticket file."""
    return {p.name: p.read_text() for p in sorted((directory / "tickets").iterdir())}


# --- layout, opening, URLs ------------------------------------------------------------


def test_a_new_directory_gets_the_layout_and_the_marker(directory: Path) -> None:
    """Opening creates the directory, ``tickets/``, an empty outbox and the format marker."""
    JsonFileStore(directory).close()
    assert ["lock", "outbox.json", "ticketflow-jsonfile.json", "tickets"] == sorted(
        p.name for p in directory.iterdir()
    )
    marker = json.loads((directory / "ticketflow-jsonfile.json").read_text())
    assert {"format": "ticketflow-jsonfile", "version": FORMAT_VERSION} == marker
    assert [] == json.loads((directory / "outbox.json").read_text())


def test_a_store_reopened_holds_what_was_committed(directory: Path) -> None:
    """Tickets, timelines, due times and the outbox survive closing and reopening."""
    first = JsonFileStore(directory)
    desk = desk_on(first, outbox=["created", "agent_replied"])
    ticket = desk.open_ticket(subject="VPN", requester=ANN, tags=["net"])
    ticket = desk.agent_reply(ticket.id, "Which client?", by="bob")
    ticket = desk.postpone(ticket.id, START + DAY, by="bob")
    first.close()
    again = JsonFileStore(directory)
    assert ticket == again.get(ticket.id)
    assert ticket.timeline == again.events(ticket.id)
    assert START + DAY == again.next_due_at()
    assert [ticket] == again.due(START + DAY, 10)
    assert 2 == again.outbox_pending()
    again.close()


def test_ticket_files_from_before_the_work_queue_load_as_not_queued(directory: Path) -> None:
    """A ticket file without the queue keys (written before the queue existed) still reads.

    Its ticket is not queued until a commit or a reindex gives it a key; the key and
    the filter fields are then written to the file.
    """
    store = JsonFileStore(directory, fsync=False)
    ticket = desk_on(store).open_ticket(subject="old", requester=ANN, assignee="ann")
    store.close()
    (path,) = (directory / "tickets").iterdir()
    data = json.loads(path.read_text())
    for key in ("queue", "assignee", "department"):
        del data[key]
    path.write_text(json.dumps(data))
    again = JsonFileStore(directory, fsync=False)
    assert ticket == again.get(ticket.id)
    assert [] == again.queue(assignee=None, department=None, limit=10)
    key = QueueKey(None, START, 2)
    assert 1 == again.reindex([IndexUpdate(ticket.id, ticket.version, None, key)])
    assert [ticket] == again.queue(assignee="ann", department=None, limit=10)
    assert [None, START.isoformat(), 2] == json.loads(path.read_text())["queue"]
    again.close()


def test_a_directory_holding_other_files_is_refused_untouched(tmp_path: Path) -> None:
    """A non-empty directory without the marker is not adopted: nothing is written to it."""
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(StoreError, match=r"is not a ticketflow-jsonfile store.*notes\.txt"):
        JsonFileStore(tmp_path)
    assert ["notes.txt"] == [p.name for p in tmp_path.iterdir()]


def test_a_directory_written_by_a_newer_format_is_refused(directory: Path) -> None:
    """A marker with a higher format version is an error saying to upgrade."""
    JsonFileStore(directory).close()
    marker = directory / "ticketflow-jsonfile.json"
    marker.write_text(json.dumps({"format": "ticketflow-jsonfile", "version": FORMAT_VERSION + 1}))
    with pytest.raises(StoreError, match=r"newer ticketflow-jsonfile.*upgrade"):
        JsonFileStore(directory)


def test_a_missing_parent_directory_is_store_unavailable(tmp_path: Path) -> None:
    """The store creates its own directory, not missing parents (a typo stays visible)."""
    with pytest.raises(StoreUnavailable, match=r"cannot be opened \(does its parent"):
        JsonFileStore(tmp_path / "no" / "such" / "desk")
    assert not (tmp_path / "no").exists()


def test_a_corrupt_ticket_file_is_a_store_error_naming_it(
    store: JsonFileStore, directory: Path
) -> None:
    """A ticket file that is not valid JSON raises StoreError naming the file, not ValueError."""
    ticket = desk_on(store).open_ticket(subject="VPN", requester=ANN)
    (directory / "tickets" / f"{ticket.id}.json").write_text("{not json")
    with pytest.raises(StoreError, match=rf"tickets/{ticket.id}\.json is not a valid") as info:
        store.get(ticket.id)
    assert isinstance(info.value.__cause__, ValueError)


def test_a_closed_store_refuses_to_work(store: JsonFileStore) -> None:
    """After close every method raises StoreError; closing twice is harmless."""
    store.close()
    store.close()
    with pytest.raises(StoreError, match="is closed"):
        store.count()


def test_ids_that_are_not_ulids_get_safe_distinct_file_names(directory: Path) -> None:
    """Ids with slashes or lower case are hex-encoded: no path escapes, no case clashes."""
    store = JsonFileStore(directory)
    ids = iter(["../escape", "abc", "ABC"])
    desk = Helpdesk(store=store, clock=FakeClock(START), id_factory=lambda at: next(ids))
    made = [desk.open_ticket(subject=f"t{i}", requester=ANN) for i in range(3)]
    assert ["../escape", "ABC", "abc"] == [t.id for t in store.find(TicketQuery())]
    assert {"ABC.json", "~2e2e2f657363617065.json", "~616263.json"} == set(ticket_files(directory))
    assert made == [store.get(t.id) for t in made]
    assert not (directory.parent / "escape.json").exists()
    store.close()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("jsonfile://host/desk", r"jsonfile:///relative/dir or jsonfile:////absolute/dir"),
        ("jsonfile:///", r"jsonfile:///relative/dir"),
        ("jsonfile:///desk?sync=off", r"unknown parameter 'sync' \(known: fsync\)"),
        ("jsonfile:///desk?fsync=maybe", r"fsync must be on or off, not 'maybe'"),
        ("jsonfile:///desk?fsync", r"malformed parameters"),
    ],
)
def test_bad_urls_are_refused_by_name(
    url: str, message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Malformed jsonfile URLs are StoreErrors saying what to write; nothing is created."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(StoreError, match=message):
        open_store(url)
    assert [] == list(tmp_path.iterdir())


def test_url_paths_are_relative_with_three_slashes_and_absolute_with_four(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``jsonfile:///desk`` is ``./desk``; ``jsonfile:////abs`` is ``/abs`` (as SQLite URLs)."""
    monkeypatch.chdir(tmp_path)
    relative = open_store("jsonfile:///desk?fsync=off")
    absolute = open_store(f"jsonfile:///{tmp_path / 'abs'}")
    assert isinstance(relative, JsonFileStore)
    assert isinstance(absolute, JsonFileStore)
    assert (Path("desk"), tmp_path / "abs") == (relative.path, absolute.path)
    assert (tmp_path / "desk" / "tickets").is_dir()
    relative.close()
    absolute.close()


def test_every_write_is_fsynced_unless_turned_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With fsync on, a commit flushes the file and its directory; ``fsync=False`` skips both."""
    calls: list[int] = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: calls.append(fd) or real(fd))
    durable = JsonFileStore(tmp_path / "a")
    desk = desk_on(durable)
    calls.clear()
    desk.open_ticket(subject="x", requester=ANN)
    assert 2 == len(calls)  # one file (no outbox entry): the file, then its directory
    calls.clear()
    fast = JsonFileStore(tmp_path / "b", fsync=False)
    desk_on(fast).open_ticket(subject="x", requester=ANN)
    assert [] == calls
    durable.close()
    fast.close()


def test_a_purge_rewrites_the_ticket_file_without_the_personal_data(
    store: JsonFileStore, directory: Path
) -> None:
    """``rewrite`` replaces the stored events: the name and address are gone from the file."""
    desk = desk_on(store)
    ticket = desk.open_ticket(subject="Ann's VPN", requester=ANN)
    desk.agent_reply(ticket.id, "Hello Ann", by="bob")
    assert "ann@example.com" in ticket_files(directory)[f"{ticket.id}.json"]
    desk.purge(ticket.id, by=Actor("dpo", Role.ADMIN))
    text = ticket_files(directory)[f"{ticket.id}.json"]
    assert "Ann" not in text
    assert "ann@example.com" not in text
    assert store.get(ticket.id).version == len(json.loads(text)["events"])


# --- atomicity across a crash -----------------------------------------------------------

CRASH = """
import os, sys
from datetime import datetime
from ticketflow import FakeClock, Helpdesk
from ticketflow_jsonfile import JsonFileStore

directory, mode, source, target, now = sys.argv[1:]
real = JsonFileStore._write_file
state = {"intent": False}

def write(self, name, text):
    if mode == "before-intent" and name == "intent.json":
        (self._root / "intent.json.tmp").write_text(text[: len(text) // 2])
        os._exit(9)  # dies while writing the intent: before the commit point
    real(self, name, text)
    if state["intent"]:
        os._exit(9)  # dies after the commit point, with one file of the commit replaced
    state["intent"] = name == "intent.json"

JsonFileStore._write_file = write
desk = Helpdesk(store=JsonFileStore(directory), clock=FakeClock(datetime.fromisoformat(now)))
desk.merge(source, target, by="bob")
print("not reached")
"""


def crash_during_merge(directory: Path, mode: str, source: str, target: str) -> None:
    """Run a merge in another process that dies half-way (``os._exit``, no clean-up)."""
    result = subprocess.run(
        [sys.executable, "-c", CRASH, str(directory), mode, source, target, str(START + HOUR)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert 9 == result.returncode, result.stderr


@pytest.fixture
def two_tickets(store: JsonFileStore) -> tuple[Ticket, Ticket]:
    """A merge source and target on ``store``."""
    desk = desk_on(store)
    return (
        desk.open_ticket(subject="printer", requester=ANN),
        desk.open_ticket(subject="printer again", requester=ANN),
    )


def test_a_commit_cut_after_its_intent_is_completed_by_the_next_reader(
    store: JsonFileStore, directory: Path, two_tickets: tuple[Ticket, Ticket]
) -> None:
    """A writer killed with one of the merge's two files replaced: any later operation, here a
    read through a store opened before the crash, sees the whole merge, and the intent is gone."""
    source, target = two_tickets
    before = ticket_files(directory)
    crash_during_merge(directory, "after-intent", source.id, target.id)
    half = ticket_files(directory)
    assert (directory / "intent.json").exists()
    assert 1 == sum(half[name] != before[name] for name in before)  # really cut half-way
    assert "merged" == store.get(source.id).status
    assert 2 == store.get(target.id).version
    assert not (directory / "intent.json").exists()
    assert all(before[name] != text for name, text in ticket_files(directory).items())


def test_a_commit_cut_before_its_intent_leaves_the_store_as_it_was(
    directory: Path, two_tickets: tuple[Ticket, Ticket], store: JsonFileStore
) -> None:
    """A writer killed while writing the intent changed nothing; reopening removes its temp file."""
    source, target = two_tickets
    before = ticket_files(directory)
    crash_during_merge(directory, "before-intent", source.id, target.id)
    assert (directory / "intent.json.tmp").exists()
    assert [source, target] == [store.get(source.id), store.get(target.id)]
    JsonFileStore(directory).close()
    assert not (directory / "intent.json.tmp").exists()
    assert before == ticket_files(directory)


# --- several processes and store instances ----------------------------------------------

WRITER = """
import sys, time
from datetime import datetime
from pathlib import Path
from ticketflow import ConflictError, FakeClock, Helpdesk, MemoryStore
from ticketflow.stores import Change
from ticketflow_jsonfile import JsonFileStore

directory, ticket_id, name, now = sys.argv[1:]
store = JsonFileStore(directory)
ticket = store.get(ticket_id)
scratch = MemoryStore()
scratch.commit([Change(ticket, 0)])
desk = Helpdesk(store=scratch, clock=FakeClock(datetime.fromisoformat(now)))
reply = desk.agent_reply(ticket_id, f"answer from {name}", by=name)
Path(directory, f"ready-{name}").touch()
deadline = time.monotonic() + 60
while not Path(directory, "go").exists():  # every writer holds version 1 before any commits
    if time.monotonic() > deadline:
        sys.exit(5)
    time.sleep(0.005)
try:
    store.commit([Change(reply, expected_version=ticket.version)])
except ConflictError:
    sys.exit(3)
"""


def test_of_processes_holding_the_same_version_exactly_one_commits(
    store: JsonFileStore, directory: Path
) -> None:
    """Six processes read version 1, wait for each other, then commit a reply: exactly one
    wins, five get ConflictError, and the stored ticket holds the winner's reply alone."""
    ticket = desk_on(store).open_ticket(subject="race", requester=ANN)
    names = [f"agent{i}" for i in range(6)]
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(directory), ticket.id, name, str(START + HOUR)]
        )
        for name in names
    ]
    try:
        deadline = time.monotonic() + 60
        while not all((directory / f"ready-{name}").exists() for name in names):
            assert time.monotonic() < deadline, "the writers did not get ready in 60 s"
            assert all(p.poll() is None for p in procs), "a writer died before the race"
            time.sleep(0.005)
        (directory / "go").touch()
        codes = [p.wait(timeout=60) for p in procs]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert [0, 3, 3, 3, 3, 3] == sorted(codes)
    stored = store.get(ticket.id)
    winner = names[codes.index(0)]
    assert 2 == stored.version
    assert [winner] == [e.actor.id for e in stored.timeline[1:]]


def test_separate_store_instances_never_claim_a_ticket_twice(directory: Path) -> None:
    """Eight threads, each with its own store on the directory (so only the file lock
    separates them), claim due tickets until none is left: each ticket is claimed once."""
    setup = JsonFileStore(directory, fsync=False)
    desk = desk_on(setup, rules=[rules.wake_postponed()])
    ids = set()
    for i in range(24):
        ticket = desk.open_ticket(subject=f"t{i}", requester=ANN)
        ids.add(desk.postpone(ticket.id, START + HOUR, by="bob").id)
    claimed: list[str] = []
    lock = threading.Lock()

    def worker() -> None:
        own = JsonFileStore(directory, fsync=False)
        while batch := own.claim_due(START + DAY, 2, HOUR):
            with lock:
                claimed.extend(t.id for t in batch)
        own.close()

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(ids) == sorted(claimed)
    assert [] == setup.claim_due(START + DAY, 100, HOUR)
    setup.close()


def test_a_stale_commit_writes_nothing(store: JsonFileStore, directory: Path) -> None:
    """A two-change commit whose second change is stale fails whole: no file changes."""
    desk = desk_on(store)
    first = desk.open_ticket(subject="a", requester=ANN)
    second = desk.agent_reply(desk.open_ticket(subject="b", requester=ANN).id, "hi", by="bob")
    before = ticket_files(directory)
    stale = attrs.evolve(second, version=2)
    with pytest.raises(ConflictError) as info:
        store.commit([Change(bumped(first), 1), Change(stale, expected_version=1)])
    assert (second.id, 1, 2) == (
        info.value.ticket_id,
        info.value.expected_version,
        info.value.actual_version,
    )
    assert before == ticket_files(directory)
    assert not (directory / "intent.json").exists()
    with pytest.raises(TicketNotFound):
        store.get("01NOSUCHTICKET0000000000000")
