"""SLA policies and SLA state: definitions checked on scripted LiveAgent lifecycles.

In the LiveAgent preset an agent reply moves a ticket to ``answered`` (category
``pending``), a customer reply back to ``open``, and ``postpone`` to ``postponed``
(``pending``).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta

import pytest

from ticketflow import BusinessCalendar, FakeClock, Helpdesk, Priority, Requester, RuleError, Ticket
from ticketflow.sla import (
    Metric,
    SlaPolicies,
    SlaPolicy,
    SlaStatus,
    next_sla_instant,
    sla_state,
)

MONDAY_9 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
H = timedelta(hours=1)


def make_desk() -> tuple[Helpdesk, FakeClock]:
    clock = FakeClock(MONDAY_9)
    return Helpdesk(clock=clock), clock


def open_ticket(desk: Helpdesk, **kwargs: object) -> Ticket:
    return desk.open_ticket(subject="Down", requester=Requester(name="Ann"), **kwargs)  # type: ignore[arg-type]


def policies(**kwargs: object) -> SlaPolicies:
    targets = kwargs.pop("targets", None) or {"normal": {m.value: "4h" for m in Metric}}
    return SlaPolicies([SlaPolicy("all", targets=targets, **kwargs)])  # type: ignore[arg-type]


def test_first_reply_runs_then_is_met_by_the_first_agent_reply() -> None:
    """Running with the time left before the reply; met, due at created + target, after it."""
    desk, clock = make_desk()
    ticket = open_ticket(desk)
    state = sla_state(ticket, desk.workflow, policies(), MONDAY_9 + H)
    first = state.metrics[Metric.FIRST_REPLY]
    assert (first.status, first.time_left, first.due_at) == (
        SlaStatus.RUNNING,
        3 * H,
        MONDAY_9 + 4 * H,
    )
    clock.advance(2 * H)
    ticket = desk.agent_reply(ticket.id, "on it", by="bob")
    first = sla_state(ticket, desk.workflow, policies(), MONDAY_9 + 9 * H).metrics[
        Metric.FIRST_REPLY
    ]
    assert (first.status, first.completed_at, first.time_left) == (
        SlaStatus.MET,
        MONDAY_9 + 2 * H,
        2 * H,
    )


def test_an_unanswered_ticket_breaches_at_exactly_the_due_time() -> None:
    """Before the due instant it runs; at it, it is breached; after, time left is negative."""
    desk, _clock = make_desk()
    ticket = open_ticket(desk)
    due = MONDAY_9 + 4 * H
    before = sla_state(ticket, desk.workflow, policies(), due - timedelta(microseconds=1))
    at = sla_state(ticket, desk.workflow, policies(), due)
    after = sla_state(ticket, desk.workflow, policies(), due + H)
    assert before.metrics[Metric.FIRST_REPLY].status is SlaStatus.RUNNING
    assert at.metrics[Metric.FIRST_REPLY].status is SlaStatus.BREACHED
    assert after.metrics[Metric.FIRST_REPLY].time_left == -H
    assert after.breached


def test_a_late_reply_is_breached() -> None:
    """A first reply after the due time is breached, with a negative time left."""
    desk, clock = make_desk()
    ticket = open_ticket(desk)
    clock.advance(5 * H)
    ticket = desk.agent_reply(ticket.id, "sorry", by="bob")
    first = sla_state(ticket, desk.workflow, policies(), clock.now()).metrics[Metric.FIRST_REPLY]
    assert (first.status, first.time_left, first.breaches) == (SlaStatus.BREACHED, -H, 1)


def test_pending_time_pushes_the_resolution_due_time_back() -> None:
    """Two hours postponed (pending) move the due time two hours later, and pause the clock."""
    desk, clock = make_desk()
    ticket = open_ticket(desk)
    clock.advance(H)
    desk.postpone(ticket.id, clock.now() + 10 * H, by="bob")
    clock.advance(2 * H)
    paused = sla_state(desk.get(ticket.id), desk.workflow, policies(), clock.now())
    resolution = paused.metrics[Metric.RESOLUTION]
    assert (resolution.status, resolution.paused, resolution.due_at) == (
        SlaStatus.PAUSED,
        True,
        None,
    )
    assert resolution.time_left == 3 * H
    ticket = desk.wake(ticket.id)
    resumed = sla_state(ticket, desk.workflow, policies(), clock.now()).metrics[Metric.RESOLUTION]
    assert (resumed.status, resumed.due_at) == (SlaStatus.RUNNING, MONDAY_9 + 6 * H)


def test_pause_in_empty_counts_pending_time_but_wait_metrics_still_pause() -> None:
    """With ``pause_in=[]`` resolution counts pending time; agent work never does by default."""
    desk, clock = make_desk()
    ticket = open_ticket(desk)
    clock.advance(H)
    desk.postpone(ticket.id, clock.now() + 10 * H, by="bob")
    clock.advance(2 * H)
    ticket = desk.wake(ticket.id)
    state = sla_state(ticket, desk.workflow, policies(pause_in=[]), clock.now())
    assert state.metrics[Metric.RESOLUTION].due_at == MONDAY_9 + 4 * H
    assert state.metrics[Metric.AGENT_WORK].due_at == MONDAY_9 + 6 * H
    assert state.metrics[Metric.REQUESTER_WAIT].due_at == MONDAY_9 + 6 * H


def test_run_in_overrides_pause_in_per_metric() -> None:
    """``run_in={"resolution": ["new"]}`` stops the resolution clock once the ticket is open."""
    desk, clock = make_desk()
    ticket = open_ticket(desk)
    clock.advance(H)
    desk.agent_reply(ticket.id, "hi", by="bob")
    clock.advance(H)
    ticket = desk.customer_reply(ticket.id, "still down")
    state = sla_state(
        ticket, desk.workflow, policies(run_in={"resolution": ["new"]}), clock.now() + H
    )
    resolution = state.metrics[Metric.RESOLUTION]
    assert (resolution.status, resolution.time_left) == (SlaStatus.PAUSED, 3 * H)


def test_due_times_count_business_hours_only() -> None:
    """A 4h target set Friday 15:00 on a 9-17 weekday calendar is due Monday 11:00."""
    clock = FakeClock(datetime(2026, 3, 6, 15, tzinfo=UTC))
    desk = Helpdesk(clock=clock)
    ticket = open_ticket(desk)
    calendar = BusinessCalendar.weekdays_9_to_5("UTC")
    state = sla_state(ticket, desk.workflow, policies(calendar=calendar), clock.now() + 3 * H)
    first = state.metrics[Metric.FIRST_REPLY]
    assert first.due_at == datetime(2026, 3, 9, 11, tzinfo=UTC)
    assert first.time_left == 2 * H  # 15:00-17:00 counted; 17:00-18:00 closed


def test_next_reply_keeps_each_cycle_and_counts_an_earlier_breach() -> None:
    """A late second reply breaches cycle one; a quick third reply meets cycle two."""
    desk, clock = make_desk()
    ticket = open_ticket(desk)
    desk.agent_reply(ticket.id, "hi", by="bob")
    clock.advance(H)
    desk.customer_reply(ticket.id, "no")
    clock.advance(H)
    desk.customer_reply(ticket.id, "still no")  # the open cycle is not restarted
    clock.advance(4 * H)
    desk.agent_reply(ticket.id, "fixed?", by="bob")
    clock.advance(H)
    desk.customer_reply(ticket.id, "no!")
    clock.advance(H)
    ticket = desk.agent_reply(ticket.id, "now?", by="bob")
    reply = sla_state(ticket, desk.workflow, policies(), clock.now()).metrics[Metric.NEXT_REPLY]
    assert [c.started_at for c in reply.cycles] == [MONDAY_9 + H, MONDAY_9 + 7 * H]
    assert [c.status for c in reply.cycles] == [SlaStatus.BREACHED, SlaStatus.MET]
    assert (reply.status, reply.breaches) == (SlaStatus.MET, 1)


def test_first_assignment_is_met_at_creation_when_created_assigned() -> None:
    """An assignee given at creation meets first assignment at once; else the assign does."""
    desk, clock = make_desk()
    assigned = open_ticket(desk, assignee="bob")
    state = sla_state(assigned, desk.workflow, policies(), MONDAY_9)
    assert state.metrics[Metric.FIRST_ASSIGNMENT].completed_at == MONDAY_9
    ticket = open_ticket(desk)
    clock.advance(H)
    desk.assign(ticket.id, department="billing")  # a department alone does not count
    clock.advance(H)
    ticket = desk.assign(ticket.id, "carol")
    first = sla_state(ticket, desk.workflow, policies(), clock.now()).metrics[
        Metric.FIRST_ASSIGNMENT
    ]
    assert (first.status, first.completed_at) == (SlaStatus.MET, MONDAY_9 + 2 * H)


def test_periodic_update_starts_at_each_agent_reply_and_stops_when_solved() -> None:
    """Each agent reply completes one periodic-update cycle and opens the next."""
    desk, clock = make_desk()
    ticket = open_ticket(desk)
    none_yet = sla_state(ticket, desk.workflow, policies(pause_in=[]), MONDAY_9)
    assert none_yet.metrics[Metric.PERIODIC_UPDATE].status is SlaStatus.NOT_APPLICABLE
    desk.agent_reply(ticket.id, "looking", by="bob")
    clock.advance(5 * H)
    desk.agent_reply(ticket.id, "still looking", by="bob")
    clock.advance(H)
    ticket = desk.resolve(ticket.id)
    update = sla_state(ticket, desk.workflow, policies(pause_in=[]), clock.now()).metrics[
        Metric.PERIODIC_UPDATE
    ]
    assert [c.status for c in update.cycles] == [SlaStatus.BREACHED, SlaStatus.MET]
    assert update.completed_at == MONDAY_9 + 6 * H


def test_a_reopen_resumes_the_resolution_clock() -> None:
    """Resolved after 1h, reopened 10h later: resolution runs again with 3h left."""
    desk, clock = make_desk()
    ticket = open_ticket(desk)
    clock.advance(H)
    desk.resolve(ticket.id)
    resolved = sla_state(desk.get(ticket.id), desk.workflow, policies(), clock.now())
    assert resolved.metrics[Metric.RESOLUTION].status is SlaStatus.MET
    clock.advance(10 * H)
    ticket = desk.reopen(ticket.id)
    state = sla_state(ticket, desk.workflow, policies(), clock.now())
    resolution = state.metrics[Metric.RESOLUTION]
    assert (resolution.status, resolution.time_left, resolution.due_at) == (
        SlaStatus.RUNNING,
        3 * H,
        clock.now() + 3 * H,
    )


def test_the_state_at_now_ignores_later_events() -> None:
    """The state at an instant before a reply equals the state of the ticket before it."""
    desk, clock = make_desk()
    before = open_ticket(desk)
    clock.advance(2 * H)
    after = desk.agent_reply(before.id, "hi", by="bob")
    at = MONDAY_9 + H
    assert sla_state(after, desk.workflow, policies(), at) == sla_state(
        before, desk.workflow, policies(), at
    )
    with pytest.raises(ValueError, match="before ticket"):
        sla_state(after, desk.workflow, policies(), MONDAY_9 - H)


def test_the_first_matching_policy_wins_and_the_fallback_catches_the_rest() -> None:
    """A VIP-tagged urgent ticket gets the VIP targets; others the fallback's."""
    vip = SlaPolicy(
        "vip",
        conditions={"all": [{"field": "tags", "op": "contains", "value": "vip"}]},
        targets={"urgent": {"first_reply": "30m"}},
    )
    rest = SlaPolicy("rest", targets={"urgent": {"first_reply": "8h"}})
    chosen = SlaPolicies([vip, rest])
    desk, _clock = make_desk()
    tagged = open_ticket(desk, tags=["vip"], priority=Priority.URGENT)
    plain = open_ticket(desk, priority="urgent")
    assert sla_state(tagged, desk.workflow, chosen, MONDAY_9).policy == "vip"
    state = sla_state(plain, desk.workflow, chosen, MONDAY_9)
    assert (state.policy, state.metrics[Metric.FIRST_REPLY].target) == ("rest", 8 * H)
    normal = open_ticket(desk)
    assert sla_state(normal, desk.workflow, chosen, MONDAY_9).metrics[
        Metric.FIRST_REPLY
    ].status is (SlaStatus.NOT_APPLICABLE)


def test_no_matching_policy_makes_every_metric_not_applicable() -> None:
    """Without a fallback a ticket no policy matches has no SLA."""
    only = SlaPolicy(
        "chat",
        conditions={"field": "channel", "op": "is", "value": "chat"},
        targets={"normal": {"first_reply": "1h"}},
    )
    desk, _clock = make_desk()
    state = sla_state(open_ticket(desk), desk.workflow, SlaPolicies([only]), MONDAY_9)
    assert state.policy is None
    assert {m.status for m in state.metrics.values()} == {SlaStatus.NOT_APPLICABLE}


def test_a_category_condition_uses_the_workflow() -> None:
    """``category`` in a policy condition is read through the workflow at selection time."""
    new_only = SlaPolicy(
        "new",
        conditions={"field": "category", "op": "is", "value": "new"},
        targets={"normal": {"first_reply": "1h"}},
    )
    desk, _clock = make_desk()
    ticket = open_ticket(desk)
    assert sla_state(ticket, desk.workflow, SlaPolicies([new_only]), MONDAY_9).policy == "new"
    answered = desk.agent_reply(ticket.id, "hi", by="bob")  # category pending
    assert sla_state(answered, desk.workflow, SlaPolicies([new_only]), MONDAY_9).policy is None


def test_next_sla_instant_gives_the_warning_then_the_breach() -> None:
    """With a 30m warning: 3h30 first, then 4h, then nothing once all metrics are done."""
    desk, clock = make_desk()
    ticket = open_ticket(desk)
    chosen = policies(targets={"normal": {"first_reply": "4h"}}, warn_before="30m")
    assert next_sla_instant(ticket, desk.workflow, chosen, MONDAY_9) == MONDAY_9 + 3.5 * H
    assert next_sla_instant(ticket, desk.workflow, chosen, MONDAY_9 + 3.5 * H) == MONDAY_9 + 4 * H
    assert next_sla_instant(ticket, desk.workflow, chosen, MONDAY_9 + 4 * H) is None
    clock.advance(H)
    ticket = desk.agent_reply(ticket.id, "hi", by="bob")
    assert next_sla_instant(ticket, desk.workflow, chosen, clock.now()) is None


def test_next_sla_instant_is_none_while_paused() -> None:
    """A paused clock has no known breach instant; waking it gives one again."""
    desk, clock = make_desk()
    ticket = open_ticket(desk)
    chosen = policies(targets={"normal": {"resolution": "4h"}})
    ticket = desk.postpone(ticket.id, clock.now() + 5 * H, by="bob")
    assert next_sla_instant(ticket, desk.workflow, chosen, clock.now()) is None
    clock.advance(H)
    ticket = desk.wake(ticket.id)
    assert next_sla_instant(ticket, desk.workflow, chosen, clock.now()) == clock.now() + 4 * H


def test_a_policy_round_trips_through_json() -> None:
    """`to_dict` output survives JSON and `from_dict` gives an equal policy."""
    policy = SlaPolicy(
        "office",
        conditions={"any": [{"field": "department", "op": "in", "value": ["a", "b"]}]},
        targets={
            "high": {"first_reply": timedelta(minutes=90)},
            Priority.LOW: {"resolution": 86400},
        },
        calendar=BusinessCalendar(timezone="Europe/Brussels", hours={"mon": [(time(9), time(17))]}),
        pause_in=[],
        run_in={"resolution": ["new", "open"]},
        warn_before={"first_reply": "10m"},
    )
    again = SlaPolicy.from_dict(json.loads(json.dumps(policy.to_dict())))
    assert again == policy
    assert SlaPolicies.from_dicts(SlaPolicies([policy]).to_dicts()).policies == (policy,)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"targets": {"critical": {"first_reply": "1h"}}}, "targets.critical"),
        ({"targets": {"low": {"first_answer": "1h"}}}, "targets.low.first_answer"),
        ({"targets": {"low": {"first_reply": "soon"}}}, "targets.low.first_reply"),
        ({"targets": {}, "conditions": {"field": "colour", "value": "red"}}, "conditions"),
        ({"targets": {}, "pause_in": ["resolved"]}, "pause_in"),
        ({"targets": {}, "run_in": {"resolution": ["later"]}}, "run_in.resolution"),
        ({"targets": {}, "warn_before": {"resolution": -5}}, "warn_before.resolution"),
        ({"targets": {}, "warn_before": "never"}, "warn_before"),
    ],
)
def test_invalid_policies_are_refused_naming_policy_and_field(
    kwargs: dict[str, object], field: str
) -> None:
    """Every invalid field raises RuleError naming the policy and the field."""
    with pytest.raises(RuleError, match=rf"SLA policy 'p', field '{field}'"):
        SlaPolicy("p", **kwargs)  # type: ignore[arg-type]


def test_a_fallback_must_be_last_and_names_unique() -> None:
    """A fallback before another policy, or a repeated name, is refused."""
    fallback = SlaPolicy("fallback", targets={})
    other = SlaPolicy("other", conditions={"field": "channel", "value": "chat"}, targets={})
    with pytest.raises(RuleError, match=r"'fallback', field 'conditions'.*last"):
        SlaPolicies([fallback, other])
    with pytest.raises(RuleError, match="'other', field 'name'"):
        SlaPolicies([other, other])
    assert SlaPolicies([other, fallback]).policies == (other, fallback)
    with pytest.raises(RuleError, match="non-empty name"):
        SlaPolicy(" ", targets={})
    with pytest.raises(RuleError, match="field 'bogus'"):
        SlaPolicy.from_dict({"name": "x", "targets": {}, "bogus": 1})


def test_a_policy_keeps_a_copy_of_its_conditions() -> None:
    """Changing the dict a policy was built from later does not change the policy."""
    conditions = {"field": "channel", "op": "is", "value": "chat"}
    policy = SlaPolicy("chat", conditions=conditions, targets={})
    conditions["field"] = "colour"
    assert policy.conditions == {"field": "channel", "op": "is", "value": "chat"}
    listed = SlaPolicy("listed", conditions=[{"field": "channel", "value": "chat"}], targets={})
    desk, _clock = make_desk()
    ticket = open_ticket(desk, channel="chat")
    assert sla_state(ticket, desk.workflow, SlaPolicies([listed]), MONDAY_9).policy == "listed"
