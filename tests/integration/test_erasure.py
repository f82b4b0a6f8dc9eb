"""Purge and erase_requester, checked where the data lives: the raw bytes of the database.

A person's data is written everywhere a ticket can hold it (subject, description,
name, address, contacts, organisation, tags, a custom field's name and value,
public replies, private notes, a merge into another person's ticket and a reply
redirected there), each piece a marker string found nowhere else. After the
purge, no marker may be in the SQLite file, its ``-wal`` or its ``-shm`` (as
UTF-8, and JSON-escaped), nor in any live PostgreSQL row, nor, after
`PostgresStore.vacuum`, in any page of ticketflow's tables.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import pytest

from ticketflow import (
    Actor,
    ErasureResult,
    FakeClock,
    Helpdesk,
    InvalidInputError,
    PurgeResult,
    Requester,
    Role,
    SQLiteStore,
    TicketNotFound,
    TicketStore,
)
from ticketflow.attachments import Attachment, AttachmentNotFound, FileSystemAttachmentStore
from ticketflow.commands import Purge
from ticketflow.stores import MemoryStore, PostgresStore

START: Final = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
DPO: Final = Actor("dpo", Role.ADMIN)  # by default only admins may purge

# The person's data: every value a marker no other string contains.
MARKERS: Final = {
    "subject": "Zq71-subject",
    "description": "Zq72-description",
    "name": "Zq73 Person",
    "email": "zq74.person@example.net",
    "phone": "+32-Zq75",
    "organisation": "Zq76-Org",
    "tag": "zq77-tag",
    "field name": "zq78_field",
    "field value": "Zq79-value",
    "reply": "Zq80-réply ünïcode ✓",
    "agent reply": "Zq81-agent-reply",
    "note": "Zq82-private-note",
    "second description": "Zq83-merged-description",
    "second reply": "Zq84-merged-reply",
    "second note": "Zq85-merged-note",
    "redirected reply": "Zq86-redirected-reply",
    "follow-up reply": "Zq87-follow-up",
    # A message's metadata: HTML, attachment names, cc, e-mail ids, JSON metadata.
    "html": "Zq90-html",
    "file": "Zq91-file.pdf",
    "cc": "zq92-cc@example.net",
    "external id": "zq93-msgid@example.net",
    "in reply to": "zq94-irt@example.net",
    "references": "zq95-refs@example.net",
    "metadata": "Zq96-meta",
    "reply html": "Zq97-reply-html",
    "reply file": "Zq98-reply.pdf",
    "reply cc": "zq99-reply-cc@example.net",
    "note html": "Zq9a-note-html",
    "merged reply file": "Zq9b-merged.pdf",
    "merged reply id": "zq9c-merged-msgid@example.net",
}
PERSON: Final = Requester(
    name=MARKERS["name"],
    email=MARKERS["email"],
    contacts={"phone": MARKERS["phone"]},
    organisation=MARKERS["organisation"],
)
ANN: Final = Requester(name="Ann Other", email="ann@example.com")
REFS: Final = iter(range(1_000_000))


def attached(filename: str) -> Attachment:
    """An attachment named ``filename`` (its ref names no marker)."""
    return Attachment(
        filename=filename,
        content_type="application/pdf",
        size=10,
        sha256="0" * 64,
        ref=f"ref-{next(REFS)}",
    )


def encodings(marker: str) -> list[bytes]:
    """The byte strings a marker may be stored as: UTF-8, and JSON-escaped (ASCII)."""
    escaped = json.dumps(marker)[1:-1]
    return sorted({marker.encode(), escaped.encode()})


def found_in(data: bytes, markers: dict[str, str] = MARKERS) -> list[str]:
    """The names of the markers whose any form is in ``data``."""
    return [name for name, m in markers.items() if any(f in data for f in encodings(m))]


def merge_other(desk: Helpdesk, source: str, into: str) -> None:
    """Merge tickets of two different requesters (allowed explicitly)."""
    desk.merge(source, into, by="bob", allow_other_requester=True)


def person_ticket(desk: Helpdesk, clock: FakeClock) -> tuple[str, str]:
    """The person's ticket with data everywhere, merged into Ann's; return (theirs, Ann's)."""
    ann = desk.open_ticket(subject="Ann's printer", requester=ANN, description="jammed")
    ticket = desk.open_ticket(
        subject=MARKERS["subject"],
        description=MARKERS["description"],
        requester=PERSON,
        tags=[MARKERS["tag"]],
        html=MARKERS["html"],
        attachments=[attached(MARKERS["file"])],
        cc=[MARKERS["cc"]],
        external_id=MARKERS["external id"],
        metadata={"crm": MARKERS["metadata"]},
    )
    clock.advance(minutes=5)
    desk.set_field(ticket.id, MARKERS["field name"], MARKERS["field value"], by="bob")
    desk.customer_reply(
        ticket.id,
        MARKERS["reply"],
        html=MARKERS["reply html"],
        attachments=[attached(MARKERS["reply file"])],
        in_reply_to=MARKERS["in reply to"],
        references=[MARKERS["references"]],
    )
    clock.advance(minutes=5)
    desk.agent_reply(ticket.id, MARKERS["agent reply"], by="bob", cc=[MARKERS["reply cc"]])
    desk.add_note(ticket.id, MARKERS["note"], by="bob", html=MARKERS["note html"])
    clock.advance(minutes=5)
    merge_other(desk, ticket.id, ann.id)
    clock.advance(minutes=5)
    desk.customer_reply(ticket.id, MARKERS["redirected reply"])  # lands on Ann's ticket
    desk.agent_reply(ann.id, "Fixed for both of you", by="bob")
    return ticket.id, ann.id


def person_tickets(desk: Helpdesk, clock: FakeClock) -> dict[str, str]:
    """Several tickets of the person: one full, one merged into Ann's, one closed with a follow-up.

    Returns their ids by role: ``full``, ``merged``, ``closed``, ``follow_up``, ``ann``.
    """
    full, ann = person_ticket(desk, clock)
    second = desk.open_ticket(
        subject="second", description=MARKERS["second description"], requester=PERSON
    )
    desk.customer_reply(
        second.id,
        MARKERS["second reply"],
        attachments=[attached(MARKERS["merged reply file"])],
        external_id=MARKERS["merged reply id"],
    )
    desk.add_note(second.id, MARKERS["second note"], by="bob")
    clock.advance(minutes=5)
    merge_other(desk, second.id, ann)
    closed = desk.open_ticket(subject="third", requester=PERSON)
    desk.agent_reply(closed.id, "done", by="bob")
    desk.close(closed.id, by="bob")
    follow_up = desk.customer_reply(closed.id, MARKERS["follow-up reply"])  # a follow-up
    assert closed.id == follow_up.parent_id
    return {
        "full": full,
        "merged": second.id,
        "closed": closed.id,
        "follow_up": follow_up.id,
        "ann": ann,
    }


def sqlite_bytes(path: Path) -> dict[str, bytes]:
    """The raw bytes of a SQLite database file and of its -wal and -shm, when present."""
    files = {"file": path, "wal": Path(f"{path}-wal"), "shm": Path(f"{path}-shm")}
    return {name: p.read_bytes() for name, p in files.items() if p.exists()}


def sqlite_leaks(path: Path) -> dict[str, list[str]]:
    """Which markers are in which of the SQLite files (only files holding some)."""
    leaks = {name: found_in(data) for name, data in sqlite_bytes(path).items()}
    return {name: names for name, names in leaks.items() if names}


@pytest.fixture
def sqlite_desk(tmp_path: Path) -> Iterator[tuple[Helpdesk, FakeClock, Path]]:
    """A help desk on a SQLite file, with the default durability settings."""
    path = tmp_path / "helpdesk.db"
    clock = FakeClock(START)
    store = SQLiteStore(path)
    yield Helpdesk(store=store, clock=clock), clock, path
    store.close()


# --- SQLite: the raw bytes -----------------------------------------------------------------


def test_the_markers_are_in_the_sqlite_files_before_the_purge(
    sqlite_desk: tuple[Helpdesk, FakeClock, Path],
) -> None:
    """(Self-check.) Before the purge, every marker is somewhere in the files."""
    desk, clock, path = sqlite_desk
    person_tickets(desk, clock)
    everywhere = b"".join(sqlite_bytes(path).values())
    assert sorted(MARKERS) == sorted(found_in(everywhere))


def test_after_a_purge_no_marker_is_in_the_sqlite_file_wal_or_shm(
    sqlite_desk: tuple[Helpdesk, FakeClock, Path],
) -> None:
    """Purging the ticket erases it and its copies in the merge target from every file.

    The store stays open (a running help desk); the WAL was checkpointed and
    truncated by the purge's commit, and secure_delete zeroed the freed space.
    """
    desk, clock, path = sqlite_desk
    theirs, ann = person_ticket(desk, clock)
    for _ in range(20):  # more commits after the markers, as a live desk makes
        desk.add_note(ann, "busy day", by="bob")
    result = desk.purge(theirs, by=DPO)
    assert (ann,) == result.scrubbed
    assert {} == sqlite_leaks(path)
    # Ann's ticket keeps her own thread, and tombstones where the copies were.
    kept = desk.get(ann)
    assert ["Fixed for both of you", *["busy day"] * 20] == [
        m.body for m in kept.messages if m.body
    ]
    assert ("Ann's printer", "jammed") == (kept.subject, kept.description)


def test_erase_requester_leaves_no_marker_in_the_sqlite_files(
    sqlite_desk: tuple[Helpdesk, FakeClock, Path],
) -> None:
    """erase_requester purges every ticket of the person and scrubs their copies in Ann's."""
    desk, clock, path = sqlite_desk
    ids = person_tickets(desk, clock)
    result = desk.erase_requester(" ZQ74.Person@Example.NET ", by=DPO)
    mine = sorted(ids[k] for k in ("full", "merged", "closed", "follow_up"))
    assert ErasureResult(email=MARKERS["email"], purged=tuple(mine), scrubbed=(ids["ann"],)) == (
        result
    )
    assert {} == sqlite_leaks(path)
    again = desk.erase_requester(MARKERS["email"], by=DPO)
    assert ErasureResult(email=MARKERS["email"]) == again
    assert not again


# --- every backend: results, follow-ups, errors --------------------------------------------


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def any_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TicketStore]:
    """A store of each backend (PostgreSQL only with a server)."""
    if request.param == "memory":
        store: TicketStore = MemoryStore()
    elif request.param == "sqlite":
        store = SQLiteStore(tmp_path / "x.db")
    else:
        store = PostgresStore.from_url(request.getfixturevalue("postgres_url"))
    yield store
    store.close()


def test_purge_lists_follow_ups_of_the_same_requester_and_leaves_them(
    any_store: TicketStore,
) -> None:
    """A follow-up opened by the person's reply to a closed ticket is listed, not purged."""
    clock = FakeClock(START)
    desk = Helpdesk(store=any_store, clock=clock)
    ids = person_tickets(desk, clock)
    result = desk.purge(ids["closed"], by=DPO)
    assert PurgeResult(ticket=desk.get(ids["closed"]), follow_ups=(ids["follow_up"],)) == result
    assert MARKERS["follow-up reply"] == desk.get(ids["follow_up"]).description
    # Through execute, a purge returns the tombstone, as every command returns a ticket.
    tombstone = desk.execute(Purge(ticket_id=ids["follow_up"]), by=DPO)
    assert tombstone == desk.get(ids["follow_up"])
    assert "(erased)" == tombstone.requester.name


def test_purge_scrubs_the_copies_in_the_merge_target_on_every_backend(
    any_store: TicketStore,
) -> None:
    """The target's copied messages become tombstones (time and author role kept).

    The target's timeline records an ``erased`` event, and no event of it holds a
    marker; its own messages and its requester stay.
    """
    clock = FakeClock(START)
    desk = Helpdesk(store=any_store, clock=clock)
    theirs, ann = person_ticket(desk, clock)
    before = desk.get(ann)
    result = desk.purge(theirs, by=DPO)
    after = desk.get(ann)
    assert (ann,) == result.scrubbed
    assert [(m.at, m.author.role, m.private) for m in before.messages] == [
        (m.at, m.author.role, m.private) for m in after.messages
    ]
    assert "erased" == after.timeline[-1].kind.value
    assert before.version + 1 == after.version
    assert [] == found_in(repr([e.to_dict() for e in after.timeline]).encode())
    assert [] == found_in(json.dumps([e.to_dict() for e in after.timeline]).encode())
    assert ANN == after.requester
    assert [] == desk.find(requester=MARKERS["email"])
    assert [ann] == [t.id for t in desk.find(requester="ann@example.com")]


@pytest.mark.parametrize(
    ("call", "error", "field"),
    [
        (lambda d: d.purge("01NOSUCHTICKET", by=DPO), TicketNotFound, None),
        (lambda d: d.erase_requester("", by=DPO), InvalidInputError, "email"),
        (lambda d: d.erase_requester("   ", by=DPO), InvalidInputError, "email"),
        (lambda d: d.erase_requester(42, by=DPO), InvalidInputError, "email"),
        (lambda d: d.erase_requester("a\x00@b", by=DPO), InvalidInputError, "email"),
        (lambda d: d.erase_requester("a@b", by=["x"]), InvalidInputError, "by"),
    ],
)
def test_bad_input_is_refused_alike_on_every_backend_and_changes_nothing(
    any_store: TicketStore,
    call: Callable[[Helpdesk], object],
    error: type[Exception],
    field: str | None,
) -> None:
    """An unknown id is TicketNotFound; a bad address InvalidInputError naming ``email``."""
    clock = FakeClock(START)
    desk = Helpdesk(store=any_store, clock=clock)
    person_ticket(desk, clock)
    before = desk.find()
    with pytest.raises(error) as info:
        call(desk)
    if field is not None:
        assert field == info.value.field  # type: ignore[attr-defined]
    assert before == desk.find()


# --- PostgreSQL: live rows, then heap pages after VACUUM ------------------------------------


TABLES: Final = (
    "tickets",
    "events",
    "tags",
    "outbox",
    "message_ids",
    "search_docs",
    "search_settings",
    "ticketflow_migrations",
)


def live_leaks(admin: Any) -> dict[str, list[str]]:
    """Which markers a live row of each ticketflow table holds (as its text form)."""
    leaks = {}
    for table in TABLES:
        rows = admin.execute(f"SELECT t::text FROM {table} AS t").fetchall()  # noqa: S608 - our names
        names = found_in("\n".join(r[0] for r in rows).encode())
        if names:
            leaks[table] = names
    return leaks


def page_leaks(admin: Any) -> dict[str, list[str]]:
    """Which markers any page of ticketflow's tables, their TOAST tables and indexes holds."""
    relations = admin.execute(
        """
        SELECT c.oid::regclass::text, c.relkind FROM pg_class AS c
        WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'i')
        UNION ALL
        SELECT t.oid::regclass::text, t.relkind FROM pg_class AS c
        JOIN pg_class AS t ON t.oid = c.reltoastrelid
        WHERE c.relnamespace = current_schema()::regnamespace
        """
    ).fetchall()
    leaks = {}
    for name, _kind in relations:
        pages = admin.execute(
            "SELECT pg_relation_size(%s::regclass) / current_setting('block_size')::int", (name,)
        ).fetchone()[0]
        data = b"".join(
            admin.execute("SELECT get_raw_page(%s, %s)", (name, n)).fetchone()[0]
            for n in range(pages)
        )
        names = found_in(data)
        if names:
            leaks[name] = names
    return leaks


@pytest.fixture
def own_database(postgres_server: str) -> Iterator[str]:
    """The conninfo of a new database of this test's own, dropped afterwards.

    ``VACUUM FULL`` keeps a dead row version while any transaction that might
    still see it is open in the same database (PostgreSQL 14 and later look at
    that database's sessions only). Tests running beside this one on the shared
    test database (pytest-xdist) would keep the markers' old versions alive; in
    a database of its own nothing else is open.
    """
    import psycopg  # noqa: PLC0415 - the postgres extra
    from psycopg import sql  # noqa: PLC0415
    from psycopg.conninfo import make_conninfo  # noqa: PLC0415

    name = f"tf_erasure_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_server, autocommit=True) as admin:
        try:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        except psycopg.errors.InsufficientPrivilege:
            pytest.skip("the raw-page check needs a database of its own (CREATEDB privilege)")
    try:
        yield make_conninfo(postgres_server, dbname=name)
    finally:
        with psycopg.connect(postgres_server, autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@pytest.fixture
def superuser(own_database: str) -> Iterator[Any]:
    """An autocommit connection to the test's database, with pageinspect: skip unless superuser."""
    import psycopg  # noqa: PLC0415 - the postgres extra

    with psycopg.connect(own_database, autocommit=True) as admin:
        yield _with_pageinspect(admin)


def _with_pageinspect(admin: Any) -> Any:
    if not admin.execute("SELECT usesuper FROM pg_user WHERE usename = current_user").fetchone()[0]:
        pytest.skip("reading raw pages (pageinspect) needs a PostgreSQL superuser")
    admin.execute("CREATE EXTENSION IF NOT EXISTS pageinspect SCHEMA public")
    schema = admin.execute("SELECT current_schema()").fetchone()[0]
    admin.execute(f"SET search_path TO {schema}, public")
    return admin


@pytest.mark.parametrize("erase", ["purge", "erase_requester"])
def test_postgres_no_live_row_after_a_purge_and_no_page_after_vacuum(
    own_database: str, superuser: Any, erase: str
) -> None:
    """After the purge no live row holds a marker; after ``vacuum(full=True)`` no page does.

    Before the vacuum the old row versions (dead tuples) still hold them: the
    documented reason for the operator's step. Pages of tables, their TOAST
    tables and their indexes are read raw (pageinspect's ``get_raw_page``).
    """
    store = PostgresStore(own_database)
    try:
        clock = FakeClock(START)
        desk = Helpdesk(store=store, clock=clock)
        if erase == "purge":
            theirs, _ann = person_ticket(desk, clock)
            desk.purge(theirs, by=DPO)
        else:
            person_tickets(desk, clock)
            desk.erase_requester(MARKERS["email"], by=DPO)
        assert {} == live_leaks(superuser)
        assert page_leaks(superuser), "dead tuples hold the markers until a vacuum"
        store.vacuum()
        # A plain VACUUM frees the dead tuples; their bytes may stay in the pages'
        # free space (seen on PostgreSQL 15) until reused: the full one rewrites.
        assert {} == live_leaks(superuser)
        store.vacuum(full=True)
        assert {} == page_leaks(superuser)
    finally:
        store.close()


def test_purge_deletes_the_erased_messages_files_from_the_attachment_store(
    any_store: TicketStore, tmp_path: Path
) -> None:
    """With ``Helpdesk(attachments=...)`` the purged messages' files are deleted after the commit.

    The person's description, reply and redirected reply (landed on Ann's ticket)
    lose their files; Ann's own file stays; the result lists the deleted refs.
    """
    files = FileSystemAttachmentStore(tmp_path / "files")
    clock = FakeClock(START)
    desk = Helpdesk(store=any_store, clock=clock, attachments=files)
    assert files is desk.attachments
    ann = desk.open_ticket(subject="Ann's", requester=ANN, description="jammed")
    kept = files.put(b"Ann's own file", filename="ann.txt", content_type="text/plain")
    desk.agent_reply(ann.id, "Here is yours", by="bob", attachments=[kept])
    mine = [
        files.put(f"Zq-bytes-{n}".encode(), filename=f"f{n}.txt", content_type="text/plain")
        for n in range(3)
    ]
    theirs = desk.open_ticket(subject="s", requester=PERSON, description="d", attachments=[mine[0]])
    desk.customer_reply(theirs.id, "r", attachments=[mine[1]])
    merge_other(desk, theirs.id, ann.id)
    desk.customer_reply(theirs.id, "redirected", attachments=[mine[2]])  # lands on Ann's
    assert mine[2] in desk.get(ann.id).messages[-1].attachments
    result = desk.purge(theirs.id, by=DPO)
    assert tuple(sorted(a.ref for a in mine)) == result.attachments
    for attachment in mine:
        with pytest.raises(AttachmentNotFound):
            files.read(attachment.ref)
    assert b"Ann's own file" == files.read(kept.ref)
    after = desk.get(ann.id)
    assert [kept] == [a for m in after.messages for a in m.attachments]


def test_purge_without_an_attachment_store_lists_the_refs_and_deletes_nothing(
    tmp_path: Path,
) -> None:
    """Without an attachment store the refs are returned for the application to delete."""
    files = FileSystemAttachmentStore(tmp_path / "files")
    desk = Helpdesk(clock=FakeClock(START))
    upload = files.put(b"bytes", filename="a.txt", content_type="text/plain")
    ticket = desk.open_ticket(subject="s", requester=PERSON)
    desk.add_note(ticket.id, "internal", by="bob", attachments=[upload])
    assert (upload.ref,) == desk.purge(ticket.id, by=DPO).attachments
    assert b"bytes" == files.read(upload.ref)


def test_a_purged_message_keeps_no_metadata_in_memory(any_store: TicketStore) -> None:
    """The tombstone's messages and the target's copies hold no metadata marker."""
    clock = FakeClock(START)
    desk = Helpdesk(store=any_store, clock=clock)
    theirs, ann = person_ticket(desk, clock)
    desk.purge(theirs, by=DPO)
    for ticket_id in (theirs, ann):
        ticket = desk.get(ticket_id)
        shown = [m.to_dict() for m in (*ticket.messages, ticket.description_message)]
        assert [] == found_in(json.dumps(shown).encode())
