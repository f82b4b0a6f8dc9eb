"""The worker beside the web server: mail in, due rules and SLA stages, the outbox out.

Each pass claims each file of the drop folder's ``new/`` by moving it to ``cur/``
(maildir's way), reads it through `EmailChannel.receive` (moving it on to ``bad/``
when it was quarantined or ignored), fires
what is due (`Helpdesk.run_due`) and delivers the outbox (`Helpdesk.dispatch`):
agent replies are mailed to the outgoing folder by `Desk.mail_reply`, at least once.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from ticketflow import TicketflowError

from .desk import Desk

__all__ = ["Pass", "Worker", "run_pass"]

log = logging.getLogger("webdesk.worker")


@dataclass(frozen=True)
class Pass:
    """What one pass did."""

    mail: int
    fired: int
    delivered: int


def run_pass(desk: Desk) -> Pass:
    """Run one pass: receive dropped mail, fire due rules, deliver the outbox."""
    inbox = desk.settings.mail_in
    received = 0
    for path in sorted((inbox / "new").glob("*")):
        claimed = inbox / "cur" / path.name
        try:
            # A rename is atomic: of two workers, one gets the file, the other skips it.
            path.replace(claimed)
        except FileNotFoundError:
            continue
        result = desk.channel.receive(claimed.read_bytes())
        if result.action not in {"opened", "replied", "noted"}:
            claimed.replace(inbox / "bad" / path.name)
        log.info("mail %s: %s (%s)", path.name, result.action, result.reason)
        received += 1
    fired = desk.helpdesk.run_due()
    delivered = desk.helpdesk.dispatch()
    return Pass(mail=received, fired=fired, delivered=delivered)


class Worker(threading.Thread):
    """Runs `run_pass` every ``settings.worker_poll`` seconds until `stop`."""

    def __init__(self, desk: Desk) -> None:
        """Subscribe the mail sender and get ready; `start` runs it."""
        super().__init__(name="webdesk-worker", daemon=True)
        self._desk = desk
        self._stopping = threading.Event()
        desk.helpdesk.subscribe(desk.mail_reply, kinds=["agent_replied"])

    def run(self) -> None:
        """Pass, wait, pass again; a failing pass is logged and retried at the next."""
        while not self._stopping.is_set():
            try:
                done = run_pass(self._desk)
            except (TicketflowError, OSError):
                log.exception("worker pass failed")
            else:
                if done.mail or done.fired or done.delivered:
                    log.info("pass: %s", done)
            self._stopping.wait(self._desk.settings.worker_poll)

    def stop(self) -> None:
        """Ask it to stop after the current pass."""
        self._stopping.set()
