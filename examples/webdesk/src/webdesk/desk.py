"""The help desk the web server and the worker share: store, configuration, mail, files."""

from __future__ import annotations

import email.policy
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

from ticketflow import Event, Helpdesk, HelpdeskConfig, Ticket, open_store
from ticketflow.attachments import FileSystemAttachmentStore
from ticketflow.email import EmailChannel

from .settings import Settings

__all__ = ["CONFIG_FILE", "Desk", "open_desk"]

CONFIG_FILE = Path(__file__).with_name("helpdesk.toml")


@dataclass(frozen=True)
class Desk:
    """Everything a request or the worker needs.

    Attributes:
        helpdesk: The ticketflow help desk (SystemClock).
        channel: The e-mail channel: mail in, agent replies out.
        files: Where attachment bytes live.
        settings: The settings it was built from.
    """

    helpdesk: Helpdesk
    channel: EmailChannel
    files: FileSystemAttachmentStore
    settings: Settings

    def send(self, message: EmailMessage, name: str) -> Path:
        """Write ``message`` to the outgoing mail folder as ``name`` (one file: idempotent)."""
        folder = self.settings.mail_out
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{name}.eml"
        part = path.with_suffix(".part")
        part.write_bytes(message.as_bytes(policy=email.policy.SMTP))
        part.replace(path)
        return path

    def mail_reply(self, ticket: Ticket, event: Event) -> None:
        """Outbox subscriber: mail an agent reply to the requester (at least once).

        The file name is the ticket and the event's position, so a redelivery
        rewrites the same file instead of sending a second mail.
        """
        if ticket.requester.email is None:
            return
        position = next(i for i, e in enumerate(ticket.timeline) if e == event)
        self.send(self.channel.render(ticket, event), f"{ticket.id}.{position}")


def open_desk(settings: Settings) -> Desk:
    """Open the store and build the help desk, its e-mail channel and file store."""
    for folder in (settings.attachments, settings.mail_out, *_drop_folders(settings)):
        folder.mkdir(parents=True, exist_ok=True)
    files = FileSystemAttachmentStore(settings.attachments)
    helpdesk = Helpdesk(
        config=HelpdeskConfig.load(CONFIG_FILE),
        store=open_store(settings.store_url),
        attachments=files,
    )
    channel = EmailChannel(helpdesk, address=settings.address)
    return Desk(helpdesk=helpdesk, channel=channel, files=files, settings=settings)


def _drop_folders(settings: Settings) -> tuple[Path, ...]:
    return tuple(settings.mail_in / name for name in ("new", "cur", "bad"))
