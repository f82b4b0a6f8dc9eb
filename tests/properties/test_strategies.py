"""The shipped Hypothesis tools keep their promises: `ticketflow.testing`."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ticketflow import (
    Category,
    Event,
    EventKind,
    FakeClock,
    Helpdesk,
    Requester,
    RequesterMismatchError,
    Ticket,
    TicketLockedError,
    TransitionError,
    Workflow,
)
from ticketflow import (
    workflows as presets_module,
)
from ticketflow.testing import (
    Command,
    apply_command,
    check_ticket_invariants,
    commands,
    open_ticket_kwargs,
    presets,
    requesters,
    workflows,
)

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def test_testing_package_does_not_import_hypothesis_until_a_strategy_is_used() -> None:
    """The pytest plugin (loaded in every pytest run) pulls in no Hypothesis; the
    strategies load on first use."""
    code = (
        "import sys\n"
        "import ticketflow.testing, ticketflow.testing.pytest_plugin\n"
        "assert 'hypothesis' not in sys.modules, 'imported too early'\n"
        "ticketflow.testing.workflows\n"
        "assert 'hypothesis' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_testing_package_lists_its_names() -> None:
    """``ticketflow.testing.__all__`` is sorted and every name in it resolves."""
    import ticketflow.testing as testing  # noqa: PLC0415

    assert sorted(testing.__all__) == list(testing.__all__)
    assert [] == [name for name in testing.__all__ if not hasattr(testing, name)]
    with pytest.raises(AttributeError):
        _ = testing.no_such_name  # type: ignore[attr-defined]


@given(workflows())
def test_generated_workflows_keep_merge_locked_and_purge_final(workflow: Workflow) -> None:
    """Merge leads only to locked statuses and purge only to final ones; the initial status
    is neither final nor closed."""
    initial = workflow.status(workflow.initial)
    assert not initial.final
    assert Category.CLOSED is not initial.category
    for command, must_hold in (("merge", workflow.is_locked), ("purge", _is_final(workflow))):
        trigger = workflow.events.get(command)
        dests = {t.dest for t in workflow.transitions if t.trigger == trigger}
        assert [] == [d for d in dests if not must_hold(d)]


def _is_final(workflow: Workflow):
    return lambda status: workflow.status(status).final


@given(workflows(min_statuses=3, max_statuses=4))
def test_generated_workflows_respect_the_status_count(workflow: Workflow) -> None:
    """``min_statuses`` and ``max_statuses`` bound the number of statuses."""
    assert 3 <= len(workflow.statuses) <= 4


@given(workflows(names=st.sampled_from(["a", "*", "=", "state", ""])))
def test_generated_workflows_never_use_reserved_names(workflow: Workflow) -> None:
    """Even from a names strategy that repeats itself and offers reserved names, status
    and trigger names are distinct and never reserved, and `transitions` builds the machine."""
    names = [s.name for s in workflow.statuses]
    assert len(set(names)) == len(names)
    assert set() == ({"*", "="} & {*names, *workflow.triggers})
    assert "state" not in workflow.triggers
    assert sorted(workflow.machine().states) == sorted(names)


def test_workflows_refuses_impossible_bounds() -> None:
    """Bounds no workflow can meet are refused when the strategy is made."""
    with pytest.raises(ValueError, match="min_statuses"):
        workflows(min_statuses=1)
    with pytest.raises(ValueError, match="max_statuses"):
        workflows(max_statuses=21)


@given(presets())
def test_presets_are_the_shipped_presets(workflow: Workflow) -> None:
    """`presets()` draws one of the shipped presets (its statuses and initial status)."""
    shipped = presets_module.preset(workflow.name)
    assert (shipped.statuses, shipped.initial) == (workflow.statuses, workflow.initial)


@given(requesters(), open_ticket_kwargs())
def test_requesters_and_ticket_arguments_are_accepted(
    requester: Requester, kwargs: dict[str, object]
) -> None:
    """Every drawn requester and argument set opens a ticket without error."""
    desk = Helpdesk(clock=FakeClock(START))
    desk.open_ticket(**kwargs)  # type: ignore[arg-type]
    ticket = desk.open_ticket(subject="Hello", requester=requester)
    desk.customer_reply(ticket.id, "More details")


@given(st.data())
def test_valid_commands_never_raise_invalid_input(data: st.DataObject) -> None:
    """Commands drawn without ``invalid=True`` never fail with `InvalidInputError`."""
    workflow = data.draw(presets() | workflows())
    desk = Helpdesk(workflow, clock=FakeClock(START))
    first = desk.open_ticket(subject="A", requester=Requester(name="Ann"))
    second = desk.open_ticket(subject="B", requester=Requester(name="Bo"))
    step = data.draw(commands(workflow, merge_into=[second.id]))
    # Refusals by the workflow or the lock are fine, and so is a merge of two
    # requesters' tickets without allow_other_requester (drawn half the time); other
    # invalid input is not.
    with contextlib.suppress(TransitionError, TicketLockedError, RequesterMismatchError):
        apply_command(desk, first.id, step)


def test_apply_command_refuses_unknown_commands() -> None:
    """A `Command` naming no `Helpdesk` command is refused before anything runs."""
    desk = Helpdesk(clock=FakeClock(START))
    ticket = desk.open_ticket(subject="A", requester=Requester(name="Ann"))
    with pytest.raises(ValueError, match="unknown command"):
        apply_command(desk, ticket.id, Command("open_ticket", {}))
    with pytest.raises(ValueError, match="unknown command"):
        apply_command(desk, ticket.id, Command("__init__", {}))
    assert 1 == desk.get(ticket.id).version


def test_apply_command_spells_out_tags_delays_and_merges() -> None:
    """``tags`` go positionally, ``delay`` counts from the clock, ``into_id`` names the target."""
    clock = FakeClock(START)
    desk = Helpdesk(clock=clock)
    ticket = desk.open_ticket(subject="A", requester=Requester(name="Ann"))
    other = desk.open_ticket(subject="B", requester=Requester(name="Bo"))
    tagged = apply_command(desk, ticket.id, Command("add_tags", {"tags": ["vip", "bug"]}))
    assert frozenset({"vip", "bug"}) == tagged.tags
    step = Command("postpone", {"delay": timedelta(hours=2), "by": "bob"})
    later = apply_command(desk, ticket.id, step)
    assert START + timedelta(hours=2) == later.postponed_until
    step = Command("merge", {"into_id": other.id, "allow_other_requester": True, "by": "bob"})
    target = apply_command(desk, ticket.id, step)
    assert (other.id, other.id) == (target.id, desk.get(ticket.id).merged_into)


# --- check_ticket_invariants catches what it promises to catch ---------------------------


def _desk_with_a_ticket() -> tuple[Helpdesk, Ticket]:
    desk = Helpdesk(presets_module.liveagent(), clock=FakeClock(START))
    ticket = desk.open_ticket(subject="Printer", requester=Requester(name="Ann"))
    ticket = desk.agent_reply(ticket.id, "On my way", by="bob")
    ticket = desk.close(ticket.id, by="bob")
    return desk, ticket


def test_check_ticket_invariants_accepts_a_real_lifecycle() -> None:
    """A ticket the help desk produced passes."""
    desk, ticket = _desk_with_a_ticket()
    check_ticket_invariants(desk, ticket)


def _with_event(ticket: Ticket, index: int, **changes: object) -> Ticket:
    timeline = list(ticket.timeline)
    timeline[index] = timeline[index].replace(**changes)
    return Ticket.rebuild(timeline)


def _appended(ticket: Ticket, **changes: object) -> Ticket:
    last = ticket.timeline[-1]
    values: dict[str, object] = {
        "kind": EventKind.NOTE_ADDED,
        "at": last.at,
        "actor": last.actor,
        "status_before": ticket.status,
        "status_after": ticket.status,
        "data": {"body": "x"},
        "version": last.version + 1,
    }
    values.update(changes)
    return Ticket.rebuild((*ticket.timeline, Event(**values)))  # type: ignore[arg-type]


BROKEN = {
    "is not declared by workflow": lambda t: attrs.evolve(t, status="limbo"),
    "is not declared": lambda t: _with_event(t, 1, status_after="limbo", status_before="new"),
    "previous event ended": lambda t: _with_event(t, 2, status_before="open"),
    "which no transition": lambda t: _with_event(t, 1, status_after="resolved"),
    "is before the previous": lambda t: _with_event(t, 2, at=START - timedelta(seconds=1)),
    "version 7 after version 2": lambda t: _with_event(t, 2, version=7),
    "version 1 after version 3": lambda t: _appended(t, version=1, kind=EventKind.PURGED),
    "changed a locked ticket": _appended,
    "rebuilding from the timeline": lambda t: attrs.evolve(t, assignee="someone-else"),
    "the store holds a different snapshot": lambda t: Ticket.rebuild(t.timeline[:2]),
    "expected 'created'": lambda t: attrs.evolve(t, timeline=t.timeline[1:]),
}


@pytest.mark.parametrize("problem", sorted(BROKEN))
def test_check_ticket_invariants_names_what_is_broken(problem: str) -> None:
    """A ticket that breaks one invariant fails with a message naming it."""
    desk, ticket = _desk_with_a_ticket()
    broken = BROKEN[problem](ticket)
    with pytest.raises(AssertionError, match=problem):
        check_ticket_invariants(desk, broken)
