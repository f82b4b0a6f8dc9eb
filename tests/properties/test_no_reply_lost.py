"""No customer reply is lost: every reply the command layer accepts is in exactly one thread.

Random command sequences run on the presets with random reply policies (for closed,
spam and deleted tickets) and random clock steps, with the presets' default rules.
Each customer reply carries a unique body; after every step, each accepted reply's
body is in exactly one ticket's thread (its description, for a follow-up, or its
messages). Without a ``refuse`` policy no customer reply is refused at all.

Merges (which copy the thread into the target) and purges (which erase it) are left
out: both change where a body may be, by design.
"""

from __future__ import annotations

import contextlib
from datetime import timedelta
from typing import Any

from hypothesis import event, given
from hypothesis import strategies as st

from ticketflow import (
    ClosedPolicy,
    FakeClock,
    Helpdesk,
    MemoryStore,
    TicketflowError,
    TicketLockedError,
    Workflow,
)
from ticketflow.testing import Command, apply_command, commands, open_ticket_kwargs, presets

from .test_lifecycle import START

SHELVING = [
    Command(name, {"by": "bob"})
    for name in ("mark_spam", "delete", "close", "resolve", "restore", "confirm_resolution")
]
SHELVING[-1] = Command("confirm_resolution", {})
SHELVING.append(Command("assign", {"agent": "bob", "by": "bob"}))
"""Steps that take tickets to spam, deleted and closed (random steps are mostly refused)."""

POLICIES = st.sampled_from([p.value for p in ClosedPolicy])


@st.composite
def policy_workflows(draw: st.DrawFn) -> Workflow:
    """A preset with random settings, ``trash_policy`` and per-status ``reply_policy``."""
    data = draw(presets()).to_dict()
    settings: dict[str, Any] = data["settings"]
    if draw(st.booleans()):
        settings["trash_policy"] = draw(POLICIES)
    settings["reply_policy"] = draw(
        st.dictionaries(st.sampled_from(["spam", "deleted"]), POLICIES, max_size=2)
    )
    return Workflow.from_dict(data)


def refuses_somewhere(workflow: Workflow) -> bool:
    return any(workflow.reply_policy_for(s.name) is ClosedPolicy.REFUSE for s in workflow.statuses)


def thread(desk: Helpdesk, ticket_id: str) -> list[str]:
    ticket = desk.get(ticket_id)
    return [ticket.description, *(m.body for m in ticket.messages)]


@given(
    workflow=policy_workflows(),
    first=st.lists(open_ticket_kwargs(), min_size=1, max_size=3),
    data=st.data(),
)
def test_every_accepted_customer_reply_is_in_exactly_one_thread(
    workflow: Workflow, first: list[dict[str, Any]], data: st.DataObject
) -> None:
    """Whatever happened to the ticket, an accepted customer reply is recorded exactly once."""
    clock = FakeClock(START)
    desk = Helpdesk(workflow, store=MemoryStore(), clock=clock)
    ids = [desk.open_ticket(**kwargs).id for kwargs in first]
    # Customer replies are this test's own steps, with bodies it can find again.
    steps = st.sampled_from(SHELVING) | commands(workflow).filter(
        lambda c: c.name not in {"purge", "customer_reply"}
    )
    accepted: list[str] = []
    for index in range(data.draw(st.integers(1, 30), label="steps")):
        clock.advance(data.draw(st.sampled_from([timedelta(0), timedelta(hours=5)]), label="dt"))
        ticket_id = data.draw(st.sampled_from(ids), label="ticket")
        if data.draw(st.booleans(), label="reply"):
            body = f"customer reply #{index}"
            status = desk.get(ticket_id).status
            try:
                landed = desk.customer_reply(ticket_id, body)
            except TicketLockedError:
                # Only the explicit opt-in refuses (no purges here); a due time rule
                # may have moved the ticket first, so the status read is not enough.
                assert refuses_somewhere(workflow)
                event("refused by the opt-in")
                continue
            event(f"reply to {workflow.category(status).value}")
            accepted.append(body)
            if landed.id not in ids:
                ids.append(landed.id)  # a follow-up
        else:
            step: Command = data.draw(steps, label="step")
            with contextlib.suppress(TicketflowError):  # refusals are the lifecycle tests'
                apply_command(desk, ticket_id, step)
        threads = [thread(desk, i) for i in ids]
        assert len(ids) == desk.store.count()
        for body in accepted:
            assert 1 == sum(t.count(body) for t in threads), body
    if not refuses_somewhere(workflow):
        event("no refuse policy")
