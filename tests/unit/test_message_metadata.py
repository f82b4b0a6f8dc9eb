"""Messages with metadata: ids, channel, attachments, e-mail ids, cc, HTML, JSON metadata."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from ticketflow import Actor, EventKind, FakeClock, Helpdesk, InvalidInputError, Message, Role
from ticketflow import Ticket as TicketModel
from ticketflow.attachments import Attachment
from ticketflow.commands import AgentReply, CustomerReply, Note, Open

from .conftest import ANN, START

PDF = Attachment(
    filename="invoice.pdf",
    content_type="application/pdf",
    size=1234,
    sha256="ab" * 32,
    ref="2026/01/invoice-ref",
)
FULL: dict[str, Any] = {
    "channel": "email",
    "attachments": [PDF],
    "external_id": "abc.123@mail.example.com",
    "in_reply_to": "root.1@mail.example.com",
    "references": ["root.1@mail.example.com", "second.2@mail.example.com"],
    "cc": ["boss@example.com"],
    "html": "<p>See the <b>invoice</b></p>",
    "metadata": {"crm": {"case": 42}, "spam_score": 0.1},
}


def test_a_plain_reply_has_an_id_and_no_metadata(desk: Helpdesk) -> None:
    """A plain message gets the id "<ticket>/<position>", no metadata; its event holds the body."""
    ticket = desk.open_ticket(subject="VPN", requester=ANN)
    ticket = desk.agent_reply(ticket.id, "On it", by="bob")
    ticket = desk.add_note(ticket.id, "Internal", by="bob")
    reply, note = ticket.messages
    assert (f"{ticket.id}/1", f"{ticket.id}/2") == (reply.id, note.id)
    assert {"body": "On it"} == dict(ticket.timeline[1].data)
    assert (None, (), None, None, (), (), None, {}) == (
        reply.channel,
        reply.attachments,
        reply.external_id,
        reply.in_reply_to,
        reply.references,
        reply.cc,
        reply.html,
        dict(reply.metadata),
    )


@pytest.mark.parametrize("method", ["agent_reply", "customer_reply", "add_note"])
def test_every_message_command_records_its_metadata(desk: Helpdesk, method: str) -> None:
    """Each metadata keyword reaches the event's data (JSON) and the message (values)."""
    ticket = desk.open_ticket(subject="VPN", requester=ANN)
    by = {"by": None} if method == "customer_reply" else {"by": "bob"}
    ticket = getattr(desk, method)(ticket.id, "Body", **by, **FULL)
    message = ticket.messages[-1]
    assert "email" == message.channel
    assert (PDF,) == message.attachments
    assert "abc.123@mail.example.com" == message.external_id
    assert "root.1@mail.example.com" == message.in_reply_to
    assert ("root.1@mail.example.com", "second.2@mail.example.com") == message.references
    assert ("boss@example.com",) == message.cc
    assert "<p>See the <b>invoice</b></p>" == message.html
    assert {"crm": {"case": 42}, "spam_score": 0.1} == dict(message.metadata)
    data = ticket.timeline[-1].data
    assert [PDF.to_dict()] == data["attachments"]
    assert ["boss@example.com"] == data["cc"]
    with pytest.raises(TypeError):
        message.metadata["new"] = 1  # type: ignore[index]


def test_the_description_is_a_message_with_metadata(desk: Helpdesk) -> None:
    """Open's metadata is the description's; its id is "<ticket>/0", its channel the ticket's."""
    extra = {k: v for k, v in FULL.items() if k != "channel"}
    ticket = desk.open_ticket(
        subject="VPN", requester=ANN, description="Help", channel="portal", **extra
    )
    first = ticket.description_message
    assert (f"{ticket.id}/0", "Help", "portal") == (first.id, first.body, first.channel)
    assert (PDF,) == first.attachments
    assert "abc.123@mail.example.com" == first.external_id
    assert "abc.123@mail.example.com" == ticket.timeline[0].data["external_id"]
    assert first == TicketModel.rebuild(ticket.timeline).description_message


def test_message_ids_are_unique_and_kept_by_a_merge(desk: Helpdesk, clock: FakeClock) -> None:
    """A merge copies messages with their original ids and metadata."""
    source = desk.open_ticket(subject="A", requester=ANN, description="first", html="<p>a</p>")
    clock.advance(timedelta(minutes=1))
    source = desk.agent_reply(source.id, "reply", by="bob", **FULL)
    target = desk.open_ticket(subject="B", requester=ANN)
    clock.advance(timedelta(minutes=1))
    target = desk.agent_reply(target.id, "other", by="bob")
    desk.merge(source.id, target.id, by="bob")
    merged = desk.get(target.id)
    ids = [m.id for m in merged.messages]
    assert len(ids) == len(set(ids))
    assert {f"{source.id}/0", f"{source.id}/1", f"{target.id}/1"} == set(ids)
    copied = next(m for m in merged.messages if m.id == f"{source.id}/1")
    assert copied == source.messages[0]
    assert "<p>a</p>" == next(m for m in merged.messages if m.id == f"{source.id}/0").html


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"attachments": ["invoice.pdf"]}, "attachments"),
        ({"attachments": "invoice.pdf"}, "attachments"),
        ({"cc": ["boss@example.com\r\nBcc: x@y"]}, "cc"),
        ({"cc": [""]}, "cc"),
        ({"cc": "boss@example.com"}, "cc"),
        ({"external_id": "<abc@x>"}, "external_id"),
        ({"in_reply_to": "a\nb"}, "in_reply_to"),
        ({"references": ["ok@x", "<bad@x>"]}, "references"),
        ({"html": b"<p>"}, "html"),
        ({"channel": ""}, "channel"),
        ({"metadata": {"when": START}}, "metadata"),
        ({"metadata": ["not", "a", "mapping"]}, "metadata"),
    ],
)
@pytest.mark.parametrize("command", [AgentReply, CustomerReply, Note])
def test_bad_metadata_is_refused_when_the_command_is_built(
    command: type[AgentReply | CustomerReply | Note], kwargs: dict[str, Any], field: str
) -> None:
    """InvalidInputError names the field, before any ticket is read."""
    with pytest.raises(InvalidInputError) as caught:
        command(ticket_id="T1", body="Hello", **kwargs)
    assert field == caught.value.field


def test_open_refuses_bad_metadata_naming_the_field() -> None:
    """Open checks the description's metadata too."""
    with pytest.raises(InvalidInputError) as caught:
        Open(subject="s", requester=ANN, cc=["a\nb"])
    assert "cc" == caught.value.field


def test_a_plain_command_has_no_extra() -> None:
    """No metadata: the command's extra is empty, and so the event data holds the body only."""
    assert {} == dict(AgentReply(ticket_id="T1", body="Hi").extra)
    assert {"html": "<p>Hi</p>"} == dict(Note(ticket_id="T1", body="Hi", html="<p>Hi</p>").extra)


def test_a_message_round_trips_through_json() -> None:
    """Message.to_dict writes only what is set; from_dict reads it back (and older dicts)."""
    author = Actor("bob", Role.AGENT)
    message = Message(at=START, author=author, body="Hi", id="T/3", **FULL)
    assert message == Message.from_dict(json.loads(json.dumps(message.to_dict())))
    plain = Message(at=START, author=author, body="Hi")
    assert {"at", "author", "body", "private"} == set(plain.to_dict())
    assert plain == Message.from_dict(plain.to_dict())
    assert message.replace(body="Yo").cc == message.cc


def test_a_customer_view_shows_public_metadata_but_never_cc_ids_or_metadata(
    desk: Helpdesk,
) -> None:
    """Public messages show channel, attachments (no hash), HTML; never ids, cc, metadata."""
    ticket = desk.open_ticket(subject="VPN", requester=ANN, html="<p>desc</p>", attachments=[PDF])
    ticket = desk.agent_reply(ticket.id, "Public", by="bob", **FULL)
    ticket = desk.add_note(ticket.id, "Private", by="bob", html="<p>NOTE-HTML</p>")
    view = ticket.for_customer()
    (shown,) = view.messages
    assert ("email", "<p>See the <b>invoice</b></p>") == (shown.channel, shown.html)
    assert [
        {"filename": "invoice.pdf", "content_type": "application/pdf", "size": 1234, "ref": PDF.ref}
    ] == [a.to_dict() for a in shown.attachments]
    assert "<p>desc</p>" == view.description_html
    assert ("invoice.pdf",) == tuple(a.filename for a in view.attachments)
    text = json.dumps(view.to_dict()) + repr(view)
    hidden_values = ("boss@example.com", "abc.123@", "root.1@", "second.2@", "spam_score")
    for hidden in (*hidden_values, "ab" * 32, f"{ticket.id}/"):
        assert hidden not in text
    assert "NOTE-HTML" not in text
    assert EventKind.NOTE_ADDED.value not in text


def test_a_reply_to_a_closed_or_spam_ticket_keeps_its_metadata() -> None:
    """Follow-ups and kept replies carry the reply's HTML, e-mail ids and cc, as any reply."""
    desk = Helpdesk(clock=FakeClock())
    ann = ANN
    closed = desk.open_ticket(subject="VPN", requester=ann)
    desk.close(closed.id, by="bob")
    follow_up = desk.customer_reply(
        closed.id,
        "Still broken",
        html="<p>Still broken</p>",
        external_id="m2@example.org",
        in_reply_to="m1@desk.example",
        cc=("boss@example.org",),
    )
    assert follow_up.id != closed.id  # LiveAgent: a closed ticket gets a follow-up
    first = follow_up.description_message
    assert ("<p>Still broken</p>", "m2@example.org", "m1@desk.example", ("boss@example.org",)) == (
        first.html,
        first.external_id,
        first.in_reply_to,
        first.cc,
    )
    spam = desk.open_ticket(subject="Win", requester=ann)
    desk.mark_spam(spam.id, by="bob")
    kept = desk.customer_reply(
        spam.id, "Not spam!", html="<b>Not spam!</b>", by=Actor(ANN.email or "", Role.CUSTOMER)
    )
    assert kept.id == spam.id
    assert "<b>Not spam!</b>" == kept.messages[-1].html
