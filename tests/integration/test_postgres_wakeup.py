"""PostgresStore wakes a waiting worker with LISTEN/NOTIFY (the `WakeupStore` capability).

Skipped unless ``TICKETFLOW_POSTGRES_URL`` names a database; each test has a fresh
schema (see ``conftest.py``). The waits are bounded by a generous timeout and
return as soon as the notification arrives: nothing sleeps to let time pass.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ticketflow import ConflictError, Helpdesk, InvalidInputError, Requester, Ticket
from ticketflow.stores import Change, PostgresStore, WakeupStore
from ticketflow.stores._postgres_listen import WAKE_CHANNEL

from .conftest import install_recorder

pytestmark = pytest.mark.usefixtures("postgres_server")
psycopg = pytest.importorskip("psycopg", reason="the postgres extra is not installed")

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
PATIENCE = 30.0  # seconds: the longest a notified wait may take on a loaded CI machine
QUIET = 0.3  # seconds: a wait that must time out (it returns False; nothing is late)


DESK = Helpdesk()  # makes the tickets written, on a memory store


def made(count: int) -> list[Ticket]:
    """``count`` new tickets (version 1)."""
    return [
        DESK.open_ticket(subject=f"t{i}", requester=Requester(name="Ann")) for i in range(count)
    ]


@pytest.fixture
def stores(postgres_url: str) -> Iterator[tuple[PostgresStore, PostgresStore]]:
    """A writer and a listener on the same schema, each with its own connections."""
    writer = PostgresStore(postgres_url)
    listener = PostgresStore(postgres_url)
    try:
        yield writer, listener
    finally:
        writer.close()
        listener.close()


def listening(store: PostgresStore) -> PostgresStore:
    """Start listening: the first wait returns True at once, then nothing is pending."""
    assert store.wait_for_wakeup(PATIENCE)
    assert not store.wait_for_wakeup(0)
    return store


def test_the_postgres_store_is_a_wakeup_store(stores: tuple[PostgresStore, PostgresStore]) -> None:
    """PostgresStore provides the capability; the timeout is validated like any input."""
    _, listener = stores
    assert isinstance(listener, WakeupStore)
    with pytest.raises(InvalidInputError) as caught:
        listener.wait_for_wakeup(-1.0)
    assert "timeout" == caught.value.field


def test_a_commit_adding_outbox_entries_wakes_a_listener_in_another_connection(
    stores: tuple[PostgresStore, PostgresStore],
) -> None:
    """The notification arrives within the wait, well before its timeout."""
    writer, listener = stores
    listening(listener)
    (ticket,) = made(1)
    writer.commit([Change(ticket, 0, outbox=(0,))])
    started = time.monotonic()
    assert listener.wait_for_wakeup(PATIENCE)
    assert time.monotonic() - started < PATIENCE / 2
    assert not listener.wait_for_wakeup(0)  # consumed: one commit, one wake-up


def test_a_store_on_the_application_connection_listens_on_a_connection_of_its_own(
    stores: tuple[PostgresStore, PostgresStore], postgres_url: str
) -> None:
    """`on_connection`: the listener connects with the application's connection's
    parameters (same server, same schema) and is woken by another process's commit."""
    writer, _ = stores
    app = psycopg.connect(postgres_url, autocommit=True)
    try:
        hosted = PostgresStore.on_connection(lambda: app)
        listening(hosted)
        (ticket,) = made(1)
        writer.commit([Change(ticket, 0, outbox=(0,))])
        assert hosted.wait_for_wakeup(PATIENCE)
        assert not hosted.wait_for_wakeup(0)
        hosted.close()
        assert not app.closed  # the application's connection stays open
    finally:
        app.close()


def test_a_waiting_listener_is_woken_by_a_commit_made_while_it_waits(
    stores: tuple[PostgresStore, PostgresStore],
) -> None:
    """A commit from another thread ends a wait in progress."""
    writer, listener = stores
    listening(listener)
    (ticket,) = made(1)
    result: list[bool] = []
    waiting = threading.Thread(target=lambda: result.append(listener.wait_for_wakeup(PATIENCE)))
    waiting.start()
    writer.commit([Change(ticket, 0, due_at=START)])
    waiting.join(PATIENCE)
    assert [True] == result


def test_only_a_due_time_earlier_than_every_stored_one_wakes(
    stores: tuple[PostgresStore, PostgresStore],
) -> None:
    """A later due time (the worker wakes for the earlier one anyway) sends nothing."""
    writer, listener = stores
    listening(listener)
    first, second, third = made(3)
    writer.commit([Change(first, 0, due_at=START + 2 * HOUR)])
    assert listener.wait_for_wakeup(PATIENCE)  # none was stored: nearer than "never"
    writer.commit([Change(second, 0, due_at=START + 3 * HOUR)])
    writer.commit([Change(third, 0)])  # no due time, no outbox entry
    assert not listener.wait_for_wakeup(QUIET)
    noted = DESK.add_note(third.id, "moved up", by="bob")
    writer.commit([Change(noted, 1, due_at=START + HOUR)])
    assert listener.wait_for_wakeup(PATIENCE)


def test_a_commit_of_several_changes_notifies_once(
    stores: tuple[PostgresStore, PostgresStore],
) -> None:
    """One transaction of many changes: one notification, delivered on commit."""
    writer, listener = stores
    listening(listener)
    tickets = made(5)
    writer.commit([Change(t, 0, due_at=START + i * HOUR) for i, t in enumerate(tickets)])
    assert listener.wait_for_wakeup(PATIENCE)
    assert not listener.wait_for_wakeup(QUIET)


def test_a_conflict_or_a_rollback_does_not_wake(
    stores: tuple[PostgresStore, PostgresStore], postgres_url: str
) -> None:
    """No notification escapes a transaction that did not commit."""
    writer, listener = stores
    listening(listener)
    first, second = made(2)
    writer.commit([Change(first, 0)])
    listener.wait_for_wakeup(0)
    with pytest.raises(ConflictError):  # a stale single change
        writer.commit([Change(first, 0, outbox=(0,))])
    with pytest.raises(ConflictError):  # a stale change among several
        writer.commit([Change(second, 0, outbox=(0,)), Change(first, 0, outbox=(0,))])
    # A host transaction that notifies, then rolls back.
    with psycopg.connect(postgres_url) as conn:
        conn.execute(f"SELECT pg_notify({WAKE_CHANNEL}, 'rolled back')")
        conn.rollback()
    assert not listener.wait_for_wakeup(QUIET)
    assert 0 == writer.outbox_pending()


def test_a_dropped_listening_connection_reconnects_and_asks_for_a_poll(
    stores: tuple[PostgresStore, PostgresStore], postgres_url: str
) -> None:
    """pg_terminate_backend on the listener: the wait says "poll", then it listens again."""
    writer, listener = stores
    listening(listener)
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        row = admin.execute(f"SELECT {WAKE_CHANNEL}").fetchone()
        assert row is not None
        listen = psycopg.sql.SQL("LISTEN {}").format(psycopg.sql.Identifier(row[0]))
        killed = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE pid <> pg_backend_pid() AND query = %s",
            (listen.as_string(admin),),
        ).fetchall()
    assert [(True,)] == killed
    # Committed while nobody listened: lost as a notification, found by the poll.
    (ticket,) = made(1)
    writer.commit([Change(ticket, 0, outbox=(0,))])
    assert listener.wait_for_wakeup(PATIENCE)  # the connection is gone: poll
    assert listener.wait_for_wakeup(PATIENCE)  # listening again: poll once more
    assert not listener.wait_for_wakeup(0)
    (other,) = made(1)
    writer.commit([Change(other, 0, outbox=(0,))])
    assert listener.wait_for_wakeup(PATIENCE)  # notifications arrive again


def test_wakeup_ends_a_wait_from_another_thread(
    stores: tuple[PostgresStore, PostgresStore],
) -> None:
    """`wakeup` (what the worker calls when told to stop) ends the wait with True."""
    _, listener = stores
    listening(listener)
    result: list[bool] = []
    waiting = threading.Thread(target=lambda: result.append(listener.wait_for_wakeup(PATIENCE)))
    waiting.start()
    listener.wakeup()
    waiting.join(PATIENCE)
    assert [True] == result


def test_the_channel_is_named_after_the_schema(
    stores: tuple[PostgresStore, PostgresStore], postgres_url: str
) -> None:
    """``ticketflow:<schema>``, so stores on other schemas of the database are not woken."""
    with psycopg.connect(postgres_url) as conn:
        row = conn.execute(f"SELECT {WAKE_CHANNEL}, current_schema()").fetchone()
    assert row is not None
    assert f"ticketflow:{row[1]}" == row[0]


def test_the_worker_process_is_woken_by_a_commit_and_stops_mid_wait_on_sigterm(
    postgres_url: str, tmp_path: Path
) -> None:
    """``python -m ticketflow worker`` on PostgreSQL with --poll 3600.

    A command committed by this process while the worker waits is delivered by
    it long before the poll interval: the commit woke it. SIGTERM then ends the
    next wait at once: the worker exits with status 0 within the deadline, not
    after an hour.
    """
    env = {
        **os.environ,
        "PYTHONPATH": install_recorder(tmp_path),
        "TICKETFLOW_TEST_RECORD": str(tmp_path / "deliveries.txt"),
    }
    log = tmp_path / "worker.log"
    command = [
        sys.executable, "-m", "ticketflow", "worker", "--store", postgres_url,
        "--poll", "3600", "--subscriber", "recorder:record", "--log-level", "DEBUG",
    ]  # fmt: skip
    with log.open("wb") as out:
        worker = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        # The first wait returns at once (it starts listening); the second is the long one.
        wait_for(lambda: log.read_text().count("waiting up to 3600") >= 2, "the worker to wait")
        assert "(woken by the store's commits)" in log.read_text()
        store = PostgresStore(postgres_url)
        try:
            desk = Helpdesk(store=store, outbox=["created"])
            ticket = desk.open_ticket(subject="VPN drops", requester=Requester(name="Ann"))
        finally:
            store.close()
        record = tmp_path / "deliveries.txt"
        wait_for(lambda: record.exists() and ticket.id in record.read_text(), "the delivery")
        # Woken twice: when it started listening, then by the commit.
        assert 2 <= log.read_text().count(": woken by the store\n")
        wait_for(lambda: log.read_text().count("waiting up to 3600") >= 3, "the next wait")
        worker.send_signal(signal.SIGTERM)
        assert 0 == worker.wait(timeout=PATIENCE)
        assert "stopped on SIGTERM" in log.read_text()
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()


def wait_for(condition: Callable[[], bool], what: str) -> None:
    """Poll ``condition`` until it holds; fail naming ``what`` after PATIENCE seconds."""
    deadline = time.monotonic() + PATIENCE
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {PATIENCE}s waiting for {what}")
        time.sleep(0.01)
