"""PostgreSQL's side of `WakeupStore`: the channel commits notify, and the listener.

A commit that adds outbox entries, or sets a due time earlier than the earliest
one stored, sends ``pg_notify(channel, payload)`` inside its own transaction, so
the notification is delivered when (and only if) it commits. PostgreSQL folds
identical notifications of one transaction into one, and ticketflow sends at
most one per commit anyway. The channel is per schema: ``ticketflow:<schema>``
(the schema the tables live in, the first of the ``search_path``), or
``ticketflow:<md5 of the schema name>`` when that would pass PostgreSQL's
63-byte limit on channel names. The payload is a small JSON object,
``{"due_at": "<ISO 8601>" | null, "outbox": true | false}``: the earliest due
time the commit set and whether it added outbox entries (for people watching
with ``LISTEN`` in psql; the listener only needs to know that one came).

The listener holds one connection of its own, outside the pool, in autocommit
mode, and waits on its socket and on a socket pair that `wakeup` writes to.
"""

from __future__ import annotations

import contextlib
import json
import logging
import select
import socket
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final, final

if TYPE_CHECKING:
    import psycopg

    _Connection = psycopg.Connection[tuple[Any, ...]]

__all__ = ["NOTIFY_MANY", "NOTIFY_ONE", "WAKE_CHANNEL", "PostgresListener", "wake_payload"]

_LOG = logging.getLogger("ticketflow.stores.postgres")

# The schema's channel, computed by the server from the connection's search_path
# (as the tables are found), so any connection onto the schema agrees on it.
WAKE_CHANNEL: Final = (
    "(CASE WHEN octet_length(current_schema()) <= 52 "
    "THEN 'ticketflow:' || current_schema() "
    "ELSE 'ticketflow:' || md5(current_schema()) END)"
)

# Whether a commit brings work nearer, judged against the rows as they were
# before it (its statement's snapshot): outbox entries, or a due time before
# the earliest stored one (an index probe of tickets_due).
_BRINGS_WORK: Final = (
    "{outbox} OR {due}::timestamptz < "
    "coalesce((SELECT min(due_at) FROM tickets), 'infinity'::timestamptz)"
)

# The notification of a commit of one change: a sub-statement of its write
# (see `_write_sql`), that sends only if the ticket row was written (``t``).
NOTIFY_ONE: Final = (
    f"n AS (SELECT pg_notify({WAKE_CHANNEL}, %(wake)s) FROM t WHERE "  # noqa: S608 - fixed SQL
    + _BRINGS_WORK.format(outbox="%(wake_outbox)s", due="%(due_at)s")
    + ")"
)

# The notification of a commit of several changes: the first statement of its
# transaction, so that it sees the rows before the writes; a rollback drops it.
NOTIFY_MANY: Final = f"SELECT pg_notify({WAKE_CHANNEL}, %s) WHERE " + _BRINGS_WORK.format(
    outbox="%s", due="%s"
)


def wake_payload(due_at: datetime | None, outbox: bool) -> str:
    """The notification's payload: the earliest due time set and whether entries were added."""
    return json.dumps(
        {"due_at": None if due_at is None else due_at.isoformat(), "outbox": outbox},
        separators=(",", ":"),
    )


@final
class PostgresListener:
    """``LISTEN`` on a schema's channel from a dedicated connection; reconnect when dropped.

    Thread-safe; one thread waits at a time (others queue behind it). A
    dropped connection (a server restart, ``pg_terminate_backend``, an idle
    timeout) is noticed on its socket; the next wait connects again and, once
    listening, returns True at once: notifications sent meanwhile were lost,
    so the caller polls. A connection the network drops without a word is
    noticed only by TCP keepalives (libpq turns them on; the system's idle time
    applies unless the conninfo sets ``keepalives_idle``): meanwhile the caller's
    polling is what finds the work.
    """

    __slots__ = (
        "_closed",
        "_conn",
        "_connect",
        "_lock",
        "_pending",
        "_wake_r",
        "_wake_w",
        "_where",
    )

    def __init__(self, connect: Callable[[], _Connection], where: str) -> None:
        self._connect = connect
        self._where = where
        self._conn: _Connection | None = None
        self._lock = threading.Lock()
        self._closed = False
        # `wakeup` writes a byte to _wake_w; a wait selects on _wake_r beside the
        # connection. The pair is made by the first wait (a store nobody waits on,
        # such as one on an application's connection that is never closed, holds
        # no sockets); a `wakeup` before it is kept in _pending.
        self._wake_r: socket.socket | None = None
        self._wake_w: socket.socket | None = None
        self._pending = False

    def wakeup(self) -> None:
        """End the current (or the next) wait with True; safe in a signal handler."""
        writer = self._wake_w
        if writer is None:  # no wait yet: the first one returns True anyway
            self._pending = True
            return
        # Full (a wake-up is pending anyway) or closed: nothing to do.
        with contextlib.suppress(OSError):
            writer.send(b"\0")

    def wait(self, timeout: float) -> bool:
        """Wait for a notification, `wakeup`, or ``timeout`` seconds; see `WakeupStore`."""
        deadline = time.monotonic() + timeout
        with self._lock:
            if self._closed:
                return False
            if self._wake_r is None:
                self._wake_r, self._wake_w = socket.socketpair()
                self._wake_r.settimeout(0.0)  # non-blocking
                self._wake_w.settimeout(0.0)
            if self._drain_wakeups() or self._pending:
                self._pending = False
                return True
            conn = self._conn
            if conn is None or conn.closed:
                return self._listen(deadline)
            return self._wait_on(conn, deadline)

    def _listen(self, deadline: float) -> bool:
        """Connect and ``LISTEN``: True at once (poll); False after the deadline if it failed."""
        import psycopg  # noqa: PLC0415 - the postgres extra, loaded by the store already
        from psycopg import sql  # noqa: PLC0415

        try:
            conn = self._connect()
            try:
                row = conn.execute(f"SELECT {WAKE_CHANNEL}").fetchone()
                channel = str(row[0]) if row else "ticketflow:"
                conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
            except BaseException:
                conn.close()
                raise
        except psycopg.Error as exc:
            _LOG.warning(
                "%s: cannot listen for commits (%s); polling", self._where, str(exc).strip()
            )
            self._pause(deadline)
            return False
        self._conn = conn
        _LOG.debug("%s: listening on channel %s", self._where, channel)
        return True

    def _wait_on(self, conn: _Connection, deadline: float) -> bool:
        """Wait on the listening connection until a notification, a wake-up or the deadline."""
        import psycopg  # noqa: PLC0415 - the postgres extra, loaded by the store already
        from psycopg import pq  # noqa: PLC0415

        pgconn = conn.pgconn
        while True:
            try:
                if self._notified(pgconn):
                    return True
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                assert self._wake_r is not None  # noqa: S101 - made by wait()
                wake = self._wake_r.fileno()
                readable, _, _ = select.select([pgconn.socket, wake], [], [], remaining)
                if wake in readable:
                    self._drain_wakeups()
                    return True
                if readable:
                    pgconn.consume_input()
                    if pgconn.status != pq.ConnStatus.OK:
                        raise psycopg.OperationalError("the connection is broken")
            except (psycopg.Error, OSError, ValueError) as exc:
                # Dropped (ValueError: its socket is gone). Notifications sent while
                # nobody listens are lost: say "poll", and listen again next time.
                _LOG.warning(
                    "%s: the listening connection was lost (%s); reconnecting",
                    self._where,
                    str(exc).strip() or type(exc).__name__,
                )
                self._conn = None
                conn.close()
                return True

    @staticmethod
    def _notified(pgconn: Any) -> bool:
        """Consume the notifications libpq has read; whether there were any."""
        got = False
        while (note := pgconn.notifies()) is not None:
            got = True
            _LOG.debug("notified on %s: %s", note.relname.decode(), note.extra.decode())
        return got

    def _drain_wakeups(self) -> bool:
        """Consume pending `wakeup` bytes; whether there were any."""
        got = False
        reader = self._wake_r
        if reader is None:
            return False
        with contextlib.suppress(OSError):  # empty (BlockingIOError) or closed
            while reader.recv(64):
                got = True
        return got

    def _pause(self, deadline: float) -> None:
        """Wait until the deadline, or a `wakeup` (left pending for the next wait)."""
        remaining = deadline - time.monotonic()
        if remaining > 0 and self._wake_r is not None:
            select.select([self._wake_r], [], [], remaining)

    def close(self) -> None:
        """Close the connection and the wake-up sockets; later waits return False at once."""
        self._closed = True
        self.wakeup()
        with self._lock:
            conn, self._conn = self._conn, None
            if conn is not None:
                conn.close()
            for sock in (self._wake_r, self._wake_w):
                if sock is not None:
                    sock.close()
