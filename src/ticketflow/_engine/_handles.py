"""Scoped handles: the help desk as one customer, or one agent, may use it.

`Helpdesk.for_customer` and `Helpdesk.for_agent` return them. A handle has the
help desk's commands and queries without ``by``: every command runs as the
handle's actor through the same pipeline (the permission table, the policy
hook), and every ticket id is checked against the handle's scope first. A ticket
outside the scope is answered with `TicketNotFound`, exactly as an id that does
not exist, so a handle never shows another ticket, nor that one exists.

`AsyncHelpdesk.for_customer` and `AsyncHelpdesk.for_agent` return their async
twins (`_async_handles`): the commands are `_Commands` (one definition, the
handle's ``_run`` says how a command value is run), and every scoped read is a
`Steps` function here (`scoped_ticket`, `customer_find`, `customer_search`,
`agent_find`, ...), driven by `drive` for these handles and by `adrive` for
the async ones, so the scoping and authorisation logic exists once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, Generic, TypeVar, final

from .. import _validate
from .._model import Actor, Event, Priority, Requester, Role, Ticket
from .._summary import CustomerPage
from .._validate import email_key
from .._views import CustomerView, customer_view
from .._workflow import Category
from ..commands import (
    KEEP,
    AddTags,
    AgentReply,
    Assign,
    Close,
    Command,
    Confirm,
    CustomerReply,
    Delete,
    Fire,
    Keep,
    Merge,
    Note,
    Open,
    Postpone,
    Purge,
    RemoveTags,
    Reopen,
    Resolve,
    Restore,
    SetField,
    SetPriority,
    Spam,
    Wake,
)
from ..exceptions import InvalidInputError, PermissionDenied, TicketNotFound
from . import _queries, _search
from ._access import Scope
from ._steps import Steps, drive

if TYPE_CHECKING:
    from ..rules import Due
    from ..sla import SlaState
    from ._helpdesk import Helpdesk

__all__ = [
    "AgentHandle",
    "CustomerHandle",
    "agent_departments",
    "agent_find",
    "agent_next_due",
    "agent_sla_state",
    "check_open_department",
    "customer_find",
    "customer_requester",
    "customer_scope",
    "customer_search",
    "queue_department",
    "scoped_allowed",
    "scoped_ticket",
]

_T = TypeVar("_T")
_R = TypeVar("_R")
_V = TypeVar("_V")


# --- the scoping and authorisation logic, once for sync and async handles -----------------


def customer_scope(desk: Helpdesk, requester: Requester) -> tuple[Actor, Scope]:
    """The actor a customer handle runs as and the scope it sees."""
    email = requester.email
    assert email is not None  # noqa: S101 - customer_requester refuses a requester without one
    organisation = requester.organisation if desk.config.organisation_visibility else None
    return Actor(email, Role.CUSTOMER), Scope(requester=requester, organisation=organisation)


def scoped_ticket(desk: Helpdesk, scope: Scope | None, ticket_id: str) -> Steps[Ticket]:
    """The ticket, if it is in the scope; else `TicketNotFound`, as for an unknown id."""
    ticket = yield from _queries.get(desk, ticket_id)
    if scope is not None and not scope.sees(ticket):
        raise TicketNotFound(ticket_id)
    return ticket


def scoped_allowed(
    desk: Helpdesk, actor: Actor, scope: Scope | None, ticket_id: str
) -> Steps[tuple[str, ...]]:
    """The commands ``actor`` may run on the ticket now (a handle's ``allowed``)."""
    yield from scoped_ticket(desk, scope, ticket_id)
    mine = desk.config.permissions[actor.role]
    allowed = yield from _queries.allowed(desk, ticket_id)
    return tuple(name for name in allowed if name in mine)


def customer_find(
    desk: Helpdesk,
    actor: Actor,
    scope: Scope,
    *,
    status: str | Iterable[str] | None,
    category: Category | str | Iterable[Category | str] | None,
    limit: int | None,
) -> Steps[list[Ticket]]:
    """The tickets the customer requested, in the scope, oldest first (``find``)."""
    tickets = yield from _queries.find(
        desk,
        status=status,
        category=category,
        assignee=None,
        department=None,
        priority=None,
        tag=None,
        requester=actor.id,
        limit=limit,
    )
    return [t for t in tickets if scope.sees(t)]


def customer_search(
    desk: Helpdesk,
    actor: Actor,
    scope: Scope,
    text: object,
    *,
    status: object,
    category: object,
    limit: object,
    cursor: object,
) -> Steps[tuple[list[Ticket], str | None]]:
    """The customer's own tickets matching ``text`` in public text, and the next cursor."""
    email = actor.id
    hits, next_cursor = yield from _search.search_hits(
        desk,
        text,
        limit=limit,
        cursor=cursor,
        filters={"status": status, "category": category, "requester": email},
        public_only=True,
        scope=f"customer:{email}",
    )
    tickets = []
    for row, _ in hits:
        ticket = yield from _queries.get(desk, row.id)
        if scope.sees(ticket):
            tickets.append(ticket)
    return tickets, next_cursor


def check_open_department(
    actor: Actor, departments: frozenset[str] | None, department: str | None
) -> None:
    """Refuse an agent handle's ``open_ticket`` outside its departments (`PermissionDenied`)."""
    if departments is not None and department not in departments:
        raise PermissionDenied(
            actor=actor,
            command="open",
            reason=f"department {department!r} is not one of {sorted(departments)}",
        )


def agent_find(
    desk: Helpdesk,
    departments: frozenset[str] | None,
    *,
    department: str | None,
    limit: int | None,
    criteria: Mapping[str, Any],
) -> Steps[list[Ticket]]:
    """An agent handle's ``find``: with departments, only theirs, oldest first."""
    if departments is None:
        found: list[Ticket] = yield from _queries.find(
            desk, **criteria, department=department, limit=limit
        )
        return found
    _validate.optional_limit(limit)
    wanted = sorted(departments) if department is None else [department]
    found = []
    for d in wanted:
        if d in departments:
            found.extend((yield from _queries.find(desk, **criteria, department=d, limit=limit)))
    found.sort(key=lambda t: (t.created_at, t.id))
    return found if limit is None else found[:limit]


def agent_next_due(desk: Helpdesk, scope: Scope | None, ticket_id: str) -> Steps[Due | None]:
    """What a ticket in the scope has due next (an agent handle's ``next_due``)."""
    yield from scoped_ticket(desk, scope, ticket_id)
    due: Due | None = yield from _queries.next_due(desk, ticket_id)
    return due


def agent_sla_state(
    desk: Helpdesk, scope: Scope | None, ticket_id: str, now: datetime | None
) -> Steps[SlaState]:
    """The SLA state of a ticket in the scope (an agent handle's ``sla_state``)."""
    yield from scoped_ticket(desk, scope, ticket_id)
    state: SlaState = yield from _queries.sla_state(desk, ticket_id, now)
    return state


def queue_department(departments: frozenset[str] | None, department: str | None) -> str | None:
    """The department an agent handle's ``queue`` reads.

    Raises:
        InvalidInputError: ``department`` is needed, or outside the departments.
    """
    if departments is not None:
        if department is None and len(departments) == 1:
            (department,) = departments
        if department not in departments:
            raise InvalidInputError(
                f"department must be one of {sorted(departments)}, got {department!r}",
                field="department",
            )
    return department


# --- the commands every handle has ----------------------------------------------------------


class _Commands(Generic[_R]):
    """The commands every handle has, run as its actor within its scope.

    ``_R`` is what ``_run`` returns for a command value: a `CustomerView` or a
    `Ticket` for the sync handles, an awaitable of one for the async ones. The
    command value is built (and its arguments checked) when the method is
    called.
    """

    __slots__ = ()

    _actor: Actor

    def _run(self, command: Command) -> _R:
        raise NotImplementedError

    @property
    def actor(self) -> Actor:
        """Who the handle's commands are recorded as."""
        return self._actor

    # --- commands: as the `Helpdesk` methods of the same names, without ``by`` -----------

    def agent_reply(self, ticket_id: str, body: str) -> _R:
        """Record a public agent reply (`Helpdesk.agent_reply`)."""
        return self._run(AgentReply(ticket_id=ticket_id, body=body))

    def add_note(self, ticket_id: str, body: str) -> _R:
        """Add an internal note (`Helpdesk.add_note`)."""
        return self._run(Note(ticket_id=ticket_id, body=body))

    def customer_reply(self, ticket_id: str, body: str) -> _R:
        """Record a customer reply; return the ticket it landed on (`Helpdesk.customer_reply`)."""
        return self._run(CustomerReply(ticket_id=ticket_id, body=body))

    def assign(
        self,
        ticket_id: str,
        agent: str | None | Keep = KEEP,
        *,
        department: str | None | Keep = KEEP,
    ) -> _R:
        """Assign the ticket to an agent and/or a department (`Helpdesk.assign`)."""
        return self._run(Assign(ticket_id=ticket_id, agent=agent, department=department))

    def set_priority(self, ticket_id: str, priority: Priority | str) -> _R:
        """Change the priority (`Helpdesk.set_priority`)."""
        return self._run(SetPriority(ticket_id=ticket_id, priority=priority))

    def add_tags(self, ticket_id: str, *tags: str) -> _R:
        """Add tags (`Helpdesk.add_tags`)."""
        return self._run(AddTags(ticket_id=ticket_id, tags=tags))

    def remove_tags(self, ticket_id: str, *tags: str) -> _R:
        """Remove tags (`Helpdesk.remove_tags`)."""
        return self._run(RemoveTags(ticket_id=ticket_id, tags=tags))

    def set_field(self, ticket_id: str, name: str, value: Any) -> _R:
        """Set a custom field (`Helpdesk.set_field`)."""
        _validate.text(name, "name", allow_empty=False)
        return self._run(SetField(ticket_id=ticket_id, field=name, value=value))

    def resolve(self, ticket_id: str) -> _R:
        """Resolve the ticket (`Helpdesk.resolve`)."""
        return self._run(Resolve(ticket_id=ticket_id))

    def reopen(self, ticket_id: str) -> _R:
        """Reopen a resolved ticket (`Helpdesk.reopen`)."""
        return self._run(Reopen(ticket_id=ticket_id))

    def close(self, ticket_id: str) -> _R:
        """Close the ticket (`Helpdesk.close`)."""
        return self._run(Close(ticket_id=ticket_id))

    def confirm_resolution(self, ticket_id: str, rating: int | None = None) -> _R:
        """Confirm a resolved ticket is solved (`Helpdesk.confirm_resolution`)."""
        return self._run(Confirm(ticket_id=ticket_id, rating=rating))

    def postpone(self, ticket_id: str, until: datetime) -> _R:
        """Postpone the ticket until ``until`` (`Helpdesk.postpone`)."""
        return self._run(Postpone(ticket_id=ticket_id, until=until))

    def wake(self, ticket_id: str) -> _R:
        """Wake a postponed ticket (`Helpdesk.wake`)."""
        return self._run(Wake(ticket_id=ticket_id))

    def mark_spam(self, ticket_id: str) -> _R:
        """Mark the ticket as spam (`Helpdesk.mark_spam`)."""
        return self._run(Spam(ticket_id=ticket_id))

    def delete(self, ticket_id: str) -> _R:
        """Delete the ticket softly (`Helpdesk.delete`)."""
        return self._run(Delete(ticket_id=ticket_id))

    def restore(self, ticket_id: str) -> _R:
        """Restore a deleted or spam ticket (`Helpdesk.restore`)."""
        return self._run(Restore(ticket_id=ticket_id))

    def fire(self, ticket_id: str, trigger: str) -> _R:
        """Fire a trigger of the workflow (`Helpdesk.fire`)."""
        return self._run(Fire(ticket_id=ticket_id, trigger=trigger))

    def merge(self, source_id: str, into_id: str, *, allow_other_requester: bool = False) -> _R:
        """Merge ``source_id`` into ``into_id``; return the target (`Helpdesk.merge`).

        Both tickets must be in the scope.
        """
        return self._run(
            Merge(ticket_id=source_id, into_id=into_id, allow_other_requester=allow_other_requester)
        )

    def purge(self, ticket_id: str) -> _R:
        """Erase the ticket's personal data (`Helpdesk.purge`)."""
        return self._run(Purge(ticket_id=ticket_id))


class _Handle(_Commands[_T]):
    """A sync handle: commands through `Helpdesk`'s own path, reads driven on its store."""

    __slots__ = ("_actor", "_desk", "_scope")

    _desk: Helpdesk
    _scope: Scope | None

    def _out(self, ticket: Ticket) -> _T:
        raise NotImplementedError

    def _run(self, command: Command) -> _T:
        return self._out(self._desk._execute_as(command, self._actor, self._scope))  # noqa: SLF001

    def _drive(self, steps: Steps[_V]) -> _V:
        return drive(self._desk._store, steps)  # noqa: SLF001

    def _ticket(self, ticket_id: str) -> Ticket:
        """The ticket, if it is in the scope; else `TicketNotFound`, as for an unknown id."""
        return self._drive(scoped_ticket(self._desk, self._scope, ticket_id))

    # --- queries ---------------------------------------------------------------------

    def get(self, ticket_id: str) -> _T:
        """Return the ticket.

        Raises:
            TicketNotFound: no such ticket in the scope.
        """
        return self._out(self._ticket(ticket_id))

    def allowed(self, ticket_id: str) -> tuple[str, ...]:
        """Return the commands the handle may run on the ticket now, sorted.

        The workflow's `Helpdesk.allowed`, less what the permission table refuses
        the handle's role (the policy hook is not asked).

        Raises:
            TicketNotFound: no such ticket in the scope.
        """
        return self._drive(scoped_allowed(self._desk, self._actor, self._scope, ticket_id))


@final
class CustomerHandle(_Handle[CustomerView]):
    """The help desk as one customer may use it (`Helpdesk.for_customer`).

    Its commands run as ``Actor(email, Role.CUSTOMER)`` through the permission
    table (by default a customer opens, replies and confirms; `resolve` and the
    other agent commands raise `PermissionDenied`). It reads and acts only on
    the tickets this customer requested, those a merge made them a participant
    of, and, when the configuration sets ``organisation_visibility``, those of
    their organisation's other requesters; any other id raises `TicketNotFound`.
    Reads and commands return `CustomerView` values, never tickets.

    Example:
        >>> from ticketflow import FakeClock, Helpdesk
        >>> desk = Helpdesk(clock=FakeClock())
        >>> ann = desk.for_customer("ann@example.com")
        >>> view = ann.open_ticket(subject="VPN down")
        >>> view = ann.customer_reply(view.id, "Still down")
        >>> [m.body for m in ann.get(view.id).messages] == ["Still down"]
        True
    """

    __slots__ = ("_requester", "_show_assignment")

    def __init__(self, desk: Helpdesk, requester: Requester) -> None:
        """Build it through `Helpdesk.for_customer`."""
        self._desk = desk
        self._requester = requester
        self._actor, self._scope = customer_scope(desk, requester)
        self._show_assignment = False

    def _out(self, ticket: Ticket) -> CustomerView:
        return customer_view(ticket, show_assignment=self._show_assignment)

    @property
    def requester(self) -> Requester:
        """The customer."""
        return self._requester

    def open_ticket(
        self,
        *,
        subject: str,
        description: str = "",
        channel: str = "portal",
        parent_id: str | None = None,
    ) -> CustomerView:
        """Open a ticket in the customer's name (`Helpdesk.open_ticket`).

        Priority, assignment, tags and custom fields are the agents' to set.

        Raises:
            InvalidInputError: an argument is invalid.
            TicketNotFound: ``parent_id`` names no ticket this customer may see.
            PermissionDenied: customers may not open tickets (permission table).
        """
        return self._run(
            Open(
                subject=subject,
                requester=self._requester,
                description=description,
                channel=channel,
                parent_id=parent_id,
            )
        )

    def timeline(self, ticket_id: str) -> tuple[Any, ...]:
        """Return the ticket's public events, oldest first (the view's ``events``).

        Raises:
            TicketNotFound: no such ticket in the scope.
        """
        return self.get(ticket_id).events

    def find(
        self,
        *,
        status: str | Iterable[str] | None = None,
        category: Category | str | Iterable[Category | str] | None = None,
        limit: int | None = None,
    ) -> list[CustomerView]:
        """Return the tickets this customer requested ("my tickets"), oldest first.

        Read through the store's requester index (`Helpdesk.find` with
        ``requester``); the tickets they see only as a participant or through
        their organisation are not listed, but `get` reads them.
        """
        scope = self._scope
        assert scope is not None  # noqa: S101 - a customer handle always has one
        steps = customer_find(
            self._desk, self._actor, scope, status=status, category=category, limit=limit
        )
        return [self._out(t) for t in self._drive(steps)]

    def search(
        self,
        text: str,
        *,
        status: str | Iterable[str] | None = None,
        category: Category | str | Iterable[Category | str] | None = None,
        limit: int = 20,
        cursor: str | None = None,
    ) -> CustomerPage:
        """Search the tickets this customer requested, in their public text only.

        As `Helpdesk.search`, restricted to the tickets `find` lists (those
        the customer requested) and to what the customer may read: the
        subject, the description, the requester and the public messages.
        Private notes never make a ticket match, nor change its rank.

        Args:
            text: What to look for (see `Helpdesk.search`).
            status: A status name or several.
            category: A `Category` or several.
            limit: At most this many tickets (1 to 1,000).
            cursor: The ``next_cursor`` of the previous page of the same search.

        Raises:
            InvalidInputError: as `Helpdesk.search`.
        """
        scope = self._scope
        assert scope is not None  # noqa: S101 - a customer handle always has one
        steps = customer_search(
            self._desk,
            self._actor,
            scope,
            text,
            status=status,
            category=category,
            limit=limit,
            cursor=cursor,
        )
        tickets, next_cursor = self._drive(steps)
        views = tuple(self._out(t) for t in tickets)
        return CustomerPage(items=views, next_cursor=next_cursor)

    def __repr__(self) -> str:
        return f"CustomerHandle({self._actor.id!r})"


@final
class AgentHandle(_Handle[Ticket]):
    """The help desk as one agent may use it (`Helpdesk.for_agent`).

    Its commands run as ``Actor(agent_id, Role.AGENT)`` through the permission
    table and the policy hook. With ``departments``, it reads and acts only on
    the tickets of those departments: any other id raises `TicketNotFound`, and
    it opens tickets in those departments only. Reads return full tickets.

    Example:
        >>> from ticketflow import FakeClock, Helpdesk, Requester
        >>> desk = Helpdesk(clock=FakeClock())
        >>> t = desk.open_ticket(subject="VPN", requester=Requester(name="Ann"), department="it")
        >>> bob = desk.for_agent("bob", departments=["it"])
        >>> bob.agent_reply(t.id, "Restarting it").timeline[-1].actor.id
        'bob'
    """

    __slots__ = ("_departments",)

    def __init__(self, desk: Helpdesk, agent_id: str, departments: frozenset[str] | None) -> None:
        """Build it through `Helpdesk.for_agent`."""
        self._desk = desk
        self._actor = Actor(agent_id, Role.AGENT)
        self._departments = departments
        self._scope = None if departments is None else Scope(departments=departments)

    def _out(self, ticket: Ticket) -> Ticket:
        return ticket

    @property
    def departments(self) -> frozenset[str] | None:
        """The departments it is limited to, or ``None`` for all."""
        return self._departments

    def open_ticket(
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
        """Open a ticket on a customer's behalf (`Helpdesk.open_ticket`).

        Raises:
            PermissionDenied: ``department`` is outside the handle's departments
                (with departments, it must be given).
            TicketNotFound: ``parent_id`` names no ticket in the scope.
        """
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
        return self._run(command)

    def timeline(self, ticket_id: str) -> tuple[Event, ...]:
        """Return the ticket's events, oldest first (`Helpdesk.timeline`).

        Raises:
            TicketNotFound: no such ticket in the scope.
        """
        return tuple(self._ticket(ticket_id).timeline)

    def find(
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
        """Return the tickets in the scope matching every criterion, oldest first.

        As `Helpdesk.find`; with departments, only theirs (a ``department``
        outside them finds nothing).
        """
        criteria: dict[str, Any] = {
            "status": status,
            "category": category,
            "assignee": assignee,
            "priority": priority,
            "tag": tag,
            "requester": requester,
        }
        steps = agent_find(
            self._desk, self._departments, department=department, limit=limit, criteria=criteria
        )
        return self._drive(steps)

    def queue(self, *, department: str | None = None, limit: int = 50) -> list[Ticket]:
        """Return the tickets waiting on an agent, most urgent first (`Helpdesk.queue`).

        With departments, ``department`` must be one of them; it may be left out
        when there is only one.

        Raises:
            InvalidInputError: ``department`` is needed, or outside the departments.
        """
        department = queue_department(self._departments, department)
        return self._desk.queue(department=department, limit=limit)

    def next_due(self, ticket_id: str) -> Due | None:
        """Return what the ticket has due next (`Helpdesk.next_due`).

        Raises:
            TicketNotFound: no such ticket in the scope.
        """
        return self._drive(agent_next_due(self._desk, self._scope, ticket_id))

    def sla_state(self, ticket_id: str, now: datetime | None = None) -> SlaState:
        """Return the ticket's SLA state (`Helpdesk.sla_state`).

        Raises:
            TicketNotFound: no such ticket in the scope.
        """
        return self._drive(agent_sla_state(self._desk, self._scope, ticket_id, now))

    def __repr__(self) -> str:
        return f"AgentHandle({self._actor.id!r}, departments={self._departments!r})"


def customer_requester(who: str | Requester) -> Requester:
    """The requester a customer handle is for: an e-mail address, or a `Requester` with one.

    Raises:
        InvalidInputError: not a non-blank address, or a requester without one.
    """
    if isinstance(who, Requester):
        if email_key(who.email) is None:
            raise InvalidInputError(
                "a customer handle needs the requester's e-mail address (a name proves "
                "nothing about who is asking)",
                field="requester",
            )
        return who
    _validate.text(who, "requester", allow_empty=False)
    if email_key(who) is None:
        raise InvalidInputError("requester must be an e-mail address", field="requester")
    return Requester(email=who.strip())


def agent_departments(agent_id: object, departments: Iterable[str] | None) -> frozenset[str] | None:
    """Check `Helpdesk.for_agent`'s arguments; return the departments as a frozenset.

    Raises:
        InvalidInputError: a blank agent id, or departments not a collection of
            non-blank names (a single string is refused: wrap it in a list).
    """
    _validate.text(agent_id, "agent_id", allow_empty=False)
    if departments is None:
        return None
    if isinstance(departments, str) or not isinstance(departments, Iterable):
        raise InvalidInputError(
            f"departments must be a list of department names, got {departments!r}",
            field="departments",
        )
    names = frozenset(departments)
    for name in names:
        _validate.text(name, "departments", allow_empty=False)
    return names
