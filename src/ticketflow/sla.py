"""SLA policies and each ticket's SLA state, computed from its timeline alone.

An `SlaPolicy` sets targets per priority and metric, in a business calendar; the
first policy of `SlaPolicies` whose conditions match a ticket applies (the policy
without conditions is the fallback). `sla_state` returns, per metric, the target,
the start, the due time, the time left and whether the target was met or
breached; `next_sla_instant` gives the next warning or breach instant, for the
exact-time scheduler. Nothing is stored: the state is a pure function of the
timeline (events up to ``now``), the policy and ``now``, so changing a policy or
a calendar recomputes every open ticket's due times.

Definitions. A metric is measured in *cycles*; each cycle starts at an event and
is completed by another. Its clock counts business time (the policy's calendar)
while the ticket's status category is in the metric's *run set*: ``new``, ``open``
and ``pending`` minus the policy's ``pause_in`` (default: ``pending`` pauses), or
the per-metric ``run_in`` override. ``resolved``, ``closed`` and ``trash`` never
count. The metrics:

- ``first_reply``: from creation to the first public agent reply
  (``agent_replied``; private notes do not count), or to the first entry into a
  ``resolved``/``closed`` status, whichever comes first (solving fulfils it).
- ``next_reply``: from a customer reply that follows an agent reply (with no
  cycle open) to the next agent reply or entry into ``resolved``/``closed``. The
  current (last) cycle is reported; every cycle is kept in ``cycles``.
- ``first_assignment``: from creation to the first time an assignee is set.
- ``periodic_update``: from each public agent reply to the next one, while the
  ticket is not solved (entering ``resolved``/``closed`` completes the cycle), as
  Zendesk's periodic update starts after the first public agent comment.
- ``resolution``: from creation to the last entry into a ``resolved``/``closed``
  status, while the ticket rests there; a reopen resumes the same clock.
- ``requester_wait`` and ``agent_work``: like ``resolution`` but by default they
  run only in ``new`` and ``open`` whatever ``pause_in`` says (Zendesk counts new,
  open and on-hold, and new and open; this workflow model has no on-hold
  category, so set ``run_in`` to tell them apart).

Due time: the earliest instant at which the clock reaches the target, taking the
paused intervals into account; after a cycle's completion (and from ``now`` on
while it runs) the clock is assumed to keep running. While a cycle is paused
short of its target the due time is ``None`` (unknown until it resumes). A
completed cycle is *met* when ``completed_at <= due_at``, else *breached*; an open
cycle is *breached* from ``due_at`` on (``now >= due_at``). The warning instant is
when ``warn_before`` of business time is left. ``time_left`` is the target minus
the clock's business time (at completion, or at ``now``): negative when overdue.

The applicable targets are those of the policy selected for the ticket as it is
at ``now`` (its current priority, department, tags...).
"""

from __future__ import annotations

import copy
import enum
import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Any, Final, final

import attrs

from ._calendar import BusinessCalendar
from ._clock import require_aware
from ._model import EventKind, Priority, Ticket
from ._validate import describe, text_problem
from ._workflow import Category, Workflow
from .exceptions import RuleError
from .rules._conditions import compile_condition, format_duration, parse_duration
from .rules._rules import check_action

__all__ = [
    "Escalation",
    "Metric",
    "MetricState",
    "SlaCycle",
    "SlaPolicies",
    "SlaPolicy",
    "SlaState",
    "SlaStatus",
    "next_sla_instant",
    "sla_state",
]


class Metric(enum.StrEnum):
    """What an SLA target measures (see the module docstring for the definitions)."""

    FIRST_REPLY = "first_reply"
    NEXT_REPLY = "next_reply"
    FIRST_ASSIGNMENT = "first_assignment"
    PERIODIC_UPDATE = "periodic_update"
    RESOLUTION = "resolution"
    REQUESTER_WAIT = "requester_wait"
    AGENT_WORK = "agent_work"


class SlaStatus(enum.StrEnum):
    """Where a metric's clock stands."""

    RUNNING = "running"
    """Counting, short of the due time."""
    PAUSED = "paused"
    """Not counting (the status category is outside the run set), short of the target."""
    MET = "met"
    """Completed at or before the due time."""
    BREACHED = "breached"
    """Completed after the due time, or still open at or after it."""
    NOT_APPLICABLE = "not_applicable"
    """No target for this metric, or no cycle has started yet."""


_METRICS: Final = tuple(Metric)  # iterating the enum class itself is slow in hot loops
_COUNTING: Final = frozenset({Category.NEW, Category.OPEN, Category.PENDING})
_DONE: Final = frozenset({Category.RESOLVED, Category.CLOSED})
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


@final
@attrs.frozen(kw_only=True, slots=True)
class SlaCycle:
    """One cycle of a metric's clock.

    Attributes:
        started_at: When the cycle started.
        due_at: When the target is (or was) reached; ``None`` while paused short of it.
        warn_at: When ``warn_before`` is left, if the policy warns for the metric.
        completed_at: When the cycle was completed, if it was.
        elapsed: The clock's business time (to completion, or to ``now``).
        time_left: ``target - elapsed``; negative when overdue.
        status: Running, paused, met or breached.
        paused: Whether the clock is paused at ``now`` (open cycles only).
    """

    started_at: datetime
    due_at: datetime | None
    warn_at: datetime | None
    completed_at: datetime | None
    elapsed: timedelta
    time_left: timedelta
    status: SlaStatus
    paused: bool


@final
@attrs.frozen(kw_only=True, slots=True)
class MetricState:
    """The state of one metric: its target and current (last) cycle, and every cycle.

    The ``started_at`` ... ``paused`` fields repeat the last cycle's (``None``,
    not applicable, when there is no cycle or no target).

    Attributes:
        metric: The metric.
        target: The target for the ticket's priority, or ``None``.
        cycles: Every cycle, oldest first (empty without a target).
        breaches: How many cycles are breached.
    """

    metric: Metric
    target: timedelta | None
    started_at: datetime | None = None
    due_at: datetime | None = None
    warn_at: datetime | None = None
    completed_at: datetime | None = None
    elapsed: timedelta | None = None
    time_left: timedelta | None = None
    status: SlaStatus = SlaStatus.NOT_APPLICABLE
    paused: bool = False
    cycles: tuple[SlaCycle, ...] = ()
    breaches: int = 0


@final
@attrs.frozen(kw_only=True, slots=True)
class SlaState:
    """A ticket's SLA state at ``now``.

    Attributes:
        ticket_id: The ticket.
        now: The instant of the state.
        policy: The name of the applied policy, or ``None`` when none matched.
        metrics: One `MetricState` per `Metric`.
    """

    ticket_id: str
    now: datetime
    policy: str | None
    metrics: Mapping[Metric, MetricState]

    @property
    def breached(self) -> bool:
        """Whether any cycle of any metric is breached."""
        return any(m.breaches for m in self.metrics.values())


# --- the walk over the timeline ---------------------------------------------------------


@final
class _Walk:
    """Phases (category since an instant) and each metric's cycles, from one pass."""

    def __init__(self, ticket: Ticket, workflow: Workflow, now: datetime) -> None:  # noqa: C901 - one pass, one branch per event kind
        # Hot path (the scheduler runs it after every command): the event's kind and
        # statuses are read off its flyweight step, not through the properties.
        purged = EventKind.PURGED
        events = [e for e in ticket.timeline if e._step.kind is not purged and e.at <= now]  # noqa: SLF001
        created = events[0]
        known = {s.name: s.category for s in workflow.statuses}

        def category_of(status: str) -> Category:
            found = known.get(status)
            # An undeclared status: the workflow raises its WorkflowError naming it.
            return workflow.category(status) if found is None else found

        category = category_of(created.status_after)
        self.phases: list[tuple[datetime, Category]] = [(created.at, category)]
        # metric -> list of [start, completed_at | None]
        self.cycles: dict[Metric, list[list[datetime | None]]] = {m: [] for m in _METRICS}
        for metric in (Metric.FIRST_REPLY, Metric.FIRST_ASSIGNMENT, *_WHOLE):
            self.cycles[metric].append([created.at, None])
        assignee = created.data.get("assignee")
        if assignee is not None:
            self._complete(Metric.FIRST_ASSIGNMENT, created.at)
        replied = False
        last_done: datetime | None = None
        agent_replied, customer_replied = EventKind.AGENT_REPLIED, EventKind.CUSTOMER_REPLIED
        assigned = EventKind.ASSIGNED
        for event in events[1:]:
            at = event.at
            step = event._step  # noqa: SLF001
            kind = step.kind
            after = (
                category_of(step.status_after)
                if step.status_before != step.status_after
                else category
            )
            if kind is agent_replied:
                self._complete(Metric.FIRST_REPLY, at)
                self._complete(Metric.NEXT_REPLY, at)
                self._complete(Metric.PERIODIC_UPDATE, at)
                if after not in _DONE:
                    self.cycles[Metric.PERIODIC_UPDATE].append([at, None])
                replied = True
            elif kind is customer_replied and replied and after not in _DONE:
                self._open(Metric.NEXT_REPLY, at)
            elif kind is assigned and event.data.get("assignee") is not None:
                self._complete(Metric.FIRST_ASSIGNMENT, at)
            if after != category:
                if after in _DONE and category not in _DONE:
                    last_done = at
                    for metric in (Metric.FIRST_REPLY, Metric.NEXT_REPLY, Metric.PERIODIC_UPDATE):
                        self._complete(metric, at)
                self.phases.append((at, after))
                category = after
        self.category = category
        if category in _DONE and last_done is not None:
            for metric in _WHOLE:
                self._complete(metric, last_done)

    def _open(self, metric: Metric, at: datetime) -> None:
        cycles = self.cycles[metric]
        if not cycles or cycles[-1][1] is not None:
            cycles.append([at, None])

    def _complete(self, metric: Metric, at: datetime) -> None:
        cycles = self.cycles[metric]
        if cycles and cycles[-1][1] is None:
            cycles[-1][1] = at

    def running(
        self, run: frozenset[Category], start: datetime, stop: datetime | None
    ) -> tuple[list[tuple[datetime, datetime]], datetime | None]:
        """Return the closed running pieces in ``[start, stop)`` and the open tail's start.

        Without ``stop`` the last phase extends for ever; the tail is its start
        (clipped to ``start``) if it runs, else ``None``. With ``stop``, the tail is
        ``stop``: the clock is assumed to run after a completion.
        """
        pieces: list[tuple[datetime, datetime]] = []
        bounds = [*(at for at, _ in self.phases[1:]), None]
        for (begin, category), end in zip(self.phases, bounds, strict=True):
            low = max(begin, start)
            if stop is not None and low >= stop:
                break
            high = end if stop is None else (stop if end is None else min(end, stop))
            if high is None:
                return pieces, (low if category in run else None)
            if high > low and category in run:
                pieces.append((low, high))
        return pieces, stop


_WHOLE: Final = (Metric.RESOLUTION, Metric.REQUESTER_WAIT, Metric.AGENT_WORK)


@functools.lru_cache(maxsize=16384)
def _reach(
    calendar: BusinessCalendar,
    pieces: tuple[tuple[datetime, datetime], ...],
    tail: datetime | None,
    amount: timedelta,
) -> datetime | None:
    """Return the earliest instant the clock reaches ``amount``, if it is known.

    Cached: while a cycle runs on, every command of the ticket asks the same
    question again (same pieces, same tail, same target) until a pause or a
    resume changes the pieces.
    """
    remaining = amount
    for low, high in pieces:
        have = calendar.business_time_between(low, high)
        if have >= remaining:
            return calendar.add_business_time(low, remaining)
        remaining -= have
    return None if tail is None else calendar.add_business_time(tail, remaining)


def _due_and_warn(
    walk: _Walk,
    policy: SlaPolicy,
    metric: Metric,
    target: timedelta,
    start: datetime,
    completed: datetime | None,
) -> tuple[
    tuple[tuple[datetime, datetime], ...], datetime | None, datetime | None, datetime | None
]:
    """A cycle's running pieces, open tail, due time and warning instant."""
    calendar = policy.calendar
    listed, tail = walk.running(policy.run_set(metric), start, completed)
    pieces = tuple(listed)
    due = _reach(calendar, pieces, tail, target)
    warn = policy.warn_before.get(metric)
    warn_at = None
    if warn is not None and timedelta(0) < warn < target:
        warn_at = _reach(calendar, pieces, tail, target - warn)
    return pieces, tail, due, warn_at


def _cycle(
    walk: _Walk,
    policy: SlaPolicy,
    metric: Metric,
    target: timedelta,
    start: datetime,
    completed: datetime | None,
    now: datetime,
) -> SlaCycle:
    calendar = policy.calendar
    run = policy.run_set(metric)
    pieces, tail, due, warn_at = _due_and_warn(walk, policy, metric, target, start, completed)
    end = now if completed is None else completed
    elapsed = sum((calendar.business_time_between(a, min(b, end)) for a, b in pieces), timedelta())
    if completed is None and tail is not None and tail < end:
        elapsed += calendar.business_time_between(tail, end)
    paused = completed is None and walk.category not in run
    if completed is not None:
        status = SlaStatus.MET if due is not None and completed <= due else SlaStatus.BREACHED
    elif due is not None and now >= due:
        status = SlaStatus.BREACHED
    else:
        status = SlaStatus.PAUSED if paused else SlaStatus.RUNNING
    return SlaCycle(
        started_at=start,
        due_at=due,
        warn_at=warn_at,
        completed_at=completed,
        elapsed=elapsed,
        time_left=target - elapsed,
        status=status,
        paused=paused,
    )


def _as_of(ticket: Ticket, now: datetime) -> Ticket:
    if ticket.timeline[-1].at <= now:
        return ticket
    kept = [e for e in ticket.timeline if e.at <= now]
    if not kept:
        msg = f"now ({now.isoformat()}) is before ticket {ticket.id} was created"
        raise ValueError(msg)
    return Ticket.rebuild(kept)


def sla_state(ticket: Ticket, workflow: Workflow, policies: SlaPolicies, now: datetime) -> SlaState:
    """Return ``ticket``'s SLA state at ``now`` (see the module docstring).

    Only the events at or before ``now`` count, so the state at ``now`` does not
    depend on what happened later.

    Examples:
        >>> from datetime import UTC, datetime, timedelta
        >>> from ticketflow import FakeClock, Helpdesk, Requester
        >>> clock = FakeClock(datetime(2026, 3, 2, 9, tzinfo=UTC))
        >>> desk = Helpdesk(clock=clock)
        >>> ticket = desk.open_ticket(subject="Down", requester=Requester(name="Ann"))
        >>> policies = SlaPolicies([SlaPolicy("all", targets={"normal": {"first_reply": "4h"}})])
        >>> state = sla_state(ticket, desk.workflow, policies, clock.now() + timedelta(hours=1))
        >>> reply = state.metrics[Metric.FIRST_REPLY]
        >>> reply.status, reply.time_left
        (<SlaStatus.RUNNING: 'running'>, datetime.timedelta(seconds=10800))

    Raises:
        InvalidInputError: ``now`` is naive.
        ValueError: ``now`` is before the ticket's creation.
        WorkflowError: a status of the timeline is not declared by ``workflow``.
    """
    moment = require_aware(now, "now")
    current = _as_of(ticket, moment)
    policy = policies.select(current, workflow, moment)
    if policy is None:
        metrics = {m: MetricState(metric=m, target=None) for m in _METRICS}
        return SlaState(
            ticket_id=ticket.id, now=moment, policy=None, metrics=MappingProxyType(metrics)
        )
    walk = _Walk(current, workflow, moment)
    out: dict[Metric, MetricState] = {}
    for metric in _METRICS:
        target = policy.target(current.priority, metric)
        if target is None:
            out[metric] = MetricState(metric=metric, target=None)
            continue
        cycles = tuple(
            _cycle(walk, policy, metric, target, start, done, moment)
            for start, done in walk.cycles[metric]
            if start is not None
        )
        if not cycles:
            out[metric] = MetricState(metric=metric, target=target)
            continue
        last = cycles[-1]
        out[metric] = MetricState(
            metric=metric,
            target=target,
            started_at=last.started_at,
            due_at=last.due_at,
            warn_at=last.warn_at,
            completed_at=last.completed_at,
            elapsed=last.elapsed,
            time_left=last.time_left,
            status=last.status,
            paused=last.paused,
            cycles=cycles,
            breaches=sum(1 for c in cycles if c.status is SlaStatus.BREACHED),
        )
    return SlaState(
        ticket_id=ticket.id, now=moment, policy=policy.name, metrics=MappingProxyType(out)
    )


@final
@attrs.frozen(slots=True)
class _OpenCycle:
    """The open cycle of a metric, as the SLA scheduler needs it (internal).

    Attributes:
        metric: The metric.
        started_at: When the cycle started.
        due_at: When the target is reached if the clock keeps running (``None``
            while paused short of it).
        warn_at: The warning instant, if the policy warns for the metric.
        paused: Whether the clock is paused.
    """

    metric: Metric
    started_at: datetime
    due_at: datetime | None
    warn_at: datetime | None
    paused: bool


def _open_cycles(
    ticket: Ticket, workflow: Workflow, policies: SlaPolicies
) -> tuple[SlaPolicy | None, list[_OpenCycle]]:
    """Return the policy for ``ticket`` as it is and the open cycle of each metric.

    What `sla_state` at the ticket's last event says of the open cycles, without
    the elapsed times and the history: the scheduler's cheap path.
    """
    now = ticket.updated_at
    policy = policies.select(ticket, workflow, now)
    if policy is None:
        return None, []
    walk = _Walk(ticket, workflow, now)
    out: list[_OpenCycle] = []
    for metric in _METRICS:
        target = policy.target(ticket.priority, metric)
        cycles = walk.cycles[metric]
        if target is None or not cycles:
            continue
        start, completed = cycles[-1]
        if completed is not None or start is None:
            continue
        _, _, due, warn_at = _due_and_warn(walk, policy, metric, target, start, None)
        paused = walk.category not in policy.run_set(metric)
        out.append(_OpenCycle(metric, start, due, warn_at, paused))
    return policy, out


def next_sla_instant(
    ticket: Ticket, workflow: Workflow, policies: SlaPolicies, now: datetime
) -> datetime | None:
    """Return the earliest warning or breach instant strictly after ``now``, if any.

    Only open cycles that are running count: a paused clock has no known due time
    (the event that resumes it calls for a new computation), and a completed one
    has no future. An instant equal to ``now`` has already happened: `sla_state`
    at ``now`` reports it.
    """
    state = sla_state(ticket, workflow, policies, now)
    instants = [
        at
        for metric in state.metrics.values()
        if metric.completed_at is None and metric.status is not SlaStatus.NOT_APPLICABLE
        for at in (metric.warn_at, metric.due_at)
        if at is not None and at > state.now
    ]
    return min(instants, default=None)
