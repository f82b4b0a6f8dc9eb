"""The facade, `Helpdesk`, and the command pipeline every change runs through.

command -> read -> catch up (time rules and SLA stages already due) -> decide
(workflow) -> build events (one version per commit) -> apply -> react (event
rules) -> schedule (due time, queue key) -> commit -> publish. The whole command
path lives in this module, so a command costs no more calls than it must; the
other jobs of the facade (sweeps, delivery, queries, simulation) are the sibling
modules it delegates to in one line. The pipeline's methods are `Steps` (see
`_steps`): they yield their store calls, which `Helpdesk` runs with `drive` and
`AsyncHelpdesk` awaits with `adrive`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from operator import methodcaller
from typing import Any, Final, Unpack, final

import attrs

from .. import _validate
from .._clock import Clock, SystemClock, require_aware
from .._decide import DECIDE as _DECIDE
from .._decide import Batch
from .._ids import UlidFactory
from .._model import (
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
from .._sla_runner import SlaRunner
from .._summary import Page
from .._workflow import Category, ClosedPolicy, Workflow
from ..attachments import Attachment, AttachmentStore
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
from ..exceptions import (
    InvalidInputError,
    PermissionDenied,
    RequesterMismatchError,
    TicketLockedError,
    TicketNotFound,
    TransitionError,
)
from ..importing._records import ImportRecord, ImportReport
from ..rules import Due, Rule, RuleSet
from ..sla import SlaPolicies, SlaPolicy, SlaState
from ..stores import Change, MemoryStore, QueueKey, TicketStore
from ..workflows import liveagent
from . import _delivery, _erase, _import, _list, _queries, _search, _simulate, _sweeps
from ._access import Scope, is_customer_of, is_requester, same_person
from ._delivery import EVENT_KINDS as _EVENT_KINDS
from ._delivery import publishing as _publishing
from ._erase import ErasureResult, PurgeResult
from ._handles import AgentHandle, CustomerHandle, agent_departments, customer_requester
from ._simulate import Simulation
from ._steps import Steps, drive

__all__ = ["Helpdesk", "Policy"]

_ACTOR_CACHE_LIMIT: Final = 4096
_tuple_new: Final = tuple.__new__
_WAITING: Final = frozenset({Category.NEW, Category.OPEN})  # waiting on an agent: the queue
_DEFAULT_LEASE: Final = timedelta(seconds=60)  # run_due and dispatch claim this long
_CATCH_UP_MAX: Final = 64  # time rules fired before one command: far above any real rule set
_LOG: Final = logging.getLogger("ticketflow")


# The edge checks live in _validate; these names are the engine's shorthands for them.
_text: Final = _validate.text
_AGENT: Final = Role.AGENT
_CUSTOMER: Final = Role.CUSTOMER

Policy = Callable[[Actor, Command, Ticket | None], str | None]
"""The policy hook: ``(actor, command, ticket) -> None | reason`` (``ticket`` is None for open)."""


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
        policy: The application's own check, called for every command after the
            configuration's permission table allowed it and before the workflow
            decides: ``policy(actor, command, ticket)`` (``ticket`` is the ticket
            as read, ``None`` for `commands.Open`; for `commands.Merge` the
            source) returns ``None`` to let the command run, or a reason (a
            string) to refuse it with `ticketflow.PermissionDenied`. Rules and
            SLA escalations do not go through it.
        attachments: The application's `ticketflow.attachments.AttachmentStore`,
            if any: after a purge commits, the purged messages' attached files
            are deleted from it (``PurgeResult.attachments`` lists them).

    Raises:
        RuleError: a rule names a command or trigger the workflow does not have.
        InvalidInputError: ``config`` given together with ``workflow``, ``rules``,
            ``sla`` or ``outbox``, or not a `HelpdeskConfig`; ``policy`` not callable;
            ``attachments`` not an `AttachmentStore`.
    """

    __slots__ = (
        "_actors",
        "_after_commit",
        "_attachments",
        "_clock",
        "_config",
        "_ids",
        "_outbox",
        "_permitted",
        "_policy",
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
        policy: Policy | None = None,
        attachments: AttachmentStore | None = None,
    ) -> None:
        _check_parts(workflow, clock, outbox)
        if attachments is not None and not isinstance(attachments, AttachmentStore):
            raise InvalidInputError(
                "attachments must be an AttachmentStore (put, read, delete), "
                f"got {type(attachments).__name__}",
                field="attachments",
            )
        if policy is not None and not callable(policy):
            raise InvalidInputError(
                f"policy must be a callable (actor, command, ticket) -> None | str, "
                f"got {type(policy).__name__}",
                field="policy",
            )
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
        # A store inside the application's transaction says how to wait for its
        # commit (`after_commit`); in-process subscribers hear of nothing before it.
        self._after_commit: Callable[[Callable[[], None]], None] | None = getattr(
            self._store, "after_commit", None
        )
        self._outbox: frozenset[EventKind] = config.outbox
        # Per command class, the roles that may run it: the permission check on the
        # command path is one dict lookup and a scan of at most four identities.
        self._permitted: dict[type[Any], tuple[Role, ...]] = {
            cls: tuple(role for role, names in config.permissions.items() if cls.name in names)
            for cls in _EXECUTE
        }
        self._policy = policy
        self._attachments = attachments
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
    def attachments(self) -> AttachmentStore | None:
        """Where attachment bytes live, if given: a purge deletes the purged messages' files."""
        return self._attachments

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

    def _requester(self, ticket: Ticket) -> Actor:
        """The ticket's requester as the customer acting on it (``by=None``)."""
        requester = ticket.requester
        return self._actor(requester.email or requester.name, _CUSTOMER)

    def _deny(
        self, actor: Actor, command: Any, ticket_id: str | None, reason: str | None = None
    ) -> PermissionDenied:
        if reason is None:
            reason = f"the {actor.role.value} role may not run it (configuration permissions)"
        return PermissionDenied(
            actor=actor, command=command.name, ticket_id=ticket_id, reason=reason
        )

    def _check(
        self,
        actor: Actor,
        command: Any,
        ticket: Ticket | None,
        scope: Scope | None,
        *,
        trusted: bool = False,
    ) -> None:
        """Refuse ``ticket`` to an actor who may not see it, then ask the policy hook."""
        if ticket is not None:
            self._sees(actor, command, ticket, scope, trusted=trusted)
        policy = self._policy
        if policy is not None:
            reason = policy(actor, command, ticket)
            if reason is not None:
                raise self._deny(
                    actor,
                    command,
                    None if ticket is None else ticket.id,
                    str(reason) or "refused by the policy",
                )

    def _sees(
        self,
        actor: Actor,
        command: Any,
        ticket: Ticket,
        scope: Scope | None,
        *,
        trusted: bool = False,
    ) -> None:
        """Refuse ``ticket`` to an actor who may not see it.

        A handle's ``scope`` answers `TicketNotFound` for a ticket outside it (no
        hint that it exists); a customer given as an `Actor` who is not the
        ticket's requester or participant gets `PermissionDenied`. ``trusted``:
        the actor is the ticket's own requester (``by=None``).
        """
        if scope is not None:
            if not scope.sees(ticket):
                raise TicketNotFound(ticket.id)
        elif not trusted and actor.role is _CUSTOMER and not is_customer_of(actor.id, ticket):
            raise self._deny(
                actor, command, ticket.id, "a customer may act only on their own tickets"
            )

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
            by: Who does it: an `Actor` (a customer is ``Actor(email,
                Role.CUSTOMER)``), or a string, which is always an agent's id.
                ``None``: for `Open`, `CustomerReply` and `Confirm` the ticket's
                requester (as a customer); for the other commands the system,
                which may run only what the permission table gives it (by
                default what rules can do: not ``agent_reply``, ``postpone``,
                ``merge`` or ``purge``).

        Returns:
            The ticket after the command; `Merge` returns the target, and a
            `CustomerReply` the ticket the reply landed on (a follow-up, or the
            ticket a merged one was merged into).

        Raises:
            InvalidInputError: ``command`` is not a command value, or ``by`` is invalid.
            PermissionDenied: ``by``'s role may not run the command
                (`HelpdeskConfig.permissions`), a customer acted on a ticket that
                is not theirs, or the ``policy`` hook refused it.
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
        return run(self, command, by, None)

    def _execute_as(self, command: Command, actor: Actor, scope: Scope | None) -> Ticket:
        """Run ``command`` as ``actor`` within a handle's ``scope`` (see `_handles`)."""
        run = _EXECUTE.get(type(command))
        if run is None:  # pragma: no cover - the handles build command values only
            raise InvalidInputError("not a command value", field="command")
        return run(self, command, actor, scope)

    # --- scoped handles (see _handles) ---------------------------------------------

    def for_customer(self, customer: str | Requester) -> CustomerHandle:
        """Return the help desk as the customer ``customer`` may use it.

        A `CustomerHandle` has the same commands and queries, without ``by``:
        its commands run as ``Actor(email, Role.CUSTOMER)`` through the
        permission table (a customer may open, reply and confirm by default;
        ``resolve`` raises `PermissionDenied`), on the tickets the customer
        requested (matched by e-mail address, case-insensitively) or is a
        participant of, and with ``organisation_visibility`` in the
        configuration, those of their organisation. Any other ticket id raises
        `TicketNotFound`, as an unknown one does. Its reads return
        `ticketflow.CustomerView` values.

        Args:
            customer: The customer's e-mail address, or a `Requester` with one
                (its name and organisation are used when it opens tickets).

        Raises:
            InvalidInputError: no e-mail address.
        """
        return CustomerHandle(self, customer_requester(customer))

    def for_agent(self, agent_id: str, departments: Iterable[str] | None = None) -> AgentHandle:
        """Return the help desk as the agent ``agent_id`` may use it.

        An `AgentHandle` has the same commands and queries, without ``by``: its
        commands run as ``Actor(agent_id, Role.AGENT)`` through the permission
        table and the policy hook. With ``departments`` it reads and acts only on
        tickets of those departments; any other ticket id raises `TicketNotFound`.

        Raises:
            InvalidInputError: a blank agent id, or ``departments`` not a list of names.
        """
        return AgentHandle(self, agent_id, agent_departments(agent_id, departments))

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

    # The single-ticket path, split at its I/O: `_actor_before` (checks that need no
    # ticket), read, `_decide_on` (checks that do, catch up, decide, react, schedule:
    # the `Change`), commit, publish. `Helpdesk` calls the store itself
    # around them (`_run`: no generator on the hot path); `AsyncHelpdesk` runs
    # `_run_steps`, the same pieces around yielded store calls.

    def _run(self, command: Any, by: str | Actor | None, scope: Scope | None) -> Ticket:
        """Run a single-ticket command through `decide` (the common path)."""
        actor = self._actor_before(command, by)
        ticket = self._store.get(command.ticket_id)
        change = self._decide_on(command, actor, scope, ticket)
        if change is None:  # nothing to change (an assignment to the assignee)
            return ticket
        self._store.commit((change,))  # the edge: `_committing` in steps
        if self._subscribers:
            drive(self._store, _publishing(self, (change,)))
        return change.ticket

    def _run_steps(
        self, command: Any, by: str | Actor | None, scope: Scope | None
    ) -> Steps[Ticket]:
        """`_run` as steps."""
        actor = self._actor_before(command, by)
        ticket: Ticket = yield methodcaller("get", command.ticket_id)
        change = self._decide_on(command, actor, scope, ticket)
        if change is None:
            return ticket
        return (yield from self._committing(change))

    def _actor_before(self, command: Any, by: str | Actor | None) -> Actor | None:
        """Who runs ``command``, checked against the permission table; None: the requester.

        The requester (a customer command without ``by``) is known only once the
        ticket is read: `_admit` checks them.
        """
        if by is None and type(command).role is _CUSTOMER:
            return None
        actor = self._actor(by, _AGENT)
        if actor.role not in self._permitted[type(command)]:
            raise self._deny(actor, command, command.ticket_id)
        return actor

    def _admit(
        self, command: Any, actor: Actor | None, scope: Scope | None, ticket: Ticket
    ) -> Actor:
        """Refuse ``ticket`` to an actor who may not act on it; return the actor."""
        if actor is None:
            actor = self._requester(ticket)
            if actor.role not in self._permitted[type(command)]:
                raise self._deny(actor, command, ticket.id)
            if scope is not None or self._policy is not None:
                self._check(actor, command, ticket, scope, trusted=True)
        elif scope is not None or actor.role is _CUSTOMER or self._policy is not None:
            self._check(actor, command, ticket, scope)
        return actor

    def _decide_on(
        self, command: Any, actor: Actor | None, scope: Scope | None, ticket: Ticket
    ) -> Change | None:
        """Admit, catch up, decide, react, schedule: the change ``command`` makes, or None."""
        # `_admit` inline: one call less on the hot path.
        if actor is None:
            actor = self._requester(ticket)
            if actor.role not in self._permitted[type(command)]:
                raise self._deny(actor, command, ticket.id)
            if scope is not None or self._policy is not None:
                self._check(actor, command, ticket, scope, trusted=True)
        elif scope is not None or actor.role is _CUSTOMER or self._policy is not None:
            self._check(actor, command, ticket, scope)
        at = self._now(ticket.timeline[-1].at)
        batch = Batch(ticket)
        start = 0
        if self._timed:
            self._catch_up(batch, at)
            start = len(batch.events)
        _DECIDE[type(command)](batch, command, actor, self._workflow, at, EMPTY)
        if not batch.events:
            return None
        return self._build(ticket.version, batch, start)

    def _build(self, expected: int, batch: Batch, start: int = 0) -> Change:
        """Run the event rules on the events from ``start`` and schedule: the change to commit."""
        events = batch.events
        rules = self._rules
        if rules.rules and start < len(events):
            rules.react(batch, events[-1].at, start)
        ticket = batch.ticket
        due_at, queue = self._schedule(ticket)
        outbox = self._outbox_of(ticket, len(events))
        # tuple.__new__ rather than Change(...): the named tuple's __new__ is Python.
        return _tuple_new(Change, (ticket, expected, False, due_at, outbox, queue))

    def _committing(self, change: Change) -> Steps[Ticket]:
        """Commit one change and publish it (the edge `_run` and `_reply` write inline)."""
        yield methodcaller("commit", (change,))
        if self._subscribers:
            yield from _publishing(self, (change,))
        return change.ticket

    def _settle(self, expected: int, batch: Batch, start: int = 0) -> Steps[Ticket]:
        """Run the event rules on the events from ``start``, schedule, commit, and publish."""
        return (yield from self._committing(self._build(expected, batch, start)))

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
        key = _tuple_new(QueueKey, (sla_due, ticket.waiting_since, int(ticket.priority)))
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

    def _open(self, command: Open, by: str | Actor | None, scope: Scope | None) -> Steps[Ticket]:
        requester = command.requester
        actor = (
            self._actor(by, _AGENT)
            if by is not None
            else self._actor(requester.email or requester.name, _CUSTOMER)
        )
        if actor.role not in self._permitted[Open]:
            raise self._deny(actor, command, None)
        if (
            by is not None
            and actor.role is _CUSTOMER
            and scope is None
            and not is_requester(actor.id, requester)
        ):
            raise self._deny(
                actor, command, None, "a customer opens tickets in their own name only"
            )
        if command.parent_id is not None:
            parent = yield methodcaller("get", command.parent_id)
            # A follow-up of a ticket the actor may not see would link to it.
            if scope is not None or (by is not None and actor.role is _CUSTOMER):
                self._sees(actor, command, parent, scope)
        if self._policy is not None:
            self._check(actor, command, None, None)
        return (yield from self._create(command, actor))

    def _create(self, command: Open, actor: Actor) -> Steps[Ticket]:
        """Create the ticket ``command`` describes, checked already, recorded as by ``actor``."""
        requester = command.requester
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
                extra=command.extra,
            ),
            version=1,
        )
        return (yield from self._settle(0, Batch(Ticket.rebuild((event,)), [event])))

    def _reply(self, command: CustomerReply, by: str | Actor | None, scope: Scope | None) -> Ticket:
        """A customer reply: the common case as `_run`; a locked ticket's through `_replying`."""
        # The customer is the requester of the ticket they replied to, even when
        # the reply is redirected to the ticket it was merged into.
        actor = self._actor_before(command, by)
        ticket = self._store.get(command.ticket_id)
        actor = self._admit(command, actor, scope, ticket)
        change, batch, start = self._reply_once(command, actor, ticket)
        if change is not None:
            self._store.commit((change,))  # the edge: `_committing` in steps
            if self._subscribers:
                drive(self._store, _publishing(self, (change,)))
            return change.ticket
        return drive(self._store, self._replying(command, actor, scope, ticket, (batch, start)))

    def _reply_steps(
        self, command: CustomerReply, by: str | Actor | None, scope: Scope | None
    ) -> Steps[Ticket]:
        """`_reply` as steps."""
        actor = self._actor_before(command, by)
        ticket: Ticket = yield methodcaller("get", command.ticket_id)
        actor = self._admit(command, actor, scope, ticket)
        return (yield from self._replying(command, actor, scope, ticket))

    def _reply_once(
        self, command: CustomerReply, actor: Actor, ticket: Ticket
    ) -> tuple[Change | None, Batch, int]:
        """Catch ``ticket`` up; the reply's change if its status takes one, the batch, its start."""
        wf = self._workflow
        at = self._now(ticket.timeline[-1].at)
        batch = Batch(ticket)
        start = 0
        if self._timed:
            self._catch_up(batch, at)
            start = len(batch.events)
        current = batch.ticket
        # Closed and trash statuses the graph takes no reply in follow a policy.
        if wf.reply_policy_for(current.status) is None and not wf.is_locked(current.status):
            _DECIDE[CustomerReply](batch, command, actor, wf, at, EMPTY)
            return self._build(ticket.version, batch, start), batch, start
        return None, batch, start

    def _replying(
        self,
        command: CustomerReply,
        actor: Actor,
        scope: Scope | None,
        ticket: Ticket,
        first: tuple[Batch, int] | None = None,
    ) -> Steps[Ticket]:
        """Reply to ``ticket``, following merges and the reply policy of locked statuses.

        ``first``: the caught-up batch of ``ticket`` when `_reply_once` found its
        status takes no plain reply.
        """
        wf = self._workflow
        followed = None
        while True:
            if first is None:
                change, batch, start = self._reply_once(command, actor, ticket)
                if change is not None:
                    return (yield from self._committing(change))
            else:
                (batch, start), first = first, None
            current = batch.ticket
            if start:  # what was due locked it: keep that, then follow the policy
                current = yield from self._settle(ticket.version, batch)
            # Merged tickets are locked, so only a locked ticket can need redirecting.
            if followed is None:
                followed = {ticket.id}
            merged_into = current.merged_into
            # A purged ticket takes no reply, not even one to pass on (it is no one's).
            if merged_into is None or merged_into in followed or wf.status(current.status).final:
                return (yield from self._reply_to_locked(current, command, actor))
            followed.add(merged_into)
            ticket = yield from self._merge_target(actor, command, current.id, merged_into, scope)

    def _merge_target(
        self,
        actor: Actor,
        command: CustomerReply,
        merged: str,
        into: str,
        scope: Scope | None,
    ) -> Steps[Ticket]:
        """The ticket ``merged`` was merged into, ``into``, if the customer may see it."""
        target: Ticket = yield methodcaller("get", into)
        # A purged target is no one's: the reply is refused as locked, as it always was.
        if (
            actor.role is _CUSTOMER
            and not self._workflow.status(target.status).final
            and not (scope.sees(target) if scope is not None else is_customer_of(actor.id, target))
        ):
            raise self._deny(
                actor,
                command,
                command.ticket_id,
                f"ticket {merged} was merged into a ticket of another requester, "
                "which this customer may not see",
            )
        return target

    def _reply_to_locked(
        self, ticket: Ticket, command: CustomerReply, actor: Actor
    ) -> Steps[Ticket]:
        """Record a reply to a closed or trash ticket as the workflow's reply policy says."""
        wf = self._workflow
        status = ticket.status
        policy = wf.reply_policy_for(status)
        if policy is None or policy is ClosedPolicy.REFUSE:  # final (purged), or opted in
            raise TicketLockedError(
                ticket_id=ticket.id,
                status=status,
                command="customer_reply",
                reason="replies to this ticket are refused",
            )
        at = self._now(ticket.timeline[-1].at)
        extra = command.extra
        data = {"body": command.body, **extra}  # the message whole, metadata included
        if policy is ClosedPolicy.REOPEN:
            # The window runs from when the ticket entered its status, by any
            # command: ``closed_at`` only records close, confirm and merge.
            entered = next(
                (e.at for e in reversed(ticket.timeline) if e.changes_status), ticket.created_at
            )
            window = wf.reopen_window
            if window is None or at - entered <= window:
                batch = Batch(ticket)
                if wf.category(status) is not Category.TRASH:
                    dest = wf.next_status(ticket, "customer_reply")
                    batch.emit(EventKind.CUSTOMER_REPLIED, actor, dest, at, data)
                    return (yield from self._settle(ticket.version, batch))
                try:
                    restored = wf.next_status(ticket, "restore")
                except TransitionError:  # a guard refused: keep the reply rather than lose it
                    policy = ClosedPolicy.KEEP
                else:
                    batch.emit(EventKind.RESTORED, SYSTEM_ACTOR, restored, at)
                    try:
                        dest = wf.next_status(batch.ticket, "customer_reply")
                    except TransitionError:  # the restored status takes no reply: keep it
                        dest = restored
                    batch.emit(EventKind.CUSTOMER_REPLIED, actor, dest, at, data)
                    return (yield from self._settle(ticket.version, batch))
        if policy is ClosedPolicy.KEEP:
            batch = Batch(ticket)
            batch.emit(EventKind.CUSTOMER_REPLIED, actor, status, at, data)
            if wf.review_tag not in ticket.tags:
                tags = {"tags": [wf.review_tag]}
                batch.emit(EventKind.TAGS_ADDED, SYSTEM_ACTOR, status, at, tags)
            return (yield from self._settle(ticket.version, batch))
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
            # The reply's metadata goes with it (its channel is the follow-up's own).
            attachments=tuple(Attachment.from_dict(a) for a in extra.get("attachments", ())),
            external_id=extra.get("external_id"),
            in_reply_to=extra.get("in_reply_to"),
            references=tuple(extra.get("references", ())),
            cc=tuple(extra.get("cc", ())),
            html=extra.get("html"),
            metadata=extra.get("metadata"),
        )
        return (yield from self._create(follow_up, self._requester(ticket)))

    def _merge(self, command: Merge, by: str | Actor | None, scope: Scope | None) -> Steps[Ticket]:
        wf = self._workflow
        actor = self._actor(by, _AGENT)
        if actor.role not in self._permitted[Merge]:
            raise self._deny(actor, command, command.ticket_id)
        source: Ticket = yield methodcaller("get", command.ticket_id)
        target: Ticket = yield methodcaller("get", command.into_id)
        self._sees(actor, command, target, scope)
        self._check(actor, command, source, scope)
        if not command.allow_other_requester and not same_person(
            source.requester, target.requester
        ):
            raise RequesterMismatchError(
                ticket_id=source.id,
                into_id=target.id,
                requester=source.requester,
                into_requester=target.requester,
            )
        source_batch, _ = self._begin(source)
        target_batch, _ = self._begin(target)
        source, target = source_batch.ticket, target_batch.ticket
        for ticket in (source, target):
            if wf.is_locked(ticket.status):
                raise TicketLockedError(ticket_id=ticket.id, status=ticket.status, command="merge")
        dest = wf.next_status(source, "merge")
        at = self._now(max(source.updated_at, target.updated_at))
        moved: list[Message] = []
        if source.description:
            customer = self._requester(source)
            moved.append(source.description_message.replace(author=customer))
        moved.extend(source.messages)
        received: dict[str, Any] = {"source": source.id, "messages": tuple(moved)}
        joining = _joining(source, target)
        if joining:
            received["participants"] = joining
        source_batch.emit(EventKind.MERGED, actor, dest, at, {"into": target.id})
        target_batch.emit(EventKind.MERGE_RECEIVED, actor, target.status, at, received)
        changes = tuple(
            self._change(batch)
            # The target stays open: keep its due time (a postponed target must still wake).
            for batch in (target_batch, source_batch)
        )
        yield methodcaller("commit", changes)
        if self._subscribers:
            yield from _publishing(self, changes)
        return changes[0].ticket

    def _change(self, batch: Batch) -> Change:
        ticket = batch.ticket
        due_at, queue = self._schedule(ticket)
        outbox = self._outbox_of(ticket, len(batch.events))
        return Change(ticket, batch.version - 1, due_at=due_at, outbox=outbox, queue=queue)

    def _authorise_purge(self, actor: Actor, command: Purge, scope: Scope | None) -> Steps[None]:
        """Refuse a purge ``actor`` may not run (the permission table, scope, policy hook)."""
        if actor.role not in self._permitted[Purge]:
            raise self._deny(actor, command, command.ticket_id)
        self._check(actor, command, (yield methodcaller("get", command.ticket_id)), scope)

    def _purge(self, command: Purge, by: str | Actor | None, scope: Scope | None) -> Steps[Ticket]:
        # execute() returns a Ticket, always: the tombstone (purge() returns the whole result).
        return (yield from self._purging(command, by, scope)).ticket

    def _purging(
        self, command: Purge, by: str | Actor | None, scope: Scope | None
    ) -> Steps[PurgeResult]:
        actor = self._actor(by, _AGENT)
        yield from self._authorise_purge(actor, command, scope)
        return (yield from _erase.purge(self, command, actor))

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
        by: str | Actor | None = None,
        **metadata: Unpack[OpenMetadata],
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
            by: Who created it: an agent's id or an `Actor`; defaults to the
                requester (as customer). A customer `Actor` opens tickets in
                their own name only.
            metadata: The description's optional metadata keywords
                (``attachments``, ``external_id``, ``in_reply_to``, ``references``,
                ``cc``, ``html``, ``metadata``; see `commands.Open`).

        Raises:
            InvalidInputError: an argument is invalid (``field`` names it).
            PermissionDenied: ``by`` may not open tickets, or not this one.
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
                **metadata,
            ),
            by=by,
        )

    # --- conversation ---------------------------------------------------------------

    def agent_reply(
        self, ticket_id: str, body: str, *, by: str | Actor, **metadata: Unpack[MessageMetadata]
    ) -> Ticket:
        """Record a public agent reply (LiveAgent: it becomes Answered; `commands.AgentReply`).

        ``metadata`` are the message's optional metadata keywords (``channel``,
        ``attachments``, ``external_id``, ``in_reply_to``, ``references``, ``cc``,
        ``html``, ``metadata``; see `ticketflow.commands`).

        Raises:
            TicketLockedError: the ticket is locked.
            TransitionError: the workflow allows no reply in this status.
        """
        return self.execute(AgentReply(ticket_id=ticket_id, body=body, **metadata), by=by)

    def add_note(
        self, ticket_id: str, body: str, *, by: str | Actor, **metadata: Unpack[MessageMetadata]
    ) -> Ticket:
        """Add an internal note (private, no status change unless the workflow maps ``note``).

        The command is `commands.Note` (named ``note``); ``metadata`` as `agent_reply`'s.

        Raises:
            TicketLockedError: the ticket is locked.
        """
        return self.execute(Note(ticket_id=ticket_id, body=body, **metadata), by=by)

    def customer_reply(
        self,
        ticket_id: str,
        body: str,
        *,
        by: str | Actor | None = None,
        **metadata: Unpack[MessageMetadata],
    ) -> Ticket:
        """Record a customer reply and return the ticket it landed on (`commands.CustomerReply`).

        On an open ticket the workflow decides the new status (LiveAgent: Open). A
        reply to a merged ticket goes to the ticket it was merged into. A reply to
        a closed ticket follows the workflow's ``closed_policy``, and a reply to a
        spam or deleted ticket its ``trash_policy`` (``reply_policy`` overrides
        either per status): it opens a linked follow-up ticket (returned), reopens
        the ticket within ``reopen_window`` (restoring a trash ticket first), is
        kept on the ticket with its status unchanged and the ticket tagged with
        the workflow's ``review_tag``, or, only with the ``refuse`` opt-in, is
        refused.

        Args:
            ticket_id: The ticket.
            body: The message; empty or white-space-only text is refused.
            by: Who wrote it: ``None`` (the default) for the requester, a
                customer ``Actor(email, Role.CUSTOMER)`` (the requester, or a
                participant of the ticket), or an agent (a string or an
                `Actor`) writing on the customer's behalf.
            metadata: The message's optional metadata keywords, as `agent_reply`'s.

        Raises:
            InvalidInputError: ``body`` is empty or only white space, or a
                metadata keyword is invalid (``field`` names it).
            PermissionDenied: a customer other than the requester or a participant,
                or a reply to a merged ticket whose target the customer may not see.
            TicketLockedError: the ticket is purged, or its status's policy is ``refuse``.
            TransitionError: the workflow allows no reply in this status.
        """
        return self.execute(CustomerReply(ticket_id=ticket_id, body=body, **metadata), by=by)

    # --- assignment and fields ---------------------------------------------------------

    def assign(
        self,
        ticket_id: str,
        agent: str | None | Keep = KEEP,
        *,
        department: str | None | Keep = KEEP,
        by: str | Actor | None = None,
    ) -> Ticket:
        """Assign the ticket to an agent and/or a department (``None`` unassigns).

        The command is `commands.Assign`.

        Arguments left out are unchanged; if nothing changes, nothing is recorded.

        Raises:
            TicketLockedError: the ticket is locked.
        """
        return self.execute(Assign(ticket_id=ticket_id, agent=agent, department=department), by=by)

    def set_priority(
        self, ticket_id: str, priority: Priority | str, *, by: str | Actor | None = None
    ) -> Ticket:
        """Change the priority (no event if it is already ``priority``; `commands.SetPriority`).

        Raises:
            InvalidInputError: unknown priority.
            TicketLockedError: the ticket is locked.
        """
        return self.execute(SetPriority(ticket_id=ticket_id, priority=priority), by=by)

    def add_tags(self, ticket_id: str, *tags: str, by: str | Actor | None = None) -> Ticket:
        """Add tags (those already present are ignored; `commands.AddTags`).

        Raises:
            TicketLockedError: the ticket is locked.
        """
        return self.execute(AddTags(ticket_id=ticket_id, tags=tags), by=by)

    def remove_tags(self, ticket_id: str, *tags: str, by: str | Actor | None = None) -> Ticket:
        """Remove tags (those absent are ignored; `commands.RemoveTags`).

        Raises:
            TicketLockedError: the ticket is locked.
        """
        return self.execute(RemoveTags(ticket_id=ticket_id, tags=tags), by=by)

    def set_field(
        self, ticket_id: str, name: str, value: Any, *, by: str | Actor | None = None
    ) -> Ticket:
        """Set a custom field to a JSON value (`commands.SetField`).

        Raises:
            InvalidInputError: ``value`` is not JSON-serialisable.
            TicketLockedError: the ticket is locked.
        """
        _text(name, "name", allow_empty=False)  # this method's own name for the field
        return self.execute(SetField(ticket_id=ticket_id, field=name, value=value), by=by)

    # --- status commands ---------------------------------------------------------------

    def resolve(self, ticket_id: str, *, by: str | Actor | None = None) -> Ticket:
        """Resolve the ticket (it stays open for follow-up until closed; `commands.Resolve`)."""
        return self.execute(Resolve(ticket_id=ticket_id), by=by)

    def reopen(self, ticket_id: str, *, by: str | Actor | None = None) -> Ticket:
        """Reopen a resolved ticket (`commands.Reopen`)."""
        return self.execute(Reopen(ticket_id=ticket_id), by=by)

    def close(self, ticket_id: str, *, by: str | Actor | None = None) -> Ticket:
        """Close the ticket; it is locked from then on (`commands.Close`)."""
        return self.execute(Close(ticket_id=ticket_id), by=by)

    def confirm_resolution(
        self, ticket_id: str, rating: int | None = None, *, by: str | Actor | None = None
    ) -> Ticket:
        """Record the customer's confirmation that a resolved ticket is solved (`commands.Confirm`).

        The confirmation (and its rating) is a ``confirmed`` event that leaves the
        status alone; the confirmation rule (`ticketflow.rules.confirmation`, among
        every preset's default rules) then closes the ticket in the same commit.
        Without that rule the ticket stays resolved, with the rating recorded.

        Args:
            ticket_id: The ticket.
            rating: Optional satisfaction rating, 1 (worst) to 5 (best).
            by: ``None`` (the default) for the requester, a customer `Actor`, or
                an agent confirming on the customer's behalf.

        Raises:
            InvalidInputError: ``rating`` is not an integer from 1 to 5.
            PermissionDenied: a customer other than the requester or a participant.
            TicketLockedError: the ticket is locked.
            TransitionError: the ticket is not resolved.
        """
        return self.execute(Confirm(ticket_id=ticket_id, rating=rating), by=by)

    def postpone(self, ticket_id: str, until: datetime, *, by: str | Actor | None = None) -> Ticket:
        """Postpone the ticket until ``until`` (stored as ``postponed_until``; `commands.Postpone`).

        Raises:
            InvalidInputError: ``until`` is naive or not in the future.
        """
        return self.execute(Postpone(ticket_id=ticket_id, until=until), by=by)

    def wake(self, ticket_id: str, *, by: str | Actor | None = None) -> Ticket:
        """Wake a postponed ticket (LiveAgent: back to New if it was New; `commands.Wake`)."""
        return self.execute(Wake(ticket_id=ticket_id), by=by)

    def mark_spam(self, ticket_id: str, *, by: str | Actor | None = None) -> Ticket:
        """Mark the ticket as spam, restorably (`commands.Spam`, named ``spam``)."""
        return self.execute(Spam(ticket_id=ticket_id), by=by)

    def delete(self, ticket_id: str, *, by: str | Actor | None = None) -> Ticket:
        """Delete the ticket softly (restorable with `restore`; `commands.Delete`)."""
        return self.execute(Delete(ticket_id=ticket_id), by=by)

    def restore(self, ticket_id: str, *, by: str | Actor | None = None) -> Ticket:
        """Restore a deleted or spam ticket (`commands.Restore`)."""
        return self.execute(Restore(ticket_id=ticket_id), by=by)

    def fire(self, ticket_id: str, trigger: str, *, by: str | Actor | None = None) -> Ticket:
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

    def merge(
        self,
        source_id: str,
        into_id: str,
        *,
        allow_other_requester: bool = False,
        by: str | Actor | None = None,
    ) -> Ticket:
        """Merge ``source_id`` into ``into_id``; return the target (`commands.Merge`).

        The source's description and messages are copied into the target's thread
        (in time order, each with its author); the source moves to the merged
        status, linked by ``merged_into``, and is locked. Both timelines record the
        merge; both tickets are committed atomically.

        Tickets of different requesters are not merged unless
        ``allow_other_requester`` is true: the target's requester would read the
        source's thread. With it, the source's requester (and the source's own
        participants) become participants of the target (`Ticket.participants`):
        they may read the target's customer view and reply to it.

        Raises:
            InvalidInputError: a ticket merged into itself.
            RequesterMismatchError: the requesters differ and
                ``allow_other_requester`` is false.
            PermissionDenied: ``by`` may not merge (the system may not by default).
            TicketLockedError: either ticket is locked.
            TransitionError: the workflow does not allow merging the source here.
        """
        return self.execute(
            Merge(
                ticket_id=source_id, into_id=into_id, allow_other_requester=allow_other_requester
            ),
            by=by,
        )

    def purge(self, ticket_id: str, *, by: str | Actor | None = None) -> PurgeResult:
        """Erase the ticket's personal data, and every copy of it, leaving an anonymous tombstone.

        The requester, subject, description, message bodies, tags, custom field
        names and values and customer identities are erased from the ticket and
        from every event of its timeline; statuses, times, roles and agent ids
        stay, so metrics stay right. In the same commit, the messages a merge
        copied from this ticket into another (the ticket it was merged into, and
        on along the chain of merges) become tombstones keeping their time and
        author role, and the replies its customer sent there after the merge are
        erased too (unless that ticket is the same person's); each such ticket
        records an ``erased`` event. Follow-ups the same requester opened from
        this ticket are tickets of their own: they are listed, not purged.
        Allowed on closed tickets too (data protection outranks the lock;
        `commands.Purge`, which through `execute` returns the tombstone only).
        A message's metadata (HTML, attachments, e-mail ids, cc, metadata) goes
        with its body; with ``Helpdesk(attachments=...)`` the attached files'
        bytes are deleted from the `ticketflow.attachments.AttachmentStore`
        after the commit (a failed delete is raised once the others were tried;
        the purge itself stays committed).

        What stays in the database files until the backend reuses or cleans the
        space (SQLite's WAL, PostgreSQL's dead tuples and WAL, backups) is said in
        the how-to "Erase personal data".

        Returns:
            A `PurgeResult`: the tombstone, the ids of the tickets whose copies
            were scrubbed, the ids of the follow-ups left in place, and the
            references of the erased attachments.

        Raises:
            TicketNotFound: no such ticket.
            PermissionDenied: ``by`` may not purge (by default only admins may).
            TicketLockedError: the ticket is already purged (final).
        """
        return drive(self._store, self._purging(Purge(ticket_id=ticket_id), by, None))

    def erase_requester(self, email: str, *, by: str | Actor | None = None) -> ErasureResult:
        """Erase everything of one person: purge each of their tickets and scrub their copies.

        The person's tickets are found by e-mail address through the store's
        requester index (matched case-insensitively, as `find` does); each is
        purged as `purge` does, in its own commit, so an interrupted erasure is
        finished by running it again. A second run finds nothing and returns an
        empty result (tickets in a final status other than purged, which nothing
        may change, are listed as ``skipped`` every time).

        Args:
            email: The person's e-mail address.
            by: Who erases: an `Actor` whose role may purge (by default only
                `Role.ADMIN`); each ticket also passes the policy hook.

        Returns:
            An `ErasureResult`: the tickets purged, the other tickets whose copies
            of the person's messages were scrubbed, and any skipped.

        Raises:
            InvalidInputError: ``email`` is not a non-empty string (``field`` is
                ``"email"``).
            PermissionDenied: ``by`` may not purge, or the policy hook refuses
                one of the tickets (those before it stay erased; run it again).
        """
        return drive(self._store, self._erasing(email, by))

    def _erasing(self, email: str, by: str | Actor | None) -> Steps[ErasureResult]:
        actor = self._actor(by, _AGENT)
        if actor.role not in self._permitted[Purge]:
            raise self._deny(actor, Purge(ticket_id="*"), None)

        def check(ticket: Ticket) -> None:
            self._check(actor, Purge(ticket_id=ticket.id), ticket, None)

        return (yield from _erase.erase_requester(self, email, actor, check))

    # --- time rules: sweeps (see _sweeps) -----------------------------------------

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
        return drive(self._store, _sweeps.run_due(self, now, batch=batch, lease=lease))

    def run_until(self, until: datetime) -> int:
        """Move a `FakeClock` through every due time up to ``until``, firing rules on the way.

        Returns:
            How many rules fired.

        Raises:
            InvalidInputError: the help desk's clock is not a `FakeClock`.
        """
        return drive(self._store, _sweeps.run_until(self, until))

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
        return drive(self._store, _sweeps.reschedule(self, batch=batch))

    # --- bulk import (see _import) ------------------------------------------------

    def import_tickets(
        self,
        records: Iterable[ImportRecord],
        *,
        strict: bool = True,
        mark_breaches: bool = False,
        id_prefix: str = "",
        requester: Requester | None = None,
        batch: int = 1000,
        progress: Callable[[int, int], None] | None = None,
    ) -> ImportReport:
        """Import tickets with their past events (`ticketflow.importing`); see docs/howto/import.md.

        Each record (an external id and its events, the creation first) is
        checked against the workflow: every status change must be a move some
        trigger of the graph makes (guards are not evaluated), no event may come
        after the ticket entered a locked status, times must be timezone-aware,
        in order, and not after the import's instant (the clock's now). Events
        keep their own times and all get version 1 (the import is the ticket's
        first commit). No rule runs on the imported events; afterwards, every
        time rule and SLA stage that came due before the import's instant is
        recorded as done (a ``no_change`` marker), so none fires later, and due
        times and queue keys are computed as after any commit. Tickets are
        committed ``batch`` at a time, one transaction each; nothing goes to the
        outbox or to subscribers.

        Args:
            records: `ImportRecord` values, read lazily (a generator is fine:
                only one batch is held in memory).
            strict: Raise on the first problem (the records before it stay
                committed, that one and the rest are not); with ``False``, a
                refused event is skipped and reported (its assignee, department
                and priority changes stand), and a refused creation skips its record.
            mark_breaches: Record each SLA breach that came due in the imported
                history as an ``sla_breached`` event at its instant (the other
                stages are recorded as done without an event).
            id_prefix: The ticket id is ``id_prefix + external_id``: a second
                import of the same record finds its ticket and skips it.
            requester: The requester of records whose creation names none
                (default: ``Requester(name="unknown")``).
            batch: Tickets per transaction (1 to 100,000).
            progress: Called with (tickets imported, events read) after each batch.

        Returns:
            The counts, the refused events and the skipped records.

        Raises:
            ImportRecordError: ``strict``, and a record is refused (its external
                id, the event's index and the field are named).
            InvalidInputError: ``records`` is not an iterable of `ImportRecord`,
                or an option is invalid.
        """
        return _import.import_tickets(
            self,
            records,
            strict=strict,
            mark_breaches=mark_breaches,
            id_prefix=id_prefix,
            requester=requester,
            batch=batch,
            progress=progress,
        )

    # --- delivery (see _delivery) -------------------------------------------------

    def subscribe(
        self,
        callback: Callable[[Ticket, Event], None],
        kinds: Iterable[EventKind | str] | None = None,
    ) -> Callable[[], None]:
        """Call ``callback(ticket, event)`` after each committed event (of ``kinds``, if given).

        Delivery is in-process and after the commit; a callback's exception is
        logged, not raised. Returns a function that unsubscribes.
        """
        return _delivery.subscribe(self, callback, kinds)

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
        return drive(self._store, _delivery.dispatch(self, limit=limit, lease=lease, now=now))

    # --- simulation (see _simulate) -----------------------------------------------

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
        return _simulate.simulate(self, rules, since, until)

    # --- queries (see _queries) ---------------------------------------------------

    def get(self, ticket_id: str) -> Ticket:
        """Return the ticket.

        Raises:
            TicketNotFound: no such ticket.
        """
        return drive(self._store, _queries.get(self, ticket_id))

    def timeline(self, ticket_id: str) -> tuple[Event, ...]:
        """Return the ticket's events, oldest first.

        Raises:
            TicketNotFound: no such ticket.
        """
        return drive(self._store, _queries.timeline(self, ticket_id))

    def allowed(self, ticket_id: str) -> tuple[str, ...]:
        """Return the commands the workflow allows on the ticket in its status, sorted.

        Guards are not evaluated. On a locked ticket only what the lock lets
        through is listed: ``customer_reply`` (unless the closed policy refuses
        it) and ``purge`` (unless the ticket is already purged).
        """
        return drive(self._store, _queries.allowed(self, ticket_id))

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
        """Return the tickets matching every given criterion, oldest first.

        Args:
            status: A status name or several.
            category: A `Category` or several (converted to statuses by the workflow).
            assignee: Agent id.
            department: Department.
            priority: Priority.
            tag: A tag the ticket carries.
            requester: The requester's e-mail address, matched case-insensitively
                (white space stripped, case-folded), through the store's
                requester index ("my tickets").
            limit: At most this many.

        Raises:
            WorkflowError: an unknown status.
            InvalidInputError: an unknown category, or a criterion that is not a
                non-empty string (``field`` names it).
        """
        return drive(
            self._store,
            _queries.find(
                self,
                status=status,
                category=category,
                assignee=assignee,
                department=department,
                priority=priority,
                tag=tag,
                requester=requester,
                limit=limit,
            ),
        )

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
        return drive(
            self._store, _queries.queue(self, agent=agent, department=department, limit=limit)
        )

    def next_due(self, ticket_id: str) -> Due | None:
        """Return what the ticket has due next: a time rule, or an SLA stage.

        An SLA stage is named ``sla:<metric>:<stage>`` (``warning``, ``breach``
        or ``escalation``).
        """
        return drive(self._store, _queries.next_due(self, ticket_id))

    def sla_state(self, ticket_id: str, now: datetime | None = None) -> SlaState:
        """Return the ticket's SLA state at ``now`` (default: the clock).

        Targets, due times, time left or overdue, paused or not, met or breached,
        per metric (see `ticketflow.sla.sla_state`). A ``now`` before the ticket's
        creation (a wall clock behind the one that stamped it) reads as its creation.

        Raises:
            TicketNotFound: no such ticket.
            InvalidInputError: the help desk has no SLA policies, or ``now`` is naive.
        """
        return drive(self._store, _queries.sla_state(self, ticket_id, now))

    def list(
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
        """Return a page of ticket summaries (`TicketSummary`), sorted, filtered and paged.

        The store keeps each ticket's summary beside it (written by the commit),
        so listing rebuilds no ticket; the built-in stores answer from indexes.
        Pages are keyset pages: pass the page's ``next_cursor`` back, with the
        same sort and filters, for the next one. A listing is a snapshot of its
        first page's time: tickets changed after it are left out of later pages,
        so no ticket shows twice, and no ticket that did not change is skipped.

        Args:
            status: A status name or several.
            category: A `Category` or several (the statuses in them).
            assignee: Agent id.
            department: Department.
            priority: A `Priority` or its name.
            tag: A tag the ticket carries.
            requester: The requester's e-mail address, case-insensitively.
            channel: Where the ticket came from.
            created_after: Created at or after this time.
            created_before: Created before this time.
            updated_after: Last changed at or after this time.
            updated_before: Last changed before this time.
            sort: ``created``, ``updated``, ``priority``, ``sla_due`` or
                ``waiting_since``, ascending; a leading ``-`` for descending
                (``"-updated"``). Ties are broken by id in the same direction;
                tickets without an SLA due time or not waiting sort last
                ascending (first descending).
            limit: At most this many summaries (1 to 1,000).
            cursor: The ``next_cursor`` of the previous page.

        Raises:
            InvalidInputError: an unknown sort key, status or category, a filter of
                the wrong type, a limit out of range, or a cursor that is
                malformed or was made for another sort or other filters
                (``field`` names which).
        """
        return drive(
            self._store,
            _list.list_page(
                self,
                sort=sort,
                limit=limit,
                cursor=cursor,
                filters={
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
                },
            ),
        )

    def search(
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
        """Return a page of the tickets whose text matches ``text``, best match first.

        Searches the subject, the description, the requester's name and e-mail
        address and every message, private notes included (an agent's search;
        `CustomerHandle.search` sees public text only). ``text`` is split at
        white space into terms, each matched as a phrase of its words, case and
        accents aside; a ticket matches when it holds every term. Nothing in
        ``text`` is query syntax. Hits are ranked by the store (BM25 on SQLite,
        ``ts_rank`` on PostgreSQL, tf-idf in memory), ties by id; the built-in
        stores keep a search index written in the commit's transaction.

        Args:
            text: What to look for (1 to 16 terms, at most 1,000 characters).
            status: As `list`, and every other filter likewise.
            category: As `list`.
            assignee: As `list`.
            department: As `list`.
            priority: As `list`.
            tag: As `list`.
            requester: As `list`.
            channel: As `list`.
            created_after: As `list`.
            created_before: As `list`.
            updated_after: As `list`.
            updated_before: As `list`.
            limit: At most this many summaries (1 to 1,000).
            cursor: The ``next_cursor`` of the previous page of the same search.

        Raises:
            InvalidInputError: ``text`` is not text, holds no word, or too many
                terms; a bad filter (as `list`), a limit out of range, or a
                cursor that is malformed or was made for another search
                (``field`` names which).
        """
        return drive(
            self._store,
            _search.search_page(
                self,
                text,
                limit=limit,
                cursor=cursor,
                filters={
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
                },
            ),
        )

    def counts(
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
        """Return how many tickets pass the filters, per status, category, assignee...

        Args:
            by: ``status``, ``category``, ``assignee``, ``department`` or
                ``priority`` (counted under the priority's name, ``"high"``).
                Tickets without an assignee or department count under None.
                Groups without tickets are left out.
            status: As `list`, and every other filter likewise.
            category: As `list`.
            assignee: As `list`.
            department: As `list`.
            priority: As `list`.
            tag: As `list`.
            requester: As `list`.
            channel: As `list`.
            created_after: As `list`.
            created_before: As `list`.
            updated_after: As `list`.
            updated_before: As `list`.

        Raises:
            InvalidInputError: an unknown ``by``, or a bad filter (as `list`).
        """
        return drive(
            self._store,
            _list.counts(
                self,
                by,
                {
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
                },
            ),
        )

    def __repr__(self) -> str:
        return f"Helpdesk(workflow={self._workflow.name!r}, store={self._store!r})"


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


def _joining(source: Ticket, target: Ticket) -> list[dict[str, Any]]:
    """The source's requester and participants who become the target's participants.

    In their stored (JSON) form, as the event keeps them; everyone but the
    target's requester, also who an earlier merge recorded already: each merge
    keeps its own record, so purging one merged ticket (which removes its
    merge's record) leaves a person who joined through another one.
    """
    present = [target.requester]
    joining: list[dict[str, Any]] = []
    for person in (source.requester, *source.participants):
        if not any(same_person(person, p) for p in present):
            present.append(person)
            # Who they are, not how to reach them: no contact details are copied.
            joining.append(attrs.evolve(person, contacts=EMPTY).to_dict())
    return joining


_STEPS: Final[
    Mapping[type[Any], Callable[[Helpdesk, Any, str | Actor | None, Scope | None], Steps[Ticket]]]
] = {
    **dict.fromkeys(_DECIDE, Helpdesk._run_steps),  # noqa: SLF001 - the pipeline's own table
    Open: Helpdesk._open,  # noqa: SLF001
    CustomerReply: Helpdesk._reply_steps,  # noqa: SLF001
    Merge: Helpdesk._merge,  # noqa: SLF001
    Purge: Helpdesk._purge,  # noqa: SLF001
}
"""How each command class runs, as steps (`AsyncHelpdesk.execute`)."""


def _driven(
    steps: Callable[[Helpdesk, Any, str | Actor | None, Scope | None], Steps[Ticket]],
) -> Callable[[Helpdesk, Any, str | Actor | None, Scope | None], Ticket]:
    """A command's steps run on the help desk's own store."""

    def run(desk: Helpdesk, command: Any, by: str | Actor | None, scope: Scope | None) -> Ticket:
        return drive(desk._store, steps(desk, command, by, scope))  # noqa: SLF001

    return run


_EXECUTE: Final[
    Mapping[type[Any], Callable[[Helpdesk, Any, str | Actor | None, Scope | None], Ticket]]
] = {
    # The hot paths call the store themselves; the others are their steps, driven.
    **dict.fromkeys(_DECIDE, Helpdesk._run),  # noqa: SLF001 - the pipeline's own table
    Open: _driven(Helpdesk._open),  # noqa: SLF001
    CustomerReply: Helpdesk._reply,  # noqa: SLF001
    Merge: _driven(Helpdesk._merge),  # noqa: SLF001
    Purge: _driven(Helpdesk._purge),  # noqa: SLF001
}
"""How `Helpdesk.execute` runs each command class."""
