"""The two import file formats: JSON Lines events, and CSV event logs with a mapping.

Both are read lazily, one record (one ticket's contiguous lines or rows) at a
time, with the standard library only; a line or row that cannot be read raises
`ImportFormatError` naming it. See docs/howto/import.md for the formats.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import tomllib
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import IO, Any, BinaryIO, Final, cast, final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs

from .._model import EMPTY
from .._workflow import Workflow
from ..exceptions import ImportFormatError, InvalidInputError
from ._records import IMPORT_KINDS, ImportEvent, ImportRecord

__all__ = ["CsvMapping", "read_csv", "read_jsonl"]

Source = str | Path | Iterable[str]
"""A file path (``.gz`` read as gzip) or lines of text (an open text file)."""

_JSONL_KEYS: Final = frozenset(
    {
        "ticket",
        "kind",
        "at",
        "actor",
        "role",
        "status",
        "assignee",
        "department",
        "priority",
        "message",
        "data",
    }
)
_OPTIONAL_TEXT: Final = ("actor", "role", "status", "assignee", "department", "priority", "message")


@contextmanager
def _lines(source: Source) -> Iterator[Iterable[str]]:
    if isinstance(source, str | Path):
        path = Path(source)
        if path.suffix == ".gz":
            opened: IO[str] = gzip.open(path, "rt", encoding="utf-8-sig", newline="")  # noqa: SIM115 - closed by the with below
        else:
            opened = path.open(encoding="utf-8-sig", newline="")
        with opened as file:
            yield file
    elif isinstance(source, Iterable):
        yield source
    else:
        raise InvalidInputError(
            f"source must be a path or lines of text, got {type(source).__name__}", field="source"
        )


def _zone(zone: str | tzinfo | None) -> tzinfo | None:
    if zone is None or isinstance(zone, tzinfo):
        return zone
    try:
        return ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidInputError(f"unknown time zone {zone!r}", field="zone") from exc


def _time(text: object, line: int, field: str, zone: tzinfo | None, fmt: str | None) -> datetime:
    if not isinstance(text, str):
        raise ImportFormatError(f"{field} must be a string, got {text!r}", line=line, field=field)
    try:
        at = datetime.strptime(text, fmt) if fmt else datetime.fromisoformat(text)  # noqa: DTZ007 - the zone is checked next
    except ValueError as exc:
        raise ImportFormatError(f"{field}: {exc}", line=line, field=field) from None
    if at.tzinfo is None:
        if zone is None:
            raise ImportFormatError(
                f"{field} {text!r} has no UTC offset: give the zone it is in (zone=, --zone)",
                line=line,
                field=field,
            )
        at = at.replace(tzinfo=zone)
    try:
        return at.astimezone(UTC)
    except (OverflowError, ValueError) as exc:
        raise ImportFormatError(f"{field}: {exc}", line=line, field=field) from None


# --- JSON Lines ---------------------------------------------------------------------------


def read_jsonl(source: Source, *, zone: str | tzinfo | None = None) -> Iterator[ImportRecord]:
    """Read import records from JSON Lines: one event per line, a ticket's events contiguous.

    Each line is an object with ``ticket`` (the external id), ``kind``, ``at``
    (ISO 8601) and optionally ``actor``, ``role``, ``status``, ``assignee``,
    ``department``, ``priority``, ``message`` and ``data``: the fields of
    `ImportEvent`. A line whose ``ticket`` differs from the line before starts a
    new record. Blank lines are skipped.

    Args:
        source: A path (``.gz`` is read as gzip) or lines of text.
        zone: The zone of timestamps without an offset (refused without one).

    Raises:
        ImportFormatError: a line is not a JSON object of that shape (its number is named).
    """
    tz = _zone(zone)
    with _lines(source) as lines:
        current: str | None = None
        events: list[ImportEvent] = []
        for number, text in enumerate(lines, 1):
            if not text.strip():
                continue
            try:
                item = json.loads(text)
            except ValueError as exc:
                raise ImportFormatError(f"not JSON ({exc})", line=number) from None
            if not isinstance(item, dict):
                raise ImportFormatError(
                    f"a line must be a JSON object, got {type(item).__name__}", line=number
                )
            unknown = item.keys() - _JSONL_KEYS
            if unknown:
                raise ImportFormatError(
                    f"unknown key(s) {', '.join(sorted(unknown))}; known: "
                    f"{', '.join(sorted(_JSONL_KEYS))}",
                    line=number,
                )
            ticket = item.get("ticket")
            if not isinstance(ticket, str) or not ticket:
                raise ImportFormatError(
                    f"ticket must be a non-empty string, got {ticket!r}", line=number
                )
            event = _jsonl_event(item, number, tz)
            if ticket != current:
                if current is not None:
                    yield ImportRecord(external_id=current, events=events)
                current, events = ticket, []
            events.append(event)
        if current is not None:
            yield ImportRecord(external_id=current, events=events)


def _jsonl_event(item: Mapping[str, Any], number: int, tz: tzinfo | None) -> ImportEvent:
    kind = item.get("kind", "status")
    if kind not in IMPORT_KINDS:
        raise ImportFormatError(
            f"unknown kind {kind!r}; known: {', '.join(sorted(IMPORT_KINDS))}", line=number
        )
    for key in _OPTIONAL_TEXT:
        value = item.get(key)
        if value is not None and not isinstance(value, str):
            raise ImportFormatError(f"{key} must be a string, got {value!r}", line=number)
    data = item.get("data", EMPTY)
    if data is not EMPTY and not isinstance(data, dict):
        raise ImportFormatError(f"data must be an object, got {data!r}", line=number)
    if "at" not in item:
        raise ImportFormatError("at is missing", line=number)
    return ImportEvent(
        kind=kind,
        at=_time(item["at"], number, "at", tz, None),
        actor=item.get("actor"),
        role=item.get("role"),
        status=item.get("status"),
        assignee=item.get("assignee"),
        department=item.get("department"),
        priority=item.get("priority"),
        message=item.get("message"),
        data=data,
    )


# --- CSV event logs -------------------------------------------------------------------------


def _strings(value: object, field: str) -> Mapping[str, Any]:
    if value is None:
        return EMPTY
    if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
        raise InvalidInputError(f"{field} must be a table of names", field=field)
    return dict(value)


def _columns(value: str | Iterable[str]) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


@final
@attrs.frozen(kw_only=True, slots=True)
class CsvMapping:
    """How the columns and activities of a CSV event log become import records.

    One row is one event of a ticket; a ticket's rows are contiguous and in time
    order (as process-mining logs are sorted). Build one with `CsvMapping.load`
    (a TOML file) or `CsvMapping.from_dict` (see docs/howto/import.md).

    Attributes:
        ticket: The column of the ticket's external id.
        activity: The column(s) of the activity; several are joined with
            ``separator`` (``["Status", "Sub Status"]`` gives ``"Queued - Awaiting Assignment"``).
        timestamp: The column of the event's time.
        actor: The column of who did it (agent id), if any.
        assignee: The column of the ticket's assignee as of the row, if any.
        department: Likewise, the department.
        priority: Likewise, the priority (mapped through ``priorities``).
        custom_fields: Custom field name -> column, set at the ticket's creation.
        activities: Activity -> a status name, or ``{kind = ..., status = ...}``
            (an `ImportEvent` kind, such as ``customer_replied``, with an optional
            status). An activity not listed maps to the workflow's status of that
            name or label, else it is passed on as the status wanted (which the
            import refuses as unknown).
        priorities: Cell value -> priority (``low``, ``normal``, ``high``, ``urgent``);
            values not listed are lower-cased.
        start: ``"activity"``: the first row's activity is the status the ticket
            starts in; ``"initial"``: the ticket starts in the workflow's initial
            status and the first row's activity is its first status change.
        subject: The subject, with ``{ticket}`` for the external id.
        requester: The requester's name (the log names none), if given.
        separator: See ``activity``.
        time_format: A `datetime.strptime` format; default ISO 8601.
        zone: The zone of timestamps without an offset (refused without one).
    """

    ticket: str
    activity: tuple[str, ...] = attrs.field(converter=_columns)
    timestamp: str
    actor: str | None = None
    assignee: str | None = None
    department: str | None = None
    priority: str | None = None
    custom_fields: Mapping[str, str] = EMPTY
    activities: Mapping[str, Any] = EMPTY
    priorities: Mapping[str, str] = EMPTY
    start: str = attrs.field(default="activity")
    subject: str = "{ticket}"
    requester: str | None = None
    separator: str = " - "
    time_format: str | None = None
    zone: str | None = None

    def __attrs_post_init__(self) -> None:
        if self.start not in ("activity", "initial"):
            raise InvalidInputError(
                f"start must be 'activity' or 'initial', got {self.start!r}", field="start"
            )
        for activity, target in self.activities.items():
            if isinstance(target, Mapping):
                kind = target.get("kind", "status")
                if (
                    kind not in IMPORT_KINDS
                    or kind == "created"
                    or set(target) - {"kind", "status"}
                ):
                    raise InvalidInputError(
                        f"activities.{activity}: give a status name or "
                        "{kind = ..., status = ...} with a kind among "
                        f"{', '.join(sorted(IMPORT_KINDS - {'created'}))}",
                        field="activities",
                    )
            elif not isinstance(target, str):
                raise InvalidInputError(
                    f"activities.{activity} must be a status name or a table", field="activities"
                )
        _zone(self.zone)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CsvMapping:
        """Build from the TOML shape: ``[columns]``, ``[custom_fields]``, ``[activities]``,
        ``[priorities]`` and ``[ticket]`` (see docs/howto/import.md).

        Raises:
            InvalidInputError: a table or key is missing or unknown.
        """  # noqa: D205 - the summary names the tables
        unknown = set(data) - {"columns", "custom_fields", "activities", "priorities", "ticket"}
        if unknown:
            raise InvalidInputError(f"unknown table(s) {sorted(unknown)}", field="mapping")
        columns = _strings(data.get("columns"), "columns")
        ticket = _strings(data.get("ticket"), "ticket")
        allowed_columns = {
            "ticket", "activity", "timestamp", "actor", "assignee", "department", "priority",
            "separator", "time_format", "zone",
        }  # fmt: skip
        allowed_ticket = {"start", "subject", "requester"}
        for table, keys, allowed in (
            ("columns", columns, allowed_columns),
            ("ticket", ticket, allowed_ticket),
        ):
            extra = set(keys) - allowed
            if extra:
                raise InvalidInputError(
                    f"[{table}]: unknown key(s) {sorted(extra)}; known: {sorted(allowed)}",
                    field=table,
                )
        for key in ("ticket", "activity", "timestamp"):
            if key not in columns:
                raise InvalidInputError(f"[columns] needs {key!r}", field="columns")
        try:
            return cls(
                **columns,
                **ticket,
                custom_fields=_strings(data.get("custom_fields"), "custom_fields"),
                activities=_strings(data.get("activities"), "activities"),
                priorities=_strings(data.get("priorities"), "priorities"),
            )
        except TypeError as exc:
            raise InvalidInputError(f"mapping: {exc}", field="mapping") from None

    @classmethod
    def load(cls, path: str | Path) -> CsvMapping:
        """Read a mapping from a TOML file.

        Raises:
            OSError: the file cannot be read.
            InvalidInputError: it is not valid TOML, or not a mapping.
        """
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise InvalidInputError(f"{path}: {exc}", field="mapping") from None
        return cls.from_dict(data)


def _resolver(mapping: CsvMapping, workflow: Workflow | None) -> dict[str, tuple[str, str | None]]:
    """Activity -> (kind, status): the explicit mapping, then the workflow's names and labels."""
    found: dict[str, tuple[str, str | None]] = {}
    if workflow is not None:
        for status in workflow.statuses:
            found[status.label] = ("status", status.name)
        for status in workflow.statuses:
            found[status.name] = ("status", status.name)
    for activity, target in mapping.activities.items():
        if isinstance(target, str):
            found[activity] = ("status", target)
        else:
            found[activity] = (target.get("kind", "status"), target.get("status"))
    return found


def read_csv(
    source: Source,
    mapping: CsvMapping | Mapping[str, Any],
    *,
    workflow: Workflow | None = None,
    zone: str | tzinfo | None = None,
) -> Iterator[ImportRecord]:
    """Read import records from a CSV event log (one row per event, a ticket's rows contiguous).

    Args:
        source: A path (``.gz`` is read as gzip; UTF-8, a byte-order mark is
            skipped) or lines of text.
        mapping: A `CsvMapping`, or its TOML shape as a dict.
        workflow: The workflow whose status names and labels activities map to
            when the mapping does not list them.
        zone: The zone of timestamps without an offset (overrides the mapping's).

    Raises:
        ImportFormatError: the header lacks a mapped column, or a row cannot be
            read (too short, a bad or naive timestamp): the row is named.
        InvalidInputError: the mapping is invalid.
    """
    if not isinstance(mapping, CsvMapping):
        mapping = CsvMapping.from_dict(mapping)
    tz = _zone(zone if zone is not None else mapping.zone)
    resolve = _resolver(mapping, workflow)
    with _lines(source) as lines:
        reader = csv.reader(lines)
        try:
            header = next(reader, None)
        except csv.Error as exc:
            raise ImportFormatError(f"not CSV ({exc})", line=1) from None
        if header is None:
            return
        yield from _csv_records(reader, header, mapping, resolve, tz)


def _csv_records(  # noqa: C901, PLR0915 - one loop over the rows, kept flat for speed
    reader: Any,
    header: list[str],
    mapping: CsvMapping,
    resolve: Mapping[str, tuple[str, str | None]],
    tz: tzinfo | None,
) -> Iterator[ImportRecord]:
    position = {name: i for i, name in enumerate(header)}

    def column(name: str | None) -> int | None:
        if name is None:
            return None
        if name not in position:
            raise ImportFormatError(
                f"the header has no column {name!r} (columns: {', '.join(header)})",
                line=1,
                field=name,
            )
        return position[name]

    ticket_col = column(mapping.ticket)
    activity_cols = [column(name) for name in mapping.activity]
    time_col = column(mapping.timestamp)
    actor_col = column(mapping.actor)
    assignee_col = column(mapping.assignee)
    department_col = column(mapping.department)
    priority_col = column(mapping.priority)
    field_cols = {name: column(col) for name, col in mapping.custom_fields.items()}
    width = max(
        i for i in (ticket_col, time_col, actor_col, assignee_col, department_col, priority_col,
                    *activity_cols, *field_cols.values()) if i is not None
    )  # fmt: skip
    priorities = mapping.priorities
    separator = mapping.separator
    fmt = mapping.time_format
    initial = mapping.start == "initial"
    subject = mapping.subject
    requester = None if mapping.requester is None else {"name": mapping.requester}
    single = activity_cols[0] if len(activity_cols) == 1 else None
    current: str | None = None
    events: list[ImportEvent] = []
    line = 1
    try:
        for row in reader:
            line += 1
            if not row:
                continue
            if len(row) <= width:
                raise ImportFormatError(
                    f"{len(row)} columns, the header has {len(header)}", line=line
                )
            ticket = row[ticket_col]
            if not ticket:
                raise ImportFormatError(
                    f"{mapping.ticket} is empty", line=line, field=mapping.ticket
                )
            at = _time(row[time_col], line, mapping.timestamp, tz, fmt)
            activity = (
                row[single] if single is not None else separator.join(row[i] for i in activity_cols)
            )
            kind, status = resolve.get(activity) or ("status", activity)
            actor = (row[actor_col] or None) if actor_col is not None else None
            assignee = (row[assignee_col] or None) if assignee_col is not None else None
            department = (row[department_col] or None) if department_col is not None else None
            priority = None
            if priority_col is not None:
                cell = row[priority_col]
                priority = priorities.get(cell) or cell.lower() or None
            if ticket != current:
                if current is not None:
                    yield ImportRecord(external_id=current, events=events)
                current, events = ticket, []
                data: dict[str, Any] = {"subject": subject.replace("{ticket}", ticket)}
                if requester is not None:
                    data["requester"] = requester
                if field_cols:
                    data["custom_fields"] = {name: row[i] for name, i in field_cols.items()}
                events.append(
                    ImportEvent(
                        kind="created",
                        at=at,
                        actor=actor,
                        status=None if initial or kind != "status" else status,
                        assignee=assignee,
                        department=department,
                        priority=priority,
                        data=data,
                    )
                )
                if not initial and kind == "status":
                    continue
            events.append(
                ImportEvent(
                    kind=kind,
                    at=at,
                    actor=actor,
                    status=status,
                    assignee=assignee,
                    department=department,
                    priority=priority,
                )
            )
    except csv.Error as exc:
        raise ImportFormatError(f"not CSV ({exc})", line=line) from None
    if current is not None:
        yield ImportRecord(external_id=current, events=events)


def open_counting(path: str | Path) -> tuple[io.TextIOWrapper, io.BufferedReader]:
    """Open ``path`` as text lines, and the raw file under them (for a progress bar).

    Returns the lines (UTF-8, a byte-order mark skipped, gunzipped for ``.gz``)
    and the raw file, whose ``tell()`` gives the bytes read so far. Close both.
    """
    raw = Path(path).open("rb")  # noqa: SIM115 - the caller closes it
    binary = gzip.GzipFile(fileobj=raw) if Path(path).suffix == ".gz" else raw
    return io.TextIOWrapper(cast("BinaryIO", binary), encoding="utf-8-sig", newline=""), raw
