"""Threading inbound mail by the message ids stored on tickets (`MessageIdStore`).

Real threads built from CPython's sample messages: the sample opens a ticket,
and a follow-up answers the sample's own Message-ID (not one ticketflow made).
Run on every built-in store and on a store without the capability (the
requester-index fallback).
"""

from __future__ import annotations

from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path

import pytest

from ticketflow import (
    Actor,
    FakeClock,
    Helpdesk,
    MemoryStore,
    Requester,
    Role,
    SQLiteStore,
    TicketStore,
)
from ticketflow.email import EmailChannel
from ticketflow.stores import MessageIdStore

from ._plain_store import PlainStore

SAMPLES = Path("/usr/lib/python3.11/test/test_email/data")
ADDRESS = "support@desk.example"
ANN = Requester(name="Ann", email="ann@example.com")
needs_samples = pytest.mark.skipif(
    not (SAMPLES / "msg_01.txt").exists(),
    reason=f"CPython's email samples are not installed ({SAMPLES}): "
    "apt-get install libpython3.11-testsuite (.ci/run does)",
)

STORES: dict[str, Callable[[], TicketStore]] = {
    "memory": MemoryStore,
    "sqlite": SQLiteStore,
    "plain": PlainStore,
}


@pytest.fixture(params=sorted(STORES))
def desk(request: pytest.FixtureRequest) -> Helpdesk:
    return Helpdesk(store=STORES[request.param](), clock=FakeClock())


def _answer(
    sender: str,
    *,
    in_reply_to: str | None = None,
    references: str | None = None,
    subject: str = "Re: that",
    cc: str | None = None,
    message_id: str | None = None,
) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = ADDRESS
    msg["Subject"] = subject
    if cc:
        msg["Cc"] = cc
    if message_id:
        msg["Message-ID"] = message_id
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
    if references:
        msg["References"] = references
    msg.set_content("Any news on this?")
    return msg.as_bytes()


@needs_samples
def test_an_answer_to_the_customers_own_first_mail_threads_onto_its_ticket(desk: Helpdesk) -> None:
    """msg_01's sender writes again, In-Reply-To their own first mail: a reply, not a new ticket."""
    channel = EmailChannel(desk, address=ADDRESS)
    opened = channel.receive((SAMPLES / "msg_01.txt").read_bytes())
    assert "opened" == opened.action
    again = channel.receive(
        _answer("bbb@ddd.com", in_reply_to="<15090.61304.110929.45684@aaa.zzz.org>")
    )
    assert ("replied", opened.ticket_id) == (again.action, again.ticket_id)
    assert "In-Reply-To/References" in again.reason


@needs_samples
def test_references_are_tried_newest_first_after_in_reply_to(desk: Helpdesk) -> None:
    """In-Reply-To names no stored id; of the References, the newest stored one wins."""
    channel = EmailChannel(desk, address=ADDRESS)
    first = channel.receive((SAMPLES / "msg_01.txt").read_bytes())
    second = channel.receive(
        _answer("bbb@ddd.com", subject="Another matter", message_id="<second.2@ddd.com>")
    )
    assert "opened" == second.action != first.ticket_id
    refs = "<15090.61304.110929.45684@aaa.zzz.org> <second.2@ddd.com> <unknown.9@ddd.com>"
    answer = channel.receive(
        _answer("bbb@ddd.com", in_reply_to="<nowhere.0@ddd.com>", references=refs)
    )
    assert ("replied", second.ticket_id) == (answer.action, answer.ticket_id)


@needs_samples
def test_in_reply_to_wins_over_references_and_the_subject_token(desk: Helpdesk) -> None:
    """In-Reply-To resolves first, even when References and the subject name other tickets."""
    channel = EmailChannel(desk, address=ADDRESS)
    first = channel.receive((SAMPLES / "msg_01.txt").read_bytes())
    second = channel.receive(
        _answer("bbb@ddd.com", subject="Other", message_id="<second.2@ddd.com>")
    )
    assert first.ticket_id is not None
    assert second.ticket_id is not None
    answer = channel.receive(
        _answer(
            "bbb@ddd.com",
            in_reply_to="<15090.61304.110929.45684@aaa.zzz.org>",
            references="<second.2@ddd.com>",
            subject=f"Re: Other [#{second.ticket_id}]",
        )
    )
    assert ("replied", first.ticket_id) == (answer.action, answer.ticket_id)


def test_a_reply_to_a_stored_customer_reply_threads(desk: Helpdesk) -> None:
    """Every stored message id resolves, not only the first mail's: here a later reply's."""
    channel = EmailChannel(desk, address=ADDRESS)
    opened = channel.receive(_answer("ann@example.com", subject="Printer", message_id="<a.1@x>"))
    replied = channel.receive(
        _answer("ann@example.com", in_reply_to="<a.1@x>", message_id="<a.2@x>")
    )
    assert opened.ticket_id == replied.ticket_id
    third = channel.receive(_answer("ann@example.com", in_reply_to="<a.2@x>"))
    assert ("replied", opened.ticket_id) == (third.action, third.ticket_id)


def test_an_imported_message_id_threads() -> None:
    """A message id that arrived by import (not through the channel) resolves too."""
    desk = Helpdesk(store=SQLiteStore(), clock=FakeClock())
    ticket = desk.open_ticket(
        subject="Old", requester=ANN, external_id="legacy.77@old-desk.example"
    )
    channel = EmailChannel(desk, address=ADDRESS)
    answer = channel.receive(_answer("ann@example.com", in_reply_to="<legacy.77@old-desk.example>"))
    assert ("replied", ticket.id) == (answer.action, answer.ticket_id)


@pytest.mark.parametrize("store", [MemoryStore, SQLiteStore])
def test_a_purged_tickets_message_ids_no_longer_resolve(store: Callable[[], TicketStore]) -> None:
    """After a purge, the store finds no ticket by its ids, and an answer opens a new ticket."""
    desk = Helpdesk(store=store(), clock=FakeClock())
    channel = EmailChannel(desk, address=ADDRESS)
    opened = channel.receive(_answer("ann@example.com", subject="Printer", message_id="<p.1@x>"))
    channel.receive(_answer("ann@example.com", in_reply_to="<p.1@x>", message_id="<p.2@x>"))
    assert opened.ticket_id is not None
    indexed = desk.store
    assert isinstance(indexed, MessageIdStore)
    assert {"<p.1@x>"[1:-1]: (opened.ticket_id,)} == indexed.tickets_by_message_id(["p.1@x"])
    desk.purge(opened.ticket_id, by=Actor("dpo", Role.ADMIN))
    assert {} == indexed.tickets_by_message_id(["p.1@x", "p.2@x"])
    answer = channel.receive(_answer("ann@example.com", in_reply_to="<p.2@x>"))
    assert "opened" == answer.action
    assert opened.ticket_id != answer.ticket_id


def test_a_merge_keeps_each_tickets_ids() -> None:
    """After a merge each ticket still resolves its own ids; unknown ids are left out.

    (A merge copies the source's description as a plain message, without its
    e-mail ids, so the source's first id stays the source's.)
    """
    desk = Helpdesk(store=SQLiteStore(), clock=FakeClock())
    a = desk.open_ticket(subject="a", requester=ANN, external_id="m.a@x")
    b = desk.open_ticket(subject="b", requester=ANN, external_id="m.b@x")
    desk.merge(a.id, b.id, by="bob")
    store = desk.store
    assert isinstance(store, MessageIdStore)
    found = store.tickets_by_message_id(["m.a@x", "m.b@x", "m.none@x"])
    assert {"m.a@x": (a.id,), "m.b@x": (b.id,)} == found
