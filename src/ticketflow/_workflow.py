"""Workflows: a status graph as data, validated and compiled on top of `transitions`.

A `Workflow` is plain data (statuses with categories, transitions with optional
guards, the mapping from domain events to triggers, and the lock settings). On
construction it is validated, a `transitions.Machine` is built from it once, and
the graph is compiled into a dict keyed by ``(status, trigger)``. The engine
decides transitions from that dict (a lookup and a guard call), never by binding
a `transitions` model per ticket; the property tests check on random graphs that
the dict and the machine always decide the same.
"""

from __future__ import annotations

import enum
import json
import tomllib
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any, Final, final

import attrs
from transitions import Machine, MachineError

from . import _validate
from ._model import EventKind, Ticket
from ._toml import dumps as toml_dumps
from .exceptions import TransitionError, WorkflowError

__all__ = [
    "BUILTIN_GUARDS",
    "COMMANDS",
    "Category",
    "ClosedPolicy",
    "Guard",
    "Status",
    "Transition",
    "Workflow",
]

Guard = Callable[[Ticket], bool]
"""A guard: a predicate over the ticket; the transition is taken only when it returns True."""


class Category(enum.StrEnum):
    """What a status means to the engine, to SLAs and to reports."""

    NEW = "new"
    """Not yet handled by an agent."""
    OPEN = "open"
    """Waiting on an agent."""
    PENDING = "pending"
    """Waiting on the customer, a third party or a date (SLA clocks may pause)."""
    RESOLVED = "resolved"
    """Solved, still open for follow-up."""
    CLOSED = "closed"
    """Done and locked."""
    TRASH = "trash"
    """Spam, deleted or purged."""


class ClosedPolicy(enum.StrEnum):
    """What a customer reply to a closed ticket does."""

    FOLLOW_UP = "follow_up"
    """Open a new ticket linked to the closed one (Zendesk). The default."""
    REOPEN = "reopen"
    """Reopen the closed ticket within ``reopen_window`` (Zammad); later, a follow-up."""
    REFUSE = "refuse"
    """Refuse the reply with `TicketLockedError`."""


COMMANDS: Final[tuple[str, ...]] = (
    "agent_reply",
    "customer_reply",
    "note",
    "resolve",
    "reopen",
    "close",
    "confirm",
    "postpone",
    "wake",
    "spam",
    "delete",
    "restore",
    "merge",
    "purge",
)
"""The domain events a workflow maps to triggers (the commands that can move a status)."""

MESSAGE_COMMANDS: Final = frozenset({"agent_reply", "customer_reply", "note"})
"""Commands that are recorded without a status change when the workflow maps no trigger."""

COMMAND_KINDS: Final[Mapping[str, EventKind]] = {
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


def _has_assignee(ticket: Ticket) -> bool:
    """The ticket is assigned to an agent."""
    return ticket.assignee is not None


def _has_department(ticket: Ticket) -> bool:
    """The ticket is assigned to a department."""
    return ticket.department is not None


def _was_new(ticket: Ticket) -> bool:
    """The ticket was in its initial status when it was last postponed."""
    initial = ticket.timeline[0].status_after
    for event in reversed(ticket.timeline):
        if event.kind is EventKind.POSTPONED and event.changes_status:
            return event.status_before == initial
    return False


BUILTIN_GUARDS: Final[Mapping[str, Guard]] = {
    "has_assignee": _has_assignee,
    "has_department": _has_department,
    "was_new": _was_new,
}
"""Guards every workflow can name: ``has_assignee``, ``has_department``, ``was_new``."""


def _name(value: object, what: str) -> str:
    if not isinstance(value, str) or not value:
        shown = _validate.describe(value)
        raise WorkflowError(f"{what} must be a non-empty string, got {shown}", item=shown)
    problem = _validate.text_problem(value)
    if problem is not None:
        raise WorkflowError(f"{what} {value!r} {problem}", item=what)
    return value


def _mermaid_text(value: str) -> str:
    """``value`` made safe inside a quoted Mermaid label: one line, no quote."""
    out = "".join(" " if ch.isspace() or not ch.isprintable() else ch for ch in value)
    return out.replace("#", "#35;").replace('"', "#quot;")


@final
@attrs.frozen(kw_only=True, slots=True)
class Status:
    """A status of the graph.

    Args:
        name: Its id (``"answered"``).
        category: What it means (`Category`).
        label: Display name; defaults to the name, capitalised.
        final: No transition leaves it (``purged``).
    """

    name: str
    category: Category
    label: str = ""
    final: bool = False

    @property
    def display(self) -> str:
        """The label, or the capitalised name when no label was given."""
        return self.label or self.name.replace("_", " ").capitalize()


@final
@attrs.frozen(kw_only=True, slots=True)
class Transition:
    """A transition: ``trigger`` moves a ticket from any of ``sources`` to ``dest``.

    Args:
        trigger: The trigger name (what domain events map to).
        sources: Source statuses; ``("*",)`` means every non-final status but ``dest``.
        dest: The destination status.
        guard: Name of a guard that must return True for the transition to be taken.
    """

    trigger: str
    sources: tuple[str, ...]
    dest: str
    guard: str | None = None


@attrs.frozen(slots=True)
class _Candidate:
    dest: str
    guard_name: str | None
    guard: Guard | None


def _status_tuple(items: Iterable[Status]) -> tuple[Status, ...]:
    return tuple(items)


def _transition_tuple(items: Iterable[Transition]) -> tuple[Transition, ...]:
    return tuple(items)


def _data_tuple(items: Iterable[Mapping[str, Any]]) -> tuple[Mapping[str, Any], ...]:
    # Legacy rules/SLA data: checked only for shape here; `ticketflow.config`, which
    # builds on this module, validates it when it builds a configuration.
    if isinstance(items, str | Mapping) or not isinstance(items, Iterable):
        raise WorkflowError(f"expected a list of tables, got {items!r}", item=None)
    data = tuple(items)
    for item in data:
        if not isinstance(item, Mapping):
            raise WorkflowError(f"expected a table, got {item!r}", item=None)
    return data


def _sorted_events(mapping: Mapping[str, str]) -> dict[str, str]:
    return dict(sorted(dict(mapping).items()))


_RESERVED_STATUS_NAMES: Final = frozenset({"*", "="})
_RESERVED_TRIGGERS: Final = frozenset({"state", "get_graph"})  # model attributes transitions needs

_SETTINGS_KEYS: Final = frozenset({"closed_policy", "reopen_window_days", "reopen_resolved"})


@final
@attrs.frozen(kw_only=True, slots=True)
class Workflow:
    """A validated, compiled status graph.

    Build one from data with `Workflow.from_dict` / `from_json` / `from_toml`, or use
    a preset from `ticketflow.workflows`. Two workflows are equal when their data is
    equal (guard callables are not compared, their names are).

    Args:
        name: The workflow's name.
        statuses: The statuses, in display order.
        initial: The status of a new ticket.
        transitions: The transitions, in priority order (the first whose guard
            passes is taken, as in `transitions`).
        events: Domain event (see `COMMANDS`) to trigger. A message command that is
            not mapped is recorded without a status change; any other unmapped
            command is refused.
        closed_policy: What a customer reply to a closed ticket does.
        reopen_window: How long after closing a reply reopens (``REOPEN`` policy;
            ``None`` means always).
        reopen_resolved: Whether a customer reply reopens a resolved ticket
            (LiveAgent's switch); when False the reply is recorded and the status stays.
        guards: Extra guards by name, beside `BUILTIN_GUARDS`.
        rules: Kept for compatibility, to be removed: default rules as data (see
            `ticketflow.rules`), as the presets and workflow files written before
            `ticketflow.config.HelpdeskConfig` carry them. A workflow is the graph;
            rules belong to the configuration. `HelpdeskConfig.from_workflow` (what
            ``Helpdesk(workflow)`` calls) takes them as its default rules and
            validates them then, not here.
        sla: Kept for compatibility, like ``rules``: SLA policies as data
            (`ticketflow.sla.SlaPolicy.to_dict` items, in order), the default SLA
            policies of `HelpdeskConfig.from_workflow`.

    Raises:
        WorkflowError: the definition is invalid; ``item`` names the offending part.
    """

    name: str
    statuses: tuple[Status, ...] = attrs.field(converter=_status_tuple)
    initial: str
    transitions: tuple[Transition, ...] = attrs.field(converter=_transition_tuple)
    events: Mapping[str, str] = attrs.field(converter=_sorted_events)
    closed_policy: ClosedPolicy = ClosedPolicy.FOLLOW_UP
    reopen_window: timedelta | None = None
    reopen_resolved: bool = True
    guards: Mapping[str, Guard] = attrs.field(factory=dict, eq=False, repr=False)
    rules: tuple[Mapping[str, Any], ...] = attrs.field(default=(), converter=_data_tuple)
    sla: tuple[Mapping[str, Any], ...] = attrs.field(default=(), converter=_data_tuple)
    _by_name: dict[str, Status] = attrs.field(init=False, eq=False, repr=False)
    _table: dict[tuple[str, str], tuple[_Candidate, ...]] = attrs.field(
        init=False, eq=False, repr=False
    )
    _locked: frozenset[str] = attrs.field(init=False, eq=False, repr=False)
    _allowed: dict[str, tuple[str, ...]] = attrs.field(init=False, eq=False, repr=False)
    _machine: list[Machine] = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        set_ = object.__setattr__
        by_name = self._validate_statuses()
        set_(self, "_by_name", by_name)
        guards = {**BUILTIN_GUARDS, **self.guards}
        table: dict[tuple[str, str], list[_Candidate]] = {}
        outgoing: dict[str, set[str]] = {name: set() for name in by_name}
        triggers: set[str] = set()
        for index, tr in enumerate(self.transitions):
            where = f"transition #{index + 1} ({tr.trigger!r})"
            _name(tr.trigger, f"{where}: trigger")
            if tr.trigger in _RESERVED_TRIGGERS:
                raise WorkflowError(
                    f"{where}: trigger name {tr.trigger!r} is reserved by transitions",
                    item=tr.trigger,
                )
            if tr.dest not in by_name:
                raise WorkflowError(
                    f"{where}: unknown destination status {tr.dest!r}", item=tr.dest
                )
            if tr.guard is not None and tr.guard not in guards:
                known = ", ".join(sorted(guards))
                raise WorkflowError(
                    f"{where}: unknown guard {tr.guard!r}; known guards: {known}", item=tr.guard
                )
            triggers.add(tr.trigger)
            for source in self.expand_sources(tr):
                if by_name[source].final:
                    raise WorkflowError(
                        f"{where}: final status {source!r} cannot have outgoing transitions",
                        item=source,
                    )
                if tr.dest != source:  # a self-loop is no way out
                    outgoing[source].add(tr.dest)
                table.setdefault((source, tr.trigger), []).append(
                    _Candidate(tr.dest, tr.guard, guards[tr.guard] if tr.guard else None)
                )
        self._check_graph(outgoing)
        self._check_events(triggers)
        self._check_terminal_commands()
        locked = frozenset(
            s.name for s in self.statuses if s.category is Category.CLOSED or s.final
        )
        self._check_settings(table)
        allowed: dict[str, tuple[str, ...]] = {}
        for status in by_name:
            names = {c for c, t in self.events.items() if (status, t) in table}
            names |= {c for c in MESSAGE_COMMANDS if c not in self.events}
            allowed[status] = tuple(sorted(names))
        set_(self, "_table", {k: tuple(v) for k, v in table.items()})
        set_(self, "_locked", locked)
        set_(self, "_allowed", allowed)
        set_(self, "_machine", [])

    def _check_terminal_commands(self) -> None:
        # Merged tickets must be locked (a reply follows merged_into, which must not
        # cycle) and purged tickets final (nothing may bring personal data back).
        locked = {s.name for s in self.statuses if s.category is Category.CLOSED or s.final}
        final = {s.name for s in self.statuses if s.final}
        for command, allowed, what in (
            ("merge", locked, "a locked (closed or final) status"),
            ("purge", final, "a final status"),
        ):
            trigger = self.events.get(command)
            for tr in self.transitions:
                if tr.trigger == trigger and tr.dest not in allowed:
                    raise WorkflowError(
                        f"events: {command!r} must lead to {what}, but trigger {trigger!r} "
                        f"leads to {tr.dest!r}",
                        item=tr.dest,
                    )

    def _check_events(self, triggers: set[str]) -> None:
        for command, trigger in self.events.items():
            if command not in COMMANDS:
                raise WorkflowError(
                    f"events: unknown command {command!r}; commands: {', '.join(COMMANDS)}",
                    item=command,
                )
            if trigger not in triggers:
                raise WorkflowError(
                    f"events: command {command!r} maps to unknown trigger {trigger!r}",
                    item=trigger,
                )

    def _validate_statuses(self) -> dict[str, Status]:
        _name(self.name, "workflow name")
        if not self.statuses:
            raise WorkflowError("a workflow needs at least one status", item=None)
        by_name: dict[str, Status] = {}
        for status in self.statuses:
            _name(status.name, "status name")
            if status.name in _RESERVED_STATUS_NAMES:
                raise WorkflowError(
                    f"status name {status.name!r} is reserved ('*' means every status and "
                    "'=' the same status in transitions)",
                    item=status.name,
                )
            if status.name in by_name:
                raise WorkflowError(f"duplicate status {status.name!r}", item=status.name)
            try:
                object.__setattr__(status, "category", Category(status.category))
            except ValueError:
                cats = ", ".join(c.value for c in Category)
                raise WorkflowError(
                    f"status {status.name!r}: unknown category {status.category!r}; "
                    f"categories: {cats}",
                    item=status.name,
                ) from None
            by_name[status.name] = status
        if not self.initial:
            raise WorkflowError("no initial status", item=None)
        if self.initial not in by_name:
            raise WorkflowError(
                f"initial status {self.initial!r} is not declared", item=self.initial
            )
        if by_name[self.initial].final:
            raise WorkflowError(f"initial status {self.initial!r} is final", item=self.initial)
        return by_name

    def _check_graph(self, outgoing: dict[str, set[str]]) -> None:
        seen = {self.initial}
        queue = deque([self.initial])
        while queue:
            for dest in outgoing[queue.popleft()]:
                if dest not in seen:
                    seen.add(dest)
                    queue.append(dest)
        for status in self.statuses:
            if status.name not in seen:
                raise WorkflowError(
                    f"status {status.name!r} is unreachable from the initial status "
                    f"{self.initial!r}",
                    item=status.name,
                )
            if not status.final and not outgoing[status.name]:
                raise WorkflowError(
                    f"status {status.name!r} is not final but has no outgoing transition "
                    "(mark it final = true, or add a way out)",
                    item=status.name,
                )

    def _check_settings(self, table: Mapping[tuple[str, str], object]) -> None:
        try:
            object.__setattr__(self, "closed_policy", ClosedPolicy(self.closed_policy))
        except ValueError:
            raise WorkflowError(
                f"settings: unknown closed_policy {self.closed_policy!r}; "
                f"one of {', '.join(p.value for p in ClosedPolicy)}",
                item="closed_policy",
            ) from None
        if self.reopen_window is not None and (
            not isinstance(self.reopen_window, timedelta)
            or not timedelta() <= self.reopen_window <= _validate.MAX_DURATION
        ):
            raise WorkflowError(
                f"settings: reopen_window must be from 0 to {_validate.MAX_DURATION.days} days, "
                f"got {_validate.describe(self.reopen_window)}",
                item="reopen_window",
            )
        if self.closed_policy is ClosedPolicy.REOPEN:
            trigger = self.events.get("customer_reply")
            # Replies to a merged ticket go to the ticket it was merged into.
            # A status only merging reaches needs no way back.
            merge = self.events.get("merge")
            merged = {t.dest for t in self.transitions if t.trigger == merge} - {
                t.dest for t in self.transitions if t.trigger != merge
            }
            for status in self.statuses:
                if (
                    status.name not in merged
                    and status.category is Category.CLOSED
                    and not status.final
                    and (trigger is None or (status.name, trigger) not in table)
                ):
                    raise WorkflowError(
                        f"settings: closed_policy 'reopen' needs a customer_reply transition "
                        f"out of closed status {status.name!r}",
                        item=status.name,
                    )

    # --- queries --------------------------------------------------------------------

    def expand_sources(self, transition: Transition) -> tuple[str, ...]:
        """Return the statuses ``transition`` leaves from, with ``"*"`` expanded.

        Raises:
            WorkflowError: a source status is not declared.
        """
        if transition.sources == ("*",):
            return tuple(s.name for s in self.statuses if not s.final and s.name != transition.dest)
        for source in transition.sources:
            if source not in self._by_name:
                raise WorkflowError(
                    f"transition {transition.trigger!r}: unknown source status {source!r}",
                    item=source,
                )
        return transition.sources

    def status(self, name: str) -> Status:
        """Return the declared status called ``name``.

        Raises:
            WorkflowError: no such status.
        """
        try:
            return self._by_name[name]
        except KeyError:
            raise WorkflowError(
                f"workflow {self.name!r} has no status {name!r}", item=name
            ) from None

    def category(self, status: str) -> Category:
        """Return the category of ``status``."""
        return self.status(status).category

    def statuses_in(self, *categories: Category | str) -> frozenset[str]:
        """Return the names of the statuses in any of ``categories``."""
        wanted = {Category(c) for c in categories}
        return frozenset(s.name for s in self.statuses if s.category in wanted)

    def is_locked(self, status: str) -> bool:
        """Whether ``status`` is locked (category ``closed``, or final)."""
        return status in self._locked

    def allowed(self, status: str) -> tuple[str, ...]:
        """Return the commands the graph allows in ``status`` (guards not evaluated), sorted."""
        return self._allowed[status]

    def next_status(self, ticket: Ticket, command: str) -> str:
        """Return the status ``command`` moves ``ticket`` to (the compiled fast path).

        Message commands the workflow does not map keep the status. Lock rules are
        the engine's business, not this method's.

        Raises:
            TransitionError: the graph has no transition for ``command`` from the
                ticket's status, or every candidate's guard refused (``guard`` names
                the first that did).
        """
        trigger = self.events.get(command)
        if trigger is None:
            if command in MESSAGE_COMMANDS:
                return ticket.status
            raise TransitionError(
                ticket_id=ticket.id,
                status=ticket.status,
                command=command,
                allowed=self._allowed[ticket.status],
            )
        candidates = self._table.get((ticket.status, trigger))
        if candidates is not None and candidates[0].guard is None:
            return candidates[0].dest  # the common case, without a guard: one lookup
        return self.fire(ticket, trigger, command)

    def fire(self, ticket: Ticket, trigger: str, command: str | None = None) -> str:
        """Return the status ``trigger`` moves ``ticket`` to (compiled tables, guards called).

        Args:
            ticket: The ticket.
            trigger: A trigger of the graph.
            command: The command name for error messages (defaults to the trigger).

        Raises:
            TransitionError: no transition for ``trigger`` from the ticket's status, or
                every candidate's guard refused.
        """
        status = ticket.status
        candidates = self._table.get((status, trigger))
        if candidates is None:
            raise TransitionError(
                ticket_id=ticket.id,
                status=status,
                command=command or trigger,
                allowed=self._allowed[status],
            )
        for candidate in candidates:
            if candidate.guard is None or candidate.guard(ticket):
                return candidate.dest
        raise TransitionError(
            ticket_id=ticket.id,
            status=status,
            command=command or trigger,
            allowed=self._allowed[status],
            guard=candidates[0].guard_name,
        )

    def command_for(self, trigger: str) -> str | None:
        """Return the first command mapped to ``trigger``, if any."""
        return next((c for c in COMMANDS if self.events.get(c) == trigger), None)

    @property
    def triggers(self) -> tuple[str, ...]:
        """Every trigger the graph declares, sorted."""
        return tuple(sorted({t.trigger for t in self.transitions}))

    # --- transitions ---------------------------------------------------------------------

    def _machine_config(self) -> dict[str, Any]:
        return {
            "states": [s.name for s in self.statuses],
            "initial": self.initial,
            "transitions": [
                {
                    "trigger": tr.trigger,
                    "source": list(self.expand_sources(tr)),
                    "dest": tr.dest,
                    **({"conditions": [tr.guard]} if tr.guard else {}),
                }
                for tr in self.transitions
            ],
            "auto_transitions": False,
            "send_event": True,
        }

    def machine(self) -> Machine:
        """Return the `transitions.Machine` (``model=None``) this workflow was built from.

        It is the reference the compiled tables are tested against; the engine does
        not use it on the hot path. Built once and cached.
        """
        if not self._machine:
            self._machine.append(Machine(model=None, **self._machine_config()))
        return self._machine[0]

    def machine_next_status(self, ticket: Ticket, command: str) -> str:
        """Decide like `next_status`, but by firing the trigger on the `transitions` machine.

        This is the oracle for `next_status`: both must always agree.

        Raises:
            TransitionError: as `next_status`.
        """
        trigger = self.events.get(command)
        if trigger is None:
            return self.next_status(ticket, command)
        machine = self.machine()
        model = _OracleModel(ticket, {**BUILTIN_GUARDS, **self.guards})
        event = machine.events.get(trigger)
        try:
            moved = event is not None and event.trigger(model)
        except MachineError:
            moved = False
            event = None
        if moved:
            return model.state
        guard = None
        if event is not None:
            guard = next(
                (
                    tr.guard
                    for tr in self.transitions
                    if tr.trigger == trigger
                    and ticket.status in self.expand_sources(tr)
                    and tr.guard
                ),
                None,
            )
        raise TransitionError(
            ticket_id=ticket.id,
            status=ticket.status,
            command=command,
            allowed=self._allowed[ticket.status],
            guard=guard,
        )

    def mermaid(self) -> str:
        """Return the status diagram in Mermaid syntax, drawn by `transitions`' mermaid engine."""
        # Imported here: the diagram engine is not needed on any hot path.
        from transitions.extensions import GraphMachine  # noqa: PLC0415

        holder = _DiagramModel()
        config = self._machine_config()
        GraphMachine(
            model=holder,
            graph_engine="mermaid",
            show_conditions=True,
            title=_mermaid_text(f"{self.name} workflow"),
            **config,
        )
        source: str = holder.get_graph().draw(None)
        lines = []
        for raw in source.splitlines():
            line = raw
            if line.startswith("  Class "):
                # transitions highlights the model's current state; a workflow
                # diagram has no current state, and Mermaid spells it "class".
                name = line.split()[1]
                cat = self._by_name[name].category.value
                line = f"  class {name} s_{cat}"
            elif line.startswith("  classDef "):
                continue
            elif line.startswith('  state "'):
                name = line.rsplit(" as ", 1)[1]
                line = f'  state "{_mermaid_text(self._by_name[name].display)}" as {name}'
            lines.append(line)
        # transitions writes the title as bare front matter; Mermaid reads "title:".
        if lines[:1] == ["---"] and len(lines) > 2 and lines[2] == "---":
            lines[1] = f"title: {lines[1]}"
        header = lines.index("stateDiagram-v2") + 1
        lines[header:header] = [f"  classDef s_{c} {_CATEGORY_STYLE[c]}" for c in Category]
        return "\n".join(lines) + "\n"

    # --- (de)serialisation -------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Return the workflow as plain data (JSON and TOML compatible)."""
        statuses = []
        for s in self.statuses:
            item: dict[str, Any] = {"name": s.name, "category": s.category.value}
            if s.label:
                item["label"] = s.label
            if s.final:
                item["final"] = True
            statuses.append(item)
        transitions = []
        for t in self.transitions:
            entry: dict[str, Any] = {
                "trigger": t.trigger,
                "sources": list(t.sources),
                "dest": t.dest,
            }
            if t.guard:
                entry["guard"] = t.guard
            transitions.append(entry)
        settings: dict[str, Any] = {
            "closed_policy": self.closed_policy.value,
            "reopen_resolved": self.reopen_resolved,
        }
        if self.reopen_window is not None:
            settings["reopen_window_days"] = self.reopen_window / timedelta(days=1)
        return {
            "name": self.name,
            "initial": self.initial,
            "settings": settings,
            "statuses": statuses,
            "transitions": transitions,
            "events": dict(self.events),
            **({"rules": [dict(r) for r in self.rules]} if self.rules else {}),
            **({"sla": [dict(p) for p in self.sla]} if self.sla else {}),
        }

    @classmethod
    def from_dict(
        cls, data: Mapping[str, Any], *, guards: Mapping[str, Guard] | None = None
    ) -> Workflow:
        """Build a workflow from `to_dict` output (or hand-written data).

        Args:
            data: The definition.
            guards: Callables for guard names the data uses beyond `BUILTIN_GUARDS`.

        Raises:
            WorkflowError: the data is malformed or the workflow invalid.
        """
        if not isinstance(data, Mapping):
            raise WorkflowError("a workflow definition must be a mapping", item=None)
        _no_extra(
            data,
            {"name", "initial", "settings", "statuses", "transitions", "events", "rules", "sla"},
            "workflow",
        )
        settings = data.get("settings", {})
        _no_extra(settings, _SETTINGS_KEYS, "settings")
        window = settings.get("reopen_window_days")
        if window is not None and (
            isinstance(window, bool)
            or not isinstance(window, int | float)
            or not -_validate.MAX_DURATION.days <= window <= _validate.MAX_DURATION.days
        ):
            raise WorkflowError(
                "settings: reopen_window_days must be a number of days up to "
                f"{_validate.MAX_DURATION.days}, got {_validate.describe(window)}",
                item="reopen_window_days",
            )
        return cls(
            name=data.get("name", ""),
            initial=data.get("initial", ""),
            statuses=[_status_from(item, i) for i, item in enumerate(_list(data, "statuses"))],
            transitions=[
                _transition_from(item, i) for i, item in enumerate(_list(data, "transitions"))
            ],
            events=_events_from(data.get("events", {})),
            closed_policy=settings.get("closed_policy", ClosedPolicy.FOLLOW_UP),
            reopen_window=None if window is None else timedelta(days=window),
            reopen_resolved=bool(settings.get("reopen_resolved", True)),
            guards=dict(guards or {}),
            rules=_list(data, "rules"),
            sla=_list(data, "sla"),
        )

    def to_json(self) -> str:
        """Return the workflow as JSON text."""
        return json.dumps(self.to_dict(), indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str, *, guards: Mapping[str, Guard] | None = None) -> Workflow:
        """Build a workflow from JSON text.

        Raises:
            WorkflowError: the text is not valid JSON or the workflow is invalid.
        """
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise WorkflowError(f"invalid JSON: {exc}", item=None) from exc
        return cls.from_dict(data, guards=guards)

    def to_toml(self) -> str:
        """Return the workflow as TOML text."""
        return toml_dumps(self.to_dict())

    @classmethod
    def from_toml(cls, text: str, *, guards: Mapping[str, Guard] | None = None) -> Workflow:
        """Build a workflow from TOML text.

        Raises:
            WorkflowError: the text is not valid TOML or the workflow is invalid.
        """
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise WorkflowError(f"invalid TOML: {exc}", item=None) from exc
        return cls.from_dict(data, guards=guards)

    @classmethod
    def load(cls, path: str | Path, *, guards: Mapping[str, Guard] | None = None) -> Workflow:
        """Load a workflow from a ``.toml`` or ``.json`` file.

        Raises:
            WorkflowError: unknown file type, or an invalid workflow.
            OSError: the file cannot be read.
        """
        path = Path(path)
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".toml":
            return cls.from_toml(text, guards=guards)
        if path.suffix == ".json":
            return cls.from_json(text, guards=guards)
        raise WorkflowError(f"{path}: expected a .toml or .json file", item=str(path))

    def save(self, path: str | Path) -> None:
        """Write the workflow to a ``.toml`` or ``.json`` file.

        Raises:
            WorkflowError: unknown file type.
        """
        path = Path(path)
        if path.suffix == ".toml":
            path.write_text(self.to_toml(), encoding="utf-8")
        elif path.suffix == ".json":
            path.write_text(self.to_json(), encoding="utf-8")
        else:
            raise WorkflowError(f"{path}: expected a .toml or .json file", item=str(path))


_CATEGORY_STYLE: Final = {
    Category.NEW: "fill:#e3f2fd,color:black",
    Category.OPEN: "fill:#fff3e0,color:black",
    Category.PENDING: "fill:#f3e5f5,color:black",
    Category.RESOLVED: "fill:#e8f5e9,color:black",
    Category.CLOSED: "fill:#eeeeee,color:black",
    Category.TRASH: "fill:#ffebee,color:black",
}


class _OracleModel:
    """The short-lived context object `transitions` fires a trigger on."""

    def __init__(self, ticket: Ticket, guards: Mapping[str, Guard]) -> None:
        self.state = ticket.status
        self._ticket = ticket
        self._guards = guards

    def __getattr__(self, name: str) -> Callable[[object], bool]:
        # transitions resolves a string condition as an attribute of the model.
        guard = self.__dict__["_guards"].get(name)
        if guard is None:
            raise AttributeError(name)
        ticket = self.__dict__["_ticket"]
        return lambda _event_data: guard(ticket)


class _DiagramModel:
    """A throwaway model that GraphMachine decorates with ``get_graph``."""

    get_graph: Callable[[], Any]


def _no_extra(data: object, allowed: Iterable[str], where: str) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise WorkflowError(
            f"{where} must be a table/mapping, got {type(data).__name__}", item=where
        )
    extra = sorted(set(data) - set(allowed))
    if extra:
        raise WorkflowError(
            f"{where}: unknown key(s) {', '.join(map(repr, extra))}; "
            f"allowed: {', '.join(sorted(allowed))}",
            item=extra[0],
        )
    return data


def _list(data: Mapping[str, Any], key: str) -> list[Any]:
    value = data.get(key, [])
    if not isinstance(value, list | tuple):
        raise WorkflowError(f"{key} must be a list", item=key)
    return list(value)


def _status_from(item: object, index: int) -> Status:
    where = f"statuses[{index}]"
    item = _no_extra(item, {"name", "category", "label", "final"}, where)
    name = _name(item.get("name"), f"{where}.name")
    category = item.get("category")
    if category not in {c.value for c in Category}:
        cats = ", ".join(c.value for c in Category)
        raise WorkflowError(
            f"status {name!r}: unknown category {category!r}; categories: {cats}", item=name
        )
    label = item.get("label", "")
    final_ = item.get("final", False)
    if not isinstance(label, str) or not isinstance(final_, bool):
        raise WorkflowError(
            f"status {name!r}: label must be a string and final a boolean", item=name
        )
    return Status(name=name, category=Category(category), label=label, final=final_)


def _transition_from(item: object, index: int) -> Transition:
    where = f"transitions[{index}]"
    item = _no_extra(item, {"trigger", "sources", "source", "dest", "guard"}, where)
    trigger = _name(item.get("trigger"), f"{where}.trigger")
    sources = item.get("sources", item.get("source"))
    if isinstance(sources, str):
        sources = [sources]
    if not isinstance(sources, list | tuple) or not sources:
        raise WorkflowError(
            f"{where} ({trigger!r}): sources must be a non-empty list", item=trigger
        )
    dest = _name(item.get("dest"), f"{where}.dest")
    guard = item.get("guard")
    if guard is not None:
        guard = _name(guard, f"{where}.guard")
    return Transition(
        trigger=trigger,
        sources=tuple(_name(s, f"{where}.sources") for s in sources),
        dest=dest,
        guard=guard,
    )


def _events_from(value: object) -> dict[str, str]:
    if not isinstance(value, Mapping):
        raise WorkflowError("events must be a table/mapping", item="events")
    out = {}
    for command, trigger in value.items():
        out[_name(command, "events key")] = _name(trigger, f"events.{command}")
    return out
