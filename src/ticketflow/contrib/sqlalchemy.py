"""Run ticketflow inside an SQLAlchemy session's transaction (Flask, FastAPI, scripts).

`store_for` gives a store that writes through the session's own database
connection, so ticket commands and the application's ORM writes commit or roll
back together with the session (``session.commit()``, ``session.rollback()``):

    >>> from sqlalchemy import create_engine  # doctest: +SKIP
    >>> from sqlalchemy.orm import Session  # doctest: +SKIP
    >>> with Session(create_engine("sqlite:///app.db")) as session:  # doctest: +SKIP
    ...     desk = Helpdesk(store=store_for(session))
    ...     desk.open_ticket(subject="Printer", requester=ann)
    ...     session.add(Invoice(...))
    ...     session.commit()

SQLAlchemy is imported by `store_for`'s caller, never by ticketflow itself
(install ``ticketflow[sqlalchemy]``). See the how-to "Inside your application's
transaction".
"""

from __future__ import annotations

import typing
from typing import Any

from ..exceptions import StoreError
from ..stores import PostgresStore, SQLiteStore

if typing.TYPE_CHECKING:
    from sqlalchemy import Connection
    from sqlalchemy.orm import Session

__all__ = ["store_for"]


def store_for(session: Session | Connection) -> SQLiteStore | PostgresStore:
    """Return a store working inside ``session``'s transaction, on its connection.

    The store asks the session for its connection at each call
    (``session.connection()``, which begins the session's transaction if none
    is open, as any ORM query would), so it follows the session across
    commits, when the pool may hand it another connection. Each store call is
    a savepoint in that transaction (`SQLiteStore.on_connection`,
    `PostgresStore.on_connection`): the session's ``commit()`` writes the
    tickets, events and outbox entries with the application's rows, its
    ``rollback()`` undoes them all, and a refused ticket commit
    (`ConflictError`) undoes only its own part. The store never commits,
    rolls back or closes anything itself.

    A Core ``Connection`` may be passed instead of a session; its transaction
    is used the same way, begun by the store's first call if the connection
    has none (as its own ``execute()`` would), committed by its ``commit()``.

    Supported dialects: SQLite (``sqlite://``, the standard library's driver)
    and PostgreSQL through psycopg 3 (``postgresql+psycopg://``). Create
    ticketflow's tables once with ``store_for(session).migrate()`` and commit
    the session (from a deployment step or an Alembic migration's ``upgrade``:
    ``store_for(op.get_bind()).migrate()``).

    Args:
        session: An ORM ``Session`` bound to one engine, or a Core ``Connection``.

    Returns:
        The store, for `Helpdesk(store=...)`.

    Raises:
        StoreError: the session's dialect or driver is not one of those above.
    """
    from sqlalchemy.orm import Session  # noqa: PLC0415 - the caller has SQLAlchemy

    if isinstance(session, Session):
        orm = session
        bind = orm.get_bind()

        def current() -> Any:  # the driver's connection; the store checks it
            # connection() begins the session's transaction if none is open.
            return orm.connection().connection.driver_connection
    else:
        core = session
        bind = core.engine

        def current() -> Any:  # the driver's connection; the store checks it
            if not core.in_transaction():  # as the connection's own execute() would
                core.begin()  # so that its commit() commits what the store wrote
            return core.connection.driver_connection

    dialect = bind.dialect
    if dialect.name == "sqlite" and dialect.driver == "pysqlite":
        return SQLiteStore.on_connection(current)
    if dialect.name == "postgresql" and dialect.driver == "psycopg":
        return PostgresStore.on_connection(current)
    raise StoreError(
        f"store_for: the {dialect.name}+{dialect.driver} dialect is not supported; "
        "use sqlite:// (pysqlite) or postgresql+psycopg:// (psycopg 3)"
    )
