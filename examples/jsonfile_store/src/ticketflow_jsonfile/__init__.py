"""A ticketflow store keeping one JSON file per ticket in a directory.

The worked example of a third-party backend (see ticketflow's docs page "Write a
storage backend"): it implements `ticketflow.TicketStore`, passes
`ticketflow.testing.contract.StoreContract`, and registers the ``jsonfile`` URL
scheme under the ``ticketflow.stores`` entry-point group, so that once installed::

    from ticketflow import open_store

    store = open_store("jsonfile:////var/lib/helpdesk")  # four slashes: absolute

URLs have the shape of ticketflow's SQLite URLs: ``jsonfile:///relative/dir``,
``jsonfile:////absolute/dir``; ``?fsync=off`` skips fsync (for tests).
"""

from ._store import FORMAT_VERSION as FORMAT_VERSION
from ._store import JsonFileStore as JsonFileStore

__all__ = ["FORMAT_VERSION", "JsonFileStore"]
