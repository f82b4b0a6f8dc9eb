"""bench_replay's row-by-row replay of the BPI Challenge 2013 incidents through commands.

``examples/bpi2013_replay.py`` replays the log by importing it
(`Helpdesk.import_tickets`); before that, it replayed every row as commands, and
that replay is kept here because ``bench_replay.py`` times the command path on a
real log. Everything else (the workflow, the labels, `Replay`, `summarise`, the
data's place and citation) is the example's own, imported from it.

Every row is replayed through `Helpdesk`, in time order, with a `FakeClock` set to
the row's own timestamp: the first row of an incident opens its ticket with the
row's impact as priority, its support level as department and its resource as
assignee; every later row records its owner and level with `Helpdesk.assign` and
its impact with `Helpdesk.set_priority`, then fires the trigger to the row's status
(``to_<status>``) when it differs from the ticket's. A change the workflow refuses
(`TransitionError`), and any row of a closed ticket (`TicketLockedError`), is
counted as rejected and skipped.
"""

from __future__ import annotations

import csv
import gzip
import importlib.util
import re
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType

from ticketflow import (
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
    "Change",
    "load_workflow",
    "read_log",
    "replay",
    "summarise",
    "trigger_for",
]


def _load_example() -> ModuleType:
    path = Path(__file__).resolve().parent.parent / "examples" / "bpi2013_replay.py"
    spec = importlib.util.spec_from_file_location("bpi2013_example", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


_EXAMPLE = _load_example()
CITATION = _EXAMPLE.CITATION
DEFAULT_DATA = _EXAMPLE.DEFAULT_DATA
Replay = _EXAMPLE.Replay
label_of = _EXAMPLE.label_of
load_workflow = _EXAMPLE.load_workflow
summarise = _EXAMPLE.summarise

PRIORITY_OF_IMPACT = {
    "Low": Priority.LOW,
    "Medium": Priority.NORMAL,
    "High": Priority.HIGH,
    "Major": Priority.URGENT,
}
_REQUESTER = Requester(name="Volvo IT user")  # the log does not name the users


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


def trigger_for(status: str) -> str:
    """The trigger to a status (or to a log label the workflow does not have)."""
    return "to_" + re.sub(r"\W+", "_", status.lower()).strip("_")


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
        report=None,  # no import: the rows ran as commands
    )
