"""The PostgreSQL schema: its migrations, the table shapes checked on open, and migrating.

`migrate` runs when a `PostgresStore` opens: it creates the tables or upgrades an
older schema, serialised between processes by an advisory lock, and refuses a
schema written by a newer ticketflow or tables of the same names it did not create.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from .._validate import email_key
from ..exceptions import StoreError
from ._codec import decode_ticket
from ._protocol import QueueKey
from ._summary import encode_summary, summarize
from ._text import indexed_text, plain_words

if TYPE_CHECKING:
    import psycopg

__all__ = ["SCHEMA_VERSION", "migrate"]

SCHEMA_VERSION: Final = 6
"""The schema version this ticketflow writes; older schemas are migrated on open."""

_MIGRATIONS_TABLE: Final = "ticketflow_migrations"
# pg_advisory_xact_lock key ("tflw"): one migrating process per database at a time.
_MIGRATION_LOCK: Final = 0x74666C77
_CHUNK: Final = 500  # tickets rebuilt at a time by a migration
# Ids compare in code-point order (COLLATE "C"), as Python sorts strings: `find` and
# `due` order by id the same way on every database, whatever its locale.
# Each entry moves the schema from version i to i + 1; they run in order on open.
_MIGRATIONS: Final[tuple[str, ...]] = (
    """
    CREATE TABLE tickets (
        id text COLLATE "C" PRIMARY KEY,
        version integer NOT NULL,
        status text NOT NULL,
        priority smallint NOT NULL,
        assignee text,
        department text,
        due_at timestamptz,
        claimed_until timestamptz
    );
    CREATE INDEX tickets_due ON tickets (due_at, id) WHERE due_at IS NOT NULL;
    CREATE INDEX tickets_status ON tickets (status, id);
    CREATE INDEX tickets_assignee ON tickets (assignee, id) WHERE assignee IS NOT NULL;
    CREATE INDEX tickets_department ON tickets (department, id) WHERE department IS NOT NULL;
    CREATE TABLE events (
        ticket_id text COLLATE "C" NOT NULL,
        position integer NOT NULL,
        body json NOT NULL,
        PRIMARY KEY (ticket_id, position)
    );
    CREATE TABLE tags (
        tag text NOT NULL,
        ticket_id text COLLATE "C" NOT NULL,
        PRIMARY KEY (tag, ticket_id)
    );
    CREATE INDEX tags_ticket ON tags (ticket_id);
    CREATE TABLE outbox (
        seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        ticket_id text COLLATE "C" NOT NULL,
        position integer NOT NULL,
        kind text NOT NULL,
        claimed_until timestamptz,
        attempts integer NOT NULL DEFAULT 0,
        UNIQUE (ticket_id, position)
    );
    """,
    # 2: the work queue (QueueKey). queue_since IS NOT NULL means "queued";
    # queue_due NULL (no SLA clock) sorts last, as ascending order puts NULLs in
    # PostgreSQL, indexes included; queue_rank is -priority so that every column
    # sorts ascending. Rows of version 1 are not queued until their next commit
    # or reindex.
    """
    ALTER TABLE tickets
        ADD COLUMN queue_due timestamptz,
        ADD COLUMN queue_since timestamptz,
        ADD COLUMN queue_rank smallint;
    CREATE INDEX tickets_queue ON tickets (queue_due, queue_since, queue_rank, id)
        WHERE queue_since IS NOT NULL;
    CREATE INDEX tickets_queue_assignee
        ON tickets (assignee, queue_due, queue_since, queue_rank, id)
        WHERE queue_since IS NOT NULL;
    CREATE INDEX tickets_queue_department
        ON tickets (department, queue_due, queue_since, queue_rank, id)
        WHERE queue_since IS NOT NULL;
    """,
    # 3: the requester index (`requester_key`: the e-mail address, stripped and
    # case-folded; NULL without one). Existing rows are filled in by
    # `_fill_requester_keys` in the same transaction (Python's casefold, not
    # the server's lower(), so that every backend keys alike).
    """
    ALTER TABLE tickets ADD COLUMN requester_email text;
    CREATE INDEX tickets_requester ON tickets (requester_email, id)
        WHERE requester_email IS NOT NULL;
    """,
    # 4: the read side. Each row keeps its ticket's summary (`summarize`):
    # created_at, updated_at and channel as columns, the fields no query filters
    # or sorts by as JSON text (`encode_summary`); sla_due and waiting_since are
    # the queue columns, sorted with NULL ("none") as infinity. One index per
    # sort key. Counts group the rows (the status index serves counts by
    # status). Existing rows are filled in by `_fill_summaries`.
    """
    ALTER TABLE tickets
        ADD COLUMN created_at timestamptz,
        ADD COLUMN updated_at timestamptz,
        ADD COLUMN channel text,
        ADD COLUMN summary text;
    CREATE INDEX tickets_created ON tickets (created_at, id);
    CREATE INDEX tickets_updated ON tickets (updated_at, id);
    CREATE INDEX tickets_priority ON tickets (priority, id);
    CREATE INDEX tickets_sla ON tickets (coalesce(queue_due, 'infinity'::timestamptz), id);
    CREATE INDEX tickets_waiting ON tickets (coalesce(queue_since, 'infinity'::timestamptz), id);
    """,
    # 5: the message-id index (`MessageIdStore`): the external message ids of
    # each ticket's messages (`indexed_text`). Existing tickets are indexed by
    # `_fill_text` in the same transaction.
    """
    CREATE TABLE message_ids (
        message_id text COLLATE "C" NOT NULL,
        ticket_id text COLLATE "C" NOT NULL,
        PRIMARY KEY (message_id, ticket_id)
    );
    CREATE INDEX message_ids_ticket ON message_ids (ticket_id);
    """,
    # 6: search (`SearchStore`): the text rows of `indexed_text` as tsvectors
    # (the text itself is not kept), built with the store's text-search
    # configuration, recorded in search_settings; a GIN index on them, and an
    # index by ticket for purges. Existing tickets are indexed by `_fill_text`.
    """
    CREATE TABLE search_docs (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        ticket_id text COLLATE "C" NOT NULL,
        private boolean NOT NULL,
        words tsvector NOT NULL
    );
    CREATE INDEX search_docs_ticket ON search_docs (ticket_id);
    CREATE INDEX search_docs_words ON search_docs USING gin (words);
    CREATE TABLE search_settings (config text NOT NULL);
    """,
)
assert len(_MIGRATIONS) == SCHEMA_VERSION  # noqa: S101 - a module invariant

# The columns each table must have; checked on open, so a foreign table that
# happens to carry one of our names is refused rather than written into.
_SHAPE: Final[dict[str, frozenset[str]]] = {
    "tickets": frozenset(
        {
            "id",
            "version",
            "status",
            "priority",
            "assignee",
            "department",
            "due_at",
            "claimed_until",
            "queue_due",
            "queue_since",
            "queue_rank",
            "requester_email",
            "created_at",
            "updated_at",
            "channel",
            "summary",
        }
    ),
    "events": frozenset({"ticket_id", "position", "body"}),
    "tags": frozenset({"tag", "ticket_id"}),
    "outbox": frozenset({"seq", "ticket_id", "position", "kind", "claimed_until", "attempts"}),
    "message_ids": frozenset({"message_id", "ticket_id"}),
    "search_docs": frozenset({"id", "ticket_id", "private", "words"}),
    "search_settings": frozenset({"config"}),
    _MIGRATIONS_TABLE: frozenset({"version", "applied_at"}),
}


def migrate(
    conn: psycopg.Connection[tuple[Any, ...]],
    where: str,
    search_config: str = "simple",
    *,
    commit: bool = True,
) -> None:
    """Create or upgrade the schema; refuse newer or foreign schemas untouched.

    ``where`` names the store in error messages; ``conn`` is committed on success,
    unless ``commit`` is false (the caller's transaction, left open).
    ``search_config`` is the text-search configuration a new search index is
    built with; an existing index built with another is refused (`StoreError`).
    """
    with conn.cursor() as cur:
        cur.execute("SELECT current_schema()")
        row = cur.fetchone()
        schema = None if row is None else row[0]
        if schema is None:
            raise StoreError(
                f"{where}: no schema of the search_path exists, so there is "
                "nowhere to create the tables (create the schema, or fix options=-csearch_path)"
            )
        version = _stored_version(cur, schema)
        if version != SCHEMA_VERSION:
            # Serialise migrations between processes; read again under the lock.
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
            version = _stored_version(cur, schema)
            if version is None:
                _refuse_foreign(cur, schema, where)
                cur.execute(
                    "CREATE TABLE ticketflow_migrations ("
                    "version integer PRIMARY KEY, "
                    "applied_at timestamptz NOT NULL DEFAULT now())"
                )
                version = 0
            if version > SCHEMA_VERSION:
                raise StoreError(
                    f"{where} (schema {schema!r}) was written by a newer ticketflow "
                    f"(schema version {version}; this one knows up to {SCHEMA_VERSION}): "
                    "upgrade ticketflow"
                )
            for number in range(version, SCHEMA_VERSION):
                cur.execute(_MIGRATIONS[number])
                _fill(cur, where, search_config, number)
                cur.execute(
                    "INSERT INTO ticketflow_migrations (version) VALUES (%s)",
                    (number + 1,),
                )
        _check_shape(cur, schema, where)
        _check_same_config(cur, where, search_config)
    if commit:
        conn.commit()


def _check_same_config(cur: psycopg.Cursor[tuple[Any, ...]], where: str, config: str) -> None:
    """Refuse to open a search index built with another text-search configuration."""
    cur.execute("SELECT config FROM search_settings")
    row = cur.fetchone()
    if row is not None and row[0] != config:
        raise StoreError(
            f"{where}: its search index was built with the text-search configuration "
            f"{row[0]!r}, not {config!r}: open it with search_config={row[0]!r}"
        )


def _fill(cur: psycopg.Cursor[tuple[Any, ...]], where: str, config: str, number: int) -> None:
    """Fill in what migration ``number`` (to ``number + 1``) added, for the stored tickets."""
    if number == 2:
        _fill_requester_keys(cur)
    elif number == 3:
        _fill_summaries(cur, where)
    elif number in (4, 5):
        _index_text(cur, where, config, search=number == 5)


def _index_text(
    cur: psycopg.Cursor[tuple[Any, ...]], where: str, config: str, *, search: bool
) -> None:
    """Fill the message-id index (schema 5) or the search index and its settings (6)."""
    if search:
        _check_config(cur, where, config)
        cur.execute("INSERT INTO search_settings (config) VALUES (%s)", (config,))
    _fill_text(cur, where, config, message_ids=not search)


def _check_config(cur: psycopg.Cursor[tuple[Any, ...]], where: str, config: str) -> None:
    """Refuse a text-search configuration the server does not have."""
    schema, _, name = config.rpartition(".")
    cur.execute(
        "SELECT 1 FROM pg_ts_config AS c JOIN pg_namespace AS n ON n.oid = c.cfgnamespace "
        "WHERE c.cfgname = %s AND (%s = '' OR n.nspname = %s)",
        (name, schema, schema),
    )
    if cur.fetchone() is None:
        raise StoreError(
            f"{where}: the server has no text-search configuration {config!r} "
            "(see \\dF in psql: simple, english, german...)"
        )


def _fill_text(
    cur: psycopg.Cursor[tuple[Any, ...]], where: str, config: str, *, message_ids: bool
) -> None:
    """Index the message ids (schema 5) or the search text (schema 6) of stored tickets."""
    cur.execute("SELECT id FROM tickets ORDER BY id")
    ids = [r[0] for r in cur.fetchall()]
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        cur.execute(
            "SELECT ticket_id, body::text FROM events WHERE ticket_id = ANY(%s) "
            "ORDER BY ticket_id, position",
            (chunk,),
        )
        bodies: dict[str, list[str]] = {}
        for ticket_id, body in cur.fetchall():
            bodies.setdefault(ticket_id, []).append(body)
        pairs: list[tuple[str, str]] = []
        rows: list[tuple[str, bool, str]] = []
        for ticket_id, texts in bodies.items():
            added = indexed_text(decode_ticket(texts, f"{where}, ticket {ticket_id!r}"), 0)
            pairs.extend((m, ticket_id) for m in added.message_ids)
            rows.extend((ticket_id, r.private, r.text) for r in added.rows)
        if message_ids and pairs:
            cur.executemany(
                "INSERT INTO message_ids (message_id, ticket_id) VALUES (%s, %s) "
                "ON CONFLICT DO NOTHING",
                pairs,
            )
        if not message_ids and rows:
            cur.executemany(
                "INSERT INTO search_docs (ticket_id, private, words) "
                "VALUES (%s, %s, to_tsvector(%s::regconfig, %s))",
                [(tid, private, config, plain_words(text)) for tid, private, text in rows],
            )


def _fill_requester_keys(cur: psycopg.Cursor[tuple[Any, ...]]) -> None:
    """Index the requesters of the tickets stored before schema version 3."""
    cur.execute(
        "SELECT ticket_id, body #>> '{data,requester,email}' FROM events WHERE position = 0"
    )
    updates = [
        (key, ticket_id)
        for ticket_id, email in cur.fetchall()
        if (key := email_key(email)) is not None
    ]
    if updates:
        cur.executemany("UPDATE tickets SET requester_email = %s WHERE id = %s", updates)


def _fill_summaries(cur: psycopg.Cursor[tuple[Any, ...]], where: str) -> None:
    """Write the summaries of the tickets stored before schema version 4 (each rebuilt once)."""
    cur.execute("SELECT id, queue_due, queue_since, queue_rank FROM tickets ORDER BY id")
    keys = {
        r[0]: None if r[2] is None else QueueKey(r[1], r[2], -int(r[3])) for r in cur.fetchall()
    }
    ids = list(keys)
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        cur.execute(
            "SELECT ticket_id, body::text FROM events WHERE ticket_id = ANY(%s) "
            "ORDER BY ticket_id, position",
            (chunk,),
        )
        bodies: dict[str, list[str]] = {}
        for ticket_id, body in cur.fetchall():
            bodies.setdefault(ticket_id, []).append(body)
        rows = []
        for ticket_id, texts in bodies.items():
            ticket = decode_ticket(texts, f"{where}, ticket {ticket_id!r}")
            row = summarize(ticket, keys[ticket_id])
            rows.append(
                (row.created_at, row.updated_at, row.channel, encode_summary(row), ticket_id)
            )
        cur.executemany(
            "UPDATE tickets SET created_at = %s, updated_at = %s, channel = %s, summary = %s "
            "WHERE id = %s",
            rows,
        )


def _stored_version(cur: psycopg.Cursor[tuple[Any, ...]], schema: str) -> int | None:
    """The schema version recorded in ``schema``; None when it has no migrations table."""
    cur.execute(
        "SELECT 1 FROM pg_tables WHERE schemaname = %s AND tablename = %s",
        (schema, _MIGRATIONS_TABLE),
    )
    if cur.fetchone() is None:
        return None
    cur.execute("SELECT coalesce(max(version), 0) FROM ticketflow_migrations")
    row = cur.fetchone()
    return 0 if row is None else int(row[0])


def _refuse_foreign(cur: psycopg.Cursor[tuple[Any, ...]], schema: str, where: str) -> None:
    """Refuse a schema holding tables with our names that ticketflow did not create."""
    cur.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = %s AND tablename = ANY(%s) "
        "ORDER BY tablename",
        (schema, sorted(_SHAPE)),
    )
    taken = [r[0] for r in cur.fetchall()]
    if taken:
        raise StoreError(
            f"{where}: schema {schema!r} already has tables named "
            f"{', '.join(taken)} that ticketflow did not create (it has no "
            f"{_MIGRATIONS_TABLE} table); nothing was changed: use another database "
            "or schema (options=-csearch_path=...)"
        )


def _check_shape(cur: psycopg.Cursor[tuple[Any, ...]], schema: str, where: str) -> None:
    """Refuse tables whose columns are not the ones ticketflow created."""
    cur.execute(
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_schema = %s AND table_name = ANY(%s)",
        (schema, sorted(_SHAPE)),
    )
    found: dict[str, set[str]] = {}
    for table, column in cur.fetchall():
        found.setdefault(table, set()).add(column)
    for table, columns in sorted(_SHAPE.items()):
        missing = columns - found.get(table, set())
        if missing:
            raise StoreError(
                f"{where}: table {schema}.{table} is not the one ticketflow "
                f"created: it lacks column(s) {', '.join(sorted(missing))}; "
                "nothing was changed"
            )
