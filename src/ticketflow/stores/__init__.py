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
"""

from ._memory import MemoryStore as MemoryStore
from ._postgres import PostgresStore as PostgresStore
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
from ._wakeup import WakeupStore as WakeupStore

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
    "WakeupStore",
    "check_version_step",
    "new_positions",
    "open_store",
    "queue_order",
    "requester_key",
]
