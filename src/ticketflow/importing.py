"""Bulk import of past tickets: the records, the report, and the two file formats.

`ticketflow.Helpdesk.import_tickets` takes `ImportRecord` values (a ticket's
external id and its `ImportEvent` history) and returns an `ImportReport`;
`read_jsonl` and `read_csv` (with a `CsvMapping`) read them lazily from JSON
Lines and from CSV event logs. ``python -m ticketflow import`` does both from
the command line. See docs/howto/import.md.

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

from ._import_formats import CsvMapping as CsvMapping
from ._import_formats import read_csv as read_csv
from ._import_formats import read_jsonl as read_jsonl
from ._importing import ImportEvent as ImportEvent
from ._importing import ImportRecord as ImportRecord
from ._importing import ImportReport as ImportReport
from ._importing import Refusal as Refusal
from .exceptions import ImportFormatError as ImportFormatError
from .exceptions import ImportRecordError as ImportRecordError

__all__ = [
    "CsvMapping",
    "ImportEvent",
    "ImportFormatError",
    "ImportRecord",
    "ImportRecordError",
    "ImportReport",
    "Refusal",
    "read_csv",
    "read_jsonl",
]
