"""The compiled tables decide every command and trigger exactly as `transitions` does.

`Workflow.next_status` and `Workflow.fire` decide from a dict compiled from the
workflow; `Workflow.machine()` is the `transitions.Machine` it was built from. On
random workflows and random tickets (in any status, with or without assignee and
department, with timelines that make ``was_new`` true or false), for every command
and every trigger, both must move the ticket to the same status or both refuse with
a `TransitionError` naming the same guard.

The oracle for triggers fires ``machine.events[trigger].trigger(model)`` on a model
whose guard methods are written here from the guards' documentation, so a wrong
built-in guard shows up as a disagreement too.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from hypothesis import event, given
from hypothesis import strategies as st
from transitions import MachineError

from ticketflow import (
    Actor,
    Event,
    EventKind,
    FakeClock,
    Helpdesk,
    Requester,
    Role,
    Ticket,
    TransitionError,
    Workflow,
)
from ticketflow._workflow import COMMANDS
from ticketflow.testing import presets, workflows

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
AGENT = Actor("bob", Role.AGENT)
MESSAGE_COMMANDS = frozenset({"agent_reply", "customer_reply", "note"})
ODD_NAMES = st.text(
    st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), min_size=1, max_size=6
) | st.sampled_from(
    ["initial", "to_new", "trigger", "machine", "events", "models", "may_go", "on_enter_x", "None"]
)
"""Names that might mean something to `transitions` (attribute-like, unicode, spaces)."""
ANY_WORKFLOW = workflows() | presets() | workflows(names=ODD_NAMES)

Outcome = tuple[str, str | None]
"""``("moved", status)`` or ``("refused", guard name or None)``."""


@st.composite
def workflows_and_tickets(draw: st.DrawFn) -> tuple[Workflow, Ticket]:
    """A workflow, and a ticket of it in any status, reached through random hops.

    The hops are ``postponed`` and ``transitioned`` events between random statuses
    (not necessarily declared transitions: only the decision is under test here), so
    that the last status-changing postpone left the initial status or another one.
    """
    workflow = draw(ANY_WORKFLOW)
    names = [s.name for s in workflow.statuses]
    desk = Helpdesk(workflow, clock=FakeClock(START))
    ticket = desk.open_ticket(
        subject="Printer jammed",
        requester=Requester(name="Ann"),
        assignee=draw(st.none() | st.just("bob")),
        department=draw(st.none() | st.just("it")),
    )
    events = list(ticket.timeline)
    status = workflow.initial
    hops = draw(st.lists(st.tuples(st.booleans(), st.sampled_from(names)), max_size=4))
    hops.append((False, draw(st.sampled_from(names))))
    for postpone, dest in hops:
        at = START + timedelta(minutes=len(events))
        events.append(
            Event(
                kind=EventKind.POSTPONED if postpone else EventKind.TRANSITIONED,
                at=at,
                actor=AGENT,
                status_before=status,
                status_after=dest,
                data={"until": at + timedelta(days=1)} if postpone else {"trigger": "hop"},
                version=len(events) + 1,
            )
        )
        status = dest
    return workflow, Ticket.rebuild(events)


def was_new(ticket: Ticket) -> bool:
    """Documented: the ticket was in its initial status when it was last postponed."""
    initial = ticket.timeline[0].status_after
    moves = [e for e in ticket.timeline if e.kind is EventKind.POSTPONED and e.changes_status]
    return bool(moves) and moves[-1].status_before == initial


class OracleModel:
    """The model `transitions` fires on: its state and the built-in guards as methods."""

    def __init__(self, ticket: Ticket) -> None:
        self.state = ticket.status
        self.ticket = ticket

    # With send_event=True, transitions passes an EventData to each condition.
    def has_assignee(self, _event: object) -> bool:
        return self.ticket.assignee is not None

    def has_department(self, _event: object) -> bool:
        return self.ticket.department is not None

    def was_new(self, _event: object) -> bool:
        return was_new(self.ticket)


def machine_fire(workflow: Workflow, ticket: Ticket, trigger: str) -> Outcome:
    """Decide by firing ``trigger`` on the `transitions` machine."""
    machine_event = workflow.machine().events.get(trigger)
    if machine_event is None:
        return ("refused", None)
    model = OracleModel(ticket)
    try:
        moved = machine_event.trigger(model)
    except MachineError:  # no transition of this trigger leaves the state
        return ("refused", None)
    if moved:
        return ("moved", model.state)
    # Every candidate's condition failed; the error names the first candidate's guard.
    first = next(
        t
        for t in workflow.transitions
        if t.trigger == trigger and ticket.status in workflow.expand_sources(t)
    )
    return ("refused", first.guard)


def label(result: Outcome) -> str:
    verdict, detail = result
    if verdict == "refused" and detail is not None:
        return f"refused by guard {detail}"
    return verdict


def outcome(decide: Callable[[], str], ticket: Ticket) -> Outcome:
    try:
        return ("moved", decide())
    except TransitionError as exc:
        refusal = exc
    assert (ticket.id, ticket.status) == (refusal.ticket_id, refusal.status)
    return ("refused", refusal.guard)


@given(workflows_and_tickets())
def test_next_status_agrees_with_transitions_for_every_command(
    case: tuple[Workflow, Ticket],
) -> None:
    """For every command, `next_status` and `machine_next_status` decide as the machine does."""
    workflow, ticket = case
    event(f"was_new: {was_new(ticket)}")
    for command in COMMANDS:
        trigger = workflow.events.get(command)
        if trigger is not None:
            expected = machine_fire(workflow, ticket, trigger)
        elif command in MESSAGE_COMMANDS:
            expected = ("moved", ticket.status)  # recorded without a status change
        else:
            expected = ("refused", None)
        compiled = outcome(lambda c=command: workflow.next_status(ticket, c), ticket)
        oracle = outcome(lambda c=command: workflow.machine_next_status(ticket, c), ticket)
        assert expected == compiled, f"command {command!r}"
        assert expected == oracle, f"command {command!r}"
        event(f"command: {label(expected)}")


@given(workflows_and_tickets())
def test_fire_agrees_with_transitions_for_every_trigger(case: tuple[Workflow, Ticket]) -> None:
    """For every trigger (and an unknown one), `Workflow.fire` decides as the machine does."""
    workflow, ticket = case
    assert sorted(workflow.machine().events) == list(workflow.triggers)
    for trigger in (*workflow.triggers, "no_such_trigger"):
        expected = machine_fire(workflow, ticket, trigger)
        assert expected == outcome(lambda t=trigger: workflow.fire(ticket, t), ticket), trigger
        event(f"trigger: {label(expected)}")


@given(ANY_WORKFLOW)
def test_allowed_commands_are_those_the_machine_offers(workflow: Workflow) -> None:
    """`Workflow.allowed` lists the commands whose trigger the machine offers in a status,
    plus the message commands the workflow leaves unmapped."""
    machine = workflow.machine()
    for status in workflow.statuses:
        offered = set(machine.get_triggers(status.name))
        expected = {c for c, t in workflow.events.items() if t in offered}
        expected |= {c for c in MESSAGE_COMMANDS if c not in workflow.events}
        assert sorted(expected) == list(workflow.allowed(status.name)), status.name
