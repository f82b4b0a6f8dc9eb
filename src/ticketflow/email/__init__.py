"""The email channel: inbound mail to tickets and replies, agent replies to mail.

`parse_mail` reads a raw message into an `InboundMail` (or raises
`MailRejected` with a reason); `html_to_text` is the HTML reader it uses.
"""

from ._parse import InboundMail as InboundMail
from ._parse import InboundPart as InboundPart
from ._parse import MailRejected as MailRejected
from ._parse import html_to_text as html_to_text
from ._parse import parse_mail as parse_mail

__all__ = [
    "InboundMail",
    "InboundPart",
    "MailRejected",
    "html_to_text",
    "parse_mail",
]
