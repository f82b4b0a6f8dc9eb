"""What a list shows of a ticket (`TicketSummary`), pages of them, and a customer's search page."""

from __future__ import annotations

from datetime import datetime
from typing import final

import attrs

from ._model import Priority
from ._views import CustomerView
from ._workflow import Category

__all__ = ["CustomerPage", "Page", "TicketSummary"]


@final
@attrs.frozen(kw_only=True, slots=True)
class TicketSummary:
    """One ticket as a list shows it: kept by the store, so listing rebuilds no ticket.

    Built when the ticket is committed (and refreshed by ``reindex``), from the
    ticket and its place in the work queue; read back as it was stored.

    Attributes:
        id: The ticket id.
        subject: The subject (``"[purged]"`` once the ticket is purged).
        requester_name: The requester's name (erased by a purge).
        requester_email: The requester's e-mail address as given, or None.
        status: The status.
        category: The workflow category of the status.
        priority: The `Priority`.
        channel: Where the ticket came from.
        assignee: The agent it is assigned to, or None.
        department: Its department, or None.
        tags: Its tags, sorted.
        created_at: When it was created.
        updated_at: When it last changed.
        last_customer_activity_at: The customer's last message (or the creation).
        last_agent_activity_at: The last public agent reply, or None.
        sla_due: The nearest due time of its running SLA clocks (past when
            breached), or None when it is not waiting on an agent or no clock runs.
        waiting_since: Since when the customer has been waiting for an agent, or
            None when the ticket is not waiting on one (not in the work queue).
        message_count: How many messages its thread holds, internal notes
            included (an agent's count; customer views must not show it).
    """

    id: str
    subject: str
    requester_name: str
    requester_email: str | None
    status: str
    category: Category
    priority: Priority
    channel: str
    assignee: str | None
    department: str | None
    tags: tuple[str, ...]
    created_at: datetime
    updated_at: datetime
    last_customer_activity_at: datetime | None
    last_agent_activity_at: datetime | None
    sla_due: datetime | None
    waiting_since: datetime | None
    message_count: int


@final
@attrs.frozen(kw_only=True, slots=True)
class Page:
    """One page of ``Helpdesk.list``.

    Attributes:
        items: The summaries, in the list's order.
        next_cursor: Pass it as ``cursor=`` (with the same sort and filters) for
            the next page; None on the last page.
    """

    items: tuple[TicketSummary, ...]
    next_cursor: str | None


@final
@attrs.frozen(kw_only=True, slots=True)
class CustomerPage:
    """One page of a customer's search (``CustomerHandle.search``).

    Attributes:
        items: What the customer may see of each ticket found, best match first.
        next_cursor: Pass it as ``cursor=`` (with the same text and filters) for
            the next page; None on the last page.
    """

    items: tuple[CustomerView, ...]
    next_cursor: str | None
