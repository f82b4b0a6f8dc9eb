"""Replay a real incident log through ticketflow: the BPI Challenge 2013 incidents.

Data: Ward Steeman, *BPI Challenge 2013, incidents*, 4TU.ResearchData,
doi:10.4121/uuid:500573e6-accc-4b0c-9576-aa5468b10cee (4TU General Terms of Use);
the CSV variant of the IBM/processmining repository (Apache-2.0). 7,554 incidents of
Volvo IT Belgium and their 65,533 status changes, March 2010 to May 2012. The data
is not shipped with ticketflow; this script reads it in place.

The workflow is ``bpi2013.toml`` next to this file: one status per (Status, Sub
Status) pair of the log, and the transitions of a sane incident process. The log
is imported with `Helpdesk.import_tickets`, read by `ticketflow.importing.read_csv`
through the mapping ``bpi2013_mapping.toml`` (also next to this file), as
``python -m ticketflow import`` would:

* the first row of an incident creates its ticket in the workflow's initial
  status (Queued - Awaiting Assignment) with the row's impact as priority (Low,
  Medium, High, Major -> low, normal, high, urgent), its support level (L1, L2,
  L3) as department and its resource as assignee; the first row's status is
  then its first change, like any later row's;
* every row's owner and support level are recorded as an ``assigned`` event when
  they changed (a change of level is an escalation), and its impact as
  ``priority_changed``;
* then, when the row's status differs from the ticket's, the move is checked
  against the workflow. A move the workflow does not have, a status it does not
  have, and any row of a closed ticket (closed tickets are locked) is refused
  (the import runs with ``strict=False`` and reports it) and counted as
  rejected: the ticket stays where it was (an assignment the row carried
  stands). A row whose status the ticket already has is accepted without a
  transition.

The import keeps each row's own timestamp and checks that an incident's rows are
in time order; the script also counts rows at the same second as, or earlier
than, their incident's previous row (the log has neither).

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
* escalations: changes of support level recorded by ``assigned`` events, as
  ``before -> after`` pairs (an escalation when the level rises, a de-escalation
  otherwise).

Usage: ``python examples/bpi2013_replay.py [--data PATH] [--incidents N]``. Without
``--data`` (or ``TICKETFLOW_BPI2013_CSV``) it reads
``../shared/data/bpi2013-incidents.csv.gz`` beside the
repository; if that file is missing it says so and exits with status 0.
"""

from __future__ import annotations

import argparse
import itertools
import math
import os
import sys
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from ticketflow import (
    Category,
    EventKind,
    Helpdesk,
    MemoryStore,
    TicketStore,
    Workflow,
)
from ticketflow.importing import CsvMapping, ImportRecord, ImportReport, read_csv
from ticketflow.stores import TicketQuery

__all__ = [
    "CITATION",
    "DEFAULT_DATA",
    "MAPPING_FILE",
    "WORKFLOW_FILE",
    "Replay",
    "ReplayResult",
    "Waiting",
    "label_of",
    "level_rank",
    "load_workflow",
    "main",
    "nearest_rank",
    "read_records",
    "replay",
    "report",
    "run",
    "summarise",
]

WORKFLOW_FILE = Path(__file__).resolve().with_name("bpi2013.toml")
MAPPING_FILE = Path(__file__).resolve().with_name("bpi2013_mapping.toml")
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
_ACTIVE = frozenset({Category.NEW, Category.OPEN, Category.PENDING})
_DONE = frozenset({Category.RESOLVED, Category.CLOSED})
_LEVEL_RANK = {"L1": 1.0, "L2": 2.0, "L2/L3": 2.5, "L3": 3.0}


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
    """What a replay did: the help desk, the tickets, the rejected changes and the import's report.

    Args:
        desk: The help desk the log was replayed through.
        ticket_ids: The ticket id of each incident, by ``SR Number``.
        changes: Rows replayed.
        unchanged: Rows accepted without a transition (the ticket already had the status).
        rejected: Rejected rows, by (the ticket's status, the row's status); the row's
            status is its log label when the workflow has no such status.
        equal_times: Rows at the same second as the incident's previous row.
        earlier_times: Rows earlier than the incident's previous row in the file.
        seconds: Wall-clock time of the import itself.
        report: What `Helpdesk.import_tickets` reported; ``None`` for a replay
            that ran the rows as commands (``benchmarks/_bpi_replay.py``).
    """

    desk: Helpdesk
    ticket_ids: dict[str, str]
    changes: int
    unchanged: int
    rejected: Counter[tuple[str, str]]
    equal_times: int
    earlier_times: int
    seconds: float
    report: ImportReport | None = None


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


def level_rank(level: str) -> float:
    """Order support levels (L1 < L2 < L2/L3 < L3); unknown levels rank 0."""
    return _LEVEL_RANK.get(level, 0.0)


@dataclass
class _Counts:
    rows: int = 0
    equal: int = 0
    earlier: int = 0


def read_records(
    path: str | Path, *, incidents: int | None = None, workflow: Workflow | None = None
) -> Iterator[ImportRecord]:
    """The log's incidents as import records, in file order (read lazily).

    Args:
        path: The gzipped CSV.
        incidents: Read only the first ``incidents`` incidents of the file.
        workflow: The workflow whose status labels the activities map to.

    Raises:
        OSError: the file cannot be read.
        ImportFormatError: a row lacks a column or has a malformed timestamp.
    """
    records = read_csv(path, CsvMapping.load(MAPPING_FILE), workflow=workflow or load_workflow())
    return records if incidents is None else itertools.islice(records, incidents)


def _counted(records: Iterable[ImportRecord], counts: _Counts) -> Iterator[ImportRecord]:
    """Pass ``records`` on, counting rows and rows out of time order."""
    for record in records:
        rows = record.events[1:]  # the creation, then one event per row
        counts.rows += len(rows)
        for before, after in itertools.pairwise(rows):
            counts.equal += after.at == before.at
            counts.earlier += after.at < before.at
        yield record


def replay(
    path: str | Path,
    *,
    incidents: int | None = None,
    store: TicketStore | None = None,
    workflow: Workflow | None = None,
) -> Replay:
    """Import the log at ``path`` into a new `Helpdesk` on ``store`` (default: a new `MemoryStore`).

    See the module docstring for what each row does.
    """
    workflow = workflow or load_workflow()
    desk = Helpdesk(
        workflow=workflow,
        store=MemoryStore() if store is None else store,
        outbox=(),
    )
    counts = _Counts()
    records = _counted(read_records(path, incidents=incidents, workflow=workflow), counts)
    start = time.perf_counter()
    imported = desk.import_tickets(records, strict=False)
    seconds = time.perf_counter() - start
    rejected: Counter[tuple[str, str]] = Counter(
        (refusal.status, refusal.wanted or "") for refusal in imported.refused
    )
    ticket_ids: dict[str, str] = {}
    transitions = 0
    for ticket in desk.store.find(TicketQuery()):
        ticket_ids[ticket.custom_fields["sr_number"]] = ticket.id
        transitions += sum(event.changes_status for event in ticket.timeline)
    return Replay(
        desk=desk,
        ticket_ids=ticket_ids,
        changes=counts.rows,
        unchanged=counts.rows - transitions - len(imported.refused),
        rejected=rejected,
        equal_times=counts.equal,
        earlier_times=counts.earlier,
        seconds=seconds,
        report=imported,
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
    done = replay(path, incidents=incidents, store=store)
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
            f"imported {result.changes:,} status changes of {result.incidents:,} incidents "
            f"into Helpdesk + {type(done.desk.store).__name__} in {done.seconds:.1f} s"
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
        "--incidents", type=int, default=None, help="import only the first N incidents"
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
