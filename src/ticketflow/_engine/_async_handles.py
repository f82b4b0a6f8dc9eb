"""Async scoped handles: `AsyncHelpdesk.for_customer` and `AsyncHelpdesk.for_agent`.

The twins of `CustomerHandle` and `AgentHandle` (`_handles`), with the same
methods, arguments, scopes, permission checks and results, as coroutines. The
commands are `_handles._Commands` (the command value is built, and its
arguments checked, when the method is called; the store work runs when it is
awaited), run by the async pipeline as the handle's actor within its scope;
the reads are `_handles`' own `Steps` functions, driven by `adrive`. Nothing of
the scoping or authorisation is written here.
"""

from __future__ import annotations

from collections.abc import Coroutine, Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar, final

from .._model import Actor, Event, Priority, Requester, Role, Ticket
from .._summary import CustomerPage
from .._views import CustomerView, customer_view
from .._workflow import Category
from ..commands import Command, Open
from ._access import Scope
from ._handles import (
    _Commands,
    agent_find,
    agent_next_due,
    agent_sla_state,
    check_open_department,
    customer_find,
    customer_scope,
    customer_search,
    queue_department,
    scoped_allowed,
    scoped_ticket,
)
from ._helpdesk import _STEPS
from ._steps import Steps, adrive

if TYPE_CHECKING:
    from ..rules import Due
    from ..sla import SlaState
    from ._async import AsyncHelpdesk
    from ._helpdesk import Helpdesk

__all__ = ["AsyncAgentHandle", "AsyncCustomerHandle"]

_T = TypeVar("_T")
_V = TypeVar("_V")


class _AsyncHandle(_Commands[Coroutine[Any, Any, _T]]):
    """An async handle: commands through the async pipeline, reads driven by `adrive`."""

    __slots__ = ("_actor", "_core", "_desk", "_scope")

    _desk: AsyncHelpdesk
    _core: Helpdesk
    _scope: Scope | None

    def _out(self, ticket: Ticket) -> _T:
        raise NotImplementedError

    def _run(self, command: Command) -> Coroutine[Any, Any, _T]:
        return self._execute(command)

    async def _execute(self, command: Command) -> _T:
        steps = _STEPS[type(command)](self._core, command, self._actor, self._scope)
        return self._out(await self._drive(steps))

    async def _drive(self, steps: Steps[_V]) -> _V:
        return await adrive(self._desk.store, steps)

    async def get(self, ticket_id: str) -> _T:
        """Return the ticket.

        Raises:
            TicketNotFound: no such ticket in the scope.
        """
        return self._out(await self._drive(scoped_ticket(self._core, self._scope, ticket_id)))

    async def allowed(self, ticket_id: str) -> tuple[str, ...]:
        """Return the commands the handle may run on the ticket now, sorted (as the sync handle).

        Raises:
            TicketNotFound: no such ticket in the scope.
        """
        return await self._drive(scoped_allowed(self._core, self._actor, self._scope, ticket_id))


@final
class AsyncCustomerHandle(_AsyncHandle[CustomerView]):
    """`CustomerHandle` for asyncio (`AsyncHelpdesk.for_customer`).

    The same commands (awaited), scope and `CustomerView` results: it reads and
    acts only on the tickets this customer requested, was made a participant
    of, or (with ``organisation_visibility``) their organisation's; any other
    id raises `TicketNotFound`, as an unknown one does.

    Example:
        >>> import asyncio
        >>> from ticketflow import AsyncHelpdesk, FakeClock
        >>> async def main() -> list[str]:
        ...     async with AsyncHelpdesk(clock=FakeClock()) as desk:
        ...         ann = desk.for_customer("ann@example.com")
        ...         view = await ann.open_ticket(subject="VPN down")
        ...         await ann.customer_reply(view.id, "Still down")
        ...         return [m.body for m in (await ann.get(view.id)).messages]
        >>> asyncio.run(main())
        ['Still down']
    """

    __slots__ = ("_requester",)

    def __init__(self, desk: AsyncHelpdesk, core: Helpdesk, requester: Requester) -> None:
        """Build it through `AsyncHelpdesk.for_customer`."""
        self._desk = desk
        self._core = core
        self._requester = requester
        self._actor, self._scope = customer_scope(core, requester)

    def _out(self, ticket: Ticket) -> CustomerView:
        return customer_view(ticket, show_assignment=False)

    @property
    def requester(self) -> Requester:
        """The customer."""
        return self._requester

    async def open_ticket(
        self,
        *,
        subject: str,
        description: str = "",
        channel: str = "portal",
        parent_id: str | None = None,
    ) -> CustomerView:
        """Open a ticket in the customer's name (`CustomerHandle.open_ticket`)."""
        command = Open(
            subject=subject,
            requester=self._requester,
            description=description,
            channel=channel,
            parent_id=parent_id,
        )
        return await self._execute(command)

    async def timeline(self, ticket_id: str) -> tuple[Any, ...]:
        """Return the ticket's public events, oldest first (`CustomerHandle.timeline`)."""
        return (await self.get(ticket_id)).events

    async def find(
        self,
        *,
        status: str | Iterable[str] | None = None,
        category: Category | str | Iterable[Category | str] | None = None,
        limit: int | None = None,
    ) -> list[CustomerView]:
        """Return the tickets this customer requested, oldest first (`CustomerHandle.find`)."""
        scope = self._scope
        assert scope is not None  # noqa: S101 - a customer handle always has one
        steps = customer_find(
            self._core, self._actor, scope, status=status, category=category, limit=limit
        )
        return [self._out(t) for t in await self._drive(steps)]

    async def search(
        self,
        text: str,
        *,
        status: str | Iterable[str] | None = None,
        category: Category | str | Iterable[Category | str] | None = None,
        limit: int = 20,
        cursor: str | None = None,
    ) -> CustomerPage:
        """Search the customer's own tickets in their public text (`CustomerHandle.search`).

        Raises:
            InvalidInputError: as `Helpdesk.search`.
        """
        scope = self._scope
        assert scope is not None  # noqa: S101 - a customer handle always has one
        steps = customer_search(
            self._core,
            self._actor,
            scope,
            text,
            status=status,
            category=category,
            limit=limit,
            cursor=cursor,
        )
        tickets, next_cursor = await self._drive(steps)
        return CustomerPage(items=tuple(self._out(t) for t in tickets), next_cursor=next_cursor)

    def __repr__(self) -> str:
        return f"AsyncCustomerHandle({self._actor.id!r})"


@final
class AsyncAgentHandle(_AsyncHandle[Ticket]):
    """`AgentHandle` for asyncio (`AsyncHelpdesk.for_agent`).

    The same commands (awaited), department scope and full-ticket results.
    """

    __slots__ = ("_departments",)

    def __init__(
        self,
        desk: AsyncHelpdesk,
        core: Helpdesk,
        agent_id: str,
        departments: frozenset[str] | None,
    ) -> None:
        """Build it through `AsyncHelpdesk.for_agent`."""
        self._desk = desk
        self._core = core
        self._actor = Actor(agent_id, Role.AGENT)
        self._departments = departments
        self._scope = None if departments is None else Scope(departments=departments)

    def _out(self, ticket: Ticket) -> Ticket:
        return ticket

    @property
    def departments(self) -> frozenset[str] | None:
        """The departments it is limited to, or ``None`` for all."""
        return self._departments

    async def open_ticket(
        self,
        *,
        subject: str,
        requester: Requester,
        description: str = "",
        priority: Priority | str = Priority.NORMAL,
        channel: str = "email",
        assignee: str | None = None,
        department: str | None = None,
        tags: Iterable[str] = (),
        custom_fields: Mapping[str, Any] | None = None,
        parent_id: str | None = None,
    ) -> Ticket:
        """Open a ticket on a customer's behalf (`AgentHandle.open_ticket`)."""
        command = Open(
            subject=subject,
            requester=requester,
            description=description,
            priority=priority,
            channel=channel,
            assignee=assignee,
            department=department,
            tags=tags,
            custom_fields=custom_fields,
            parent_id=parent_id,
        )
        check_open_department(self._actor, self._departments, department)
        return await self._execute(command)

    async def timeline(self, ticket_id: str) -> tuple[Event, ...]:
        """Return the ticket's events, oldest first (`AgentHandle.timeline`)."""
        return tuple((await self.get(ticket_id)).timeline)

    async def find(
        self,
        *,
        status: str | Iterable[str] | None = None,
        category: Category | str | Iterable[Category | str] | None = None,
        assignee: str | None = None,
        department: str | None = None,
        priority: Priority | str | None = None,
        tag: str | None = None,
        requester: str | None = None,
        limit: int | None = None,
    ) -> list[Ticket]:
        """Return the tickets in the scope matching every criterion (`AgentHandle.find`)."""
        criteria: dict[str, Any] = {
            "status": status,
            "category": category,
            "assignee": assignee,
            "priority": priority,
            "tag": tag,
            "requester": requester,
        }
        steps = agent_find(
            self._core, self._departments, department=department, limit=limit, criteria=criteria
        )
        return await self._drive(steps)

    async def queue(self, *, department: str | None = None, limit: int = 50) -> list[Ticket]:
        """Return the tickets waiting on an agent, most urgent first (`AgentHandle.queue`).

        Raises:
            InvalidInputError: ``department`` is needed, or outside the departments.
        """
        department = queue_department(self._departments, department)
        return await self._desk.queue(department=department, limit=limit)

    async def next_due(self, ticket_id: str) -> Due | None:
        """Return what the ticket has due next (`AgentHandle.next_due`)."""
        return await self._drive(agent_next_due(self._core, self._scope, ticket_id))

    async def sla_state(self, ticket_id: str, now: datetime | None = None) -> SlaState:
        """Return the ticket's SLA state (`AgentHandle.sla_state`)."""
        return await self._drive(agent_sla_state(self._core, self._scope, ticket_id, now))

    def __repr__(self) -> str:
        return f"AsyncAgentHandle({self._actor.id!r}, departments={self._departments!r})"
