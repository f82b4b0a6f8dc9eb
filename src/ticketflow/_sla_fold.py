"""The SLA scheduler's view of a ticket, folded one event at a time.

`sla_state` walks a whole timeline; after every command the scheduler needs much
less: each metric's open cycle and when its clock reaches the target. This
module keeps that as a `Fold`, extended by the new events of each commit, so a
command costs the same at 20 events as at 10,000:

* the phases (category since an instant) are an append-only log shared by
  successive folds;
* each open cycle's business time in closed running pieces is accumulated per
  (calendar, run set, cycle start) as phases close, with the instant each
  target was crossed;
* a `Walker` remembers the last fold per ticket (bounded, least recently used)
  and extends it when the ticket it is asked about continues that timeline
  (checked by identity of the last folded event), else folds from scratch.

The answers equal `sla.py`'s full walk (`_Walk`, `_due_and_warn`); the SLA
property tests compare both.
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Final, TypeAlias, final

from ._calendar import BusinessCalendar
from ._model import Event, EventKind, Priority, Ticket, _extend, raw_items
from ._workflow import Category, Workflow
from .sla._policy import _METRICS, Metric, SlaPolicies, SlaPolicy
from .sla._state import _DONE, _WHOLE, _OpenCycle

__all__ = ["Fold", "Walker", "open_cycles"]

_REPLY_METRICS: Final = (Metric.FIRST_REPLY, Metric.NEXT_REPLY, Metric.PERIODIC_UPDATE)
_AT_CREATION: Final = (Metric.FIRST_REPLY, Metric.FIRST_ASSIGNMENT, *_WHOLE)
_WALKER_SIZE: Final = 4096
_ZERO: Final = timedelta(0)


@functools.lru_cache(maxsize=16384)
def _add(calendar: BusinessCalendar, start: datetime, amount: timedelta) -> datetime:
    """``calendar.add_business_time``, cached: a running cycle asks it again on every command."""
    return calendar.add_business_time(start, amount)


@final
class _Acc:
    """Business time of one open cycle's closed running pieces, and the targets it crossed."""

    __slots__ = ("crossed", "cum", "pos")

    def __init__(self, pos: int, cum: timedelta, crossed: dict[timedelta, datetime | None]) -> None:
        self.pos = pos  # phases consumed (closed phases before ``pos``)
        self.cum = cum
        self.crossed = crossed  # amount -> instant crossed, or None (tracked, not yet)


@final
class Fold:
    """Phases, each metric's last cycle, and the accumulators, as of ``count`` events."""

    __slots__ = ("accs", "category", "count", "cycles", "last", "last_done", "phases", "replied")

    def __init__(self) -> None:
        self.count = 0  # events of the timeline folded (purged ones included)
        self.last: Event | None = None  # the last event folded: the continuation check
        self.category = Category.NEW
        self.phases: Sequence[tuple[datetime, Category]] = ()
        # metric -> [start, completed | None] of its last cycle (absent: no cycle yet)
        self.cycles: dict[Metric, list[datetime | None]] = {}
        self.replied = False
        self.last_done: datetime | None = None
        self.accs: dict[tuple[BusinessCalendar, frozenset[Category], datetime], _Acc] = {}

    def _complete(self, metric: Metric, at: datetime) -> None:
        cycle = self.cycles.get(metric)
        if cycle is not None and cycle[1] is None:
            cycle[1] = at

    def extend(self, timeline: Sequence[Event], category_of: Any) -> None:  # noqa: C901, PLR0912 - one pass, one branch per event kind
        """Fold the events of ``timeline`` after the first ``count``."""
        purged = EventKind.PURGED
        agent_replied, customer_replied = EventKind.AGENT_REPLIED, EventKind.CUSTOMER_REPLIED
        assigned, created = EventKind.ASSIGNED, EventKind.CREATED
        cycles = self.cycles
        end = len(timeline)
        events = raw_items(timeline)
        for index in range(self.count, end):
            event = events[index]
            step = event._step  # noqa: SLF001 - the flyweight: Event.kind is a property
            kind = step.kind
            if kind is purged:
                continue
            at = event.at
            if kind is created and not self.phases:
                self.category = category_of(step.status_after)
                self.phases = ((at, self.category),)
                for metric in _AT_CREATION:
                    cycles[metric] = [at, None]
                if event.data.get("assignee") is not None:
                    self._complete(Metric.FIRST_ASSIGNMENT, at)
                continue
            category = self.category
            after = (
                category_of(step.status_after)
                if step.status_before != step.status_after
                else category
            )
            if kind is agent_replied:
                for metric in _REPLY_METRICS:
                    self._complete(metric, at)
                if after not in _DONE:
                    cycles[Metric.PERIODIC_UPDATE] = [at, None]
                self.replied = True
            elif kind is customer_replied and self.replied and after not in _DONE:
                cycle = cycles.get(Metric.NEXT_REPLY)
                if cycle is None or cycle[1] is not None:
                    cycles[Metric.NEXT_REPLY] = [at, None]
            elif kind is assigned and event.data.get("assignee") is not None:
                self._complete(Metric.FIRST_ASSIGNMENT, at)
            if after != category:
                if after in _DONE and category not in _DONE:
                    self.last_done = at
                    for metric in _REPLY_METRICS:
                        self._complete(metric, at)
                self.phases = _extend(self.phases, (at, after))
                self.category = after
        if end > self.count:
            self.count = end
            self.last = events[end - 1]
            # Only the accumulators of cycles still open can be asked about again.
            accs = self.accs
            if accs:
                live = {c[0] for c in cycles.values() if c[1] is None}
                for key in [k for k in accs if k[2] not in live]:
                    del accs[key]

    def last_cycle(self, metric: Metric) -> tuple[datetime, datetime | None] | None:
        """The metric's last cycle as the full walk ends it: ``(start, completed)``."""
        cycle = self.cycles.get(metric)
        if cycle is None or cycle[0] is None:
            return None
        start, completed = cycle[0], cycle[1]
        if (
            completed is None
            and metric in _WHOLE
            and self.category in _DONE
            and self.last_done is not None
        ):
            completed = self.last_done
        return start, completed

    def reach(
        self,
        calendar: BusinessCalendar,
        run: frozenset[Category],
        start: datetime,
        amount: timedelta,
    ) -> datetime | None:
        """When an open cycle from ``start`` reaches ``amount`` (``sla._state._reach``, folded)."""
        key = (calendar, run, start)
        acc = self.accs.get(key)
        closed = len(self.phases) - 1
        phases = raw_items(self.phases)
        if acc is None:
            # The phases that closed before the cycle started add nothing. A new
            # cycle starts at a recent event: look back from the last phase.
            acc = self.accs[key] = _Acc(_phase_at(phases, start, closed), _ZERO, {})
        crossed = acc.crossed
        if amount not in crossed:
            if acc.cum >= amount:  # crossed before it was asked: find where, once
                crossed[amount] = _crossing(calendar, run, start, phases, acc.pos, amount)
            else:
                crossed[amount] = None
        # Consume the phases closed since the last question.
        while acc.pos < closed:
            begin, category = phases[acc.pos]
            end = phases[acc.pos + 1][0]
            acc.pos += 1
            low = max(start, begin)
            if category not in run or end <= low:
                continue
            have = calendar.business_time_between(low, end)
            cum = acc.cum
            for target, at in crossed.items():
                if at is None and cum + have >= target:
                    crossed[target] = calendar.add_business_time(low, target - cum)
            acc.cum = cum + have
        found = crossed[amount]
        if found is not None:
            return found
        begin, category = phases[closed]
        if category not in run:
            return None
        return _add(calendar, max(start, begin), amount - acc.cum)


def _phase_at(phases: Sequence[tuple[datetime, Category]], start: datetime, last: int) -> int:
    """The index of the phase, at or before ``last``, that holds ``start`` (looking back)."""
    while last > 0 and phases[last][0] > start:
        last -= 1
    return last


def _crossing(
    calendar: BusinessCalendar,
    run: frozenset[Category],
    start: datetime,
    phases: Sequence[tuple[datetime, Category]],
    upto: int,
    amount: timedelta,
) -> datetime | None:
    """Walk the closed phases before ``upto`` for the instant the clock reached ``amount``."""
    remaining = amount
    for index in range(_phase_at(phases, start, upto), upto):
        begin, category = phases[index]
        end = phases[index + 1][0]
        low = max(start, begin)
        if category not in run or end <= low:
            continue
        have = calendar.business_time_between(low, end)
        if have >= remaining:
            return calendar.add_business_time(low, remaining)
        remaining -= have
    return None  # pragma: no cover - called only once the accumulated time reached it


@final
class Walker:
    """The last `Fold` of each ticket, for one workflow (least recently used, bounded)."""

    __slots__ = ("_categories", "_folds", "_workflow", "lock", "specs")

    def __init__(self, workflow: Workflow) -> None:
        self._workflow = workflow
        # Folds are extended and their accumulators advanced in place: one
        # question at a time (a help desk may be shared by threads).
        self.lock = threading.Lock()
        self._categories = {s.name: s.category for s in workflow.statuses}
        self._folds: OrderedDict[str, Fold] = OrderedDict()
        # What each policy asks of a ticket of each priority (policies live as
        # long as the help desk: a handful of entries).
        self.specs: dict[tuple[int, Priority], tuple[_Spec, ...]] = {}

    def _category_of(self, status: str) -> Category:
        found = self._categories.get(status)
        # An undeclared status: the workflow raises its WorkflowError naming it.
        return self._workflow.category(status) if found is None else found

    def fold(self, ticket: Ticket) -> Fold:
        """Return the fold of ``ticket``'s whole timeline."""
        timeline = ticket.timeline
        folds = self._folds
        known = folds.get(ticket.id)
        if known is not None:
            count = known.count
            size = len(timeline)
            last = raw_items(timeline)[count - 1] if 0 < count <= size else None
            if count == size and last is known.last:
                folds.move_to_end(ticket.id)
                return known
            # The ticket continues the folded timeline: extend the fold in place.
            # Asked about an older snapshot later (a retried conflict), the
            # walker folds that one from scratch: right, if slower.
            fold = known if count < size and last is known.last else Fold()
        else:
            fold = Fold()
        fold.extend(timeline, self._category_of)
        folds[ticket.id] = fold
        folds.move_to_end(ticket.id)
        if len(folds) > _WALKER_SIZE:
            folds.popitem(last=False)
        return fold


def open_cycles(
    ticket: Ticket, walker: Walker, policies: SlaPolicies
) -> tuple[SlaPolicy | None, list[_OpenCycle]]:
    """Return the policy for ``ticket`` as it is and the open cycle of each metric.

    What `sla._state._open_cycles` returns, from the ticket's fold.
    """
    policy = policies.select(ticket, walker._workflow, ticket.updated_at)  # noqa: SLF001
    if policy is None:
        return None, []
    with walker.lock:
        key = (id(policy), ticket.priority)  # the runner holds its policies: ids stay theirs
        specs = walker.specs.get(key)
        if specs is None:
            specs = walker.specs[key] = _specs(policy, ticket.priority)
        return policy, _open(walker.fold(ticket), policy.calendar, specs)


_Spec: TypeAlias = tuple[Metric, timedelta, frozenset[Category], timedelta | None]


def _specs(policy: SlaPolicy, priority: Priority) -> tuple[_Spec, ...]:
    """Per metric with a target: (metric, target, run set, warning amount or None)."""
    out = []
    for metric in _METRICS:
        target = policy.target(priority, metric)
        if target is None:
            continue
        warn = policy.warn_before.get(metric)
        amount = target - warn if warn is not None and _ZERO < warn < target else None
        out.append((metric, target, policy.run_set(metric), amount))
    return tuple(out)


def _open(fold: Fold, calendar: BusinessCalendar, specs: tuple[_Spec, ...]) -> list[_OpenCycle]:
    out: list[_OpenCycle] = []
    for metric, target, run, warn in specs:
        cycle = fold.last_cycle(metric)
        if cycle is None or cycle[1] is not None:
            continue
        start = cycle[0]
        due = fold.reach(calendar, run, start, target)
        warn_at = None if warn is None else fold.reach(calendar, run, start, warn)
        out.append(_OpenCycle(metric, start, due, warn_at, fold.category not in run))
    return out
