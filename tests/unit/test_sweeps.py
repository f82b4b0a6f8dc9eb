"""A sweep never stops: time rules that change nothing, and one ticket's failure in run_due."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

import pytest

from ticketflow import (
    EventKind,
    FakeClock,
    Helpdesk,
    MemoryStore,
    Ticket,
    workflows,
)
from ticketflow.rules import Rule, TimeTrigger, is_no_change
from ticketflow.stores import Change

from .conftest import ANN, START

DAY = timedelta(days=1)
REMIND = Rule(
    name="remind",
    at=TimeTrigger(anchor="created", delay=2 * DAY),
    actions=({"notify": "reminder"},),
)


def noop_rule(action: dict[str, object]) -> Rule:
    return Rule(name="noop", at=TimeTrigger(anchor="created", delay=DAY), actions=(action,))


def make_desk(*rules: Rule, store: MemoryStore | None = None) -> tuple[Helpdesk, FakeClock]:
    clock = FakeClock(START)
    desk = Helpdesk(workflows.liveagent(), store=store or MemoryStore(), clock=clock, rules=rules)
    return desk, clock


@pytest.mark.parametrize(
    "action",
    [{"assign": "bob"}, {"set_priority": "normal"}, {"add_tags": ["vip"]}, {"remove_tags": ["x"]}],
)
def test_a_time_rule_that_changes_nothing_is_recorded_once_and_does_not_stop_the_sweep(
    action: dict[str, object],
) -> None:
    """assign to the assignee, the same priority...: one no_change event, done for its episode."""
    desk, clock = make_desk(noop_rule(action), REMIND)
    ids = [
        desk.open_ticket(subject=f"t{i}", requester=ANN, assignee="bob", tags=["vip"]).id
        for i in range(3)
    ]
    clock.advance(3 * DAY)
    assert 6 == desk.run_due()  # the no-op rule and the reminder, for every ticket
    for ticket_id in ids:
        ticket = desk.get(ticket_id)
        marks = [e for e in ticket.timeline if is_no_change(e)]
        assert 1 == len(marks)
        (mark,) = marks
        assert EventKind.TRANSITIONED == mark.kind
        assert (START + DAY, "noop", "new", "new") == (
            mark.at,
            mark.actor.id,
            mark.status_before,
            mark.status_after,
        )
        assert ["notified"] == [
            e.kind.value for e in ticket.timeline if e.data.get("rule") == "remind"
        ]
        assert desk.next_due(ticket_id) is None
    assert 0 == desk.run_due()
    assert desk.store.next_due_at() is None


def test_a_no_change_firing_is_not_reported_by_simulate() -> None:
    """simulate reports what rules did; a firing that changed nothing did nothing."""
    desk, clock = make_desk()
    desk.open_ticket(subject="t", requester=ANN, assignee="bob")
    clock.advance(3 * DAY)
    report = desk.simulate([noop_rule({"assign": "bob"})], START, START + 3 * DAY)
    assert () == report.actions


class _Flaky:
    """A condition that, once armed, raises for one ticket subject and holds for the others."""

    def __init__(self, subject: str) -> None:
        self.subject = subject
        self.armed = False

    def __call__(self, ticket: Ticket, _now: datetime) -> bool:
        if self.armed and ticket.subject == self.subject:
            raise RuntimeError("the CRM is down")
        return True


def test_one_tickets_failure_does_not_block_the_others_and_is_retried_later(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A rule that raises on one ticket: logged with its id, the rest fire, it is retried later."""
    flaky = _Flaky("broken")
    rule = Rule(
        name="remind",
        at=TimeTrigger(anchor="created", delay=DAY),
        conditions=flaky,
        actions=({"notify": "reminder"},),
    )
    desk, clock = make_desk(rule)
    broken = desk.open_ticket(subject="broken", requester=ANN).id
    fine = [desk.open_ticket(subject=f"fine {i}", requester=ANN).id for i in range(3)]
    clock.advance(DAY)
    flaky.armed = True
    with caplog.at_level(logging.WARNING, logger="ticketflow"):
        assert 3 == desk.run_due()
    assert any(broken in r.getMessage() for r in caplog.records)
    for ticket_id in fine:
        assert EventKind.NOTIFIED == desk.get(ticket_id).timeline[-1].kind
    assert 1 == len(desk.get(broken).timeline)
    assert 0 == desk.run_due()  # still claimed: not retried in a loop
    flaky.armed = False
    clock.advance(timedelta(minutes=2))  # past the claim's lease
    assert 1 == desk.run_due()
    assert EventKind.NOTIFIED == desk.get(broken).timeline[-1].kind


class _RefusingStore(MemoryStore):
    """A store that refuses (with a StoreError) every change of one ticket."""

    refused: str = ""

    def commit(self, changes: Sequence[Change]) -> None:
        from ticketflow import StoreError  # noqa: PLC0415 - test-local

        if any(c.ticket.id == self.refused for c in changes):
            raise StoreError(f"ticket {self.refused}: refused")
        super().commit(changes)


def test_a_change_the_store_refuses_does_not_block_the_rest_of_its_commit_group(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The group is saved ticket by ticket; the refused one is logged and backed off."""
    store = _RefusingStore()
    desk, clock = make_desk(REMIND, store=store)
    ids = [desk.open_ticket(subject=f"t{i}", requester=ANN).id for i in range(4)]
    store.refused = ids[1]
    clock.advance(2 * DAY + timedelta(minutes=5))
    with caplog.at_level(logging.ERROR, logger="ticketflow"):
        assert 3 == desk.run_due()
    assert any(ids[1] in r.getMessage() for r in caplog.records)
    assert [EventKind.NOTIFIED] * 3 == [desk.get(i).timeline[-1].kind for i in ids if i != ids[1]]
    assert 1 == len(desk.get(ids[1]).timeline)
    assert clock.now() + timedelta(minutes=5) == store.next_due_at()
