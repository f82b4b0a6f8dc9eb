"""Workflows: a status graph as data, validated and compiled on top of `transitions`.

A `Workflow` is plain data (statuses with categories, transitions with optional
guards, the mapping from domain events to triggers, and the lock settings). On
construction it is validated, a `transitions.Machine` is built from it once, and
the graph is compiled into a dict keyed by ``(status, trigger)``. The engine
decides transitions from that dict (a lookup and a guard call), never by binding
a `transitions` model per ticket; the property tests check on random graphs that
the dict and the machine always decide the same.

The graph's parts (`Status`, `Transition`, `Category`, ...) live in
`_workflow_parts` and are re-exported here; a workflow's serialisation (dict,
JSON, TOML, files) is `_workflow_io`, its Mermaid diagram `_diagram`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any, Final, final

import attrs
from transitions import Machine, MachineError

from . import _diagram, _validate, _workflow_io
from ._model import Ticket
from ._workflow_parts import (
    BUILTIN_GUARDS,
    COMMAND_KINDS,
    COMMANDS,
    MESSAGE_COMMANDS,
    Category,
    ClosedPolicy,
    Guard,
    Status,
    Transition,
)
from ._workflow_parts import check_name as _name
from .exceptions import TransitionError, WorkflowError

__all__ = [
    "BUILTIN_GUARDS",
    "COMMANDS",
    "COMMAND_KINDS",
    "MESSAGE_COMMANDS",
    "Category",
    "ClosedPolicy",
    "Guard",
    "Status",
    "Transition",
    "Workflow",
]


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


def _sorted_policies(mapping: Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(mapping, Mapping):
        raise WorkflowError(
            f"settings: reply_policy must be a table of status to policy, got {mapping!r}",
            item="reply_policy",
        )
    return dict(sorted(mapping.items()))


_RESERVED_STATUS_NAMES: Final = frozenset({"*", "="})
_RESERVED_TRIGGERS: Final = frozenset({"state", "get_graph"})  # model attributes transitions needs


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
        trash_policy: What a customer reply to a trash (spam, deleted) ticket does
            when the graph has no ``customer_reply`` transition out of its status
            (default `ClosedPolicy.KEEP`). Final statuses (purged) refuse replies.
        reply_policy: Per-status overrides of ``closed_policy`` and ``trash_policy``:
            status name to `ClosedPolicy`, for closed or trash statuses only.
        review_tag: The tag a `ClosedPolicy.KEEP` reply adds to flag its ticket
            (default ``"needs_review"``); find flagged tickets by this tag.
        reopen_window: How long after a ticket entered its closed or trash status a
            reply reopens it (``REOPEN`` policy; ``None`` means always).
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
    trash_policy: ClosedPolicy = ClosedPolicy.KEEP
    reply_policy: Mapping[str, ClosedPolicy] = attrs.field(factory=dict, converter=_sorted_policies)
    review_tag: str = "needs_review"
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
    _policies: dict[str, ClosedPolicy] = attrs.field(init=False, eq=False, repr=False)

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
        policies = self._check_policies()
        reply = self.events.get("customer_reply")
        restore = self.events.get("restore")
        # Replies to a merged ticket go to the ticket it was merged into.
        # A status only merging reaches needs no way back.
        merge = self.events.get("merge")
        merged = {t.dest for t in self.transitions if t.trigger == merge} - {
            t.dest for t in self.transitions if t.trigger != merge
        }
        for name, policy in policies.items():
            if policy is not ClosedPolicy.REOPEN or name in merged:
                continue
            if self._by_name[name].category is Category.CLOSED:
                if reply is None or (name, reply) not in table:
                    raise WorkflowError(
                        f"settings: policy 'reopen' needs a customer_reply transition "
                        f"out of closed status {name!r}",
                        item=name,
                    )
            elif restore is None or (name, restore) not in table:
                raise WorkflowError(
                    f"settings: policy 'reopen' needs a restore transition "
                    f"out of trash status {name!r}",
                    item=name,
                )
        object.__setattr__(self, "_policies", policies)

    def _check_policies(self) -> dict[str, ClosedPolicy]:
        """Validate the reply policies; return the one of each status a policy governs."""
        try:
            object.__setattr__(self, "trash_policy", ClosedPolicy(self.trash_policy))
        except ValueError:
            raise WorkflowError(
                f"settings: unknown trash_policy {self.trash_policy!r}; "
                f"one of {', '.join(p.value for p in ClosedPolicy)}",
                item="trash_policy",
            ) from None
        try:
            _name(self.review_tag, "settings: review_tag")
        except WorkflowError as exc:
            raise WorkflowError(str(exc), item="review_tag") from None
        reply = self.events.get("customer_reply")
        governed: dict[str, ClosedPolicy] = {}
        for status in self.statuses:
            if status.final:
                continue
            if status.category is Category.CLOSED:
                governed[status.name] = self.closed_policy
            elif status.category is Category.TRASH and not any(
                t.trigger == reply and status.name in self.expand_sources(t)
                for t in self.transitions
            ):
                governed[status.name] = self.trash_policy
        checked: dict[str, ClosedPolicy] = {}
        for name, value in self.reply_policy.items():
            where = f"settings.reply_policy.{name}"
            if name not in governed:
                raise WorkflowError(
                    f"{where}: {name!r} is not a closed or trash status that takes replies "
                    f"by policy; such statuses: {', '.join(governed) or 'none'}",
                    item=where,
                )
            try:
                checked[name] = governed[name] = ClosedPolicy(value)
            except ValueError:
                raise WorkflowError(
                    f"{where}: unknown policy {value!r}; "
                    f"one of {', '.join(p.value for p in ClosedPolicy)}",
                    item=where,
                ) from None
        object.__setattr__(self, "reply_policy", checked)
        return governed

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

    def reply_policy_for(self, status: str) -> ClosedPolicy | None:
        """Return what a customer reply does in ``status``, or None when the graph decides.

        A policy governs the non-final closed statuses (``closed_policy``), the
        trash statuses with no ``customer_reply`` transition (``trash_policy``),
        each overridable in ``reply_policy``. Other statuses, final ones
        included, return None.
        """
        return self._policies.get(status)

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
        return _diagram.mermaid(self)

    # --- (de)serialisation (see _workflow_io) ---------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Return the workflow as plain data (JSON and TOML compatible)."""
        return _workflow_io.to_dict(self)

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
        return _workflow_io.from_dict(cls, data, guards=guards)

    def to_json(self) -> str:
        """Return the workflow as JSON text."""
        return _workflow_io.to_json(self)

    @classmethod
    def from_json(cls, text: str, *, guards: Mapping[str, Guard] | None = None) -> Workflow:
        """Build a workflow from JSON text.

        Raises:
            WorkflowError: the text is not valid JSON or the workflow is invalid.
        """
        return _workflow_io.from_json(cls, text, guards=guards)

    def to_toml(self) -> str:
        """Return the workflow as TOML text."""
        return _workflow_io.to_toml(self)

    @classmethod
    def from_toml(cls, text: str, *, guards: Mapping[str, Guard] | None = None) -> Workflow:
        """Build a workflow from TOML text.

        Raises:
            WorkflowError: the text is not valid TOML or the workflow is invalid.
        """
        return _workflow_io.from_toml(cls, text, guards=guards)

    @classmethod
    def load(cls, path: str | Path, *, guards: Mapping[str, Guard] | None = None) -> Workflow:
        """Load a workflow from a ``.toml`` or ``.json`` file.

        Raises:
            WorkflowError: unknown file type, or an invalid workflow.
            OSError: the file cannot be read.
        """
        return _workflow_io.load(cls, path, guards=guards)

    def save(self, path: str | Path) -> None:
        """Write the workflow to a ``.toml`` or ``.json`` file.

        Raises:
            WorkflowError: unknown file type.
        """
        _workflow_io.save(self, path)


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
