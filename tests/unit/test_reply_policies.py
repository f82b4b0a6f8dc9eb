"""No customer reply is lost: replies to spam, deleted and closed tickets follow a policy."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from ticketflow import (
    Actor,
    ClosedPolicy,
    EventKind,
    FakeClock,
    Helpdesk,
    HelpdeskConfig,
    MemoryStore,
    PermissionDenied,
    Role,
    Ticket,
    TicketLockedError,
    TransitionError,
    Workflow,
    WorkflowError,
    workflows,
)
from ticketflow.sla import SlaPolicy
from ticketflow.testing.strategies import check_ticket_invariants

from .conftest import ANN

PRESETS: dict[str, Callable[..., Workflow]] = {
    "liveagent": workflows.liveagent,
    "zendesk": workflows.zendesk,
    "freshdesk": workflows.freshdesk,
}

# Where a customer reply lands by each preset's defaults: "keep" (the same ticket,
# status unchanged, flagged), "reopen" (the same ticket, back in work) or
# "follow_up" (a new ticket linked to it).
DEFAULTS = {
    ("liveagent", "spam"): ("keep", "spam"),
    ("liveagent", "deleted"): ("reopen", "open"),
    ("liveagent", "closed"): ("follow_up", "new"),
    ("zendesk", "spam"): ("keep", "spam"),
    ("zendesk", "deleted"): ("follow_up", "new"),
    ("zendesk", "closed"): ("follow_up", "new"),
    ("freshdesk", "spam"): ("keep", "spam"),
    ("freshdesk", "deleted"): ("reopen", "open"),
    ("freshdesk", "closed"): ("reopen", "open"),
}


def desk_for(workflow: Workflow, clock: FakeClock, **kwargs: Any) -> Helpdesk:
    return Helpdesk(workflow, store=MemoryStore(), clock=clock, **kwargs)


def shelve(desk: Helpdesk, where: str) -> Ticket:
    """Open a ticket from Ann and take it to spam, deleted or closed."""
    ticket = desk.open_ticket(subject="Printer", requester=ANN, description="It jams.")
    if where == "spam":
        return desk.mark_spam(ticket.id, by="bob")
    if where == "deleted":
        return desk.delete(ticket.id, by="bob")
    desk.assign(ticket.id, "bob", by="bob")
    desk.resolve(ticket.id, by="bob")
    return desk.close(ticket.id, by="bob")


def with_settings(workflow: Workflow, **settings: Any) -> Workflow:
    data = workflow.to_dict()
    data["settings"] = {**data["settings"], **settings}
    return Workflow.from_dict(data)


def bodies(ticket: Ticket) -> list[str]:
    return [ticket.description, *(m.body for m in ticket.messages)]


@pytest.mark.parametrize(("preset", "where"), sorted(DEFAULTS))
def test_a_reply_lands_where_the_preset_default_says(
    clock: FakeClock, preset: str, where: str
) -> None:
    """In every preset's defaults a customer reply to spam, deleted or closed is recorded."""
    desk = desk_for(PRESETS[preset](), clock)
    ticket = shelve(desk, where)
    assert where == ticket.status
    clock.advance(timedelta(hours=1))
    landed = desk.customer_reply(ticket.id, "Hello again")
    how, status = DEFAULTS[preset, where]
    assert status == landed.status
    if how == "follow_up":
        assert (ticket.id, "Hello again") == (landed.parent_id, landed.description)
        assert ticket == desk.get(ticket.id)  # the shelved ticket does not change
    else:
        assert ticket.id == landed.id
        assert "Hello again" == landed.messages[-1].body
    flagged = how == "keep"
    assert flagged == ("needs_review" in landed.tags)
    assert ([ticket.id] if flagged else []) == [t.id for t in desk.find(tag="needs_review")]


def test_a_kept_reply_is_flagged_once_by_the_system(desk: Helpdesk) -> None:
    """A kept reply: one save, status unchanged, the review tag added by the system once."""
    ticket = shelve(desk, "spam")
    first = desk.customer_reply(ticket.id, "Not spam!")
    added = first.timeline[len(ticket.timeline) :]
    assert [
        (EventKind.CUSTOMER_REPLIED, "spam", ANN.email, Role.CUSTOMER),
        (EventKind.TAGS_ADDED, "spam", "system", Role.SYSTEM),
    ] == [(e.kind, e.status_after, e.actor.id, e.actor.role) for e in added]
    assert {ticket.version + 1} == {e.version for e in added}
    second = desk.customer_reply(ticket.id, "Really not.")
    assert [EventKind.CUSTOMER_REPLIED] == [e.kind for e in second.timeline[len(added) + 2 :]][:1]
    assert len(first.timeline) + 1 == len(second.timeline)
    assert ["Not spam!", "Really not."] == [m.body for m in second.messages]
    # An agent reviews it: restoring and removing the flag work as usual.
    desk.remove_tags(ticket.id, "needs_review", by="bob")
    assert "new" == desk.restore(ticket.id, by="bob").status
    assert [] == desk.find(tag="needs_review")


def test_the_review_tag_is_a_setting(clock: FakeClock) -> None:
    """``review_tag`` names the flag."""
    desk = desk_for(with_settings(workflows.zendesk(), review_tag="check-me"), clock)
    ticket = shelve(desk, "spam")
    assert {"check-me"} == desk.customer_reply(ticket.id, "Hi").tags


@pytest.mark.parametrize("where", ["spam", "deleted"])
@pytest.mark.parametrize("policy", list(ClosedPolicy))
def test_trash_policy_decides_a_reply_to_trash(
    clock: FakeClock, where: str, policy: ClosedPolicy
) -> None:
    """``trash_policy`` covers every trash status the graph takes no reply in."""
    workflow = with_settings(workflows.liveagent(), trash_policy=policy.value, reply_policy={})
    desk = desk_for(workflow, clock)
    ticket = shelve(desk, where)
    if policy is ClosedPolicy.REFUSE:
        with pytest.raises(TicketLockedError):
            desk.customer_reply(ticket.id, "Hello")
        assert ticket == desk.get(ticket.id)
        assert 1 == desk.store.count()
        return
    landed = desk.customer_reply(ticket.id, "Hello")
    if policy is ClosedPolicy.FOLLOW_UP:
        assert (ticket.id, "new", "Hello") == (landed.parent_id, landed.status, landed.description)
        return
    assert ticket.id == landed.id
    assert "Hello" == landed.messages[-1].body
    if policy is ClosedPolicy.KEEP:
        assert (where, {"needs_review"}) == (landed.status, set(landed.tags))
    else:  # restored (spam to New, deleted to Open), then the reply's transition
        restored = {"spam": "new", "deleted": "open"}[where]
        kinds = [(e.kind, e.status_after) for e in landed.timeline[-2:]]
        assert [(EventKind.RESTORED, restored), (EventKind.CUSTOMER_REPLIED, restored)] == kinds
        assert Role.SYSTEM is landed.timeline[-2].actor.role


def test_reply_policy_overrides_per_status(clock: FakeClock) -> None:
    """``reply_policy`` sets one status's policy; the category's setting covers the rest."""
    workflow = with_settings(
        workflows.liveagent(), trash_policy="follow_up", reply_policy={"spam": "keep"}
    )
    assert ClosedPolicy.KEEP is workflow.reply_policy_for("spam")
    assert ClosedPolicy.FOLLOW_UP is workflow.reply_policy_for("deleted")
    assert ClosedPolicy.FOLLOW_UP is workflow.reply_policy_for("closed")
    assert None is workflow.reply_policy_for("open")
    assert None is workflow.reply_policy_for("purged")
    desk = desk_for(workflow, clock)
    spam, deleted = shelve(desk, "spam"), shelve(desk, "deleted")
    assert spam.id == desk.customer_reply(spam.id, "Hi").id
    assert deleted.id == desk.customer_reply(deleted.id, "Hi").parent_id


def test_keep_on_a_closed_ticket(clock: FakeClock) -> None:
    """``closed_policy = "keep"``: the reply stays on the closed ticket, flagged."""
    desk = desk_for(workflows.liveagent(closed_policy="keep"), clock)
    ticket = shelve(desk, "closed")
    landed = desk.customer_reply(ticket.id, "Thanks!")
    assert (ticket.id, "closed", "Thanks!") == (landed.id, landed.status, landed.messages[-1].body)
    assert [landed.id] == [t.id for t in desk.find(tag="needs_review")]
    # Still locked for everything else.
    with pytest.raises(TicketLockedError):
        desk.add_tags(ticket.id, "x", by="bob")


def test_a_purged_ticket_with_a_kept_reply_still_passes_the_invariants(clock: FakeClock) -> None:
    """The purge erases the review flag's tag; the lock invariant still sees the flag."""
    desk = desk_for(workflows.liveagent(closed_policy="keep"), clock)
    ticket = shelve(desk, "closed")
    desk.customer_reply(ticket.id, "Thanks!")
    tombstone = desk.purge(ticket.id, by=Actor("dpo", Role.ADMIN)).ticket
    flag = tombstone.timeline[-2]
    assert (EventKind.TAGS_ADDED, []) == (flag.kind, list(flag.data["tags"]))
    check_ticket_invariants(desk, tombstone)


def test_reopen_from_trash_follows_the_window(clock: FakeClock) -> None:
    """``reopen`` restores a trash ticket within ``reopen_window``; later, a follow-up."""
    workflow = with_settings(workflows.zendesk(), reply_policy={"deleted": "reopen"})
    workflow = with_settings(workflow, reopen_window_days=2)
    desk = desk_for(workflow, clock)
    ticket = shelve(desk, "deleted")
    clock.advance(timedelta(days=2))
    reopened = desk.customer_reply(ticket.id, "A")
    assert (ticket.id, "open") == (reopened.id, reopened.status)
    desk.delete(ticket.id, by="bob")
    clock.advance(timedelta(days=2, microseconds=1))
    assert ticket.id == desk.customer_reply(ticket.id, "B").parent_id


def test_a_kept_reply_to_spam_starts_no_sla_cycle(clock: FakeClock) -> None:
    """A kept reply changes no status: no SLA cycle starts, nothing is queued or due."""
    policy = SlaPolicy("std", targets={"normal": {"first_reply": "1h", "next_reply": "1h"}})
    desk = desk_for(workflows.liveagent(), clock, sla=[policy])
    ticket = shelve(desk, "spam")
    before = desk.sla_state(ticket.id)
    desk.customer_reply(ticket.id, "Please answer")
    clock.advance(timedelta(hours=3))
    assert 0 == desk.run_due()
    after = desk.sla_state(ticket.id)
    assert {m: s.cycles for m, s in before.metrics.items()} == {
        m: s.cycles for m, s in after.metrics.items()
    }
    assert [] == [e for e in desk.get(ticket.id).timeline if e.kind.value.startswith("sla")]
    assert None is desk.next_due(ticket.id)
    assert ticket.id not in [t.id for t in desk.queue()]


def test_rules_react_to_a_kept_reply(clock: FakeClock) -> None:
    """Event rules see the kept reply like any other (here: a rule assigns a reviewer)."""
    rule = {
        "name": "review",
        "on": ["customer_replied"],
        "conditions": {"all": [{"field": "category", "op": "is", "value": "trash"}]},
        "actions": [{"assign": "reviewer"}],
    }
    config = HelpdeskConfig.from_dict({**workflows.liveagent().to_dict(), "rules": [rule]})
    desk = Helpdesk(config=config, store=MemoryStore(), clock=clock)
    ticket = shelve(desk, "spam")
    landed = desk.customer_reply(ticket.id, "Hello")
    assert ("spam", "reviewer") == (landed.status, landed.assignee)


def test_agent_replies_and_notes_keep_their_errors(desk: Helpdesk) -> None:
    """Agents get the error back (nothing arrives unseen): the policies cover customer replies."""
    spam = shelve(desk, "spam")
    with pytest.raises(TransitionError):
        desk.agent_reply(spam.id, "Hi", by="bob")
    assert "Noted" == desk.add_note(spam.id, "Noted", by="bob").messages[-1].body
    closed = shelve(desk, "closed")
    for action in (desk.agent_reply, desk.add_note):
        with pytest.raises(TicketLockedError):
            action(closed.id, "Hi", by="bob")


def test_only_the_ticket_s_customer_may_reply_to_spam(desk: Helpdesk) -> None:
    """The policies change nothing about who may reply."""
    spam = shelve(desk, "spam")
    with pytest.raises(PermissionDenied):
        desk.customer_reply(spam.id, "Me too", by=Actor("eve@example.com", Role.CUSTOMER))
    assert spam == desk.get(spam.id)


def test_a_purged_ticket_still_refuses_replies(desk: Helpdesk) -> None:
    """A purged ticket belongs to no one: no policy applies."""
    ticket = shelve(desk, "spam")
    desk.purge(ticket.id, by=Actor("admin", Role.ADMIN))
    with pytest.raises(TicketLockedError):
        desk.customer_reply(ticket.id, "Hello")


# --- configuration ------------------------------------------------------------------


@pytest.mark.parametrize("builder", list(PRESETS.values()))
def test_the_settings_round_trip(builder: Callable[..., Workflow]) -> None:
    """trash_policy, reply_policy and review_tag survive dict, JSON and TOML."""
    workflow = with_settings(
        builder(), trash_policy="follow_up", reply_policy={"spam": "refuse"}, review_tag="r"
    )
    for copy in (
        Workflow.from_dict(workflow.to_dict()),
        Workflow.from_json(workflow.to_json()),
        Workflow.from_toml(workflow.to_toml()),
    ):
        assert workflow == copy
        assert (ClosedPolicy.FOLLOW_UP, {"spam": ClosedPolicy.REFUSE}, "r") == (
            copy.trash_policy,
            dict(copy.reply_policy),
            copy.review_tag,
        )
    config = HelpdeskConfig.from_toml(workflow.to_toml())
    assert workflow.to_dict()["settings"] == config.workflow.to_dict()["settings"]


@pytest.mark.parametrize(
    ("settings", "item"),
    [
        ({"trash_policy": "shred"}, "trash_policy"),
        ({"reply_policy": {"spam": "shred"}}, "settings.reply_policy.spam"),
        ({"reply_policy": {"open": "keep"}}, "settings.reply_policy.open"),
        ({"reply_policy": {"purged": "keep"}}, "settings.reply_policy.purged"),
        ({"reply_policy": {"nowhere": "keep"}}, "settings.reply_policy.nowhere"),
        ({"reply_policy": "keep"}, "reply_policy"),
        ({"review_tag": ""}, "review_tag"),
        ({"trash_polcy": "keep"}, "trash_polcy"),
    ],
)
def test_bad_settings_are_refused_with_their_path(settings: dict[str, Any], item: str) -> None:
    """Unknown policies, statuses and keys are refused, naming where."""
    with pytest.raises(WorkflowError) as caught:
        with_settings(workflows.liveagent(), **settings)
    assert item == caught.value.item
    if item.startswith("settings."):
        assert item in str(caught.value)


def test_reopen_needs_a_restore_transition_out_of_trash() -> None:
    """A trash status with policy ``reopen`` must have a way back (``restore``)."""
    data = workflows.liveagent().to_dict()
    data["transitions"] = [t for t in data["transitions"] if t["trigger"] != "restore"]
    del data["events"]["restore"]
    data["settings"]["reply_policy"] = {"deleted": "keep"}
    Workflow.from_dict(data)  # keep needs no way back
    data["settings"]["reply_policy"] = {"deleted": "reopen"}
    with pytest.raises(WorkflowError, match="restore transition out of trash status 'deleted'"):
        Workflow.from_dict(data)


def test_a_graph_that_takes_replies_in_trash_decides_them(clock: FakeClock) -> None:
    """A trash status with a customer_reply transition is the graph's, not a policy's."""
    data = workflows.liveagent().to_dict()
    data["transitions"].append({"trigger": "customer_reply", "sources": ["spam"], "dest": "open"})
    data["settings"]["reply_policy"] = {"deleted": "keep"}
    workflow = Workflow.from_dict(data)
    assert None is workflow.reply_policy_for("spam")
    desk = desk_for(workflow, clock)
    ticket = shelve(desk, "spam")
    landed = desk.customer_reply(ticket.id, "Hi")
    assert ("open", frozenset()) == (landed.status, landed.tags)
