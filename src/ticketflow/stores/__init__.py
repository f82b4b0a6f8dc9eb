"""Storage backends and the protocol they implement.

`MemoryStore` is built in; SQLite and PostgreSQL backends follow the same
`TicketStore` protocol, and third-party backends need only implement it (and
pass the contract suite in `ticketflow.testing`).
"""

from ._memory import MemoryStore as MemoryStore
from ._protocol import Change as Change
from ._protocol import TicketQuery as TicketQuery
from ._protocol import TicketStore as TicketStore

__all__ = ["Change", "MemoryStore", "TicketQuery", "TicketStore"]
