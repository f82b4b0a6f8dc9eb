"""Inbound mail: real sample messages, hostile headers, broken charsets, bounces."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ticketflow.email import MailRejected, html_to_text, parse_mail

SAMPLES = Path("/usr/lib/python3.11/test/test_email/data")
_SAMPLE_FILES = sorted(SAMPLES.glob("msg_*.txt"))
needs_samples = pytest.mark.skipif(
    not _SAMPLE_FILES,
    reason=f"CPython's email samples are not installed ({SAMPLES}): "
    "apt-get install libpython3.11-testsuite (.ci/run does)",
)


def test_samples_are_installed_in_ci() -> None:
    if not os.environ.get("CI"):
        pytest.skip("outside CI the samples are optional")
    assert len(_SAMPLE_FILES) >= 40, f"CI must install libpython3.11-testsuite ({SAMPLES})"


@needs_samples
@pytest.mark.parametrize("path", _SAMPLE_FILES, ids=[p.name for p in _SAMPLE_FILES])
def test_every_sample_parses_or_is_rejected_with_a_reason(path: Path) -> None:
    raw = path.read_bytes()
    rejected: MailRejected | None
    try:
        mail = parse_mail(raw)
    except MailRejected as exc:
        rejected = exc
    else:
        rejected = None
    if rejected is not None:
        assert rejected.reason
        return
    assert "@" in mail.sender_email
    assert mail.sender_email == mail.sender_email.lower()
    for value in (mail.subject, mail.sender_name, *mail.cc):
        assert "\n" not in value
        assert "\r" not in value


@needs_samples
def test_samples_known_facts() -> None:
    one = parse_mail((SAMPLES / "msg_01.txt").read_bytes())
    assert one.sender_email == "bbb@ddd.com"
    assert one.subject == "This is a test message"
    assert one.message_id == "15090.61304.110929.45684@aaa.zzz.org"
    assert "Do you like this message?" in one.text
    assert one.automatic is None
    fish = parse_mail((SAMPLES / "msg_07.txt").read_bytes())
    assert [(a.filename, a.content_type) for a in fish.attachments] == [
        ("dingusfish.gif", "image/gif")
    ]
    assert fish.attachments[0].data.startswith(b"GIF8")
    # A bounce (Auto-Submitted) and a delivery notification from postmaster.
    assert parse_mail((SAMPLES / "msg_25.txt").read_bytes()).automatic is not None
    assert parse_mail((SAMPLES / "msg_16.txt").read_bytes()).automatic is not None
    with pytest.raises(MailRejected, match="no sender"):
        parse_mail((SAMPLES / "msg_05.txt").read_bytes())  # "From: foo"


def _mail(headers: str, body: str = "Hello") -> bytes:
    return f"{headers}\r\n\r\n{body}\r\n".encode()


def test_threading_headers_and_date() -> None:
    mail = parse_mail(
        _mail(
            "From: Ann <Ann@Example.ORG>\r\nTo: help@desk.example\r\n"
            "Cc: Bob <bob@example.org>, carl@example.org\r\n"
            "Subject: Re: Printer\r\nMessage-ID: <m3@example.org>\r\n"
            "In-Reply-To: <m2@desk.example>\r\nReferences: <m1@example.org> <m2@desk.example>\r\n"
            "Date: Tue, 01 Dec 2026 10:00:00 +0100"
        )
    )
    assert mail.sender_email == "ann@example.org"
    assert mail.sender_name == "Ann"
    assert mail.cc == ("bob@example.org", "carl@example.org")
    assert mail.message_id == "m3@example.org"
    assert mail.in_reply_to == ("m2@desk.example",)
    assert mail.references == ("m1@example.org", "m2@desk.example")
    assert mail.thread_ids == ("m2@desk.example", "m1@example.org")
    assert mail.date == datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def test_encoded_cr_lf_in_subject_and_name_cannot_inject_headers() -> None:
    # =?utf-8?q?...=0D=0ABcc:...?= decodes to a CR LF inside the value.
    mail = parse_mail(
        _mail(
            "From: =?utf-8?q?Mallory=0D=0ABcc=3A_all=40example=2Eorg?= <m@example.org>\r\n"
            "Subject: =?utf-8?q?Hi=0D=0ABcc=3A_victim=40example=2Eorg?="
        )
    )
    assert "\r" not in mail.subject
    assert "\n" not in mail.subject
    assert mail.subject == "Hi Bcc: victim@example.org"
    assert "\n" not in mail.sender_name


def test_unknown_charset_is_read_with_replacements_and_recorded() -> None:
    raw = (
        b"From: a@example.org\r\nSubject: x\r\nContent-Type: text/plain; charset=x-unknown-9\r\n"
        b"\r\ncaf\xe9 ok\r\n"
    )
    mail = parse_mail(raw)
    assert mail.text.startswith("caf")
    assert "ok" in mail.text
    assert any("x-unknown-9" in d for d in mail.defects)


def test_html_only_message_gets_a_text_body() -> None:
    raw = (
        b"From: a@example.org\r\nSubject: x\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
        b"<html><head><style>p{}</style><script>alert(1)</script></head>"
        b"<body><p>Hello&nbsp;<b>there</b></p><p>Line &amp; two</p></body></html>\r\n"
    )
    mail = parse_mail(raw)
    assert mail.html is not None
    assert mail.text == "Hello there\n\nLine & two"
    assert "alert" not in mail.text


def test_html_to_text_drops_scripts_and_keeps_blocks() -> None:
    assert html_to_text("<div>a</div><div>b<br>c</div><script>x()</script>") == "a\n\nb\nc"


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        ("Auto-Submitted: auto-replied", "Auto-Submitted"),
        ("Precedence: bulk", "Precedence"),
        ("Precedence: junk", "Precedence"),
        ("X-Autoreply: yes", "X-Autoreply"),
    ],
)
def test_automatic_messages_are_flagged(header: str, reason: str) -> None:
    mail = parse_mail(_mail(f"From: a@example.org\r\nSubject: Out of office\r\n{header}"))
    assert mail.automatic is not None
    assert reason in mail.automatic


def test_person_with_auto_submitted_no_is_not_automatic() -> None:
    mail = parse_mail(_mail("From: a@example.org\r\nAuto-Submitted: no"))
    assert mail.automatic is None


def test_bounce_from_mailer_daemon_and_empty_return_path() -> None:
    assert parse_mail(_mail("From: MAILER-DAEMON@mx.example.org")).automatic is not None
    assert parse_mail(_mail("Return-Path: <>\r\nFrom: x@example.org")).automatic is not None


def test_oversized_and_senderless_and_non_bytes_are_rejected() -> None:
    big = _mail("From: a@example.org", "x" * 2000)
    with pytest.raises(MailRejected, match="more than the 1000 allowed"):
        parse_mail(big, max_bytes=1000)
    with pytest.raises(MailRejected, match="no sender"):
        parse_mail(_mail("Subject: nobody"))
    with pytest.raises(MailRejected, match="must be bytes"):
        parse_mail("From: a@example.org\r\n\r\nhi")  # type: ignore[arg-type]


def test_garbage_bytes_are_rejected_not_crashing() -> None:
    with pytest.raises(MailRejected):
        parse_mail(bytes(range(256)) * 4)


_HEADERS = (
    "From",
    "Subject",
    "Cc",
    "Date",
    "Message-ID",
    "In-Reply-To",
    "References",
    "Content-Type",
    "Content-Transfer-Encoding",
    "Auto-Submitted",
    "Return-Path",
)


@given(
    headers=st.lists(st.tuples(st.sampled_from(_HEADERS), st.binary(max_size=60)), max_size=8),
    body=st.binary(max_size=300),
)
@settings(max_examples=300)
def test_hostile_headers_and_bodies_never_raise_anything_but_mail_rejected(
    headers: list[tuple[str, bytes]], body: bytes
) -> None:
    raw = b"".join(name.encode() + b": " + value + b"\r\n" for name, value in headers)
    raw += b"\r\n" + body
    try:
        mail = parse_mail(raw)
    except MailRejected:
        return
    assert "\n" not in mail.subject
    assert "\r" not in mail.sender_name


@needs_samples
@given(data=st.data())
@settings(max_examples=200)
def test_damaged_samples_never_raise_anything_but_mail_rejected(data: st.DataObject) -> None:
    raw = bytearray(data.draw(st.sampled_from(_SAMPLE_FILES)).read_bytes())
    for _ in range(data.draw(st.integers(1, 5))):
        at = data.draw(st.integers(0, len(raw)))
        raw[at : at + data.draw(st.integers(0, 20))] = data.draw(st.binary(max_size=20))
    try:
        mail = parse_mail(bytes(raw))
    except MailRejected:
        return
    assert "\n" not in mail.subject
    assert "@" in mail.sender_email
