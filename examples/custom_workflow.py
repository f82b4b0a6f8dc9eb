"""Run a ticket through a custom workflow loaded from TOML, with a custom guard.

The workflow is ``it_support.toml`` next to this file: an internal IT desk where
work starts only once someone owns the ticket (the built-in guard ``has_assignee``),
a ticket goes to the vendor only once it carries a vendor ticket number (the custom
guard ``has_vendor_ticket`` below), and a reply within 14 days of closing reopens
the ticket.

Run it with ``python examples/custom_workflow.py``.
"""

from datetime import UTC, datetime
from pathlib import Path

from ticketflow import FakeClock, Helpdesk, Requester, Ticket, TransitionError, Workflow


def has_vendor_ticket(ticket: Ticket) -> bool:
    """The ticket carries the vendor's ticket number in its custom fields."""
    return bool(ticket.custom_fields.get("vendor_ticket"))


workflow = Workflow.load(
    Path(__file__).with_name("it_support.toml"),
    guards={"has_vendor_ticket": has_vendor_ticket},
)
clock = FakeClock(datetime(2026, 3, 2, 8, 30, tzinfo=UTC))
desk = Helpdesk(workflow=workflow, clock=clock)

ticket = desk.open_ticket(
    subject="Laptop docking station shows no picture",
    requester=Requester(name="Sam Park", email="sam@example.com"),
    channel="chat",
)
print(f"opened in {ticket.status!r}; allowed: {', '.join(desk.allowed(ticket.id))}")

try:
    desk.fire(ticket.id, "start", by="lee")
except TransitionError as exc:
    print(f"refused by guard {exc.guard!r}: nobody owns the ticket yet")

clock.advance(minutes=5)
desk.assign(ticket.id, "lee", department="workplace", by="lee")
desk.fire(ticket.id, "start", by="lee")
clock.advance(minutes=10)
desk.agent_reply(ticket.id, "Which firmware does the dock run?", by="lee")
clock.advance(minutes=25)
desk.customer_reply(ticket.id, "Version 1.0.4.")

try:
    desk.fire(ticket.id, "escalate_to_vendor", by="lee")
except TransitionError as exc:
    print(f"refused by guard {exc.guard!r}: open a case with the vendor first")

clock.advance(minutes=15)
desk.set_field(ticket.id, "vendor_ticket", "DOCK-20931", by="lee")
desk.fire(ticket.id, "escalate_to_vendor", by="lee")
clock.advance(days=1)
desk.fire(ticket.id, "vendor_answered", by="lee")
desk.agent_reply(ticket.id, "Firmware 1.1 fixes it; I installed it remotely.", by="lee")
desk.resolve(ticket.id, by="lee")
clock.advance(hours=4)
desk.close(ticket.id, by="lee")
clock.advance(days=3)
ticket = desk.customer_reply(ticket.id, "The screen flickers again since this morning.")
print(f"a reply 3 days after closing reopened the same ticket: {ticket.status!r}")

print()
print(f"Timeline of {ticket.subject!r}:")
for event in ticket.timeline:
    what = event.kind.value
    if "trigger" in event.data:
        what += f" ({event.data['trigger']})"
    moved = f"{event.status_before} -> {event.status_after}"
    print(f"  {event.at:%a %H:%M}  {what:<33} {moved:<38} by {event.actor.id}")
print(f"version {ticket.version}, {len(ticket.messages)} messages, status {ticket.status!r}")
