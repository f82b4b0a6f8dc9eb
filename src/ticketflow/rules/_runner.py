"""A compiled rule set: runs event rules after commands and computes and fires time rules.

It works on immutable tickets and returns new tickets plus the events it appended;
the engine commits them. Everything here is deterministic given the ticket and the
time, which is what makes `Helpdesk.run_due` chunking-independent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Final, final

import attrs

from .._apply import fired_due
from .._decide import Batch, decide
from .._model import EMPTY, Actor, Event, EventKind, Priority, Role, Ticket
from .._workflow import ClosedPolicy, Workflow
from ..commands import (
    BY_NAME,
    AddTags,
    Assign,
    Command,
    Escalate,
    Fire,
    Note,
    Notify,
    RemoveTags,
    SetField,
    SetPriority,
)
from ..exceptions import (
    InvalidInputError,
    RuleError,
    RuleLoopError,
    TicketLockedError,
    TransitionError,
)
from ._conditions import ConditionFn
from ._rules import ANCHORS, Rule

__all__ = ["NO_CHANGE", "Due", "RuleSet", "check_rules", "is_no_change"]

_Make = Callable[[Ticket], Command]
"""Builds one command value of an action for the ticket at hand."""


class _Stop:
    """The ``stop`` action: no command."""


_STOP: Final = _Stop()
_Action = tuple[_Make, ...] | _Stop

_ON_LOCKED: Final = frozenset({"notify", "stop"})
_REOPEN: Final = ClosedPolicy.REOPEN
"""The actions a rule may run on a locked ticket: they change nothing on it."""


@final
class _NotifyMaker:
    """A ``notify`` action's command: the one a rule may run on a locked ticket."""

    __slots__ = ("topic",)

    def __init__(self, topic: str) -> None:
        self.topic = topic

    def __call__(self, ticket: Ticket) -> Command:
        return Notify(ticket_id=ticket.id, topic=self.topic)


def _raise_priority(ticket: Ticket) -> Priority:
    return Priority(min(ticket.priority + 1, Priority.URGENT))


def _priority_maker(value: str) -> Callable[[Ticket], Command]:
    if value == "raise":
        return lambda t: SetPriority(ticket_id=t.id, priority=_raise_priority(t))
    priority = Priority.parse(value)
    return lambda t: SetPriority(ticket_id=t.id, priority=priority)


def _makers(key: str, value: Any) -> tuple[_Make, ...]:  # noqa: C901, PLR0911, PLR0912 - one per key
    """The command values one action (``{key: value}``, checked by `check_action`) runs."""
    if key == "command":
        cls = BY_NAME[value]
        return (lambda t: cls(ticket_id=t.id),)  # type: ignore[call-arg]
    if key == "trigger":
        return (lambda t: Fire(ticket_id=t.id, trigger=value),)
    if key == "assign":
        return (lambda t: Assign(ticket_id=t.id, agent=value),)
    if key == "assign_department":
        return (lambda t: Assign(ticket_id=t.id, department=value),)
    if key == "set_priority":
        return (_priority_maker(value),)
    if key in {"add_tags", "remove_tags"}:
        tags = frozenset(value)
        cls_tags = AddTags if key == "add_tags" else RemoveTags
        return (lambda t: cls_tags(ticket_id=t.id, tags=tags),)
    if key == "set_field":
        name, field_value = value["name"], value["value"]
        return (lambda t: SetField(ticket_id=t.id, field=name, value=field_value),)
    if key == "note":
        return (lambda t: Note(ticket_id=t.id, body=value),)
    if key == "notify":
        return (_NotifyMaker(value),)
    # escalate: the escalation, then its priority, assignee, department, notification
    level = value.get("level", 1)
    makers: list[_Make] = [lambda t: Escalate(ticket_id=t.id, level=level)]
    if "priority" in value:
        makers.append(_priority_maker(value["priority"]))
    if "assign" in value:
        agent = value["assign"]
        makers.append(lambda t: Assign(ticket_id=t.id, agent=agent))
    if "department" in value:
        department = value["department"]
        makers.append(lambda t: Assign(ticket_id=t.id, department=department))
    if "notify" in value:
        topic = value["notify"]
        makers.append(lambda t: Notify(ticket_id=t.id, topic=topic))
    return tuple(makers)


_PROBE: Final = "rule-check"  # a ticket id to build each action's commands once, to check them


class _ProbeTicket:
    """What an action's makers read of a ticket when they are checked."""

    id = _PROBE
    priority = Priority.NORMAL


def _compile_action(action: Mapping[str, Any], rule: str) -> _Action:
    """Compile one action to the command values it runs; check them once now.

    Raises:
        RuleError: the action's values make no valid command (a NaN field value).
    """
    ((key, value),) = action.items()
    if key == "stop":
        return _STOP
    if key == "command" and value not in BY_NAME:
        raise RuleError(f"rule {rule!r}, action 'command': no command {value!r}")
    makers = _makers(key, value)
    for make in makers:
        try:
            make(_ProbeTicket())  # type: ignore[arg-type]
        except InvalidInputError as exc:
            raise RuleError(f"rule {rule!r}, action {key!r}: {exc}") from None
    return makers


@final
@attrs.frozen(slots=True)
class Due:
    """The next time rule due for a ticket."""

    at: datetime
    rule: str


def _no_anchor(_ticket: Ticket) -> None:
    return None


@attrs.frozen(slots=True)
class _Compiled:
    rule: Rule
    condition: ConditionFn
    actor: Actor
    actions: tuple[_Action, ...]
    # A time rule's trigger, unpacked: next_due reads them for every rule on every commit.
    anchor: Callable[[Ticket], datetime | None] = _no_anchor
    delay: timedelta = timedelta()

    @property
    def name(self) -> str:
        return self.rule.name


class _ActionRefused(Exception):  # internal signal, never escapes
    """An action cannot run on the ticket now (the graph or the lock refuses)."""


@final
class RuleSet:
    """Rules compiled against one workflow.

    Args:
        workflow: The workflow the rules act through.
        rules: The rules.

    Raises:
        RuleError: duplicate names, or an action naming a command or trigger the
            workflow does not have.
    """

    __slots__ = (
        "_by_kind",
        "_event_rules",
        "_locked_time_rules",
        "_time_rules",
        "_workflow",
        "rules",
    )

    def __init__(self, workflow: Workflow, rules: Iterable[Rule]) -> None:
        self._workflow = workflow
        self.rules: tuple[Rule, ...] = tuple(sorted(rules, key=lambda r: (r.order, r.name)))
        names = [r.name for r in self.rules]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise RuleError(f"duplicate rule name(s): {', '.join(duplicates)}")
        compiled = []
        for rule in self.rules:
            for action in rule.actions:
                self._check_action_target(rule, action)
            compiled.append(
                _Compiled(
                    rule,
                    rule.compile(lambda s: workflow.category(s).value),
                    Actor(rule.name, Role.SYSTEM),
                    tuple(_compile_action(a, rule.name) for a in rule.actions),
                    *(() if rule.at is None else (ANCHORS[rule.at.anchor], rule.at.delay)),
                )
            )
        self._event_rules = tuple(c for c in compiled if not c.rule.is_time_rule)
        self._time_rules = tuple(c for c in compiled if c.rule.is_time_rule)
        # Time rules that only notify may fire on a locked ticket (a survey after closing).
        self._locked_time_rules = tuple(c for c in self._time_rules if _on_locked(c.rule))
        by_kind: dict[EventKind, list[_Compiled]] = {}
        for c in self._event_rules:
            for kind in c.rule.on or EventKind:
                by_kind.setdefault(kind, []).append(c)
        self._by_kind = {k: tuple(v) for k, v in by_kind.items()}

    def _check_action_target(self, rule: Rule, action: Mapping[str, Any]) -> None:
        wf = self._workflow
        if "command" in action:
            # A rule runs the commands that need nothing but their trigger (the
            # commands' own `triggered` flag), and only those the workflow maps.
            command = action["command"]
            cls = BY_NAME.get(command)
            if cls is None or not cls.triggered or command not in wf.events:
                known = ", ".join(c for c in wf.events if BY_NAME[c].triggered)
                raise RuleError(
                    f"rule {rule.name!r}, action 'command': workflow {wf.name!r} has no "
                    f"command {command!r} a rule can run; commands: {known}"
                )
        if "trigger" in action:
            trigger = action["trigger"]
            if trigger not in wf.triggers:
                raise RuleError(
                    f"rule {rule.name!r}, action 'trigger': workflow {wf.name!r} has no trigger "
                    f"{trigger!r}; triggers: {', '.join(wf.triggers)}"
                )
            command = wf.command_for(trigger)
            if command is not None and not BY_NAME[command].triggered:
                raise RuleError(
                    f"rule {rule.name!r}, action 'trigger': trigger {trigger!r} is the "
                    f"{command!r} command, which needs arguments a rule cannot give"
                )

    def __bool__(self) -> bool:
        return bool(self.rules)

    @property
    def has_time_rules(self) -> bool:
        """Whether any rule is a time rule."""
        return bool(self._time_rules)

    # --- executing actions ----------------------------------------------------------

    def _run_actions(
        self,
        actions: Sequence[_Action],
        actor: Actor,
        batch: Batch,
        at: datetime,
        tag: Mapping[str, Any],
    ) -> bool:
        """Run compiled actions as ``actor`` on ``batch``; return whether they asked to stop.

        Each action is one or more command values run through `decide`, as the
        `Helpdesk` runs them.

        Raises:
            _ActionRefused: an action is not possible now; the batch is then spoilt
                (callers run actions on a `Batch.fork`).
        """
        wf = self._workflow
        stop = False
        for action in actions:
            if isinstance(action, _Stop):
                stop = True
                continue
            if wf.is_locked(batch.ticket.status) and not all(
                isinstance(m, _NotifyMaker) for m in action
            ):
                raise _ActionRefused
            for make in action:
                try:
                    decide(batch, make(batch.ticket), actor, wf, at, tag)
                except (TransitionError, TicketLockedError, InvalidInputError):
                    raise _ActionRefused from None
        return stop

    def _try(
        self,
        compiled: _Compiled,
        batch: Batch,
        at: datetime,
        tag: Mapping[str, Any],
    ) -> tuple[bool, bool]:
        """Run the rule all or nothing on ``batch``; return (fired, stop)."""
        trial = batch.fork()
        try:
            stop = self._run_actions(compiled.actions, compiled.actor, trial, at, tag)
        except _ActionRefused:
            return False, False
        batch.adopt(trial)
        return True, stop

    def apply_actions(
        self,
        ticket: Ticket,
        actions: Sequence[Mapping[str, Any]],
        actor: Actor,
        at: datetime,
        events: list[Event],
        tag: Mapping[str, Any],
    ) -> Ticket | None:
        """Run ``actions`` (rule action data) all or nothing; ``None`` if one is refused.

        New events are appended to ``events`` (which may hold earlier events of the
        same commit) only when every action ran.

        Raises:
            RuleError: an action is malformed.
        """
        compiled = tuple(_compile_action(a, actor.id) for a in actions)
        batch = Batch(ticket, events)
        trial = batch.fork()
        try:
            self._run_actions(compiled, actor, trial, at, tag)
        except _ActionRefused:
            return None
        batch.adopt(trial)
        return batch.ticket

    # --- event rules ----------------------------------------------------------------

    def after_command(self, ticket: Ticket, events: list[Event], now: datetime) -> Ticket:
        """Run the event rules triggered by ``events`` (appended to in place); return the ticket.

        Rules run in order and see the changes of earlier rules; rules triggered by
        rule events are followed to a fixed point. Each rule fires at most once.

        Raises:
            RuleLoopError: a fired rule would fire again and change the ticket again
                (rules undoing each other); nothing is committed.
        """
        if not _listened(self._by_kind, events):  # the common case: no rule listens
            return ticket
        batch = Batch(ticket, events)
        self.react(batch, now)
        return batch.ticket

    def react(self, batch: Batch, now: datetime, start: int = 0) -> None:  # noqa: C901
        """Run the event rules triggered by the batch's events from ``start`` on.

        As `after_command`, on a `Batch` (the rules' events are appended to it).

        Raises:
            RuleLoopError: as `after_command`.
        """
        events = batch.events
        by_kind = self._by_kind
        if len(events) == start + 1:  # one command, one event: the common case, inline
            if events[start]._step.kind not in by_kind:  # noqa: SLF001 - kind is a property
                return
        elif not _listened(by_kind, events[start:]):
            return
        if self._workflow.is_locked(batch.ticket.status):
            return
        fired: dict[str, int] = {}  # rule -> len(events) after it fired
        seen = start
        at = events[-1].at
        while seen < len(events):
            kinds = {e.kind for e in events[seen:] if not is_no_change(e)}
            seen = len(events)
            candidates = sorted(
                {c.name: c for k in kinds for c in self._by_kind.get(k, ())}.values(),
                key=lambda c: (c.rule.order, c.name),
            )
            for compiled in candidates:
                if compiled.name in fired or self._workflow.is_locked(batch.ticket.status):
                    continue
                if not compiled.condition(batch.ticket, now):
                    continue
                ok, stop = self._try(compiled, batch, at, {"rule": compiled.name})
                if ok:
                    fired[compiled.name] = len(events)
                if stop:
                    return
        self._check_loops(batch, fired, now, at)

    def _check_loops(
        self,
        batch: Batch,
        fired: Mapping[str, int],
        now: datetime,
        at: datetime,
    ) -> None:
        ticket, events = batch.ticket, batch.events
        if self._workflow.is_locked(ticket.status):
            return
        for name, position in fired.items():
            compiled = next(c for c in self._event_rules if c.name == name)
            later = [e for e in events[position:] if e.actor.id != name]
            on = compiled.rule.on
            if not any(not on or e.kind in on for e in later):
                continue
            if not compiled.condition(ticket, now):
                continue
            trial = batch.fork()
            try:
                self._run_actions(compiled.actions, compiled.actor, trial, at, {"rule": name})
            except _ActionRefused:
                continue
            if _state(trial.ticket) != _state(ticket):
                others = sorted({e.actor.id for e in later if e.actor.role is Role.SYSTEM})
                raise RuleLoopError(
                    f"rules {', '.join(sorted({name, *others}))} keep undoing each other: "
                    f"rule {name!r} would fire again after {', '.join(others) or 'itself'}"
                )

    # --- time rules -----------------------------------------------------------------

    def next_due(self, ticket: Ticket) -> Due | None:
        """Return the earliest time rule that will fire for ``ticket``, or None.

        A rule is due at its trigger time ``D`` unless it already fired for ``D`` (one
        firing per episode, a firing that changed nothing included), its conditions
        do not hold at ``D`` for the ticket as it is, or its actions are not possible
        (the graph refuses them). On a locked ticket (closed) only the rules whose
        actions all notify can be due (a survey a day after closing); on a final
        one (purged) none. The ticket does not change before ``D`` without this
        being recomputed, so the answer is exact.
        """
        candidates = self._time_rules
        wf = self._workflow
        if candidates and wf.is_locked(ticket.status):
            # Locked: only the rules that notify, and nothing once final (purged).
            final = wf.status(ticket.status).final
            candidates = () if final else self._locked_time_rules
        if not candidates:
            return None
        best: tuple[datetime, int, str] | None = None
        for compiled in candidates:
            start = compiled.anchor(ticket)
            if start is None:
                continue
            due = start + compiled.delay
            key = (due, compiled.rule.order, compiled.name)
            if best is not None and key >= best:
                continue
            if _fired(ticket, compiled.name, due) or not compiled.condition(ticket, due):
                continue
            try:
                self._run_actions(
                    compiled.actions,
                    compiled.actor,
                    Batch(ticket),
                    due,
                    _due_tag(compiled.name, due, due),
                )
            except _ActionRefused:
                continue
            best = key
        return None if best is None else Due(best[0], best[2])

    def may_be_due(self, ticket: Ticket, at: datetime) -> bool:
        """Whether any time rule's trigger instant is at or before ``at`` (a cheap pre-check).

        Conditions, earlier firings and the lock are not looked at: `next_due`
        decides. False means that no time rule is due by ``at``.
        """
        for compiled in self._time_rules:
            start = compiled.anchor(ticket)
            if start is not None and start + compiled.delay <= at:
                return True
        return False

    def fire_due(
        self, ticket: Ticket, now: datetime, due: Due | None = None
    ) -> tuple[Ticket, list[Event]] | None:
        """Fire the earliest due time rule if it is due by ``now``; return the result.

        Events are stamped with the due time (or the ticket's last event time, if the
        ticket changed after the rule became due) and record ``processed_at``.
        ``due`` is `next_due` of this ticket if the caller has it already. A rule
        whose actions change nothing (an ``assign`` to the current assignee)
        records one ``transitioned`` event that leaves the status, marked
        ``no_change`` (see `is_no_change`), so that it is done for its episode.
        """
        batch = Batch(ticket)
        if not self.fire_into(batch, now, due):
            return None
        return batch.ticket, batch.events

    def fire_into(self, batch: Batch, now: datetime, due: Due | None = None) -> bool:
        """Fire the earliest due time rule on ``batch`` if it is due by ``now`` (see `fire_due`).

        Returns whether it fired; the events go into the batch (which may hold
        earlier events of the same commit), followed by the event rules' reactions.

        Raises:
            RuleLoopError: the event rules triggered by the rule's events loop.
        """
        ticket = batch.ticket
        if due is None:
            due = self.next_due(ticket)
        if due is None or due.at > now:
            return False
        compiled = next(c for c in self._time_rules if c.name == due.rule)
        at = max(due.at, ticket.updated_at)
        tag = _due_tag(due.rule, due.at, now)
        start = len(batch.events)
        ok, _ = self._try(compiled, batch, at, tag)
        if not ok:  # pragma: no cover - next_due checked the same actions
            return False
        if len(batch.events) == start:
            # Nothing changed: record that the rule is done for this episode, so
            # that next_due moves on and the commit raises the version.
            batch.emit(
                EventKind.TRANSITIONED, compiled.actor, ticket.status, at, {**tag, NO_CHANGE: True}
            )
            return True
        self.react(batch, at, start)
        return True


def _on_locked(rule: Rule) -> bool:
    """Whether every action of ``rule`` may run on a locked ticket (``notify``, ``stop``)."""
    return all(next(iter(action)) in _ON_LOCKED for action in rule.actions)


def _listened(by_kind: Mapping[EventKind, object], events: Sequence[Event]) -> bool:
    """Whether any rule listens to the kind of any of ``events``."""
    if len(events) == 1:  # one command, one event: without a generator
        return events[0]._step.kind in by_kind  # noqa: SLF001 - Event.kind is a property
    return any(e.kind in by_kind for e in events)


NO_CHANGE: Final = "no_change"
"""The data key that marks a time rule's firing that changed nothing (see `is_no_change`)."""


def is_no_change(event: Event) -> bool:
    """Whether ``event`` only records that a time rule fired and changed nothing."""
    data = event.data
    return data is not EMPTY and data.get(NO_CHANGE) is True and "rule" in data


def _due_tag(rule: str, due: datetime, processed: datetime) -> dict[str, Any]:
    return {"rule": rule, "due": due.isoformat(), "processed_at": processed.isoformat()}


def _fired(ticket: Ticket, rule: str, due: datetime) -> bool:
    """Whether ``rule`` already fired for ``due`` (or a later due: anchors only move on)."""
    latest = fired_due(ticket, rule)
    return latest is not None and due <= latest


def _state(ticket: Ticket) -> tuple[Any, ...]:
    return (
        ticket.status,
        ticket.priority,
        ticket.assignee,
        ticket.department,
        ticket.tags,
        dict(ticket.custom_fields),
    )


def check_rules(workflow: Workflow, rules: Iterable[Rule]) -> list[str]:
    """Return the problems of ``rules`` against ``workflow`` (empty when none).

    Reported: conditions that name statuses or categories the workflow does not
    have, actions naming unknown commands or triggers, and rules that can never
    fire: every status their conditions allow refuses their first command or
    trigger, or every one is locked (closed) and they do more than notify (a
    time rule anchored on ``closed`` included, unless replies reopen closed
    tickets). Rules are not changed; raising is left to the caller.
    """
    problems: list[str] = []
    statuses = {s.name for s in workflow.statuses}
    categories = {s.category.value for s in workflow.statuses}
    for rule in rules:
        try:
            RuleSet(workflow, [rule])
        except RuleError as exc:
            problems.append(str(exc))
            continue
        pinned = _pinned(rule, "status")
        problems.extend(
            f"rule {rule.name!r}: condition names unknown status {status!r}"
            for status in sorted(pinned - statuses)
        )
        problems.extend(
            f"rule {rule.name!r}: condition names category {cat!r}, "
            f"which no status of workflow {workflow.name!r} has"
            for cat in sorted(_pinned(rule, "category") - categories)
        )
        possible = (pinned & statuses) or statuses
        # Closed-at is set when a ticket is locked; only a reopening reply unlocks it.
        at = rule.at
        if at is not None and at.anchor == "closed" and workflow.closed_policy is not _REOPEN:
            possible = {s for s in possible if workflow.is_locked(s)}
        if not _on_locked(rule) and all(workflow.is_locked(s) for s in possible):
            problems.append(
                f"rule {rule.name!r} can never fire: it applies only to locked (closed) "
                f"statuses ({', '.join(sorted(possible))}), where a rule may only notify"
            )
            continue
        first = next((a for a in rule.actions if "command" in a or "trigger" in a), None)
        if first is None:
            continue
        trigger = workflow.events.get(first["command"]) if "command" in first else first["trigger"]
        sources = {
            s
            for t in workflow.transitions
            if t.trigger == trigger
            for s in workflow.expand_sources(t)
        }
        if not possible & sources:
            problems.append(
                f"rule {rule.name!r} can never fire: trigger {trigger!r} leaves none of "
                f"{', '.join(sorted(possible))}"
            )
    return problems


def _pinned(rule: Rule, field: str) -> set[str]:
    """Values an all-of condition pins ``field`` to (status is X / status in [...])."""
    data = rule.conditions
    if callable(data) or data is None:
        return set()
    if isinstance(data, Mapping):
        leaves = [data] if "field" in data else list(data.get("all", []))
    else:
        leaves = list(data)
    out: set[str] = set()
    for leaf in leaves:
        if isinstance(leaf, Mapping) and leaf.get("field") == field:
            if leaf.get("op", "is") == "is":
                out.add(leaf["value"])
            elif leaf.get("op") == "in":
                out.update(leaf["value"])
    return out
