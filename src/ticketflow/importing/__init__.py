"""Bulk import of past tickets: the records, the report, and the two file formats.

`ticketflow.Helpdesk.import_tickets` takes `ImportRecord` values (a ticket's
external id and its `ImportEvent` history) and returns an `ImportReport`;
`read_jsonl` and `read_csv` (with a `CsvMapping`) read them lazily from JSON
Lines and from CSV event logs. ``python -m ticketflow import`` does both from
the command line. Refusals raise `ticketflow.exceptions.ImportRecordError` (a
record) and `ticketflow.exceptions.ImportFormatError` (a line or row of a file).
See docs/howto/import.md.

Example:
    >>> from datetime import UTC, datetime
    >>> from ticketflow import FakeClock, Helpdesk
    >>> from ticketflow.importing import ImportEvent, ImportRecord
    >>> desk = Helpdesk(clock=FakeClock(datetime(2025, 1, 1, tzinfo=UTC)))
    >>> at = datetime(2024, 3, 1, 9, tzinfo=UTC)
    >>> record = ImportRecord(
    ...     external_id="OLD-1",
    ...     events=[
    ...         ImportEvent(kind="created", at=at, data={"subject": "Printer"}),
    ...         ImportEvent(kind="status", at=at.replace(hour=10), actor="bob", status="resolved"),
    ...     ],
    ... )
    >>> desk.import_tickets([record]).tickets
    1
    >>> desk.get("OLD-1").status
    'resolved'
"""

from __future__ import annotations

from ._formats import CsvMapping as CsvMapping
from ._formats import read_csv as read_csv
from ._formats import read_jsonl as read_jsonl
from ._records import ImportEvent as ImportEvent
from ._records import ImportRecord as ImportRecord
from ._records import ImportReport as ImportReport
from ._records import Refusal as Refusal

__all__ = [
    "CsvMapping",
    "ImportEvent",
    "ImportRecord",
    "ImportReport",
    "Refusal",
    "read_csv",
    "read_jsonl",
]
