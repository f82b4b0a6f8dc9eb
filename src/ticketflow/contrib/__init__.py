"""Integrations with application frameworks, each behind its own extra.

`ticketflow.contrib.sqlalchemy` (``ticketflow[sqlalchemy]``) runs a store inside
an SQLAlchemy session's transaction.
"""

__all__: list[str] = []
