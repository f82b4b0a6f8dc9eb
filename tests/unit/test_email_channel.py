"""The email channel: real sample messages, threading, automatic mail, quarantine, rendering."""

from __future__ import annotations

from collections import Counter
from email.message import EmailMessage
from pathlib import Path

import pytest

from ticketflow import Actor, FakeClock, Helpdesk, Requester, Role, workflows
from ticketflow.attachments import FileSystemAttachmentStore
from ticketflow.email import EmailChannel, Received

SAMPLES = Path("/usr/lib/python3.11/test/test_email/data")
_SAMPLE_FILES = sorted(SAMPLES.glob("msg_*.txt"))
needs_samples = pytest.mark.skipif(
    not _SAMPLE_FILES,
    reason=f"CPython's email samples are not installed ({SAMPLES}): "
    "apt-get install libpython3.11-testsuite (.ci/run does)",
)
ADDRESS = "support@desk.example"


def _channel(**kwargs: object) -> tuple[Helpdesk, EmailChannel]:
    desk = Helpdesk(clock=FakeClock())
    return desk, EmailChannel(desk, address=ADDRESS, **kwargs)  # type: ignore[arg-type]


def _mail(
    body: str = "Hello, my printer is on fire.",
    *,
    sender: str = "Ann <ann@example.com>",
    subject: str = "Printer",
    headers: dict[str, str] | None = None,
    attachment: tuple[str, bytes] | None = None,
) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = ADDRESS
    msg["Subject"] = subject
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(body)
    if attachment is not None:
        msg.add_attachment(
            attachment[1], maintype="application", subtype="pdf", filename=attachment[0]
        )
    return msg.as_bytes()


def _open(desk: Helpdesk, channel: EmailChannel) -> str:
    received = channel.receive(_mail(headers={"Message-ID": "<first.1@example.com>"}))
    assert received.action == "opened"
    assert received.ticket_id is not None
    return received.ticket_id


@needs_samples
def test_a_sample_message_opens_a_ticket_for_its_sender() -> None:
    desk, channel = _channel()
    raw = (SAMPLES / "msg_01.txt").read_bytes()
    received = channel.receive(raw)
    assert received.action == "opened"
    assert received.ticket_id is not None
    ticket = desk.get(received.ticket_id)
    assert ticket.requester.email == "bbb@ddd.com"
    assert ticket.channel == "email"
    first = ticket.description_message
    assert first.external_id == "15090.61304.110929.45684@aaa.zzz.org"
    assert first.metadata["email"]["subject"] == "This is a test message"
    assert "Hi," in ticket.description


def test_a_reply_to_a_rendered_agent_reply_threads_by_in_reply_to() -> None:
    desk, channel = _channel()
    ticket_id = _open(desk, channel)
    ticket = desk.agent_reply(ticket_id, "Have you tried water?", by="bob", html="<p>Water?</p>")
    out = channel.render(ticket, ticket.timeline[-1])
    assert out["In-Reply-To"] == "<first.1@example.com>"
    assert out["References"] == "<first.1@example.com>"
    assert out["To"] == "Ann <ann@example.com>"
    assert out["From"] == ADDRESS
    assert f"[#{ticket_id}]" in out["Subject"]
    assert out.get_body(("html",)) is not None
    # The customer's client keeps our Message-ID, drops the subject token.
    reply = _mail(
        "It worked, thanks.",
        subject="Re: Printer",
        headers={"Message-ID": "<second.2@example.com>", "In-Reply-To": out["Message-ID"]},
    )
    received = channel.receive(reply)
    assert received.action == "replied", received
    assert received.ticket_id == ticket_id
    last = desk.get(ticket_id).messages[-1]
    assert (last.body, last.author) == (
        "It worked, thanks.",
        Actor("ann@example.com", Role.CUSTOMER),
    )
    assert last.external_id == "second.2@example.com"
    assert last.channel == "email"
    # The next rendered reply answers that message and carries the thread.
    ticket = desk.agent_reply(ticket_id, "Glad to hear.", by="bob")
    again = channel.render(ticket, ticket.timeline[-1])
    assert again["In-Reply-To"] == "<second.2@example.com>"
    assert again["Message-ID"] != out["Message-ID"]


def test_a_message_id_of_another_domain_does_not_thread() -> None:
    desk, channel = _channel()
    ticket_id = _open(desk, channel)
    forged = f"<{ticket_id}.1.abc@elsewhere.example>"
    received = channel.receive(_mail(headers={"In-Reply-To": forged}))
    assert received.action == "opened"
    assert received.ticket_id != ticket_id


def test_a_reply_threads_by_the_subject_token() -> None:
    desk, channel = _channel()
    ticket_id = _open(desk, channel)
    received = channel.receive(_mail("More smoke now.", subject=f"Re: Printer [#{ticket_id}]"))
    assert (received.action, received.ticket_id) == ("replied", ticket_id)
    assert desk.get(ticket_id).messages[-1].body == "More smoke now."


def test_a_stranger_replying_to_someone_elses_token_gets_a_new_ticket() -> None:
    desk, channel = _channel()
    ticket_id = _open(desk, channel)
    before = desk.get(ticket_id)
    received = channel.receive(
        _mail("Let me in", sender="mallory@evil.example", subject=f"Re: [#{ticket_id}]")
    )
    assert received.action == "opened"
    assert received.ticket_id not in {None, ticket_id}
    assert "PermissionDenied" in received.reason
    assert desk.get(ticket_id).version == before.version  # nothing landed on Ann's ticket
    assert received.ticket_id is not None
    assert desk.get(received.ticket_id).requester.email == "mallory@evil.example"


@pytest.mark.parametrize(
    "headers",
    [
        {"Auto-Submitted": "auto-replied"},
        {"Precedence": "bulk"},
        {"X-Autoreply": "yes"},
    ],
)
def test_automatic_mail_never_reopens_a_resolved_ticket(headers: dict[str, str]) -> None:
    desk, channel = _channel()
    ticket_id = _open(desk, channel)
    desk.agent_reply(ticket_id, "Fixed.", by="bob")
    resolved = desk.resolve(ticket_id, by="bob")
    received = channel.receive(
        _mail("I am out of office.", subject=f"Re: Printer [#{ticket_id}]", headers=headers)
    )
    assert (received.action, received.ticket_id) == ("noted", ticket_id)
    after = desk.get(ticket_id)
    assert after.status == resolved.status
    note = after.messages[-1]
    assert note.private
    assert note.author.role is Role.SYSTEM
    assert "out of office" in note.body


def test_a_bounce_to_a_rendered_reply_is_a_note_and_a_stray_one_is_ignored() -> None:
    desk, channel = _channel()
    ticket_id = _open(desk, channel)
    ticket = desk.agent_reply(ticket_id, "Fixed.", by="bob")
    out = channel.render(ticket, ticket.timeline[-1])
    resolved = desk.resolve(ticket_id, by="bob")
    bounce = _mail(
        "Delivery failed.",
        sender="MAILER-DAEMON@mx.example.com",
        subject="Undelivered Mail",
        headers={"References": out["Message-ID"]},
    )
    received = channel.receive(bounce)
    assert (received.action, received.ticket_id) == ("noted", ticket_id)
    assert desk.get(ticket_id).status == resolved.status
    stray = _mail("Delivery failed.", sender="postmaster@mx.example.com")
    ignored = channel.receive(stray)
    assert (ignored.action, ignored.ticket_id, ignored.raw) == ("ignored", None, stray)


def test_senderless_mail_is_quarantined_with_its_bytes() -> None:
    _, channel = _channel()
    raw = b"Subject: hi\r\n\r\nno sender here\r\n"
    received = channel.receive(raw)
    assert received == Received(
        action="quarantined",
        ticket_id=None,
        reason="the message has no sender address (From, Sender or Reply-To)",
        raw=raw,
    )


def test_oversized_mail_is_quarantined_with_its_bytes() -> None:
    _, channel = _channel(max_bytes=1000)
    raw = _mail("x" * 2000)
    received = channel.receive(raw)
    assert received.action == "quarantined"
    assert received.raw == raw
    assert "more than the 1000 allowed" in received.reason


def test_a_reply_to_a_purged_ticket_opens_a_new_one() -> None:
    desk, channel = _channel()
    ticket_id = _open(desk, channel)
    desk.purge(ticket_id, by=Actor("root", Role.ADMIN))
    received = channel.receive(_mail("Hello again", subject=f"Re: [#{ticket_id}]"))
    # The purge erased the requester: the sender is nobody's on that ticket any more.
    assert received.action == "opened"
    assert received.ticket_id != ticket_id


def test_a_refused_reply_is_quarantined_with_its_bytes() -> None:
    desk = Helpdesk(workflows.liveagent(closed_policy="refuse"), clock=FakeClock())
    channel = EmailChannel(desk, address=ADDRESS)
    ticket_id = _open(desk, channel)
    desk.close(ticket_id, by="bob")
    raw = _mail("Hello again", subject=f"Re: [#{ticket_id}]")
    received = channel.receive(raw)
    assert received.action == "quarantined", received
    assert "TicketLockedError" in received.reason
    assert received.raw == raw
    assert len(desk.get(ticket_id).messages) == 0


def test_header_injection_in_the_subject_does_not_reach_rendered_headers() -> None:
    desk, channel = _channel()
    ticket = desk.open_ticket(
        subject="Hi",
        requester=Requester(name="Eve", email="eve@example.com"),
        description="x",
    )
    raw = (
        b"From: =?utf-8?q?Eve=0D=0ABcc=3A_victim=40example=2Ecom?= <eve@example.com>\r\n"
        b"Subject: =?utf-8?q?Hello=0D=0ABcc=3A_victim=40example=2Ecom?=\r\n"
        b"\r\nbody\r\n"
    )
    received = channel.receive(raw)
    assert received.action == "opened"
    assert received.ticket_id is not None
    opened = desk.get(received.ticket_id)
    assert "\n" not in opened.subject
    assert "\r" not in opened.subject
    assert "\n" not in opened.requester.name
    opened = desk.agent_reply(opened.id, "ok", by="bob")
    out = channel.render(opened, opened.timeline[-1])
    assert "Bcc" not in out
    head = out.as_bytes().split(b"\r\n\r\n", 1)[0]
    assert not any(line.lower().startswith(b"bcc") for line in head.split(b"\r\n"))
    assert ticket.id != opened.id


def test_attachments_are_stored_and_recorded(tmp_path: Path) -> None:
    files = FileSystemAttachmentStore(tmp_path)
    desk, channel = _channel(attachments=files)
    received = channel.receive(_mail("", attachment=("bill.pdf", b"%PDF-1.7 data")))
    assert received.action == "opened"
    assert received.ticket_id is not None
    first = desk.get(received.ticket_id).description_message
    (attachment,) = first.attachments
    assert (attachment.filename, attachment.content_type) == ("bill.pdf", "application/pdf")
    assert files.read(attachment.ref) == b"%PDF-1.7 data"
    assert first.body == "(no text; attached: bill.pdf)"


def test_attachments_without_a_store_are_dropped_and_noted() -> None:
    desk, channel = _channel()
    received = channel.receive(_mail("see file", attachment=("bill.pdf", b"%PDF")))
    assert received.action == "opened"
    assert any("bill.pdf" in note and "dropped" in note for note in received.notes)
    assert received.ticket_id is not None
    assert desk.get(received.ticket_id).description_message.attachments == ()


@needs_samples
def test_every_sample_is_received_without_raising() -> None:
    counts: Counter[str] = Counter()
    for path in _SAMPLE_FILES:
        desk, channel = _channel()
        received = channel.receive(path.read_bytes())
        assert received.action in {"opened", "replied", "noted", "quarantined", "ignored"}
        assert received.reason, path.name
        if received.action in {"quarantined", "ignored"}:
            assert received.raw == path.read_bytes(), path.name
        else:
            assert received.ticket_id is not None
            assert desk.get(received.ticket_id).channel == "email"
        counts[received.action] += 1
    assert sum(counts.values()) == len(_SAMPLE_FILES)
    assert counts["opened"] > len(_SAMPLE_FILES) // 2, counts


@needs_samples
def test_every_sample_resent_as_an_answer_to_our_reply_threads_onto_its_ticket() -> None:
    threaded = 0
    for path in _SAMPLE_FILES:
        desk, channel = _channel()
        raw = path.read_bytes()
        first = channel.receive(raw)
        if first.action != "opened":
            continue
        assert first.ticket_id is not None
        ticket = desk.agent_reply(first.ticket_id, "We are on it.", by="bob")
        out = channel.render(ticket, ticket.timeline[-1])
        # The same sender answers our mail: the sample with our id in In-Reply-To first.
        answer = channel.receive(f"In-Reply-To: {out['Message-ID']}\r\n".encode() + raw)
        assert (answer.action, answer.ticket_id) == ("replied", first.ticket_id), path.name
        threaded += 1
    assert threaded > len(_SAMPLE_FILES) // 2


def test_the_desks_store_is_used_and_a_refused_message_leaves_no_files(tmp_path: Path) -> None:
    files = FileSystemAttachmentStore(tmp_path)
    desk = Helpdesk(
        workflows.liveagent(closed_policy="refuse"), clock=FakeClock(), attachments=files
    )
    channel = EmailChannel(desk, address=ADDRESS)
    ticket_id = _open(desk, channel)
    kept = channel.receive(_mail("one", subject=f"[#{ticket_id}]", attachment=("a.pdf", b"A")))
    assert kept.action == "replied"
    (attachment,) = desk.get(ticket_id).messages[-1].attachments
    assert files.read(attachment.ref) == b"A"
    desk.close(ticket_id, by="bob")
    refused = channel.receive(_mail("two", subject=f"[#{ticket_id}]", attachment=("b.pdf", b"B")))
    assert refused.action == "quarantined"
    stored = sorted(p.name for p in tmp_path.rglob("*") if p.is_file())
    assert stored == [attachment.ref]
