"""ticketflow.contrib.django with real Django and pytest-django, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import OperationalError, connections, transaction

from django_project.shop.models import Refund
from ticketflow import FakeClock, Helpdesk, Requester, StoreError, TicketNotFound
from ticketflow.contrib.django import get_helpdesk, reset_helpdesk, store_for
from ticketflow.stores import PostgresStore, SQLiteStore

ANN = Requester(name="Ann Example", email="ann@example.com")
TABLES = {"tickets", "events", "tags", "outbox", "ticketflow_migrations"}


class Boom(Exception):
    """The application's failure that rolls its block back."""


def in_thread(work: Callable[[], Any]) -> Any:
    """Run ``work`` in another thread: Django gives it a connection of its own."""
    found: list[Any] = []

    def run() -> None:
        try:
            found.append(work())
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    assert found, "the thread failed"
    return found[0]


def rows_of(alias: str, ticket_id: str) -> dict[str, int]:
    """Rows of ticketflow's tables for ``ticket_id``, read through Django's cursor."""
    counts = {}
    with connections[alias].cursor() as cursor:
        for table, column in (("tickets", "id"), ("events", "ticket_id"), ("outbox", "ticket_id")):
            cursor.execute(f"SELECT count(*) FROM {table} WHERE {column} = %s", [ticket_id])  # noqa: S608 - fixed names
            counts[table] = cursor.fetchone()[0]
    return counts


# --- migrations -------------------------------------------------------------------------


def test_migrate_creates_ticketflows_tables(alias: str) -> None:
    """The test database was made by `migrate`: ticketflow's tables exist, at its schema version."""
    tables = set(connections[alias].introspection.table_names())
    assert TABLES <= tables
    store = store_for(alias)
    assert store.schema_version() >= 4
    store.migrate()  # again: a current schema is left as it is
    assert TABLES <= set(connections[alias].introspection.table_names())


def test_migrations_are_in_step_with_the_models() -> None:
    """makemigrations finds nothing to write for ticketflow's app (the admin's model)."""
    call_command("makemigrations", "ticketflow", "--check", "--dry-run", verbosity=0)


def test_store_for_picks_the_store_of_the_backend(alias: str) -> None:
    expected = SQLiteStore if connections[alias].vendor == "sqlite" else PostgresStore
    assert expected is type(store_for(alias))


# --- transaction.atomic -----------------------------------------------------------------


def test_rolled_back_atomic_block_leaves_no_ticket_event_outbox_entry_or_row(
    desk: Helpdesk, alias: str
) -> None:
    pending = desk.store.outbox_pending()
    opened: list[str] = []
    with pytest.raises(Boom), transaction.atomic(using=alias):  # noqa: PT012 - the block is under test
        ticket = desk.open_ticket(subject="Refund my order", requester=ANN)
        opened.append(ticket.id)
        Refund.objects.using(alias).create(ticket_id=ticket.id, amount=-40)
        desk.assign(ticket.id, "bob", by="bob")
        assert desk.store.outbox_pending() == pending + 2  # seen inside the block
        raise Boom
    with pytest.raises(TicketNotFound):
        desk.get(opened[0])
    assert {"tickets": 0, "events": 0, "outbox": 0} == rows_of(alias, opened[0])
    assert pending == desk.store.outbox_pending()
    assert not Refund.objects.using(alias).filter(ticket_id=opened[0]).exists()


def test_a_subscriber_hears_of_a_command_once_django_commits(
    desk: Helpdesk, alias: str, django_capture_on_commit_callbacks: Any
) -> None:
    """Deliveries wait for ``transaction.on_commit``; a rolled-back block announces nothing."""
    heard: list[str] = []
    desk.subscribe(lambda _ticket, event: heard.append(event.kind.value), kinds=["created"])
    capture = django_capture_on_commit_callbacks
    with capture(using=alias, execute=True) as callbacks, transaction.atomic(using=alias):
        desk.open_ticket(subject="Refund my order", requester=ANN)
        assert [] == heard  # inside the block: nothing announced yet
    assert (1, ["created"]) == (len(callbacks), heard)
    with (  # noqa: PT012 - the block is under test
        capture(using=alias, execute=True) as callbacks,
        pytest.raises(Boom),
        transaction.atomic(using=alias),
    ):
        desk.open_ticket(subject="Rolled back", requester=ANN)
        raise Boom
    assert (0, ["created"]) == (len(callbacks), heard)


def test_nested_atomic_rolls_back_the_inner_block_only(desk: Helpdesk, alias: str) -> None:
    with transaction.atomic(using=alias):
        kept = desk.open_ticket(subject="Kept", requester=ANN)
        Refund.objects.using(alias).create(ticket_id=kept.id, amount=-1)
        dropped: list[str] = []
        with pytest.raises(Boom), transaction.atomic(using=alias):  # noqa: PT012 - a savepoint
            ticket = desk.open_ticket(subject="Dropped", requester=ANN)
            dropped.append(ticket.id)
            desk.assign(kept.id, "bob", by="bob")
            Refund.objects.using(alias).create(ticket_id=ticket.id, amount=-2)
            raise Boom
        assert desk.get(kept.id).assignee is None  # the inner assign went with its savepoint
        assert 1 == desk.get(kept.id).version
    with pytest.raises(TicketNotFound):
        desk.get(dropped[0])
    assert {"tickets": 0, "events": 0, "outbox": 0} == rows_of(alias, dropped[0])
    assert {"tickets": 1, "events": 1, "outbox": 1} == rows_of(alias, kept.id)
    assert "Kept" == desk.get(kept.id).subject
    assert [kept.id] == list(
        Refund.objects.using(alias)
        .filter(ticket_id__in=[kept.id, dropped[0]])
        .values_list("ticket_id", flat=True)
    )


@pytest.mark.django_db(transaction=True, databases=list(settings.DATABASES))
def test_committed_atomic_block_keeps_all_and_others_see_it_only_then(
    desk: Helpdesk, alias: str
) -> None:
    """Real commits (pytest-django's transactional test): another thread's connection looks."""

    def seen(ticket_id: str) -> tuple[int, int, int]:
        other = get_helpdesk()  # the same desk, on this thread's own connection
        refunds = Refund.objects.using(alias).filter(ticket_id=ticket_id).count()
        try:
            return other.get(ticket_id).version, len(other.store.events(ticket_id)), refunds
        except TicketNotFound:
            return 0, 0, refunds

    pending = desk.store.outbox_pending()
    with transaction.atomic(using=alias):
        ticket = desk.open_ticket(subject="Refund my order", requester=ANN)
        Refund.objects.using(alias).create(ticket_id=ticket.id, amount=-40)
        desk.assign(ticket.id, "bob", by="bob")
        assert (0, 0, 0) == in_thread(lambda: seen(ticket.id))  # not committed yet
    assert (2, 2, 1) == in_thread(lambda: seen(ticket.id))
    assert pending + 2 == in_thread(lambda: get_helpdesk().store.outbox_pending())  # noqa: PLW0108 - in the thread


# --- get_helpdesk -----------------------------------------------------------------------


def test_get_helpdesk_is_one_desk_per_process_built_once_under_concurrency(
    desk: Helpdesk, alias: str
) -> None:
    reset_helpdesk()
    barrier = threading.Barrier(8)
    desks: list[Helpdesk] = []

    def first_call() -> None:
        barrier.wait()
        desks.append(get_helpdesk())

    threads = [threading.Thread(target=first_call) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert 8 == len(desks)
    assert 1 == len({id(d) for d in desks})
    assert desks[0] is get_helpdesk()


def test_the_desk_uses_the_calling_threads_connection(desk: Helpdesk, alias: str) -> None:
    """Another thread gets the same desk, but its store talks through that thread's connection."""

    def connection_of(store: Any) -> Any:
        return store._conn if isinstance(store, SQLiteStore) else store._connect()

    here = connection_of(desk.store)
    there = in_thread(lambda: connection_of(get_helpdesk().store))
    assert here is connections[alias].connection
    assert here is not there


def test_changed_settings_rebuild_the_desk(desk: Helpdesk, settings: Any) -> None:
    clock = FakeClock()
    settings.TICKETFLOW = {**settings.TICKETFLOW, "CLOCK": clock}
    rebuilt = get_helpdesk()
    assert rebuilt is not desk
    assert clock is rebuilt.clock


@pytest.mark.django_db(transaction=True, databases=list(settings.DATABASES))
def test_a_lost_connection_is_replaced_outside_atomic(desk: Helpdesk, alias: str) -> None:
    """A worker's connection the server dropped: the next call outside atomic() reconnects."""
    if connections[alias].vendor != "postgresql":
        pytest.skip("sqlite3 connections are not lost by a server")
    connections[alias].ensure_connection()
    lost = connections[alias].connection
    lost.close()
    ticket = desk.open_ticket(subject="After the restart", requester=ANN)
    assert connections[alias].connection is not lost
    assert "After the restart" == desk.get(ticket.id).subject
    with pytest.raises(OperationalError), transaction.atomic(using=alias):  # noqa: PT012
        connections[alias].connection.close()
        with pytest.raises(StoreError):  # inside atomic(): the transaction is gone, say so
            desk.open_ticket(subject="Lost", requester=ANN)
    # and Django's commit fails too
    connections[alias].close()
