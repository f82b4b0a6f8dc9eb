"""SLAs on the help desk: warning, breach and escalation events from the scheduler,
SLA state through the Helpdesk API, policies in the workflow config, and the work queue.

LiveAgent preset: an agent reply moves a ticket to ``answered`` (category
``pending``), a customer reply back to ``open``, ``postpone`` to ``postponed``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import pytest

from ticketflow import (
    BusinessCalendar,
    EventKind,
    FakeClock,
    Helpdesk,
    HelpdeskConfig,
    InvalidInputError,
    MemoryStore,
    Priority,
    Requester,
    RuleError,
    SQLiteStore,
    Ticket,
    Workflow,
    workflows,
)
from ticketflow.rules import Rule
from ticketflow.sla import Escalation, Metric, SlaPolicy, SlaStatus
from ticketflow.stores import IndexUpdate

MONDAY_9 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
H = timedelta(hours=1)
US = timedelta(microseconds=1)


def policy(**kwargs: Any) -> SlaPolicy:
    kwargs.setdefault("targets", {"normal": {"first_reply": "4h"}})
    return SlaPolicy(kwargs.pop("name", "std"), **kwargs)


def make_desk(*policies: SlaPolicy, **kwargs: Any) -> tuple[Helpdesk, FakeClock]:
    clock = FakeClock(MONDAY_9)
    return Helpdesk(clock=clock, sla=policies or [policy()], **kwargs), clock


def open_ticket(desk: Helpdesk, **kwargs: Any) -> Ticket:
    return desk.open_ticket(subject="Down", requester=Requester(name="Ann"), **kwargs)


def sla_events(desk: Helpdesk, ticket_id: str) -> list[tuple[EventKind, datetime, Any]]:
    return [
        (e.kind, e.at, e.data.get("level"))
        for e in desk.timeline(ticket_id)
        if e.data.get("rule") == "sla" and e.kind is not EventKind.NOTIFIED
    ]


# --- warning and breach at exact instants -------------------------------------------


def test_warning_and_breach_fire_at_their_exact_instants_and_not_before() -> None:
    """4h target, warn 30m before: nothing at 3:30 - 1us, a warning at 3:30, a breach at 4:00."""
    desk, _clock = make_desk(policy(warn_before="30m"))
    ticket = open_ticket(desk)
    warn, due = MONDAY_9 + 3.5 * H, MONDAY_9 + 4 * H
    assert 0 == desk.run_due(warn - US)
    assert [] == sla_events(desk, ticket.id)
    assert 1 == desk.run_due(warn)
    assert [(EventKind.SLA_WARNING, warn, None)] == sla_events(desk, ticket.id)
    assert 0 == desk.run_due(due - US)
    assert 1 == desk.run_due(due)
    assert [
        (EventKind.SLA_WARNING, warn, None),
        (EventKind.SLA_BREACHED, due, None),
    ] == sla_events(desk, ticket.id)
    breach = desk.timeline(ticket.id)[-1]
    assert {
        "rule": "sla",
        "sla": "std",
        "metric": "first_reply",
        "cycle": MONDAY_9.isoformat(),
        "due": due.isoformat(),
        "processed_at": due.isoformat(),
    } == dict(breach.data)
    assert None is desk.next_due(ticket.id)
    assert 0 == desk.run_due(due + 10 * H)  # each stage fires once


def test_a_late_worker_stamps_the_instant_and_skips_a_warning_whose_breach_is_due() -> None:
    """A sweep long after the breach records the breach at the due time, with processed_at."""
    desk, _clock = make_desk(policy(warn_before="30m"))
    ticket = open_ticket(desk)
    late = MONDAY_9 + 30 * H
    assert 1 == desk.run_due(late)
    (breach,) = [e for e in desk.timeline(ticket.id) if e.data.get("rule") == "sla"]
    assert (EventKind.SLA_BREACHED, MONDAY_9 + 4 * H, late.isoformat()) == (
        breach.kind,
        breach.at,
        breach.data["processed_at"],
    )


def test_the_reply_before_the_breach_cancels_it() -> None:
    """An agent reply at 3h completes first_reply: no breach event ever, state says met."""
    desk, clock = make_desk(policy())
    ticket = open_ticket(desk)
    clock.advance(3 * H)
    desk.agent_reply(ticket.id, "On it", by="bob")
    assert 0 == desk.run_until(MONDAY_9 + 48 * H)
    assert [] == sla_events(desk, ticket.id)
    assert SlaStatus.MET == desk.sla_state(ticket.id).metrics[Metric.FIRST_REPLY].status


def test_a_paused_clock_moves_the_breach_by_the_paused_time() -> None:
    """Resolution 4h; 1h running, 5h waiting on the customer, then running: breach at 9h."""
    desk, clock = make_desk(policy(targets={"normal": {"resolution": "4h"}}))
    ticket = open_ticket(desk)
    clock.advance(H)
    desk.agent_reply(ticket.id, "Which version?", by="bob")  # answered: pending, paused
    assert None is desk.next_due(ticket.id)
    assert 0 == desk.run_until(MONDAY_9 + 6 * H)
    desk.customer_reply(ticket.id, "3.2")  # open again at 6h: 3h left
    assert MONDAY_9 + 9 * H == desk.next_due(ticket.id).at  # type: ignore[union-attr]
    assert 1 == desk.run_until(MONDAY_9 + 20 * H)
    assert [(EventKind.SLA_BREACHED, MONDAY_9 + 9 * H, None)] == sla_events(desk, ticket.id)


def test_business_hours_put_the_breach_in_office_hours() -> None:
    """Weekdays 9-17 UTC, 4h first reply, ticket on Friday 15:00 -> breach Monday 11:00."""
    office = BusinessCalendar.weekdays_9_to_5("UTC")
    desk, clock = make_desk(policy(calendar=office))
    clock.set(datetime(2026, 3, 6, 15, 0, tzinfo=UTC))
    ticket = open_ticket(desk)
    monday_11 = datetime(2026, 3, 9, 11, 0, tzinfo=UTC)
    assert monday_11 == desk.next_due(ticket.id).at  # type: ignore[union-attr]
    assert 1 == desk.run_until(monday_11 + 24 * H)
    assert [(EventKind.SLA_BREACHED, monday_11, None)] == sla_events(desk, ticket.id)


def test_next_reply_cycles_each_get_their_own_breach() -> None:
    """next_reply 1h: two late customer follow-ups -> two breaches, one per cycle."""
    desk, clock = make_desk(policy(targets={"normal": {"next_reply": "1h"}}))
    ticket = open_ticket(desk)
    desk.agent_reply(ticket.id, "Hello", by="bob")
    for _ in range(2):
        clock.advance(H)
        desk.customer_reply(ticket.id, "Still broken")
        desk.run_until(clock.now() + 3 * H)
        desk.agent_reply(ticket.id, "Looking", by="bob")
    breaches = [e for e in desk.timeline(ticket.id) if e.kind is EventKind.SLA_BREACHED]
    assert 2 == len(breaches)
    assert 2 == len({e.data["cycle"] for e in breaches})


# --- escalation levels --------------------------------------------------------------


def escalating_policy() -> SlaPolicy:
    return policy(
        targets={"normal": {"first_reply": "4h"}, "high": {"first_reply": "4h"}},
        escalations=[
            {"level": 1, "notify": "team-lead"},
            {"level": 2, "after": "2h", "assign": "lead", "department": "tier2"},
            {"level": 3, "after": "4h", "priority": "raise"},
        ],
    )


def test_escalation_levels_notify_reassign_and_raise_priority_at_their_times() -> None:
    desk, _clock = make_desk(escalating_policy())
    ticket = open_ticket(desk, assignee="bob")
    due = MONDAY_9 + 4 * H
    # Three commits: the breach with level 1 (same instant), level 2, level 3.
    assert 3 == desk.run_until(MONDAY_9 + 12 * H)
    events = [e for e in desk.timeline(ticket.id) if e.data.get("rule") == "sla"]
    assert [
        (EventKind.SLA_BREACHED, due, None),
        (EventKind.ESCALATED, due, 1),
        (EventKind.NOTIFIED, due, None),
        (EventKind.ESCALATED, due + 2 * H, 2),
        (EventKind.ASSIGNED, due + 2 * H, None),
        (EventKind.ASSIGNED, due + 2 * H, None),
        (EventKind.ESCALATED, due + 4 * H, 3),
        (EventKind.PRIORITY_CHANGED, due + 4 * H, None),
    ] == [(e.kind, e.at, e.data.get("level")) for e in events]
    final = desk.get(ticket.id)
    assert ("lead", "tier2", Priority.HIGH) == (final.assignee, final.department, final.priority)
    assert "team-lead" == events[2].data["topic"]


def test_escalation_after_counts_business_time() -> None:
    """Level 2 two business hours after a breach at Friday 16:00 fires Monday 10:00."""
    office = BusinessCalendar.weekdays_9_to_5("UTC")
    desk, clock = make_desk(
        policy(calendar=office, escalations=[Escalation(level=2, after="2h", notify="boss")])
    )
    clock.set(datetime(2026, 3, 6, 12, 0, tzinfo=UTC))  # Friday 12:00 -> breach 16:00
    ticket = open_ticket(desk)
    desk.run_until(datetime(2026, 3, 10, tzinfo=UTC))
    escalated = [e.at for e in desk.timeline(ticket.id) if e.kind is EventKind.ESCALATED]
    assert [datetime(2026, 3, 9, 10, 0, tzinfo=UTC)] == escalated


def test_escalations_wait_while_the_clock_is_paused_and_stop_once_completed() -> None:
    """Breached, then the agent replies: the reply completes first_reply, no level fires."""
    desk, _clock = make_desk(escalating_policy())
    ticket = open_ticket(desk)
    desk.run_until(MONDAY_9 + 5 * H)  # breach and level 1
    desk.agent_reply(ticket.id, "Sorry for the wait", by="bob")
    desk.run_until(MONDAY_9 + 48 * H)
    assert [1] == [
        e.data["level"] for e in desk.timeline(ticket.id) if e.kind is EventKind.ESCALATED
    ]


def test_escalation_levels_can_cover_some_metrics_only() -> None:
    levels = [Escalation(level=1, metrics=["resolution"], notify="x")]
    desk, _clock = make_desk(policy(escalations=levels))
    ticket = open_ticket(desk)
    desk.run_until(MONDAY_9 + 48 * H)
    kinds = [e.kind for e in desk.timeline(ticket.id)]
    assert EventKind.SLA_BREACHED in kinds
    assert EventKind.ESCALATED not in kinds


def test_a_level_twice_for_one_metric_is_refused_naming_the_policy() -> None:
    with pytest.raises(RuleError, match=r"SLA policy 'std', field 'escalations\[1\]'.*level 1"):
        policy(escalations=[{"level": 1}, {"level": 1, "metrics": ["first_reply"]}])


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"level": 0}, "field 'level'"),
        ({"level": 1, "after": "-1h"}, "field 'after'"),
        ({"level": 1, "metrics": ["speed"]}, "unknown metric"),
        ({"level": 1, "priority": "huge"}, "set_priority"),
        ({"level": 1, "page": "bob"}, "unknown key"),
        ({"notify": "x"}, "'level' is missing"),
    ],
)
def test_bad_escalation_data_names_the_field(data: dict[str, Any], message: str) -> None:
    with pytest.raises(RuleError, match=message):
        Escalation.from_dict(data)


def test_event_rules_react_to_sla_events() -> None:
    """An event rule on sla_breached runs in the same commit as the breach."""
    tag_breached = Rule(
        name="tag", on=frozenset({EventKind.SLA_BREACHED}), actions=[{"add_tags": ["late"]}]
    )
    desk, _clock = make_desk(policy(), rules=[tag_breached])
    ticket = open_ticket(desk)
    desk.run_until(MONDAY_9 + 5 * H)
    stored = desk.get(ticket.id)
    assert "late" in stored.tags
    breach_version = next(e.version for e in stored.timeline if e.kind is EventKind.SLA_BREACHED)
    assert breach_version == stored.timeline[-1].version


def test_the_rule_name_sla_is_reserved() -> None:
    with pytest.raises(RuleError, match="reserved"):
        Rule(name="sla", on=frozenset({EventKind.CREATED}), actions=[{"note": "x"}])


def test_time_rules_and_sla_stages_fire_in_time_order() -> None:
    """A reminder time rule at 2h and a breach at 4h: the rule first, then the breach."""
    reminder = Rule.from_dict(
        {
            "name": "remind",
            "at": {"anchor": "created", "delay": "2h"},
            "actions": [{"note": "ping"}],
        }
    )
    desk, _clock = make_desk(policy(), rules=[reminder])
    ticket = open_ticket(desk)
    assert "remind" == desk.next_due(ticket.id).rule  # type: ignore[union-attr]
    desk.run_until(MONDAY_9 + 5 * H)
    timeline = desk.timeline(ticket.id)
    assert [
        (EventKind.NOTE_ADDED, MONDAY_9 + 2 * H),
        (EventKind.SLA_BREACHED, MONDAY_9 + 4 * H),
    ] == [(e.kind, e.at) for e in timeline[1:]]


# --- delivery: subscribers and the outbox -------------------------------------------


def test_sla_events_reach_subscribers_and_the_outbox(tmp_path: Any) -> None:
    """On SQLite, sla_warning/sla_breached/escalated enter the outbox and dispatch delivers them."""
    store = SQLiteStore(tmp_path / "sla.db")
    clock = FakeClock(MONDAY_9)
    writer = Helpdesk(store=store, clock=clock, sla=[escalating_policy()])
    ticket = open_ticket(writer)
    writer.run_until(MONDAY_9 + 5 * H)
    assert 3 == store.outbox_pending()  # the breach, level 1 and its notification
    delivered: list[tuple[str, EventKind]] = []
    reader = Helpdesk(store=store, clock=clock, sla=[escalating_policy()])
    reader.subscribe(lambda t, e: delivered.append((t.id, e.kind)))
    assert 3 == reader.dispatch()
    assert [
        (ticket.id, EventKind.SLA_BREACHED),
        (ticket.id, EventKind.ESCALATED),
        (ticket.id, EventKind.NOTIFIED),
    ] == delivered
    assert 0 == store.outbox_pending()
    store.close()


def test_in_process_subscribers_see_each_sla_event_once() -> None:
    desk, _clock = make_desk(policy(warn_before="1h"))
    seen: list[tuple[EventKind, datetime]] = []
    desk.subscribe(lambda t, e: seen.append((e.kind, e.at)), kinds=["sla_warning", "sla_breached"])
    open_ticket(desk)
    desk.run_until(MONDAY_9 + 10 * H)
    desk.run_due(MONDAY_9 + 20 * H)
    assert [
        (EventKind.SLA_WARNING, MONDAY_9 + 3 * H),
        (EventKind.SLA_BREACHED, MONDAY_9 + 4 * H),
    ] == seen


# --- the Helpdesk API and the workflow config ---------------------------------------


def test_sla_state_through_the_help_desk() -> None:
    desk, clock = make_desk(policy(warn_before="1h"))
    ticket = open_ticket(desk)
    clock.advance(5 * H)
    state = desk.sla_state(ticket.id)
    reply = state.metrics[Metric.FIRST_REPLY]
    assert ("std", SlaStatus.BREACHED, -H, MONDAY_9 + 4 * H, MONDAY_9 + 3 * H) == (
        state.policy,
        reply.status,
        reply.time_left,
        reply.due_at,
        reply.warn_at,
    )
    earlier = desk.sla_state(ticket.id, MONDAY_9 + H)
    assert (SlaStatus.RUNNING, 3 * H) == (
        earlier.metrics[Metric.FIRST_REPLY].status,
        earlier.metrics[Metric.FIRST_REPLY].time_left,
    )


def test_sla_state_without_policies_is_a_clear_error() -> None:
    desk = Helpdesk(clock=FakeClock(MONDAY_9))
    ticket = open_ticket(desk)
    assert None is desk.sla
    with pytest.raises(InvalidInputError, match="no SLA policies"):
        desk.sla_state(ticket.id)


def test_sla_policies_travel_with_the_config() -> None:
    config = HelpdeskConfig.from_workflow(workflows.liveagent(), sla=[escalating_policy()])
    again = HelpdeskConfig.from_json(config.to_json())
    assert again == config
    desk = Helpdesk(config=config, clock=FakeClock(MONDAY_9))
    assert ["std"] == [p.name for p in desk.sla.policies]  # type: ignore[union-attr]
    ticket = open_ticket(desk)
    assert "sla:first_reply:breach" == desk.next_due(ticket.id).rule  # type: ignore[union-attr]
    assert None is Helpdesk(config=attrs.evolve(config, sla=())).sla


def test_sla_policies_of_a_legacy_workflow_file_still_count() -> None:
    """A workflow file written before HelpdeskConfig, with [[sla]]: Helpdesk(workflow) runs it."""
    data = workflows.liveagent().to_dict()
    data["sla"] = [escalating_policy().to_dict()]
    workflow = Workflow.from_dict(data)
    desk = Helpdesk(workflow, clock=FakeClock(MONDAY_9))
    assert ["std"] == [p.name for p in desk.sla.policies]  # type: ignore[union-attr]
    assert None is Helpdesk(workflow, sla=()).sla


def test_sla_policies_load_from_toml_with_the_config() -> None:
    text = HelpdeskConfig.preset("liveagent").to_toml() + (
        '\n[calendars.office]\ntimezone = "UTC"\n'
        '[calendars.office.hours]\nmon = [["00:00", "24:00"]]\n'
        '\n[[sla]]\nname = "std"\nwarn_before = "15m"\ncalendar = "office"\n'
        '[sla.targets.normal]\nfirst_reply = "2h"\n'
        '[[sla.escalations]]\nlevel = 1\nafter = "1h"\nassign = "lead"\n'
    )
    config = HelpdeskConfig.from_toml(text)
    assert config.calendars["office"] == config.sla.policies[0].calendar
    assert 'calendar = "office"' in config.to_toml()
    desk = Helpdesk(config=config, clock=FakeClock(MONDAY_9))
    ticket = open_ticket(desk)
    desk.run_until(MONDAY_9 + 4 * H)
    assert "lead" == desk.get(ticket.id).assignee
    assert [EventKind.SLA_WARNING, EventKind.SLA_BREACHED, EventKind.ESCALATED] == [
        kind for kind, _, _ in sla_events(desk, ticket.id) if kind is not EventKind.ASSIGNED
    ]


def test_bad_sla_data_in_a_config_names_the_path_the_policy_and_field() -> None:
    data = HelpdeskConfig.preset("liveagent").to_dict()
    data["sla"] = [{"name": "std", "targets": {"normal": {"first_reply": "soon"}}}]
    with pytest.raises(RuleError, match=r"^sla\[0\]: SLA policy 'std'.*targets.normal.first_reply"):
        HelpdeskConfig.from_dict(data)


def test_reschedule_applies_new_policies_to_stored_tickets() -> None:
    """Tickets stored under a 4h policy; a desk with a 1h policy reschedules and breaches at 1h."""
    store = MemoryStore()
    clock = FakeClock(MONDAY_9)
    old = Helpdesk(store=store, clock=clock, sla=[policy()])
    ids = [open_ticket(old).id for _ in range(3)]
    new = Helpdesk(
        store=store, clock=clock, sla=[policy(targets={"normal": {"first_reply": "1h"}})]
    )
    assert MONDAY_9 + 4 * H == store.next_due_at()
    assert 3 == new.reschedule(batch=2)
    assert MONDAY_9 + H == store.next_due_at()
    assert [1, 1, 1] == [store.get(i).version for i in ids]  # no event, no new version
    assert 3 == new.run_until(MONDAY_9 + 2 * H)
    assert all([(EventKind.SLA_BREACHED, MONDAY_9 + H, None)] == sla_events(new, i) for i in ids)


# --- the work queue -----------------------------------------------------------------


def test_the_queue_orders_by_sla_due_then_wait_then_priority() -> None:
    """urgent 1h, normal 4h; a ticket without a target goes last; ties broken by wait, priority."""
    desk, clock = make_desk(
        policy(targets={"urgent": {"first_reply": "1h"}, "normal": {"first_reply": "4h"}})
    )
    normal_early = open_ticket(desk)  # due 13:00
    clock.advance(H)
    no_sla = open_ticket(desk, priority="high")  # no target: last
    urgent = open_ticket(desk, priority="urgent")  # due 11:00
    clock.advance(H)
    low = open_ticket(desk, priority="low")  # no target, waiting less than no_sla
    assert [urgent.id, normal_early.id, no_sla.id, low.id] == [t.id for t in desk.queue()]
    assert [urgent.id, normal_early.id] == [t.id for t in desk.queue(limit=2)]


def test_tickets_without_sla_tie_break_on_priority_when_they_waited_as_long() -> None:
    desk = Helpdesk(clock=FakeClock(MONDAY_9))
    low, high, normal = (open_ticket(desk, priority=p) for p in ("low", "high", "normal"))
    assert [high.id, normal.id, low.id] == [t.id for t in desk.queue()]


def test_the_queue_holds_only_tickets_waiting_on_an_agent() -> None:
    desk, clock = make_desk()
    answered, open_again, postponed, fresh = (open_ticket(desk) for _ in range(4))
    desk.agent_reply(answered.id, "Done?", by="bob")
    desk.agent_reply(open_again.id, "Done?", by="bob")
    clock.advance(H)
    desk.customer_reply(open_again.id, "No")
    desk.postpone(postponed.id, MONDAY_9 + 48 * H, by="bob")
    queued = [t.id for t in desk.queue()]
    assert sorted([open_again.id, fresh.id]) == sorted(queued)
    desk.resolve(fresh.id, by="bob")
    assert [open_again.id] == [t.id for t in desk.queue()]


def test_a_customer_reply_sets_the_wait_from_its_time() -> None:
    """Without SLA: the ticket whose customer wrote first leads, whatever the creation order."""
    desk = Helpdesk(clock=FakeClock(MONDAY_9))
    first, second = open_ticket(desk), open_ticket(desk)
    for ticket in (first, second):
        desk.agent_reply(ticket.id, "?", by="bob")
    desk.clock.advance(H)  # type: ignore[attr-defined]
    desk.customer_reply(second.id, "answer")
    desk.clock.advance(H)  # type: ignore[attr-defined]
    desk.customer_reply(first.id, "answer")
    desk.clock.advance(H)  # type: ignore[attr-defined]
    desk.customer_reply(second.id, "and more")  # still waiting since its first reply
    assert [second.id, first.id] == [t.id for t in desk.queue()]


def test_the_queue_filters_by_agent_and_department_as_they_change() -> None:
    desk, _clock = make_desk()
    a = open_ticket(desk, assignee="bob", department="billing")
    b = open_ticket(desk, assignee="eve", department="billing")
    c = open_ticket(desk, assignee="bob", department="tech")
    assert [a.id, c.id] == [t.id for t in desk.queue(agent="bob")]
    assert [a.id, b.id] == [t.id for t in desk.queue(department="billing")]
    assert [a.id] == [t.id for t in desk.queue(agent="bob", department="billing")]
    desk.assign(a.id, "eve", by="lead")
    assert [c.id] == [t.id for t in desk.queue(agent="bob")]
    assert [a.id, b.id] == [t.id for t in desk.queue(agent="eve")]


def test_a_breached_ticket_comes_before_one_still_running() -> None:
    desk, clock = make_desk()
    early = open_ticket(desk)
    clock.advance(3 * H)
    late = open_ticket(desk, priority="urgent")
    clock.advance(5 * H)  # early breached at 13:00; late due at 16:00
    desk.run_due()
    assert [early.id, late.id] == [t.id for t in desk.queue()]


@pytest.mark.parametrize("limit", [0, -1, 10_001, True, 2.5])
def test_a_bad_queue_limit_is_refused(limit: object) -> None:
    desk, _ = make_desk()
    with pytest.raises(InvalidInputError, match="limit"):
        desk.queue(limit=limit)  # type: ignore[arg-type]


def test_the_queue_is_the_same_on_sqlite(tmp_path: Any) -> None:
    """The same commands on MemoryStore and SQLite give the same queue, filters included."""
    results = []
    for store in (MemoryStore(), SQLiteStore(tmp_path / "q.db")):
        clock = FakeClock(MONDAY_9)
        desk = Helpdesk(
            store=store,
            clock=clock,
            sla=[
                policy(targets={"urgent": {"first_reply": "1h"}, "normal": {"first_reply": "4h"}})
            ],
        )
        ids = []
        for i, prio in enumerate(["normal", "urgent", "low", "normal", "high"]):
            clock.advance(timedelta(minutes=7))
            ids.append(open_ticket(desk, priority=prio, assignee=["bob", "eve"][i % 2]).id)
        desk.agent_reply(ids[0], "x", by="bob")
        clock.advance(H)
        desk.customer_reply(ids[0], "y")
        positions = {t: i for i, t in enumerate(ids)}
        results.append(
            [[positions[t.id] for t in desk.queue(agent=a)] for a in (None, "bob", "eve")]
        )
        store.close()
    assert results[0] == results[1]
    # 0 replied to, so no running SLA clock: it joins 2 and 4, waiting since 10:35.
    assert [1, 3, 2, 4, 0] == results[0][0]


def test_run_due_with_a_zero_lease_stops_on_a_stale_due_time() -> None:
    """A stored due time with nothing behind it, lease 0: the sweep returns, firing nothing.

    With a zero lease the claim ends at once and the store hands the ticket back;
    the sweep must remember it skipped it instead of claiming it for ever.
    """
    store = MemoryStore()
    desk = Helpdesk(store=store, clock=FakeClock(MONDAY_9))
    ticket = open_ticket(desk)
    stale = [IndexUpdate(ticket.id, ticket.version, MONDAY_9 + H, None)]
    assert 1 == store.reindex(stale)
    assert 0 == desk.run_due(MONDAY_9 + 2 * H, lease=timedelta(0))
    assert MONDAY_9 + H == store.next_due_at()  # left due: reschedule() would clear it
    assert 1 == desk.reschedule()
    assert None is store.next_due_at()


def test_simulate_runs_the_sla_policies_but_reports_only_the_rules_tried() -> None:
    """An escalation raises the priority at 4h; a tried rule tags high tickets at 6h.

    The replay runs the SLA (so the rule sees the raised priority) and reports
    the rule's action alone, not the SLA's breach and escalation.
    """
    raise_at_breach = policy(
        targets={"normal": {"first_reply": "4h"}, "high": {"first_reply": "4h"}},
        escalations=[{"level": 1, "priority": "raise"}],
    )
    desk, clock = make_desk(raise_at_breach)
    ticket = open_ticket(desk)
    clock.advance(12 * H)
    tag_high = Rule.from_dict(
        {
            "name": "tag_high",
            "at": {"anchor": "created", "delay": "6h"},
            "conditions": {"field": "priority", "op": "is", "value": "high"},
            "actions": [{"add_tags": ["hot"]}],
        }
    )
    simulation = desk.simulate([tag_high], MONDAY_9, clock.now())
    assert [("tag_high", ticket.id, EventKind.TAGS_ADDED, MONDAY_9 + 6 * H)] == [
        (a.rule, a.ticket_id, a.kind, a.at) for a in simulation.actions
    ]
    assert [] == sla_events(desk, ticket.id)  # nothing stored changed
