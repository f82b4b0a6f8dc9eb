"""Command line: ``python -m ticketflow demo`` and ``python -m ticketflow diagram``."""

from __future__ import annotations

import argparse
import json
import sys
import tomllib
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ._clock import FakeClock
from ._engine import Helpdesk
from ._model import Requester, Ticket
from ._workflow import Workflow
from .exceptions import TicketflowError, WorkflowError
from .rules import after, from_dicts, inactivity
from .stores import MemoryStore
from .workflows import PRESETS, liveagent, preset

__all__ = ["main", "run_demo"]


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


def _simulate_morning(desk: Helpdesk, clock: FakeClock) -> list[str]:
    """Run the demo's scenario; return the ids of the tickets it touched."""
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


def run_demo(out: list[str] | None = None) -> list[str]:
    """Simulate a morning at a help desk on a fake clock; return the printed lines.

    Five tickets go through New, Answered, Open, Resolved and Closed; one is spam,
    one is postponed, and a reply to a closed ticket opens a follow-up.
    """
    lines: list[str] = [] if out is None else out
    clock = FakeClock(datetime(2026, 3, 2, 8, 0, tzinfo=UTC))  # a Monday
    workflow = liveagent()
    # The preset's rules (wake postponed tickets, close on confirmation) and two more.
    rules = [
        *from_dicts(workflow.rules),
        inactivity(status="answered", after=timedelta(days=2), then="remind"),
        after(status="resolved", delay=timedelta(days=4), then="close"),
    ]
    desk = Helpdesk(workflow, store=MemoryStore(), clock=clock, rules=rules)
    ticket_ids = _simulate_morning(desk, clock)
    lines.append(f"ticketflow demo: a Monday morning on the {desk.workflow.name} workflow")
    lines.append("(fake clock, in-memory store; every command below is timestamped by the clock)")
    lines.append("rules: " + ", ".join(r.name for r in rules))
    lines.append("")
    morning = clock.now()
    fired = desk.run_until(morning + timedelta(days=8))
    lines.append(
        f"Then the clock skips 8 days with run_until; time rules fired at their exact "
        f"due times: {fired}."
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
    lines.append(desk.workflow.mermaid())
    return lines


def _load_workflow(name: str) -> Workflow:
    if name in PRESETS:
        return preset(name)
    path = Path(name)
    try:
        return Workflow.load(path)
    except WorkflowError as exc:
        if "unknown guard" not in str(exc):
            raise
    # Custom guards live in the user's code; a diagram only needs their names.
    text = path.read_text(encoding="utf-8")
    data = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
    names = {t.get("guard") for t in data.get("transitions", [])} - {None}
    return Workflow.from_dict(data, guards=dict.fromkeys(names, _any_ticket))


def _any_ticket(_ticket: Ticket) -> bool:
    return True


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    parser = argparse.ArgumentParser(prog="python -m ticketflow", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("demo", help="simulate a morning at a help desk")
    diagram = commands.add_parser("diagram", help="print a workflow's Mermaid diagram")
    diagram.add_argument(
        "workflow",
        nargs="?",
        default="liveagent",
        help=f"{', '.join(PRESETS)} or a .toml/.json file",
    )
    args = parser.parse_args(argv)
    try:
        if args.command == "demo":
            print("\n".join(run_demo()))
        else:
            print(_load_workflow(args.workflow).mermaid(), end="")
    except (TicketflowError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0
