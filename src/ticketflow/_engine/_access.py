"""Who is who: matching customers to tickets, and the scope of a handle.

The permission table (`ticketflow.config.HelpdeskConfig.permissions`) says which
commands a role may run; this module says which tickets a person may see. A
customer sees the tickets they requested and those they were made a participant
of by a merge (`ticketflow.Ticket.participants`); a handle's `Scope` may add
their organisation's tickets, or, for an agent, limit the tickets to some
departments.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import final

from .._model import Requester, Ticket, same_person
from .._validate import email_key

__all__ = ["Scope", "is_customer_of", "is_requester", "same_person"]


def is_requester(actor_id: str, requester: Requester) -> bool:
    """Whether the customer ``actor_id`` is ``requester`` (by e-mail, else by name)."""
    key = email_key(requester.email)
    if key is not None:
        return email_key(actor_id) == key
    return actor_id == requester.name


def is_customer_of(actor_id: str, ticket: Ticket) -> bool:
    """Whether the customer ``actor_id`` (an e-mail address, or a name) may see ``ticket``.

    They may when they are its requester, or a participant a merge recorded.
    """
    if is_requester(actor_id, ticket.requester):
        return True
    return any(is_requester(actor_id, p) for p in ticket.participants)


@final
class Scope:
    """The tickets a handle may see and act on.

    A customer's scope (``requester`` given): the tickets that person requested,
    those they are a participant of, and, with ``organisation``, every ticket
    whose requester belongs to that organisation. An agent's scope
    (``departments`` given): the tickets of those departments.
    """

    __slots__ = ("departments", "organisation", "requester")

    def __init__(
        self,
        *,
        requester: Requester | None = None,
        organisation: str | None = None,
        departments: Iterable[str] | None = None,
    ) -> None:
        self.requester = requester
        self.organisation = organisation
        self.departments = None if departments is None else frozenset(departments)

    def sees(self, ticket: Ticket) -> bool:
        """Whether ``ticket`` is in the scope."""
        departments = self.departments
        if departments is not None and ticket.department not in departments:
            return False
        requester = self.requester
        if requester is None:
            return True
        own = ticket.requester
        if same_person(requester, own):
            return True
        organisation = self.organisation
        if organisation is not None and own.organisation == organisation:
            return True
        return any(same_person(requester, p) for p in ticket.participants)
