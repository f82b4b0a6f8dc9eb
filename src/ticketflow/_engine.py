"""The engine: command -> workflow decision -> events -> new ticket -> store."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Final, final

import attrs

from . import _validate
from ._clock import Clock, FakeClock, SystemClock, require_aware
from ._decide import DECIDE as _DECIDE
from ._decide import Batch
from ._ids import UlidFactory
from ._model import (
    EMPTY,
    SYSTEM_ACTOR,
    Actor,
    CreatedData,
    Event,
    EventKind,
    Message,
    Priority,
    Requester,
    Role,
    Ticket,
)
from ._scrub import scrub_event
from ._sla_runner import SlaRunner
from ._workflow import Category, ClosedPolicy, Workflow
from .commands import (
    BY_KIND,
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
from .config import HelpdeskConfig
from .exceptions import (
    ConflictError,
    InvalidInputError,
    RuleLoopError,
    StoreError,
    TicketflowError,
    TicketLockedError,
)
from .rules import Due, Rule, RuleSet
from .rules._runner import is_no_change
from .sla import SlaPolicies, SlaPolicy, SlaState, sla_state
from .stores import Change, IndexUpdate, MemoryStore, QueueKey, TicketQuery, TicketStore
from .stores._protocol import new_positions
from .workflows import liveagent

__all__ = ["Helpdesk", "SimulatedAction", "Simulation"]


_ACTOR_CACHE_LIMIT: Final = 4096
_QUEUE_MAX: Final = 10_000
_tuple_new: Final = tuple.__new__
_WAITING: Final = frozenset({Category.NEW, Category.OPEN})  # waiting on an agent: the queue
_DEFAULT_LEASE: Final = timedelta(seconds=60)
_COMMIT_GROUP: Final = 100  # rule firings per transaction in run_due
_BACK_OFF_MIN: Final = timedelta(minutes=1)  # a failing ticket's first retry in run_due
_BACK_OFF_MAX: Final = timedelta(hours=1)
_CATCH_UP_MAX: Final = 64  # time rules fired before one command: far above any real rule set
_LOG: Final = logging.getLogger("ticketflow")


# The edge checks live in _validate; these names are the engine's shorthands for them.
_text: Final = _validate.text
_optional_text: Final = _validate.optional_text
_tags: Final = _validate.tags
_AGENT: Final = Role.AGENT


@final
class Helpdesk:
    """Run the life of support tickets: the public entry point of ticketflow.

    Every command reads the ticket from the store, asks the workflow where the
    command leads, appends events stamped by the clock, commits the new snapshot
    with optimistic concurrency and returns it. A refused command changes nothing.

    Example:
        >>> from ticketflow import FakeClock, Helpdesk, Requester
        >>> desk = Helpdesk(clock=FakeClock())
        >>> t = desk.open_ticket(subject="VPN down", requester=Requester(name="Ann"))
        >>> desk.agent_reply(t.id, "Restarting the gateway", by="bob").status
        'answered'

    Args:
        workflow: The status graph; defaults to `ticketflow.workflows.liveagent`.
        store: Where tickets live; defaults to a new `MemoryStore`.
        clock: Where time comes from; defaults to `SystemClock`.
        config: The whole configuration (`ticketflow.config.HelpdeskConfig`:
            workflow, rules, SLA policies, calendars, outbox kinds), for example
            ``HelpdeskConfig.load("helpdesk.toml")``. Give either ``config`` or
            any of ``workflow``, ``rules``, ``sla`` and ``outbox``, which build one
            with `HelpdeskConfig.from_workflow`.
        id_factory: Makes ticket ids from the creation time; defaults to monotonic ULIDs.
        rules: Rules (`ticketflow.rules`) run after every command and by `run_due`;
            defaults to the workflow's own ``rules`` data (the presets wake postponed
            tickets; Zendesk also closes solved tickets after 4 days).
        outbox: The event kinds written to the store's outbox in the same
            transaction as the change, and so delivered to subscribers at least
            once (see `dispatch`); other kinds reach subscribers in-process, after
            the commit, at most once. Defaults to the notifications rules and
            SLAs raise (``notified``, ``escalated``, ``sla_warning`` and
            ``sla_breached``); ``()`` writes no outbox.
        sla: SLA policies (`ticketflow.sla`): their warning, breach and
            escalation events fire at their exact instants through `run_due`,
            their due times order the work queue (`queue`), and `sla_state`
            reports them. Defaults to the workflow's own ``sla`` data; ``()``
            turns SLAs off.

    Raises:
        RuleError: a rule names a command or trigger the workflow does not have.
        InvalidInputError: ``config`` given together with ``workflow``, ``rules``,
            ``sla`` or ``outbox``, or not a `HelpdeskConfig`.
    """

    __slots__ = (
        "_actors",
        "_clock",
        "_config",
        "_ids",
        "_outbox",
        "_queued",
        "_rules",
        "_sla",
        "_store",
        "_subscribers",
        "_timed",
        "_workflow",
    )

    def __init__(
        self,
        workflow: Workflow | None = None,
        store: TicketStore | None = None,
        clock: Clock | None = None,
        *,
        config: HelpdeskConfig | None = None,
        id_factory: Callable[[datetime], str] | None = None,
        rules: Iterable[Rule] | None = None,
        outbox: Iterable[EventKind | str] | None = None,
        sla: SlaPolicies | Iterable[SlaPolicy] | None = None,
    ) -> None:
        _check_parts(workflow, clock, outbox)
        if config is None:
            config = HelpdeskConfig.from_workflow(
                liveagent() if workflow is None else workflow, rules=rules, sla=sla, outbox=outbox
            )
        elif not isinstance(config, HelpdeskConfig):
            raise InvalidInputError(
                f"config must be a HelpdeskConfig, got {type(config).__name__}", field="config"
            )
        elif workflow is not None or rules is not None or sla is not None or outbox is not None:
            raise InvalidInputError(
                "config holds the workflow, rules, SLA policies and outbox kinds: pass "
                "config alone, or workflow/rules/sla/outbox without config",
                field="config",
            )
        workflow = config.workflow
        self._config = config
        self._workflow = workflow
        self._store: TicketStore = MemoryStore() if store is None else store
        self._clock: Clock = SystemClock() if clock is None else clock
        self._ids: Callable[[datetime], str] = id_factory or UlidFactory()
        self._actors: dict[tuple[str, Role], Actor] = {}
        self._rules = RuleSet(workflow, config.rules)
        self._subscribers: list[tuple[Callable[[Ticket, Event], None], frozenset[EventKind]]] = []
        self._outbox: frozenset[EventKind] = config.outbox
        self._sla: SlaRunner | None = (
            SlaRunner(workflow, config.sla, self._rules) if config.sla.policies else None
        )
        self._timed = self._rules.has_time_rules or self._sla is not None
        # The statuses whose tickets wait on an agent: the work queue's.
        self._queued = frozenset(
            s.name
            for s in workflow.statuses
            if s.category in _WAITING and not workflow.is_locked(s.name)
        )

    @property
    def config(self) -> HelpdeskConfig:
        """The configuration this help desk runs (workflow, rules, SLA, outbox)."""
        return self._config

    # --- properties -----------------------------------------------------------------

    @property
    def workflow(self) -> Workflow:
        """The workflow this help desk runs."""
        return self._workflow

    @property
    def store(self) -> TicketStore:
        """The store tickets are kept in."""
        return self._store

    @property
    def clock(self) -> Clock:
        """The clock events are stamped with."""
        return self._clock

    @property
    def sla(self) -> SlaPolicies | None:
        """The SLA policies this help desk runs, or ``None`` without SLAs."""
        return None if self._sla is None else self._sla.policies

    # --- plumbing -------------------------------------------------------------------

    def _now(self, after: datetime | None = None) -> datetime:
        now = self._clock.now()
        if now.tzinfo is not UTC:
            now = require_aware(now, "clock.now()")
        # A wall clock may step back (NTP); a timeline never does.
        if after is not None and now < after:
            return after
        return now

    def _actor(self, by: str | Actor | None, role: Role) -> Actor:
        if by is None:
            return SYSTEM_ACTOR
        if type(by) is not str:
            if isinstance(by, Actor):
                return by
            raise InvalidInputError(
                "by must be an actor id (a non-empty string) or an Actor, "
                f"got {_validate.describe(by)}",
                field="by",
            )
        key = (by, role)
        actor = self._actors.get(key)
        if actor is None:
            _text(by, "by", allow_empty=False)
            if len(self._actors) >= _ACTOR_CACHE_LIMIT:
                self._actors.clear()
            actor = self._actors[key] = Actor(by, role)
        return actor

    def _customer(self, by: str | Actor | None, ticket: Ticket) -> Actor:
        """The customer acting on ``ticket``: ``by``, or else its requester."""
        return self._actor(by or ticket.requester.email or ticket.requester.name, Role.CUSTOMER)

    # --- the pipeline: read, decide, build, apply, react, schedule, commit, publish -----

    def execute(self, command: Command, *, by: str | Actor | None = None) -> Ticket:
        """Run a command (a `ticketflow.commands` value) and return the ticket it leaves.

        The one pipeline every change goes through: read the ticket, fire its time
        rules and SLA stages already due (each stamped at its due instant, as a
        late sweep would), decide with the workflow, build the events (one new
        version per commit), apply them, run the event rules, compute the next due
        time and queue key, commit with optimistic concurrency, and publish. A
        refused command changes nothing. The `Helpdesk` methods are sugar for it.

        Example:
            >>> from ticketflow import FakeClock, Helpdesk, Requester
            >>> from ticketflow.commands import Open, Resolve
            >>> desk = Helpdesk(clock=FakeClock())
            >>> t = desk.execute(Open(subject="Printer", requester=Requester(name="Ann")))
            >>> desk.execute(Resolve(ticket_id=t.id), by="bob").status
            'resolved'

        Args:
            command: What to do.
            by: Who does it: an actor id (an agent's, or for `CustomerReply` and
                `Confirm` the customer's) or an `Actor`. ``None``: the system for
                agent commands, the requester for the customer's.

        Returns:
            The ticket after the command; `Merge` returns the target, and a
            `CustomerReply` the ticket the reply landed on (a follow-up, or the
            ticket a merged one was merged into).

        Raises:
            InvalidInputError: ``command`` is not a command value, or ``by`` is invalid.
            TicketNotFound: the ticket does not exist.
            TicketLockedError: the ticket is locked.
            TransitionError: the workflow does not allow the command in this status.
        """
        run = _EXECUTE.get(type(command))
        if run is None:
            raise InvalidInputError(
                f"command must be a ticketflow.commands value, got {type(command).__name__}",
                field="command",
            )
        return run(self, command, by)

    def _begin(self, ticket: Ticket) -> tuple[Batch, datetime]:
        """Start a commit on ``ticket``: its instant, and what was due by then, fired."""
        at = self._now(ticket.timeline[-1].at)
        batch = Batch(ticket)
        if self._timed:
            self._catch_up(batch, at)
        return batch, at

    def _catch_up(self, batch: Batch, at: datetime) -> None:
        """Fire the time rules and SLA stages due by ``at`` into ``batch``, in time order."""
        if self._sla is None and not self._rules.may_be_due(batch.ticket, at):
            return  # the common case: nothing is due, known without next_due
        for _ in range(_CATCH_UP_MAX):
            if not self._fire_due_into(batch, at):
                return
        _LOG.warning(
            "ticket %s: more than %d time rules due at once", batch.ticket.id, _CATCH_UP_MAX
        )

    def _run(self, command: Any, by: str | Actor | None) -> Ticket:
        """Run a single-ticket command through `decide` (the common path)."""
        cls = type(command)
        if cls.role is _AGENT:
            actor = self._actor(by, _AGENT)
            ticket = self._store.get(command.ticket_id)
        else:
            ticket = self._store.get(command.ticket_id)
            actor = self._customer(by, ticket)
        at = self._now(ticket.timeline[-1].at)
        batch = Batch(ticket)
        start = 0
        if self._timed:
            self._catch_up(batch, at)
            start = len(batch.events)
        _DECIDE[cls](batch, command, actor, self._workflow, at, EMPTY)
        if not batch.events:  # nothing to change (an assignment to the assignee)
            return ticket
        return self._settle(ticket.version, batch, start)

    def _settle(self, expected: int, batch: Batch, start: int = 0) -> Ticket:
        """Run the event rules on the events from ``start``, schedule, commit, and publish."""
        events = batch.events
        rules = self._rules
        if rules.rules and start < len(events):
            rules.react(batch, events[-1].at, start)
        ticket = batch.ticket
        due_at, queue = self._schedule(ticket)
        outbox = self._outbox_of(ticket, len(events))
        # tuple.__new__ rather than Change(...): the named tuple's __new__ is Python.
        change = _tuple_new(Change, (ticket, expected, False, due_at, outbox, queue))
        self._store.commit((change,))
        if self._subscribers:
            self._publish(change)
        return ticket

    def _schedule(self, ticket: Ticket) -> tuple[datetime | None, QueueKey | None]:
        """The ticket's next due time (time rules and SLA stages) and its queue key."""
        due_at = None
        if self._rules.rules:
            due = self._rules.next_due(ticket)
            if due is not None:
                due_at = due.at
        sla_due = None
        if self._sla is not None:
            plan = self._sla.plan(ticket)
            sla_due = plan.queue_due
            if plan.next_at is not None and (due_at is None or plan.next_at < due_at):
                due_at = plan.next_at
        if ticket.status not in self._queued:
            return due_at, None
        # tuple.__new__ rather than QueueKey(...): one command builds one, and the
        # named tuple's Python-level __new__ costs a third of this method.
        key = _tuple_new(QueueKey, (sla_due, _waiting_since(ticket), int(ticket.priority)))
        return due_at, key

    def _outbox_of(self, ticket: Ticket, new: int) -> tuple[int, ...]:
        """Positions of the last ``new`` events of the timeline that go to the outbox."""
        kinds = self._outbox
        if not kinds:
            return ()
        timeline = ticket.timeline
        end = len(timeline)
        if new == 1:  # one command, one event: the common case, without a generator
            return (end - 1,) if timeline[-1]._step.kind in kinds else ()  # noqa: SLF001
        return tuple(i for i in range(end - new, end) if timeline[i].kind in kinds)

    def _publish(self, *changes: Change) -> None:
        """Deliver each change's new events to the subscribers; acknowledge outbox entries."""
        delivered: list[tuple[str, int]] = []
        for change in changes:
            ticket = change.ticket
            for position in new_positions(ticket):
                ok = self._deliver(ticket, ticket.timeline[position])
                if ok and position in change.outbox:
                    delivered.append((ticket.id, position))
        if delivered:
            self._store.ack_outbox(delivered)

    def _deliver(self, ticket: Ticket, event: Event) -> bool:
        """Call the subscribers of ``event``; return whether none of them failed."""
        ok = True
        for callback, kinds in self._subscribers:
            if not kinds or event.kind in kinds:
                try:
                    callback(ticket, event)
                except Exception:  # noqa: BLE001 - any subscriber bug is logged
                    # The change is committed; a subscriber's failure must not look
                    # like the command's. An outbox entry stays pending for a retry.
                    _LOG.exception("subscriber %r failed on %s", callback, event.kind)
                    ok = False
        return ok

    def _open(self, command: Open, by: str | Actor | None) -> Ticket:
        if command.parent_id is not None:
            self._store.get(command.parent_id)
        requester = command.requester
        actor = (
            self._actor(by, Role.AGENT)
            if by is not None
            else self._actor(requester.email or requester.name, Role.CUSTOMER)
        )
        at = self._now()
        ticket_id = self._ids(at)
        initial = self._workflow.initial
        # A new ticket's first commit is version 1, by definition.
        event = Event(
            kind=EventKind.CREATED,
            at=at,
            actor=actor,
            status_before=initial,
            status_after=initial,
            data=CreatedData(
                id=ticket_id,
                subject=command.subject,
                description=command.description,
                requester=requester,
                priority=command.priority,
                channel=command.channel,
                assignee=command.assignee,
                department=command.department,
                tags=tuple(sorted(command.tags)),
                custom_fields=command.custom_fields,
                parent_id=command.parent_id,
            ),
            version=1,
        )
        return self._settle(0, Batch(Ticket.rebuild((event,)), [event]))

    def _reply(self, command: CustomerReply, by: str | Actor | None) -> Ticket:
        ticket = self._store.get(command.ticket_id)
        # The customer is the requester of the ticket they replied to, even when
        # the reply is redirected to the ticket it was merged into.
        actor = self._customer(by, ticket)
        wf = self._workflow
        followed = None
        while True:
            at = self._now(ticket.timeline[-1].at)
            batch = Batch(ticket)
            start = 0
            if self._timed:
                self._catch_up(batch, at)
                start = len(batch.events)
            current = batch.ticket
            if not wf.is_locked(current.status):
                _DECIDE[CustomerReply](batch, command, actor, wf, at, EMPTY)
                return self._settle(ticket.version, batch, start)
            if start:  # what was due locked it: keep that, then follow the policy
                current = self._settle(ticket.version, batch)
            # Merged tickets are locked, so only a locked ticket can need redirecting.
            if followed is None:
                followed = {ticket.id}
            merged_into = current.merged_into
            if merged_into is None or merged_into in followed:
                return self._reply_to_locked(current, command, actor)
            followed.add(merged_into)
            ticket = self._store.get(merged_into)

    def _reply_to_locked(self, ticket: Ticket, command: CustomerReply, actor: Actor) -> Ticket:
        wf = self._workflow
        policy = wf.closed_policy
        if wf.status(ticket.status).final or policy is ClosedPolicy.REFUSE:
            raise TicketLockedError(
                ticket_id=ticket.id,
                status=ticket.status,
                command="customer_reply",
                reason="replies to this ticket are refused",
            )
        if policy is ClosedPolicy.REOPEN:
            # The window runs from when the ticket entered its closed status, by any
            # command: ``closed_at`` only records close, confirm and merge.
            closed_at = next(
                (e.at for e in reversed(ticket.timeline) if e.changes_status), ticket.created_at
            )
            window = wf.reopen_window
            at = self._now(ticket.timeline[-1].at)
            if window is None or at - closed_at <= window:
                batch = Batch(ticket)
                dest = wf.next_status(ticket, "customer_reply")
                batch.emit(EventKind.CUSTOMER_REPLIED, actor, dest, at, {"body": command.body})
                return self._settle(ticket.version, batch)
        follow_up = Open(
            subject=ticket.subject,
            requester=ticket.requester,
            description=command.body,
            priority=ticket.priority,
            channel=ticket.channel,
            assignee=ticket.assignee,
            department=ticket.department,
            tags=ticket.tags,
            parent_id=ticket.id,
        )
        return self._open(follow_up, None)

    def _merge(self, command: Merge, by: str | Actor | None) -> Ticket:
        wf = self._workflow
        actor = self._actor(by, Role.AGENT)
        source_batch, _ = self._begin(self._store.get(command.ticket_id))
        target_batch, _ = self._begin(self._store.get(command.into_id))
        source, target = source_batch.ticket, target_batch.ticket
        for ticket in (source, target):
            if wf.is_locked(ticket.status):
                raise TicketLockedError(ticket_id=ticket.id, status=ticket.status, command="merge")
        dest = wf.next_status(source, "merge")
        at = self._now(max(source.updated_at, target.updated_at))
        moved: list[Message] = []
        if source.description:
            customer = self._customer(None, source)
            moved.append(Message(at=source.created_at, author=customer, body=source.description))
        moved.extend(source.messages)
        source_batch.emit(EventKind.MERGED, actor, dest, at, {"into": target.id})
        target_batch.emit(
            EventKind.MERGE_RECEIVED,
            actor,
            target.status,
            at,
            {"source": source.id, "messages": tuple(moved)},
        )
        changes = tuple(
            self._change(batch)
            # The target stays open: keep its due time (a postponed target must still wake).
            for batch in (target_batch, source_batch)
        )
        self._store.commit(changes)
        if self._subscribers:
            self._publish(*changes)
        return changes[0].ticket

    def _change(self, batch: Batch) -> Change:
        ticket = batch.ticket
        due_at, queue = self._schedule(ticket)
        outbox = self._outbox_of(ticket, len(batch.events))
        return Change(ticket, batch.version - 1, due_at=due_at, outbox=outbox, queue=queue)

    def _purge(self, command: Purge, by: str | Actor | None) -> Ticket:
        actor = self._actor(by, Role.AGENT)
        ticket = self._store.get(command.ticket_id)
        if self._workflow.status(ticket.status).final:
            raise TicketLockedError(ticket_id=ticket.id, status=ticket.status, command="purge")
        batch, at = self._begin(ticket)
        dest = self._workflow.next_status(batch.ticket, "purge")
        batch.emit(EventKind.PURGED, actor, dest, at)
        # Nothing of the erased data may stay: the whole timeline is rewritten.
        tombstone = Ticket.rebuild(map(scrub_event, batch.ticket.timeline))
        change = Change(
            tombstone,
            ticket.version,
            rewrite=True,
            outbox=self._outbox_of(tombstone, len(batch.events)),
        )
        self._store.commit((change,))
        if self._subscribers:
            self._publish(change)
        return tombstone

    # --- creating -------------------------------------------------------------------

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
        by: str | None = None,
    ) -> Ticket:
        """Create a ticket in the workflow's initial status (`commands.Open`).

        Args:
            subject: One-line summary.
            requester: The customer.
            description: The customer's request.
            priority: A `Priority` or its name.
            channel: Where it came from.
            assignee: Agent id to assign it to.
            department: Department to assign it to.
            tags: Initial tags.
            custom_fields: Initial custom fields (JSON values).
            parent_id: The ticket this one follows up (must exist).
            by: Who created it; defaults to the requester (as customer).

        Raises:
            InvalidInputError: an argument is invalid (``field`` names it).
            TicketNotFound: ``parent_id`` names no ticket.
        """
        return self.execute(
            Open(
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
            ),
            by=by,
        )

    # --- conversation ---------------------------------------------------------------

    def agent_reply(self, ticket_id: str, body: str, *, by: str) -> Ticket:
        """Record a public agent reply (LiveAgent: it becomes Answered; `commands.AgentReply`).

        Raises:
            TicketLockedError: the ticket is locked.
            TransitionError: the workflow allows no reply in this status.
        """
        return self.execute(AgentReply(ticket_id=ticket_id, body=body), by=by)

    def add_note(self, ticket_id: str, body: str, *, by: str) -> Ticket:
        """Add an internal note (private, no status change unless the workflow maps ``note``).

        The command is `commands.Note` (named ``note``).

        Raises:
            TicketLockedError: the ticket is locked.
        """
        return self.execute(Note(ticket_id=ticket_id, body=body), by=by)

    def customer_reply(self, ticket_id: str, body: str, *, by: str | None = None) -> Ticket:
        """Record a customer reply and return the ticket it landed on (`commands.CustomerReply`).

        On an open ticket the workflow decides the new status (LiveAgent: Open). A
        reply to a merged ticket goes to the ticket it was merged into. A reply to
        a closed ticket follows the workflow's ``closed_policy``: it opens a linked
        follow-up ticket (returned), reopens the ticket within ``reopen_window``,
        or is refused.

        Args:
            ticket_id: The ticket.
            body: The message.
            by: The customer's id; defaults to the requester's e-mail or name.

        Raises:
            TicketLockedError: the ticket is purged, or closed with policy ``refuse``.
            TransitionError: the workflow allows no reply in this status.
        """
        return self.execute(CustomerReply(ticket_id=ticket_id, body=body), by=by)

    # --- assignment and fields ---------------------------------------------------------

    def assign(
        self,
        ticket_id: str,
        agent: str | None | Keep = KEEP,
        *,
        department: str | None | Keep = KEEP,
        by: str | None = None,
    ) -> Ticket:
        """Assign the ticket to an agent and/or a department (``None`` unassigns).

        The command is `commands.Assign`.

        Arguments left out are unchanged; if nothing changes, nothing is recorded.

        Raises:
            TicketLockedError: the ticket is locked.
        """
        return self.execute(Assign(ticket_id=ticket_id, agent=agent, department=department), by=by)

    def set_priority(
        self, ticket_id: str, priority: Priority | str, *, by: str | None = None
    ) -> Ticket:
        """Change the priority (no event if it is already ``priority``; `commands.SetPriority`).

        Raises:
            InvalidInputError: unknown priority.
            TicketLockedError: the ticket is locked.
        """
        return self.execute(SetPriority(ticket_id=ticket_id, priority=priority), by=by)

    def add_tags(self, ticket_id: str, *tags: str, by: str | None = None) -> Ticket:
        """Add tags (those already present are ignored; `commands.AddTags`).

        Raises:
            TicketLockedError: the ticket is locked.
        """
        return self.execute(AddTags(ticket_id=ticket_id, tags=tags), by=by)

    def remove_tags(self, ticket_id: str, *tags: str, by: str | None = None) -> Ticket:
        """Remove tags (those absent are ignored; `commands.RemoveTags`).

        Raises:
            TicketLockedError: the ticket is locked.
        """
        return self.execute(RemoveTags(ticket_id=ticket_id, tags=tags), by=by)

    def set_field(self, ticket_id: str, name: str, value: Any, *, by: str | None = None) -> Ticket:
        """Set a custom field to a JSON value (`commands.SetField`).

        Raises:
            InvalidInputError: ``value`` is not JSON-serialisable.
            TicketLockedError: the ticket is locked.
        """
        _text(name, "name", allow_empty=False)  # this method's own name for the field
        return self.execute(SetField(ticket_id=ticket_id, field=name, value=value), by=by)

    # --- status commands ---------------------------------------------------------------

    def resolve(self, ticket_id: str, *, by: str | None = None) -> Ticket:
        """Resolve the ticket (it stays open for follow-up until closed; `commands.Resolve`)."""
        return self.execute(Resolve(ticket_id=ticket_id), by=by)

    def reopen(self, ticket_id: str, *, by: str | None = None) -> Ticket:
        """Reopen a resolved ticket (`commands.Reopen`)."""
        return self.execute(Reopen(ticket_id=ticket_id), by=by)

    def close(self, ticket_id: str, *, by: str | None = None) -> Ticket:
        """Close the ticket; it is locked from then on (`commands.Close`)."""
        return self.execute(Close(ticket_id=ticket_id), by=by)

    def confirm_resolution(
        self, ticket_id: str, rating: int | None = None, *, by: str | None = None
    ) -> Ticket:
        """Record the customer's confirmation that a resolved ticket is solved (`commands.Confirm`).

        The confirmation (and its rating) is a ``confirmed`` event that leaves the
        status alone; the confirmation rule (`ticketflow.rules.confirmation`, among
        every preset's default rules) then closes the ticket in the same commit.
        Without that rule the ticket stays resolved, with the rating recorded.

        Args:
            ticket_id: The ticket.
            rating: Optional satisfaction rating, 1 (worst) to 5 (best).
            by: The customer's id; defaults to the requester's e-mail or name.

        Raises:
            InvalidInputError: ``rating`` is not an integer from 1 to 5.
            TicketLockedError: the ticket is locked.
            TransitionError: the ticket is not resolved.
        """
        return self.execute(Confirm(ticket_id=ticket_id, rating=rating), by=by)

    def postpone(self, ticket_id: str, until: datetime, *, by: str | None = None) -> Ticket:
        """Postpone the ticket until ``until`` (stored as ``postponed_until``; `commands.Postpone`).

        Raises:
            InvalidInputError: ``until`` is naive or not in the future.
        """
        return self.execute(Postpone(ticket_id=ticket_id, until=until), by=by)

    def wake(self, ticket_id: str, *, by: str | None = None) -> Ticket:
        """Wake a postponed ticket (LiveAgent: back to New if it was New; `commands.Wake`)."""
        return self.execute(Wake(ticket_id=ticket_id), by=by)

    def mark_spam(self, ticket_id: str, *, by: str | None = None) -> Ticket:
        """Mark the ticket as spam, restorably (`commands.Spam`, named ``spam``)."""
        return self.execute(Spam(ticket_id=ticket_id), by=by)

    def delete(self, ticket_id: str, *, by: str | None = None) -> Ticket:
        """Delete the ticket softly (restorable with `restore`; `commands.Delete`)."""
        return self.execute(Delete(ticket_id=ticket_id), by=by)

    def restore(self, ticket_id: str, *, by: str | None = None) -> Ticket:
        """Restore a deleted or spam ticket (`commands.Restore`)."""
        return self.execute(Restore(ticket_id=ticket_id), by=by)

    def fire(self, ticket_id: str, trigger: str, *, by: str | None = None) -> Ticket:
        """Fire any trigger of the workflow (for statuses no built-in command reaches).

        A trigger that a command maps to is recorded as that command (firing
        Zendesk's ``solve`` is a ``resolve``); others as a ``transitioned`` event
        (`commands.Fire`).

        Raises:
            InvalidInputError: the trigger belongs to a command that takes arguments
                (a reply, a note, postpone, merge, purge): call that method instead.
            TicketLockedError: the ticket is locked.
            TransitionError: the trigger is not allowed here.
        """
        return self.execute(Fire(ticket_id=ticket_id, trigger=trigger), by=by)

    def merge(self, source_id: str, into_id: str, *, by: str | None = None) -> Ticket:
        """Merge ``source_id`` into ``into_id``; return the target (`commands.Merge`).

        The source's description and messages are copied into the target's thread
        (in time order); the source moves to the merged status, linked by
        ``merged_into``, and is locked. Both timelines record the merge; both
        tickets are committed atomically.

        Raises:
            InvalidInputError: a ticket merged into itself.
            TicketLockedError: either ticket is locked.
            TransitionError: the workflow does not allow merging the source here.
        """
        return self.execute(Merge(ticket_id=source_id, into_id=into_id), by=by)

    def purge(self, ticket_id: str, *, by: str | None = None) -> Ticket:
        """Erase the ticket's personal data for good, leaving an anonymous tombstone.

        The requester, subject, description, message bodies, custom fields and
        customer identities are erased from the ticket and from every event of its
        timeline; statuses, times, roles and agent ids stay, so metrics stay right.
        Allowed on closed tickets too (data protection outranks the lock;
        `commands.Purge`).

        Raises:
            TicketLockedError: the ticket is already purged (final).
        """
        return self.execute(Purge(ticket_id=ticket_id), by=by)

    # --- time rules and subscribers -------------------------------------------------------

    def run_due(
        self,
        now: datetime | None = None,
        *,
        batch: int = 500,
        lease: timedelta = _DEFAULT_LEASE,
    ) -> int:
        """Fire every time rule due by ``now`` (default: the clock), earliest first.

        Only tickets whose stored due time has passed are read, through the store's
        due index, so the cost grows with the due work, not with the tickets stored.
        Tickets are claimed in batches (`TicketStore.claim_due`) for ``lease``, so
        any number of processes can run ``run_due`` on one store: each due ticket
        is handed to one of them, and the version check on commit makes sure no
        rule fires twice even if a lease runs out. Firings are committed in groups
        of up to 100 tickets, one transaction each (a ticket changed since its
        claim is dropped from its group, the rest are saved). Events are stamped
        with the due time (or the ticket's last event time, if later) and record
        ``processed_at``. A time rule whose actions change nothing (an ``assign``
        to the current assignee) records a ``transitioned`` event that leaves the
        status, marked ``no_change``, and is done for its episode. A ticket whose
        event rules loop (`RuleLoopError`) is logged and skipped, and stays due (it
        is retried once its claim ends). Any other failure of one ticket (an
        exception from a custom condition or guard, a change the store refuses)
        is logged with the ticket's id and retried later with back-off: its due
        time moves as far again as it is overdue (1 minute to 1 hour). One
        ticket never holds up the others.

        Returns:
            How many rules fired.
        """
        _validate.batch_size(batch)
        _validate.lease(lease)
        if now is not None:
            _validate.aware_time(now, "now")
        now = self._now() if now is None else require_aware(now, "now")
        fired = 0
        store = self._store
        # Tickets left due in this run: the claim keeps them out of later batches,
        # unless the lease is shorter than the run (zero), when they come back.
        skipped: set[str] = set()
        while True:
            due = [t for t in store.claim_due(now, batch, lease) if t.id not in skipped]
            if not due:
                return fired
            group: list[Change] = []
            for ticket in due:
                try:
                    result = self._fire_due(ticket, now)
                    if result is not None:
                        new, events = result
                        change = self._change(Batch(new, events))
                except RuleLoopError:
                    # Its rules undo each other: nothing is saved, the ticket stays
                    # due (and claimed until the lease ends), the others still run.
                    _LOG.exception("ticket %s skipped by run_due: its rules loop", ticket.id)
                    skipped.add(ticket.id)
                    continue
                except Exception:  # noqa: BLE001 - one ticket's failure must not stop the sweep
                    _LOG.exception("ticket %s failed in run_due; retried later", ticket.id)
                    skipped.add(ticket.id)
                    self._back_off(ticket, now)
                    continue
                if result is None:
                    # The stored due time is stale (rules or policies changed; see
                    # reschedule): the claim keeps it out of this run.
                    skipped.add(ticket.id)
                    continue
                group.append(change)
                if len(group) >= _COMMIT_GROUP:
                    fired += self._commit_group(group, now, skipped)
                    group = []
            fired += self._commit_group(group, now, skipped)

    def _back_off(self, ticket: Ticket, now: datetime) -> None:
        """Move a failing ticket's due time later: as long again as it is overdue (1 min to 1 h).

        The delay doubles with each failure without any state: a ticket due at
        ``D`` that fails at ``D + x`` is retried at ``D + 2x``. Only the stored due
        time moves, so the next success fires everything that is due. When even
        its schedule cannot be computed (the failure is in its rules), the ticket
        is retried when its claim ends.
        """
        try:
            due_at, queue = self._schedule(ticket)
        except Exception:  # noqa: BLE001 - the claim's lease retries it anyway
            _LOG.warning("ticket %s: retried when its claim ends", ticket.id)
            return
        overdue = now - due_at if due_at is not None else _BACK_OFF_MIN
        delay = min(max(overdue, _BACK_OFF_MIN), _BACK_OFF_MAX)
        self._store.reindex([IndexUpdate(ticket.id, ticket.version, now + delay, queue)])

    def _fire_due(self, ticket: Ticket, now: datetime) -> tuple[Ticket, list[Event]] | None:
        """Fire what is due first by ``now``; return the new ticket and its events."""
        batch = Batch(ticket)
        if not self._fire_due_into(batch, now):
            return None
        return batch.ticket, batch.events

    def _fire_due_into(self, batch: Batch, now: datetime) -> bool:
        """Fire what is due first by ``now`` into ``batch``; return whether anything fired.

        The SLA stages due before the next time rule fire first, else that rule.
        """
        if self._sla is not None:
            ticket = batch.ticket
            due = self._rules.next_due(ticket) if self._rules.has_time_rules else None
            if self._sla.fire_into(batch, now, None if due is None else due.at):
                return True
            if due is None:
                return False
            return self._rules.fire_into(batch, now, due)
        return self._rules.fire_into(batch, now)

    def _commit_group(self, group: list[Change], now: datetime, skipped: set[str]) -> int:
        """Commit rule firings of distinct tickets together; return how many were saved.

        One transaction for many firings: on a durable store the cost of a sweep is
        one sync per group, not per ticket. If the group is refused (a ticket
        changed since it was claimed, by a command or another worker whose lease
        ran out, or one change is refused by the store), it is saved ticket by
        ticket: a stale ticket is dropped (the commit that won set its due time
        afresh), a refused one is logged with its id and retried later with
        back-off; the others are saved.
        """
        if not group:
            return 0
        store = self._store
        try:
            store.commit(group)
            saved = group
        except StoreError:
            saved = []
            for change in group:
                ticket_id = change.ticket.id
                try:
                    store.commit((change,))
                except ConflictError:
                    _LOG.info("ticket %s changed while due; left to its new due time", ticket_id)
                    continue
                except StoreError:
                    _LOG.exception(
                        "ticket %s could not be saved by run_due; retried later", ticket_id
                    )
                    skipped.add(ticket_id)
                    self._back_off(store.get(ticket_id), now)
                    continue
                saved.append(change)
        if self._subscribers and saved:
            self._publish(*saved)
        return len(saved)

    def dispatch(
        self,
        *,
        limit: int = 100,
        lease: timedelta = _DEFAULT_LEASE,
        now: datetime | None = None,
    ) -> int:
        """Deliver pending outbox entries to the subscribers; return how many were delivered.

        Entries are claimed from the store (`TicketStore.claim_outbox`) in batches of
        ``limit`` until none is left, handed to every subscriber of their kind as
        ``callback(ticket, event)`` (the ticket as stored now), and acknowledged
        when no subscriber raised. An entry a subscriber failed on stays pending
        and is handed out again after ``lease``: delivery is at least once, so
        subscribers should be idempotent (the pair ``(ticket.id, position)``,
        or the event's time and kind, identifies a delivery). Entries of kinds
        no subscriber asked for are acknowledged undelivered.

        Raises:
            InvalidInputError: the help desk has no subscriber to deliver to.
        """
        _validate.batch_size(limit, "limit")
        _validate.lease(lease)
        if now is not None:
            _validate.aware_time(now, "now")
        if not self._subscribers:
            raise InvalidInputError(
                "dispatch needs a subscriber: call subscribe() first", field="subscribers"
            )
        now = self._now() if now is None else require_aware(now, "now")
        store = self._store
        delivered = 0
        while True:
            entries = store.claim_outbox(now, limit, lease)
            if not entries:
                return delivered
            tickets: dict[str, Ticket] = {}
            done: list[tuple[str, int]] = []
            for entry in entries:
                ticket = tickets.get(entry.ticket_id)
                if ticket is None:
                    ticket = tickets[entry.ticket_id] = store.get(entry.ticket_id)
                if self._deliver(ticket, ticket.timeline[entry.position]):
                    done.append((entry.ticket_id, entry.position))
                    delivered += 1
            if done:
                store.ack_outbox(done)

    def run_until(self, until: datetime) -> int:
        """Move a `FakeClock` through every due time up to ``until``, firing rules on the way.

        Returns:
            How many rules fired.

        Raises:
            InvalidInputError: the help desk's clock is not a `FakeClock`.
        """
        _validate.aware_time(until, "until")
        clock = self._clock
        if not isinstance(clock, FakeClock):
            raise InvalidInputError("run_until needs a FakeClock", field="clock")
        until = require_aware(until, "until")
        fired = 0
        while True:
            next_at = self._store.next_due_at()
            if next_at is None or next_at > until:
                break
            if next_at <= clock.now():
                # A ticket that stays due (its rules loop, or its due time is stale)
                # would hold the clock here: sweep the rest of the way in one go.
                fired += self.run_due(until)
                break
            clock.set(next_at)
            fired += self.run_due()
        clock.set(max(until, clock.now()))
        return fired

    def next_due(self, ticket_id: str) -> Due | None:
        """Return what the ticket has due next: a time rule, or an SLA stage.

        An SLA stage is named ``sla:<metric>:<stage>`` (``warning``, ``breach``
        or ``escalation``).
        """
        _validate.ticket_id(ticket_id)
        ticket = self._store.get(ticket_id)
        due = self._rules.next_due(ticket)
        if self._sla is not None:
            stage = self._sla.next_stage(ticket)
            if stage is not None and (due is None or stage[0] < due.at):
                return Due(*stage)
        return due

    def sla_state(self, ticket_id: str, now: datetime | None = None) -> SlaState:
        """Return the ticket's SLA state at ``now`` (default: the clock).

        Targets, due times, time left or overdue, paused or not, met or breached,
        per metric (see `ticketflow.sla.sla_state`). A ``now`` before the ticket's
        creation (a wall clock behind the one that stamped it) reads as its creation.

        Raises:
            TicketNotFound: no such ticket.
            InvalidInputError: the help desk has no SLA policies, or ``now`` is naive.
        """
        if now is not None:
            _validate.aware_time(now, "now")
        _validate.ticket_id(ticket_id)
        if self._sla is None:
            raise InvalidInputError(
                "this help desk has no SLA policies: pass Helpdesk(sla=...) or put "
                "[[sla]] policies in the workflow",
                field="sla",
            )
        ticket = self._store.get(ticket_id)
        at = self._now() if now is None else require_aware(now, "now")
        return sla_state(ticket, self._workflow, self._sla.policies, max(at, ticket.created_at))

    def queue(
        self,
        *,
        agent: str | None = None,
        department: str | None = None,
        limit: int = 50,
    ) -> list[Ticket]:
        """Return the tickets waiting on an agent, most urgent first (the "to solve" view).

        Waiting on an agent: a status of category ``new`` or ``open``. The order:
        the nearest SLA due time of the ticket's running clocks (breached ones
        first, tickets without an SLA clock last), then how long the customer
        has waited (longest first), then priority (highest first), then age. The
        store answers from its queue index: the cost grows with ``limit``, not
        with the number of tickets.

        Args:
            agent: Only tickets assigned to this agent.
            department: Only tickets of this department.
            limit: At most this many (1 to 10,000).

        Raises:
            InvalidInputError: ``limit`` is out of range, or ``agent`` or
                ``department`` is not a non-empty string.
        """
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= _QUEUE_MAX:
            raise InvalidInputError(
                f"limit must be a whole number from 1 to 10000, got {_validate.describe(limit)}",
                field="limit",
            )
        return self._store.queue(
            assignee=_optional_text(agent, "agent"),
            department=_optional_text(department, "department"),
            limit=limit,
        )

    def reschedule(self, *, batch: int = 500) -> int:
        """Recompute the stored due times and queue keys; return how many tickets were updated.

        Due times and queue keys are stored with each commit; a help desk started
        with new rules, SLA policies or calendars computes new ones on each
        ticket's next commit. Call this once after such a change (or after
        upgrading a store) to bring the others up to date now. Tickets are read
        in their stored order and updated with `TicketStore.reindex` in batches
        of ``batch``, each applied only if the ticket did not change meanwhile
        (a concurrent commit computed fresh values itself). Nothing is added to any timeline.
        """
        _validate.batch_size(batch)
        wf = self._workflow
        # Closed tickets too: a time rule may notify about them (a survey after closing).
        live = frozenset(s.name for s in wf.statuses if not s.final)
        updates: list[IndexUpdate] = []
        changed = 0
        for ticket in self._store.find(TicketQuery(statuses=live)):
            due_at, queue = self._schedule(ticket)
            updates.append(IndexUpdate(ticket.id, ticket.version, due_at, queue))
            if len(updates) >= batch:
                changed += self._store.reindex(updates)
                updates = []
        if updates:
            changed += self._store.reindex(updates)
        return changed

    def subscribe(
        self,
        callback: Callable[[Ticket, Event], None],
        kinds: Iterable[EventKind | str] | None = None,
    ) -> Callable[[], None]:
        """Call ``callback(ticket, event)`` after each committed event (of ``kinds``, if given).

        Delivery is in-process and after the commit; a callback's exception is
        logged, not raised. Returns a function that unsubscribes.
        """
        if not callable(callback):
            raise InvalidInputError("callback must be callable", field="callback")
        if kinds is not None:
            _validate.names(kinds, "kinds", allowed=_EVENT_KINDS)
        entry = (callback, frozenset(EventKind(k) for k in kinds or ()))
        self._subscribers.append(entry)

        def unsubscribe() -> None:
            if entry in self._subscribers:
                self._subscribers.remove(entry)

        return unsubscribe

    def simulate(self, rules: Iterable[Rule], since: datetime, until: datetime) -> Simulation:
        """Replay the stored tickets' history against ``rules``; report what they would do.

        Each stored ticket's own commands (every event not made by a rule) are
        replayed at their original times on a private in-memory copy with a fake
        clock, with ``rules`` instead of this help desk's rules, and the time rules
        are run in between. The help desk's SLA policies run in the replay too (their
        escalations change what rules see) but their events are not reported.
        Nothing stored changes. Merges and purges end a ticket's replay (they
        involve other tickets or erased data).

        Args:
            rules: The rule set to try.
            since: Report rule actions from this time on.
            until: Replay up to this time.

        Returns:
            The rule actions between ``since`` and ``until``, in time order, and the
            recorded commands the new rules made impossible.
        """
        _validate.aware_time(since, "since")
        _validate.aware_time(until, "until")
        since = require_aware(since, "since")
        until = require_aware(until, "until")
        rules = tuple(rules)
        RuleSet(self._workflow, rules)  # fail early, naming the bad rule
        actions: list[SimulatedAction] = []
        refused: list[SimulatedAction] = []
        for ticket in self._store.find(TicketQuery()):
            if ticket.created_at > until:
                continue
            replay = _Replay(self._workflow, rules, ticket, self.sla)
            refused.extend(replay.run(until))
            actions.extend(a for a in replay.rule_actions() if since <= a.at <= until)
        actions.sort(key=lambda a: (a.at, a.ticket_id))
        return Simulation(actions=tuple(actions), refused=tuple(refused))

    # --- queries -------------------------------------------------------------------------

    def get(self, ticket_id: str) -> Ticket:
        """Return the ticket.

        Raises:
            TicketNotFound: no such ticket.
        """
        _validate.ticket_id(ticket_id)
        return self._store.get(ticket_id)

    def timeline(self, ticket_id: str) -> tuple[Event, ...]:
        """Return the ticket's events, oldest first.

        Raises:
            TicketNotFound: no such ticket.
        """
        _validate.ticket_id(ticket_id)
        return self._store.events(ticket_id)

    def allowed(self, ticket_id: str) -> tuple[str, ...]:
        """Return the commands the workflow allows on the ticket in its status, sorted.

        Guards are not evaluated. On a locked ticket only what the lock lets
        through is listed: ``customer_reply`` (unless the closed policy refuses
        it) and ``purge`` (unless the ticket is already purged).
        """
        _validate.ticket_id(ticket_id)
        ticket = self._store.get(ticket_id)
        wf = self._workflow
        if not wf.is_locked(ticket.status):
            return wf.allowed(ticket.status)
        if wf.status(ticket.status).final:
            return ()
        through = {"purge"} & set(wf.allowed(ticket.status))
        if wf.closed_policy is not ClosedPolicy.REFUSE:
            through.add("customer_reply")
        return tuple(sorted(through))

    def find(
        self,
        *,
        status: str | Iterable[str] | None = None,
        category: Category | str | Iterable[Category | str] | None = None,
        assignee: str | None = None,
        department: str | None = None,
        priority: Priority | str | None = None,
        tag: str | None = None,
        limit: int | None = None,
    ) -> list[Ticket]:
        """Return the tickets matching every given criterion, oldest first.

        Args:
            status: A status name or several.
            category: A `Category` or several (converted to statuses by the workflow).
            assignee: Agent id.
            department: Department.
            priority: Priority.
            tag: A tag the ticket carries.
            limit: At most this many.

        Raises:
            WorkflowError: an unknown status.
            InvalidInputError: an unknown category.
        """
        if status is not None:
            status = _validate.names(status, "status")
        if category is not None:
            category = _validate.names(category, "category")
        _validate.optional_text(assignee, "assignee")
        _validate.optional_text(department, "department")
        _validate.optional_text(tag, "tag")
        _validate.optional_limit(limit)
        statuses: frozenset[str] | None = None
        if status is not None:
            names = {status} if isinstance(status, str) else set(status)
            for name in names:
                self._workflow.status(name)
            statuses = frozenset(names)
        if category is not None:
            cats = [category] if isinstance(category, str) else list(category)
            try:
                in_cats = self._workflow.statuses_in(*cats)
            except ValueError as exc:
                raise InvalidInputError(f"unknown category in {cats!r}", field="category") from exc
            statuses = in_cats if statuses is None else statuses & in_cats
        query = TicketQuery(
            statuses=statuses,
            assignee=assignee,
            department=department,
            priority=None if priority is None else Priority.parse(priority),
            tag=tag,
            limit=limit,
        )
        return self._store.find(query)

    def __repr__(self) -> str:
        return f"Helpdesk(workflow={self._workflow.name!r}, store={self._store!r})"


@final
@attrs.frozen(kw_only=True, slots=True)
class SimulatedAction:
    """One thing a simulated rule did (or one recorded command it made impossible).

    Attributes:
        ticket_id: The ticket (a follow-up gets an id of its own).
        rule: The rule's name ("" for a refused recorded command).
        kind: The event kind.
        at: When.
        status_before: The status before.
        status_after: The status after.
        error: For a refused command, why it was refused.
    """

    ticket_id: str
    rule: str
    kind: EventKind
    at: datetime
    status_before: str
    status_after: str
    error: str = ""


@final
@attrs.frozen(kw_only=True, slots=True)
class Simulation:
    """What `Helpdesk.simulate` found: the rules' actions and the commands they blocked."""

    actions: tuple[SimulatedAction, ...]
    refused: tuple[SimulatedAction, ...]


_REPLAY_STOP: Final = frozenset({EventKind.MERGED, EventKind.MERGE_RECEIVED, EventKind.PURGED})


class _Replay:
    """One ticket's recorded commands, replayed on a private help desk."""

    def __init__(
        self,
        workflow: Workflow,
        rules: tuple[Rule, ...],
        ticket: Ticket,
        sla: SlaPolicies | None,
    ) -> None:
        self.ticket = ticket
        self.clock = FakeClock(ticket.created_at)
        ids = UlidFactory()
        first = [ticket.id]

        def new_id(at: datetime) -> str:
            return first.pop() if first else ids(at)

        self.desk = Helpdesk(
            workflow,
            MemoryStore(),
            self.clock,
            id_factory=new_id,
            rules=rules,
            sla=() if sla is None else sla,
        )

    def run(self, until: datetime) -> list[SimulatedAction]:
        refused = []
        for event in self.ticket.timeline:
            if event.at > until or event.kind in _REPLAY_STOP:
                break
            if _by_rule(event):
                continue
            self.desk.run_until(event.at)
            try:
                self._command(event)
            except TicketflowError as exc:
                refused.append(
                    SimulatedAction(
                        ticket_id=self.ticket.id,
                        rule="",
                        kind=event.kind,
                        at=event.at,
                        status_before=event.status_before,
                        status_after=event.status_after,
                        error=str(exc),
                    )
                )
        self.desk.run_until(max(until, self.clock.now()))
        return refused

    def rule_actions(self) -> list[SimulatedAction]:
        return [
            SimulatedAction(
                ticket_id=t.id,
                rule=e.data["rule"],
                kind=e.kind,
                at=e.at,
                status_before=e.status_before,
                status_after=e.status_after,
            )
            for t in self.desk.store.find(TicketQuery())
            for e in t.timeline
            # The SLA's own events are not rules; a firing that changed nothing did nothing.
            if _by_rule(e) and e.data["rule"] != "sla" and not is_no_change(e)
        ]

    def _command(self, event: Event) -> None:
        """Run the recorded command again: the command class that records its kind."""
        cls = BY_KIND.get(event.kind)
        if cls is None:  # pragma: no cover - merge_received stops the replay first
            return
        if cls is Open:
            c = CreatedData.from_mapping(event.data)
            command: Command = Open(
                subject=c.subject,
                requester=c.requester,
                description=c.description,
                priority=c.priority,
                channel=c.channel,
                assignee=c.assignee,
                department=c.department,
                tags=frozenset(c.tags),
                custom_fields=c.custom_fields,
            )
        else:
            data = event.data
            kwargs: dict[str, Any] = {"ticket_id": self.ticket.id}
            for field in attrs.fields(cls):
                key = _DATA_KEYS.get(field.name, field.name)
                if key in data:
                    kwargs[field.name] = data[key]
                elif field.name == "body":  # an erased message
                    kwargs["body"] = ""
            command = cls(**kwargs)
        # The recorded actor, role included (``None``: the system, or the requester).
        actor = event.actor
        by = (
            None
            if actor == SYSTEM_ACTOR or (cls is Open and actor.role is Role.CUSTOMER)
            else actor
        )
        self.desk.execute(command, by=by)


_DATA_KEYS: Final = {"agent": "assignee", "field": "name", "into_id": "into"}
"""Where a command's field is found in the data of the event it records, when named otherwise."""


# Enum members as module constants: a lookup on the enum class is slow in a hot loop.
_AGENT_REPLIED: Final = EventKind.AGENT_REPLIED
_CUSTOMER_OR_CREATED: Final = frozenset({EventKind.CUSTOMER_REPLIED, EventKind.CREATED})


def _waiting_since(ticket: Ticket) -> datetime:
    """Since when the customer has been waiting for an agent (see `Ticket.waiting_since`)."""
    return ticket.waiting_since


def _by_rule(event: Event) -> bool:
    return event.actor.role is Role.SYSTEM and "rule" in event.data


_EVENT_KINDS: Final = frozenset(k.value for k in EventKind)


def _check_parts(workflow: object, clock: object, outbox: object) -> None:
    """Refuse a help desk's parts of the wrong type, naming the argument."""
    if workflow is not None and not isinstance(workflow, Workflow):
        raise InvalidInputError(
            f"workflow must be a Workflow, got {type(workflow).__name__}", field="workflow"
        )
    if clock is not None and not isinstance(clock, Clock):
        raise InvalidInputError(f"clock must be a Clock, got {type(clock).__name__}", field="clock")
    if outbox is not None:
        _validate.names(outbox, "outbox", allowed=_EVENT_KINDS)


_EXECUTE: Final[Mapping[type[Any], Callable[[Helpdesk, Any, str | Actor | None], Ticket]]] = {
    **dict.fromkeys(_DECIDE, Helpdesk._run),  # noqa: SLF001 - the pipeline's own table
    Open: Helpdesk._open,  # noqa: SLF001
    CustomerReply: Helpdesk._reply,  # noqa: SLF001
    Merge: Helpdesk._merge,  # noqa: SLF001
    Purge: Helpdesk._purge,  # noqa: SLF001
}
"""How `Helpdesk.execute` runs each command class."""
