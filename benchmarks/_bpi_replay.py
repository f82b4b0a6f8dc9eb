"""bench_replay's row-by-row replay of the BPI Challenge 2013 incidents through commands.

The command replay ``examples/bpi2013_replay.py`` ran before it became an import;
the workflow file is still ``examples/bpi2013.toml``.

Data: Ward Steeman, *BPI Challenge 2013, incidents*, 4TU.ResearchData,
doi:10.4121/uuid:500573e6-accc-4b0c-9576-aa5468b10cee (4TU General Terms of Use);
the CSV variant of the IBM/processmining repository (Apache-2.0). 7,554 incidents of
Volvo IT Belgium and their 65,533 status changes, March 2010 to May 2012. The data
is not shipped with ticketflow; this script reads it in place.

The workflow is ``bpi2013.toml`` next to this file: one status per (Status, Sub
Status) pair of the log, and the transitions of a sane incident process. Every row
of the log is replayed through `Helpdesk`, in time order, with a `FakeClock` set to
the row's own timestamp:

* the first row of an incident opens its ticket (in the initial status, Queued -
  Awaiting Assignment) with the row's impact as priority (Low, Medium, High, Major
  -> low, normal, high, urgent), its support level (L1, L2, L3) as department and
  its resource as assignee;
* every later row first records its owner and support level with `Helpdesk.assign`
  (a change of level is an escalation: ``assign(department="L2")``) and its impact
  with `Helpdesk.set_priority`;
* then, when the row's status differs from the ticket's, it fires the trigger to
  that status (``to_<status>``). A change the workflow refuses (`TransitionError`),
  and any row of a closed ticket (`TicketLockedError`: closed tickets are locked),
  is counted as rejected and skipped: the ticket stays where it was. A row whose
  status the ticket already has is accepted without a transition.

Rows are replayed in the order of their timestamps, ties in file order, because the
clock never goes back; within an incident this is the file's order (the log is
sorted by incident and time, and no incident has two rows at the same second or
out of order; the script counts both cases, and the engine would stamp an earlier
row at its ticket's last event time).

The figures printed are computed from the tickets and timelines the engine
recorded, not from the CSV:

* time to resolution: the *first* time a ticket entered a resolved-category status
  (Resolved or In Call) minus its creation (its first row); tickets never resolved
  are counted apart. Median and 90th percentile by the nearest-rank method;
* waiting: the total time spent in each pending status (Wait - User, Wait - Vendor,
  ...), summed over the stays a later status change ended; stays still running at
  the end of the log are counted apart;
* reopens: moves from a resolved or closed status back to an active one (new, open
  or pending);
* escalations: changes of support level recorded by ``assign``, as ``before ->
  after`` pairs (an escalation when the level rises, a de-escalation otherwise).

Usage: ``python examples/bpi2013_replay.py [--data PATH] [--incidents N]``. Without
``--data`` (or ``TICKETFLOW_BPI2013_CSV``) it reads
``../shared/data/bpi2013-incidents.csv.gz`` beside the
repository; if that file is missing it says so and exits with status 0.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import math
import os
import re
import sys
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ticketflow import (
    Category,
    EventKind,
    FakeClock,
    Helpdesk,
    MemoryStore,
    Priority,
    Requester,
    Ticket,
    TicketLockedError,
    TicketStore,
    TransitionError,
    Workflow,
)

__all__ = [
    "CITATION",
    "DEFAULT_DATA",
    "PRIORITY_OF_IMPACT",
    "WORKFLOW_FILE",
    "Change",
    "Replay",
    "ReplayResult",
    "Waiting",
    "label_of",
    "level_rank",
    "load_workflow",
    "main",
    "nearest_rank",
    "read_log",
    "replay",
    "report",
    "run",
    "summarise",
    "trigger_for",
]

WORKFLOW_FILE = Path(__file__).resolve().parent.parent / "examples" / "bpi2013.toml"
DEFAULT_DATA = Path(
    os.environ.get("TICKETFLOW_BPI2013_CSV")  # where a checkout keeps the data elsewhere
    or Path(__file__).resolve().parent.parent.parent
    / "shared"
    / "data"
    / "bpi2013-incidents.csv.gz"
)
CITATION = (
    "Ward Steeman, BPI Challenge 2013, incidents, 4TU.ResearchData, "
    "doi:10.4121/uuid:500573e6-accc-4b0c-9576-aa5468b10cee"
)
PRIORITY_OF_IMPACT = {
    "Low": Priority.LOW,
    "Medium": Priority.NORMAL,
    "High": Priority.HIGH,
    "Major": Priority.URGENT,
}
_REQUESTER = Requester(name="Volvo IT user")  # the log does not name the users
_ACTIVE = frozenset({Category.NEW, Category.OPEN, Category.PENDING})
_DONE = frozenset({Category.RESOLVED, Category.CLOSED})
_LEVEL_RANK = {"L1": 1.0, "L2": 2.0, "L2/L3": 2.5, "L3": 3.0}


@dataclass(frozen=True, slots=True)
class Change:
    """One row of the log: a status change of an incident.

    Args:
        index: The row's position in the file (0 is the first data row).
        sr_number: The incident (``SR Number``).
        at: ``Change Date+Time``, in UTC.
        label: ``"<Status> - <Sub Status>"``, as the workflow's status labels.
        level: ``ST Level``: the support level (L1, L2, L3).
        impact: ``SR Latest Impact``: Low, Medium, High or Major.
        owner: ``Resource``: who made the change.
        product: ``Product``.
        country: ``Country``.
    """

    index: int
    sr_number: str
    at: datetime
    label: str
    level: str
    impact: str
    owner: str
    product: str
    country: str


@dataclass(frozen=True, slots=True)
class Waiting:
    """Time spent in one pending status, over all tickets.

    Args:
        stays: Stays that a later status change ended.
        tickets: Tickets with at least one such stay.
        total: Their summed length.
        open_stays: Stays still running at the end of the log (not in ``total``).
    """

    stays: int
    tickets: int
    total: timedelta
    open_stays: int


@dataclass(frozen=True, slots=True)
class Replay:
    """What a replay did: the help desk, the tickets and the rejected changes.

    Args:
        desk: The help desk the log was replayed through.
        ticket_ids: The ticket id of each incident, by ``SR Number``.
        changes: Rows replayed.
        unchanged: Rows accepted without a transition (the ticket already had the status).
        rejected: Rejected rows, by (the ticket's status, the row's status); the row's
            status is its log label when the workflow has no such status.
        equal_times: Rows at the same second as the incident's previous row.
        earlier_times: Rows earlier than the incident's previous row in the file.
        seconds: Wall-clock time of the replay itself.
    """

    desk: Helpdesk
    ticket_ids: dict[str, str]
    changes: int
    unchanged: int
    rejected: Counter[tuple[str, str]]
    equal_times: int
    earlier_times: int
    seconds: float


@dataclass(frozen=True, slots=True)
class ReplayResult:
    """The figures of a replay, computed from the engine's tickets and timelines.

    Args:
        incidents: Tickets opened (one per incident).
        changes: Rows replayed.
        transitions: Accepted status changes (timeline events that moved the status).
        unchanged: Accepted rows that needed no transition.
        rejected: Rejected rows by (from, to); see `Replay`.
        final_statuses: Tickets per status at the end of the replay.
        resolved: Tickets that reached a resolved status at least once.
        unresolved: Tickets that never did.
        resolution_median: Median time to first resolution (nearest rank).
        resolution_p90: Its 90th percentile (nearest rank).
        waiting: Time in each pending status, by status name.
        reopens: Moves from a resolved or closed status back to an active one.
        reopened_tickets: Tickets reopened at least once.
        escalations: Changes of support level by (before, after).
        equal_times: See `Replay`.
        earlier_times: See `Replay`.
    """

    incidents: int
    changes: int
    transitions: int
    unchanged: int
    rejected: dict[tuple[str, str], int]
    final_statuses: dict[str, int]
    resolved: int
    unresolved: int
    resolution_median: timedelta | None
    resolution_p90: timedelta | None
    waiting: dict[str, Waiting]
    reopens: int
    reopened_tickets: int
    escalations: dict[tuple[str, str], int]
    equal_times: int
    earlier_times: int

    @property
    def accepted(self) -> int:
        """Rows the workflow accepted: transitions and rows already in their status."""
        return self.transitions + self.unchanged


def load_workflow() -> Workflow:
    """Load the workflow of ``bpi2013.toml``."""
    return Workflow.load(WORKFLOW_FILE)


def label_of(status: str, sub_status: str) -> str:
    """The log's name of a (Status, Sub Status) pair, as the workflow's labels spell it."""
    return f"{status} - {sub_status}"


def trigger_for(status: str) -> str:
    """The trigger to a status (or to a log label the workflow does not have)."""
    return "to_" + re.sub(r"\W+", "_", status.lower()).strip("_")


def level_rank(level: str) -> float:
    """Order support levels (L1 < L2 < L2/L3 < L3); unknown levels rank 0."""
    return _LEVEL_RANK.get(level, 0.0)


def read_log(path: str | Path, *, incidents: int | None = None) -> list[Change]:
    """Read the log's rows in file order.

    Args:
        path: The gzipped CSV.
        incidents: Read only the first ``incidents`` incidents of the file.

    Raises:
        OSError: the file cannot be read.
        ValueError: a row lacks a column or has a malformed timestamp.
    """
    changes: list[Change] = []
    seen: set[str] = set()
    with gzip.open(path, "rt", encoding="utf-8-sig", newline="") as file:
        for index, row in enumerate(csv.DictReader(file)):
            sr_number = row["SR Number"]
            if sr_number not in seen:
                if incidents is not None and len(seen) >= incidents:
                    break
                seen.add(sr_number)
            changes.append(
                Change(
                    index=index,
                    sr_number=sr_number,
                    at=datetime.fromisoformat(row["Change Date+Time"]).astimezone(UTC),
                    label=label_of(row["Status"], row["Sub Status"]),
                    level=row["ST Level"],
                    impact=row["SR Latest Impact"],
                    owner=row["Resource"],
                    product=row["Product"],
                    country=row["Country"],
                )
            )
    return changes


def _time_order(changes: Sequence[Change]) -> tuple[int, int]:
    """Count rows at the same time as, and earlier than, their incident's previous row."""
    equal = earlier = 0
    previous: dict[str, datetime] = {}
    for change in changes:
        last = previous.get(change.sr_number)
        if last is not None:
            equal += change.at == last
            earlier += change.at < last
        previous[change.sr_number] = change.at
    return equal, earlier


def replay(
    changes: Sequence[Change], *, store: TicketStore | None = None, workflow: Workflow | None = None
) -> Replay:
    """Replay ``changes`` through a new `Helpdesk` on ``store`` (default: a new `MemoryStore`).

    See the module docstring for what each row does.
    """
    workflow = workflow or load_workflow()
    by_label = {status.label: status.name for status in workflow.statuses}
    ordered = sorted(changes, key=lambda change: (change.at, change.index))
    equal, earlier = _time_order(changes)
    clock = FakeClock(ordered[0].at if ordered else None)
    desk = Helpdesk(
        workflow=workflow,
        store=MemoryStore() if store is None else store,
        clock=clock,
        outbox=(),
    )
    triggers: dict[str, str] = {}
    tickets: dict[str, Ticket] = {}
    unchanged = 0
    rejected: Counter[tuple[str, str]] = Counter()
    start = time.perf_counter()
    for change in ordered:
        clock.set(change.at)
        by = change.owner or None
        priority = PRIORITY_OF_IMPACT[change.impact]
        target = by_label.get(change.label, change.label)
        ticket = tickets.get(change.sr_number)
        try:
            if ticket is None:
                ticket = desk.open_ticket(
                    subject=f"Incident {change.sr_number}",
                    requester=_REQUESTER,
                    priority=priority,
                    assignee=change.owner or None,
                    department=change.level or None,
                    custom_fields={
                        "sr_number": change.sr_number,
                        "product": change.product,
                        "country": change.country,
                    },
                    by=by,
                )
            else:
                ticket = desk.assign(
                    ticket.id, change.owner or None, department=change.level or None, by=by
                )
                if ticket.priority is not priority:
                    ticket = desk.set_priority(ticket.id, priority, by=by)
            if target == ticket.status:
                unchanged += 1
            else:
                trigger = triggers.get(target)
                if trigger is None:
                    trigger = triggers[target] = trigger_for(target)
                ticket = desk.fire(ticket.id, trigger, by=by)
        except (TransitionError, TicketLockedError):
            assert ticket is not None
            # The ticket stays where it was; an assignment before a refused trigger stands.
            rejected[ticket.status, target] += 1
        tickets[change.sr_number] = ticket
    seconds = time.perf_counter() - start
    return Replay(
        desk=desk,
        ticket_ids={sr: ticket.id for sr, ticket in tickets.items()},
        changes=len(ordered),
        unchanged=unchanged,
        rejected=rejected,
        equal_times=equal,
        earlier_times=earlier,
        seconds=seconds,
    )


def nearest_rank(values: Sequence[timedelta], fraction: float) -> timedelta | None:
    """The nearest-rank percentile: the smallest value with ``fraction`` of values at or below."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(math.ceil(fraction * len(ordered)), 1) - 1]


def summarise(result: Replay) -> ReplayResult:
    """Compute the figures from the help desk's tickets and their timelines."""
    desk = result.desk
    workflow = desk.workflow
    category = {status.name: status.category for status in workflow.statuses}
    pending = [status.name for status in workflow.statuses if status.category is Category.PENDING]
    transitions = reopens = 0
    reopened: set[str] = set()
    final: Counter[str] = Counter()
    resolution: list[timedelta] = []
    stays: Counter[str] = Counter()
    waited: dict[str, set[str]] = {name: set() for name in pending}
    totals = dict.fromkeys(pending, timedelta())
    open_stays: Counter[str] = Counter()
    escalations: Counter[tuple[str, str]] = Counter()
    for ticket_id in result.ticket_ids.values():
        ticket = desk.get(ticket_id)
        final[ticket.status] += 1
        level: str = ticket.timeline[0].data.get("department") or ""
        entered = ticket.created_at
        first_resolved: datetime | None = None
        for event in ticket.timeline[1:]:
            if event.kind is EventKind.ASSIGNED and "department" in event.data:
                escalations[level, event.data["department"]] += 1
                level = event.data["department"]
            before, after = event.status_before, event.status_after
            if before == after:
                continue
            transitions += 1
            if category[before] is Category.PENDING:
                stays[before] += 1
                waited[before].add(ticket_id)
                totals[before] += event.at - entered
            entered = event.at
            if first_resolved is None and category[after] is Category.RESOLVED:
                first_resolved = event.at
            if category[before] in _DONE and category[after] in _ACTIVE:
                reopens += 1
                reopened.add(ticket_id)
        if category[ticket.status] is Category.PENDING:
            open_stays[ticket.status] += 1
        if first_resolved is not None:
            resolution.append(first_resolved - ticket.created_at)
    return ReplayResult(
        incidents=len(result.ticket_ids),
        changes=result.changes,
        transitions=transitions,
        unchanged=result.unchanged,
        rejected=dict(result.rejected),
        final_statuses=dict(final),
        resolved=len(resolution),
        unresolved=len(result.ticket_ids) - len(resolution),
        resolution_median=nearest_rank(resolution, 0.5),
        resolution_p90=nearest_rank(resolution, 0.9),
        waiting={
            name: Waiting(
                stays=stays[name],
                tickets=len(waited[name]),
                total=totals[name],
                open_stays=open_stays[name],
            )
            for name in pending
        },
        reopens=reopens,
        reopened_tickets=len(reopened),
        escalations=dict(escalations),
        equal_times=result.equal_times,
        earlier_times=result.earlier_times,
    )


def run(
    path: str | Path = DEFAULT_DATA,
    *,
    incidents: int | None = None,
    store: TicketStore | None = None,
) -> tuple[ReplayResult, Replay]:
    """Read the log, replay it and summarise it; return the figures and the replay."""
    done = replay(read_log(path, incidents=incidents), store=store)
    return summarise(done), done


def _hours(delta: timedelta | None) -> str:
    if delta is None:
        return "-"
    return f"{delta.total_seconds() / 3600:,.1f} h"


def _days(delta: timedelta) -> str:
    return f"{delta.total_seconds() / 86400:,.1f} d"


def _table(rows: Iterable[tuple[str, ...]], align: str) -> list[str]:
    """Format rows as columns; ``align`` holds ``l`` or ``r`` for each column."""
    rows = list(rows)
    widths = [max(len(row[i]) for row in rows) for i in range(len(align))]
    return [
        "  "
        + "  ".join(
            cell.ljust(width) if how == "l" else cell.rjust(width)
            for cell, width, how in zip(row, widths, align, strict=True)
        ).rstrip()
        for row in rows
    ]


def report(result: ReplayResult, done: Replay) -> list[str]:
    """The lines ``main`` prints."""
    workflow = done.desk.workflow
    lines = [
        f"BPI Challenge 2013 incidents ({CITATION})",
        (
            f"replayed {result.changes:,} status changes of {result.incidents:,} incidents "
            f"through Helpdesk + {type(done.desk.store).__name__} in {done.seconds:.1f} s"
        ),
        (
            f"(rows at the same second as their incident's previous row: {result.equal_times}; "
            f"earlier: {result.earlier_times})"
        ),
        "",
        (
            f"accepted {result.accepted:,}: {result.transitions:,} transitions and "
            f"{result.unchanged:,} rows already in their status (owner or level changes only)"
        ),
        f"rejected {sum(result.rejected.values()):,}, the ticket staying where it was:",
    ]
    locked = workflow.statuses_in(Category.CLOSED)
    names = [status.name for status in workflow.statuses]
    lines += _table(
        [("ticket in", "log says", "rows", "why")]
        + [
            (
                before,
                after,
                f"{count:,}",
                (
                    "closed tickets are locked"
                    if before in locked
                    else "no such status"
                    if after not in names
                    else "no such transition"
                ),
            )
            for (before, after), count in sorted(
                result.rejected.items(), key=lambda item: (-item[1], item[0])
            )
        ],
        "llrl",
    )
    lines += ["", "tickets per final status:"]
    lines += _table(
        [
            (name, workflow.category(name).value, f"{result.final_statuses.get(name, 0):,}")
            for name in names
        ],
        "llr",
    )
    lines += [
        "",
        (
            f"time to first resolution ({result.resolved:,} tickets resolved, "
            f"{result.unresolved:,} never): median {_hours(result.resolution_median)}, "
            f"90th percentile {_hours(result.resolution_p90)}"
        ),
        "",
        "time in each pending status (stays ended by a later change):",
    ]
    lines += _table(
        [("status", "stays", "tickets", "total", "mean", "still waiting")]
        + [
            (
                name,
                f"{waiting.stays:,}",
                f"{waiting.tickets:,}",
                _days(waiting.total),
                _hours(waiting.total / waiting.stays if waiting.stays else None),
                f"{waiting.open_stays}",
            )
            for name, waiting in result.waiting.items()
        ],
        "lrrrrr",
    )
    up = sum(n for (a, b), n in result.escalations.items() if level_rank(b) > level_rank(a))
    lines += [
        "",
        (
            f"reopens (resolved -> new, open or pending): {result.reopens:,} "
            f"in {result.reopened_tickets:,} tickets"
        ),
        "",
        (
            f"support level changes: {up:,} escalations, "
            f"{sum(result.escalations.values()) - up:,} de-escalations"
        ),
    ]
    lines += _table(
        [
            (f"{before} -> {after}", f"{count:,}")
            for (before, after), count in sorted(
                result.escalations.items(), key=lambda item: (level_rank(item[0][0]), item[0])
            )
        ],
        "lr",
    )
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    """Replay the log and print the figures; return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", type=Path, default=DEFAULT_DATA, help="the gzipped CSV (default: %(default)s)"
    )
    parser.add_argument(
        "--incidents", type=int, default=None, help="replay only the first N incidents"
    )
    args = parser.parse_args(argv)
    if not args.data.is_file():
        print(
            f"BPI Challenge 2013 incident log not found at {args.data}: nothing to replay.\n"
            f"Get it ({CITATION}) and pass --data PATH."
        )
        return 0
    result, done = run(args.data, incidents=args.incidents)
    print("\n".join(report(result, done)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
