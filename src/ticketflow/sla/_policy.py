"""SLA policies: targets per priority and metric, pauses, warnings, escalations, parsing.

The public names are re-exported by `ticketflow.sla`, whose docstring defines the metrics.
"""

from __future__ import annotations

import copy
import enum
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Any, Final, final

import attrs

from .._calendar import BusinessCalendar
from .._model import Priority, Ticket
from .._validate import describe, text_problem
from .._workflow import Category, Workflow
from ..exceptions import RuleError
from ..rules._conditions import compile_condition, format_duration, parse_duration
from ..rules._rules import check_action

__all__ = ["Escalation", "Metric", "SlaPolicies", "SlaPolicy"]


class Metric(enum.StrEnum):
    """What an SLA target measures (`ticketflow.sla` defines each one)."""

    FIRST_REPLY = "first_reply"
    NEXT_REPLY = "next_reply"
    FIRST_ASSIGNMENT = "first_assignment"
    PERIODIC_UPDATE = "periodic_update"
    RESOLUTION = "resolution"
    REQUESTER_WAIT = "requester_wait"
    AGENT_WORK = "agent_work"


_METRICS: Final = tuple(Metric)  # iterating the enum class itself is slow in hot loops
_COUNTING: Final = frozenset({Category.NEW, Category.OPEN, Category.PENDING})
_WAIT_METRICS: Final = frozenset({Metric.REQUESTER_WAIT, Metric.AGENT_WORK})


def _fail(policy: str, field: str, message: str) -> RuleError:
    return RuleError(f"SLA policy {policy!r}, field {field!r}: {message}")


def _categories(value: object, policy: str, field: str) -> frozenset[Category]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise _fail(policy, field, f"expected a list of categories, got {value!r}")
    out: set[Category] = set()
    for item in value:
        try:
            category = Category(item)
        except ValueError:
            raise _fail(policy, field, f"unknown category {item!r}") from None
        if category not in _COUNTING:
            raise _fail(policy, field, f"only new, open and pending can count, got {item!r}")
        out.add(category)
    return frozenset(out)


def _metric(value: object, policy: str, field: str) -> Metric:
    try:
        return Metric(str(value))
    except ValueError:
        names = ", ".join(m.value for m in Metric)
        raise _fail(policy, field, f"unknown metric {value!r}; metrics: {names}") from None


def _targets(targets: object, policy: str) -> dict[Priority, Mapping[Metric, timedelta]]:
    if not isinstance(targets, Mapping):
        raise _fail(policy, "targets", f"expected a mapping per priority, got {targets!r}")
    by_priority: dict[Priority, Mapping[Metric, timedelta]] = {}
    for raw_priority, per_metric in targets.items():
        where = f"targets.{raw_priority}"
        try:
            priority = Priority.parse(raw_priority)
        except ValueError:
            raise _fail(policy, where, "unknown priority") from None
        if not isinstance(per_metric, Mapping):
            raise _fail(policy, where, f"expected a mapping per metric, got {per_metric!r}")
        by_metric: dict[Metric, timedelta] = {}
        for raw_metric, raw_target in per_metric.items():
            metric = _metric(raw_metric, policy, f"{where}.{raw_metric}")
            where_metric = f"SLA policy {policy!r}, field '{where}.{metric}'"
            by_metric[metric] = parse_duration(raw_target, where_metric)
        by_priority[priority] = MappingProxyType(by_metric)
    return by_priority


def _warnings(warn_before: object, policy: str) -> dict[Metric, timedelta]:
    if warn_before is None:
        return {}
    if not isinstance(warn_before, Mapping):
        every = parse_duration(warn_before, f"SLA policy {policy!r}, field 'warn_before'")
        return dict.fromkeys(Metric, every)
    warnings: dict[Metric, timedelta] = {}
    for raw_metric, raw_warn in warn_before.items():
        metric = _metric(raw_metric, policy, f"warn_before.{raw_metric}")
        where = f"SLA policy {policy!r}, field 'warn_before.{metric}'"
        warnings[metric] = parse_duration(raw_warn, where)
    return warnings


_ESCALATION_KEYS: Final = frozenset(
    {"level", "after", "metrics", "assign", "department", "priority", "notify"}
)


@final
@attrs.frozen(slots=True, init=False)
class Escalation:
    """An escalation level: what happens a set business time after an SLA breach.

    When a metric's cycle is breached, the scheduler fires an ``sla_breached``
    event at the exact due time; each escalation level of the policy that covers
    the metric then fires once for that cycle, ``after`` (business time in the
    policy's calendar) past the breach, as an ``escalated`` event carrying the
    level, followed by the level's actions (the rule action ``escalate``).

    Examples:
        >>> Escalation(level=2, after="2h", assign="lead", priority="raise").to_dict()
        {'level': 2, 'after': '2h', 'assign': 'lead', 'priority': 'raise'}

    Args:
        level: The level number (1 for the first), recorded in the event.
        after: Business time after the breach (default 0: at the breach).
        metrics: The metrics it covers (default: every metric).
        assign: Reassign the ticket to this agent.
        department: Move the ticket to this department.
        priority: Set the priority: a priority name, or ``"raise"`` (one step up).
        notify: A topic to notify (a ``notified`` event, delivered to subscribers).

    Raises:
        RuleError: a field is invalid; the message names the field.
    """

    level: int
    after: timedelta
    metrics: frozenset[Metric] | None
    assign: str | None
    department: str | None
    priority: str | None
    notify: str | None

    def __init__(
        self,
        *,
        level: int,
        after: object = timedelta(0),
        metrics: Iterable[Metric | str] | None = None,
        assign: str | None = None,
        department: str | None = None,
        priority: str | None = None,
        notify: str | None = None,
    ) -> None:
        where = f"SLA escalation level {describe(level)}"
        if isinstance(level, bool) or not isinstance(level, int) or level < 1:
            raise RuleError(f"{where}, field 'level': expected a whole number >= 1")
        delay = parse_duration(after, f"{where}, field 'after'")
        if delay < timedelta(0):
            raise RuleError(f"{where}, field 'after': must not be negative, got {after!r}")
        covered: frozenset[Metric] | None = None
        if metrics is not None:
            if isinstance(metrics, str) or not isinstance(metrics, Iterable):
                raise RuleError(f"{where}, field 'metrics': expected a list of metrics")
            names = ", ".join(m.value for m in Metric)
            try:
                covered = frozenset(Metric(str(m)) for m in metrics)
            except ValueError:
                msg = f"{where}, field 'metrics': unknown metric in {metrics!r}; metrics: {names}"
                raise RuleError(msg) from None
        action = {
            k: v
            for k, v in {
                "level": level,
                "assign": assign,
                "department": department,
                "priority": priority,
                "notify": notify,
            }.items()
            if v is not None
        }
        check_action({"escalate": action}, "", where=where)
        set_ = object.__setattr__
        set_(self, "level", level)
        set_(self, "after", delay)
        set_(self, "metrics", covered)
        set_(self, "assign", assign)
        set_(self, "department", department)
        set_(self, "priority", priority)
        set_(self, "notify", notify)

    def covers(self, metric: Metric) -> bool:
        """Whether this level escalates breaches of ``metric``."""
        return self.metrics is None or metric in self.metrics

    def action(self) -> dict[str, Any]:
        """Return the level as the rule action it runs (``{"escalate": {...}}``)."""
        data = self.to_dict()
        del data["after"]
        data.pop("metrics", None)
        return {"escalate": data}

    def to_dict(self) -> dict[str, Any]:
        """Return the level as JSON/TOML-friendly data; `from_dict` reads it back equal."""
        out: dict[str, Any] = {"level": self.level, "after": format_duration(self.after)}
        if self.metrics is not None:
            out["metrics"] = sorted(m.value for m in self.metrics)
        for key in ("assign", "department", "priority", "notify"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Escalation:
        """Build a level from `to_dict` data.

        Raises:
            RuleError: the data is malformed; the message names the field.
        """
        if not isinstance(data, Mapping):
            raise RuleError(f"an SLA escalation level must be a mapping, got {data!r}")
        unknown = set(data) - _ESCALATION_KEYS
        if unknown:
            raise RuleError(
                f"SLA escalation level {data.get('level')!r}: unknown key(s) {sorted(unknown)}; "
                f"keys: {', '.join(sorted(_ESCALATION_KEYS))}"
            )
        if "level" not in data:
            raise RuleError(f"SLA escalation {dict(data)!r}: field 'level' is missing")
        return cls(**data)


def _escalations(
    items: Iterable[Escalation | Mapping[str, Any]], policy: str
) -> tuple[Escalation, ...]:
    if isinstance(items, str | Mapping) or not isinstance(items, Iterable):
        raise _fail(policy, "escalations", f"expected a list of levels, got {items!r}")
    levels: list[Escalation] = []
    for index, item in enumerate(items):
        try:
            level = item if isinstance(item, Escalation) else Escalation.from_dict(item)
        except RuleError as exc:
            raise _fail(policy, f"escalations[{index}]", str(exc)) from exc
        for other in levels:
            shared = [m.value for m in Metric if level.covers(m) and other.covers(m)]
            if other.level == level.level and shared:
                raise _fail(
                    policy,
                    f"escalations[{index}]",
                    f"level {level.level} is defined twice for {', '.join(shared)}",
                )
        levels.append(level)
    return tuple(levels)


@final
@attrs.frozen(slots=True, init=False)
class SlaPolicy:
    """Targets per priority and metric, for the tickets that match the conditions.

    Examples:
        >>> from datetime import timedelta
        >>> policy = SlaPolicy(
        ...     "vip",
        ...     conditions={"field": "tags", "op": "contains", "value": "vip"},
        ...     targets={"urgent": {"first_reply": "1h", "resolution": "8h"}},
        ...     warn_before="15m",
        ... )
        >>> policy.targets[Priority.URGENT][Metric.FIRST_REPLY]
        datetime.timedelta(seconds=3600)
        >>> SlaPolicy.from_dict(policy.to_dict()) == policy
        True

    Args:
        name: The policy's name (non-empty).
        conditions: A condition in the rule condition format (see
            `ticketflow.rules`; a list means "all"), or ``None`` for the fallback
            policy. The policy keeps a copy.
        targets: Per priority (a `Priority` or its name), per metric (a `Metric` or
            its name), a duration (`timedelta`, seconds, or text like ``"4h"``).
        calendar: The business calendar the clocks count in (default: always open).
        pause_in: Categories in which the clocks pause (default ``pending``); from
            ``new``, ``open`` and ``pending``.
        run_in: Per metric, the categories in which its clock runs, overriding
            ``pause_in`` (LiveAgent style: ``{"resolution": ["new", "open"]}``).
        warn_before: Business time before the due time to warn at: one duration
            for every metric, or a mapping per metric (missing: no warning).
        escalations: Escalation levels (`Escalation` or its data) run after a
            breach; a metric is covered by at most one level of each number.

    Raises:
        RuleError: a field is invalid; the message names the policy and the field.
    """

    name: str
    conditions: Mapping[str, Any] | list[Any] | None
    targets: Mapping[Priority, Mapping[Metric, timedelta]]
    calendar: BusinessCalendar
    pause_in: frozenset[Category]
    run_in: Mapping[Metric, frozenset[Category]]
    warn_before: Mapping[Metric, timedelta]
    escalations: tuple[Escalation, ...]

    def __init__(
        self,
        name: str,
        *,
        conditions: Mapping[str, Any] | list[Any] | None = None,
        targets: Mapping[Priority | str, Mapping[Metric | str, object]],
        calendar: BusinessCalendar | None = None,
        pause_in: Iterable[Category | str] = (Category.PENDING,),
        run_in: Mapping[Metric | str, Iterable[Category | str]] | None = None,
        warn_before: object = None,
        escalations: Iterable[Escalation | Mapping[str, Any]] = (),
    ) -> None:
        if not isinstance(name, str) or not name.strip():
            raise RuleError(f"an SLA policy needs a non-empty name, got {describe(name)}")
        if text_problem(name) is not None:
            raise RuleError(f"SLA policy name {name!r} {text_problem(name)}")
        if conditions is not None and not isinstance(conditions, Mapping | list):
            raise _fail(
                name, "conditions", f"expected a mapping or None, got {describe(conditions)}"
            )
        try:
            compile_condition(conditions, rule=name, categories=lambda s: s)
        except RuleError as exc:
            raise _fail(name, "conditions", str(exc)) from exc
        by_priority = _targets(targets, name)
        if calendar is None:
            calendar = BusinessCalendar.always_open()
        elif not isinstance(calendar, BusinessCalendar):
            raise _fail(name, "calendar", f"expected a BusinessCalendar, got {calendar!r}")
        pause = _categories(pause_in, name, "pause_in")
        runs: dict[Metric, frozenset[Category]] = {}
        for raw_metric, categories in (run_in or {}).items():
            metric = _metric(raw_metric, name, f"run_in.{raw_metric}")
            runs[metric] = _categories(categories, name, f"run_in.{metric}")
        warnings = _warnings(warn_before, name)
        levels = _escalations(escalations, name)
        set_ = object.__setattr__
        set_(self, "name", name)
        # A copy: changing the caller's dict later must not bypass the validation.
        set_(self, "conditions", copy.deepcopy(conditions))
        set_(self, "targets", MappingProxyType(by_priority))
        set_(self, "calendar", calendar)
        set_(self, "pause_in", pause)
        set_(self, "run_in", MappingProxyType(runs))
        set_(self, "warn_before", MappingProxyType(warnings))
        set_(self, "escalations", levels)

    def run_set(self, metric: Metric) -> frozenset[Category]:
        """Return the categories in which ``metric``'s clock runs under this policy."""
        explicit = self.run_in.get(metric)
        if explicit is not None:
            return explicit
        if metric in _WAIT_METRICS:
            return frozenset({Category.NEW, Category.OPEN})
        return _COUNTING - self.pause_in

    def target(self, priority: Priority, metric: Metric) -> timedelta | None:
        """Return the target for ``priority`` and ``metric``, or ``None`` if there is none."""
        return self.targets.get(priority, {}).get(metric)

    def to_dict(self) -> dict[str, Any]:
        """Return the policy as JSON/TOML-friendly data; `from_dict` reads it back equal."""
        out: dict[str, Any] = {"name": self.name}
        if self.conditions is not None:
            out["conditions"] = self.conditions
        out["targets"] = {
            priority.label: {m.value: format_duration(d) for m, d in per.items()}
            for priority, per in self.targets.items()
        }
        out["calendar"] = self.calendar.to_dict()
        out["pause_in"] = sorted(c.value for c in self.pause_in)
        if self.run_in:
            out["run_in"] = {m.value: sorted(c.value for c in cs) for m, cs in self.run_in.items()}
        if self.warn_before:
            out["warn_before"] = {m.value: format_duration(d) for m, d in self.warn_before.items()}
        if self.escalations:
            out["escalations"] = [level.to_dict() for level in self.escalations]
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SlaPolicy:
        """Build a policy from `to_dict` data.

        Raises:
            RuleError: the data is malformed; the message names the policy and field.
        """
        if not isinstance(data, Mapping):
            raise RuleError(f"SLA policy data must be a mapping, got {data!r}")
        name = data.get("name")
        unknown = set(data) - {
            "name",
            "conditions",
            "targets",
            "calendar",
            "pause_in",
            "run_in",
            "warn_before",
            "escalations",
        }
        if unknown:
            raise _fail(str(name), min(unknown), f"unknown key(s) {sorted(unknown)}")
        if "targets" not in data:
            raise _fail(str(name), "targets", "missing")
        raw_calendar = data.get("calendar")
        try:
            calendar = None if raw_calendar is None else BusinessCalendar.from_dict(raw_calendar)
        except ValueError as exc:
            raise _fail(str(name), "calendar", str(exc)) from exc
        return cls(
            name if isinstance(name, str) else "",
            conditions=data.get("conditions"),
            targets=data["targets"],
            calendar=calendar,
            pause_in=data.get("pause_in", (Category.PENDING,)),
            run_in=data.get("run_in"),
            warn_before=data.get("warn_before"),
            escalations=data.get("escalations", ()),
        )


@final
class SlaPolicies:
    """An ordered list of policies: the first whose conditions match a ticket applies.

    The fallback (the policy without conditions) must be the last one, and there is
    at most one; policy names are unique.

    Raises:
        RuleError: two policies share a name, or a fallback is not last.
    """

    __slots__ = ("policies",)

    def __init__(self, policies: Iterable[SlaPolicy]) -> None:
        items = tuple(policies)
        seen: set[str] = set()
        for index, policy in enumerate(items):
            if not isinstance(policy, SlaPolicy):
                raise RuleError(f"SLA policies: item {index} is not an SlaPolicy: {policy!r}")
            if policy.name in seen:
                raise _fail(policy.name, "name", "two SLA policies have this name")
            seen.add(policy.name)
            if policy.conditions is None and index != len(items) - 1:
                raise _fail(
                    policy.name,
                    "conditions",
                    "the fallback policy (no conditions) must be the last one; "
                    "policies after it could never apply",
                )
        self.policies: tuple[SlaPolicy, ...] = items

    def __repr__(self) -> str:
        """Return ``SlaPolicies([...])``."""
        return f"SlaPolicies({list(self.policies)!r})"

    def select(self, ticket: Ticket, workflow: Workflow, now: datetime) -> SlaPolicy | None:
        """Return the first policy whose conditions hold for ``ticket`` at ``now``, if any."""
        categories: Callable[[str], str] = lambda status: workflow.category(status).value  # noqa: E731
        for policy in self.policies:
            matches = compile_condition(policy.conditions, rule=policy.name, categories=categories)
            if matches(ticket, now):
                return policy
        return None

    def to_dicts(self) -> list[dict[str, Any]]:
        """Return the policies as data, in order."""
        return [policy.to_dict() for policy in self.policies]

    @classmethod
    def from_dicts(cls, data: Sequence[Mapping[str, Any]]) -> SlaPolicies:
        """Build the policies from `to_dicts` data."""
        return cls(SlaPolicy.from_dict(item) for item in data)
