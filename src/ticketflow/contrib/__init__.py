"""Integrations with application frameworks, each behind its own extra.

`ticketflow.contrib.sqlalchemy` (``ticketflow[sqlalchemy]``) runs a store inside
an SQLAlchemy session's transaction; `ticketflow.contrib.django`
(``ticketflow[django]``) is a Django app: migrations, a store on Django's
connection, settings, the worker command, an admin and test helpers.
"""

__all__: list[str] = []
