"""A compiled rule set: runs event rules after commands and computes and fires time rules.

It works on immutable tickets and returns new tickets plus the events it appended;
the engine commits them. Everything here is deterministic given the ticket and the
time, which is what makes `Helpdesk.run_due` chunking-independent.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Final, final

import attrs

from .._apply import apply_event, fired_due
from .._model import Actor, Event, EventKind, Priority, Role, Ticket
from .._workflow import COMMAND_KINDS, Workflow
from ..exceptions import RuleError, RuleLoopError, TransitionError
from ._conditions import ConditionFn
from ._rules import Rule

__all__ = ["Due", "RuleSet", "check_rules"]

_SKIP_COMMANDS: Final = frozenset({"agent_reply", "customer_reply", "note", "merge", "purge"})


@final
@attrs.frozen(slots=True)
class Due:
    """The next time rule due for a ticket."""

    at: datetime
    rule: str


@attrs.frozen(slots=True)
class _Compiled:
    rule: Rule
    condition: ConditionFn
    actor: Actor

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

    __slots__ = ("_by_kind", "_event_rules", "_time_rules", "_workflow", "rules")

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
                )
            )
        self._event_rules = tuple(c for c in compiled if not c.rule.is_time_rule)
        self._time_rules = tuple(c for c in compiled if c.rule.is_time_rule)
        by_kind: dict[EventKind, list[_Compiled]] = {}
        for c in self._event_rules:
            for kind in c.rule.on or EventKind:
                by_kind.setdefault(kind, []).append(c)
        self._by_kind = {k: tuple(v) for k, v in by_kind.items()}

    def _check_action_target(self, rule: Rule, action: Mapping[str, Any]) -> None:
        wf = self._workflow
        if "command" in action:
            command = action["command"]
            if command in _SKIP_COMMANDS or command not in wf.events:
                known = ", ".join(c for c in wf.events if c not in _SKIP_COMMANDS)
                raise RuleError(
                    f"rule {rule.name!r}, action 'command': workflow {wf.name!r} has no "
                    f"command {command!r} a rule can run; commands: {known}"
                )
        if "trigger" in action and action["trigger"] not in wf.triggers:
            raise RuleError(
                f"rule {rule.name!r}, action 'trigger': workflow {wf.name!r} has no trigger "
                f"{action['trigger']!r}; triggers: {', '.join(wf.triggers)}"
            )

    def __bool__(self) -> bool:
        return bool(self.rules)

    @property
    def has_time_rules(self) -> bool:
        """Whether any rule is a time rule."""
        return bool(self._time_rules)

    # --- executing actions ----------------------------------------------------------

    def _emit(
        self,
        ticket: Ticket,
        events: list[Event],
        kind: EventKind,
        actor: Actor,
        dest: str,
        data: Mapping[str, Any],
        at: datetime,
    ) -> Ticket:
        # All events of one commit share the commit's version: the first event of a
        # commit raises it by one, the others repeat it.
        version = events[0].version if events else ticket.version + 1
        event = Event(
            kind=kind,
            at=at,
            actor=actor,
            status_before=ticket.status,
            status_after=dest,
            data=data,
            version=version,
        )
        events.append(event)
        return apply_event(ticket, event)

    def _run_actions(  # noqa: C901, PLR0912
        self,
        actions: Sequence[Mapping[str, Any]],
        actor: Actor,
        ticket: Ticket,
        at: datetime,
        events: list[Event],
        tag: Mapping[str, Any],
    ) -> tuple[Ticket, bool]:
        """Run actions as ``actor``; return the new ticket and whether they asked to stop.

        Raises:
            _ActionRefused: an action is not possible now; nothing is kept.
        """
        wf = self._workflow
        stop = False
        for action in actions:
            if wf.is_locked(ticket.status):
                raise _ActionRefused
            ((key, value),) = action.items()
            if key in {"command", "trigger"}:
                command = value if key == "command" else wf.command_for(value)
                trigger = wf.events[value] if key == "command" else value
                try:
                    dest = wf.fire(ticket, trigger, command)
                except TransitionError:
                    raise _ActionRefused from None
                kind = COMMAND_KINDS[command] if command else EventKind.TRANSITIONED
                data = tag if command else {**tag, "trigger": trigger}
                ticket = self._emit(ticket, events, kind, actor, dest, data, at)
            elif key in {"assign", "assign_department"}:
                field = "assignee" if key == "assign" else "department"
                if getattr(ticket, field) != value:
                    ticket = self._emit(
                        ticket,
                        events,
                        EventKind.ASSIGNED,
                        actor,
                        ticket.status,
                        {**tag, field: value},
                        at,
                    )
            elif key == "set_priority":
                ticket = self._set_priority(ticket, events, actor, value, tag, at)
            elif key in {"add_tags", "remove_tags"}:
                wanted = frozenset(value)
                change = wanted - ticket.tags if key == "add_tags" else wanted & ticket.tags
                if change:
                    kind = EventKind.TAGS_ADDED if key == "add_tags" else EventKind.TAGS_REMOVED
                    ticket = self._emit(
                        ticket,
                        events,
                        kind,
                        actor,
                        ticket.status,
                        {**tag, "tags": sorted(change)},
                        at,
                    )
            elif key == "set_field":
                name, new = value["name"], value["value"]
                if name not in ticket.custom_fields or ticket.custom_fields[name] != new:
                    ticket = self._emit(
                        ticket,
                        events,
                        EventKind.FIELD_SET,
                        actor,
                        ticket.status,
                        {**tag, "name": name, "value": new},
                        at,
                    )
            elif key == "note":
                ticket = self._emit(
                    ticket,
                    events,
                    EventKind.NOTE_ADDED,
                    actor,
                    ticket.status,
                    {**tag, "body": value},
                    at,
                )
            elif key == "notify":
                ticket = self._emit(
                    ticket,
                    events,
                    EventKind.NOTIFIED,
                    actor,
                    ticket.status,
                    {**tag, "topic": value},
                    at,
                )
            elif key == "escalate":
                ticket = self._escalate(ticket, events, actor, value, tag, at)
            elif key == "stop":
                stop = True
        return ticket, stop

    def _set_priority(
        self,
        ticket: Ticket,
        events: list[Event],
        actor: Actor,
        value: str,
        tag: Mapping[str, Any],
        at: datetime,
    ) -> Ticket:
        if value == "raise":
            new = Priority(min(ticket.priority + 1, Priority.URGENT))
        else:
            new = Priority.parse(value)
        if new is ticket.priority:
            return ticket
        return self._emit(
            ticket,
            events,
            EventKind.PRIORITY_CHANGED,
            actor,
            ticket.status,
            {**tag, "priority": new.label},
            at,
        )

    def _escalate(
        self,
        ticket: Ticket,
        events: list[Event],
        actor: Actor,
        value: Mapping[str, Any],
        tag: Mapping[str, Any],
        at: datetime,
    ) -> Ticket:
        level = value.get("level", 1)
        ticket = self._emit(
            ticket,
            events,
            EventKind.ESCALATED,
            actor,
            ticket.status,
            {**tag, "level": level},
            at,
        )
        if "priority" in value:
            ticket = self._set_priority(ticket, events, actor, value["priority"], tag, at)
        for key, field in (("assign", "assignee"), ("department", "department")):
            if key in value and getattr(ticket, field) != value[key]:
                ticket = self._emit(
                    ticket,
                    events,
                    EventKind.ASSIGNED,
                    actor,
                    ticket.status,
                    {**tag, field: value[key]},
                    at,
                )
        if "notify" in value:
            ticket = self._emit(
                ticket,
                events,
                EventKind.NOTIFIED,
                actor,
                ticket.status,
                {**tag, "topic": value["notify"]},
                at,
            )
        return ticket

    def _try(
        self,
        compiled: _Compiled,
        ticket: Ticket,
        at: datetime,
        events: list[Event],
        tag: Mapping[str, Any],
    ) -> tuple[Ticket, bool, bool]:
        """Run the rule all or nothing; return (ticket, fired, stop)."""
        trial: list[Event] = list(events)
        try:
            new, stop = self._run_actions(
                compiled.rule.actions, compiled.actor, ticket, at, trial, tag
            )
        except _ActionRefused:
            return ticket, False, False
        events[:] = trial
        return new, True, stop

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
        """
        trial: list[Event] = list(events)
        try:
            new, _ = self._run_actions(actions, actor, ticket, at, trial, tag)
        except _ActionRefused:
            return None
        events[:] = trial
        return new

    # --- event rules ----------------------------------------------------------------

    def after_command(self, ticket: Ticket, events: list[Event], now: datetime) -> Ticket:
        """Run the event rules triggered by ``events`` (appended to in place); return the ticket.

        Rules run in order and see the changes of earlier rules; rules triggered by
        rule events are followed to a fixed point. Each rule fires at most once.

        Raises:
            RuleLoopError: a fired rule would fire again and change the ticket again
                (rules undoing each other); nothing is committed.
        """
        by_kind = self._by_kind
        if not _listened(by_kind, events):  # the common case: no rule listens
            return ticket
        if self._workflow.is_locked(ticket.status):
            return ticket
        fired: dict[str, int] = {}  # rule -> len(events) after it fired
        seen = 0
        at = events[-1].at
        while seen < len(events):
            kinds = {e.kind for e in events[seen:]}
            seen = len(events)
            candidates = sorted(
                {c.name: c for k in kinds for c in self._by_kind.get(k, ())}.values(),
                key=lambda c: (c.rule.order, c.name),
            )
            for compiled in candidates:
                if compiled.name in fired or self._workflow.is_locked(ticket.status):
                    continue
                if not compiled.condition(ticket, now):
                    continue
                ticket, ok, stop = self._try(compiled, ticket, at, events, {"rule": compiled.name})
                if ok:
                    fired[compiled.name] = len(events)
                if stop:
                    return ticket
        self._check_loops(ticket, events, fired, now, at)
        return ticket

    def _check_loops(
        self,
        ticket: Ticket,
        events: Sequence[Event],
        fired: Mapping[str, int],
        now: datetime,
        at: datetime,
    ) -> None:
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
            trial: list[Event] = list(events)
            try:
                again, _ = self._run_actions(
                    compiled.rule.actions, compiled.actor, ticket, at, trial, {"rule": name}
                )
            except _ActionRefused:
                continue
            if _state(again) != _state(ticket):
                others = sorted({e.actor.id for e in later if e.actor.role is Role.SYSTEM})
                raise RuleLoopError(
                    f"rules {', '.join(sorted({name, *others}))} keep undoing each other: "
                    f"rule {name!r} would fire again after {', '.join(others) or 'itself'}"
                )

    # --- time rules -----------------------------------------------------------------

    def next_due(self, ticket: Ticket) -> Due | None:
        """Return the earliest time rule that will fire for ``ticket``, or None.

        A rule is due at its trigger time ``D`` unless it already fired for ``D`` (one
        firing per episode), its conditions do not hold at ``D`` for the ticket as it
        is, or its actions are not possible (the graph refuses them). The ticket does
        not change before ``D`` without this being recomputed, so the answer is exact.
        """
        if not self._time_rules or self._workflow.is_locked(ticket.status):
            return None
        best: tuple[datetime, int, str, _Compiled] | None = None
        for compiled in self._time_rules:
            trigger = compiled.rule.at
            assert trigger is not None  # noqa: S101 - time rules have one
            due = trigger.due(ticket)
            if due is None:
                continue
            key = (due, compiled.rule.order, compiled.name, compiled)
            if best is not None and key[:3] >= best[:3]:
                continue
            if _fired(ticket, compiled.name, due) or not compiled.condition(ticket, due):
                continue
            _, ok, _ = self._try(compiled, ticket, due, [], _due_tag(compiled.name, due, due))
            if ok:
                best = key
        return None if best is None else Due(best[0], best[2])

    def fire_due(
        self, ticket: Ticket, now: datetime, due: Due | None = None
    ) -> tuple[Ticket, list[Event]] | None:
        """Fire the earliest due time rule if it is due by ``now``; return the result.

        Events are stamped with the due time (or the ticket's last event time, if the
        ticket changed after the rule became due) and record ``processed_at``.
        ``due`` is `next_due` of this ticket if the caller has it already.
        """
        if due is None:
            due = self.next_due(ticket)
        if due is None or due.at > now:
            return None
        compiled = next(c for c in self._time_rules if c.name == due.rule)
        at = max(due.at, ticket.updated_at)
        events: list[Event] = []
        new, ok, _ = self._try(compiled, ticket, at, events, _due_tag(due.rule, due.at, now))
        if not ok:  # pragma: no cover - next_due checked the same actions
            return None
        new = self.after_command(new, events, at)
        return new, events


def _listened(by_kind: Mapping[EventKind, object], events: Sequence[Event]) -> bool:
    """Whether any rule listens to the kind of any of ``events``."""
    if len(events) == 1:  # one command, one event: without a generator
        return events[0]._step.kind in by_kind  # noqa: SLF001 - Event.kind is a property
    return any(e.kind in by_kind for e in events)


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
    fire because every status their conditions allow refuses their first
    command or trigger. Rules are not changed; raising is left to the caller.
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
        first = next((a for a in rule.actions if "command" in a or "trigger" in a), None)
        if first is None:
            continue
        trigger = workflow.events.get(first["command"]) if "command" in first else first["trigger"]
        possible = (pinned & statuses) or statuses
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
