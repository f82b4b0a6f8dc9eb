"""`ticketflow.contrib.sqlalchemy.store_for`: ticket commands in an SQLAlchemy session's
transaction, with real SQLAlchemy 2 on SQLite (pysqlite, its default transaction
handling) and PostgreSQL (``postgresql+psycopg``; skipped without
``TICKETFLOW_POSTGRES_URL``)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

pytest.importorskip("sqlalchemy", reason="the sqlalchemy extra is not installed")

from sqlalchemy import Engine, String, create_engine, func, select, text
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from ticketflow import ConflictError, FakeClock, Helpdesk, Requester, TicketNotFound
from ticketflow.contrib.sqlalchemy import store_for
from ticketflow.stores import Change, PostgresStore, SQLiteStore

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
ANN = Requester(name="Ann Example", email="ann@example.com")


class Base(DeclarativeBase):
    pass


class Invoice(Base):
    """The application's own model."""

    __tablename__ = "invoices"
    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[str] = mapped_column(String(64))


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An engine with the application's table and ticketflow's, both created."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'app.db'}"
    else:
        url = request.getfixturevalue("postgres_url").replace(
            "postgresql://", "postgresql+psycopg://", 1
        )
    made = create_engine(url)
    Base.metadata.create_all(made)
    with Session(made) as session:
        store_for(session).migrate()
        session.commit()
    yield made
    made.dispose()


def desk_for(session: Session) -> Helpdesk:
    return Helpdesk(
        store=store_for(session), clock=FakeClock(START), outbox=["created", "assigned"]
    )


def committed(engine: Engine) -> dict[str, int]:
    """What a fresh connection sees: rows in ticketflow's tables and the application's."""
    with engine.connect() as conn:
        return {
            table: conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()  # noqa: S608 - test tables
            for table in ("tickets", "events", "outbox", "invoices")
        }


def test_store_for_picks_the_store_of_the_dialect(engine: Engine) -> None:
    """SQLite sessions get a SQLiteStore, psycopg ones a PostgresStore."""
    with Session(engine) as session:
        store = store_for(session)
    expected = SQLiteStore if engine.dialect.name == "sqlite" else PostgresStore
    assert expected is type(store)


def test_session_rollback_undoes_tickets_events_outbox_and_orm_rows(engine: Engine) -> None:
    """A ticket command first (it opens the session's transaction), an ORM write, a rollback."""
    with Session(engine) as session:
        desk = desk_for(session)
        ticket = desk.open_ticket(subject="Printer", requester=ANN)
        session.add(Invoice(ticket_id=ticket.id))
        desk.assign(ticket.id, "bob", by="bob")
        session.flush()
        assert session.in_transaction()
        assert {"tickets": 0, "events": 0, "outbox": 0, "invoices": 0} == committed(engine)
        session.rollback()
        assert {"tickets": 0, "events": 0, "outbox": 0, "invoices": 0} == committed(engine)
        with pytest.raises(TicketNotFound):
            desk.get(ticket.id)


def test_session_commit_keeps_tickets_events_outbox_and_orm_rows(engine: Engine) -> None:
    """One session.commit() writes the application's row and the tickets together."""
    with Session(engine) as session:
        desk = desk_for(session)
        session.add(Invoice(ticket_id="pending"))
        session.flush()
        ticket = desk.open_ticket(subject="Printer", requester=ANN)
        desk.assign(ticket.id, "bob", by="bob")
        session.commit()
    assert {"tickets": 1, "events": 2, "outbox": 2, "invoices": 1} == committed(engine)


def test_the_store_follows_the_session_across_transactions(engine: Engine) -> None:
    """After a commit the session may hold another connection; the store uses the
    session's current one: a later rollback undoes only the later work."""
    with Session(engine) as session:
        desk = desk_for(session)
        kept = desk.open_ticket(subject="Kept", requester=ANN)
        session.commit()
        dropped = desk.open_ticket(subject="Dropped", requester=ANN)
        session.add(Invoice(ticket_id=dropped.id))
        session.rollback()
        assert kept.id == desk.get(kept.id).id
        with pytest.raises(TicketNotFound):
            desk.get(dropped.id)
    assert {"tickets": 1, "events": 1, "outbox": 1, "invoices": 0} == committed(engine)


def test_a_conflict_leaves_the_session_usable(engine: Engine) -> None:
    """A stale ticket commit fails alone; the session's earlier writes stay and commit."""
    with Session(engine) as session:
        desk = desk_for(session)
        ticket = desk.open_ticket(subject="Printer", requester=ANN)
        session.commit()
        session.add(Invoice(ticket_id=ticket.id))
        session.flush()
        assigned = desk.assign(ticket.id, "bob", by="bob")
        with pytest.raises(ConflictError):
            store_for(session).commit([Change(assigned, 1)])
        session.add(Invoice(ticket_id=ticket.id))
        session.commit()
    assert {"tickets": 1, "events": 2, "outbox": 2, "invoices": 2} == committed(engine)


def test_a_core_connection_shares_its_transaction(engine: Engine) -> None:
    """A Core Connection works the same way: its rollback undoes the ticket."""
    with engine.connect() as conn:
        desk = Helpdesk(store=store_for(conn), clock=FakeClock(START))
        desk.open_ticket(subject="Dropped", requester=ANN)
        conn.execute(Invoice.__table__.insert().values(ticket_id="x"))
        conn.rollback()
        kept = desk.open_ticket(subject="Kept", requester=ANN)
        conn.commit()
    assert {"tickets": 1, "invoices": 0} == {
        k: v for k, v in committed(engine).items() if k in {"tickets", "invoices"}
    }
    with Session(engine) as session:
        assert "Kept" == desk_for(session).get(kept.id).subject
        assert 0 == session.scalar(select(func.count()).select_from(Invoice))
