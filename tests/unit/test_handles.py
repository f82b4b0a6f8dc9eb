"""Scoped handles: `Helpdesk.for_customer` and `Helpdesk.for_agent`."""

from __future__ import annotations

import pytest

from ticketflow import (
    Actor,
    AgentHandle,
    CustomerHandle,
    CustomerView,
    FakeClock,
    Helpdesk,
    HelpdeskConfig,
    InvalidInputError,
    PermissionDenied,
    Requester,
    Role,
    Ticket,
    TicketNotFound,
    workflows,
)

from .conftest import START

ANN = Requester(name="Ann", email="ann@example.com", organisation="Acme")
ANNA = Requester(name="Anna", email="anna@example.com", organisation="Acme")
YAN = Requester(name="Yan", email="yan@example.org", organisation="Other")


@pytest.fixture
def desk() -> Helpdesk:
    """A LiveAgent help desk whose closed tickets get follow-ups."""
    return Helpdesk(workflows.liveagent(), clock=FakeClock(START))


def _snapshot(desk: Helpdesk) -> list[Ticket]:
    return desk.find()


def test_a_customer_handle_reads_its_own_tickets_as_views(desk: Helpdesk) -> None:
    """get returns a CustomerView: no private note in it."""
    ticket = desk.open_ticket(subject="VPN", requester=ANN)
    desk.add_note(ticket.id, "Ann is on the VIP list", by="bob")
    desk.agent_reply(ticket.id, "Restarting the gateway", by="bob")
    view = desk.for_customer("ann@example.com").get(ticket.id)
    assert isinstance(view, CustomerView)
    assert ["Restarting the gateway"] == [m.body for m in view.messages]
    assert "VIP" not in repr(view)


def test_guessing_another_customers_id_is_not_found_like_an_unknown_id(desk: Helpdesk) -> None:
    """Every read and command on Yan's ticket through Ann's handle raises TicketNotFound."""
    yans = desk.open_ticket(subject="Invoice", requester=YAN, description="account 456")
    ann = desk.for_customer("ann@example.com")
    before = _snapshot(desk)
    calls = [
        lambda: ann.get(yans.id),
        lambda: ann.timeline(yans.id),
        lambda: ann.allowed(yans.id),
        lambda: ann.customer_reply(yans.id, "hello"),
        lambda: ann.confirm_resolution(yans.id),
        lambda: ann.open_ticket(subject="follow-up", parent_id=yans.id),
    ]
    for call in calls:
        with pytest.raises(TicketNotFound) as info:
            call()
        assert f"no ticket with id {yans.id!r}" == str(info.value)
    with pytest.raises(TicketNotFound) as unknown:
        ann.get("01NOSUCHTICKET")
    assert "no ticket with id '01NOSUCHTICKET'" == str(unknown.value)
    assert before == _snapshot(desk)


def test_a_customer_handle_may_not_run_agent_commands(desk: Helpdesk) -> None:
    """resolve through a customer handle raises PermissionDenied and changes nothing."""
    ann = desk.for_customer(ANN)
    view = ann.open_ticket(subject="VPN")
    before = _snapshot(desk)
    with pytest.raises(PermissionDenied) as info:
        ann.resolve(view.id)
    assert (Actor("ann@example.com", Role.CUSTOMER), "resolve") == (
        info.value.actor,
        info.value.command,
    )
    assert before == _snapshot(desk)
    assert ("customer_reply",) == ann.allowed(view.id)
    desk.resolve(view.id, by="bob")
    assert ("confirm", "customer_reply") == ann.allowed(view.id)


def test_a_customer_handle_opens_replies_and_confirms_as_the_customer(desk: Helpdesk) -> None:
    """Its commands are recorded as Actor(email, customer) and return views."""
    ann = desk.for_customer(ANN)
    view = ann.open_ticket(subject="VPN", description="down since 9")
    ann.customer_reply(view.id, "still down")
    desk.resolve(view.id, by="bob")
    closed = ann.confirm_resolution(view.id, rating=5)
    assert "closed" == closed.status
    actors = {e.actor for e in desk.get(view.id).timeline if e.actor.role is Role.CUSTOMER}
    assert {Actor("ann@example.com", Role.CUSTOMER)} == actors
    assert ANN == desk.get(view.id).requester


def test_find_returns_only_the_customers_own_tickets(desk: Helpdesk) -> None:
    """find lists Ann's tickets (whatever the case of the stored address), not Yan's."""
    mine = desk.open_ticket(subject="VPN", requester=Requester(email="ANN@example.com"))
    desk.open_ticket(subject="Invoice", requester=YAN)
    also_mine = desk.open_ticket(subject="Printer", requester=ANN)
    found = desk.for_customer(" ann@EXAMPLE.com ").find()
    assert [mine.id, also_mine.id] == [v.id for v in found]
    assert all(isinstance(v, CustomerView) for v in found)


def test_a_reply_to_a_closed_ticket_opens_a_follow_up_the_customer_sees(desk: Helpdesk) -> None:
    """The follow-up is Ann's: her handle reads it and finds it."""
    ann = desk.for_customer(ANN)
    view = ann.open_ticket(subject="VPN")
    desk.close(view.id)
    follow_up = ann.customer_reply(view.id, "it is down again")
    assert (view.id, "it is down again") == (follow_up.parent_id, follow_up.description)
    assert follow_up == ann.get(follow_up.id)
    assert [view.id, follow_up.id] == [v.id for v in ann.find()]


def test_merged_tickets_through_handles(desk: Helpdesk) -> None:
    """Yan, a participant of Ann's ticket by an allowed merge, reads and replies; Zoe may not."""
    anns = desk.open_ticket(subject="VPN", requester=ANN)
    yans = desk.open_ticket(subject="VPN", requester=YAN)
    desk.merge(yans.id, anns.id, allow_other_requester=True, by="bob")
    yan = desk.for_customer(YAN)
    landed = yan.customer_reply(yans.id, "any news?")
    assert anns.id == landed.id
    assert "any news?" == yan.get(anns.id).messages[-1].body
    zoe = desk.for_customer("zoe@example.org")
    with pytest.raises(TicketNotFound):
        zoe.get(anns.id)
    with pytest.raises(TicketNotFound):
        zoe.customer_reply(yans.id, "me too")


def test_organisation_visibility_lets_colleagues_read_each_others_tickets() -> None:
    """With the flag, Anna of Acme reads Ann's ticket; Yan of Other still may not; off, nobody."""
    config = HelpdeskConfig.from_dict(
        {**HelpdeskConfig.preset("liveagent").to_dict(), "organisation_visibility": True}
    )
    desk = Helpdesk(config=config, clock=FakeClock(START))
    anns = desk.open_ticket(subject="VPN", requester=ANN)
    assert anns.id == desk.for_customer(ANNA).get(anns.id).id
    assert "for Ann" == desk.for_customer(ANNA).customer_reply(anns.id, "for Ann").messages[-1].body
    with pytest.raises(TicketNotFound):
        desk.for_customer(YAN).get(anns.id)
    # The organisation is the handle's Requester's: an address alone has none.
    with pytest.raises(TicketNotFound):
        desk.for_customer("anna@example.com").get(anns.id)
    plain = Helpdesk(clock=FakeClock(START))
    theirs = plain.open_ticket(subject="VPN", requester=ANN)
    with pytest.raises(TicketNotFound):
        plain.for_customer(ANNA).get(theirs.id)


@pytest.mark.parametrize("who", ["", "   ", Requester(name="Ann"), 42])
def test_a_customer_handle_needs_an_email_address(desk: Helpdesk, who: object) -> None:
    """A name proves nothing: for_customer refuses a requester without an address."""
    with pytest.raises(InvalidInputError) as info:
        desk.for_customer(who)  # type: ignore[arg-type]
    assert "requester" == info.value.field


def test_an_agent_handle_acts_as_the_agent(desk: Helpdesk) -> None:
    """Its commands are recorded as Actor(agent_id, agent) and return full tickets."""
    ticket = desk.open_ticket(subject="VPN", requester=ANN)
    bob = desk.for_agent("bob")
    assert isinstance(bob, AgentHandle)
    noted = bob.add_note(ticket.id, "private")
    assert Actor("bob", Role.AGENT) == noted.timeline[-1].actor
    assert "private" == bob.get(ticket.id).messages[-1].body
    with pytest.raises(PermissionDenied):
        bob.purge(ticket.id)


def test_an_agent_handle_with_departments_sees_only_theirs(desk: Helpdesk) -> None:
    """Outside its departments: TicketNotFound for reads and commands; find and queue filter."""
    network = desk.open_ticket(subject="VPN", requester=ANN, department="network")
    billing = desk.open_ticket(subject="Invoice", requester=ANN, department="billing")
    unassigned = desk.open_ticket(subject="?", requester=ANN)
    bob = desk.for_agent("bob", departments=["network"])
    assert network.id == bob.get(network.id).id
    before = _snapshot(desk)
    for ticket_id in (billing.id, unassigned.id):
        for call in (
            lambda i=ticket_id: bob.get(i),
            lambda i=ticket_id: bob.timeline(i),
            lambda i=ticket_id: bob.agent_reply(i, "hi"),
            lambda i=ticket_id: bob.resolve(i),
            lambda i=ticket_id: bob.next_due(i),
        ):
            with pytest.raises(TicketNotFound):
                call()
    with pytest.raises(TicketNotFound):
        bob.merge(network.id, billing.id)
    assert before == _snapshot(desk)
    assert [network.id] == [t.id for t in bob.find()]
    assert [] == bob.find(department="billing")
    assert [network.id] == [t.id for t in bob.queue()]
    with pytest.raises(InvalidInputError):
        bob.queue(department="billing")
    with pytest.raises(PermissionDenied):
        bob.open_ticket(subject="x", requester=ANN, department="billing")
    assert "network" == bob.open_ticket(subject="x", requester=ANN, department="network").department


def test_an_agent_handle_may_hand_a_ticket_to_another_department(desk: Helpdesk) -> None:
    """Assigning away is allowed; afterwards the ticket is out of the handle's scope."""
    network = desk.open_ticket(subject="VPN", requester=ANN, department="network")
    bob = desk.for_agent("bob", departments={"network"})
    assert "billing" == bob.assign(network.id, department="billing").department
    with pytest.raises(TicketNotFound):
        bob.get(network.id)


@pytest.mark.parametrize(("agent", "departments"), [("", None), ("bob", "network"), ("bob", [""])])
def test_for_agent_checks_its_arguments(desk: Helpdesk, agent: str, departments: object) -> None:
    """A blank agent id, a bare string of departments or a blank department is refused."""
    with pytest.raises(InvalidInputError):
        desk.for_agent(agent, departments)  # type: ignore[arg-type]


def test_handles_go_through_the_policy_hook() -> None:
    """A handle's command reaches the policy with the handle's actor."""
    seen: list[Actor] = []

    def policy(actor: Actor, _command: object, _ticket: object) -> str | None:
        seen.append(actor)
        return "closed for the night" if actor.role is Role.AGENT else None

    desk = Helpdesk(clock=FakeClock(START), policy=policy)
    view = desk.for_customer(ANN).open_ticket(subject="VPN")
    with pytest.raises(PermissionDenied, match="closed for the night"):
        desk.for_agent("bob").agent_reply(view.id, "hi")
    assert [Actor("ann@example.com", Role.CUSTOMER), Actor("bob", Role.AGENT)] == seen


def test_a_customer_handle_repr_and_requester(desk: Helpdesk) -> None:
    """The handle names its customer; its requester is the one given."""
    handle = desk.for_customer(ANN)
    assert isinstance(handle, CustomerHandle)
    assert (ANN, "CustomerHandle('ann@example.com')") == (handle.requester, repr(handle))
