"""The email channel: inbound mail to tickets and replies, agent replies to mail.

`EmailChannel.receive` turns a raw message into a new ticket, a customer reply,
a private note (automatic mail), or a quarantined / ignored result that keeps
the raw bytes. `EmailChannel.render` turns an agent reply event into an
`email.message.EmailMessage` for the application's mail sender.

Threading tries, in order: the In-Reply-To id, then the References ids newest
first, then the ticket token in the subject (``[#ticket-id]``); else the message
opens a new ticket. An id is resolved two ways: every message `render` makes
has a Message-ID that encodes its ticket (``<ticket-id.position.token@domain>``),
and every message stored with an external id (the customer's own first mail, a
cc'd participant's reply, an imported message) is found through the store's
message-id index (`ticketflow.stores.MessageIdStore`). For a store without that
capability, stored ids are looked up among the sender's own tickets only (the
requester index), so a reply from someone else (a cc'd colleague) is threaded
by our own ids or the subject token alone.
"""

from __future__ import annotations

import email.policy
import email.utils
import hashlib
import re
from email.message import EmailMessage
from typing import TYPE_CHECKING, Any, Final, Literal, final

import attrs

from .._model import SYSTEM_ACTOR, Actor, EventKind, Message, Requester, Role, Ticket
from ..exceptions import (
    InvalidInputError,
    PermissionDenied,
    TicketflowError,
    TicketNotFound,
)
from ..stores import MessageIdStore
from ._parse import DEFAULT_MAX_BYTES, InboundMail, InboundPart, MailRejected, parse_mail

if TYPE_CHECKING:
    from .._engine._helpdesk import Helpdesk
    from .._model import Event
    from ..attachments import Attachment, AttachmentStore

__all__ = ["EmailChannel", "Received"]

Action = Literal["opened", "replied", "noted", "quarantined", "ignored"]

_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f]+")
_TICKET_ID: Final = re.compile(r"[0-9A-Za-z_-]{1,64}")
_TOKEN: Final = re.compile(r"\[#([0-9A-Za-z_-]{1,64})\]")
_NO_SUBJECT: Final = "(no subject)"


@final
@attrs.frozen(kw_only=True, slots=True)
class Received:
    """What `EmailChannel.receive` did with a message.

    Attributes:
        action: ``"opened"`` (a new ticket), ``"replied"`` (a customer reply on
            a ticket), ``"noted"`` (automatic mail kept as a private note on the
            ticket it answers), ``"quarantined"`` (refused: see ``reason``) or
            ``"ignored"`` (automatic mail that answers no ticket).
        ticket_id: The ticket the message landed on (for a reply to a closed
            ticket, possibly the follow-up the workflow opened), or ``None``.
        reason: Why, in a sentence.
        raw: The raw message, kept for ``"quarantined"`` and ``"ignored"``
            (``None`` otherwise: the message is on the ticket).
        notes: What else happened: attachments dropped for want of an
            `AttachmentStore`, defects met while reading the message.
    """

    action: Action
    ticket_id: str | None
    reason: str
    raw: bytes | None = attrs.field(default=None, repr=lambda r: f"<{len(r or b'')} bytes>")
    notes: tuple[str, ...] = ()


def _one_line(value: object) -> str:
    """A header value on one line: control characters (CR, LF...) become spaces."""
    return _CONTROL.sub(" ", str(value)).strip()


def _without_token(subject: str) -> str:
    return " ".join(_TOKEN.sub(" ", subject).split())


@final
class EmailChannel:
    """Receive mail into a `ticketflow.Helpdesk` and render agent replies as mail.

    Args:
        desk: The help desk.
        address: The support address: the ``From`` of rendered mail.
        attachments: Where inbound attachments go; ``None`` drops them (noted
            in each `Received`). Defaults to the desk's own store
            (``Helpdesk(attachments=...)``) when it has one.
        domain: The domain of rendered Message-IDs (default: the address's).
        max_bytes: The largest raw message accepted (default 30 MiB); a larger
            one is quarantined unread.

    Raises:
        InvalidInputError: ``address`` is not an e-mail address, or ``domain``
            or ``max_bytes`` is invalid.
    """

    __slots__ = ("_address", "_desk", "_domain", "_max", "_store")

    def __init__(
        self,
        desk: Helpdesk,
        *,
        address: str,
        attachments: AttachmentStore | None = None,
        domain: str | None = None,
        max_bytes: int = DEFAULT_MAX_BYTES,
    ) -> None:
        if not isinstance(address, str) or _one_line(address) != address or "@" not in address:
            raise InvalidInputError(
                f"address must be an e-mail address on one line, got {address!r}", field="address"
            )
        domain = address.rsplit("@", 1)[1] if domain is None else domain
        if not isinstance(domain, str) or not re.fullmatch(r"[A-Za-z0-9.-]+", domain):
            raise InvalidInputError(f"domain must be a domain name, got {domain!r}", field="domain")
        if type(max_bytes) is not int or max_bytes <= 0:
            raise InvalidInputError(
                f"max_bytes must be a whole number > 0, got {max_bytes!r}", field="max_bytes"
            )
        self._desk = desk
        self._address = address
        self._domain = domain.lower()
        self._max = max_bytes
        self._store = attachments if attachments is not None else desk.attachments

    @property
    def address(self) -> str:
        """The support address (the ``From`` of rendered mail)."""
        return self._address

    # --- inbound -------------------------------------------------------------------

    def receive(self, raw: bytes) -> Received:
        """Turn a raw inbound message into a ticket, a reply, a note, or a kept refusal.

        Never raises for a bad message: what cannot be recorded is returned as
        ``"quarantined"`` with its reason and the raw bytes.
        """
        try:
            mail = parse_mail(raw, max_bytes=self._max)
        except MailRejected as exc:
            return Received(
                action="quarantined", ticket_id=None, reason=exc.reason, raw=_bytes(raw)
            )
        notes = [f"defect: {d}" for d in mail.defects]
        try:
            return self._receive(mail, bytes(raw), notes)
        except TicketflowError as exc:
            return Received(
                action="quarantined",
                ticket_id=None,
                reason=f"{type(exc).__name__}: {exc}",
                raw=bytes(raw),
                notes=tuple(notes),
            )

    def _receive(self, mail: InboundMail, raw: bytes, notes: list[str]) -> Received:
        candidates = self._candidates(mail)
        if mail.automatic is not None:
            return self._automatic(mail, raw, candidates, notes)
        stored = self._store_attachments(mail, notes)
        try:
            return self._person(mail, candidates, stored, notes)
        except BaseException:
            self._discard(stored)
            raise

    def _candidates(self, mail: InboundMail) -> list[tuple[str, str]]:
        """The tickets the message may answer, best first, each with how it was found."""
        found: dict[str, str] = {}
        ids = mail.thread_ids  # In-Reply-To first, then References newest first
        stored = self._stored(ids, mail.sender_email)
        for message_id in ids:
            how = f"In-Reply-To/References <{message_id}>"
            ticket_id = self._ticket_of(message_id)
            if ticket_id is not None:
                found.setdefault(ticket_id, how)
            for holder in stored.get(message_id, ()):
                found.setdefault(holder, f"{how} (a stored message)")
        for match in _TOKEN.finditer(mail.subject):
            found.setdefault(match.group(1), f"subject token [#{match.group(1)}]")
        return list(found.items())

    def _stored(self, ids: tuple[str, ...], sender: str | None) -> dict[str, tuple[str, ...]]:
        """The tickets holding each of ``ids`` as a stored message id (see the module)."""
        if not ids:
            return {}
        store = self._desk.store
        if isinstance(store, MessageIdStore):
            return store.tickets_by_message_id(ids)
        if not sender:
            return {}
        wanted = set(ids)
        out: dict[str, list[str]] = {}
        for ticket in reversed(self._desk.find(requester=sender)):
            held = {ticket.description_message.external_id}
            held.update(m.external_id for m in ticket.messages)
            for message_id in wanted & {h for h in held if h}:
                out.setdefault(message_id, []).append(ticket.id)
        return {k: tuple(v) for k, v in out.items()}

    def _ticket_of(self, message_id: str) -> str | None:
        """The ticket a Message-ID `render` made names, or ``None`` for anyone else's."""
        local, _, domain = message_id.rpartition("@")
        if domain.lower() != self._domain:
            return None
        parts = local.split(".")
        if len(parts) != 3 or not parts[1].isdigit() or not _TICKET_ID.fullmatch(parts[0]):
            return None
        return parts[0]

    def _automatic(
        self, mail: InboundMail, raw: bytes, candidates: list[tuple[str, str]], notes: list[str]
    ) -> Received:
        for ticket_id, how in candidates:
            try:
                self._desk.get(ticket_id)
            except TicketNotFound:
                continue
            body = f"Automatic mail ({mail.automatic}) from {mail.sender_email}"
            body += f": {mail.subject}" if mail.subject else ""
            text = mail.text.strip()
            ticket = self._desk.add_note(
                ticket_id,
                f"{body}\n\n{text}" if text else body,
                by=SYSTEM_ACTOR,
                channel="email",
                **self._metadata(mail, ()),
            )
            return Received(
                action="noted",
                ticket_id=ticket.id,
                reason=f"automatic mail ({mail.automatic}) kept as a private note; found by {how}",
                notes=tuple(notes),
            )
        return Received(
            action="ignored",
            ticket_id=None,
            reason=f"automatic mail ({mail.automatic}) that answers no ticket",
            raw=raw,
            notes=tuple(notes),
        )

    def _person(
        self,
        mail: InboundMail,
        candidates: list[tuple[str, str]],
        stored: tuple[Attachment, ...],
        notes: list[str],
    ) -> Received:
        body = _body(mail, stored)
        metadata = self._metadata(mail, stored)
        customer = Actor(mail.sender_email, Role.CUSTOMER)
        refused: list[str] = []
        for ticket_id, how in candidates:
            try:
                ticket = self._desk.customer_reply(
                    ticket_id, body, by=customer, channel="email", **metadata
                )
            except (PermissionDenied, TicketNotFound) as exc:
                refused.append(f"{how}: {type(exc).__name__}")
                continue
            return Received(
                action="replied",
                ticket_id=ticket.id,
                reason=f"customer reply found by {how}",
                notes=tuple(notes),
            )
        ticket = self._desk.open_ticket(
            subject=_without_token(mail.subject) or _NO_SUBJECT,
            requester=Requester(name=mail.sender_name, email=mail.sender_email),
            description=body,
            channel="email",
            **metadata,
        )
        reason = "a new ticket: the message answers no ticket"
        if refused:
            reason = f"a new ticket: the sender may not reply to {'; '.join(refused)}"
        return Received(action="opened", ticket_id=ticket.id, reason=reason, notes=tuple(notes))

    def _store_attachments(self, mail: InboundMail, notes: list[str]) -> tuple[Attachment, ...]:
        if not mail.attachments:
            return ()
        if self._store is None:
            notes.extend(
                f"attachment {p.filename!r} ({len(p.data)} bytes) dropped: no AttachmentStore"
                for p in mail.attachments
            )
            return ()
        stored: list[Attachment] = []
        try:
            for number, part in enumerate(mail.attachments, 1):
                stored.append(self._put(part, f"attachment-{number}"))
        except BaseException:
            self._discard(tuple(stored))
            raise
        return tuple(stored)

    def _put(self, part: InboundPart, fallback: str) -> Attachment:
        assert self._store is not None  # noqa: S101 - checked by the caller
        try:
            return self._store.put(
                part.data, filename=part.filename, content_type=part.content_type
            )
        except InvalidInputError as exc:
            if exc.field != "filename":
                raise
        # A name the store refuses (a path, too long) is replaced, never a reason to lose the file.
        return self._store.put(part.data, filename=fallback, content_type=part.content_type)

    def _discard(self, stored: tuple[Attachment, ...]) -> None:
        if self._store is not None:
            for attachment in stored:
                self._store.delete(attachment.ref)

    def _metadata(self, mail: InboundMail, stored: tuple[Attachment, ...]) -> dict[str, Any]:
        data: dict[str, Any] = {"metadata": {"email": _summary(mail)}}
        if stored:
            data["attachments"] = list(stored)
        if mail.message_id is not None:
            data["external_id"] = mail.message_id
        if mail.in_reply_to:
            data["in_reply_to"] = mail.in_reply_to[0]
        if mail.references:
            data["references"] = list(mail.references)
        if mail.cc:
            data["cc"] = list(mail.cc)
        if mail.html is not None:
            data["html"] = mail.html
        return data

    # --- outbound ------------------------------------------------------------------

    def message_id(self, ticket: Ticket, position: int) -> str:
        """The Message-ID `render` gives the message at ``position`` of ``ticket``'s timeline.

        ``ticket-id.position.token@domain`` (no angle brackets); the token is
        derived from the event's time, so a redelivered event gets the same id.
        """
        event = ticket.timeline[position]
        seed = f"{ticket.id}/{position}/{event.at.isoformat()}".encode()
        token = hashlib.sha256(seed).hexdigest()[:16]
        return f"{ticket.id}.{position}.{token}@{self._domain}"

    def render(self, ticket: Ticket, event: Event) -> EmailMessage:
        """Return the mail for an agent reply event of ``ticket``.

        From the channel's address to the requester; the subject carries the
        ticket token; Message-ID encodes the ticket (see the module); In-Reply-To
        and References answer the last customer message before it that had a
        Message-ID. The text body, and an HTML alternative when the reply has
        HTML. Every header value is on one line (no CR/LF injection).

        Raises:
            InvalidInputError: ``event`` is not a public agent reply of
                ``ticket``, or the requester has no e-mail address.
        """
        position = _position(ticket, event)
        if event.kind is not EventKind.AGENT_REPLIED:
            raise InvalidInputError(
                f"render needs an agent reply event, got {event.kind.value}", field="event"
            )
        requester = ticket.requester
        if not requester.email:
            raise InvalidInputError(
                f"ticket {ticket.id}'s requester has no e-mail address", field="ticket"
            )
        mail = EmailMessage(policy=email.policy.SMTP)
        mail["From"] = self._address
        mail["To"] = email.utils.formataddr((_one_line(requester.name), _one_line(requester.email)))
        subject = _without_token(_one_line(ticket.subject)) or _NO_SUBJECT
        mail["Subject"] = f"Re: {subject} [#{ticket.id}]"
        mail["Message-ID"] = f"<{self.message_id(ticket, position)}>"
        mail["Date"] = email.utils.format_datetime(event.at)
        answered = _last_customer_message(ticket, position)
        if answered is not None and answered.external_id is not None:
            refs = [*answered.references, answered.external_id]
            mail["In-Reply-To"] = f"<{answered.external_id}>"
            mail["References"] = " ".join(f"<{r}>" for r in dict.fromkeys(refs))
        mail["Auto-Submitted"] = "no"
        mail.set_content(str(event.data["body"]))
        html = event.data.get("html")
        if isinstance(html, str):
            mail.add_alternative(html, subtype="html")
        return mail


def _bytes(raw: object) -> bytes | None:
    return bytes(raw) if isinstance(raw, bytes | bytearray) else None


def _summary(mail: InboundMail) -> dict[str, Any]:
    summary: dict[str, Any] = {"subject": mail.subject}
    if mail.date is not None:
        summary["date"] = mail.date.isoformat()
    if mail.automatic is not None:
        summary["automatic"] = mail.automatic
    if mail.defects:
        summary["defects"] = list(mail.defects)
    return summary


def _body(mail: InboundMail, stored: tuple[Attachment, ...]) -> str:
    """The message's text; an empty one gets a placeholder (empty bodies are refused)."""
    text = mail.text.strip()
    if text:
        return text
    names = [a.filename for a in stored] or [p.filename for p in mail.attachments]
    if names:
        return f"(no text; attached: {', '.join(names)})"
    return "(no text)"


def _position(ticket: Ticket, event: Event) -> int:
    timeline = ticket.timeline
    for position in range(len(timeline) - 1, -1, -1):
        if timeline[position] is event:
            return position
    for position in range(len(timeline) - 1, -1, -1):
        if timeline[position] == event:
            return position
    raise InvalidInputError(f"the event is not in ticket {ticket.id}'s timeline", field="event")


def _last_customer_message(ticket: Ticket, position: int) -> Message | None:
    prefix = f"{ticket.id}/"
    for message in reversed(ticket.messages):
        if not message.id.startswith(prefix) or message.author.role is not Role.CUSTOMER:
            continue
        if int(message.id[len(prefix) :]) < position and message.external_id is not None:
            return message
    first = ticket.description_message
    return first if first.external_id is not None else None
