"""The engine: command -> workflow decision -> events -> new ticket -> store."""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Any, Final, final

import attrs

from . import _validate
from ._apply import apply_event
from ._clock import Clock, FakeClock, SystemClock, require_aware
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
    check_json,
)
from ._scrub import scrub_event
from ._sla_runner import SlaRunner
from ._workflow import COMMAND_KINDS, Category, ClosedPolicy, Workflow
from .config import HelpdeskConfig
from .exceptions import (
    ConflictError,
    InvalidInputError,
    RuleLoopError,
    TicketflowError,
    TicketLockedError,
    TransitionError,
)
from .rules import Due, Rule, RuleSet
from .sla import SlaPolicies, SlaPolicy, SlaState, sla_state
from .stores import Change, IndexUpdate, MemoryStore, QueueKey, TicketQuery, TicketStore
from .stores._protocol import new_positions
from .workflows import liveagent

__all__ = ["Helpdesk", "SimulatedAction", "Simulation"]


class _Unset(enum.Enum):
    UNSET = enum.auto()


_UNSET: Final = _Unset.UNSET
_DEDICATED: Final = {
    "agent_reply": "agent_reply",
    "customer_reply": "customer_reply",
    "note": "add_note",
    "postpone": "postpone",
    "merge": "merge",
    "purge": "purge",
}
_ACTOR_CACHE_LIMIT: Final = 4096
_QUEUE_MAX: Final = 10_000
_tuple_new: Final = tuple.__new__
_WAITING: Final = frozenset({Category.NEW, Category.OPEN})  # waiting on an agent: the queue
_DEFAULT_LEASE: Final = timedelta(seconds=60)
_COMMIT_GROUP: Final = 100  # rule firings per transaction in run_due
_LOG: Final = logging.getLogger("ticketflow")


# The edge checks live in _validate; these names are the engine's shorthands for them.
_text: Final = _validate.text
_optional_text: Final = _validate.optional_text
_tags: Final = _validate.tags


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

    def _actor(self, actor_id: str | None, role: Role) -> Actor:
        if actor_id is None:
            return SYSTEM_ACTOR
        if type(actor_id) is not str:
            _text(actor_id, "by", allow_empty=False)
        key = (actor_id, role)
        actor = self._actors.get(key)
        if actor is None:
            _text(actor_id, "by", allow_empty=False)
            if len(self._actors) >= _ACTOR_CACHE_LIMIT:
                self._actors.clear()
            actor = self._actors[key] = Actor(actor_id, role)
        return actor

    def _check_unlocked(self, ticket: Ticket, command: str) -> None:
        if self._workflow.is_locked(ticket.status):
            raise TicketLockedError(ticket_id=ticket.id, status=ticket.status, command=command)

    def _append(
        self,
        ticket: Ticket,
        kind: EventKind,
        actor: Actor,
        status_after: str,
        data: Mapping[str, Any] = EMPTY,
    ) -> Ticket:
        """Build the event, apply it, and commit the new snapshot."""
        event = Event(
            kind=kind,
            at=self._now(ticket.timeline[-1].at),
            actor=actor,
            status_before=ticket.status,
            status_after=status_after,
            data=data,
            version=ticket.version + 1,
        )
        return self._settle(ticket.version, apply_event(ticket, event), [event])

    def _settle(self, expected: int, ticket: Ticket, events: list[Event]) -> Ticket:
        """Run the event rules, compute the next due time, commit, and publish."""
        if self._rules.rules:
            ticket = self._rules.after_command(ticket, events, events[-1].at)
        due_at, queue = self._schedule(ticket)
        outbox = self._outbox_of(ticket, len(events))
        change = Change(ticket, expected, False, due_at, outbox, queue)  # noqa: FBT003
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

    def _command(
        self,
        ticket_id: str,
        command: str,
        actor: Actor,
        data: Mapping[str, Any] = EMPTY,
    ) -> Ticket:
        ticket = self._store.get(ticket_id)
        self._check_unlocked(ticket, command)
        dest = self._workflow.next_status(ticket, command)
        return self._append(ticket, COMMAND_KINDS[command], actor, dest, data)

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
        """Create a ticket in the workflow's initial status.

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
        if not isinstance(requester, Requester):
            raise InvalidInputError(
                f"requester must be a Requester, got {type(requester).__name__}", field="requester"
            )
        if parent_id is not None:
            _validate.ticket_id(parent_id, "parent_id")
        subject = _text(subject, "subject")
        description = _text(description, "description")
        channel = _text(channel, "channel", allow_empty=False)
        prio = Priority.parse(priority)
        assignee = _optional_text(assignee, "assignee")
        department = _optional_text(department, "department")
        tag_set = _tags(tags)
        fields: Mapping[str, Any] = EMPTY
        if custom_fields:
            if not isinstance(custom_fields, Mapping) or not all(
                isinstance(k, str) for k in custom_fields
            ):
                raise InvalidInputError(
                    "custom_fields must map names to values", field="custom_fields"
                )
            check_json(dict(custom_fields), "custom_fields")
            fields = MappingProxyType(dict(custom_fields))
        if parent_id is not None:
            self._store.get(parent_id)
        actor = (
            self._actor(by, Role.AGENT)
            if by is not None
            else self._actor(requester.email or requester.name, Role.CUSTOMER)
        )
        at = self._now()
        ticket_id = self._ids(at)
        initial = self._workflow.initial
        event = Event(
            kind=EventKind.CREATED,
            at=at,
            actor=actor,
            status_before=initial,
            status_after=initial,
            data=CreatedData(
                id=ticket_id,
                subject=subject,
                description=description,
                requester=requester,
                priority=prio,
                channel=channel,
                assignee=assignee,
                department=department,
                tags=tuple(sorted(tag_set)),
                custom_fields=fields,
                parent_id=parent_id,
            ),
            version=1,
        )
        return self._settle(0, Ticket.rebuild((event,)), [event])

    # --- conversation ---------------------------------------------------------------

    def agent_reply(self, ticket_id: str, body: str, *, by: str) -> Ticket:
        """Record a public agent reply (LiveAgent: the ticket becomes Answered).

        Raises:
            TicketLockedError: the ticket is locked.
            TransitionError: the workflow allows no reply in this status.
        """
        _validate.ticket_id(ticket_id)
        body = _text(body, "body")
        return self._command(ticket_id, "agent_reply", self._actor(by, Role.AGENT), {"body": body})

    def add_note(self, ticket_id: str, body: str, *, by: str) -> Ticket:
        """Add an internal note (private, no status change unless the workflow maps ``note``).

        Raises:
            TicketLockedError: the ticket is locked.
        """
        _validate.ticket_id(ticket_id)
        body = _text(body, "body")
        return self._command(ticket_id, "note", self._actor(by, Role.AGENT), {"body": body})

    def customer_reply(self, ticket_id: str, body: str, *, by: str | None = None) -> Ticket:
        """Record a customer reply and return the ticket it landed on.

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
        _validate.ticket_id(ticket_id)
        _validate.optional_text(by, "by")
        body = _text(body, "body")
        ticket = self._store.get(ticket_id)
        # The customer is the requester of the ticket they replied to, even when
        # the reply is redirected to the ticket it was merged into.
        actor = self._actor(by or ticket.requester.email or ticket.requester.name, Role.CUSTOMER)
        wf = self._workflow
        if wf.is_locked(ticket.status):
            # Merged tickets are locked, so only a locked ticket can need redirecting.
            merged_into = ticket.merged_into
            followed = {ticket.id}
            while merged_into is not None and merged_into not in followed:
                followed.add(merged_into)
                ticket = self._store.get(merged_into)
                merged_into = ticket.merged_into
            if wf.is_locked(ticket.status):
                return self._reply_to_locked(ticket, body, actor)
        if not wf.reopen_resolved and wf.category(ticket.status) is Category.RESOLVED:
            return self._append(
                ticket, EventKind.CUSTOMER_REPLIED, actor, ticket.status, {"body": body}
            )
        dest = wf.next_status(ticket, "customer_reply")
        return self._append(ticket, EventKind.CUSTOMER_REPLIED, actor, dest, {"body": body})

    def _reply_to_locked(self, ticket: Ticket, body: str, actor: Actor) -> Ticket:
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
            closed_at = ticket.status_entered_at
            window = wf.reopen_window
            if window is None or self._now() - closed_at <= window:
                dest = wf.next_status(ticket, "customer_reply")
                return self._append(ticket, EventKind.CUSTOMER_REPLIED, actor, dest, {"body": body})
        return self.open_ticket(
            subject=ticket.subject,
            requester=ticket.requester,
            description=body,
            priority=ticket.priority,
            channel=ticket.channel,
            assignee=ticket.assignee,
            department=ticket.department,
            tags=ticket.tags,
            parent_id=ticket.id,
            by=None,
        )

    # --- assignment and fields ---------------------------------------------------------

    def assign(
        self,
        ticket_id: str,
        agent: str | None | _Unset = _UNSET,
        *,
        department: str | None | _Unset = _UNSET,
        by: str | None = None,
    ) -> Ticket:
        """Assign the ticket to an agent and/or a department (``None`` unassigns).

        Arguments left out are unchanged; if nothing changes, nothing is recorded.

        Raises:
            TicketLockedError: the ticket is locked.
        """
        _validate.ticket_id(ticket_id)
        ticket = self._store.get(ticket_id)
        self._check_unlocked(ticket, "assign")
        data: dict[str, Any] = {}
        if not isinstance(agent, _Unset) and agent != ticket.assignee:
            data["assignee"] = _optional_text(agent, "agent")
        if not isinstance(department, _Unset) and department != ticket.department:
            data["department"] = _optional_text(department, "department")
        if not data:
            return ticket
        return self._append(
            ticket, EventKind.ASSIGNED, self._actor(by, Role.AGENT), ticket.status, data
        )

    def set_priority(
        self, ticket_id: str, priority: Priority | str, *, by: str | None = None
    ) -> Ticket:
        """Change the priority (no event if it is already ``priority``).

        Raises:
            InvalidInputError: unknown priority.
            TicketLockedError: the ticket is locked.
        """
        _validate.ticket_id(ticket_id)
        prio = Priority.parse(priority)
        ticket = self._store.get(ticket_id)
        self._check_unlocked(ticket, "set_priority")
        if prio is ticket.priority:
            return ticket
        return self._append(
            ticket,
            EventKind.PRIORITY_CHANGED,
            self._actor(by, Role.AGENT),
            ticket.status,
            {"priority": prio.label},
        )

    def add_tags(self, ticket_id: str, *tags: str, by: str | None = None) -> Ticket:
        """Add tags (those already present are ignored).

        Raises:
            TicketLockedError: the ticket is locked.
        """
        _validate.ticket_id(ticket_id)
        wanted = _tags(tags)
        ticket = self._store.get(ticket_id)
        self._check_unlocked(ticket, "add_tags")
        new = wanted - ticket.tags
        if not new:
            return ticket
        return self._append(
            ticket,
            EventKind.TAGS_ADDED,
            self._actor(by, Role.AGENT),
            ticket.status,
            {"tags": sorted(new)},
        )

    def remove_tags(self, ticket_id: str, *tags: str, by: str | None = None) -> Ticket:
        """Remove tags (those absent are ignored).

        Raises:
            TicketLockedError: the ticket is locked.
        """
        _validate.ticket_id(ticket_id)
        unwanted = _tags(tags)
        ticket = self._store.get(ticket_id)
        self._check_unlocked(ticket, "remove_tags")
        gone = unwanted & ticket.tags
        if not gone:
            return ticket
        return self._append(
            ticket,
            EventKind.TAGS_REMOVED,
            self._actor(by, Role.AGENT),
            ticket.status,
            {"tags": sorted(gone)},
        )

    def set_field(self, ticket_id: str, name: str, value: Any, *, by: str | None = None) -> Ticket:
        """Set a custom field to a JSON value.

        Raises:
            InvalidInputError: ``value`` is not JSON-serialisable.
            TicketLockedError: the ticket is locked.
        """
        _validate.ticket_id(ticket_id)
        name = _text(name, "name", allow_empty=False)
        check_json(value, f"custom_fields.{name}")
        ticket = self._store.get(ticket_id)
        self._check_unlocked(ticket, "set_field")
        if name in ticket.custom_fields and ticket.custom_fields[name] == value:
            return ticket
        return self._append(
            ticket,
            EventKind.FIELD_SET,
            self._actor(by, Role.AGENT),
            ticket.status,
            {"name": name, "value": value},
        )

    # --- status commands ---------------------------------------------------------------

    def resolve(self, ticket_id: str, *, by: str | None = None) -> Ticket:
        """Resolve the ticket (it stays open for follow-up until closed)."""
        _validate.ticket_id(ticket_id)
        return self._command(ticket_id, "resolve", self._actor(by, Role.AGENT))

    def reopen(self, ticket_id: str, *, by: str | None = None) -> Ticket:
        """Reopen a resolved ticket."""
        _validate.ticket_id(ticket_id)
        return self._command(ticket_id, "reopen", self._actor(by, Role.AGENT))

    def close(self, ticket_id: str, *, by: str | None = None) -> Ticket:
        """Close the ticket; it is locked from then on."""
        _validate.ticket_id(ticket_id)
        return self._command(ticket_id, "close", self._actor(by, Role.AGENT))

    def confirm_resolution(
        self, ticket_id: str, rating: int | None = None, *, by: str | None = None
    ) -> Ticket:
        """Record the customer's confirmation that a resolved ticket is solved.

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
        _validate.ticket_id(ticket_id)
        _validate.optional_text(by, "by")
        if rating is not None and (
            isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5
        ):
            raise InvalidInputError(
                f"rating must be an integer from 1 to 5, got {_validate.describe(rating)}",
                field="rating",
            )
        ticket = self._store.get(ticket_id)
        actor = self._actor(by or ticket.requester.email or ticket.requester.name, Role.CUSTOMER)
        data = EMPTY if rating is None else {"rating": rating}
        self._check_unlocked(ticket, "confirm")
        if self._workflow.category(ticket.status) is not Category.RESOLVED:
            raise TransitionError(
                ticket_id=ticket.id,
                status=ticket.status,
                command="confirm",
                allowed=self._workflow.allowed(ticket.status),
            )
        return self._append(ticket, EventKind.CONFIRMED, actor, ticket.status, data)

    def postpone(self, ticket_id: str, until: datetime, *, by: str | None = None) -> Ticket:
        """Postpone the ticket until ``until`` (stored as ``postponed_until``).

        Raises:
            InvalidInputError: ``until`` is naive or not in the future.
        """
        _validate.aware_time(until, "until")
        _validate.ticket_id(ticket_id)
        until = require_aware(until, "until")
        now = self._clock.now()
        if until <= now:
            raise InvalidInputError(
                f"until must be in the future (now {now.isoformat()}, got {until.isoformat()})",
                field="until",
            )
        return self._command(ticket_id, "postpone", self._actor(by, Role.AGENT), {"until": until})

    def wake(self, ticket_id: str, *, by: str | None = None) -> Ticket:
        """Wake a postponed ticket (LiveAgent: back to New if it was New, else Open)."""
        _validate.ticket_id(ticket_id)
        return self._command(ticket_id, "wake", self._actor(by, Role.AGENT))

    def mark_spam(self, ticket_id: str, *, by: str | None = None) -> Ticket:
        """Mark the ticket as spam (restorable)."""
        _validate.ticket_id(ticket_id)
        return self._command(ticket_id, "spam", self._actor(by, Role.AGENT))

    def delete(self, ticket_id: str, *, by: str | None = None) -> Ticket:
        """Delete the ticket softly (restorable with `restore`)."""
        _validate.ticket_id(ticket_id)
        return self._command(ticket_id, "delete", self._actor(by, Role.AGENT))

    def restore(self, ticket_id: str, *, by: str | None = None) -> Ticket:
        """Restore a deleted or spam ticket."""
        _validate.ticket_id(ticket_id)
        return self._command(ticket_id, "restore", self._actor(by, Role.AGENT))

    def fire(self, ticket_id: str, trigger: str, *, by: str | None = None) -> Ticket:
        """Fire any trigger of the workflow (for statuses no built-in command reaches).

        A trigger that a command maps to is recorded as that command (firing
        Zendesk's ``solve`` is a ``resolve``); others as a ``transitioned`` event.

        Raises:
            InvalidInputError: the trigger belongs to a command that takes arguments
                (a reply, a note, postpone, merge, purge): call that method instead.
            TicketLockedError: the ticket is locked.
            TransitionError: the trigger is not allowed here.
        """
        _validate.text(trigger, "trigger", allow_empty=False)
        _validate.ticket_id(ticket_id)
        command = self._workflow.command_for(trigger)
        if command in _DEDICATED:
            raise InvalidInputError(
                f"trigger {trigger!r} is the {command!r} command, which needs its own "
                f"arguments: call Helpdesk.{_DEDICATED[command]}() instead",
                field="trigger",
            )
        ticket = self._store.get(ticket_id)
        self._check_unlocked(ticket, command or trigger)
        dest = self._workflow.fire(ticket, trigger, command)
        if command is not None:
            return self._append(ticket, COMMAND_KINDS[command], self._actor(by, Role.AGENT), dest)
        return self._append(
            ticket, EventKind.TRANSITIONED, self._actor(by, Role.AGENT), dest, {"trigger": trigger}
        )

    def merge(self, source_id: str, into_id: str, *, by: str | None = None) -> Ticket:
        """Merge ``source_id`` into ``into_id``; return the target.

        The source's description and messages are copied into the target's thread
        (in time order); the source moves to the merged status, linked by
        ``merged_into``, and is locked. Both timelines record the merge; both
        tickets are committed atomically.

        Raises:
            InvalidInputError: a ticket merged into itself.
            TicketLockedError: either ticket is locked.
            TransitionError: the workflow does not allow merging the source here.
        """
        _validate.ticket_id(source_id, "source_id")
        _validate.ticket_id(into_id, "into_id")
        if source_id == into_id:
            raise InvalidInputError("a ticket cannot be merged into itself", field="into_id")
        source = self._store.get(source_id)
        target = self._store.get(into_id)
        self._check_unlocked(source, "merge")
        self._check_unlocked(target, "merge")
        dest = self._workflow.next_status(source, "merge")
        actor = self._actor(by, Role.AGENT)
        at = self._now(max(source.updated_at, target.updated_at))
        moved: list[Message] = []
        if source.description:
            customer = self._actor(source.requester.email or source.requester.name, Role.CUSTOMER)
            moved.append(Message(at=source.created_at, author=customer, body=source.description))
        moved.extend(source.messages)
        source_event = Event(
            kind=EventKind.MERGED,
            at=at,
            actor=actor,
            status_before=source.status,
            status_after=dest,
            data={"into": target.id},
            version=source.version + 1,
        )
        target_event = Event(
            kind=EventKind.MERGE_RECEIVED,
            at=at,
            actor=actor,
            status_before=target.status,
            status_after=target.status,
            data={"source": source.id, "messages": tuple(moved)},
            version=target.version + 1,
        )
        new_source = apply_event(source, source_event)
        new_target = apply_event(target, target_event)
        # The target stays open: keep its due time (a postponed target must still wake).
        target_due_at, target_queue = self._schedule(new_target)
        source_due_at, source_queue = self._schedule(new_source)
        changes = (
            Change(
                new_target,
                target.version,
                due_at=target_due_at,
                outbox=self._outbox_of(new_target, 1),
                queue=target_queue,
            ),
            Change(
                new_source,
                source.version,
                due_at=source_due_at,
                outbox=self._outbox_of(new_source, 1),
                queue=source_queue,
            ),
        )
        self._store.commit(changes)
        if self._subscribers:
            self._publish(*changes)
        return new_target

    def purge(self, ticket_id: str, *, by: str | None = None) -> Ticket:
        """Erase the ticket's personal data for good, leaving an anonymous tombstone.

        The requester, subject, description, message bodies, custom fields and
        customer identities are erased from the ticket and from every event of its
        timeline; statuses, times, roles and agent ids stay, so metrics stay right.
        Allowed on closed tickets too (data protection outranks the lock).

        Raises:
            TicketLockedError: the ticket is already purged (final).
        """
        _validate.ticket_id(ticket_id)
        ticket = self._store.get(ticket_id)
        if self._workflow.status(ticket.status).final:
            raise TicketLockedError(ticket_id=ticket.id, status=ticket.status, command="purge")
        dest = self._workflow.next_status(ticket, "purge")
        event = Event(
            kind=EventKind.PURGED,
            at=self._now(ticket.updated_at),
            actor=self._actor(by, Role.AGENT),
            status_before=ticket.status,
            status_after=dest,
            version=ticket.version + 1,
        )
        tombstone = Ticket.rebuild((*map(scrub_event, ticket.timeline), event))
        change = Change(
            tombstone, ticket.version, rewrite=True, outbox=self._outbox_of(tombstone, 1)
        )
        self._store.commit((change,))
        if self._subscribers:
            self._publish(change)
        return tombstone

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
        ``processed_at``. A ticket whose event rules loop (`RuleLoopError`) is
        logged and skipped, and stays due (it is retried once its claim ends); it
        does not hold up the other tickets.

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
                except RuleLoopError:
                    # Its rules undo each other: nothing is saved, the ticket stays
                    # due (and claimed until the lease ends), the others still run.
                    _LOG.exception("ticket %s skipped by run_due: its rules loop", ticket.id)
                    skipped.add(ticket.id)
                    continue
                if result is None:
                    # The stored due time is stale (rules or policies changed; see
                    # reschedule): the claim keeps it out of this run.
                    skipped.add(ticket.id)
                    continue
                new, events = result
                due_at, queue = self._schedule(new)
                group.append(
                    Change(
                        new,
                        ticket.version,
                        due_at=due_at,
                        outbox=self._outbox_of(new, len(events)),
                        queue=queue,
                    )
                )
                if len(group) >= _COMMIT_GROUP:
                    fired += self._commit_group(group)
                    group = []
            fired += self._commit_group(group)

    def _fire_due(self, ticket: Ticket, now: datetime) -> tuple[Ticket, list[Event]] | None:
        """Fire what is due first by ``now``: the SLA stages before the next time rule, or it."""
        if self._sla is not None:
            due = self._rules.next_due(ticket) if self._rules.has_time_rules else None
            fired = self._sla.fire(ticket, now, None if due is None else due.at)
            if fired is not None or due is None:
                return fired
            return self._rules.fire_due(ticket, now, due)
        return self._rules.fire_due(ticket, now)

    def _commit_group(self, group: list[Change]) -> int:
        """Commit rule firings of distinct tickets together; return how many were saved.

        One transaction for many firings: on a durable store the cost of a sweep is
        one sync per group, not per ticket. If a ticket changed since it was claimed
        (a command, or another worker whose lease ran out), the group is refused
        whole and saved ticket by ticket, dropping the stale ones: the commit that
        won set their due times afresh.
        """
        if not group:
            return 0
        store = self._store
        try:
            store.commit(group)
            saved = group
        except ConflictError:
            saved = []
            for change in group:
                try:
                    store.commit((change,))
                except ConflictError:
                    _LOG.info(
                        "ticket %s changed while due; left to its new due time", change.ticket.id
                    )
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
        unlocked = frozenset(s.name for s in wf.statuses if not wf.is_locked(s.name))
        updates: list[IndexUpdate] = []
        changed = 0
        for ticket in self._store.find(TicketQuery(statuses=unlocked)):
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
            if _by_rule(e) and e.data["rule"] != "sla"  # the SLA's own events are not rules
        ]

    def _command(self, event: Event) -> None:  # noqa: C901, PLR0912 - one branch per kind
        desk, tid, data, kind = self.desk, self.ticket.id, event.data, event.kind
        by = None if event.actor == SYSTEM_ACTOR else event.actor.id
        if kind is EventKind.CREATED:
            c = CreatedData.from_mapping(data)
            agent = event.actor.role is Role.AGENT
            desk.open_ticket(
                subject=c.subject,
                requester=c.requester,
                description=c.description,
                priority=c.priority,
                channel=c.channel,
                assignee=c.assignee,
                department=c.department,
                tags=c.tags,
                custom_fields=dict(c.custom_fields),
                by=by if agent else None,
            )
        elif kind is EventKind.AGENT_REPLIED:
            desk.agent_reply(tid, data.get("body", ""), by=by or "system")
        elif kind is EventKind.CUSTOMER_REPLIED:
            desk.customer_reply(tid, data.get("body", ""), by=by)
        elif kind is EventKind.NOTE_ADDED:
            desk.add_note(tid, data.get("body", ""), by=by or "system")
        elif kind is EventKind.ASSIGNED:
            desk.assign(
                tid,
                data.get("assignee", _UNSET),
                department=data.get("department", _UNSET),
                by=by,
            )
        elif kind is EventKind.PRIORITY_CHANGED:
            desk.set_priority(tid, data["priority"], by=by)
        elif kind is EventKind.TAGS_ADDED:
            desk.add_tags(tid, *data["tags"], by=by)
        elif kind is EventKind.TAGS_REMOVED:
            desk.remove_tags(tid, *data["tags"], by=by)
        elif kind is EventKind.FIELD_SET:
            desk.set_field(tid, data["name"], data["value"], by=by)
        elif kind is EventKind.CONFIRMED:
            desk.confirm_resolution(tid, data.get("rating"), by=by)
        elif kind is EventKind.POSTPONED:
            desk.postpone(tid, data["until"], by=by)
        elif kind is EventKind.TRANSITIONED:
            desk.fire(tid, data["trigger"], by=by)
        elif kind in _SIMPLE_REPLAY:
            getattr(desk, _SIMPLE_REPLAY[kind])(tid, by=by)


_SIMPLE_REPLAY: Final = {
    EventKind.RESOLVED: "resolve",
    EventKind.REOPENED: "reopen",
    EventKind.CLOSED: "close",
    EventKind.WOKEN: "wake",
    EventKind.MARKED_SPAM: "mark_spam",
    EventKind.DELETED: "delete",
    EventKind.RESTORED: "restore",
}


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
