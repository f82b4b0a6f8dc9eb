"""Rule conditions: ``{"all": [...], "any": [...]}`` of field/operator/value, compiled once.

A condition is data (storable as JSON or TOML) or a Python callable. Data is
validated and compiled into a closure when the rule is built, so evaluating it
never parses anything and never evaluates a user string.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Final

from .. import _validate
from .._model import Priority, Role, Ticket
from .._validate import describe
from ..exceptions import InvalidInputError, RuleError

__all__ = [
    "ConditionFn",
    "compile_condition",
    "format_duration",
    "parse_duration",
]

ConditionFn = Callable[[Ticket, datetime], bool]
"""A compiled condition: ``fn(ticket, now) -> bool``."""

_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(w|d|h|m|s)")
_UNITS: Final = {"w": 604_800, "d": 86_400, "h": 3_600, "m": 60, "s": 1}


def parse_duration(value: object, where: str) -> timedelta:
    """Return a duration from a timedelta, a number of seconds, or text (``"7d"``, ``"1d 12h"``).

    Raises:
        RuleError: the value is not a non-negative duration (``where`` names the place).
    """
    if isinstance(value, timedelta):
        seconds: float = value.total_seconds()
    elif isinstance(value, int | float) and not isinstance(value, bool):
        seconds = value
    elif isinstance(value, str) and value.strip():
        text = value.replace(" ", "")
        parts = _DURATION.findall(text)
        if not parts or "".join(n + u for n, u in parts) != text:
            raise RuleError(
                f"{where}: {describe(value)} is not a duration; "
                "write e.g. '7d', '36h', '1d 12h', '90m'"
            )
        seconds = sum(float(n) * _UNITS[u] for n, u in parts)
    else:
        raise RuleError(f"{where}: expected a duration ('7d', seconds), got {describe(value)}")
    if seconds < 0:
        raise RuleError(f"{where}: a duration cannot be negative ({describe(value)})")
    try:
        seconds = _validate.seconds(seconds, where)
    except InvalidInputError:
        raise RuleError(
            f"{where}: a duration must be finite and at most {_validate.MAX_DURATION.days} days, "
            f"got {describe(value)}"
        ) from None
    return timedelta(seconds=seconds)


def format_duration(value: timedelta) -> str:
    """Return ``value`` in the text form `parse_duration` reads (``"1d12h"``)."""
    total = value.total_seconds()
    if total != int(total):  # sub-second precision: plain seconds keep it exact
        return f"{total:.6f}".rstrip("0") + "s"
    seconds = int(total)
    if seconds == 0:
        return "0s"
    out = []
    for unit in ("d", "h", "m", "s"):
        count, seconds = divmod(seconds, _UNITS[unit])
        if count:
            out.append(f"{count}{unit}")
    return "".join(out)


def _count(role: Role | None) -> Callable[[Ticket, datetime], Any]:
    if role is None:
        return lambda t, _now: len(t.messages)
    return lambda t, _now: sum(1 for m in t.messages if m.author.role is role and not m.private)


def _since(getter: Callable[[Ticket], datetime | None]) -> Callable[[Ticket, datetime], Any]:
    def elapsed(ticket: Ticket, now: datetime) -> timedelta | None:
        start = getter(ticket)
        return None if start is None else now - start

    return elapsed


# field name -> (value kind, getter(ticket, now))
_FIELDS: Final[dict[str, tuple[str, Callable[[Ticket, datetime], Any]]]] = {
    "status": ("text", lambda t, _now: t.status),
    "priority": ("priority", lambda t, _now: t.priority),
    "channel": ("text", lambda t, _now: t.channel),
    "assignee": ("text", lambda t, _now: t.assignee),
    "department": ("text", lambda t, _now: t.department),
    "tags": ("tags", lambda t, _now: t.tags),
    "messages": ("number", _count(None)),
    "customer_messages": ("number", _count(Role.CUSTOMER)),
    "agent_messages": ("number", _count(Role.AGENT)),
    "since_created": ("duration", _since(lambda t: t.created_at)),
    "since_customer_activity": ("duration", _since(lambda t: t.last_customer_activity_at)),
    "since_agent_activity": ("duration", _since(lambda t: t.last_agent_activity_at)),
    "since_resolved": ("duration", _since(lambda t: t.resolved_at)),
    "in_status": ("duration", _since(lambda t: t.status_entered_at)),
}
# "category" needs the workflow; the engine binds it (see compile_condition).
_OPS: Final[dict[str, frozenset[str]]] = {
    "text": frozenset({"is", "is_not", "in", "not_in", "is_set", "not_set"}),
    "priority": frozenset({"is", "is_not", "in", "not_in", "gt", "gte", "lt", "lte"}),
    "tags": frozenset({"contains", "not_contains", "contains_any", "contains_all", "is_empty"}),
    "number": frozenset({"is", "is_not", "gt", "gte", "lt", "lte"}),
    "duration": frozenset({"gt", "gte", "lt", "lte"}),
    "json": frozenset(
        {"is", "is_not", "in", "not_in", "gt", "gte", "lt", "lte", "contains", "is_set", "not_set"}
    ),
}
_NO_VALUE: Final = frozenset({"is_set", "not_set", "is_empty"})
FIELD_NAMES: Final = (*sorted([*_FIELDS, "category"]), "custom_fields.<name>")


def _check_value(kind: str, op: str, value: Any, where: str) -> Any:  # noqa: C901, PLR0911
    """Validate ``value`` for ``kind``/``op`` and return it in compiled form."""
    if op in _NO_VALUE:
        return None
    many = op in {"in", "not_in", "contains_any", "contains_all"}
    if many:
        if not isinstance(value, list | tuple) or not value:
            raise RuleError(f"{where}: operator {op!r} needs a non-empty list, got {value!r}")
        return frozenset(_check_value(kind, "is", v, where) for v in value)
    if kind in {"text", "category"}:
        if not isinstance(value, str) or not value:
            raise RuleError(f"{where}: expected a non-empty string, got {value!r}")
        return value
    if kind == "priority":
        try:
            return Priority.parse(value)
        except ValueError:
            names = ", ".join(p.label for p in Priority)
            raise RuleError(f"{where}: expected a priority ({names}), got {value!r}") from None
    if kind == "tags":
        if not isinstance(value, str) or not value:
            raise RuleError(f"{where}: expected a tag (a non-empty string), got {value!r}")
        return value
    if kind == "number":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise RuleError(f"{where}: expected a number, got {value!r}")
        return value
    if kind == "duration":
        return parse_duration(value, where)
    return value  # json: any JSON value


def _leaf(  # noqa: C901, PLR0911 - one branch per operator reads best
    kind: str, op: str, getter: Callable[[Ticket, datetime], Any], value: Any
) -> ConditionFn:
    if op == "is_set":
        return lambda t, now: getter(t, now) is not None
    if op == "not_set":
        return lambda t, now: getter(t, now) is None
    if op == "is_empty":
        return lambda t, now: not getter(t, now)
    if op == "is":
        return lambda t, now: getter(t, now) == value
    if op == "is_not":
        return lambda t, now: getter(t, now) != value
    if op == "in":
        return lambda t, now: getter(t, now) in value
    if op == "not_in":
        return lambda t, now: getter(t, now) not in value
    if op == "contains":
        if kind == "tags":
            return lambda t, now: value in getter(t, now)
        return lambda t, now: _contains(getter(t, now), value)
    if op == "not_contains":
        return lambda t, now: value not in getter(t, now)
    if op == "contains_any":
        return lambda t, now: not value.isdisjoint(getter(t, now))
    if op == "contains_all":
        return lambda t, now: value <= getter(t, now)
    compare: Callable[[Any, Any], Any] = getattr(operator, {"gte": "ge", "lte": "le"}.get(op, op))

    def ordered(ticket: Ticket, now: datetime) -> bool:
        actual = getter(ticket, now)
        if actual is None:
            return False
        try:
            return bool(compare(actual, value))
        except TypeError:
            return False

    return ordered


def _contains(container: Any, value: Any) -> bool:
    try:
        return value in container
    except TypeError:
        return False


def compile_condition(
    data: Mapping[str, Any] | Sequence[Any] | None,
    *,
    rule: str,
    categories: Callable[[str], str],
    _depth: int = 0,
) -> ConditionFn:
    """Validate ``data`` and return it compiled.

    Args:
        data: ``{"all": [...], "any": [...]}`` (nestable), a single leaf
            ``{"field": ..., "op": ..., "value": ...}``, a list (meaning "all"), or None.
        rule: The rule's name, for error messages.
        categories: Maps a status to its category name (from the workflow).

    Raises:
        RuleError: an unknown field or operator, or a value of the wrong type; the
            message names the rule and the field.
    """
    if data is None:
        return lambda _t, _now: True
    if _depth >= _validate.MAX_JSON_DEPTH:
        raise RuleError(
            f"rule {rule!r}: conditions nested deeper than {_validate.MAX_JSON_DEPTH} levels"
        )
    if isinstance(data, list | tuple):
        data = {"all": list(data)}
    if not isinstance(data, Mapping):
        raise RuleError(
            f"rule {rule!r}: conditions must be a mapping or a list, got {describe(data)}"
        )
    if "field" in data:
        return _compile_leaf(data, rule, categories)
    extra = set(data) - {"all", "any"}
    if extra:
        raise RuleError(
            f"rule {rule!r}: unknown condition key(s) {sorted(extra)}; use 'all', 'any' "
            "or a leaf with 'field', 'op', 'value'"
        )
    deeper = _depth + 1
    all_of = [
        compile_condition(c, rule=rule, categories=categories, _depth=deeper)
        for c in _branches(data, "all", rule)
    ]
    any_of = [
        compile_condition(c, rule=rule, categories=categories, _depth=deeper)
        for c in _branches(data, "any", rule)
    ]

    def both(ticket: Ticket, now: datetime) -> bool:
        return all(c(ticket, now) for c in all_of) and (
            not any_of or any(c(ticket, now) for c in any_of)
        )

    return both


def _branches(data: Mapping[str, Any], key: str, rule: str) -> list[Any]:
    value = data.get(key, [])
    if not isinstance(value, list | tuple):
        raise RuleError(f"rule {rule!r}: condition {key!r} must be a list, got {value!r}")
    return list(value)


def _compile_leaf(
    data: Mapping[str, Any], rule: str, categories: Callable[[str], str]
) -> ConditionFn:
    extra = set(data) - {"field", "op", "value"}
    if extra:
        raise RuleError(f"rule {rule!r}: unknown key(s) {sorted(map(repr, extra))} in a condition")
    field = data["field"]
    op = data.get("op", "is")
    where = f"rule {rule!r}, field {field!r}"
    if not isinstance(field, str):
        raise RuleError(f"rule {rule!r}: condition field must be a string, got {field!r}")
    if field == "category":
        kind = "text"
        getter: Callable[[Ticket, datetime], Any] = lambda t, _now: categories(t.status)  # noqa: E731
    elif field.startswith("custom_fields."):
        name = field.removeprefix("custom_fields.")
        kind = "json"
        getter = lambda t, _now: t.custom_fields.get(name)  # noqa: E731
    elif field in _FIELDS:
        kind, getter = _FIELDS[field]
    else:
        raise RuleError(f"{where}: unknown field; fields: {', '.join(FIELD_NAMES)}")
    if op not in _OPS[kind]:
        known = ", ".join(sorted(_OPS[kind]))
        raise RuleError(f"{where}: unknown operator {op!r}; operators: {known}")
    if op not in _NO_VALUE and "value" not in data:
        raise RuleError(f"{where}: operator {op!r} needs a value")
    try:
        _validate.check_data(data.get("value"), where, tuples=True, leaves=(timedelta,))
    except InvalidInputError as exc:
        raise RuleError(str(exc)) from None
    value = _check_value("category" if field == "category" else kind, op, data.get("value"), where)
    return _leaf(kind, op, getter, value)
