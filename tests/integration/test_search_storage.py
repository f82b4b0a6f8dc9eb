"""Search and message-id indexes where they live: SQLite files (raw bytes), PostgreSQL rows.

A purge must leave none of the ticket's words in the SQLite file, its ``-wal``
or its ``-shm``: the FTS5 index stores words case-folded, so the markers are
single lower-case words, looked for as they are and upper-cased. And files and
schemas of schema version 4 (before the text indexes) migrate in place.
"""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import pytest

from ticketflow import Actor, FakeClock, Helpdesk, Requester, Role, SQLiteStore, TicketStore
from ticketflow.stores import MessageIdStore, PostgresStore
from ticketflow.stores._sqlite import _SEARCH_BACKLOG

START: Final = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
DPO: Final = Actor("dpo", Role.ADMIN)
# One word each, found nowhere else: what the FTS5 index would keep of them.
WORDS: Final = {
    "subject": "qxsubjectword",
    "description": "qxdescriptionword",
    "name": "qxnameword",
    "email": "qxmailbox@qxdomain.example",
    "reply": "qxreplyword",
    "note": "qxnoteword",
    "message id": "qxmsgid@qxdomain.example",
}
PERSON: Final = Requester(name=f"Ms {WORDS['name']}", email=WORDS["email"])
OTHER: Final = Requester(name="Other Person", email="other@example.com")


def _fill(desk: Helpdesk) -> tuple[str, str]:
    """The person's ticket (every word) and another person's, which must stay searchable."""
    theirs = desk.open_ticket(
        subject=f"Printer {WORDS['subject']}",
        description=f"It {WORDS['description']} smokes",
        requester=PERSON,
        external_id=WORDS["message id"],
    ).id
    desk.customer_reply(theirs, f"Still {WORDS['reply']}")
    desk.add_note(theirs, f"Internal {WORDS['note']}", by="bob")
    other = desk.open_ticket(subject="Printer jam", requester=OTHER, description="paper").id
    desk.customer_reply(other, "printer still jammed")
    return theirs, other


def _file_leaks(path: Path) -> list[str]:
    data = b"".join(
        p.read_bytes() for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")) if p.exists()
    )
    return [
        f"{name}: {form}"
        for name, word in WORDS.items()
        for form in {word, word.upper(), *word.replace("@", " ").replace(".", " ").split()}
        if form.encode() in data and form != "example"
    ]


@pytest.mark.parametrize("indexed", [True, False], ids=["indexed", "backlog"])
@pytest.mark.parametrize("erase", ["purge", "erase_requester"])
def test_sqlite_a_purge_leaves_no_word_in_the_files(
    tmp_path: Path, erase: str, *, indexed: bool
) -> None:
    """Searchable before; after the purge, not found, and in none of the file's bytes.

    Either the ticket's text is in the FTS5 index when it is purged (a search
    ran), or it is still waiting for the next batch (only in search_docs). The
    other ticket stays searchable, and FTS5's own integrity check passes.
    """
    path = tmp_path / "search.db"
    store = SQLiteStore(path)
    desk = Helpdesk(store=store, clock=FakeClock(START))
    theirs, other = _fill(desk)
    if indexed:
        for word in ("qxsubjectword", "qxnoteword", "qxreplyword", "qxnameword"):
            assert [theirs] == [s.id for s in desk.search(word).items]
        assert 0 == _backlog(store)
    else:
        assert _backlog(store) > 0
    assert _file_leaks(path), "the words are in the file before the purge"
    if erase == "purge":
        desk.purge(theirs, by=DPO)
    else:
        desk.erase_requester(WORDS["email"], by=DPO)
    for word in WORDS.values():
        assert () == desk.search(word).items
    assert {} == store.tickets_by_message_id([WORDS["message id"]])
    assert [other] == [s.id for s in desk.search("printer").items]
    store._conn.execute("INSERT INTO search_index (search_index) VALUES ('integrity-check')")
    store.close()
    assert [] == _file_leaks(path)


def _backlog(store: SQLiteStore) -> int:
    """How many search_docs rows wait for the FTS5 index; checks the watermark's invariant.

    The rows at or below the watermark are exactly the ones in the index (one
    docsize row each), and none above it is.
    """
    conn = store._conn
    upto = conn.execute("SELECT upto FROM search_indexed").fetchone()[0]
    below, above = conn.execute(
        "SELECT count(*) FILTER (WHERE id <= ?), count(*) FILTER (WHERE id > ?) FROM search_docs",
        (upto, upto),
    ).fetchone()
    in_index = conn.execute("SELECT count(*) FROM search_index_docsize").fetchone()[0]
    assert below == in_index, (upto, below, in_index)
    return int(above)


def _fts_ok(store: SQLiteStore) -> None:
    """FTS5's own check of the index against search_docs (raises when they disagree)."""
    store._conn.execute("INSERT INTO search_index (search_index) VALUES ('integrity-check')")


def test_sqlite_commands_leave_their_text_to_a_batch_that_search_runs_first(
    tmp_path: Path,
) -> None:
    """A command writes search_docs only; the next search indexes the batch and finds it all."""
    store = SQLiteStore(tmp_path / "lazy.db")
    desk = Helpdesk(store=store, clock=FakeClock(START))
    theirs, other = _fill(desk)
    rows = store._conn.execute("SELECT count(*) FROM search_docs").fetchone()[0]
    assert (rows, 0) == (
        _backlog(store),
        store._conn.execute("SELECT count(*) FROM search_index_docsize").fetchone()[0],
    )
    assert [theirs] == [s.id for s in desk.search("qxreplyword").items]
    assert 0 == _backlog(store)
    _fts_ok(store)
    desk.agent_reply(other, "qxlaterword", by="bob")  # after a batch: waits for the next one
    assert 1 == _backlog(store)
    assert [other] == [s.id for s in desk.search("qxlaterword").items]
    assert (0, 0) == (_backlog(store), store.index_search())
    store.close()


def test_sqlite_a_commit_indexes_the_backlog_once_it_is_full(tmp_path: Path) -> None:
    """The commit bringing the backlog to `_SEARCH_BACKLOG` rows indexes it, in its transaction."""
    store = SQLiteStore(tmp_path / "full.db", synchronous="OFF")
    desk = Helpdesk(store=store, clock=FakeClock(START))
    for i in range(_SEARCH_BACKLOG - 1):  # an open writes one text row
        desk.open_ticket(subject=f"ticket {i}", requester=OTHER, description="body")
    assert _SEARCH_BACKLOG - 1 == _backlog(store)
    last = desk.open_ticket(subject="qxlastword", requester=OTHER, description="body").id
    assert 0 == _backlog(store)
    assert [last] == [s.id for s in desk.search("qxlastword").items]
    _fts_ok(store)
    store.close()


def test_sqlite_two_stores_on_one_file_never_index_a_row_twice(tmp_path: Path) -> None:
    """Two connections indexing the same backlog at once: each row indexed by one of them."""
    path = tmp_path / "shared.db"
    first, second = SQLiteStore(path), SQLiteStore(path)
    desk = Helpdesk(store=first, clock=FakeClock(START))
    for i in range(40):
        desk.open_ticket(subject=f"printer {i}", requester=OTHER, description="jammed")
    waiting = _backlog(first)
    assert waiting == 40
    start = threading.Barrier(2)
    done: list[int] = []

    def index(store: SQLiteStore) -> None:
        start.wait()
        done.append(store.index_search())

    threads = [threading.Thread(target=index, args=(s,)) for s in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [0, waiting] == sorted(done)
    assert 0 == _backlog(second)
    _fts_ok(second)
    assert 40 == len(Helpdesk(store=second, clock=FakeClock(START)).search("printer").items)
    first.close()
    second.close()


def test_sqlite_text_after_a_purge_of_the_newest_rows_is_indexed(tmp_path: Path) -> None:
    """A purge that deletes the highest ids leaves the watermark above them: no id is reused.

    Were the next row given the purged row's id (at or below the watermark), it
    would be taken for an indexed row: never searchable, and its delete would
    corrupt the FTS5 index.
    """
    store = SQLiteStore(tmp_path / "reuse.db")
    desk = Helpdesk(store=store, clock=FakeClock(START))
    other = desk.open_ticket(subject="Printer jam", requester=OTHER, description="paper").id
    theirs = desk.open_ticket(subject="qxsubjectword", requester=PERSON, description="x").id
    desk.customer_reply(theirs, "qxreplyword")
    desk.search("printer")  # all indexed
    desk.purge(theirs, by=DPO)
    upto, top = store._conn.execute(
        "SELECT upto, (SELECT max(id) FROM search_docs) FROM search_indexed"
    ).fetchone()
    assert top < upto, "the purge removed the newest rows (the case under test)"
    fresh = desk.open_ticket(subject="qxfreshword", requester=OTHER, description="y").id
    assert 1 == _backlog(store)
    assert [fresh] == [s.id for s in desk.search("qxfreshword").items]
    desk.purge(fresh, by=DPO)  # its rows are in the index: deleted from it
    assert () == desk.search("qxfreshword").items
    assert [other] == [s.id for s in desk.search("printer").items]
    _fts_ok(store)
    assert 0 == _backlog(store)
    store.close()


def test_sqlite_checkpoint_indexes_the_backlog(tmp_path: Path) -> None:
    """`checkpoint` (and `index_search`) empties the backlog; a search then writes nothing."""
    path = tmp_path / "checkpoint.db"
    store = SQLiteStore(path)
    _fill(Helpdesk(store=store, clock=FakeClock(START)))
    assert _backlog(store) > 0
    assert store.checkpoint()
    assert 0 == _backlog(store)
    wal = Path(f"{path}-wal")
    size = wal.stat().st_size
    assert 1 == len(Helpdesk(store=store, clock=FakeClock(START)).search("qxnoteword").items)
    assert size == wal.stat().st_size  # no backlog: the search only read
    store.close()


def _downgrade_sqlite_to_6(path: Path) -> None:
    """What schema version 6 had: the FTS5 index kept by triggers, no watermark."""
    conn = sqlite3.connect(path)
    conn.executescript(
        """
        DROP TRIGGER search_docs_removed;
        DROP TABLE search_indexed;
        CREATE TRIGGER search_docs_added AFTER INSERT ON search_docs BEGIN
            INSERT INTO search_index (rowid, text) VALUES (new.id, new.text);
        END;
        CREATE TRIGGER search_docs_removed AFTER DELETE ON search_docs BEGIN
            INSERT INTO search_index (search_index, rowid, text)
            VALUES ('delete', old.id, old.text);
        END;
        PRAGMA user_version = 6;
        """
    )
    conn.close()


def test_sqlite_a_version_6_file_is_migrated_with_its_index_kept(tmp_path: Path) -> None:
    """A file of schema 6 (every row indexed by trigger) opens at 7 with its watermark at the top.

    Nothing is re-indexed: the stored rows are all below the watermark; new
    text goes to the backlog; purging an old ticket deletes its words.
    """
    path = tmp_path / "v6.db"
    store = SQLiteStore(path)
    desk = Helpdesk(store=store, clock=FakeClock(START))
    theirs, other = _fill(desk)
    desk.search("printer")
    store.close()
    _downgrade_sqlite_to_6(path)
    conn = sqlite3.connect(path)
    conn.execute(
        "INSERT INTO search_docs (ticket_id, private, text) VALUES (?, 0, 'qxv6word')", (other,)
    )  # written by schema 6: indexed by its trigger
    conn.commit()
    conn.close()
    store = SQLiteStore(path)
    assert (7, "ok") == (store.schema_version(), store.integrity_check())
    assert 0 == _backlog(store)
    names = {
        r[0] for r in store._conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
    }
    assert "search_docs_added" not in names
    desk = Helpdesk(store=store, clock=FakeClock(START))
    assert [other] == [s.id for s in desk.search("qxv6word").items]
    desk.customer_reply(other, "qxv7word")
    assert 1 == _backlog(store)
    assert [other] == [s.id for s in desk.search("qxv7word").items]
    desk.purge(theirs, by=DPO)
    assert () == desk.search("qxnoteword").items
    _fts_ok(store)
    store.close()
    assert [] == _file_leaks(path)


def _downgrade_sqlite_to_4(path: Path) -> None:
    """What schema version 4 had: no message_ids, no search tables (5 and 6 add only those)."""
    conn = sqlite3.connect(path)
    conn.executescript(
        "DROP TABLE search_indexed; DROP TABLE search_index; DROP TABLE search_docs; "
        "DROP TABLE message_ids; "
        "PRAGMA user_version = 4;"
    )
    conn.close()


def test_sqlite_a_version_4_file_gets_both_indexes_on_open(tmp_path: Path) -> None:
    """A file of schema 4 opens at 7: stored tickets searchable, their ids resolvable; once."""
    path = tmp_path / "v4.db"
    store = SQLiteStore(path)
    theirs, other = _fill(Helpdesk(store=store, clock=FakeClock(START)))
    store.close()
    _downgrade_sqlite_to_4(path)
    store = SQLiteStore(path)
    assert (7, "ok") == (store.schema_version(), store.integrity_check())
    desk = Helpdesk(store=store, clock=FakeClock(START))
    assert {theirs, other} == {s.id for s in desk.search("printer").items}
    assert [theirs] == [s.id for s in desk.search("qxnoteword").items]
    assert () == desk.for_customer(PERSON).search("qxnoteword").items
    assert {WORDS["message id"]: (theirs,)} == store.tickets_by_message_id([WORDS["message id"]])
    store.close()
    again = SQLiteStore(path)
    assert 7 == again.schema_version()
    assert 1 == len(Helpdesk(store=again, clock=FakeClock(START)).search("qxreplyword").items)
    again.close()


def test_sqlite_the_search_query_uses_the_fts_index(tmp_path: Path) -> None:
    """The plan: an FTS5 match per term (a virtual table index), the ticket row by primary key."""
    store = SQLiteStore(tmp_path / "plan.db")
    _fill(Helpdesk(store=store, clock=FakeClock(START)))
    from ticketflow.stores._summary import SummaryQuery  # noqa: PLC0415
    from ticketflow.stores._text import SearchQuery  # noqa: PLC0415

    sql, params = store._search_sql(SearchQuery(terms=("printer", "jam"), filters=SummaryQuery()))
    plan = " | ".join(
        str(r[-1]) for r in store._conn.execute(f"EXPLAIN QUERY PLAN {sql}", params).fetchall()
    )
    assert 2 == plan.count("VIRTUAL TABLE INDEX"), plan
    assert "SEARCH tickets USING PRIMARY KEY" in plan or "SEARCH tickets USING INDEX" in plan, plan
    store.close()


# --- PostgreSQL ---------------------------------------------------------------------------


@pytest.fixture
def admin(postgres_url: str) -> Any:
    import psycopg  # noqa: PLC0415

    with psycopg.connect(postgres_url, autocommit=True) as conn:
        yield conn


def test_postgres_a_purge_leaves_no_search_row_or_id(postgres_url: str, admin: Any) -> None:
    """After a purge no live search row or message id of the ticket remains, nor any lexeme."""
    store = PostgresStore.from_url(postgres_url)
    desk = Helpdesk(store=store, clock=FakeClock(START))
    theirs, other = _fill(desk)
    assert [theirs] == [s.id for s in desk.search("qxnoteword").items]
    desk.purge(theirs, by=DPO)
    text = " ".join(r[0] for r in admin.execute("SELECT words::text FROM search_docs").fetchall())
    words = ("qxsubjectword", "qxnoteword", "qxreplyword", "qxnameword", "qxmailbox")
    assert [] == [w for w in words if w in text]
    assert [(other,)] == admin.execute("SELECT DISTINCT ticket_id FROM search_docs").fetchall()
    assert [] == admin.execute("SELECT * FROM message_ids").fetchall()
    for word in (*WORDS.values(), "erased"):
        assert () == desk.search(word).items
    store.close()


def test_postgres_a_version_4_schema_gets_both_indexes_on_open(
    postgres_url: str, admin: Any
) -> None:
    """A schema of version 4 opens at 6 with its tickets indexed; a second open changes nothing."""
    store = PostgresStore.from_url(postgres_url)
    theirs, other = _fill(Helpdesk(store=store, clock=FakeClock(START)))
    store.close()
    admin.execute("DROP TABLE message_ids, search_docs, search_settings")
    admin.execute("DELETE FROM ticketflow_migrations WHERE version >= 5")
    store = PostgresStore.from_url(postgres_url)
    assert 6 == store.schema_version()
    desk = Helpdesk(store=store, clock=FakeClock(START))
    assert {theirs, other} == {s.id for s in desk.search("printer").items}
    assert [theirs] == [s.id for s in desk.search("qxnameword").items]
    assert () == desk.for_customer(PERSON).search("qxnoteword").items
    assert {WORDS["message id"]: (theirs,)} == store.tickets_by_message_id([WORDS["message id"]])
    store.close()


def test_postgres_search_config_is_used_and_kept(postgres_url: str) -> None:
    """``search_config="english"`` stems ("printers" finds "printer"); another config is refused."""
    from ticketflow import StoreError  # noqa: PLC0415

    store = PostgresStore(postgres_url, search_config="english")
    desk = Helpdesk(store=store, clock=FakeClock(START))
    ticket = desk.open_ticket(subject="Printer jammed", requester=OTHER)
    assert [ticket.id] == [s.id for s in desk.search("printers jamming").items]
    store.close()
    with pytest.raises(StoreError, match="built with the text-search configuration 'english'"):
        PostgresStore(postgres_url, search_config="simple")
    for bad in ("no such config", "x;drop", "", "Klingon"):
        with pytest.raises(StoreError, match="search_config"):
            PostgresStore(postgres_url, search_config=bad)


def test_a_store_without_the_capabilities_still_threads_and_searches() -> None:
    """The engine's fallbacks: the plain store answers search through ``find``."""
    import sys  # noqa: PLC0415

    sys.path.insert(0, str(Path(__file__).parent.parent / "unit"))
    from _plain_store import PlainStore  # noqa: PLC0415

    store: TicketStore = PlainStore()  # type: ignore[assignment]
    assert not isinstance(store, MessageIdStore)
    desk = Helpdesk(store=store, clock=FakeClock(START))
    theirs, _other = _fill(desk)
    assert [theirs] == [s.id for s in desk.search("qxnoteword").items]
    assert () == desk.for_customer(PERSON).search("qxnoteword").items
    desk.purge(theirs, by=DPO)
    assert () == desk.search("qxnoteword").items


def test_imported_tickets_are_searchable(tmp_path: Path) -> None:
    """``import_tickets`` commits through the store: imported text is indexed like any other."""
    from datetime import timedelta  # noqa: PLC0415

    from ticketflow.importing import ImportEvent, ImportRecord  # noqa: PLC0415

    store = SQLiteStore(tmp_path / "import.db")
    desk = Helpdesk(store=store, clock=FakeClock(START))
    past = datetime(2024, 1, 8, 9, 0, tzinfo=UTC)
    record = ImportRecord(
        external_id="OLD-1",
        events=[
            ImportEvent(
                kind="created",
                at=past,
                data={"subject": "Legacy wombat", "requester": {"name": "Ann", "email": "a@x.org"}},
                message="Imported description",
            ),
            ImportEvent(
                kind="note_added", at=past + timedelta(hours=1), actor="bob", message="numbat"
            ),
        ],
    )
    desk.import_tickets([record])
    assert ["OLD-1"] == [s.id for s in desk.search("wombat").items]
    assert ["OLD-1"] == [s.id for s in desk.search("numbat").items]
    assert () == desk.for_customer("a@x.org").search("numbat").items
    store.close()
