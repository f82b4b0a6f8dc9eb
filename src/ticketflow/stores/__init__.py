"""Storage backends, the protocol they implement, and `open_store`.

`MemoryStore` and `SQLiteStore` are built in, `PostgresStore` comes with the
``postgres`` extra, and third-party backends need only implement `TicketStore`,
pass the contract suite in `ticketflow.testing`, and register their URL scheme
under the ``ticketflow.stores`` entry-point group.
"""

from ._memory import MemoryStore as MemoryStore
from ._postgres import PostgresStore as PostgresStore
from ._protocol import Change as Change
from ._protocol import IndexUpdate as IndexUpdate
from ._protocol import OutboxEntry as OutboxEntry
from ._protocol import QueueKey as QueueKey
from ._protocol import TicketQuery as TicketQuery
from ._protocol import TicketStore as TicketStore
from ._registry import open_store as open_store
from ._sqlite import SQLiteStore as SQLiteStore

__all__ = [
    "Change",
    "IndexUpdate",
    "MemoryStore",
    "OutboxEntry",
    "PostgresStore",
    "QueueKey",
    "SQLiteStore",
    "TicketQuery",
    "TicketStore",
    "open_store",
]
