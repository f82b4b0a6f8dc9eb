"""JsonFileStore: one JSON file per ticket in a directory, with atomic multi-file commits."""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import re
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final, final
from urllib.parse import parse_qsl

from ticketflow import Event, Ticket
from ticketflow.exceptions import ConflictError, StoreError, StoreUnavailable, TicketNotFound
from ticketflow.stores import (
    Change,
    IndexUpdate,
    OutboxEntry,
    QueueKey,
    TicketQuery,
    check_version_step,
    new_positions,
    queue_order,
)

__all__ = ["FORMAT_VERSION", "JsonFileStore"]

FORMAT_VERSION: Final = 1
"""The version of the directory layout this package writes (kept in the marker file)."""

_FORMAT: Final = "ticketflow-jsonfile"
_MARKER: Final = "ticketflow-jsonfile.json"  # says "this directory is a store", and its version
_LOCK: Final = "lock"  # flock'ed: shared by readers, exclusive for writers
_INTENT: Final = "intent.json"  # the redo log of a multi-file write, present only mid-write
_OUTBOX: Final = "outbox.json"
_TICKETS: Final = "tickets"
_TMP: Final = ".tmp"
# ULIDs are used as they are; any other id is hex-encoded, so that a file name is
# always safe, and distinct even on case-insensitive file systems.
_PLAIN_ID: Final = re.compile(r"[0-9A-Z_-]{1,128}")
_TRUE: Final = frozenset({"1", "true", "on", "yes"})
_FALSE: Final = frozenset({"0", "false", "off", "no"})
_LOG = logging.getLogger(__name__)


def _stamp(at: datetime | None, what: str) -> str | None:
    if at is None:
        return None
    if at.tzinfo is None:
        raise StoreError(f"{what} must be timezone-aware, not naive {at.isoformat()}")
    return at.astimezone(UTC).isoformat()


def _unstamp(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def _dumps(data: object) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def _dump_queue(key: QueueKey | None, ticket_id: str) -> list[object] | None:
    if key is None:
        return None
    what = f"ticket {ticket_id}: queue key"
    return [_stamp(key.sla_due, what), _stamp(key.waiting_since, what), int(key.priority)]


def _load_queue(data: list[Any] | None) -> QueueKey | None:
    if data is None:
        return None
    sla_due, waiting_since, priority = data
    since = _unstamp(waiting_since)
    if since is None:
        raise ValueError("a queue key needs waiting_since")
    return QueueKey(_unstamp(sla_due), since, int(priority))


@dataclass(frozen=True, slots=True)
class _Record:
    """What one ticket file holds: the events are the record; the rest is bookkeeping."""

    id: str
    version: int
    due_at: datetime | None
    claimed_until: datetime | None
    events: tuple[dict[str, Any], ...]
    queue: QueueKey | None = None
    # Copied from the last event-sourced snapshot, for `queue`'s filters: a scan
    # then reads them without rebuilding the ticket.
    assignee: str | None = None
    department: str | None = None

    def dumps(self) -> str:
        return _dumps(
            {
                "id": self.id,
                "version": self.version,
                "due_at": _stamp(self.due_at, f"ticket {self.id}: due_at"),
                "claimed_until": _stamp(self.claimed_until, "claimed_until"),
                "queue": _dump_queue(self.queue, self.id),
                "assignee": self.assignee,
                "department": self.department,
                "events": list(self.events),
            }
        )

    @classmethod
    def loads(cls, text: str) -> _Record:
        data = json.loads(text)
        record = cls(
            id=str(data["id"]),
            version=int(data["version"]),
            due_at=_unstamp(data["due_at"]),
            claimed_until=_unstamp(data["claimed_until"]),
            events=tuple(data["events"]),
            # Files written before the work queue existed have none of these keys:
            # such a ticket is not queued until its next commit or reindex.
            queue=_load_queue(data.get("queue")),
            assignee=data.get("assignee"),
            department=data.get("department"),
        )
        if "assignee" not in data:  # written before these fields: take them from the events
            ticket = record.ticket()
            record = replace(record, assignee=ticket.assignee, department=ticket.department)
        return record

    def ticket(self) -> Ticket:
        return Ticket.rebuild(Event.from_dict(event) for event in self.events)


@dataclass(slots=True)
class _Pending:
    """One outbox entry; the file keeps them oldest first."""

    ticket_id: str
    position: int
    kind: str
    claimed_until: datetime | None = None
    attempts: int = 0


def _dumps_outbox(entries: Sequence[_Pending]) -> str:
    return _dumps(
        [
            [e.ticket_id, e.position, e.kind, _stamp(e.claimed_until, "claimed_until"), e.attempts]
            for e in entries
        ]
    )


def _loads_outbox(text: str) -> list[_Pending]:
    return [
        _Pending(str(tid), int(pos), str(kind), _unstamp(until), int(attempts))
        for tid, pos, kind, until, attempts in json.loads(text)
    ]


@final
class JsonFileStore:
    """Keep each ticket as a JSON file in a directory; the example third-party backend.

    The directory holds ``tickets/<id>.json`` (the ticket's events, version, due
    time and claim), ``outbox.json`` (the pending outbox entries, oldest first),
    a marker file naming the format, and a ``lock`` file.

    How the guarantees are kept:

    * Every file is written whole: to a temporary file, fsync'ed, then renamed
      over the old one with `os.replace` (atomic on POSIX), and the directory
      fsync'ed. A reader sees the old file or the new one, never a torn one.
    * A commit that touches several files (two tickets of a merge, a ticket and
      the outbox, the tickets of a ``claim_due``) first writes ``intent.json``
      holding every new file: once that rename is done, the commit has happened.
      The files are then replaced one by one and the intent removed. A process
      that dies half-way leaves the intent behind, and the next operation, in
      any process, replays it before doing anything else. So a commit is on
      disk whole or not at all.
    * ``fcntl.flock`` on ``lock``: exclusive for everything that writes,
      shared for reads, so several processes may share the directory and a
      reader never sees half of a commit. A thread lock does the same between
      the threads of one process.
    * Optimistic versions are checked under the exclusive lock, so of several
      writers holding the same version exactly one wins.

    The price of the simplicity: ``find``, ``due``, ``claim_due`` and
    ``next_due_at`` read every ticket file (there is no index), and every
    commit that enqueues or acknowledges outbox entries rewrites
    ``outbox.json``. Fine for a small desk of a few thousand tickets; use
    `ticketflow.SQLiteStore` beyond that. POSIX only (``fcntl``); do not put the
    directory on a network file system whose ``flock`` is not reliable.

    Args:
        directory: The store's directory. It is created if missing (its parent
            must exist); an existing directory must be empty or a store already.
        fsync: Flush every write to the disk (default). ``False`` keeps atomicity
            against a crashed process but a power cut may lose the last commits;
            for tests only.

    Raises:
        StoreUnavailable: the directory cannot be created, read or locked.
        StoreError: the directory holds something else, or a newer format.
    """

    __slots__ = ("_fd", "_fsync", "_lock", "_root")

    def __init__(self, directory: str | os.PathLike[str], *, fsync: bool = True) -> None:
        self._root = Path(directory)
        self._fsync = fsync
        self._lock = threading.Lock()
        self._fd: int | None = None
        with self._os_errors("cannot be opened (does its parent directory exist?)"):
            self._root.mkdir(exist_ok=True)
            self._refuse_foreign()
            fd = os.open(self._root / _LOCK, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            with self._os_errors("cannot be locked"):
                fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                self._fd = fd
                self._initialise()
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        except BaseException:
            self._fd = None
            os.close(fd)
            raise

    @classmethod
    def from_url(cls, url: str) -> JsonFileStore:
        """Open ``jsonfile:///relative/dir`` or ``jsonfile:////absolute/dir``.

        The same shape as ticketflow's SQLite URLs: three slashes and a relative
        path, four for an absolute one. ``?fsync=off`` turns fsync off.
        This is the callable the ``jsonfile`` entry point names.

        Raises:
            StoreError: the URL is not a jsonfile URL or has unknown parameters.
        """
        prefix = "jsonfile://"
        if not url.lower().startswith(prefix):
            raise StoreError(f"store URL {url!r} is not a jsonfile URL (jsonfile:///path/to/dir)")
        rest, _, query = url[len(prefix) :].partition("?")
        if not rest.startswith("/") or len(rest) < 2:
            raise StoreError(
                f"store URL {url!r}: write jsonfile:///relative/dir or "
                "jsonfile:////absolute/dir (jsonfile URLs have no host)"
            )
        fsync = True
        try:
            pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query))
        except ValueError as exc:
            raise StoreError(f"store URL {url!r}: malformed parameters ({exc})") from exc
        for key, value in pairs:
            if key != "fsync":
                raise StoreError(f"store URL {url!r}: unknown parameter {key!r} (known: fsync)")
            if value.lower() not in _TRUE | _FALSE:
                raise StoreError(f"store URL {url!r}: fsync must be on or off, not {value!r}")
            fsync = value.lower() in _TRUE
        return cls(rest[1:], fsync=fsync)

    @property
    def path(self) -> Path:
        """The store's directory."""
        return self._root

    # --- files ----------------------------------------------------------------------

    @contextlib.contextmanager
    def _os_errors(self, doing: str) -> Iterator[None]:
        """Raise the file system's errors as `StoreUnavailable`, naming the directory."""
        try:
            yield
        except OSError as exc:
            raise StoreUnavailable(f"JSON file store {str(self._root)!r} {doing}: {exc}") from exc

    def _corrupt(self, name: str, exc: Exception) -> StoreError:
        return StoreError(
            f"JSON file store {str(self._root)!r}: {name} is not a valid ticketflow-jsonfile "
            f"file ({type(exc).__name__}: {exc}); it was left as it is"
        )

    def _refuse_foreign(self) -> None:
        """Refuse a directory that holds anything but a store, before writing to it."""
        if (self._root / _MARKER).exists():
            return
        foreign = sorted({p.name for p in self._root.iterdir()} - {_LOCK})
        if foreign:
            raise StoreError(
                f"{str(self._root)!r} is not a ticketflow-jsonfile store (no {_MARKER}; it holds "
                f"{', '.join(foreign[:5])}{', ...' if len(foreign) > 5 else ''}); "
                "give an empty or new directory; nothing was changed"
            )

    def _initialise(self) -> None:
        """Under the exclusive lock: create the layout, or check it and clean up."""
        marker = self._root / _MARKER
        with self._os_errors("cannot be initialised"):
            if marker.exists():
                try:
                    data = json.loads(marker.read_text(encoding="utf-8"))
                    version = int(data["version"]) if data.get("format") == _FORMAT else -1
                except (ValueError, KeyError, TypeError, AttributeError) as exc:
                    raise self._corrupt(_MARKER, exc) from exc
                if version < 1:
                    raise self._corrupt(_MARKER, ValueError(f"format {data.get('format')!r}"))
                if version > FORMAT_VERSION:
                    raise StoreError(
                        f"{str(self._root)!r} was written by a newer ticketflow-jsonfile "
                        f"(format {version}; this one knows up to {FORMAT_VERSION}): upgrade it"
                    )
            else:
                self._refuse_foreign()  # again, now that we hold the lock
                (self._root / _TICKETS).mkdir(exist_ok=True)
                self._write_file(_OUTBOX, "[]")
                self._write_file(_MARKER, _dumps({"format": _FORMAT, "version": FORMAT_VERSION}))
                self._sync_dir(self._root)
            for directory in (self._root, self._root / _TICKETS):
                for path in directory.iterdir():
                    if path.name.endswith(_TMP):  # left by a writer that died before its rename
                        path.unlink()
            self._recover()

    def _sync_dir(self, directory: Path) -> None:
        if self._fsync:
            fd = os.open(directory, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)

    def _write_file(self, name: str, text: str) -> None:
        """Replace the file ``name`` (relative to the root) whole: temp file, fsync, rename."""
        target = self._root / name
        temp = target.with_name(target.name + _TMP)
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            os.write(fd, text.encode())
            if self._fsync:
                os.fsync(fd)
        finally:
            os.close(fd)
        temp.replace(target)  # os.replace: atomic on POSIX

    def _read_file(self, name: str) -> str | None:
        try:
            return (self._root / name).read_text(encoding="utf-8")
        except FileNotFoundError:
            return None

    # --8<-- [start:apply]
    def _apply(self, files: dict[str, str]) -> None:
        """Write ``files`` (name -> new text) all or nothing, under the exclusive lock."""
        if len(files) == 1:  # one rename is atomic by itself
            [(name, text)] = files.items()
            with self._os_errors(f"cannot write {name}"):
                self._write_file(name, text)
                self._sync_dir((self._root / name).parent)
            return
        with self._os_errors(f"cannot write {_INTENT}; nothing was changed"):
            self._write_file(_INTENT, _dumps(files))
            self._sync_dir(self._root)
        # The commit point is passed: the change is durable and every later
        # operation replays the intent first, so it is not reported as failed.
        try:
            self._recover()
        except StoreError:
            _LOG.warning(
                "JSON file store %r: a commit is recorded in %s but not yet applied; "
                "the next operation will complete it",
                str(self._root),
                _INTENT,
                exc_info=True,
            )

    def _recover(self) -> None:
        """Replay ``intent.json`` if a writer left one (it is complete: it was renamed in)."""
        text = self._read_file(_INTENT)
        if text is None:
            return
        try:
            files = json.loads(text)
            items = [(str(name), str(body)) for name, body in files.items()]
        except (ValueError, AttributeError) as exc:
            raise self._corrupt(_INTENT, exc) from exc
        with self._os_errors(f"cannot complete the commit recorded in {_INTENT}"):
            for name, body in items:
                self._write_file(name, body)
            self._sync_dir(self._root / _TICKETS)
            self._sync_dir(self._root)
            (self._root / _INTENT).unlink()
            self._sync_dir(self._root)

    # --8<-- [end:apply]

    @contextlib.contextmanager
    def _locked(self, *, exclusive: bool) -> Iterator[None]:
        """Hold the thread lock and the directory lock; complete any interrupted commit."""
        with self._lock:
            fd = self._fd
            if fd is None:
                raise StoreError(f"JSON file store {str(self._root)!r} is closed")
            with self._os_errors("cannot be locked"):
                fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
            try:
                if (self._root / _INTENT).exists():
                    if not exclusive:
                        fcntl.flock(fd, fcntl.LOCK_EX)  # replaying writes
                    self._recover()
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)

    @staticmethod
    def _ticket_file(ticket_id: str) -> str:
        plain = _PLAIN_ID.fullmatch(ticket_id) is not None
        name = ticket_id if plain else "~" + ticket_id.encode().hex()
        return f"{_TICKETS}/{name}.json"

    def _read_record(self, ticket_id: str) -> _Record | None:
        name = self._ticket_file(ticket_id)
        with self._os_errors(f"cannot read {name}"):
            text = self._read_file(name)
        if text is None:
            return None
        try:
            return _Record.loads(text)
        except (ValueError, KeyError, TypeError) as exc:
            raise self._corrupt(name, exc) from exc

    def _records(self) -> list[_Record]:
        """Read every ticket file (the scan that stands in for an index)."""
        records = []
        with self._os_errors("cannot list its tickets"):
            names = [p.name for p in (self._root / _TICKETS).iterdir() if p.suffix == ".json"]
        for name in names:
            with self._os_errors(f"cannot read {_TICKETS}/{name}"):
                text = self._read_file(f"{_TICKETS}/{name}")
            if text is None:
                continue
            try:
                records.append(_Record.loads(text))
            except (ValueError, KeyError, TypeError) as exc:
                raise self._corrupt(f"{_TICKETS}/{name}", exc) from exc
        return records

    def _outbox(self) -> list[_Pending]:
        with self._os_errors(f"cannot read {_OUTBOX}"):
            text = self._read_file(_OUTBOX)
        try:
            return [] if text is None else _loads_outbox(text)
        except (ValueError, KeyError, TypeError) as exc:
            raise self._corrupt(_OUTBOX, exc) from exc

    # --- the contract ---------------------------------------------------------------

    def get(self, ticket_id: str) -> Ticket:
        """Return the stored ticket, rebuilt from its events.

        Raises:
            TicketNotFound: no ticket has this id.
        """
        with self._locked(exclusive=False):
            record = self._read_record(ticket_id)
        if record is None:
            raise TicketNotFound(ticket_id)
        return record.ticket()

    def events(self, ticket_id: str) -> tuple[Event, ...]:
        """Return the ticket's timeline, oldest first.

        Raises:
            TicketNotFound: no ticket has this id.
        """
        return tuple(self.get(ticket_id).timeline)

    # --8<-- [start:commit]
    def commit(self, changes: Sequence[Change]) -> None:
        """Write all ``changes`` atomically (one file rename, or an intent and its replay).

        Raises:
            ConflictError: a change's expected version is stale; nothing was written.
            StoreError: a change is malformed; nothing was written.
            StoreUnavailable: the files cannot be written; nothing was written.
        """
        with self._locked(exclusive=True):
            records: dict[str, _Record] = {}
            outbox: list[_Pending] | None = None
            for change in changes:
                check_version_step(change)  # a malformed change: StoreError
                ticket, expected, rewrite, due_at, positions, queued = change
                tid = ticket.id
                current = records[tid] if tid in records else self._read_record(tid)
                actual = 0 if current is None else current.version
                if actual != expected:
                    raise ConflictError(
                        ticket_id=tid, expected_version=expected, actual_version=actual
                    )
                timeline = ticket.timeline
                added = range(len(timeline)) if rewrite else new_positions(ticket)
                kept = () if rewrite or current is None else current.events
                new = tuple(timeline[i].to_dict() for i in added)
                records[tid] = _Record(
                    tid,
                    ticket.version,
                    due_at,
                    None,
                    kept + new,
                    queued,
                    ticket.assignee,
                    ticket.department,
                )
                if positions:
                    outbox = self._outbox() if outbox is None else outbox
                    self._enqueue(outbox, ticket, positions)
            files = {self._ticket_file(tid): record.dumps() for tid, record in records.items()}
            if outbox is not None:
                files[_OUTBOX] = _dumps_outbox(outbox)
            if files:
                self._apply(files)

    # --8<-- [end:commit]

    @staticmethod
    def _enqueue(outbox: list[_Pending], ticket: Ticket, positions: tuple[int, ...]) -> None:
        timeline = ticket.timeline
        for position in positions:
            if not 0 <= position < len(timeline):
                raise StoreError(
                    f"ticket {ticket.id}: outbox position {position} is outside its timeline "
                    f"of {len(timeline)} events"
                )
            kind = timeline[position].kind.value
            for entry in outbox:
                if (entry.ticket_id, entry.position) == (ticket.id, position):
                    entry.kind, entry.claimed_until, entry.attempts = kind, None, 0
                    break
            else:
                outbox.append(_Pending(ticket.id, position, kind))

    def find(self, query: TicketQuery) -> list[Ticket]:
        """Return the tickets matching ``query``, ordered by id (reads every ticket file)."""
        with self._locked(exclusive=False):
            records = self._records()
        found: list[Ticket] = []
        for record in sorted(records, key=lambda r: r.id):
            if query.limit is not None and len(found) >= query.limit:
                break
            ticket = record.ticket()
            if query.matches(ticket):
                found.append(ticket)
        return found

    @staticmethod
    def _due(records: list[_Record], now: datetime, *, unclaimed: bool) -> list[_Record]:
        due = [
            r
            for r in records
            if r.due_at is not None
            and r.due_at <= now
            and not (unclaimed and r.claimed_until is not None and r.claimed_until > now)
        ]
        due.sort(key=lambda r: (r.due_at, r.id))
        return due

    def due(self, now: datetime, limit: int) -> list[Ticket]:
        """Return up to ``limit`` tickets due at or before ``now``, earliest first (a scan)."""
        _stamp(now, "now")
        with self._locked(exclusive=False):
            records = self._records()
        return [r.ticket() for r in self._due(records, now, unclaimed=False)[: max(limit, 0)]]

    def claim_due(self, now: datetime, limit: int, lease: timedelta) -> list[Ticket]:
        """Claim and return up to ``limit`` unclaimed tickets due by ``now``, earliest first.

        The claims are written to the ticket files in one atomic step; a commit
        of a ticket clears its claim.
        """
        _stamp(now, "now")
        with self._locked(exclusive=True):
            chosen = self._due(self._records(), now, unclaimed=True)[: max(limit, 0)]
            until = now + lease
            files = {
                self._ticket_file(r.id): replace(r, claimed_until=until).dumps() for r in chosen
            }
            if files:
                self._apply(files)
        return [r.ticket() for r in chosen]

    def claim_outbox(self, now: datetime, limit: int, lease: timedelta) -> list[OutboxEntry]:
        """Claim and return up to ``limit`` unclaimed pending outbox entries, oldest first."""
        _stamp(now, "now")
        until = now + lease
        out: list[OutboxEntry] = []
        with self._locked(exclusive=True):
            outbox = self._outbox()
            for entry in outbox:
                if len(out) >= limit:
                    break
                if entry.claimed_until is not None and entry.claimed_until > now:
                    continue
                entry.claimed_until = until
                entry.attempts += 1
                out.append(OutboxEntry(entry.ticket_id, entry.position, entry.kind, entry.attempts))
            if out:
                self._apply({_OUTBOX: _dumps_outbox(outbox)})
        return out

    def ack_outbox(self, keys: Sequence[tuple[str, int]]) -> None:
        """Remove delivered entries, as ``(ticket_id, position)``; unknown keys are ignored."""
        if not keys:
            return
        done = {(key[0], key[1]) for key in keys}
        with self._locked(exclusive=True):
            outbox = self._outbox()
            kept = [e for e in outbox if (e.ticket_id, e.position) not in done]
            if len(kept) != len(outbox):
                self._apply({_OUTBOX: _dumps_outbox(kept)})

    def outbox_pending(self) -> int:
        """Return the number of entries not yet acknowledged."""
        with self._locked(exclusive=False):
            return len(self._outbox())

    def queue(self, *, assignee: str | None, department: str | None, limit: int) -> list[Ticket]:
        """Return up to ``limit`` queued tickets in queue order (a scan of every ticket file).

        ``assignee`` and ``department``, when given, keep only the tickets
        currently assigned to that agent / in that department. Example-grade:
        with no index, the cost grows with the tickets stored, not with the
        number returned, which the protocol asks of a production backend.
        """
        with self._locked(exclusive=False):
            records = self._records()
        queued = sorted(
            (queue_order(r.id, r.queue), r)
            for r in records
            if r.queue is not None
            and (assignee is None or r.assignee == assignee)
            and (department is None or r.department == department)
        )
        return [r.ticket() for _, r in queued[: max(limit, 0)]]

    def reindex(self, updates: Sequence[IndexUpdate]) -> int:
        """Apply each update whose ticket is still at its ``version``; return how many applied.

        The changed ticket files are replaced in one atomic step (as a commit's
        are); versions, events, claims and the outbox are left as they are.
        """
        applied = 0
        with self._locked(exclusive=True):
            records: dict[str, _Record] = {}
            for update in updates:
                tid = update.ticket_id
                current = records[tid] if tid in records else self._read_record(tid)
                if current is None or current.version != update.version:
                    continue
                records[tid] = replace(current, due_at=update.due_at, queue=update.queue)
                applied += 1
            if records:
                self._apply({self._ticket_file(t): r.dumps() for t, r in records.items()})
        return applied

    def next_due_at(self) -> datetime | None:
        """Return the earliest due time of any ticket, or None (a scan)."""
        with self._locked(exclusive=False):
            records = self._records()
        return min((r.due_at for r in records if r.due_at is not None), default=None)

    def count(self) -> int:
        """Return the number of stored tickets (tombstones included)."""
        with self._locked(exclusive=False), self._os_errors("cannot list its tickets"):
            return sum(p.suffix == ".json" for p in (self._root / _TICKETS).iterdir())

    def close(self) -> None:
        """Release the lock file; the store is unusable afterwards (its files stay)."""
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None

    def __repr__(self) -> str:
        return f"JsonFileStore({str(self._root)!r})"
