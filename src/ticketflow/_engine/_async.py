"""`AsyncHelpdesk`: the help desk's commands and queries as coroutines.

It holds a `Helpdesk` (the core: configuration, rules, SLA runner, clock,
subscribers) and an `AsyncTicketStore`, and runs the core's own steps (see
`_steps`) with the async driver: the pipeline, the permission checks, the
sweeps and the delivery are the very code `Helpdesk` runs, and only the store
calls are awaited. The core's own store is a stand-in that refuses every sync
call, so nothing can block the event loop by mistake.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, NoReturn, Self, Unpack, cast, final

from .._model import Actor, Event, EventKind, Priority, Requester, Ticket
from .._summary import Page
from .._workflow import Category, Workflow
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
    MessageMetadata,
    Note,
    Open,
    OpenMetadata,
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
from ..config import HelpdeskConfig
from ..exceptions import InvalidInputError, StoreError
from ..rules import Due, Rule
from ..sla import SlaPolicies, SlaPolicy, SlaState
from ..stores import TicketStore
from ..stores._async import AsyncMemoryStore, AsyncTicketStore
from . import _delivery, _list, _queries, _search, _sweeps
from ._async_handles import AsyncAgentHandle, AsyncCustomerHandle
from ._erase import ErasureResult, PurgeResult
from ._handles import agent_departments, customer_requester
from ._helpdesk import _STEPS, Helpdesk, Policy
from ._steps import adrive

if TYPE_CHECKING:
    from .._clock import Clock

__all__ = ["AsyncHelpdesk"]

_DEFAULT_LEASE: Final = timedelta(seconds=60)


class _NoSyncStore:
    """The core `Helpdesk`'s store: any sync call is a bug, refused loudly."""

    __slots__ = ("_store",)

    # An async store commits its own transactions: the core desk publishes at once.
    after_commit = None

    def __init__(self, store: AsyncTicketStore) -> None:
        self._store = store

    def __getattr__(self, name: str) -> NoReturn:
        raise StoreError(
            f"{self._store!r} is an async store: use the AsyncHelpdesk's coroutines "
            f"(store.{name} was called without await)"
        )

    def __repr__(self) -> str:
        return repr(self._store)


@final
class AsyncHelpdesk:
    """`Helpdesk` for asyncio: every command and query is a coroutine.

    The same commands, queries, checks, rules, SLAs and results as `Helpdesk`,
    run by the same pipeline, over an `AsyncTicketStore`: `AsyncMemoryStore`
    (the default), `AsyncSQLiteStore` (a thread of its own owns the connection)
    or `AsyncPostgresStore` (psycopg's async pool). Use one per application
    and share it between requests; ``async with`` closes the store at the end,
    as does `aclose`.

    Example:
        >>> import asyncio
        >>> from ticketflow import AsyncHelpdesk, FakeClock, Requester
        >>> async def main() -> str:
        ...     async with AsyncHelpdesk(clock=FakeClock()) as desk:
        ...         t = await desk.open_ticket(subject="VPN", requester=Requester(name="Ann"))
        ...         return (await desk.agent_reply(t.id, "On it", by="bob")).status
        >>> asyncio.run(main())
        'answered'

    Concurrency: commands on different tickets run interleaved; two commands
    on one ticket race as in `Helpdesk`: the later commit raises `ConflictError`
    and changes nothing. Commands re-read the ticket on every call, so a
    `ConflictRetry` can retry them: ``await ConflictRetry().acall(desk.add_note,
    ticket_id, "text", by="bob")``. Subscribers (`subscribe`) are plain
    functions called on the event loop after each commit: keep them short.

    Args:
        workflow: As `Helpdesk`.
        store: An `AsyncTicketStore`; defaults to a new `AsyncMemoryStore`.
        clock: As `Helpdesk`.
        config: As `Helpdesk`.
        id_factory: As `Helpdesk`.
        rules: As `Helpdesk`.
        outbox: As `Helpdesk`.
        sla: As `Helpdesk`.
        policy: As `Helpdesk` (called on the event loop: it must not block).

    Raises:
        InvalidInputError: ``store`` is not an `AsyncTicketStore`, or as `Helpdesk`.
    """

    __slots__ = ("_core", "_store")

    def __init__(
        self,
        workflow: Workflow | None = None,
        store: AsyncTicketStore | None = None,
        clock: Clock | None = None,
        *,
        config: HelpdeskConfig | None = None,
        id_factory: Callable[[datetime], str] | None = None,
        rules: Iterable[Rule] | None = None,
        outbox: Iterable[EventKind | str] | None = None,
        sla: SlaPolicies | Iterable[SlaPolicy] | None = None,
        policy: Policy | None = None,
    ) -> None:
        if store is None:
            store = AsyncMemoryStore()
        elif not isinstance(store, AsyncTicketStore):
            raise InvalidInputError(
                "store must be an AsyncTicketStore (AsyncMemoryStore, AsyncSQLiteStore, "
                f"AsyncPostgresStore), got {type(store).__name__}; a sync store goes to Helpdesk",
                field="store",
            )
        self._store: AsyncTicketStore = store
        self._core = Helpdesk(
            workflow,
            cast("TicketStore", _NoSyncStore(store)),
            clock,
            config=config,
            id_factory=id_factory,
            rules=rules,
            outbox=outbox,
            sla=sla,
            policy=policy,
        )

    # --- properties and lifetime ----------------------------------------------------

    @property
    def store(self) -> AsyncTicketStore:
        """The store tickets are kept in."""
        return self._store

    @property
    def config(self) -> HelpdeskConfig:
        """The configuration this help desk runs."""
        return self._core.config

    @property
    def workflow(self) -> Workflow:
        """The workflow this help desk runs."""
        return self._core.workflow

    @property
    def clock(self) -> Clock:
        """The clock events are stamped with."""
        return self._core.clock

    @property
    def sla(self) -> SlaPolicies | None:
        """The SLA policies this help desk runs, or ``None`` without SLAs."""
        return self._core.sla

    async def aclose(self) -> None:
        """Close the store (its connections, its thread)."""
        await self._store.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"AsyncHelpdesk(workflow={self.workflow.name!r}, store={self._store!r})"

    # --- the pipeline -----------------------------------------------------------------

    async def execute(self, command: Command, *, by: str | Actor | None = None) -> Ticket:
        """Run a command value and return the ticket it leaves (as `Helpdesk.execute`)."""
        run = _STEPS.get(type(command))
        if run is None:
            raise InvalidInputError(
                f"command must be a ticketflow.commands value, got {type(command).__name__}",
                field="command",
            )
        return await adrive(self._store, run(self._core, command, by, None))

    # --- commands (each as the `Helpdesk` method of the same name) --------------------

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
        by: str | Actor | None = None,
        **metadata: Unpack[OpenMetadata],
    ) -> Ticket:
        """Create a ticket (`Helpdesk.open_ticket`)."""
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
            **metadata,
        )
        return await self.execute(command, by=by)

    async def agent_reply(
        self, ticket_id: str, body: str, *, by: str | Actor, **metadata: Unpack[MessageMetadata]
    ) -> Ticket:
        """Record a public agent reply (`Helpdesk.agent_reply`)."""
        return await self.execute(AgentReply(ticket_id=ticket_id, body=body, **metadata), by=by)

    async def add_note(
        self, ticket_id: str, body: str, *, by: str | Actor, **metadata: Unpack[MessageMetadata]
    ) -> Ticket:
        """Add an internal note (`Helpdesk.add_note`)."""
        return await self.execute(Note(ticket_id=ticket_id, body=body, **metadata), by=by)

    async def customer_reply(
        self,
        ticket_id: str,
        body: str,
        *,
        by: str | Actor | None = None,
        **metadata: Unpack[MessageMetadata],
    ) -> Ticket:
        """Record the customer's reply (`Helpdesk.customer_reply`)."""
        return await self.execute(CustomerReply(ticket_id=ticket_id, body=body, **metadata), by=by)

    async def assign(
        self,
        ticket_id: str,
        agent: str | None | Keep = KEEP,
        *,
        department: str | None | Keep = KEEP,
        by: str | Actor | None = None,
    ) -> Ticket:
        """Assign the ticket to an agent and/or a department (`Helpdesk.assign`)."""
        command = Assign(ticket_id=ticket_id, agent=agent, department=department)
        return await self.execute(command, by=by)

    async def set_priority(
        self, ticket_id: str, priority: Priority | str, *, by: str | Actor | None = None
    ) -> Ticket:
        """Change the priority (`Helpdesk.set_priority`)."""
        return await self.execute(SetPriority(ticket_id=ticket_id, priority=priority), by=by)

    async def add_tags(self, ticket_id: str, *tags: str, by: str | Actor | None = None) -> Ticket:
        """Add tags (`Helpdesk.add_tags`)."""
        return await self.execute(AddTags(ticket_id=ticket_id, tags=tags), by=by)

    async def remove_tags(
        self, ticket_id: str, *tags: str, by: str | Actor | None = None
    ) -> Ticket:
        """Remove tags (`Helpdesk.remove_tags`)."""
        return await self.execute(RemoveTags(ticket_id=ticket_id, tags=tags), by=by)

    async def set_field(
        self,
        ticket_id: str,
        name: str,
        value: Any,
        *,
        by: str | Actor | None = None,
    ) -> Ticket:
        """Set a custom field (`Helpdesk.set_field`)."""
        return await self.execute(SetField(ticket_id=ticket_id, field=name, value=value), by=by)

    async def resolve(self, ticket_id: str, *, by: str | Actor | None = None) -> Ticket:
        """Mark the ticket resolved (`Helpdesk.resolve`)."""
        return await self.execute(Resolve(ticket_id=ticket_id), by=by)

    async def reopen(self, ticket_id: str, *, by: str | Actor | None = None) -> Ticket:
        """Reopen a resolved ticket (`Helpdesk.reopen`)."""
        return await self.execute(Reopen(ticket_id=ticket_id), by=by)

    async def close(self, ticket_id: str, *, by: str | Actor | None = None) -> Ticket:
        """Close the ticket (`Helpdesk.close`)."""
        return await self.execute(Close(ticket_id=ticket_id), by=by)

    async def confirm_resolution(
        self, ticket_id: str, rating: int | None = None, *, by: str | Actor | None = None
    ) -> Ticket:
        """The customer confirms the resolution (`Helpdesk.confirm_resolution`)."""
        return await self.execute(Confirm(ticket_id=ticket_id, rating=rating), by=by)

    async def postpone(
        self, ticket_id: str, until: datetime, *, by: str | Actor | None = None
    ) -> Ticket:
        """Postpone the ticket until a time (`Helpdesk.postpone`)."""
        return await self.execute(Postpone(ticket_id=ticket_id, until=until), by=by)

    async def wake(self, ticket_id: str, *, by: str | Actor | None = None) -> Ticket:
        """Wake a postponed ticket (`Helpdesk.wake`)."""
        return await self.execute(Wake(ticket_id=ticket_id), by=by)

    async def mark_spam(self, ticket_id: str, *, by: str | Actor | None = None) -> Ticket:
        """Mark the ticket as spam (`Helpdesk.mark_spam`)."""
        return await self.execute(Spam(ticket_id=ticket_id), by=by)

    async def delete(self, ticket_id: str, *, by: str | Actor | None = None) -> Ticket:
        """Move the ticket to the trash (`Helpdesk.delete`)."""
        return await self.execute(Delete(ticket_id=ticket_id), by=by)

    async def restore(self, ticket_id: str, *, by: str | Actor | None = None) -> Ticket:
        """Restore a ticket from the trash (`Helpdesk.restore`)."""
        return await self.execute(Restore(ticket_id=ticket_id), by=by)

    async def fire(self, ticket_id: str, trigger: str, *, by: str | Actor | None = None) -> Ticket:
        """Fire a workflow trigger by name (`Helpdesk.fire`)."""
        return await self.execute(Fire(ticket_id=ticket_id, trigger=trigger), by=by)

    async def merge(
        self,
        source_id: str,
        into_id: str,
        *,
        allow_other_requester: bool = False,
        by: str | Actor | None = None,
    ) -> Ticket:
        """Merge ``source_id`` into ``into_id``; return the target (`Helpdesk.merge`)."""
        command = Merge(
            ticket_id=source_id, into_id=into_id, allow_other_requester=allow_other_requester
        )
        return await self.execute(command, by=by)

    async def purge(self, ticket_id: str, *, by: str | Actor | None = None) -> PurgeResult:
        """Erase the ticket's personal data and every copy of it (`Helpdesk.purge`).

        An `AsyncHelpdesk` has no attachment store: deleting the files in
        ``PurgeResult.attachments`` is the application's job.
        """
        steps = self._core._purging(Purge(ticket_id=ticket_id), by, None)  # noqa: SLF001
        return await adrive(self._store, steps)

    async def erase_requester(self, email: str, *, by: str | Actor | None = None) -> ErasureResult:
        """Erase everything of one person (`Helpdesk.erase_requester`)."""
        return await adrive(self._store, self._core._erasing(email, by))  # noqa: SLF001

    # --- scoped handles (see _handles, _async_handles) ------------------------------

    def for_customer(self, customer: str | Requester) -> AsyncCustomerHandle:
        """Return the help desk as the customer ``customer`` may use it (`Helpdesk.for_customer`).

        An `AsyncCustomerHandle`: `CustomerHandle`'s methods as coroutines, with
        the same scope, permission checks and `CustomerView` results.

        Raises:
            InvalidInputError: no e-mail address.
        """
        return AsyncCustomerHandle(self, self._core, customer_requester(customer))

    def for_agent(
        self, agent_id: str, departments: Iterable[str] | None = None
    ) -> AsyncAgentHandle:
        """Return the help desk as the agent ``agent_id`` may use it (`Helpdesk.for_agent`).

        An `AsyncAgentHandle`: `AgentHandle`'s methods as coroutines.

        Raises:
            InvalidInputError: a blank agent id, or ``departments`` not a list of names.
        """
        return AsyncAgentHandle(
            self, self._core, agent_id, agent_departments(agent_id, departments)
        )

    # --- sweeps and delivery ---------------------------------------------------------

    async def run_due(
        self,
        now: datetime | None = None,
        *,
        batch: int = 500,
        lease: timedelta = _DEFAULT_LEASE,
    ) -> int:
        """Fire every time rule and SLA stage due by ``now`` (`Helpdesk.run_due`)."""
        return await adrive(self._store, _sweeps.run_due(self._core, now, batch=batch, lease=lease))

    async def run_until(self, until: datetime) -> int:
        """Advance a `FakeClock` to ``until``, firing what falls due (`Helpdesk.run_until`)."""
        return await adrive(self._store, _sweeps.run_until(self._core, until))

    async def reschedule(self, *, batch: int = 500) -> int:
        """Recompute stored due times and queue keys (`Helpdesk.reschedule`)."""
        return await adrive(self._store, _sweeps.reschedule(self._core, batch=batch))

    def subscribe(
        self,
        callback: Callable[[Ticket, Event], None],
        kinds: Iterable[EventKind | str] | None = None,
    ) -> Callable[[], None]:
        """Call ``callback(ticket, event)`` after each committed event (`Helpdesk.subscribe`).

        The callback is a plain function, called on the event loop.
        """
        return _delivery.subscribe(self._core, callback, kinds)

    async def dispatch(
        self,
        *,
        limit: int = 100,
        lease: timedelta = _DEFAULT_LEASE,
        now: datetime | None = None,
    ) -> int:
        """Deliver pending outbox entries to the subscribers (`Helpdesk.dispatch`)."""
        steps = _delivery.dispatch(self._core, limit=limit, lease=lease, now=now)
        return await adrive(self._store, steps)

    # --- queries -----------------------------------------------------------------------

    async def get(self, ticket_id: str) -> Ticket:
        """Return the ticket (`Helpdesk.get`)."""
        return await adrive(self._store, _queries.get(self._core, ticket_id))

    async def timeline(self, ticket_id: str) -> tuple[Event, ...]:
        """Return the ticket's events, oldest first (`Helpdesk.timeline`)."""
        return await adrive(self._store, _queries.timeline(self._core, ticket_id))

    async def allowed(self, ticket_id: str) -> tuple[str, ...]:
        """Return the commands the workflow allows on the ticket (`Helpdesk.allowed`)."""
        return await adrive(self._store, _queries.allowed(self._core, ticket_id))

    async def next_due(self, ticket_id: str) -> Due | None:
        """Return what the ticket has due next (`Helpdesk.next_due`)."""
        return await adrive(self._store, _queries.next_due(self._core, ticket_id))

    async def sla_state(self, ticket_id: str, now: datetime | None = None) -> SlaState:
        """Return the ticket's SLA state (`Helpdesk.sla_state`)."""
        return await adrive(self._store, _queries.sla_state(self._core, ticket_id, now))

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
        """Return the tickets matching every given criterion, oldest first (`Helpdesk.find`)."""
        steps = _queries.find(
            self._core,
            status=status,
            category=category,
            assignee=assignee,
            department=department,
            priority=priority,
            tag=tag,
            requester=requester,
            limit=limit,
        )
        return await adrive(self._store, steps)

    async def queue(
        self, *, agent: str | None = None, department: str | None = None, limit: int = 50
    ) -> list[Ticket]:
        """Return the tickets waiting on an agent, most urgent first (`Helpdesk.queue`)."""
        steps = _queries.queue(self._core, agent=agent, department=department, limit=limit)
        return await adrive(self._store, steps)

    async def list(
        self,
        *,
        status: str | Iterable[str] | None = None,
        category: Category | str | Iterable[Category | str] | None = None,
        assignee: str | None = None,
        department: str | None = None,
        priority: Priority | str | None = None,
        tag: str | None = None,
        requester: str | None = None,
        channel: str | None = None,
        created_after: datetime | None = None,
        created_before: datetime | None = None,
        updated_after: datetime | None = None,
        updated_before: datetime | None = None,
        sort: str = "created",
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page:
        """Return a page of ticket summaries (`Helpdesk.list`: the same filters and cursors)."""
        filters = {
            "status": status,
            "category": category,
            "assignee": assignee,
            "department": department,
            "priority": priority,
            "tag": tag,
            "requester": requester,
            "channel": channel,
            "created_after": created_after,
            "created_before": created_before,
            "updated_after": updated_after,
            "updated_before": updated_before,
        }
        steps = _list.list_page(self._core, sort=sort, limit=limit, cursor=cursor, filters=filters)
        return await adrive(self._store, steps)

    async def counts(
        self,
        by: str = "status",
        *,
        status: str | Iterable[str] | None = None,
        category: Category | str | Iterable[Category | str] | None = None,
        assignee: str | None = None,
        department: str | None = None,
        priority: Priority | str | None = None,
        tag: str | None = None,
        requester: str | None = None,
        channel: str | None = None,
        created_after: datetime | None = None,
        created_before: datetime | None = None,
        updated_after: datetime | None = None,
        updated_before: datetime | None = None,
    ) -> dict[str | None, int]:
        """Return how many tickets pass the filters, per group (`Helpdesk.counts`)."""
        filters = {
            "status": status,
            "category": category,
            "assignee": assignee,
            "department": department,
            "priority": priority,
            "tag": tag,
            "requester": requester,
            "channel": channel,
            "created_after": created_after,
            "created_before": created_before,
            "updated_after": updated_after,
            "updated_before": updated_before,
        }
        return await adrive(self._store, _list.counts(self._core, by, filters))

    async def search(
        self,
        text: str,
        *,
        status: str | Iterable[str] | None = None,
        category: Category | str | Iterable[Category | str] | None = None,
        assignee: str | None = None,
        department: str | None = None,
        priority: Priority | str | None = None,
        tag: str | None = None,
        requester: str | None = None,
        channel: str | None = None,
        created_after: datetime | None = None,
        created_before: datetime | None = None,
        updated_after: datetime | None = None,
        updated_before: datetime | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page:
        """Return a page of the tickets whose text matches ``text``, best first (`Helpdesk.search`).

        The same terms, filters, ranking, cursors and errors as `Helpdesk.search`,
        run by the same code: the store's ``search`` coroutine answers it, or,
        for an async store without one, the tickets ``find`` selects are
        searched in memory per call.

        Raises:
            InvalidInputError: as `Helpdesk.search` (``field`` names what was wrong).
        """
        filters = {
            "status": status,
            "category": category,
            "assignee": assignee,
            "department": department,
            "priority": priority,
            "tag": tag,
            "requester": requester,
            "channel": channel,
            "created_after": created_after,
            "created_before": created_before,
            "updated_after": updated_after,
            "updated_before": updated_before,
        }
        steps = _search.search_page(self._core, text, limit=limit, cursor=cursor, filters=filters)
        return await adrive(self._store, steps)
