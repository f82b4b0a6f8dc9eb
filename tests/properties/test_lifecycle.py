"""Random command sequences over several tickets keep every lifecycle guarantee.

Two state machines drive a `Helpdesk` on a `MemoryStore` and a `FakeClock` with
random commands on up to four tickets, random merges between them and random clock
steps (some landing exactly on a reopen window's edge): one over the three presets
with random settings, one over random workflows from `workflows()`.

Beside the help desk runs a reference model written from the documented behaviour:
it decides each command from the workflow's transition list in declaration order
(not from the compiled tables the engine uses) and tracks what each ticket must hold
(status, version, assignee, department, priority, tags, custom fields, merge link).
Each step asserts the engine did exactly what the model predicted: the same refusal,
no save, or one new event per saved ticket, of the predicted kind and destination,
stamped with the fake clock's time. After each step every ticket is checked with
`check_ticket_invariants` and against the model.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
from hypothesis import event, given
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from ticketflow import (
    Category,
    ClosedPolicy,
    EventKind,
    FakeClock,
    Helpdesk,
    InvalidInputError,
    MemoryStore,
    Priority,
    Requester,
    Ticket,
    TicketLockedError,
    TransitionError,
    Workflow,
)
from ticketflow._workflow import COMMANDS
from ticketflow.testing import (
    Command,
    apply_command,
    check_ticket_invariants,
    commands,
    open_ticket_kwargs,
    presets,
    workflows,
)

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
MAX_TICKETS = 4
REFUSALS = (TransitionError, TicketLockedError, InvalidInputError)
MESSAGE_COMMANDS = frozenset({"agent_reply", "customer_reply", "note"})

FIRE_REFUSED = frozenset({"agent_reply", "customer_reply", "note", "postpone", "merge", "purge"})
"""Commands whose triggers `Helpdesk.fire` refuses: they need their own arguments."""

SIMPLE_COMMANDS: Mapping[str, tuple[str, EventKind]] = {
    "resolve": ("resolve", EventKind.RESOLVED),
    "reopen": ("reopen", EventKind.REOPENED),
    "close": ("close", EventKind.CLOSED),
    "wake": ("wake", EventKind.WOKEN),
    "mark_spam": ("spam", EventKind.MARKED_SPAM),
    "delete": ("delete", EventKind.DELETED),
    "restore": ("restore", EventKind.RESTORED),
}
"""Helpdesk methods that only fire their workflow command: (command, event kind)."""

GUIDED: Mapping[str, Command] = {
    "agent_reply": Command("agent_reply", {"body": "On it", "by": "bob"}),
    "customer_reply": Command("customer_reply", {"body": "Thanks"}),
    "note": Command("add_note", {"body": "Checked the logs", "by": "bob"}),
    "resolve": Command("resolve", {"by": "bob"}),
    "reopen": Command("reopen", {"by": "bob"}),
    "close": Command("close", {"by": "bob"}),
    "confirm": Command("confirm_resolution", {"rating": 5}),
    "postpone": Command("postpone", {"delay": timedelta(days=1), "by": "bob"}),
    "wake": Command("wake", {"by": "bob"}),
    "spam": Command("mark_spam", {"by": "bob"}),
    "delete": Command("delete", {"by": "bob"}),
    "restore": Command("restore", {"by": "bob"}),
}
"""The `Command` for each workflow command (merge has its own rule; purge, a dead end, is
left to the random commands)."""

KINDS = {
    "agent_reply": EventKind.AGENT_REPLIED,
    "customer_reply": EventKind.CUSTOMER_REPLIED,
    "note": EventKind.NOTE_ADDED,
    "resolve": EventKind.RESOLVED,
    "reopen": EventKind.REOPENED,
    "close": EventKind.CLOSED,
    "confirm": EventKind.CONFIRMED,
    "postpone": EventKind.POSTPONED,
    "wake": EventKind.WOKEN,
    "spam": EventKind.MARKED_SPAM,
    "delete": EventKind.DELETED,
    "restore": EventKind.RESTORED,
    "merge": EventKind.MERGED,
    "purge": EventKind.PURGED,
}

CLOCK_STEPS = st.one_of(
    st.sampled_from(
        [
            timedelta(0),
            timedelta(microseconds=1),
            timedelta(minutes=1),
            timedelta(hours=1),
            timedelta(days=1),
            timedelta(days=7),
        ]
    ),
    st.timedeltas(timedelta(0), timedelta(days=40)),
)
FIRST_TICKETS = st.lists(open_ticket_kwargs(), min_size=1, max_size=3)
"""The tickets every run starts with (Hypothesis may switch the open_ticket rule off)."""
EDGE_OFFSETS = st.sampled_from(
    [-timedelta(microseconds=1), timedelta(0), timedelta(microseconds=1)]
)


# --- the reference model ----------------------------------------------------------------


class Refused(Exception):  # the model's word for "the desk must refuse"
    """The reference predicts that the command is refused with ``error``."""

    def __init__(self, error: type[Exception]) -> None:
        super().__init__(error.__name__)
        self.error = error


@attrs.define
class Ref:
    """What the reference model knows a ticket must hold."""

    status: str
    version: int
    assignee: str | None
    department: str | None
    priority: Priority
    tags: frozenset[str]
    fields: dict[str, Any]
    entered_at: datetime
    """When the ticket entered its current status."""
    was_new: bool = False
    """The last postpone that moved the ticket left the initial status."""
    merged_into: str | None = None


@attrs.frozen
class Expect:
    """What a command must do: refuse, change nothing, or save these tickets."""

    error: type[Exception] | None = None
    saves: Mapping[str, tuple[EventKind, str]] = attrs.field(factory=dict)
    """Ticket id -> (kind of the last new event, status after it)."""
    leading: Mapping[str, tuple[tuple[EventKind, str], ...]] = attrs.field(factory=dict)
    """Ticket id -> the events of the same save before the last (a kept or restoring reply)."""
    follow_up_of: str | None = None
    returns: str | None = None
    """The id of the ticket the method returns (a follow-up's is not known beforehand)."""


def sources(workflow: Workflow, trigger_sources: tuple[str, ...], dest: str) -> set[str]:
    """A transition's source statuses, ``"*"`` read as documented on `Transition`."""
    if trigger_sources == ("*",):
        return {s.name for s in workflow.statuses if not s.final and s.name != dest}
    return set(trigger_sources)


def guard_passes(guard: str, ref: Ref) -> bool:
    """The built-in guards, as documented."""
    if guard == "has_assignee":
        return ref.assignee is not None
    if guard == "has_department":
        return ref.department is not None
    assert "was_new" == guard
    return ref.was_new


def decide_trigger(workflow: Workflow, ref: Ref, trigger: str) -> str:
    """The first transition of ``trigger`` from the status whose guard passes wins."""
    candidates = [
        t
        for t in workflow.transitions
        if t.trigger == trigger and ref.status in sources(workflow, t.sources, t.dest)
    ]
    for transition in candidates:
        if transition.guard is None or guard_passes(transition.guard, ref):
            return transition.dest
    raise Refused(TransitionError)


def decide(workflow: Workflow, ref: Ref, command: str) -> str:
    """Where ``command`` leads; unmapped message commands keep the status."""
    trigger = workflow.events.get(command)
    if trigger is None:
        if command in MESSAGE_COMMANDS:
            return ref.status
        raise Refused(TransitionError)
    return decide_trigger(workflow, ref, trigger)


def reply_policy(workflow: Workflow, status: str) -> ClosedPolicy | None:
    """The policy a customer reply in ``status`` follows, as documented; None: the graph."""
    s = workflow.status(status)
    if s.final:
        return None
    reply = workflow.events.get("customer_reply")
    if s.category is Category.CLOSED:
        default = workflow.closed_policy
    elif s.category is Category.TRASH and not any(
        t.trigger == reply and status in sources(workflow, t.sources, t.dest)
        for t in workflow.transitions
    ):
        default = workflow.trash_policy
    else:
        return None
    return workflow.reply_policy.get(status, default)


def offset_name(offset: timedelta) -> str:
    return {timedelta(0): "exactly"}.get(offset, "-1 us" if offset < timedelta(0) else "+1 us")


def event_shape(ticket: Ticket) -> list[tuple[object, ...]]:
    """What a purge must keep of a timeline: kinds, times, statuses, versions."""
    return [(e.kind, e.at, e.status_before, e.status_after, e.version) for e in ticket.timeline]


# --- the state machine --------------------------------------------------------------------


class LifecycleMachine(RuleBasedStateMachine):
    """Drive one help desk and the reference model side by side (subclasses pick workflows)."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: list[str] = []
        self.refs: dict[str, Ref] = {}
        self.checked: dict[str, Ticket] = {}

    def start(self, workflow: Workflow, first_tickets: list[Mapping[str, Any]]) -> None:
        self.workflow = workflow
        self.clock = FakeClock(START)
        # The commands alone, without the presets' default rules: the rules have
        # their own properties in test_rules.py.
        self.desk = Helpdesk(workflow, store=MemoryStore(), clock=self.clock, rules=[])
        self.steps = commands(workflow, invalid=True)
        for kwargs in first_tickets:
            self.open_ticket(kwargs, None)

    # --- helpers ---------------------------------------------------------------------

    def locked(self, status: str) -> bool:
        s = self.workflow.status(status)
        return s.final or s.category is Category.CLOSED

    def final(self, status: str) -> bool:
        return self.workflow.status(status).final

    def within_reopen_window(self, ref: Ref) -> bool:
        window = self.workflow.reopen_window
        return window is None or self.clock.now() - ref.entered_at <= window

    def new_ref(self, ticket: Ticket) -> Ref:
        return Ref(
            status=self.workflow.initial,
            version=1,
            assignee=ticket.assignee,
            department=ticket.department,
            priority=ticket.priority,
            tags=ticket.tags,
            fields=dict(ticket.custom_fields),
            entered_at=self.clock.now(),
        )

    # --- predictions -----------------------------------------------------------------

    def predict(self, ticket_id: str, step: Command) -> Expect:
        try:
            return self._predict(ticket_id, step.name, step.kwargs)
        except Refused as refusal:
            return Expect(error=refusal.error)

    def _predict(  # noqa: C901 - one branch per command
        self, ticket_id: str, name: str, kwargs: Mapping[str, object]
    ) -> Expect:
        wf = self.workflow
        ref = self.refs[ticket_id]
        body = kwargs.get("body")
        if isinstance(body, str) and not body.strip():
            raise Refused(InvalidInputError)  # a reply or note of nothing
        if name in ("agent_reply", "add_note"):
            command = "note" if name == "add_note" else name
            return self.status_command(ticket_id, command, KINDS[command])
        if name == "customer_reply":
            return self.predict_customer_reply(ticket_id)
        if name in SIMPLE_COMMANDS:
            command, kind = SIMPLE_COMMANDS[name]
            return self.status_command(ticket_id, command, kind)
        if name == "confirm_resolution":
            rating = kwargs["rating"]
            if rating is not None and (
                isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5
            ):
                raise Refused(InvalidInputError)
            # A confirmation is recorded on a resolved ticket and moves nothing.
            ref = self.refs[ticket_id]
            self.refuse_if_locked(ref)
            if wf.category(ref.status) is not Category.RESOLVED:
                raise Refused(TransitionError)
            return Expect(saves={ticket_id: (EventKind.CONFIRMED, ref.status)}, returns=ticket_id)
        if name == "postpone":
            delay = kwargs["delay"]
            assert isinstance(delay, timedelta)
            if delay <= timedelta(0):
                raise Refused(InvalidInputError)
            return self.status_command(ticket_id, "postpone", EventKind.POSTPONED)
        if name == "fire":
            trigger = kwargs["trigger"]
            assert isinstance(trigger, str)
            command = next((c for c in COMMANDS if wf.events.get(c) == trigger), None)
            if command in FIRE_REFUSED:
                raise Refused(InvalidInputError)
            self.refuse_if_locked(ref)
            dest = decide_trigger(wf, ref, trigger)
            kind = EventKind.TRANSITIONED if command is None else KINDS[command]
            return Expect(saves={ticket_id: (kind, dest)}, returns=ticket_id)
        if name == "purge":
            if self.final(ref.status):
                raise Refused(TicketLockedError)
            dest = decide(wf, ref, "purge")
            saves = {ticket_id: (EventKind.PURGED, dest)}
            # Every ticket it was merged into (on along the chain) records the erasure
            # of its copies, unless it is purged already.
            into, seen = ref.merged_into, {ticket_id}
            while into is not None and into not in seen:
                seen.add(into)
                target = self.refs[into]
                if not self.final(target.status):
                    saves[into] = (EventKind.ERASED, target.status)
                into = target.merged_into
            return Expect(saves=saves, returns=ticket_id)
        return self.predict_field_change(ticket_id, name, kwargs)

    def refuse_if_locked(self, ref: Ref) -> None:
        if self.locked(ref.status):
            raise Refused(TicketLockedError)

    def status_command(self, ticket_id: str, command: str, kind: EventKind) -> Expect:
        ref = self.refs[ticket_id]
        self.refuse_if_locked(ref)
        dest = decide(self.workflow, ref, command)
        return Expect(saves={ticket_id: (kind, dest)}, returns=ticket_id)

    def predict_customer_reply(self, ticket_id: str) -> Expect:  # noqa: C901 - one path each
        wf = self.workflow
        target_id = ticket_id
        target = self.refs[target_id]
        if self.locked(target.status) or reply_policy(wf, target.status) is not None:
            # A reply to a merged ticket goes to the ticket it was merged into (not from
            # a purged one: a purged ticket takes no reply).
            while target.merged_into is not None and not self.final(target.status):
                target_id = target.merged_into
                target = self.refs[target_id]
            policy = reply_policy(wf, target.status)
            if policy is not None:
                event(f"reply to a {wf.category(target.status).value} ticket: {policy.value}")
                if policy is ClosedPolicy.REFUSE:
                    raise Refused(TicketLockedError)
                if policy is ClosedPolicy.REOPEN:
                    inside = self.within_reopen_window(target)
                    event(f"reply to a closed ticket {'within' if inside else 'after'} the window")
                    if self.clock.now() - target.entered_at == wf.reopen_window:
                        event("reply to a closed ticket exactly at the window's end")
                if policy is ClosedPolicy.REOPEN and self.within_reopen_window(target):
                    if wf.category(target.status) is not Category.TRASH:
                        dest = decide(wf, target, "customer_reply")
                        saves = {target_id: (EventKind.CUSTOMER_REPLIED, dest)}
                        return Expect(saves=saves, returns=target_id)
                    try:
                        restored = decide(wf, target, "restore")
                    except Refused:
                        policy = ClosedPolicy.KEEP  # a guard refused the restore
                    else:
                        try:
                            dest = decide(
                                wf, attrs.evolve(target, status=restored), "customer_reply"
                            )
                        except Refused:
                            dest = restored
                        return Expect(
                            saves={target_id: (EventKind.CUSTOMER_REPLIED, dest)},
                            leading={target_id: ((EventKind.RESTORED, restored),)},
                            returns=target_id,
                        )
                if policy is ClosedPolicy.KEEP:
                    kept = (EventKind.CUSTOMER_REPLIED, target.status)
                    if wf.review_tag in target.tags:
                        return Expect(saves={target_id: kept}, returns=target_id)
                    return Expect(
                        saves={target_id: (EventKind.TAGS_ADDED, target.status)},
                        leading={target_id: (kept,)},
                        returns=target_id,
                    )
                if policy is not ClosedPolicy.REOPEN or not self.within_reopen_window(target):
                    return Expect(follow_up_of=target_id)
            if self.locked(target.status):
                raise Refused(TicketLockedError)  # a purged ticket
        if not wf.reopen_resolved and wf.category(target.status) is Category.RESOLVED:
            dest = target.status
        else:
            dest = decide(wf, target, "customer_reply")
        return Expect(saves={target_id: (EventKind.CUSTOMER_REPLIED, dest)}, returns=target_id)

    def predict_field_change(
        self, ticket_id: str, name: str, kwargs: Mapping[str, object]
    ) -> Expect:
        ref = self.refs[ticket_id]
        unchanged = Expect(returns=ticket_id)
        if name == "set_priority":
            try:
                priority = Priority.parse(kwargs["priority"])  # type: ignore[arg-type]
            except InvalidInputError:
                raise Refused(InvalidInputError) from None
            self.refuse_if_locked(ref)
            changed = priority is not ref.priority
            kind = EventKind.PRIORITY_CHANGED
        elif name == "set_field":
            try:
                json.dumps(kwargs["value"], allow_nan=False)
            except ValueError:
                raise Refused(InvalidInputError) from None
            self.refuse_if_locked(ref)
            field = kwargs["name"]
            assert isinstance(field, str)
            changed = field not in ref.fields or ref.fields[field] != kwargs["value"]
            kind = EventKind.FIELD_SET
        elif name in ("add_tags", "remove_tags"):
            self.refuse_if_locked(ref)
            tags = set(kwargs["tags"])  # type: ignore[call-overload]
            changed = bool(tags - ref.tags) if name == "add_tags" else bool(tags & ref.tags)
            kind = EventKind.TAGS_ADDED if name == "add_tags" else EventKind.TAGS_REMOVED
        elif name == "assign":
            self.refuse_if_locked(ref)
            changed = ("agent" in kwargs and kwargs["agent"] != ref.assignee) or (
                "department" in kwargs and kwargs["department"] != ref.department
            )
            kind = EventKind.ASSIGNED
        else:
            raise AssertionError(f"the model does not know command {name!r}")
        if not changed:
            return unchanged
        return Expect(saves={ticket_id: (kind, ref.status)}, returns=ticket_id)

    # --- applying a prediction to the model ------------------------------------------

    def record(self, ticket_id: str, kind: EventKind, dest: str, kwargs: Mapping[str, Any]) -> None:
        ref = self.refs[ticket_id]
        now = self.clock.now()
        if dest != ref.status:
            if kind is EventKind.POSTPONED:
                ref.was_new = ref.status == self.workflow.initial
            ref.entered_at = now
        ref.status = dest
        ref.version += 1
        if kind is EventKind.ASSIGNED:
            ref.assignee = kwargs.get("agent", ref.assignee)
            ref.department = kwargs.get("department", ref.department)
        elif kind is EventKind.PRIORITY_CHANGED:
            ref.priority = Priority.parse(kwargs["priority"])
        elif kind is EventKind.TAGS_ADDED:
            ref.tags = ref.tags | set(kwargs["tags"])
        elif kind is EventKind.TAGS_REMOVED:
            ref.tags = ref.tags - set(kwargs["tags"])
        elif kind is EventKind.FIELD_SET:
            ref.fields[kwargs["name"]] = kwargs["value"]
        elif kind is EventKind.MERGED:
            ref.merged_into = kwargs["into_id"]
        elif kind is EventKind.PURGED:
            ref.fields = {}
            ref.tags = frozenset()

    def record_save(
        self,
        ticket_id: str,
        events: tuple[tuple[EventKind, str], ...],
        kwargs: Mapping[str, Any],
    ) -> None:
        """Record the events of one save (a kept reply's flag, a restore before a reply)."""
        for kind, dest in events[:-1]:
            self.record(ticket_id, kind, dest, kwargs)
            self.refs[ticket_id].version -= 1  # one save, one version
        kind, dest = events[-1]
        if kind is EventKind.TAGS_ADDED and len(events) > 1:
            kwargs = {"tags": [self.workflow.review_tag]}  # a kept reply's flag
        self.record(ticket_id, kind, dest, kwargs)

    # --- running a command and checking it --------------------------------------------

    def snapshot(self) -> dict[str, Ticket]:
        return {ticket_id: self.desk.get(ticket_id) for ticket_id in self.ids}

    def execute(
        self, action: Callable[[], Ticket], expect: Expect, kwargs: Mapping[str, Any]
    ) -> None:
        before = self.snapshot()
        now = self.clock.now()
        if expect.error is not None:
            event(f"refused: {expect.error.__name__}")
        elif expect.follow_up_of is not None:
            event("follow-up opened")
        elif not expect.saves:
            event("nothing to save")
        else:
            event("saved: " + ", ".join(sorted(k.value for k, _ in expect.saves.values())))
        try:
            result = action()
        except REFUSALS as exc:
            refusal: Exception | None = exc
        else:
            refusal = None
        if refusal is not None:
            # A refused command changes nothing in the store.
            assert before == self.snapshot()
            assert len(self.ids) == self.desk.store.count()
            assert expect.error is type(refusal), f"expected {expect}, the desk refused: {refusal}"
            return
        assert expect.error is None, f"expected {expect.error.__name__}, the command succeeded"
        self.check_follow_up(expect, result, before, now)
        after = self.snapshot()
        for ticket_id, old in before.items():
            new = after[ticket_id]
            if ticket_id not in expect.saves:
                assert old == new, f"ticket {ticket_id} changed, but nothing was to be saved"
                continue
            kind, dest = expect.saves[ticket_id]
            leading = expect.leading.get(ticket_id, ())
            self.check_saved(old, new, kind, dest, now, leading)
            self.record_save(ticket_id, (*leading, (kind, dest)), kwargs)
        if expect.returns is not None:
            assert after[expect.returns] == result

    def check_saved(
        self,
        old: Ticket,
        new: Ticket,
        kind: EventKind,
        dest: str,
        now: datetime,
        leading: tuple[tuple[EventKind, str], ...] = (),
    ) -> None:
        """One save: the predicted events, kinds and destinations, at the clock's now."""
        if leading:
            added = new.timeline[len(old.timeline) :]
            assert [*leading, (kind, dest)] == [(e.kind, e.status_after) for e in added]
            assert {(now, old.version + 1)} == {(e.at, e.version) for e in added}
            assert old.version + 1 == new.version
            self.check_lock_exception(old, kind)
            return
        last = new.timeline[-1]
        assert (kind, old.status, dest, now, old.version + 1) == (
            last.kind,
            last.status_before,
            last.status_after,
            last.at,
            last.version,
        )
        assert old.version + 1 == new.version
        assert len(old.timeline) + 1 == len(new.timeline)
        if kind in (EventKind.PURGED, EventKind.ERASED):
            # A purge scrubs the timeline (and the copies in merge targets): kinds,
            # times, statuses and versions stay.
            assert event_shape(old) == event_shape(new)[:-1]
        else:
            assert old.timeline == new.timeline[:-1]
        self.check_lock_exception(old, kind)

    def check_lock_exception(self, old: Ticket, kind: EventKind) -> None:
        """A closed or merged ticket changes only by purge or a reopen the policy allows."""
        if not (self.locked(old.status) or old.merged_into is not None):
            return
        event(f"a locked or merged ticket changed: {kind.value}")
        if kind in (EventKind.PURGED, EventKind.ERASED):
            assert not self.final(old.status)
            return
        policy = reply_policy(self.workflow, old.status)
        assert old.merged_into is None
        if kind is EventKind.TAGS_ADDED or policy is ClosedPolicy.KEEP:
            assert ClosedPolicy.KEEP is policy, f"{kind} changed locked ticket {old.id}"
            return
        assert kind is EventKind.CUSTOMER_REPLIED, f"{kind} changed locked ticket {old.id}"
        assert ClosedPolicy.REOPEN is policy
        assert self.within_reopen_window(self.refs[old.id])

    def check_follow_up(
        self, expect: Expect, result: Ticket, before: Mapping[str, Ticket], now: datetime
    ) -> None:
        new_ids = {t.id for t in self.desk.find()} - set(before)
        if expect.follow_up_of is None:
            assert set() == new_ids
            return
        # A reply to a closed ticket outside the reopen policy opens a linked follow-up.
        assert {result.id} == new_ids
        parent = before[expect.follow_up_of]
        assert (expect.follow_up_of, self.workflow.initial, 1, now) == (
            result.parent_id,
            result.status,
            result.version,
            result.created_at,
        )
        assert (parent.subject, parent.requester, parent.priority, parent.tags) == (
            result.subject,
            result.requester,
            result.priority,
            result.tags,
        )
        assert (parent.assignee, parent.department) == (result.assignee, result.department)
        self.ids.append(result.id)
        self.refs[result.id] = self.new_ref(result)

    # --- rules -----------------------------------------------------------------------

    # Not a precondition: a rule that is often disabled makes Hypothesis give up examples.
    @rule(kwargs=open_ticket_kwargs(), data=st.data())
    def open_ticket(self, kwargs: Mapping[str, Any], data: st.DataObject | None) -> None:
        """A new ticket starts in the initial status, version 1, at the clock's time."""
        if len(self.ids) >= MAX_TICKETS:
            return
        if data is not None and data.draw(st.booleans(), label="follow-up"):
            kwargs = {**kwargs, "parent_id": data.draw(st.sampled_from(self.ids), label="parent")}
        ticket = self.desk.open_ticket(**kwargs)
        assert (self.workflow.initial, 1, self.clock.now()) == (
            ticket.status,
            ticket.version,
            ticket.created_at,
        )
        assert kwargs.get("parent_id") == ticket.parent_id
        assert ticket.id not in self.refs
        self.ids.append(ticket.id)
        self.refs[ticket.id] = self.new_ref(ticket)

    @rule(data=st.data())
    def command(self, data: st.DataObject) -> None:
        """Any command on any ticket does what the reference model predicts."""
        ticket_id = data.draw(st.sampled_from(self.ids), label="ticket")
        step = data.draw(self.steps, label="step")
        self.run(ticket_id, step)

    @rule(
        data=st.data(),
        body=st.text(
            st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=5
        ),
    )
    def customer_reply(self, data: st.DataObject, body: str) -> None:
        """A customer reply (the command with the most paths) does what the model predicts."""
        ticket_id = data.draw(st.sampled_from(self.ids), label="ticket")
        self.run(ticket_id, Command("customer_reply", {"body": body}))

    @rule(data=st.data())
    def allowed_command(self, data: st.DataObject) -> None:
        """A command the workflow lists as allowed does what the model predicts.

        Random commands are mostly refused; this rule moves tickets deep into their
        graphs (to closed, merged and purged statuses) where the lock rules apply.
        """
        ticket_id = data.draw(st.sampled_from(self.ids), label="ticket")
        status = self.refs[ticket_id].status
        steps = [GUIDED[c] for c in self.desk.allowed(ticket_id) if c in GUIDED]
        # Triggers no command maps to are reached through `Helpdesk.fire`.
        mapped = set(self.workflow.events.values())
        steps.extend(
            Command("fire", {"trigger": t.trigger})
            for t in self.workflow.transitions
            if t.trigger not in mapped and status in sources(self.workflow, t.sources, t.dest)
        )
        if steps:
            self.run(ticket_id, data.draw(st.sampled_from(steps), label="allowed step"))

    def run(self, ticket_id: str, step: Command) -> None:
        expect = self.predict(ticket_id, step)
        self.execute(lambda: apply_command(self.desk, ticket_id, step), expect, step.kwargs)

    @rule(data=st.data())
    def merge(self, data: st.DataObject) -> None:
        """A merge moves the source to the merged status and records it on both tickets."""
        source = data.draw(st.sampled_from(self.ids), label="source")
        into = data.draw(st.sampled_from(self.ids), label="into")
        expect = Expect(error=InvalidInputError)
        if source != into:
            src, dst = self.refs[source], self.refs[into]
            try:
                self.refuse_if_locked(src)
                self.refuse_if_locked(dst)
                dest = decide(self.workflow, src, "merge")
                saves = {
                    source: (EventKind.MERGED, dest),
                    into: (EventKind.MERGE_RECEIVED, dst.status),
                }
                expect = Expect(saves=saves, returns=into)
            except Refused as refusal:
                expect = Expect(error=refusal.error)
        # Tickets of different requesters: the merge is allowed explicitly (safe merges
        # are tested in tests/unit/test_permissions.py).
        self.execute(
            lambda: self.desk.merge(source, into, allow_other_requester=True, by="bob"),
            expect,
            {"into_id": into},
        )

    @rule(step=CLOCK_STEPS)
    def advance_clock(self, step: timedelta) -> None:
        self.clock.advance(step)

    @rule(data=st.data(), offset=EDGE_OFFSETS)
    def reply_at_reopen_deadline(self, data: st.DataObject, offset: timedelta) -> None:
        """A reply a microsecond before, at or after a closed ticket's reopen deadline.

        The deadline is the reopen window after the ticket entered its closed status,
        by whatever command; the model predicts reopen (up to and at the deadline) or
        the closed policy's other answer.
        """
        window = self.workflow.reopen_window
        closed = [
            i
            for i in self.ids
            if self.locked(self.refs[i].status) and self.refs[i].merged_into is None
        ]
        if window is None or not closed:
            return
        ticket_id = data.draw(st.sampled_from(closed), label="closed ticket")
        deadline = self.refs[ticket_id].entered_at + window + offset
        if deadline >= self.clock.now():
            self.clock.set(deadline)
            event(f"reply at the reopen deadline {offset_name(offset)}")
        self.run(ticket_id, Command("customer_reply", {"body": "Still broken"}))

    # --- invariants ------------------------------------------------------------------

    @invariant()
    def every_ticket_keeps_the_guarantees(self) -> None:
        """Every stored ticket passes `check_ticket_invariants` and matches the model."""
        tickets = self.desk.find()
        assert sorted(self.ids) == [t.id for t in tickets]
        for ticket in tickets:
            ref = self.refs[ticket.id]
            assert (
                ref.status,
                ref.version,
                ref.assignee,
                ref.department,
                ref.priority,
                ref.tags,
                ref.fields,
                ref.merged_into,
            ) == (
                ticket.status,
                ticket.version,
                ticket.assignee,
                ticket.department,
                ticket.priority,
                ticket.tags,
                dict(ticket.custom_fields),
                ticket.merged_into,
            )
            # Unchanged snapshots were checked already; tickets are immutable.
            if self.checked.get(ticket.id) is not ticket:
                check_ticket_invariants(self.desk, ticket)
                self.checked[ticket.id] = ticket


class PresetLifecycle(LifecycleMachine):
    """The lifecycle machine on the presets, with random settings."""

    @initialize(workflow=presets(), first_tickets=FIRST_TICKETS)
    def use_workflow(self, workflow: Workflow, first_tickets: list[Mapping[str, Any]]) -> None:
        self.start(workflow, first_tickets)


class RandomWorkflowLifecycle(LifecycleMachine):
    """The lifecycle machine on random valid workflows."""

    @initialize(workflow=workflows(), first_tickets=FIRST_TICKETS)
    def use_workflow(self, workflow: Workflow, first_tickets: list[Mapping[str, Any]]) -> None:
        self.start(workflow, first_tickets)


TestPresetLifecycle = PresetLifecycle.TestCase
TestRandomWorkflowLifecycle = RandomWorkflowLifecycle.TestCase


# --- the reopen window, pinned down --------------------------------------------------------

ARCHIVING = Workflow.from_dict(
    {
        "name": "archiving",
        "initial": "open",
        "settings": {"closed_policy": "reopen"},
        "statuses": [
            {"name": "open", "category": "open"},
            {"name": "closed", "category": "closed"},
            {"name": "archived", "category": "closed"},
        ],
        "transitions": [
            {"trigger": "close", "sources": ["open"], "dest": "closed"},
            {"trigger": "archive", "sources": ["open"], "dest": "archived"},
            {"trigger": "reply", "sources": ["open", "closed", "archived"], "dest": "open"},
        ],
        "events": {"close": "close", "customer_reply": "reply"},
    }
)
"""Closing records ``closed_at``; archiving (a trigger no command maps) enters a closed
status without a ``closed`` event."""


@given(
    window=st.timedeltas(timedelta(seconds=1), timedelta(days=30)),
    first=st.timedeltas(timedelta(0), timedelta(days=60)),
    second=st.timedeltas(timedelta(0), timedelta(days=60)),
)
def test_reopen_window_runs_from_entering_the_closed_status(
    window: timedelta, first: timedelta, second: timedelta
) -> None:
    """A reply reopens a closed ticket within ``reopen_window`` of it entering that status,
    whatever command closed it; later it opens a follow-up."""
    workflow = attrs.evolve(ARCHIVING, reopen_window=window)
    clock = FakeClock(START)
    desk = Helpdesk(workflow, clock=clock)
    ticket = desk.open_ticket(subject="VPN", requester=Requester(name="Ann"))
    desk.close(ticket.id)
    clock.advance(first)
    after_close = desk.customer_reply(ticket.id, "Still down")
    assert (first <= window) == (ticket.id == after_close.id)
    if ticket.id != after_close.id:
        return
    desk.fire(ticket.id, "archive")
    clock.advance(second)
    after_archive = desk.customer_reply(ticket.id, "Down again")
    assert (second <= window) == (ticket.id == after_archive.id)
    expected_status = "open" if second <= window else "archived"
    assert expected_status == desk.get(ticket.id).status
