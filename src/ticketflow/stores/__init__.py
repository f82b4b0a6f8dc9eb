"""Storage backends, the protocol they implement, and `open_store`.

`MemoryStore` and `SQLiteStore` are built in, `PostgresStore` comes with the
``postgres`` extra, and third-party backends need only implement `TicketStore`,
pass the contract suite in `ticketflow.testing`, and register their URL scheme
under the ``ticketflow.stores`` entry-point group. The built-in stores' helpers
are theirs too: `check_version_step` (a malformed change), `new_positions` (the
events a commit added), `queue_order` (the work queue's sort key) and
`requester_key` (what the requester index holds for a ticket). `WakeupStore` is
an optional capability: a store that wakes a waiting worker when a commit brings
work nearer (PostgreSQL with ``LISTEN``/``NOTIFY``, the memory store in-process).

For `ticketflow.AsyncHelpdesk`, `AsyncTicketStore` is the same contract with
coroutine methods: `AsyncMemoryStore`, `AsyncSQLiteStore` (a thread owns the
connection) and `AsyncPostgresStore` (psycopg's async pool).
Two more optional capabilities index a ticket's text: `MessageIdStore` (stored
message ids, for e-mail threading) and `SearchStore` (``Helpdesk.search``,
answering a `SearchQuery`); both are fed by `indexed_text` (`IndexedText`:
message ids and `TextRow` values) in the commit's transaction, and `TextIndex`
is an in-memory inverted index a backend may use. `StreamStore` streams every
ticket in bounded memory (for reports); `stream_tickets` uses it, or a fallback
for a store without it.
"""

from ._async import AsyncMemoryStore as AsyncMemoryStore
from ._async import AsyncSQLiteStore as AsyncSQLiteStore
from ._async import AsyncTicketStore as AsyncTicketStore
from ._memory import MemoryStore as MemoryStore
from ._postgres import PostgresStore as PostgresStore
from ._postgres_async import AsyncPostgresStore as AsyncPostgresStore
from ._protocol import Change as Change
from ._protocol import IndexUpdate as IndexUpdate
from ._protocol import OutboxEntry as OutboxEntry
from ._protocol import QueueKey as QueueKey
from ._protocol import TicketQuery as TicketQuery
from ._protocol import TicketStore as TicketStore
from ._protocol import check_version_step as check_version_step
from ._protocol import new_positions as new_positions
from ._protocol import queue_order as queue_order
from ._protocol import requester_key as requester_key
from ._registry import open_store as open_store
from ._sqlite import SQLiteStore as SQLiteStore
from ._stream import StreamStore as StreamStore
from ._stream import stream_tickets as stream_tickets
from ._text import IndexedText as IndexedText
from ._text import MessageIdStore as MessageIdStore
from ._text import SearchQuery as SearchQuery
from ._text import SearchStore as SearchStore
from ._text import TextIndex as TextIndex
from ._text import TextRow as TextRow
from ._text import indexed_text as indexed_text
from ._wakeup import WakeupStore as WakeupStore

__all__ = [
    "AsyncMemoryStore",
    "AsyncPostgresStore",
    "AsyncSQLiteStore",
    "AsyncTicketStore",
    "Change",
    "IndexUpdate",
    "IndexedText",
    "MemoryStore",
    "MessageIdStore",
    "OutboxEntry",
    "PostgresStore",
    "QueueKey",
    "SQLiteStore",
    "SearchQuery",
    "SearchStore",
    "StreamStore",
    "TextIndex",
    "TextRow",
    "TicketQuery",
    "TicketStore",
    "WakeupStore",
    "check_version_step",
    "indexed_text",
    "new_positions",
    "open_store",
    "queue_order",
    "requester_key",
    "stream_tickets",
]
