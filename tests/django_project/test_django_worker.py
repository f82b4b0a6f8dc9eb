"""``manage.py ticketflow_worker --once``: one pass fires due rules and delivers the outbox."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connections

from django_project import helpdesk
from ticketflow import FakeClock, Helpdesk, Requester
from ticketflow.contrib.django import get_helpdesk, store_for
from ticketflow.stores import WakeupStore

ANN = Requester(name="Ann Example", email="ann@example.com")


def mine(ticket_id: str) -> list[tuple[str, str]]:
    return [d for d in helpdesk.delivered if d[0] == ticket_id]


def test_one_pass_fires_due_rules_and_delivers_the_outbox(
    desk: Helpdesk, settings: Any, fake_clock: FakeClock, alias: str
) -> None:
    settings.TICKETFLOW = {**settings.TICKETFLOW, "SUBSCRIBERS": ["django_project.helpdesk.record"]}
    desk = get_helpdesk()
    helpdesk.delivered.clear()
    pending = desk.store.outbox_pending()  # committed by other tests' real transactions
    ticket = desk.open_ticket(subject="Call me back tomorrow", requester=ANN)
    desk.assign(ticket.id, "bob", by="bob")
    desk.postpone(ticket.id, fake_clock.now() + timedelta(days=1), by="bob")
    assert [] == helpdesk.delivered  # the request's desk delivers nothing: the worker does
    assert pending + 2 == desk.store.outbox_pending()
    fake_clock.advance(hours=23)
    call_command("ticketflow_worker", "--once", verbosity=0)
    assert "postponed" == desk.get(ticket.id).status  # not due yet
    assert [(ticket.id, "created"), (ticket.id, "assigned")] == mine(ticket.id)
    assert 0 == desk.store.outbox_pending()

    fake_clock.advance(hours=2)
    call_command("ticketflow_worker", "--once", verbosity=0)
    woken = desk.get(ticket.id)
    assert "postponed" != woken.status  # woken by the wake_postponed rule
    assert 4 == woken.version  # open, assign, postpone, then the wake-up
    assert [(ticket.id, "created"), (ticket.id, "assigned")] == mine(ticket.id)[:2]


def test_the_database_option_and_bad_options(desk: Helpdesk, alias: str) -> None:
    call_command("ticketflow_worker", "--once", "--database", alias, verbosity=0)
    with pytest.raises(CommandError, match="above 0"):
        call_command("ticketflow_worker", "--once", "--batch", "0")
    with pytest.raises(CommandError, match="--database 'replica': not an alias"):
        call_command("ticketflow_worker", "--once", "--database", "replica")


@pytest.mark.django_db(transaction=True, databases=list(settings.DATABASES))
def test_on_postgresql_a_commit_wakes_the_waiting_worker(desk: Helpdesk, alias: str) -> None:
    """The worker's store (on Django's connection) listens; a commit elsewhere ends its wait."""
    if connections[alias].vendor != "postgresql":
        pytest.skip("SQLite has no LISTEN/NOTIFY: its worker polls")
    store = store_for(alias)
    assert isinstance(store, WakeupStore)
    try:
        store.wait_for_wakeup(0.01)  # starts listening (a first wait may ask for a full poll)
        assert not store.wait_for_wakeup(0.2)  # nothing committed: the wait runs out
        committed = threading.Event()

        def commit_elsewhere() -> None:
            try:
                get_helpdesk().open_ticket(subject="Wake up", requester=ANN)  # outbox: created
            finally:
                connections.close_all()
                committed.set()

        thread = threading.Thread(target=commit_elsewhere)
        thread.start()
        assert store.wait_for_wakeup(30.0)  # returns at the notification, not after 30 s
        thread.join()
        assert committed.is_set()
    finally:
        store.close()
