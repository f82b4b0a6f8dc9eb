"""Rules wired into Helpdesk: event rules in the command's commit, run_due, run_until, subscribe."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ticketflow import (
    Event,
    EventKind,
    FakeClock,
    Helpdesk,
    HelpdeskConfig,
    InvalidInputError,
    MemoryStore,
    RuleError,
    RuleLoopError,
    SystemClock,
    Ticket,
    workflows,
)
from ticketflow.rules import after, inactivity, wake_postponed, when

from .conftest import ANN, START

DAY = timedelta(days=1)


def make_desk(*rules: object, clock: FakeClock | None = None) -> Helpdesk:
    return Helpdesk(
        workflows.liveagent(),
        store=MemoryStore(),
        clock=clock or FakeClock(START),
        rules=rules,  # type: ignore[arg-type]
    )


def resolved_ticket(desk: Helpdesk) -> Ticket:
    ticket = desk.open_ticket(subject="VPN", requester=ANN)
    desk.agent_reply(ticket.id, "Try again", by="bob")
    return desk.resolve(ticket.id, by="bob")


def test_a_time_rule_fires_at_its_exact_due_time_and_not_before() -> None:
    """after(resolved, 4d): nothing at 4d - 1us; closed at exactly 4d, stamped with the due time."""
    clock = FakeClock(START)
    desk = make_desk(after(status="resolved", delay=4 * DAY, then="close"), clock=clock)
    ticket = resolved_ticket(desk)
    due = ticket.resolved_at + 4 * DAY  # type: ignore[operator]
    assert 0 == desk.run_due(due - timedelta(microseconds=1))
    assert "resolved" == desk.get(ticket.id).status
    clock.set(due + timedelta(hours=3))
    assert 1 == desk.run_due()
    closed = desk.get(ticket.id)
    last = closed.timeline[-1]
    assert ("closed", EventKind.CLOSED, due) == (closed.status, last.kind, last.at)
    assert (due.isoformat(), clock.now().isoformat()) == (
        last.data["due"],
        last.data["processed_at"],
    )
    assert ticket.version + 1 == closed.version


def test_run_due_twice_at_the_same_time_changes_nothing_the_second_time() -> None:
    """A rule fires at most once per episode: a second sweep finds nothing to do."""
    desk = make_desk(after(status="resolved", delay=DAY, then="close"))
    ticket = resolved_ticket(desk)
    later = START + 2 * DAY
    assert 1 == desk.run_due(later)
    before = desk.get(ticket.id)
    assert 0 == desk.run_due(later)
    assert before == desk.get(ticket.id)


def test_the_result_is_the_same_however_the_time_is_chunked() -> None:
    """One sweep at the end or one per hour gives the same tickets (processed_at aside)."""
    rules = (
        inactivity(status="answered", after=2 * DAY, then="remind"),
        inactivity(status="answered", after=5 * DAY, then="close"),
    )

    def run(step: timedelta) -> list[tuple[object, ...]]:
        desk = make_desk(*rules)
        ids = []
        for n in range(3):
            ticket = desk.open_ticket(subject=f"t{n}", requester=ANN)
            ids.append(desk.agent_reply(ticket.id, "answer", by="bob").id)
        at = START
        while at < START + 8 * DAY:
            at = min(at + step, START + 8 * DAY)
            desk.run_due(at)
        return [
            (e.kind, e.at, e.status_after, e.data.get("rule"), e.data.get("due"))
            for i in ids
            for e in desk.timeline(i)
        ]

    assert run(8 * DAY) == run(timedelta(hours=1))


def test_run_until_moves_the_clock_through_every_due_time() -> None:
    """A week-long scenario runs in one call: remind at 2d, close at 5d, clock ends at 'until'."""
    clock = FakeClock(START)
    desk = make_desk(
        inactivity(status="answered", after=2 * DAY, then="remind"),
        inactivity(status="answered", after=5 * DAY, then="close"),
        clock=clock,
    )
    ticket = desk.open_ticket(subject="x", requester=ANN)
    desk.agent_reply(ticket.id, "answer", by="bob")
    assert 2 == desk.run_until(START + 7 * DAY)
    events = desk.timeline(ticket.id)
    assert [(EventKind.NOTIFIED, START + 2 * DAY), (EventKind.CLOSED, START + 5 * DAY)] == [
        (e.kind, e.at) for e in events[-2:]
    ]
    assert START + 7 * DAY == clock.now()


def test_run_until_needs_a_fake_clock() -> None:
    """Time-skipping is for simulations: a real clock is refused."""
    desk = Helpdesk(clock=SystemClock())
    with pytest.raises(InvalidInputError) as info:
        desk.run_until(START)
    assert "clock" == info.value.field


def test_wake_postponed_wakes_the_ticket_at_postponed_until() -> None:
    """The postponed ticket is due exactly at postponed_until and goes back to New."""
    clock = FakeClock(START)
    desk = make_desk(wake_postponed(), clock=clock)
    ticket = desk.open_ticket(subject="x", requester=ANN)
    until = START + 3 * DAY
    desk.postpone(ticket.id, until, by="bob")
    assert until == desk.next_due(ticket.id).at  # type: ignore[union-attr]
    assert until == desk.store.next_due_at()
    desk.run_until(START + 4 * DAY)
    woken = desk.get(ticket.id)
    assert ("new", until, None) == (woken.status, woken.updated_at, woken.postponed_until)


def test_a_new_command_moves_the_due_time() -> None:
    """A customer message restarts an inactivity rule: the due time moves with it."""
    clock = FakeClock(START)
    desk = make_desk(inactivity(status="answered", after=2 * DAY, then="close"), clock=clock)
    ticket = desk.open_ticket(subject="x", requester=ANN)
    desk.agent_reply(ticket.id, "a", by="bob")
    assert START + 2 * DAY == desk.store.next_due_at()
    clock.advance(DAY)
    desk.customer_reply(ticket.id, "still broken")
    desk.agent_reply(ticket.id, "b", by="bob")
    assert START + 3 * DAY == desk.store.next_due_at()
    assert 0 == desk.run_due(START + 2 * DAY)


def test_event_rules_run_inside_the_commands_commit() -> None:
    """An urgent VIP ticket is routed and notified in the same save as the command."""
    rule = when(
        {
            "all": [
                {"field": "priority", "op": "is", "value": "urgent"},
                {"field": "tags", "op": "contains", "value": "vip"},
            ]
        },
        actions=[{"assign_department": "vip-desk"}, {"notify": "vip"}],
        name="vip",
    )
    desk = make_desk(rule)
    ticket = desk.open_ticket(subject="x", requester=ANN, tags=["vip"])
    routed = desk.set_priority(ticket.id, "urgent", by="bob")
    assert ("vip-desk", ticket.version + 1) == (routed.department, routed.version)
    kinds = [(e.kind, e.data.get("rule"), e.version) for e in routed.timeline[-3:]]
    assert [
        (EventKind.PRIORITY_CHANGED, None, 2),
        (EventKind.ASSIGNED, "vip", 2),
        (EventKind.NOTIFIED, "vip", 2),
    ] == kinds


def test_a_rule_loop_fails_the_command_and_stores_nothing() -> None:
    """Two rules undoing each other raise RuleLoopError naming both; the store is unchanged."""
    add = when(
        {"field": "tags", "op": "not_contains", "value": "x"},
        actions=[{"add_tags": ["x"]}],
        on=["tags_removed"],
        name="add-x",
    )
    remove = when(
        {"field": "tags", "op": "contains", "value": "x"},
        actions=[{"remove_tags": ["x"]}],
        on=["tags_added"],
        name="remove-x",
    )
    desk = make_desk(add, remove)
    ticket = desk.open_ticket(subject="x", requester=ANN)
    with pytest.raises(RuleLoopError) as info:
        desk.add_tags(ticket.id, "x", by="bob")
    assert "add-x" in str(info.value)
    assert "remove-x" in str(info.value)
    assert ticket == desk.get(ticket.id)


def test_subscribers_receive_committed_events_of_their_kinds() -> None:
    """subscribe(kinds=...) delivers matching events after the commit; unsubscribe stops it."""
    desk = make_desk()
    seen: list[tuple[str, EventKind]] = []
    everything: list[Event] = []

    def on_resolved(ticket: Ticket, event: Event) -> None:
        seen.append((ticket.status, event.kind))

    stop = desk.subscribe(on_resolved, kinds=["resolved"])
    desk.subscribe(lambda _t, e: everything.append(e))
    ticket = resolved_ticket(desk)
    assert [("resolved", EventKind.RESOLVED)] == seen
    assert [e.kind for e in ticket.timeline] == [e.kind for e in everything]
    stop()
    desk.reopen(ticket.id, by="bob")
    desk.resolve(ticket.id, by="bob")
    assert 1 == len(seen)


def test_a_failing_subscriber_does_not_undo_or_fail_the_command(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The change is committed and the error is logged, not raised."""
    desk = make_desk()

    def broken(_ticket: Ticket, _event: Event) -> None:
        raise RuntimeError("boom")

    desk.subscribe(broken)
    ticket = desk.open_ticket(subject="x", requester=ANN)
    assert ticket == desk.get(ticket.id)
    assert "subscriber" in caplog.text


def test_the_default_rules_come_from_the_workflow() -> None:
    """Helpdesk(rules=None) runs the preset's rules: LiveAgent wakes postponed tickets."""
    clock = FakeClock(START)
    desk = Helpdesk(store=MemoryStore(), clock=clock)
    ticket = desk.open_ticket(subject="x", requester=ANN)
    desk.agent_reply(ticket.id, "a", by="bob")
    desk.postpone(ticket.id, START + DAY, by="bob")
    assert 1 == desk.run_until(START + 2 * DAY)
    assert ("open", START + DAY) == (desk.get(ticket.id).status, desk.get(ticket.id).updated_at)


def test_zendesk_closes_a_solved_ticket_after_four_days() -> None:
    """Zendesk's default automation, as a preset rule: solved + 4 days -> closed."""
    clock = FakeClock(START)
    desk = Helpdesk(workflows.zendesk(), store=MemoryStore(), clock=clock)
    ticket = desk.open_ticket(subject="x", requester=ANN, assignee="bob")
    solved = desk.resolve(ticket.id, by="bob")
    desk.run_until(START + 4 * DAY - timedelta(seconds=1))
    assert "solved" == desk.get(ticket.id).status
    desk.run_until(START + 5 * DAY)
    closed = desk.get(ticket.id)
    assert ("closed", solved.updated_at + 4 * DAY) == (closed.status, closed.closed_at)
    assert "close_solved_after_4d" == closed.timeline[-1].data["rule"]


def test_rules_save_and_load_with_the_config() -> None:
    """A configuration's rules round-trip through TOML and JSON; bad rule data fails at load."""
    config = HelpdeskConfig.preset("zendesk")
    assert 3 == len(config.rules)
    assert config == HelpdeskConfig.from_toml(config.to_toml())
    assert config == HelpdeskConfig.from_json(config.to_json())
    data = config.to_dict()
    data["rules"][1]["conditions"]["all"][0]["field"] = "colour"
    with pytest.raises(RuleError) as info:
        HelpdeskConfig.from_dict(data)
    assert str(info.value).startswith("rules[1]: ")
    assert "close_solved_after_4d" in str(info.value)
    assert "colour" in str(info.value)


def test_a_preset_workflow_still_carries_its_rules_for_helpdesk_workflow() -> None:
    """workflows.zendesk() keeps its rules as data; Helpdesk(workflow) runs them (compatibility)."""
    workflow = workflows.zendesk()
    assert [r.name for r in HelpdeskConfig.preset("zendesk").rules] == [
        r["name"] for r in workflow.rules
    ]
    desk = Helpdesk(workflow, clock=FakeClock(START))
    assert HelpdeskConfig.preset("zendesk") == desk.config
    assert () == desk.workflow.rules  # the configuration's workflow is the graph alone


def test_an_empty_rule_list_turns_the_default_rules_off() -> None:
    """rules=[] means no rules at all: nothing is ever due."""
    desk = Helpdesk(store=MemoryStore(), clock=FakeClock(START), rules=[])
    ticket = desk.open_ticket(subject="x", requester=ANN)
    desk.postpone(ticket.id, START + DAY, by="bob")
    assert (None, 0) == (desk.store.next_due_at(), desk.run_due(START + 2 * DAY))


def test_simulate_reports_what_other_rules_would_have_done_and_changes_nothing() -> None:
    """An admin tries 'close resolved tickets after 2 days' on last week's history."""
    clock = FakeClock(START)
    desk = Helpdesk(store=MemoryStore(), clock=clock)
    quiet = desk.open_ticket(subject="quiet", requester=ANN)
    desk.resolve(quiet.id, by="bob")
    clock.advance(hours=1)
    busy = desk.open_ticket(subject="busy", requester=ANN)
    desk.resolve(busy.id, by="bob")
    clock.advance(DAY)
    desk.customer_reply(busy.id, "not fixed")  # reopens before 2 days pass
    clock.advance(6 * DAY)
    before = {t.id: t for t in desk.find()}

    report = desk.simulate(
        [after(status="resolved", delay=2 * DAY, then="close", name="close-2d")],
        since=START,
        until=clock.now(),
    )
    assert [(quiet.id, "close-2d", EventKind.CLOSED, START + 2 * DAY)] == [
        (a.ticket_id, a.rule, a.kind, a.at) for a in report.actions
    ]
    assert () == report.refused
    assert before == {t.id: t for t in desk.find()}


def test_simulate_reports_recorded_commands_the_new_rules_make_impossible() -> None:
    """A ticket the new rule closes early cannot be reopened later: the refusal is reported."""
    clock = FakeClock(START)
    desk = Helpdesk(store=MemoryStore(), clock=clock)
    ticket = desk.open_ticket(subject="x", requester=ANN)
    desk.resolve(ticket.id, by="bob")
    clock.advance(3 * DAY)
    desk.reopen(ticket.id, by="bob")
    report = desk.simulate(
        [after(status="resolved", delay=DAY, then="close", name="close-1d")],
        since=START,
        until=clock.now(),
    )
    assert [("close-1d", START + DAY)] == [(a.rule, a.at) for a in report.actions]
    assert [(ticket.id, EventKind.REOPENED, START + 3 * DAY)] == [
        (r.ticket_id, r.kind, r.at) for r in report.refused
    ]
    assert "locked" in report.refused[0].error


def test_merging_into_a_postponed_ticket_keeps_its_wake_up() -> None:
    """The merge target's due time survives the merge: it still wakes at postponed_until."""
    clock = FakeClock(START)
    desk = Helpdesk(store=MemoryStore(), clock=clock)
    target = desk.open_ticket(subject="a", requester=ANN)
    source = desk.open_ticket(subject="b", requester=ANN)
    desk.postpone(target.id, START + DAY, by="bob")
    desk.merge(source.id, target.id, by="bob")
    assert START + DAY == desk.store.next_due_at()
    assert 1 == desk.run_until(START + 2 * DAY)
    assert "new" == desk.get(target.id).status
