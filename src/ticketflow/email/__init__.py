"""The email channel: inbound mail to tickets and replies, agent replies to mail.

`EmailChannel` receives raw mail into a help desk (`Received` says what it
did) and renders agent replies as mail. `parse_mail` reads a raw message into
an `InboundMail` (or raises `MailRejected` with a reason); `html_to_text` is
the HTML reader it uses.
"""

from ._channel import EmailChannel as EmailChannel
from ._channel import Received as Received
from ._parse import InboundMail as InboundMail
from ._parse import InboundPart as InboundPart
from ._parse import MailRejected as MailRejected
from ._parse import html_to_text as html_to_text
from ._parse import parse_mail as parse_mail

__all__ = [
    "EmailChannel",
    "InboundMail",
    "InboundPart",
    "MailRejected",
    "Received",
    "html_to_text",
    "parse_mail",
]
