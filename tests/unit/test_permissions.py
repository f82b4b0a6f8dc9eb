"""Roles that mean something: the permission table, PermissionDenied, the policy hook.

Also the two input checks of issue 11 that sit on the same path: empty bodies and
merges of two requesters' tickets.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from ticketflow import (
    Actor,
    Event,
    EventKind,
    FakeClock,
    Helpdesk,
    HelpdeskConfig,
    InvalidInputError,
    PermissionDenied,
    Requester,
    RequesterMismatchError,
    Role,
    RuleError,
    Ticket,
    TicketflowError,
    TicketLockedError,
    TicketNotFound,
)
from ticketflow.commands import AgentReply, Command, CustomerReply, Note, Open, Resolve
from ticketflow.config import DEFAULT_PERMISSIONS, SYSTEM_COMMANDS
from ticketflow.rules import Rule
from ticketflow.stores import Change

from .conftest import ADMIN, ANN, START

YAN = Requester(name="Yan", email="yan@example.org")
ANN_AS_CUSTOMER = Actor("ann@example.com", Role.CUSTOMER)
MALLORY = Actor("mallory@evil.example", Role.CUSTOMER)
ALL_KINDS = [kind.value for kind in EventKind]


def _desk(**kwargs: object) -> Helpdesk:
    return Helpdesk(clock=FakeClock(START), outbox=ALL_KINDS, **kwargs)  # type: ignore[arg-type]


def _snapshot(desk: Helpdesk, ticket_id: str) -> tuple[Ticket, int, int]:
    """What a refused command must leave as it was: the ticket, the outbox, the ticket count."""
    return desk.get(ticket_id), desk.store.outbox_pending(), desk.store.count()


# --- roles and the table --------------------------------------------------------------


def test_admin_is_a_role_beside_customer_agent_and_system() -> None:
    """Role has the four roles the permission table is keyed by."""
    assert ["customer", "agent", "admin", "system"] == [role.value for role in Role]


def test_a_string_by_is_an_agent_for_every_command_customer_reply_included() -> None:
    """by="..." records an agent, even on customer_reply: a customer is an Actor or a handle."""
    desk = _desk()
    ticket = desk.open_ticket(subject="VPN", requester=ANN)
    landed = desk.customer_reply(ticket.id, "Ann said so on the phone", by="ann@example.com")
    assert Actor("ann@example.com", Role.AGENT) == landed.timeline[-1].actor


def test_a_customer_may_not_resolve_and_nothing_changes() -> None:
    """resolve by a customer raises PermissionDenied naming actor, role and command."""
    desk = _desk()
    ticket = desk.open_ticket(subject="VPN", requester=ANN)
    before = _snapshot(desk, ticket.id)
    with pytest.raises(PermissionDenied) as info:
        desk.resolve(ticket.id, by=ANN_AS_CUSTOMER)
    error = info.value
    assert (ANN_AS_CUSTOMER, Role.CUSTOMER, "resolve", ticket.id) == (
        error.actor,
        error.role,
        error.command,
        error.ticket_id,
    )
    assert "customer 'ann@example.com' may not run 'resolve'" in str(error)
    assert isinstance(error, TicketflowError)
    assert before == _snapshot(desk, ticket.id)


def test_a_customer_may_not_reply_to_someone_elses_ticket() -> None:
    """customer_reply as another customer (mallory) is refused: not their ticket."""
    desk = _desk()
    ticket = desk.open_ticket(subject="VPN", requester=ANN)
    before = _snapshot(desk, ticket.id)
    with pytest.raises(PermissionDenied) as info:
        desk.customer_reply(ticket.id, "I am Ann, really", by=MALLORY)
    assert "their own tickets" in info.value.reason
    assert before == _snapshot(desk, ticket.id)


def test_the_requester_as_an_actor_is_matched_by_address_whatever_its_case() -> None:
    """Actor(" Ann@Example.COM ", customer) is Ann: her reply is accepted."""
    desk = _desk()
    ticket = desk.open_ticket(subject="VPN", requester=ANN)
    actor = Actor(" Ann@Example.COM ", Role.CUSTOMER)
    landed = desk.customer_reply(ticket.id, "still down", by=actor)
    assert actor == landed.timeline[-1].actor


def test_a_customer_opens_tickets_in_their_own_name_only() -> None:
    """A customer Actor may not open for another requester, nor follow up a foreign ticket."""
    desk = _desk()
    yans = desk.open_ticket(subject="Invoice", requester=YAN)
    with pytest.raises(PermissionDenied):
        desk.open_ticket(subject="VPN", requester=YAN, by=ANN_AS_CUSTOMER)
    with pytest.raises(PermissionDenied):
        desk.open_ticket(subject="VPN", requester=ANN, parent_id=yans.id, by=ANN_AS_CUSTOMER)
    assert 1 == desk.store.count()
    mine = desk.open_ticket(subject="VPN", requester=ANN, by=ANN_AS_CUSTOMER)
    assert ANN_AS_CUSTOMER == mine.timeline[0].actor


def test_agents_may_not_purge_and_admins_may() -> None:
    """By default purge is for admins only."""
    desk = _desk()
    ticket = desk.open_ticket(subject="VPN", requester=ANN)
    before = _snapshot(desk, ticket.id)
    with pytest.raises(PermissionDenied) as info:
        desk.purge(ticket.id, by="bob")
    assert (Role.AGENT, "purge") == (info.value.role, info.value.command)
    assert before == _snapshot(desk, ticket.id)
    assert "purged" == desk.purge(ticket.id, by=ADMIN).ticket.status


@pytest.mark.parametrize(
    ("call", "command"),
    [
        (lambda d, t: d.postpone(t, START + timedelta(days=1)), "postpone"),
        (lambda d, t: d.agent_reply(t, "hello", by=None), "agent_reply"),
        (lambda d, t: d.purge(t), "purge"),
    ],
)
def test_the_system_may_run_only_what_rules_can_do(call: object, command: str) -> None:
    """by=None on an agent command is the system, which may not postpone, reply or purge."""
    desk = _desk()
    ticket = desk.open_ticket(subject="VPN", requester=ANN)
    before = _snapshot(desk, ticket.id)
    with pytest.raises(PermissionDenied) as info:
        call(desk, ticket.id)  # type: ignore[operator]
    assert (Role.SYSTEM, command) == (info.value.role, info.value.command)
    assert before == _snapshot(desk, ticket.id)


def test_the_system_may_still_resolve_tag_and_assign_without_by() -> None:
    """What rules can do, by=None still does, recorded as the system."""
    desk = _desk()
    ticket = desk.open_ticket(subject="VPN", requester=ANN)
    desk.assign(ticket.id, "bob")
    desk.add_tags(ticket.id, "vpn")
    resolved = desk.resolve(ticket.id)
    assert {Role.SYSTEM} == {e.actor.role for e in resolved.timeline[1:]}


def test_the_default_table() -> None:
    """Customers open, reply and confirm; agents all but purge; admins all; system rule commands."""
    assert frozenset({"open", "customer_reply", "confirm"}) == DEFAULT_PERMISSIONS[Role.CUSTOMER]
    assert {"purge"} == DEFAULT_PERMISSIONS[Role.ADMIN] - DEFAULT_PERMISSIONS[Role.AGENT]
    assert SYSTEM_COMMANDS == DEFAULT_PERMISSIONS[Role.SYSTEM]
    assert not {"open", "agent_reply", "postpone", "merge", "purge"} & SYSTEM_COMMANDS


def test_a_configured_table_limits_agents() -> None:
    """[permissions] agent = [...] takes resolve away from agents; other roles keep defaults."""
    config = HelpdeskConfig.from_toml(
        HelpdeskConfig.preset("liveagent").to_toml()
        + '\n[permissions]\nagent = ["agent_reply", "note"]\n'
    )
    assert DEFAULT_PERMISSIONS[Role.ADMIN] == config.permissions[Role.ADMIN]
    desk = Helpdesk(config=config, clock=FakeClock(START))
    ticket = desk.open_ticket(subject="VPN", requester=ANN)
    desk.agent_reply(ticket.id, "on it", by="bob")
    with pytest.raises(PermissionDenied):
        desk.resolve(ticket.id, by="bob")
    assert "resolved" == desk.resolve(ticket.id, by=Actor("root", Role.ADMIN)).status


def test_rules_run_as_the_system_whatever_the_table_says() -> None:
    """A preset's rules (confirmation closes, wake_postponed wakes) run with system = []."""
    config = HelpdeskConfig.from_dict(
        {**HelpdeskConfig.preset("liveagent").to_dict(), "permissions": {"system": []}}
    )
    assert frozenset() == config.permissions[Role.SYSTEM]
    desk = Helpdesk(config=config, clock=FakeClock(START))
    ticket = desk.open_ticket(subject="VPN", requester=ANN)
    desk.resolve(ticket.id, by="bob")
    closed = desk.confirm_resolution(ticket.id, rating=5)
    assert ("closed", Role.SYSTEM) == (closed.status, closed.timeline[-1].actor.role)
    other = desk.open_ticket(subject="Printer", requester=ANN)
    desk.postpone(other.id, START + timedelta(days=1), by="bob")
    assert 1 == desk.run_until(START + timedelta(days=2))
    assert "new" == desk.get(other.id).status


@pytest.mark.parametrize(
    ("permissions", "field"),
    [
        ({"boss": ["open"]}, "permissions.boss"),
        ({"agent": ["open", "opne"]}, "permissions.agent[1]"),
        ({"agent": "open"}, "permissions.agent"),
    ],
)
def test_a_bad_permission_table_is_refused_with_its_path(
    permissions: dict[str, object], field: str
) -> None:
    """An unknown role or command, or a non-array, is refused naming where it is."""
    data = {**HelpdeskConfig.preset("liveagent").to_dict(), "permissions": permissions}
    with pytest.raises(InvalidInputError) as info:
        HelpdeskConfig.from_dict(data)
    assert field == info.value.field
    assert str(info.value).startswith(field)


def test_permissions_round_trip_through_toml() -> None:
    """A changed table and the visibility flag are written, and read back equal."""
    config = HelpdeskConfig.from_dict(
        {
            **HelpdeskConfig.preset("zendesk").to_dict(),
            "permissions": {"customer": ["open", "customer_reply"], "admin": ["purge"]},
            "organisation_visibility": True,
        }
    )
    text = config.to_toml()
    assert 'customer = ["customer_reply", "open"]' in text
    assert "organisation_visibility = true" in text
    assert config == HelpdeskConfig.from_toml(text)
    assert "[permissions]" not in HelpdeskConfig.preset("zendesk").to_toml()


# --- the policy hook --------------------------------------------------------------------


def _departments_policy(
    allowed: dict[str, set[str]],
) -> object:
    def policy(actor: Actor, command: Command, ticket: Ticket | None) -> str | None:
        if actor.role is not Role.AGENT or ticket is None:
            return None
        if ticket.department not in allowed.get(actor.id, set()):
            return f"{actor.id} works in {sorted(allowed.get(actor.id, set()))} only"
        return None

    return policy


def test_a_policy_limits_agents_to_their_departments() -> None:
    """The hook's reason becomes a PermissionDenied; nothing changes; others pass."""
    desk = _desk(policy=_departments_policy({"bob": {"network"}}))
    billing = desk.open_ticket(subject="Invoice", requester=ANN, department="billing")
    network = desk.open_ticket(subject="VPN", requester=ANN, department="network")
    before = _snapshot(desk, billing.id)
    with pytest.raises(PermissionDenied) as info:
        desk.agent_reply(billing.id, "hi", by="bob")
    assert "bob works in ['network'] only" == info.value.reason
    assert before == _snapshot(desk, billing.id)
    assert "answered" == desk.agent_reply(network.id, "hi", by="bob").status


def test_the_policy_sees_the_actor_the_command_and_the_ticket() -> None:
    """It is called after the table, before decide; ticket is None for open."""
    seen: list[tuple[Actor, type, str | None]] = []

    def policy(actor: Actor, command: Command, ticket: Ticket | None) -> None:
        seen.append((actor, type(command), None if ticket is None else ticket.id))

    desk = _desk(policy=policy)
    ticket = desk.open_ticket(subject="VPN", requester=ANN)
    desk.resolve(ticket.id, by="bob")
    with pytest.raises(PermissionDenied):  # the table refuses first: the policy is not asked
        desk.resolve(ticket.id, by=ANN_AS_CUSTOMER)
    assert [
        (ANN_AS_CUSTOMER, Open, None),
        (Actor("bob", Role.AGENT), Resolve, ticket.id),
    ] == seen


def test_a_policy_must_be_callable() -> None:
    """Helpdesk(policy=...) refuses a non-callable, naming policy."""
    with pytest.raises(InvalidInputError) as info:
        Helpdesk(policy="strict")  # type: ignore[arg-type]
    assert "policy" == info.value.field


# --- empty bodies ---------------------------------------------------------------------------


@pytest.mark.parametrize("cls", [AgentReply, CustomerReply, Note])
@pytest.mark.parametrize("body", ["", " ", "\n\t "])
def test_an_empty_or_blank_body_is_refused_when_the_command_is_built(
    cls: type[AgentReply | CustomerReply | Note], body: str
) -> None:
    """Replies and notes of nothing raise InvalidInputError naming body."""
    with pytest.raises(InvalidInputError) as info:
        cls(ticket_id="T1", body=body)
    assert "body" == info.value.field


def test_an_empty_reply_does_not_count_as_a_first_response() -> None:
    """The SLA's first reply stays unmet: the empty reply never reaches the ticket."""
    desk = _desk()
    ticket = desk.open_ticket(subject="VPN", requester=ANN)
    with pytest.raises(InvalidInputError):
        desk.agent_reply(ticket.id, "   ", by="bob")
    assert None is desk.get(ticket.id).first_response_at


def test_a_rule_that_adds_an_empty_note_is_refused_when_built() -> None:
    """A rule's note action is checked once, when the rule set is built."""
    rule = Rule.from_dict({"name": "blank", "on": ["created"], "actions": [{"note": " "}]})
    with pytest.raises(RuleError, match="body"):
        Helpdesk(rules=[rule])


# --- merges of two requesters ----------------------------------------------------------


def test_merging_two_requesters_tickets_is_refused_naming_both() -> None:
    """RequesterMismatchError names both tickets and both requesters; nothing changes."""
    desk = _desk()
    anns = desk.open_ticket(subject="VPN", requester=ANN, description="my account 123")
    yans = desk.open_ticket(subject="VPN", requester=YAN, description="my account 456")
    before = (_snapshot(desk, anns.id), _snapshot(desk, yans.id))
    with pytest.raises(RequesterMismatchError) as info:
        desk.merge(yans.id, anns.id, by="bob")
    error = info.value
    assert (yans.id, anns.id, YAN, ANN, "allow_other_requester") == (
        error.ticket_id,
        error.into_id,
        error.requester,
        error.into_requester,
        error.field,
    )
    for text in (yans.id, anns.id, "yan@example.org", "ann@example.com"):
        assert text in str(error)
    assert before == (_snapshot(desk, anns.id), _snapshot(desk, yans.id))


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        (Requester(email="Ann@Example.com "), Requester(name="A", email="ann@example.com"), True),
        (Requester(name="Ann"), Requester(name="Ann"), True),
        (Requester(name="Ann"), Requester(name="Ann", email="ann@example.com"), False),
        (Requester(name="Ann"), Requester(name="ann"), False),
    ],
)
def test_requesters_are_compared_by_address_else_by_name(
    a: Requester, b: Requester, same: bool
) -> None:
    """Addresses match case-insensitively; without addresses names match exactly."""
    desk = _desk()
    target = desk.open_ticket(subject="x", requester=a)
    source = desk.open_ticket(subject="x", requester=b)
    if same:
        assert target.id == desk.merge(source.id, target.id, by="bob").id
    else:
        with pytest.raises(RequesterMismatchError):
            desk.merge(source.id, target.id, by="bob")


def _merged_yan_into_ann(desk: Helpdesk) -> tuple[Ticket, Ticket]:
    anns = desk.open_ticket(subject="VPN", requester=ANN)
    yans = desk.open_ticket(subject="VPN", requester=YAN, description="Yan's account 456")
    desk.customer_reply(yans.id, "any news?")
    target = desk.merge(yans.id, anns.id, allow_other_requester=True, by="bob")
    return target, desk.get(yans.id)


def test_an_allowed_merge_keeps_authors_and_records_the_participant() -> None:
    """allow_other_requester: copied messages keep Yan as author; Yan becomes a participant."""
    desk = _desk()
    target, _ = _merged_yan_into_ann(desk)
    yan = Actor("yan@example.org", Role.CUSTOMER)
    assert [yan, yan] == [m.author for m in target.messages]
    assert (Requester(name="Yan", email="yan@example.org"),) == target.participants
    assert target.participants == desk.get(target.id).participants


def test_participants_leave_contact_details_behind() -> None:
    """Only who the participant is is recorded, not how to reach them."""
    desk = _desk()
    anns = desk.open_ticket(subject="VPN", requester=ANN)
    carl = Requester(name="Carl", email="carl@example.org", contacts={"phone": "+32 1"})
    carls = desk.open_ticket(subject="VPN", requester=carl)
    target = desk.merge(carls.id, anns.id, allow_other_requester=True, by="bob")
    assert (Requester(name="Carl", email="carl@example.org"),) == target.participants


def test_a_participant_replies_through_the_merged_ticket_and_directly() -> None:
    """Yan's reply to his merged ticket lands on Ann's; as a participant he may reply there."""
    desk = _desk()
    target, source = _merged_yan_into_ann(desk)
    landed = desk.customer_reply(source.id, "Yan again")
    assert (target.id, Actor("yan@example.org", Role.CUSTOMER)) == (
        landed.id,
        landed.timeline[-1].actor,
    )
    again = desk.customer_reply(target.id, "and again", by=Actor("yan@example.org", Role.CUSTOMER))
    assert "and again" == again.messages[-1].body
    with pytest.raises(PermissionDenied):
        desk.customer_reply(target.id, "me too", by=MALLORY)


def test_a_reply_to_a_merged_ticket_whose_target_the_customer_may_not_see_is_refused() -> None:
    """A merge recorded without participants (before they existed) does not redirect Yan to Ann."""
    desk = _desk()
    target, source = _merged_yan_into_ann(desk)
    # The merge as an older ticketflow stored it: no participants in its event.
    events = [
        e.replace(data={k: v for k, v in e.data.items() if k != "participants"})
        if e.kind is EventKind.MERGE_RECEIVED
        else e
        for e in desk.timeline(target.id)
    ]
    last = events[-1]
    # A store's rewrite is a commit: one more version (an agent's note here).
    events.append(
        Event(
            kind=EventKind.NOTE_ADDED,
            at=last.at,
            actor=Actor("bob", Role.AGENT),
            status_before=last.status_after,
            status_after=last.status_after,
            data={"body": "an older merge"},
            version=target.version + 1,
        )
    )
    legacy = Ticket.rebuild(events)
    desk.store.commit((Change(legacy, target.version, rewrite=True),))
    assert () == desk.get(target.id).participants
    before = (_snapshot(desk, target.id), _snapshot(desk, source.id))
    with pytest.raises(PermissionDenied) as info:
        desk.customer_reply(source.id, "what did Ann say?")
    assert f"ticket {source.id} was merged into a ticket of another requester" in info.value.reason
    assert target.id not in str(info.value)
    assert before == (_snapshot(desk, target.id), _snapshot(desk, source.id))


def test_a_second_merge_carries_the_participants_on() -> None:
    """Merging Ann's ticket (with Yan as participant) into Zoe's makes both participants."""
    desk = _desk()
    target, _ = _merged_yan_into_ann(desk)
    zoe = Requester(name="Zoe", email="zoe@example.org")
    zoes = desk.open_ticket(subject="VPN", requester=zoe)
    final = desk.merge(target.id, zoes.id, allow_other_requester=True, by="bob")
    assert ["ann@example.com", "yan@example.org"] == [p.email for p in final.participants]


def test_a_ticket_not_found_is_still_not_found_for_a_customer() -> None:
    """A customer's command on an unknown id raises TicketNotFound, as anyone's."""
    desk = _desk()
    with pytest.raises(TicketNotFound):
        desk.customer_reply("01NOSUCHTICKET", "hello", by=ANN_AS_CUSTOMER)


def test_purging_the_target_erases_its_participants() -> None:
    """After purge no participant's name or address is left in the target's timeline."""
    desk = _desk()
    target, _ = _merged_yan_into_ann(desk)
    tombstone = desk.purge(target.id, by=ADMIN).ticket
    text = repr([e.to_dict() for e in tombstone.timeline])
    assert "yan@example.org" not in text
    assert () == tombstone.participants


def test_purging_the_source_removes_its_requester_from_the_targets_participants() -> None:
    """Yan, purged, is no longer a participant of Ann's ticket; Ann's own thread stays."""
    desk = _desk()
    target, source = _merged_yan_into_ann(desk)
    assert [p.email for p in desk.get(target.id).participants] == ["yan@example.org"]
    result = desk.purge(source.id, by=ADMIN)
    assert (target.id,) == result.scrubbed
    kept = desk.get(target.id)
    assert () == kept.participants
    assert "yan@example.org" not in repr([e.to_dict() for e in kept.timeline])


def test_a_reply_to_a_purged_merged_ticket_is_refused_as_locked() -> None:
    """A purged source is no one's: its reply is not passed on to the target."""
    desk = _desk()
    anns = desk.open_ticket(subject="VPN", requester=ANN)
    again = desk.open_ticket(subject="VPN again", requester=ANN)
    desk.merge(again.id, anns.id, by="bob")
    desk.purge(again.id, by=ADMIN)
    before = (_snapshot(desk, anns.id), _snapshot(desk, again.id))
    with pytest.raises(TicketLockedError) as info:
        desk.customer_reply(again.id, "hello?")
    assert (again.id, "purged") == (info.value.ticket_id, info.value.status)
    assert before == (_snapshot(desk, anns.id), _snapshot(desk, again.id))


def test_purging_one_of_two_merged_tickets_of_a_customer_keeps_them_a_participant() -> None:
    """Yan's two tickets merged into Ann's; purging one leaves him a participant by the other.

    Each merge records whom it joined (a later one too, though Yan is a participant
    already), and a purge removes only the record of the merge that carried it:
    Yan's reply to his other merged ticket still lands on Ann's.
    """
    desk = _desk()
    target, first = _merged_yan_into_ann(desk)
    yan = Requester(name="Yan", email="yan@example.org")
    second = desk.open_ticket(subject="Printer again", requester=yan)
    desk.merge(second.id, target.id, allow_other_requester=True, by="bob")
    assert ["yan@example.org"] == [p.email for p in desk.get(target.id).participants]
    desk.purge(first.id, by=ADMIN)
    assert ["yan@example.org"] == [p.email for p in desk.get(target.id).participants]
    landed = desk.customer_reply(second.id, "still printing nothing")
    assert (target.id, "still printing nothing") == (landed.id, landed.messages[-1].body)


def test_purging_a_ticket_merged_down_a_chain_keeps_the_carrier_s_requester() -> None:
    """Yan's first ticket merged into his second, that one into Ann's; purging the
    first leaves Yan a participant of Ann's ticket through his second one."""
    desk = _desk()
    yan = Requester(name="Yan", email="yan@example.org")
    first = desk.open_ticket(subject="Printer", requester=yan)
    desk.customer_reply(first.id, "it jams")
    second = desk.open_ticket(subject="Printer again", requester=yan)
    desk.merge(first.id, second.id, by="bob")
    ann = desk.open_ticket(subject="Printers", requester=ANN)
    desk.merge(second.id, ann.id, allow_other_requester=True, by="bob")
    desk.purge(first.id, by=ADMIN)
    assert ["yan@example.org"] == [p.email for p in desk.get(ann.id).participants]
    landed = desk.customer_reply(second.id, "still jammed")
    assert (ann.id, "still jammed") == (landed.id, landed.messages[-1].body)
