"""One configuration for a help desk: `HelpdeskConfig`, and its TOML schema.

A `HelpdeskConfig` holds everything a `ticketflow.Helpdesk` runs besides its
store and clock: the workflow (the status graph only), the rules, the SLA
policies, the named business calendars those policies count in, the event kinds
written to the outbox, the guards the graph names, and who may do what (the
permission table). It is the one place the
engine reads rules, SLA policies and outbox kinds from.

It loads from one versioned file format (TOML, or the same data as JSON), read
the same way by the library, the presets and every command of the command line::

    schema_version = 1
    name = "support"
    initial = "new"
    outbox = ["notified", "escalated", "sla_warning", "sla_breached"]
    organisation_visibility = false

    [permissions]        # which roles may run which commands
    customer = ["open", "customer_reply", "confirm"]
    [settings]           # the workflow's settings
    [[statuses]]         # the status graph
    [[transitions]]
    [events]
    [calendars.office]   # named business calendars
    [[rules]]            # rules (ticketflow.rules)
    [[sla]]              # SLA policies (ticketflow.sla); calendar = "office"

Every key is listed with its type, default and meaning in the reference page
``docs/reference/config.md``. Unknown keys are refused, naming their full path
(``sla[0].targets.normal.first_repy``). Errors come from the tree in
`ticketflow.exceptions`, by section: the top level and the graph raise
`WorkflowError`, ``[[rules]]`` and ``[[sla]]`` raise `RuleError`, and
``[calendars]`` and ``[permissions]`` raise `InvalidInputError`; all three subclass ``ValueError``
and every message starts with the path of the offending key.

Imports run one way: this module builds on the workflow, the rules and the SLA
modules, and the engine builds on it.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterable, Mapping
from datetime import timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final, final

import attrs

from ._calendar import BusinessCalendar
from ._model import EventKind, Priority, Role
from ._toml import dumps as toml_dumps
from ._workflow import COMMANDS as _COMMANDS
from ._workflow import ClosedPolicy, Guard, Workflow
from .commands import BY_NAME as _BY_NAME
from .exceptions import InvalidInputError, RuleError, TicketflowError, WorkflowError
from .rules import Rule, RuleSet
from .sla import Metric, SlaPolicies, SlaPolicy
from .workflows import PRESETS as _PRESETS
from .workflows import preset_data

__all__ = [  # noqa: RUF022 - sorted() order, as test_exported_members checks
    "DEFAULT_OUTBOX",
    "DEFAULT_PERMISSIONS",
    "HelpdeskConfig",
    "SCHEMA_VERSION",
    "SYSTEM_COMMANDS",
    "sla_from_dict",
]

SCHEMA_VERSION: Final = 1
"""The version of the configuration schema this ticketflow reads and writes."""

DEFAULT_OUTBOX: Final[frozenset[EventKind]] = frozenset(
    {EventKind.NOTIFIED, EventKind.ESCALATED, EventKind.SLA_WARNING, EventKind.SLA_BREACHED}
)
"""The outbox kinds when a configuration names none: the notifications rules and SLAs raise."""

_ALL_COMMANDS: Final = frozenset(_BY_NAME)

SYSTEM_COMMANDS: Final[frozenset[str]] = frozenset(
    {"assign", "set_priority", "add_tags", "remove_tags", "set_field", "note", "notify"}
    | {"escalate", "fire"}
    | {name for name, cls in _BY_NAME.items() if cls.triggered}
)
"""The commands rule actions and SLA escalations can run: the system role's default."""

DEFAULT_PERMISSIONS: Final[Mapping[Role, frozenset[str]]] = MappingProxyType(
    {
        Role.CUSTOMER: frozenset({"open", "customer_reply", "confirm"}),
        Role.AGENT: _ALL_COMMANDS - {"purge"},
        Role.ADMIN: _ALL_COMMANDS,
        Role.SYSTEM: SYSTEM_COMMANDS,
    }
)
"""Which commands each role may run when a configuration says nothing else.

Customers open tickets, reply (a reply to a resolved or closed ticket reopens it
or opens a follow-up, as the workflow says) and confirm a resolution (with its
optional rating); agents run everything but ``purge``; admins everything; the
system (``by=None`` on an agent command) what rules and SLA escalations can run.
"""

_GRAPH_KEYS: Final = ("name", "initial", "settings", "statuses", "transitions", "events")


# --- the schema: which keys exist where --------------------------------------------------


@attrs.frozen
class _Table:
    """A table whose keys are exactly ``keys`` (each with its own schema)."""

    keys: Mapping[str, _Node]


@attrs.frozen
class _MapOf:
    """A table whose keys are free (``allowed`` None) or from ``allowed``, each ``value``.

    ``placeholder`` names the keys in the reference page (``<metric>``).
    """

    placeholder: str
    allowed: frozenset[str] | None
    value: _Node
    fold_case: bool = False


@attrs.frozen
class _ListOf:
    """An array whose items are each ``item``."""

    item: _Node


class _Leaf:
    """A value the section's parser checks (a string, number, list of strings...)."""


class _Condition:
    """A rule condition: a leaf ``{field, op, value}`` or a group ``{all, any}``."""


class _Action:
    """A rule action: a table with one key, an action name."""


_Node = _Table | _MapOf | _ListOf | _Leaf | _Condition | _Action
_LEAF: Final = _Leaf()
_CONDITION: Final = _Condition()
_ACTION: Final = _Action()
_METRICS: Final = frozenset(m.value for m in Metric)
_PRIORITIES: Final = frozenset(p.name.lower() for p in Priority)
_ESCALATE_KEYS: Final = frozenset({"level", "department", "assign", "priority", "notify"})
_ACTION_NAMES: Final = frozenset(
    {
        "command",
        "trigger",
        "assign",
        "assign_department",
        "set_priority",
        "add_tags",
        "remove_tags",
        "set_field",
        "note",
        "notify",
        "escalate",
        "stop",
    }
)

_CALENDAR: Final = _Table(
    {"timezone": _LEAF, "hours": _MapOf("<day>", None, _LEAF), "holidays": _LEAF},
)

_SCHEMA: Final = _Table(
    {
        "schema_version": _LEAF,
        "name": _LEAF,
        "initial": _LEAF,
        "outbox": _LEAF,
        "organisation_visibility": _LEAF,
        "permissions": _MapOf("<role>", frozenset(role.value for role in Role), _LEAF),
        "settings": _Table(
            {
                "closed_policy": _LEAF,
                "reopen_window_days": _LEAF,
                "reopen_resolved": _LEAF,
                "trash_policy": _LEAF,
                "reply_policy": _MapOf("<status>", None, _LEAF),
                "review_tag": _LEAF,
            }
        ),
        "statuses": _ListOf(
            _Table({"name": _LEAF, "category": _LEAF, "label": _LEAF, "final": _LEAF})
        ),
        "transitions": _ListOf(
            _Table(
                {"trigger": _LEAF, "sources": _LEAF, "source": _LEAF, "dest": _LEAF, "guard": _LEAF}
            )
        ),
        "events": _MapOf("<command>", frozenset(_COMMANDS), _LEAF),
        "calendars": _MapOf("<name>", None, _CALENDAR),
        "rules": _ListOf(
            _Table(
                {
                    "name": _LEAF,
                    "order": _LEAF,
                    "on": _LEAF,
                    "at": _Table({"anchor": _LEAF, "delay": _LEAF}),
                    "conditions": _CONDITION,
                    "actions": _ListOf(_ACTION),
                }
            )
        ),
        "sla": _ListOf(
            _Table(
                {
                    "name": _LEAF,
                    "conditions": _CONDITION,
                    "targets": _MapOf(
                        "<priority>",
                        _PRIORITIES,
                        _MapOf("<metric>", _METRICS, _LEAF),
                        fold_case=True,
                    ),
                    "calendar": _CALENDAR,  # or the name of a [calendars] table
                    "pause_in": _LEAF,
                    "run_in": _MapOf("<metric>", _METRICS, _LEAF),
                    "warn_before": _MapOf("<metric>", _METRICS, _LEAF),  # or one duration
                    "escalations": _ListOf(
                        _Table(
                            {
                                "level": _LEAF,
                                "after": _LEAF,
                                "metrics": _LEAF,
                                "assign": _LEAF,
                                "department": _LEAF,
                                "priority": _LEAF,
                                "notify": _LEAF,
                            }
                        )
                    ),
                }
            )
        ),
    }
)
"""The keys of schema version 1 (values are checked by each section's parser)."""


def _error(path: str, message: str) -> TicketflowError:
    """The section's error for a problem at ``path`` (the message starts with the path)."""
    root = path.split(".", 1)[0].split("[", 1)[0]
    text = f"{path}: {message}"
    if root in {"rules", "sla"}:
        return RuleError(text)
    if root in {"calendars", "permissions", "organisation_visibility"}:
        return InvalidInputError(text, field=path)
    return WorkflowError(text, item=path)


def _unknown(path: str, extra: Iterable[str], allowed: Iterable[str]) -> TicketflowError:
    extra = sorted(extra)
    where = f"{path}.{extra[0]}" if path else extra[0]
    more = f" (and {', '.join(map(repr, extra[1:]))})" if len(extra) > 1 else ""
    return _error(where, f"unknown key{more}; keys allowed here: {', '.join(sorted(allowed))}")


def _check_keys(value: object, node: _Node, path: str) -> None:
    """Refuse the first unknown key under ``value``, naming its full path.

    Only containers of the shape the schema expects are walked: a value of another
    type is left to the section's parser, which says what it should have been.
    """
    if isinstance(node, _Table) and isinstance(value, Mapping):
        extra = set(value) - set(node.keys)
        if extra:
            raise _unknown(path, extra, node.keys)
        for key, item in value.items():
            _check_keys(item, node.keys[key], f"{path}.{key}" if path else key)
    elif isinstance(node, _MapOf) and isinstance(value, Mapping):
        _check_map(value, node, path)
    elif isinstance(node, _ListOf) and isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _check_keys(item, node.item, f"{path}[{index}]")
    elif isinstance(node, _Condition):
        _check_condition(value, path)
    elif isinstance(node, _Action):
        _check_action(value, path)


def _check_map(value: Mapping[str, Any], node: _MapOf, path: str) -> None:
    if node.allowed is not None:
        keys = {str(k).lower() if node.fold_case else k: k for k in value}
        extra = {keys[k] for k in set(keys) - node.allowed}
        if extra:
            raise _unknown(path, extra, node.allowed)
    for key, item in value.items():
        _check_keys(item, node.value, f"{path}.{key}")


def _check_action(value: object, path: str) -> None:
    if not isinstance(value, Mapping):
        return
    extra = sorted(set(value) - _ACTION_NAMES)
    if extra:
        actions = ", ".join(sorted(_ACTION_NAMES))
        raise _error(f"{path}.{extra[0]}", f"unknown action; actions: {actions}")
    escalate = value.get("escalate")
    if isinstance(escalate, Mapping) and set(escalate) - _ESCALATE_KEYS:
        raise _unknown(f"{path}.escalate", set(escalate) - _ESCALATE_KEYS, _ESCALATE_KEYS)


def _check_condition(value: object, path: str) -> None:
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _check_condition(item, f"{path}[{index}]")
    elif isinstance(value, Mapping):
        allowed = {"field", "op", "value"} if "field" in value else {"all", "any"}
        extra = set(value) - allowed
        if extra:
            raise _unknown(path, extra, allowed)
        for key in ("all", "any"):
            if key in value:
                _check_condition(value[key], f"{path}.{key}")


# --- reading the sections ---------------------------------------------------------------


def _version(data: Mapping[str, Any]) -> None:
    version = data.get("schema_version", SCHEMA_VERSION)
    if version != SCHEMA_VERSION or isinstance(version, bool):
        raise WorkflowError(
            f"schema_version: this ticketflow reads configuration schema version "
            f"{SCHEMA_VERSION}, the file says {version!r}",
            item="schema_version",
        )


def _list(data: Mapping[str, Any], key: str) -> list[Any]:
    value = data.get(key, [])
    if not isinstance(value, list | tuple):
        raise _error(key, f"expected an array of tables, got {type(value).__name__}")
    return list(value)


def _calendars(data: Mapping[str, Any]) -> dict[str, BusinessCalendar]:
    raw = data.get("calendars", {})
    if not isinstance(raw, Mapping):
        raise _error("calendars", "expected a table of named calendars")
    calendars = {}
    for name, item in raw.items():
        try:
            calendars[name] = BusinessCalendar.from_dict(item)
        except InvalidInputError as exc:
            raise InvalidInputError(
                f"calendars.{name}: {exc}", field=f"calendars.{name}.{exc.field}"
            ) from exc
    return calendars


def _rules(data: Mapping[str, Any]) -> list[Rule]:
    rules = []
    for index, item in enumerate(_list(data, "rules")):
        try:
            rules.append(Rule.from_dict(item))
        except RuleError as exc:
            raise RuleError(f"rules[{index}]: {exc}") from exc
    return rules


def _sla(data: Mapping[str, Any], calendars: Mapping[str, BusinessCalendar]) -> SlaPolicies:
    policies = []
    for index, item in enumerate(_list(data, "sla")):
        where = f"sla[{index}]"
        calendar = item.get("calendar") if isinstance(item, Mapping) else None
        if isinstance(calendar, str):
            if calendar not in calendars:
                known = ", ".join(sorted(calendars)) or "none"
                raise RuleError(
                    f"{where}.calendar: no calendar named {calendar!r} in [calendars] "
                    f"(calendars: {known})"
                )
            item = {**item, "calendar": calendars[calendar].to_dict()}  # noqa: PLW2901
        try:
            policies.append(SlaPolicy.from_dict(item))
        except TicketflowError as exc:
            raise RuleError(f"{where}: {exc}") from exc
    try:
        return SlaPolicies(policies)
    except RuleError as exc:
        raise RuleError(f"sla: {exc}") from exc


def _outbox(data: Mapping[str, Any]) -> frozenset[EventKind]:
    raw = data.get("outbox")
    if raw is None:
        return DEFAULT_OUTBOX
    if not isinstance(raw, list | tuple):
        raise _error("outbox", f"expected an array of event kinds, got {raw!r}")
    return _kinds(raw)


def _kinds(raw: Iterable[EventKind | str]) -> frozenset[EventKind]:
    kinds = set()
    for index, kind in enumerate(raw):
        try:
            kinds.add(EventKind(kind))
        except ValueError:
            known = ", ".join(k.value for k in EventKind)
            raise _error(
                f"outbox[{index}]", f"unknown event kind {kind!r}; kinds: {known}"
            ) from None
    return frozenset(kinds)


def _permissions(
    value: Mapping[Role | str, Iterable[str]] | None,
) -> Mapping[Role, frozenset[str]]:
    """The whole permission table: ``value``'s roles, the defaults for the others.

    Raises:
        InvalidInputError: an unknown role or command, or a role's commands given
            as something else than an array of names (``field`` is the path).
    """
    if value is None:
        return DEFAULT_PERMISSIONS
    if not isinstance(value, Mapping):
        raise _error("permissions", f"expected a table of roles, got {type(value).__name__}")
    table = dict(DEFAULT_PERMISSIONS)
    roles = ", ".join(role.value for role in Role)
    for key, names in value.items():
        try:
            role = Role(key)
        except ValueError:
            raise _error(f"permissions.{key}", f"unknown role; roles: {roles}") from None
        path = f"permissions.{role.value}"
        if isinstance(names, str) or not isinstance(names, Iterable):
            raise _error(path, f"expected an array of command names, got {names!r}")
        commands = set()
        for index, name in enumerate(names):
            if name not in _ALL_COMMANDS:
                known = ", ".join(sorted(_ALL_COMMANDS))
                raise _error(f"{path}[{index}]", f"unknown command {name!r}; commands: {known}")
            commands.add(name)
        table[role] = frozenset(commands)
    return MappingProxyType(table)


def _flag(value: object) -> bool:
    if not isinstance(value, bool):
        raise _error("organisation_visibility", f"expected true or false, got {value!r}")
    return value


def sla_from_dict(data: Mapping[str, Any]) -> SlaPolicies:
    """Read the SLA policies of configuration data: its ``[[sla]]`` and ``[calendars]``.

    The data may be a whole configuration or hold only those two keys (and
    ``schema_version``); every key is checked against the schema as in
    `HelpdeskConfig.from_dict`, but no workflow is built.

    Raises:
        RuleError: a policy is invalid (the message starts with its path).
        InvalidInputError: a calendar is invalid.
        WorkflowError: unknown keys outside ``[[sla]]`` and ``[calendars]``, or an
            unknown schema version.
    """
    if not isinstance(data, Mapping):
        raise WorkflowError("a configuration must be a table/mapping", item=None)
    _check_keys(data, _SCHEMA, "")
    _version(data)
    return _sla(data, _calendars(data))


# --- the configuration --------------------------------------------------------------------


def _rule_tuple(items: Iterable[Rule]) -> tuple[Rule, ...]:
    return tuple(items)


def _policies(value: SlaPolicies | Iterable[SlaPolicy]) -> SlaPolicies:
    return value if isinstance(value, SlaPolicies) else SlaPolicies(value)


def _calendar_map(value: Mapping[str, BusinessCalendar]) -> Mapping[str, BusinessCalendar]:
    return MappingProxyType(dict(value))


def _same_policies(a: SlaPolicies, b: SlaPolicies) -> bool:
    return a.policies == b.policies


@final
@attrs.frozen(kw_only=True)
class HelpdeskConfig:
    """Everything a help desk runs: workflow, rules, SLA policies, calendars and outbox.

    Build one from a file with `load` (or `from_toml` / `from_dict`), from a
    preset with `preset`, from a workflow with `from_workflow`, or directly.
    `to_toml` / `to_dict` write it back in the same schema (``schema_version = 1``).
    Pass it to `ticketflow.Helpdesk` as ``Helpdesk(config=...)``.

    Example:
        >>> from ticketflow import FakeClock, Helpdesk
        >>> from ticketflow.config import HelpdeskConfig
        >>> config = HelpdeskConfig.preset("zendesk")
        >>> len(config.rules), config.rules[1].name
        (3, 'close_solved_after_4d')
        >>> HelpdeskConfig.from_toml(config.to_toml()) == config
        True
        >>> Helpdesk(config=config, clock=FakeClock()).workflow.name
        'zendesk'

    Args:
        workflow: The status graph. A workflow that still carries ``rules`` or
            ``sla`` data (the presets' `ticketflow.workflows.liveagent` and friends
            do, for compatibility) is refused: use `from_workflow`, which moves them
            into the configuration.
        rules: The rules (`ticketflow.rules.Rule`), checked against the workflow.
        sla: The SLA policies (`ticketflow.sla.SlaPolicies` or a list of
            `ticketflow.sla.SlaPolicy`); empty means no SLAs.
        calendars: Named business calendars. ``[[sla]]`` policies name them in
            files (``calendar = "office"``); `to_dict` writes a policy's calendar
            by name when it equals a named one.
        outbox: The event kinds written to the store's outbox in the same
            transaction as the change (delivered at least once); default
            `DEFAULT_OUTBOX`, empty for none.
        permissions: Which commands each `ticketflow.Role` may run: role to
            command names. Roles left out keep their `DEFAULT_PERMISSIONS`; the
            value read back is the whole table. A refused command raises
            `ticketflow.PermissionDenied`.
        organisation_visibility: Whether a customer handle
            (`ticketflow.Helpdesk.for_customer`) of a requester with an
            ``organisation`` also sees the tickets of that organisation's other
            requesters (default ``False``: only their own).

    Raises:
        RuleError: a rule names a command or trigger the workflow does not have,
            or two rules share a name.
        WorkflowError: the workflow carries rules or SLA data, or an outbox kind
            is unknown.
        InvalidInputError: a permission names an unknown role or command.
    """

    workflow: Workflow
    rules: tuple[Rule, ...] = attrs.field(default=(), converter=_rule_tuple)
    sla: SlaPolicies = attrs.field(
        factory=lambda: SlaPolicies(()),
        converter=_policies,
        eq=attrs.cmp_using(eq=_same_policies),
    )
    calendars: Mapping[str, BusinessCalendar] = attrs.field(
        factory=dict, converter=_calendar_map, eq=attrs.cmp_using(eq=lambda a, b: a == b)
    )
    outbox: frozenset[EventKind] = attrs.field(default=DEFAULT_OUTBOX, converter=_kinds)
    permissions: Mapping[Role, frozenset[str]] = attrs.field(
        default=DEFAULT_PERMISSIONS,
        converter=_permissions,
        eq=attrs.cmp_using(eq=lambda a, b: dict(a) == dict(b)),
    )
    organisation_visibility: bool = attrs.field(default=False, converter=_flag)

    def __attrs_post_init__(self) -> None:
        """Check the parts against each other (attrs calls it after ``__init__``)."""
        if not isinstance(self.workflow, Workflow):
            raise WorkflowError(
                f"workflow: expected a Workflow, got {type(self.workflow).__name__}",
                item="workflow",
            )
        if self.workflow.rules or self.workflow.sla:
            raise WorkflowError(
                f"workflow {self.workflow.name!r} carries rules or SLA data; build the "
                "configuration with HelpdeskConfig.from_workflow (or HelpdeskConfig.preset), "
                "which moves them into the configuration",
                item="workflow",
            )
        for name, calendar in self.calendars.items():
            if not isinstance(name, str) or not name:
                raise _error("calendars", f"a calendar name must be a non-empty string: {name!r}")
            if not isinstance(calendar, BusinessCalendar):
                raise _error(f"calendars.{name}", "expected a BusinessCalendar")
        RuleSet(self.workflow, self.rules)  # refuses rules the graph cannot run

    @property
    def guards(self) -> Mapping[str, Guard]:
        """The guards by name the workflow was given, beside the built-in ones."""
        return self.workflow.guards

    # --- building --------------------------------------------------------------------

    @classmethod
    def from_workflow(
        cls,
        workflow: Workflow,
        *,
        rules: Iterable[Rule] | None = None,
        sla: SlaPolicies | Iterable[SlaPolicy] | None = None,
        outbox: Iterable[EventKind | str] | None = None,
    ) -> HelpdeskConfig:
        """Build a configuration around ``workflow``.

        What `ticketflow.Helpdesk` does with ``Helpdesk(workflow, rules=..., sla=...,
        outbox=...)``. A workflow read from a file written before `HelpdeskConfig`
        existed may carry ``rules`` and ``sla`` data (the presets' workflows do);
        they are the defaults for ``rules`` and ``sla`` here, and the
        configuration's workflow is the graph without them.

        Args:
            workflow: The status graph.
            rules: The rules; default: the workflow's ``rules`` data.
            sla: The SLA policies; default: the workflow's ``sla`` data. ``()`` means none.
            outbox: The outbox kinds; default `DEFAULT_OUTBOX`.

        Raises:
            RuleError: a rule or policy is invalid.
        """
        if rules is None:
            rules = _rules({"rules": list(workflow.rules)})
        if sla is None:
            sla = _sla({"sla": list(workflow.sla)}, {})
        graph = workflow
        if workflow.rules or workflow.sla:
            graph = attrs.evolve(workflow, rules=(), sla=())
        return cls(
            workflow=graph,
            rules=rules,
            sla=sla,
            outbox=DEFAULT_OUTBOX if outbox is None else outbox,
        )

    @classmethod
    def preset(
        cls,
        name: str,
        *,
        closed_policy: ClosedPolicy | str | None = None,
        reopen_window: timedelta | None = None,
        reopen_resolved: bool | None = None,
    ) -> HelpdeskConfig:
        """Return a preset's whole configuration: its graph, its default rules and SLAs.

        Args:
            name: One of `ticketflow.workflows.PRESETS`.
            closed_policy: Override the preset's (as `ticketflow.workflows.liveagent`).
            reopen_window: Override the preset's (as `ticketflow.workflows.liveagent`).
            reopen_resolved: Override the preset's (as `ticketflow.workflows.liveagent`).

        Raises:
            WorkflowError: no such preset.
        """
        if name not in _PRESETS:
            raise WorkflowError(
                f"no preset {name!r}; presets: {', '.join(_PRESETS)}", item=str(name)
            )
        return cls.from_dict(
            preset_data(
                name,
                closed_policy=closed_policy,
                reopen_window=reopen_window,
                reopen_resolved=reopen_resolved,
            )
        )

    @classmethod
    def from_dict(
        cls, data: Mapping[str, Any], *, guards: Mapping[str, Guard] | None = None
    ) -> HelpdeskConfig:
        """Build a configuration from schema data (`to_dict` output, or parsed TOML/JSON).

        ``schema_version`` may be left out (files written before it existed are
        version 1); any other version is refused.

        Args:
            data: The configuration.
            guards: Callables for the guard names the transitions use beyond the
                built-in ``has_assignee``, ``has_department`` and ``was_new``.

        Raises:
            WorkflowError: an unknown key (named by its full path), an unknown schema
                version, or an invalid graph.
            RuleError: an invalid rule or SLA policy.
            InvalidInputError: an invalid calendar.
        """
        if not isinstance(data, Mapping):
            raise WorkflowError(
                f"a configuration must be a table/mapping, got {type(data).__name__}", item=None
            )
        _check_keys(data, _SCHEMA, "")
        _version(data)
        graph = {key: data[key] for key in _GRAPH_KEYS if key in data}
        try:
            workflow = Workflow.from_dict(graph, guards=guards)
        except WorkflowError as exc:
            if exc.item is not None and "unknown guard" in str(exc) and not guards:
                raise WorkflowError(
                    f"{exc} (custom guards are Python callables: pass guards={{name: "
                    "function}} to HelpdeskConfig.load, or --guards MODULE:MAPPING "
                    "to the command line)",
                    item=exc.item,
                ) from exc
            raise
        calendars = _calendars(data)
        return cls(
            workflow=workflow,
            rules=_rules(data),
            sla=_sla(data, calendars),
            calendars=calendars,
            outbox=_outbox(data),
            permissions=data.get("permissions"),
            organisation_visibility=data.get("organisation_visibility", False),
        )

    @classmethod
    def from_toml(cls, text: str, *, guards: Mapping[str, Guard] | None = None) -> HelpdeskConfig:
        """Build a configuration from TOML text (see `from_dict`).

        Raises:
            WorkflowError: the text is not valid TOML; otherwise as `from_dict`.
        """
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise WorkflowError(f"invalid TOML: {exc}", item=None) from exc
        return cls.from_dict(data, guards=guards)

    @classmethod
    def from_json(cls, text: str, *, guards: Mapping[str, Guard] | None = None) -> HelpdeskConfig:
        """Build a configuration from JSON text holding the same data as the TOML schema.

        Raises:
            WorkflowError: the text is not valid JSON; otherwise as `from_dict`.
        """
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise WorkflowError(f"invalid JSON: {exc}", item=None) from exc
        return cls.from_dict(data, guards=guards)

    @classmethod
    def load(cls, path: str | Path, *, guards: Mapping[str, Guard] | None = None) -> HelpdeskConfig:
        """Load a configuration from a ``.toml`` (or ``.json``) file.

        Args:
            path: The file.
            guards: Callables for the custom guard names the transitions use.

        Raises:
            WorkflowError: not a ``.toml``/``.json`` file; otherwise as `from_dict`.
            OSError: the file cannot be read.
        """
        path = Path(path)
        if path.suffix not in {".toml", ".json"}:
            raise WorkflowError(f"{path}: expected a .toml or .json file", item=str(path))
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".json":
            return cls.from_json(text, guards=guards)
        return cls.from_toml(text, guards=guards)

    # --- writing ---------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Return the configuration as schema data (TOML and JSON compatible).

        Raises:
            RuleError: a rule's conditions are a Python callable (no data form).
        """
        graph = self.workflow.to_dict()
        names = {calendar: name for name, calendar in reversed(list(self.calendars.items()))}
        policies = []
        for policy in self.sla.policies:
            item = policy.to_dict()
            if policy.calendar in names:
                item["calendar"] = names[policy.calendar]
            policies.append(item)
        out: dict[str, Any] = {
            "schema_version": SCHEMA_VERSION,
            **{key: graph[key] for key in _GRAPH_KEYS},
            "outbox": sorted(kind.value for kind in self.outbox),
        }
        if self.calendars:
            out["calendars"] = {name: cal.to_dict() for name, cal in self.calendars.items()}
        if self.rules:
            out["rules"] = [rule.to_dict() for rule in self.rules]
        if policies:
            out["sla"] = policies
        if self.organisation_visibility:
            out["organisation_visibility"] = True
        changed = {
            role.value: sorted(names)
            for role, names in self.permissions.items()
            if names != DEFAULT_PERMISSIONS[role]
        }
        if changed:
            out["permissions"] = changed
        return out

    def to_toml(self) -> str:
        """Return the configuration as TOML text; `from_toml` reads it back equal."""
        return toml_dumps(self.to_dict())

    def to_json(self) -> str:
        """Return the configuration as JSON text; `from_json` reads it back equal."""
        return json.dumps(self.to_dict(), indent=2) + "\n"

    def save(self, path: str | Path) -> None:
        """Write the configuration to a ``.toml`` or ``.json`` file.

        Raises:
            WorkflowError: not a ``.toml``/``.json`` path.
        """
        path = Path(path)
        if path.suffix == ".toml":
            path.write_text(self.to_toml(), encoding="utf-8")
        elif path.suffix == ".json":
            path.write_text(self.to_json(), encoding="utf-8")
        else:
            raise WorkflowError(f"{path}: expected a .toml or .json file", item=str(path))
