"""Django integration: ticketflow in the project's database and transactions.

Add ``"ticketflow.contrib.django"`` to ``INSTALLED_APPS`` (install
``ticketflow[django]``), run ``manage.py migrate`` (ticketflow's tables are
created in the project's database by the library's own `migrate`), then get the
project's desk with `get_helpdesk`. Its store works on Django's connection of
the current thread, so ``transaction.atomic()`` covers ticket commands and the
project's model writes together:

    >>> from django.db import transaction  # doctest: +SKIP
    >>> from ticketflow.contrib.django import get_helpdesk  # doctest: +SKIP
    >>> with transaction.atomic():  # doctest: +SKIP
    ...     ticket = get_helpdesk().open_ticket(subject="Refund", requester=ann)
    ...     Refund.objects.create(ticket_id=ticket.id)

Settings live in ``settings.TICKETFLOW`` (a dict; every key optional:
``CONFIG``, ``GUARDS``, ``CLOCK``, ``DATABASE``, ``ATTACHMENTS_DIR``,
``SUBSCRIBERS``). The app also brings the ``ticketflow_worker`` management
command, a read-only admin for tickets and their events, and test helpers
(`ticketflow.contrib.django.testing`). See the how-to "Django".
"""

from __future__ import annotations

import functools
import threading
from typing import Any

from django.core.signals import setting_changed
from django.db import connections, transaction

from ..._engine import Helpdesk
from ...exceptions import StoreError
from ...stores import PostgresStore, SQLiteStore
from ._settings import TicketflowSettings, load_settings

__all__ = [
    "TicketflowSettings",
    "build_helpdesk",
    "get_helpdesk",
    "load_settings",
    "reset_helpdesk",
    "store_for",
]

_lock = threading.Lock()
_desk: Helpdesk | None = None


def store_for(using: str = "default") -> SQLiteStore | PostgresStore:
    """Return a store on the Django connection ``using``, of whichever thread calls it.

    At each call the store takes the calling thread's connection for that
    alias (``connections[using]``, connected if it was not), so one store
    serves every thread and follows Django's transactions: inside
    ``transaction.atomic()`` ticket commands commit or roll back with the
    block (nested blocks are savepoints, as for model writes); outside one
    (Django's autocommit mode) each store call is a transaction of its own.
    Outside ``atomic()``, a PostgreSQL connection found closed or broken (the
    server restarted under a long-running worker) is replaced by a new one. A
    `Helpdesk` on the store delivers to in-process subscribers through
    ``transaction.on_commit``: after Django's commit, never for a rollback.
    See `SQLiteStore.on_connection` and `PostgresStore.on_connection`.

    Args:
        using: A database alias of ``settings.DATABASES``.

    Returns:
        A `SQLiteStore` (``django.db.backends.sqlite3``) or a `PostgresStore`
        (``django.db.backends.postgresql`` with psycopg 3).

    Raises:
        StoreError: the database's backend is another one, or PostgreSQL
            through psycopg2.
    """
    vendor = connections[using].vendor

    def current() -> Any:  # the driver's connection; the store checks its type
        wrapper = connections[using]  # this thread's connection (Django's are per thread)
        raw = wrapper.connection
        if raw is not None and not wrapper.in_atomic_block and _broken(raw):
            # Lost between transactions (a long-running worker's, when the server
            # restarted): Django reconnects on the next use. Inside atomic() the
            # transaction is lost with it, and the error must reach the application.
            wrapper.close()
        wrapper.ensure_connection()
        return wrapper.connection

    # In-process subscribers hear of a command once Django has committed it.
    on_commit = functools.partial(transaction.on_commit, using=using)
    if vendor == "sqlite":
        return SQLiteStore.on_connection(current, on_commit=on_commit)
    if vendor == "postgresql":
        from django.db.backends.postgresql.psycopg_any import (  # noqa: PLC0415 - PostgreSQL only
            is_psycopg3,
        )

        if not is_psycopg3:
            raise StoreError(
                f"ticketflow on Django's database {using!r}: PostgreSQL needs psycopg 3 "
                "(pip install 'psycopg[binary]'); Django is using psycopg2"
            )
        return PostgresStore.on_connection(current, on_commit=on_commit)
    raise StoreError(
        f"ticketflow on Django's database {using!r}: the {vendor} backend is not supported; "
        "use django.db.backends.sqlite3 or django.db.backends.postgresql (psycopg 3)"
    )


def _broken(raw: object) -> bool:
    """Whether a psycopg 3 connection was closed or lost (sqlite3 connections are not lost)."""
    return bool(getattr(raw, "closed", False) or getattr(raw, "broken", False))


def build_helpdesk(config: TicketflowSettings | None = None, **changes: Any) -> Helpdesk:
    """Build a new desk from ``settings.TICKETFLOW`` (or ``config``), with ``changes`` applied.

    `get_helpdesk` keeps one of these per process; tests build their own with
    another clock (``build_helpdesk(clock=FakeClock(...))``, see
    `ticketflow.contrib.django.testing`).

    Args:
        config: Checked settings (default: `load_settings` of the current ones).
        **changes: Fields of `TicketflowSettings` to replace (``clock``,
            ``config``, ``database``, ``attachments``).

    The desk has no subscribers: ``SUBSCRIBERS`` are the ``ticketflow_worker``
    command's, which delivers outbox entries once Django has committed them.
    Do not call ``dispatch`` on this desk (with no subscriber it would
    acknowledge entries undelivered); a callback you ``subscribe`` yourself
    runs once Django has committed the command (``transaction.on_commit``),
    never for a command rolled back with its ``atomic()`` block.

    Raises:
        ImproperlyConfigured: ``settings.TICKETFLOW`` is unusable.
        StoreError: the database's backend is not supported (`store_for`).
    """
    import attrs  # noqa: PLC0415 - attrs.evolve only here

    checked = attrs.evolve(config or load_settings(), **changes)
    # No subscribers here: SUBSCRIBERS are the worker's, which delivers the outbox
    # after the commit (a subscriber added to this desk runs on Django's on_commit).
    return Helpdesk(
        config=checked.config,
        store=store_for(checked.database),
        clock=checked.clock,
        attachments=checked.attachments,
    )


def get_helpdesk() -> Helpdesk:
    """Return the project's desk: one per process, built from ``settings.TICKETFLOW``.

    Thread-safe: the first call builds it (under a lock), later calls return
    the same desk, whose store uses the calling thread's Django connection
    (`store_for`). It is rebuilt after ``settings.TICKETFLOW`` or
    ``settings.DATABASES`` changes (``override_settings`` in tests) and after
    `reset_helpdesk`.

    Raises:
        ImproperlyConfigured: ``settings.TICKETFLOW`` is unusable.
        StoreError: the database's backend is not supported (`store_for`).
    """
    global _desk  # noqa: PLW0603 - the process's one desk
    desk = _desk
    if desk is None:
        with _lock:
            if _desk is None:
                _desk = build_helpdesk()
            desk = _desk
    return desk


def reset_helpdesk(desk: Helpdesk | None = None) -> Helpdesk | None:
    """Replace the desk `get_helpdesk` returns by ``desk`` (None: build anew); return the old one.

    For tests (`ticketflow.contrib.django.testing` uses it to put a desk with a
    `FakeClock` in place, then restores the previous one).
    """
    global _desk
    with _lock:
        previous, _desk = _desk, desk
    return previous


def _settings_changed(*, setting: str, **_kwargs: Any) -> None:
    if setting in {"TICKETFLOW", "DATABASES"}:
        reset_helpdesk()


setting_changed.connect(_settings_changed, dispatch_uid="ticketflow.contrib.django")
