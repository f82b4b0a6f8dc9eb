"""The README quickstart: one ticket from New to Closed on a fake clock."""

from ticketflow import FakeClock, Helpdesk, Requester

clock = FakeClock()  # Monday 2026-01-05 09:00 UTC; it moves only when told to
desk = Helpdesk(clock=clock)  # the LiveAgent workflow and an in-memory store

ticket = desk.open_ticket(
    subject="Printer on floor 2 is jammed",
    requester=Requester(name="Ann Lee", email="ann@example.org"),
)
clock.advance(minutes=12)
desk.agent_reply(ticket.id, "A technician is on the way.", by="bob")
clock.advance(minutes=30)
desk.customer_reply(ticket.id, "Fixed, thanks!")
desk.resolve(ticket.id, by="bob")
ticket = desk.confirm_resolution(ticket.id, rating=5)

for event in ticket.timeline:
    print(f"{event.at:%H:%M}  {event.kind:<16} {event.status_before} -> {event.status_after}")
print(f"{ticket.status}; first response after {ticket.first_response_at - ticket.created_at}")
