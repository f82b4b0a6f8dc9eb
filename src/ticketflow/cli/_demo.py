"""``python -m ticketflow demo``: a morning at a help desk on a fake clock, kept in a store."""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final

import attrs

from .._calendar import BusinessCalendar
from .._clock import FakeClock
from .._engine import Helpdesk
from .._model import Requester, Ticket
from ..config import HelpdeskConfig
from ..exceptions import StoreError, TicketflowError
from ..rules import after, inactivity
from ..sla import SlaPolicy
from ..stores import SQLiteStore, TicketQuery, TicketStore, open_store
from ._setup import SetupError, config_options, load_config

__all__ = ["DEMO_STORE", "add_parser", "demo_config", "run", "run_demo"]

DEMO_STORE: Final = "sqlite:///ticketflow-demo.db"
"""Where ``demo`` keeps its tickets unless told otherwise (started afresh on each run)."""

_DEMO_FILE: Final = "ticketflow-demo.db"
_SQLITE_SIDE_FILES: Final = ("", "-wal", "-shm", "-journal")


def _format_timeline(ticket: Ticket) -> list[str]:
    who = ticket.requester.name or ticket.requester.email
    lines = [f"#{ticket.id[-6:]}  {ticket.subject!r}  ({who})"]
    for event in ticket.timeline:
        change = (
            f"{event.status_before} -> {event.status_after}"
            if event.changes_status
            else f"stays {event.status_after}"
        )
        who = f"{event.actor.id} ({event.actor.role.value})"
        lines.append(f"  {event.at:%a %d %H:%M}  {event.kind.value:<17} {change:<24} by {who}")
    return lines


def _queue_lines(desk: Helpdesk) -> list[str]:
    """The agents' queue, one line per ticket, with its nearest SLA due time."""
    lines = [
        f"The agents' queue at {desk.clock.now():%H:%M} UTC (desk.queue(), most urgent first):"
    ]
    for ticket in desk.queue():
        if desk.sla is None:
            lines.append(f"  #{ticket.id[-6:]}  {ticket.subject!r}  ({ticket.status})")
            continue
        state = desk.sla_state(ticket.id)
        running = [
            (m.due_at, metric.value)
            for metric, m in state.metrics.items()
            if m.due_at is not None and m.completed_at is None and not m.paused
        ]
        due = f"{min(running)[1]} due {min(running)[0]:%H:%M}" if running else "no SLA clock"
        lines.append(f"  #{ticket.id[-6:]}  {ticket.subject!r}  ({ticket.status}, {due})")
    return lines


def _simulate_morning(desk: Helpdesk, clock: FakeClock, queue: list[str]) -> list[str]:
    """Run the demo's scenario; return the ids of the tickets it touched.

    The agents' queue as it stands mid-morning goes into ``queue``.
    """
    ann = Requester(name="Ann Lee", email="ann@example.org", organisation="Acme")
    vpn = desk.open_ticket(
        subject="VPN drops every 10 minutes", requester=ann, channel="portal", tags=["network"]
    )
    clock.advance(minutes=4)
    spam = desk.open_ticket(
        subject="Cheap watches!!!", requester=Requester(email="win@spam.example")
    )
    clock.advance(minutes=3)
    carlos = Requester(name="Carlos Ruiz", email="carlos@example.com")
    invoice = desk.open_ticket(
        subject="Invoice 2026-114 charged twice", requester=carlos, priority="high"
    )
    clock.advance(minutes=5)
    desk.mark_spam(spam.id, by="bob")
    desk.assign(vpn.id, "bob", department="network", by="lead")
    desk.agent_reply(vpn.id, "Which VPN client version do you run?", by="bob")
    clock.advance(minutes=9)
    desk.assign(invoice.id, "eve", department="billing", by="lead")
    desk.agent_reply(invoice.id, "Refund issued; it shows in 3 days.", by="eve")
    clock.advance(minutes=21)
    desk.customer_reply(vpn.id, "Version 5.2, on Windows 11.")
    clock.advance(minutes=2)
    dana = Requester(name="Dana Kim", email="dana@example.net")
    feature = desk.open_ticket(subject="Dark mode for the portal?", requester=dana)
    queue.extend(_queue_lines(desk))
    desk.add_note(vpn.id, "Known bug in 5.2, fixed in 5.3", by="bob")
    clock.advance(minutes=14)
    desk.agent_reply(vpn.id, "Please update to 5.3; that fixes it.", by="bob")
    desk.resolve(vpn.id, by="bob")
    clock.advance(minutes=6)
    desk.postpone(feature.id, clock.now() + timedelta(days=7), by="eve")
    desk.resolve(invoice.id, by="eve")
    clock.advance(minutes=25)
    desk.confirm_resolution(vpn.id, rating=5)
    clock.advance(minutes=10)
    desk.close(invoice.id, by="eve")
    clock.advance(hours=1, minutes=5)
    follow_up = desk.customer_reply(invoice.id, "The refund has not arrived yet.")
    clock.advance(minutes=20)
    desk.agent_reply(follow_up.id, "Could you send your bank statement?", by="eve")
    return [vpn.id, spam.id, invoice.id, feature.id, follow_up.id]


_DEMO_SLA: Final = SlaPolicy(
    "standard",
    targets={
        "normal": {"first_reply": "1h", "next_reply": "4h", "resolution": "2d"},
        "high": {"first_reply": "30m", "next_reply": "2h", "resolution": "1d"},
    },
    calendar=BusinessCalendar.weekdays_9_to_5("Europe/Brussels"),
    warn_before="15m",
    escalations=[{"level": 1, "notify": "team-lead"}],
)


def _fresh_demo_file() -> None:
    """Remove the default demo database (and SQLite's side files) so the demo starts afresh."""
    for suffix in _SQLITE_SIDE_FILES:
        Path(_DEMO_FILE + suffix).unlink(missing_ok=True)


def _where(store: TicketStore, url: str) -> str:
    if isinstance(store, SQLiteStore) and store.path != ":memory:":
        return f"the file {Path(store.path).resolve()}"
    return url


def demo_config() -> HelpdeskConfig:
    """Return the demo's configuration: LiveAgent, its rules and two more, one SLA policy.

    The two extra rules remind the customer of an answered ticket after 2 days and
    close a resolved ticket after 4; the policy counts office hours in Brussels.
    """
    liveagent = HelpdeskConfig.preset("liveagent")
    return attrs.evolve(
        liveagent,
        rules=[
            *liveagent.rules,
            inactivity(status="answered", after=timedelta(days=2), then="remind"),
            after(status="resolved", delay=timedelta(days=4), then="close"),
        ],
        sla=[_DEMO_SLA],
        calendars={"office": _DEMO_SLA.calendar},
    )


def run_demo(
    out: list[str] | None = None,
    *,
    store: str | None = None,
    config: HelpdeskConfig | None = None,
) -> list[str]:
    """Simulate a morning at a help desk on a fake clock; return the printed lines.

    Five tickets go through New, Answered, Open, Resolved and Closed; one is spam,
    one is postponed, and a reply to a closed ticket opens a follow-up. The tickets
    are kept in the store ``store`` names (default `DEMO_STORE`, a SQLite file in
    the working directory, removed first so each run starts afresh); at the end the
    store is opened again, as a new store, to show that every ticket came back.

    Args:
        out: A list to append the lines to (default: a new list).
        store: A store URL. A store you name is never deleted or emptied: it must
            hold no tickets yet.
        config: The configuration to run the morning on (default: `demo_config`).
            The scenario's commands must be allowed by its workflow.

    Raises:
        StoreError: the store cannot be opened, or already holds tickets.
        TicketflowError: the configuration's workflow refuses a command of the scenario.
    """
    lines: list[str] = [] if out is None else out
    url = DEMO_STORE if store is None else store
    if store is None:
        _fresh_demo_file()
    tickets = open_store(url)
    try:
        held = tickets.count()
        if held:
            raise StoreError(
                f"the demo needs an empty store, and {url!r} holds {held} tickets; "
                "name a new file (the demo never deletes or empties a store you name)"
            )
        before = _run_morning(lines, tickets, url, demo_config() if config is None else config)
    finally:
        tickets.close()
    _check_reopened(lines, url, before, fresh=store is None)
    return lines


def _run_morning(
    lines: list[str], store: TicketStore, url: str, config: HelpdeskConfig
) -> dict[str, Ticket]:
    """Run the scenario on ``store``, print it, and return every ticket as committed."""
    clock = FakeClock(datetime(2026, 3, 2, 8, 0, tzinfo=UTC))  # a Monday
    desk = Helpdesk(config=config, store=store, clock=clock)
    queue: list[str] = []
    ticket_ids = _simulate_morning(desk, clock, queue)
    lines.append(f"ticketflow demo: a Monday morning on the {desk.workflow.name} workflow")
    lines.append(f"(fake clock, store {url}; every command below is timestamped by the clock)")
    lines.append("rules: " + (", ".join(r.name for r in config.rules) or "none"))
    if config.sla.policies == (_DEMO_SLA,):
        lines.append(
            "SLA: first reply 1h (high 30m), next reply 4h, resolution 2d, in office hours "
            "(Europe/Brussels, Mon-Fri 9-17); a warning 15m before, the team lead notified "
            "at a breach"
        )
    else:
        lines.append("SLA: " + (", ".join(p.name for p in config.sla.policies) or "none"))
    lines.append("")
    lines.extend(queue)
    lines.append("")
    morning = clock.now()
    fired = desk.run_until(morning + timedelta(days=8))
    lines.append(
        f"Then the clock skips 8 days with run_until; time rules and SLA stages fired at "
        f"their exact due times: {fired}."
    )
    lines.append("")
    for ticket_id in ticket_ids:
        ticket = desk.get(ticket_id)
        lines.extend(_format_timeline(ticket))
        extra = f"  => {ticket.status}"
        if ticket.parent_id:
            extra += f", follow-up of #{ticket.parent_id[-6:]}"
        if ticket.postponed_until:
            extra += f", postponed until {ticket.postponed_until:%a %d %b %H:%M}"
        if ticket.satisfaction is not None:
            extra += f", rated {ticket.satisfaction}/5"
        lines.append(extra)
        lines.append("")
    lines.append("Open work by category:")
    for category in ("new", "open", "pending", "resolved", "closed", "trash"):
        found = desk.find(category=category)
        lines.append(f"  {category:<9} {len(found)}")
    lines.append("")
    lines.append("The status graph (Mermaid, drawn by transitions):")
    lines.append(desk.workflow.mermaid().rstrip("\n"))
    return {t.id: t for t in store.find(TicketQuery())}


def _check_reopened(lines: list[str], url: str, before: dict[str, Ticket], *, fresh: bool) -> None:
    """Open ``url`` again as a new store and print whether every ticket came back."""
    lines.append("")
    reopened = open_store(url)
    try:
        after_ = {t.id: t for t in reopened.find(TicketQuery())}
        where = _where(reopened, url)
        pending = reopened.outbox_pending()
    finally:
        reopened.close()
    if not after_ and url.lower().startswith("memory:"):
        lines.append(
            f"Opened {url} again as a new store: it is empty (a memory store lives only "
            "as long as the store object)."
        )
        return
    same = sum(1 for tid, ticket in before.items() if after_.get(tid) == ticket)
    statuses = Counter(t.status for t in after_.values())
    verdict = (
        f"all {len(before)} tickets came back, each equal to the ticket committed"
        if same == len(before) == len(after_)
        else f"{same} of {len(before)} tickets came back unchanged ({len(after_)} found)"
    )
    lines.append(f"Opened {url} again as a new store: {verdict}")
    lines.append("  by status: " + ", ".join(f"{name} {n}" for name, n in sorted(statuses.items())))
    again = "each run of the demo starts it afresh" if fresh else "it is yours to keep"
    lines.append(f"The tickets are in {where}; {again}.")
    if pending:
        waits = "1 notification waits" if pending == 1 else f"{pending} notifications wait"
        lines.append(
            f"{waits} in its outbox for a worker: python -m ticketflow worker --store {url} --once"
        )


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``demo`` command to ``commands``."""
    demo = commands.add_parser("demo", help="simulate a morning at a help desk")
    demo.add_argument(
        "--store",
        default=None,
        help=f"store URL (default: {DEMO_STORE}, removed first so each run starts afresh; "
        "a store you name must be empty and is never deleted)",
    )
    config_options(
        demo,
        None,
        "the workflow, rules and SLA the morning runs on (default: LiveAgent, "
        "its rules and two more, and an office-hours SLA policy)",
    )


def run(args: argparse.Namespace) -> int:
    """The ``demo`` command: run the morning and print it; return the exit status."""
    try:
        config = None if args.config is None else load_config(args.config, args.guards)
        print("\n".join(run_demo(store=args.store, config=config)))
    except (TicketflowError, OSError, SetupError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0
