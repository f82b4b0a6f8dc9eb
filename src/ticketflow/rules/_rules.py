"""Rules: a trigger (event kinds, or a time computed from the ticket), conditions, actions."""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Final, final

import attrs

from .. import _validate
from .._model import EventKind, Priority, Ticket
from .._validate import describe
from ..exceptions import InvalidInputError, RuleError
from ._conditions import (
    ConditionFn,
    compile_condition,
    format_duration,
    parse_duration,
)

__all__ = [
    "ANCHORS",
    "Rule",
    "TimeTrigger",
    "after",
    "confirmation",
    "from_dicts",
    "inactivity",
    "pending_close",
    "pending_reminder",
    "to_dicts",
    "wake_postponed",
    "when",
]


def _last_activity(ticket: Ticket) -> datetime:
    times = [ticket.status_entered_at]
    if ticket.last_customer_activity_at is not None:
        times.append(ticket.last_customer_activity_at)
    if ticket.last_agent_activity_at is not None:
        times.append(ticket.last_agent_activity_at)
    return max(times)


ANCHORS: Final[Mapping[str, Callable[[Ticket], datetime | None]]] = {
    "created": lambda t: t.created_at,
    "status_entered": lambda t: t.status_entered_at,
    "last_activity": _last_activity,
    "last_customer_activity": lambda t: t.last_customer_activity_at,
    "last_agent_activity": lambda t: t.last_agent_activity_at,
    "resolved": lambda t: t.resolved_at,
    "closed": lambda t: t.closed_at,
    "postponed_until": lambda t: t.postponed_until,
}
"""Times a time rule can count from: ``created``, ``status_entered``, ``last_activity``
(the later of entering the status and the last customer or agent message),
``last_customer_activity``, ``last_agent_activity``, ``resolved``, ``closed``,
``postponed_until``."""

_ACTION_KEYS: Final = frozenset(
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


@final
@attrs.frozen(kw_only=True, slots=True)
class TimeTrigger:
    """When a time rule becomes due: ``anchor`` (see `ANCHORS`) plus ``delay``."""

    anchor: str
    delay: timedelta = timedelta()

    def __attrs_post_init__(self) -> None:
        # The rule names an unknown anchor (it knows its own name); here, the type.
        if not isinstance(self.anchor, str):
            raise RuleError(
                f"field 'at.anchor': expected an anchor name, got {describe(self.anchor)}; "
                f"anchors: {', '.join(ANCHORS)}"
            )
        object.__setattr__(self, "delay", parse_duration(self.delay, "field 'at.delay'"))

    def due(self, ticket: Ticket) -> datetime | None:
        """Return when the rule becomes due for ``ticket`` (None if the anchor is unset)."""
        start = ANCHORS[self.anchor](ticket)
        return None if start is None else start + self.delay


def check_action(  # noqa: C901, PLR0912
    action: object, rule: str, *, where: str | None = None
) -> Mapping[str, Any]:
    """Validate one action's data; errors name ``where`` (default: the rule)."""
    where = f"rule {rule!r}" if where is None else where
    if not isinstance(action, Mapping) or len(action) != 1:
        raise RuleError(
            f"{where}: an action is a mapping with exactly one key, got {describe(action)}"
        )
    _storable(action, where)
    ((key, value),) = action.items()
    if key not in _ACTION_KEYS:
        raise RuleError(
            f"{where}: unknown action {key!r}; actions: {', '.join(sorted(_ACTION_KEYS))}"
        )
    if key in {"command", "trigger", "assign_department", "note", "notify"}:
        if not isinstance(value, str) or not value:
            raise RuleError(
                f"{where}, action {key!r}: expected a non-empty string, got {describe(value)}"
            )
    elif key == "assign":
        if value is not None and (not isinstance(value, str) or not value):
            raise RuleError(f"{where}, action 'assign': expected an agent id or null")
    elif key == "set_priority":
        if value != "raise":
            try:
                Priority.parse(value)
            except ValueError:
                raise RuleError(
                    f"{where}, action 'set_priority': expected a priority or 'raise', "
                    f"got {describe(value)}"
                ) from None
    elif key in {"add_tags", "remove_tags"}:
        if (
            not isinstance(value, list | tuple)
            or not value
            or not all(isinstance(v, str) and v for v in value)
        ):
            raise RuleError(f"{where}, action {key!r}: expected a non-empty list of tags")
        return {key: list(value)}
    elif key == "set_field":
        if not isinstance(value, Mapping) or set(value) != {"name", "value"}:
            raise RuleError(f"{where}, action 'set_field': expected {{name = ..., value = ...}}")
    elif key == "escalate":
        allowed = {"level", "department", "assign", "priority", "notify"}
        if not isinstance(value, Mapping) or not set(value) <= allowed:
            raise RuleError(
                f"{where}, action 'escalate': expected a mapping with keys among "
                f"{', '.join(sorted(allowed))}"
            )
        if "priority" in value:
            check_action({"set_priority": value["priority"]}, rule, where=where)
    elif key == "stop" and value is not True:
        raise RuleError(f"{where}, action 'stop': write stop = true")
    return dict(action)


def _storable(value: object, where: str) -> None:
    """Refuse what no store can hold (actions end up in events): see `check_json`."""
    try:
        _validate.check_data(value, where, tuples=True, leaves=(timedelta,))
    except InvalidInputError as exc:
        raise RuleError(str(exc)) from None


def _no_categories(_status: str) -> str:
    return ""


@final
@attrs.frozen(kw_only=True)
class Rule:
    """A rule: when it runs, under which conditions, and what it does.

    Exactly one of ``on`` (an event rule) and ``at`` (a time rule) is set.

    Args:
        name: Unique name; appears in the timeline events the rule produces.
        on: Event kinds that run the rule after a command (empty: every kind).
        at: For a time rule, when it becomes due (`TimeTrigger`).
        conditions: Data (``{"all": [...], "any": [...]}`` of ``{"field", "op", "value"}``)
            or a callable ``fn(ticket, now) -> bool``.
        actions: Mappings with one key each, run in order: ``command`` (a workflow
            command such as ``"close"``), ``trigger`` (a raw trigger), ``assign``,
            ``assign_department``, ``set_priority`` (a priority or ``"raise"``),
            ``add_tags``, ``remove_tags``, ``set_field`` (``{name, value}``), ``note``
            (a system note), ``notify`` (a topic delivered to subscribers),
            ``escalate`` (``{level, department, assign, priority, notify}``), ``stop``
            (no later event rule runs for this command).
        order: Rules run by ascending order, then name.

    Raises:
        RuleError: the rule is malformed; the message names the rule and the field.
    """

    name: str
    on: frozenset[EventKind] | None = None
    at: TimeTrigger | None = None
    conditions: Mapping[str, Any] | Sequence[Any] | ConditionFn | None = None
    actions: tuple[Mapping[str, Any], ...] = ()
    order: int = 0

    def __attrs_post_init__(self) -> None:  # noqa: C901 - one check per field
        if not isinstance(self.name, str) or not self.name:
            raise RuleError(f"a rule needs a non-empty name, got {describe(self.name)}")
        if _validate.text_problem(self.name) is not None:
            raise RuleError(f"rule name {self.name!r} {_validate.text_problem(self.name)}")
        if isinstance(self.order, bool) or not isinstance(self.order, int):
            raise RuleError(f"rule {self.name!r}, field 'order': expected an integer")
        if self.name == "sla":
            raise RuleError("rule 'sla': the name 'sla' is reserved for the SLA scheduler's events")
        if (self.on is None) == (self.at is None):
            raise RuleError(f"rule {self.name!r}: set exactly one of 'on' (events) and 'at' (time)")
        if self.at is not None and not isinstance(self.at, TimeTrigger):
            raise RuleError(f"rule {self.name!r}, field 'at': expected a TimeTrigger")
        if self.on is not None:
            try:
                object.__setattr__(self, "on", frozenset(EventKind(k) for k in self.on))
            except (TypeError, ValueError) as exc:
                raise RuleError(f"rule {self.name!r}, field 'on': {exc}") from None
        if self.at is not None and self.at.anchor not in ANCHORS:
            raise RuleError(
                f"rule {self.name!r}, field 'at.anchor': unknown anchor {self.at.anchor!r}; "
                f"anchors: {', '.join(ANCHORS)}"
            )
        if isinstance(self.actions, str | Mapping) or not isinstance(self.actions, Iterable):
            raise RuleError(f"rule {self.name!r}, field 'actions': expected a list of actions")
        object.__setattr__(self, "actions", tuple(self.actions))
        if not self.actions:
            raise RuleError(f"rule {self.name!r}: a rule needs at least one action")
        object.__setattr__(self, "actions", tuple(check_action(a, self.name) for a in self.actions))
        if not callable(self.conditions):
            compile_condition(self.conditions, rule=self.name, categories=_no_categories)

    @property
    def is_time_rule(self) -> bool:
        """Whether the rule runs at a time (``at``) rather than on events (``on``)."""
        return self.at is not None

    def compile(self, categories: Callable[[str], str]) -> ConditionFn:
        """Return the rule's conditions compiled against a workflow's categories."""
        if callable(self.conditions):
            return self.conditions
        return compile_condition(self.conditions, rule=self.name, categories=categories)

    def to_dict(self) -> dict[str, Any]:
        """Return the rule as data (JSON and TOML compatible).

        Raises:
            RuleError: the conditions are a Python callable, which has no data form.
        """
        if callable(self.conditions):
            raise RuleError(f"rule {self.name!r}: callable conditions cannot be saved as data")
        out: dict[str, Any] = {"name": self.name}
        if self.order:
            out["order"] = self.order
        if self.on is not None:
            out["on"] = sorted(k.value for k in self.on)
        if self.at is not None:
            out["at"] = {"anchor": self.at.anchor, "delay": format_duration(self.at.delay)}
        if self.conditions is not None:
            out["conditions"] = _plain(self.conditions)
        out["actions"] = [_plain(a) for a in self.actions]
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Rule:
        """Build a rule from `to_dict` output.

        Raises:
            RuleError: the data is malformed (the message names the rule and field).
        """
        if not isinstance(data, Mapping):
            raise RuleError(f"a rule must be a mapping, got {data!r}")
        name = data.get("name", "")
        extra = set(data) - {"name", "order", "on", "at", "conditions", "actions"}
        if extra:
            raise RuleError(f"rule {name!r}: unknown key(s) {sorted(extra)}")
        on = data.get("on")
        kinds = None
        if on is not None:
            if not isinstance(on, list | tuple):
                raise RuleError(f"rule {name!r}, field 'on': expected a list of event kinds")
            try:
                kinds = frozenset(EventKind(k) for k in on)
            except ValueError as exc:
                raise RuleError(f"rule {name!r}, field 'on': {exc}") from None
        at = data.get("at")
        trigger = None
        if at is not None:
            if not isinstance(at, Mapping) or "anchor" not in at or set(at) - {"anchor", "delay"}:
                raise RuleError(
                    f"rule {name!r}, field 'at': expected {{anchor = ..., delay = ...}}"
                )
            trigger = TimeTrigger(
                anchor=at["anchor"],
                delay=parse_duration(at.get("delay", 0), f"rule {name!r}, field 'at.delay'"),
            )
        actions = data.get("actions", [])
        if not isinstance(actions, list | tuple):
            raise RuleError(f"rule {name!r}, field 'actions': expected a list")
        order = data.get("order", 0)
        if not isinstance(order, int) or isinstance(order, bool):
            raise RuleError(f"rule {name!r}, field 'order': expected an integer")
        return cls(
            name=name,
            on=kinds,
            at=trigger,
            conditions=data.get("conditions"),
            actions=tuple(actions),
            order=order,
        )


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, timedelta):
        return format_duration(value)
    return value


def to_dicts(rules: Iterable[Rule]) -> list[dict[str, Any]]:
    """Return rules as data, for a configuration file."""
    return [rule.to_dict() for rule in rules]


def from_dicts(data: Iterable[Mapping[str, Any]]) -> list[Rule]:
    """Build rules from data.

    Raises:
        RuleError: a rule is malformed, or two rules share a name.
    """
    rules = [Rule.from_dict(item) for item in data]
    names = [r.name for r in rules]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise RuleError(f"duplicate rule name(s): {', '.join(duplicates)}")
    return rules


# --- rule makers ----------------------------------------------------------------------


def _then(then: str) -> list[dict[str, Any]]:
    if then == "remind":
        return [{"notify": "reminder"}]
    return [{"command": then}]


def _status_is(status: str) -> dict[str, Any]:
    return {"all": [{"field": "status", "op": "is", "value": status}]}


def inactivity(
    *, status: str, after: timedelta, then: str = "close", name: str | None = None, order: int = 0
) -> Rule:
    """Act when a ticket has sat in ``status`` with no message for ``after``.

    The clock starts at the later of entering the status and the last customer or
    agent message, so any message restarts it.

    Example:
        ``inactivity(status="resolved", after=timedelta(days=7), then="close")`` closes
        a Resolved ticket after 7 days without a reply; ``then="remind"`` notifies
        subscribers with topic ``"reminder"`` instead, leaving the status.
    """
    return Rule(
        name=name or f"inactivity_{status}_{format_duration(after)}_{then}",
        at=TimeTrigger(anchor="last_activity", delay=after),
        conditions=_status_is(status),
        actions=tuple(_then(then)),
        order=order,
    )


def after(
    *, status: str, delay: timedelta, then: str = "close", name: str | None = None, order: int = 0
) -> Rule:
    """Act ``delay`` after the ticket entered ``status`` (e.g. close 4 days after solved)."""
    return Rule(
        name=name or f"after_{status}_{format_duration(delay)}_{then}",
        at=TimeTrigger(anchor="status_entered", delay=delay),
        conditions=_status_is(status),
        actions=tuple(_then(then)),
        order=order,
    )


def confirmation(*, name: str = "confirmation", order: int = 0) -> Rule:
    """Close a resolved ticket when the customer confirms the resolution."""
    return Rule(
        name=name,
        on=frozenset({EventKind.CONFIRMED}),
        conditions={"all": [{"field": "category", "op": "is", "value": "resolved"}]},
        actions=({"command": "close"},),
        order=order,
    )


def when(
    conditions: Mapping[str, Any] | Sequence[Any] | ConditionFn,
    *,
    actions: Sequence[Mapping[str, Any]],
    on: Iterable[EventKind | str] | None = None,
    name: str | None = None,
    order: int = 0,
) -> Rule:
    """Act after any command (or only after events of the kinds in ``on``) when ``conditions`` hold.

    Example:
        ``when({"all": [{"field": "priority", "op": "is", "value": "urgent"},
        {"field": "tags", "op": "contains", "value": "vip"}]},
        actions=[{"assign_department": "vip-desk"}, {"notify": "vip"}])``
    """
    if not callable(conditions):
        _storable(conditions, "conditions")
    try:
        kinds = frozenset() if on is None else frozenset(EventKind(k) for k in on)
    except (TypeError, ValueError) as exc:
        raise RuleError(f"field 'on': expected event kinds ({exc})") from None
    return Rule(
        name=name or f"when_{zlib.crc32(repr(conditions).encode()):08x}",
        on=kinds,
        conditions=conditions,
        actions=tuple(actions),
        order=order,
    )


def wake_postponed(*, name: str = "wake_postponed", order: int = 0) -> Rule:
    """Wake a postponed ticket at its ``postponed_until`` (LiveAgent: back to New if it was New)."""
    return Rule(
        name=name,
        at=TimeTrigger(anchor="postponed_until"),
        actions=({"command": "wake"},),
        order=order,
    )


def pending_reminder(
    *,
    status: str | None = None,
    topic: str = "pending_reminder",
    name: str = "pending_reminder",
    order: int = -1,
) -> Rule:
    """Notify subscribers at ``postponed_until``, leaving the status (Zammad's pending reminder)."""
    return Rule(
        name=name,
        at=TimeTrigger(anchor="postponed_until"),
        conditions=None if status is None else _status_is(status),
        actions=({"notify": topic},),
        order=order,
    )


def pending_close(
    *, status: str | None = None, name: str = "pending_close", order: int = 0
) -> Rule:
    """Close the ticket at its ``postponed_until`` (Zammad's pending close)."""
    return Rule(
        name=name,
        at=TimeTrigger(anchor="postponed_until"),
        conditions=None if status is None else _status_is(status),
        actions=({"command": "close"},),
        order=order,
    )
