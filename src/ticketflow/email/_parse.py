"""Reading inbound mail: raw bytes to an `InboundMail`, or a `MailRejected` reason.

Built on the standard library's `email` package with `email.policy.default`
(RFC 5322 headers as ``str``, encoded words decoded). Everything read from a
message is treated as hostile:

* header values are unfolded and every control character (CR, LF, NUL, ...) is
  replaced by a space, so a subject or a display name can never inject a header
  into mail that quotes it later;
* a part in an unknown or broken charset is decoded as UTF-8 with replacement
  characters, and the problem is recorded in `InboundMail.defects` (the message
  is kept: a customer's words are never thrown away for a charset label);
* HTML is turned into text with `html.parser` (scripts and styles dropped, block
  elements on their own lines), so a message with only an HTML part has a body;
* the message's size is bounded (``max_bytes``): a larger one is refused whole,
  before parsing.

What cannot be used (no sender address, too large, not a mail at all) raises
`MailRejected` with a reason; the channel turns it into a quarantined result
that keeps the raw bytes.
"""

from __future__ import annotations

import email
import email.errors
import email.header
import email.policy
import email.utils
import re
from datetime import UTC, datetime
from email.message import EmailMessage, Message
from html.parser import HTMLParser
from typing import Final, final

import attrs

from ..exceptions import TicketflowError

__all__ = [
    "DEFAULT_MAX_BYTES",
    "InboundMail",
    "InboundPart",
    "MailRejected",
    "html_to_text",
    "parse_mail",
]

DEFAULT_MAX_BYTES: Final = 30 * 1024 * 1024
"""The largest raw message `parse_mail` accepts unless told otherwise (30 MiB)."""

_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f]+")
_MSGID: Final = re.compile(r"<([^<>\s]+)>")
_AUTO_PRECEDENCE: Final = frozenset({"bulk", "junk", "list", "auto_reply"})
_DAEMONS: Final = ("mailer-daemon@", "postmaster@")


class MailRejected(TicketflowError):
    """A message that cannot become a ticket or a reply (kept in quarantine).

    Attributes:
        reason: What was wrong, in a sentence.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@final
@attrs.frozen(kw_only=True, slots=True)
class InboundPart:
    """An attachment of an inbound message: its name, type and bytes."""

    filename: str
    content_type: str
    data: bytes = attrs.field(repr=lambda d: f"<{len(d)} bytes>")


@final
@attrs.frozen(kw_only=True, slots=True)
class InboundMail:
    """What a help desk needs of an inbound message.

    Attributes:
        message_id: The ``Message-ID`` without angle brackets, or ``None``.
        in_reply_to: The ids in ``In-Reply-To``.
        references: The ids in ``References``, oldest first.
        sender_name: The sender's display name ("" when none).
        sender_email: The sender's address, lowercased.
        cc: The addresses in ``Cc``, lowercased.
        subject: The subject, one line ("" when none).
        text: The body as text (the text part, or the HTML part turned into text).
        html: The HTML part, when there is one.
        attachments: The attached files.
        date: The ``Date`` header in UTC, when it parses.
        automatic: Why the message is automatic (an auto-reply, a bounce, bulk
            mail), or ``None`` for a person's message.
        defects: Problems met while reading it (a broken charset, a malformed
            header), as sentences; the message was still read.
    """

    message_id: str | None
    in_reply_to: tuple[str, ...] = ()
    references: tuple[str, ...] = ()
    sender_name: str = ""
    sender_email: str
    cc: tuple[str, ...] = ()
    subject: str = ""
    text: str = ""
    html: str | None = None
    attachments: tuple[InboundPart, ...] = ()
    date: datetime | None = None
    automatic: str | None = None
    defects: tuple[str, ...] = ()

    @property
    def thread_ids(self) -> tuple[str, ...]:
        """The ids this message answers, nearest first: In-Reply-To, then References."""
        seen: dict[str, None] = dict.fromkeys(self.in_reply_to)
        seen.update(dict.fromkeys(reversed(self.references)))
        return tuple(seen)


def _clean(value: object) -> str:
    """A header value on one line: control characters become single spaces."""
    return _CONTROL.sub(" ", str(value)).strip()


def _ids(value: object) -> tuple[str, ...]:
    return tuple(dict.fromkeys(_MSGID.findall(str(value or ""))))


class _Text(HTMLParser):
    """HTML to text: text nodes kept, scripts and styles dropped, blocks on their own lines."""

    _BLOCKS: Final = frozenset(
        {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre"}
    )
    _SKIP: Final = frozenset({"script", "style", "head", "title"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:  # noqa: ARG002 - HTMLParser's signature
        if tag in self._SKIP:
            self._skip += 1
        elif tag in self._BLOCKS:
            self.out.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP:
            self._skip = max(0, self._skip - 1)
        elif tag in self._BLOCKS:
            self.out.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.out.append(data)


def html_to_text(html: str) -> str:
    """Return the text of an HTML document (standard library `html.parser`)."""
    parser = _Text()
    parser.feed(html)
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.out).splitlines())
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _decoded(part: Message, defects: list[str]) -> str:
    """A text part's content, decoded; a broken charset decodes as UTF-8 with replacements."""
    try:
        content = part.get_content()  # type: ignore[attr-defined]
    except (LookupError, UnicodeError, AssertionError, ValueError) as exc:
        payload = part.get_payload(decode=True)
        raw = payload if isinstance(payload, bytes) else str(part.get_payload()).encode()
        defects.append(
            f"{part.get_content_type()} part in charset {part.get_content_charset()!r} "
            f"could not be decoded ({type(exc).__name__}); read as UTF-8 with replacements"
        )
        return raw.decode("utf-8", "replace")
    if isinstance(content, bytes):
        return content.decode("utf-8", "replace")
    return str(content)


def _automatic(msg: EmailMessage, sender: str, defects: list[str]) -> str | None:
    auto_submitted = _clean(_get(msg, "Auto-Submitted", defects) or "no").lower()
    precedence = _clean(_get(msg, "Precedence", defects) or "").lower()
    return_path = _get(msg, "Return-Path", defects)
    checks = (
        (auto_submitted not in {"", "no"}, f"Auto-Submitted: {auto_submitted}"),
        (precedence in _AUTO_PRECEDENCE, f"Precedence: {precedence}"),
        ("X-Autoreply" in msg, "X-Autoreply header"),
        ("X-Autorespond" in msg, "X-Autorespond header"),
        (
            msg.get_content_type() == "multipart/report",
            f"delivery report ({msg.get_param('report-type') or 'unknown type'})",
        ),
        (sender.startswith(_DAEMONS), f"sent by {sender.split('@', 1)[0]}"),
        (return_path is not None and return_path.strip() == "<>", "empty Return-Path (a bounce)"),
    )
    return next((reason for hit, reason in checks if hit), None)


def _raw_header(msg: EmailMessage, header: str) -> str | None:
    """A header's value with its encoded words decoded, without the policy's parser."""
    wanted = header.lower()
    for name, value in msg.raw_items():
        if name.lower() == wanted:
            try:
                return str(email.header.make_header(email.header.decode_header(str(value))))
            except (LookupError, UnicodeError, ValueError, email.errors.HeaderParseError):
                return str(value)
    return None


def _get(msg: EmailMessage, header: str, defects: list[str]) -> str | None:
    """A header's value; one the policy's parser refuses is read raw (and recorded)."""
    try:
        value = msg.get(header)
    except (ValueError, IndexError, TypeError, AttributeError, LookupError) as exc:
        defects.append(f"{header} header unreadable ({type(exc).__name__}); read raw")
        return _raw_header(msg, header)
    return None if value is None else str(value)


def _sender(msg: EmailMessage, defects: list[str]) -> tuple[str, str]:
    for header in ("From", "Sender", "Reply-To"):
        value = _get(msg, header, defects)
        if value is None:
            continue
        name, address = email.utils.parseaddr(_clean(value))
        if "@" in address:
            return _clean(name), _clean(address).lower()
    raise MailRejected("the message has no sender address (From, Sender or Reply-To)")


def _addresses(msg: EmailMessage, header: str, defects: list[str]) -> tuple[str, ...]:
    try:
        values = [_clean(v) for v in msg.get_all(header, [])]
    except (ValueError, IndexError, TypeError, AttributeError, LookupError) as exc:
        defects.append(f"{header} header unreadable ({type(exc).__name__}); ignored")
        return ()
    return tuple(dict.fromkeys(a.lower() for _, a in email.utils.getaddresses(values) if "@" in a))


def _date(msg: EmailMessage, defects: list[str]) -> datetime | None:
    value = _get(msg, "Date", defects)
    if value is None:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(_clean(value))
    except (TypeError, ValueError, IndexError, OverflowError):
        defects.append(f"Date header unreadable: {_clean(value)[:80]!r}")
        return None
    if parsed.tzinfo is None:  # "-0000": the zone is unknown; RFC 5322 says read it as UTC
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _walk(msg: EmailMessage, defects: list[str]) -> tuple[str, str | None, list[InboundPart]]:
    texts: list[str] = []
    htmls: list[str] = []
    parts: list[InboundPart] = []
    for part in msg.walk():
        if part.is_multipart():
            continue
        kind = part.get_content_type()
        disposition = part.get_content_disposition()
        filename = part.get_filename()
        if disposition == "attachment" or filename or not kind.startswith("text/"):
            if kind.startswith("multipart/") or kind == "message/delivery-status":
                continue
            payload = part.get_payload(decode=True)
            data = payload if isinstance(payload, bytes) else b""
            name = _clean(filename or "") or f"attachment-{len(parts) + 1}"
            parts.append(InboundPart(filename=name, content_type=kind, data=data))
        elif kind == "text/html":
            htmls.append(_decoded(part, defects))
        else:
            texts.append(_decoded(part, defects))
    html = "\n".join(htmls) if htmls else None
    text = "\n\n".join(t.strip() for t in texts if t.strip())
    if not text and html is not None:
        text = html_to_text(html)
    return text, html, parts


def parse_mail(raw: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> InboundMail:
    """Read an inbound message.

    Args:
        raw: The message as received (RFC 5322 bytes).
        max_bytes: The largest message accepted (default 30 MiB).

    Returns:
        What the help desk needs of it.

    Raises:
        MailRejected: the message is larger than ``max_bytes``, is not bytes,
            or has no sender address.
    """
    if not isinstance(raw, bytes | bytearray):
        raise MailRejected(f"a raw message must be bytes, got {type(raw).__name__}")
    if len(raw) > max_bytes:
        raise MailRejected(f"the message is {len(raw)} bytes, more than the {max_bytes} allowed")
    msg = email.message_from_bytes(bytes(raw), policy=email.policy.default)
    assert isinstance(msg, EmailMessage)  # noqa: S101 - policy.default builds EmailMessage
    defects = [
        f"{type(d).__name__}: {d}".rstrip(": ") for d in msg.defects if str(d) or type(d).__name__
    ]
    name, address = _sender(msg, defects)
    subject = _clean(_get(msg, "Subject", defects) or "")
    text, html, parts = _walk(msg, defects)
    message_id = _ids(_get(msg, "Message-ID", defects))
    return InboundMail(
        message_id=message_id[0] if message_id else None,
        in_reply_to=_ids(_get(msg, "In-Reply-To", defects)),
        references=_ids(_get(msg, "References", defects)),
        sender_name=name,
        sender_email=address,
        cc=_addresses(msg, "Cc", defects),
        subject=subject,
        text=text,
        html=html,
        attachments=tuple(parts),
        date=_date(msg, defects),
        automatic=_automatic(msg, address, defects),
        defects=tuple(defects),
    )
