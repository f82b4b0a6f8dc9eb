"""Hypothesis strategies and an invariant checker for testing code built on ticketflow.

Use them to drive your own workflows, rules and stores through random lifecycles::

    from hypothesis import given, strategies as st
    from ticketflow import FakeClock, Helpdesk, InvalidInputError, TicketLockedError
    from ticketflow import TransitionError
    from ticketflow.testing import (
        apply_command, check_ticket_invariants, command_sequences, open_ticket_kwargs,
        workflows,
    )

    REFUSED = (InvalidInputError, TicketLockedError, TransitionError)

    @given(workflows().flatmap(lambda wf: st.tuples(
        st.just(wf), open_ticket_kwargs(), command_sequences(wf))))
    def test_my_workflow_keeps_its_promises(case):
        workflow, kwargs, steps = case
        desk = Helpdesk(workflow, clock=FakeClock())
        ticket = desk.open_ticket(**kwargs)
        for step in steps:
            try:
                apply_command(desk, ticket.id, step)
            except REFUSED:
                pass
            check_ticket_invariants(desk, desk.get(ticket.id))

This module needs Hypothesis (the ``test`` extra); ``ticketflow.testing`` imports it
only when one of these names is first used, so the pytest plugin stays free of it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from typing import Final, Required, TypedDict, final

import attrs
from hypothesis import strategies as st

from .._engine import Helpdesk
from .._model import Event, EventKind, JSONValue, Priority, Requester, Ticket
from .._workflow import (
    BUILTIN_GUARDS,
    COMMAND_KINDS,
    COMMANDS,
    Category,
    ClosedPolicy,
    Status,
    Transition,
    Workflow,
)
from ..exceptions import TicketNotFound
from ..workflows import PRESETS, freshdesk, liveagent, zendesk

__all__ = [
    "COMMAND_NAMES",
    "Command",
    "OpenTicketKwargs",
    "apply_command",
    "check_ticket_invariants",
    "command_sequences",
    "commands",
    "open_ticket_kwargs",
    "presets",
    "requesters",
    "workflows",
]

COMMAND_NAMES: Final[tuple[str, ...]] = (
    "agent_reply",
    "add_note",
    "customer_reply",
    "assign",
    "set_priority",
    "add_tags",
    "remove_tags",
    "set_field",
    "resolve",
    "reopen",
    "close",
    "confirm_resolution",
    "postpone",
    "wake",
    "mark_spam",
    "delete",
    "restore",
    "fire",
    "merge",
    "purge",
)
"""The `Helpdesk` methods a `Command` can name (every command on an existing ticket)."""

_RESERVED_NAMES: Final = frozenset({"*", "="})
# "*" is the wildcard source of a `Transition`; `transitions` also reads a destination
# "=" as "the source itself", so a status with either name would be ambiguous.

_AGENTS: Final = ("ann", "bob", "eve")
_DEPARTMENTS: Final = ("billing", "it", "sales")
_TAGS: Final = ("vip", "bug", "billing", "urgent")
_FIELDS: Final = ("order", "plan", "score")
_CHANNELS: Final = ("email", "chat", "phone", "portal", "api")
_MAX_WINDOW: Final = timedelta(days=30)


def _text(*, min_size: int = 0, max_size: int = 20) -> st.SearchStrategy[str]:
    # Lone surrogates are excluded: no UTF-8 store or file could hold them.
    return st.text(st.characters(exclude_categories=["Cs"]), min_size=min_size, max_size=max_size)


def _blank_free_text() -> st.SearchStrategy[str]:
    return _text(min_size=1).filter(lambda s: bool(s.strip()))


_NAMES: Final = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_", min_size=1, max_size=10)

_JSON_SCALARS: Final[st.SearchStrategy[JSONValue]] = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**53), max_value=2**53),
    st.floats(allow_nan=False, allow_infinity=False),
    _text(),
)

_JSON_VALUES: Final[st.SearchStrategy[JSONValue]] = st.recursive(
    _JSON_SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(_text(max_size=8), children, max_size=3)
    ),
    max_leaves=6,
)


# --- workflows -------------------------------------------------------------------------


def _is_locked(status: Status) -> bool:
    return status.final or status.category is Category.CLOSED


def _expanded(transition: Transition, statuses: Sequence[Status]) -> tuple[str, ...]:
    if transition.sources == ("*",):
        return tuple(s.name for s in statuses if not s.final and s.name != transition.dest)
    return transition.sources


_CATEGORIES: Final = tuple(Category)
_INITIAL_CATEGORIES: Final = tuple(c for c in Category if c is not Category.CLOSED)


@st.composite
def _workflows(  # noqa: C901, PLR0912, PLR0915 - one construction, step by step
    draw: st.DrawFn, names: st.SearchStrategy[str], min_statuses: int, max_statuses: int
) -> Workflow:
    usable = names.filter(lambda n: n not in _RESERVED_NAMES)
    count = draw(st.integers(min_statuses, max_statuses))
    status_names = draw(st.lists(usable, min_size=count, max_size=count, unique=True))
    initial = status_names[0]
    statuses: dict[str, Status] = {}
    for index, name in enumerate(status_names):
        final_ = index > 0 and draw(st.integers(0, 4)) == 0
        categories = _INITIAL_CATEGORIES if index == 0 else _CATEGORIES
        label = draw(st.one_of(st.just(""), _text(min_size=1, max_size=12)))
        statuses[name] = Status(
            name=name, category=draw(st.sampled_from(categories)), label=label, final=final_
        )
    ordered = list(statuses.values())
    non_final = [s.name for s in ordered if not s.final]
    locked = [s.name for s in ordered if _is_locked(s)]
    finals = [s.name for s in ordered if s.final]

    # Triggers: a shared pool, plus one trigger reserved for merge and one for purge.
    # The engine relies on merged tickets being locked and purged ones final (a merged
    # ticket that could be changed or merged again may form a merge cycle), so the
    # merge and purge triggers lead only there; see the module's notes in the README.
    trigger_names = draw(st.lists(usable, min_size=3, max_size=8, unique=True))
    merge_trigger, purge_trigger, *pool = trigger_names
    pool_triggers = st.sampled_from(pool)
    guards = st.one_of(st.none(), st.none(), st.none(), st.sampled_from(sorted(BUILTIN_GUARDS)))
    use_merge = bool(locked) and draw(st.booleans())
    use_purge = bool(finals) and draw(st.booleans())

    def trigger_into(dest: str) -> str:
        if use_merge and dest in locked and draw(st.booleans()):
            return merge_trigger
        if use_purge and dest in finals and draw(st.booleans()):
            return purge_trigger
        return draw(pool_triggers)

    transitions: list[Transition] = []
    # A spanning tree from the initial status makes every status reachable.
    for index in range(1, count):
        child = status_names[index]
        parent = draw(st.sampled_from([n for n in status_names[:index] if n in non_final]))
        trigger = trigger_into(child)
        transitions.append(
            Transition(trigger=trigger, sources=(parent,), dest=child, guard=draw(guards))
        )
    for _ in range(draw(st.integers(0, 2 * count))):
        dest = draw(st.sampled_from(status_names))
        if draw(st.integers(0, 5)) == 0:
            sources: tuple[str, ...] = ("*",)
        else:
            picked = draw(st.lists(st.sampled_from(non_final), min_size=1, max_size=3, unique=True))
            sources = tuple(picked)
        transitions.append(
            Transition(trigger=trigger_into(dest), sources=sources, dest=dest, guard=draw(guards))
        )
    if use_purge and draw(st.booleans()):
        transitions.append(
            Transition(trigger=purge_trigger, sources=("*",), dest=draw(st.sampled_from(finals)))
        )

    def leaving(name: str, trigger: str | None = None) -> bool:
        return any(
            name in _expanded(t, ordered) for t in transitions if trigger in (None, t.trigger)
        )

    # Every status that is not final needs a way out.
    for name in non_final:
        if not leaving(name):
            dest = draw(st.sampled_from(status_names))
            transitions.append(Transition(trigger=draw(pool_triggers), sources=(name,), dest=dest))

    events: dict[str, str] = {}
    for command in COMMANDS:
        if command == "merge":
            if any(t.trigger == merge_trigger for t in transitions) and draw(st.booleans()):
                events[command] = merge_trigger
        elif command == "purge":
            if any(t.trigger == purge_trigger for t in transitions) and draw(st.booleans()):
                events[command] = purge_trigger
        elif draw(st.integers(0, 4)) > 1:
            events[command] = draw(pool_triggers)

    closed_policy = draw(st.sampled_from(tuple(ClosedPolicy)))
    if closed_policy is ClosedPolicy.REOPEN:
        events.setdefault("customer_reply", draw(pool_triggers))
    # A command may only map to a trigger that some transition declares.
    for trigger in sorted(set(events.values()) - {t.trigger for t in transitions}):
        source = draw(st.sampled_from(non_final))
        dest = draw(st.sampled_from(status_names))
        transitions.append(Transition(trigger=trigger, sources=(source,), dest=dest))
    if closed_policy is ClosedPolicy.REOPEN:
        reply = events["customer_reply"]
        merged_only: set[str] = set()
        if events.get("merge") == merge_trigger:
            merged_only = {t.dest for t in transitions if t.trigger == merge_trigger} - {
                t.dest for t in transitions if t.trigger != merge_trigger
            }
        # closed_policy "reopen": a customer reply must be able to leave every closed
        # status a ticket can be in without having been merged.
        for status in ordered:
            closed = status.category is Category.CLOSED and not status.final
            if closed and status.name not in merged_only and not leaving(status.name, reply):
                dest = draw(st.sampled_from(status_names))
                transitions.append(Transition(trigger=reply, sources=(status.name,), dest=dest))

    return Workflow(
        name=draw(usable),
        statuses=draw(st.permutations(ordered)),
        initial=initial,
        transitions=transitions,
        events=events,
        closed_policy=closed_policy,
        reopen_window=draw(st.none() | st.timedeltas(timedelta(0), _MAX_WINDOW)),
        reopen_resolved=draw(st.booleans()),
    )


def workflows(
    *,
    names: st.SearchStrategy[str] | None = None,
    min_statuses: int = 2,
    max_statuses: int = 10,
) -> st.SearchStrategy[Workflow]:
    """Return a strategy for random valid `ticketflow.Workflow` objects.

    Each workflow is built to pass validation (nothing is filtered): ``min_statuses``
    to ``max_statuses`` statuses of random categories (some final), a non-final
    initial status that is not in category ``closed``, every status reachable from the
    initial one, every status that is not final with a way out and final ones
    without, transitions that share triggers (so priority order matters), sometimes
    the ``"*"`` source and a built-in guard (``has_assignee``, ``has_department``,
    ``was_new``), a random subset of the commands mapped to triggers, and random
    settings; ``closed_policy = "reopen"`` comes with a customer-reply transition
    out of every closed status a ticket can be in without having been merged.

    Merge is only ever mapped to a trigger that leads to locked statuses (category
    ``closed`` or final), and purge to one that leads to final statuses: the engine
    counts on a merged ticket staying locked and on a purged one staying purged.

    Args:
        names: Strategy for status, trigger and workflow names; defaults to short
            lower-case identifiers. ``"*"`` and ``"="`` are never used.
        min_statuses: The fewest statuses (at least 2).
        max_statuses: The most statuses.

    Raises:
        ValueError: ``min_statuses`` is below 2 or above ``max_statuses``.
    """
    if not 2 <= min_statuses <= max_statuses:
        raise ValueError(
            f"need 2 <= min_statuses <= max_statuses, got {min_statuses}, {max_statuses}"
        )
    return _workflows(_NAMES if names is None else names, min_statuses, max_statuses)


_PRESET_BUILDERS: Final[Mapping[str, Callable[..., Workflow]]] = {
    "liveagent": liveagent,
    "zendesk": zendesk,
    "freshdesk": freshdesk,
}


@st.composite
def _presets(draw: st.DrawFn) -> Workflow:
    builder = _PRESET_BUILDERS[draw(st.sampled_from(PRESETS))]
    return builder(
        closed_policy=draw(st.none() | st.sampled_from(tuple(ClosedPolicy))),
        reopen_window=draw(st.none() | st.timedeltas(timedelta(0), _MAX_WINDOW)),
        reopen_resolved=draw(st.none() | st.booleans()),
    )


def presets() -> st.SearchStrategy[Workflow]:
    """Return a strategy for the shipped presets (`ticketflow.workflows`) with random settings.

    ``closed_policy``, ``reopen_window`` and ``reopen_resolved`` are each left at the
    preset's default or drawn at random.
    """
    return _presets()


# --- tickets ---------------------------------------------------------------------------


@st.composite
def _requesters(draw: st.DrawFn) -> Requester:
    email = draw(st.none() | st.emails())
    name = draw(_text(max_size=20) if email else _text(min_size=1, max_size=20))
    return Requester(
        name=name,
        email=email,
        contacts=draw(st.dictionaries(_text(min_size=1, max_size=8), _text(), max_size=2)),
        organisation=draw(st.none() | _text(min_size=1)),
    )


def requesters() -> st.SearchStrategy[Requester]:
    """Return a strategy for valid `ticketflow.Requester` objects (a name, an e-mail, or both)."""
    return _requesters()


class OpenTicketKwargs(TypedDict, total=False):
    """Keyword arguments for `ticketflow.Helpdesk.open_ticket` (``parent_id`` aside)."""

    subject: Required[str]
    requester: Required[Requester]
    description: str
    priority: Priority | str
    channel: str
    assignee: str | None
    department: str | None
    tags: list[str]
    custom_fields: dict[str, JSONValue]
    by: str | None


@st.composite
def _open_ticket_kwargs(draw: st.DrawFn) -> OpenTicketKwargs:
    kwargs: OpenTicketKwargs = {"subject": draw(_text()), "requester": draw(requesters())}
    if draw(st.booleans()):
        kwargs["description"] = draw(_text(max_size=40))
    if draw(st.booleans()):
        kwargs["priority"] = draw(
            st.sampled_from(tuple(Priority)) | st.sampled_from([p.label for p in Priority])
        )
    if draw(st.booleans()):
        kwargs["channel"] = draw(st.sampled_from(_CHANNELS) | _blank_free_text())
    if draw(st.booleans()):
        kwargs["assignee"] = draw(st.none() | st.sampled_from(_AGENTS))
    if draw(st.booleans()):
        kwargs["department"] = draw(st.none() | st.sampled_from(_DEPARTMENTS))
    if draw(st.booleans()):
        kwargs["tags"] = draw(st.lists(st.sampled_from(_TAGS), max_size=3))
    if draw(st.booleans()):
        kwargs["custom_fields"] = draw(
            st.dictionaries(st.sampled_from(_FIELDS), _JSON_VALUES, max_size=2)
        )
    if draw(st.booleans()):
        kwargs["by"] = draw(st.none() | st.sampled_from(_AGENTS))
    return kwargs


def open_ticket_kwargs() -> st.SearchStrategy[OpenTicketKwargs]:
    """Return a strategy for valid keyword arguments of `ticketflow.Helpdesk.open_ticket`.

    Example:
        >>> from ticketflow import FakeClock, Helpdesk
        >>> @given(open_ticket_kwargs())  # doctest: +SKIP
        ... def test_open(kwargs):
        ...     Helpdesk(clock=FakeClock()).open_ticket(**kwargs)
    """
    return _open_ticket_kwargs()


# --- commands --------------------------------------------------------------------------


@final
@attrs.frozen(slots=True)
class Command:
    """One step of a scripted lifecycle: a `Helpdesk` method and its arguments.

    `apply_command` runs it. ``name`` is one of `COMMAND_NAMES`; ``kwargs`` are the
    method's keyword arguments, except for three spellings that need the help desk
    at hand: ``tags`` (a list, passed positionally to ``add_tags`` and
    ``remove_tags``), ``delay`` (a `datetime.timedelta`; ``postpone`` gets
    ``until = desk.clock.now() + delay``) and ``into_id`` (the target of ``merge``).

    Attributes:
        name: The `Helpdesk` method.
        kwargs: Its arguments (the ticket id aside).
    """

    name: str
    kwargs: Mapping[str, object] = attrs.field(factory=dict)


def apply_command(desk: Helpdesk, ticket_id: str, command: Command) -> Ticket:
    """Run ``command`` on ``ticket_id`` through ``desk`` and return what the method returns.

    Note that ``merge`` returns the target ticket and ``customer_reply`` the ticket the
    reply landed on (a follow-up, or the ticket a merged one was merged into).

    Raises:
        ValueError: ``command.name`` is not one of `COMMAND_NAMES`.
        ticketflow.TicketflowError: whatever the `Helpdesk` method raises.
    """
    if command.name not in COMMAND_NAMES:
        raise ValueError(f"unknown command {command.name!r}; commands: {', '.join(COMMAND_NAMES)}")
    kwargs = dict(command.kwargs)
    args: list[object] = [ticket_id]
    if command.name in ("add_tags", "remove_tags"):
        tags = kwargs.pop("tags", ())
        if not isinstance(tags, list | tuple):
            raise ValueError(f"{command.name}: tags must be a list, got {tags!r}")
        args.extend(tags)
    elif command.name == "postpone":
        delay = kwargs.pop("delay")
        if not isinstance(delay, timedelta):
            raise ValueError(f"postpone: delay must be a timedelta, got {delay!r}")
        args.append(desk.clock.now() + delay)
    elif command.name == "merge":
        args.append(kwargs.pop("into_id"))
    method: Callable[..., Ticket] = getattr(desk, command.name)
    return method(*args, **kwargs)


@st.composite
def _commands(  # noqa: C901, PLR0911, PLR0912 - one branch per command
    draw: st.DrawFn, triggers: tuple[str, ...], merge_into: tuple[str, ...], invalid: bool
) -> Command:
    agents = st.sampled_from(_AGENTS)
    by = st.none() | agents
    bodies = _text(max_size=30)
    bad = invalid and draw(st.integers(0, 5)) == 0
    names = [n for n in COMMAND_NAMES if n != "merge" or merge_into]
    name = draw(st.sampled_from(names))
    if name in ("agent_reply", "add_note"):
        return Command(name, {"body": draw(bodies), "by": draw(agents)})
    if name == "customer_reply":
        return Command(name, {"body": draw(bodies), "by": draw(st.none() | _blank_free_text())})
    if name == "assign":
        kwargs: dict[str, object] = {"by": draw(by)}
        if draw(st.booleans()):
            kwargs["agent"] = draw(st.none() | agents)
        if draw(st.booleans()):
            kwargs["department"] = draw(st.none() | st.sampled_from(_DEPARTMENTS))
        return Command(name, kwargs)
    if name == "set_priority":
        priority = "critical" if bad else draw(st.sampled_from(tuple(Priority)))
        return Command(name, {"priority": priority, "by": draw(by)})
    if name in ("add_tags", "remove_tags"):
        tags = draw(st.lists(st.sampled_from(_TAGS), max_size=3))
        return Command(name, {"tags": tags, "by": draw(by)})
    if name == "set_field":
        value = float("nan") if bad else draw(_JSON_VALUES)
        return Command(name, {"name": draw(st.sampled_from(_FIELDS)), "value": value})
    if name == "confirm_resolution":
        rating = draw(st.sampled_from([0, 6])) if bad else draw(st.none() | st.integers(1, 5))
        return Command(name, {"rating": rating})
    if name == "postpone":
        if bad:
            delay = -draw(st.timedeltas(timedelta(0), timedelta(days=1)))
        else:
            delay = draw(st.timedeltas(timedelta(microseconds=1), timedelta(days=30)))
        return Command(name, {"delay": delay, "by": draw(by)})
    if name == "fire":
        trigger = draw(st.sampled_from((*triggers, "no_such_trigger")))
        return Command(name, {"trigger": trigger, "by": draw(by)})
    if name == "merge":
        return Command(name, {"into_id": draw(st.sampled_from(merge_into)), "by": draw(by)})
    return Command(name, {"by": draw(by)})


def commands(
    workflow: Workflow | None = None,
    *,
    merge_into: Sequence[str] = (),
    invalid: bool = False,
) -> st.SearchStrategy[Command]:
    """Return a strategy for `Command` steps on one ticket.

    Args:
        workflow: The workflow, so that ``fire`` draws its triggers (and sometimes an
            unknown one); without it ``fire`` only uses an unknown trigger.
        merge_into: Ticket ids ``merge`` may target; without any, no ``merge``.
        invalid: Also produce, now and then, arguments the help desk must refuse with
            `ticketflow.InvalidInputError` (an unknown priority, a NaN field value,
            a rating out of range, a ``postpone`` into the past).
    """
    triggers = () if workflow is None else workflow.triggers
    return _commands(triggers, tuple(merge_into), invalid)


def command_sequences(
    workflow: Workflow | None = None,
    *,
    merge_into: Sequence[str] = (),
    invalid: bool = False,
    max_size: int = 20,
) -> st.SearchStrategy[list[Command]]:
    """Return a strategy for lists of up to ``max_size`` `Command` steps (see `commands`)."""
    return st.lists(commands(workflow, merge_into=merge_into, invalid=invalid), max_size=max_size)


# --- invariants ------------------------------------------------------------------------

_KIND_COMMANDS: Final[Mapping[EventKind, str]] = {kind: c for c, kind in COMMAND_KINDS.items()}


def _trigger_of(workflow: Workflow, event: Event) -> str | None:
    if event.kind is EventKind.TRANSITIONED:
        trigger = event.data.get("trigger")
        return trigger if isinstance(trigger, str) else None
    command = _KIND_COMMANDS.get(event.kind)
    return None if command is None else workflow.events.get(command)


def _declares(workflow: Workflow, trigger: str, source: str, dest: str) -> bool:
    return any(
        t.trigger == trigger and t.dest == dest and source in workflow.expand_sources(t)
        for t in workflow.transitions
    )


def _change_while_locked(workflow: Workflow, timeline: Sequence[Event], index: int) -> str | None:
    """Return why ``timeline[index]`` may not happen to a locked ticket, or None if it may."""
    event = timeline[index]
    if workflow.status(event.status_before).final:
        return "the ticket was in a final status"
    if event.kind is EventKind.PURGED:
        return None  # data protection outranks the lock
    if event.kind is not EventKind.CUSTOMER_REPLIED:
        return "only a purge or a reopening customer reply may change a locked ticket"
    if workflow.closed_policy is not ClosedPolicy.REOPEN:
        return f"closed_policy is {workflow.closed_policy.value!r}, not 'reopen'"
    window = workflow.reopen_window
    entered = next((e.at for e in reversed(timeline[:index]) if e.changes_status), timeline[0].at)
    if window is not None and event.at - entered > window:
        return (
            f"the reply came {event.at - entered} after the ticket entered "
            f"{event.status_before!r}, beyond reopen_window {window}"
        )
    return None


def _event_problem(  # noqa: C901, PLR0911 - a flat list of independent checks
    workflow: Workflow, declared: set[str], timeline: Sequence[Event], index: int
) -> str | None:
    """Return what is wrong with ``timeline[index]`` given the events before it, if anything."""
    event = timeline[index]
    for status in (event.status_before, event.status_after):
        if status not in declared:
            return f"status {status!r} is not declared"
    if event.version != index + 1:
        return f"version {event.version}, expected {index + 1}"
    if index == 0:
        return None
    if event.kind is EventKind.CREATED:
        return "a 'created' event after the first"
    previous = timeline[index - 1]
    if event.status_before != previous.status_after:
        return (
            f"starts in {event.status_before!r} but the previous event ended in "
            f"{previous.status_after!r}"
        )
    if event.at < previous.at:
        return f"at {event.at.isoformat()} is before the previous {previous.at.isoformat()}"
    if event.changes_status:
        move = f"moved {event.status_before!r} -> {event.status_after!r}"
        trigger = _trigger_of(workflow, event)
        if trigger is None:
            return f"{move}, but no trigger of the workflow stands for this kind of event"
        if not _declares(workflow, trigger, event.status_before, event.status_after):
            return f"{move}, which no transition of trigger {trigger!r} declares"
    if workflow.is_locked(event.status_before):
        reason = _change_while_locked(workflow, timeline, index)
        if reason is not None:
            return f"changed a locked ticket: {reason}"
    return None


def check_ticket_invariants(desk: Helpdesk, ticket: Ticket) -> None:  # noqa: C901 - flat checks
    """Check what ticketflow guarantees about every ticket; raise `AssertionError` if broken.

    Pass the latest snapshot of the ticket (as returned by a command or
    ``desk.get``). Checked:

    * the ticket's status, and every status in its timeline, is declared by
      ``desk.workflow``, and the ticket's status is its last event's;
    * the timeline starts with a ``created`` event in the initial status, and each
      event starts where the previous one ended;
    * every status change is a declared transition: a transition of the trigger the
      event's command maps to (or that a ``transitioned`` event names) whose
      expanded sources hold the old status and whose destination is the new one;
    * a locked ticket (closed category or final) changed only by a purge (unless
      final) or by a customer reply that ``closed_policy = "reopen"`` allows within
      ``reopen_window`` of the ticket entering that status: the two exceptions to
      the lock the engine documents (both still follow declared transitions);
    * event times never decrease, and event ``n`` (from 1) has version ``n``,
      which is the ticket's version for the last one;
    * `Ticket.rebuild` from the timeline gives back the ticket;
    * the store holds exactly this ticket.

    Raises:
        AssertionError: an invariant does not hold; the message names the ticket,
            the event and what was expected.
    """
    workflow = desk.workflow
    declared = {s.name for s in workflow.statuses}

    def fail(message: str) -> AssertionError:
        return AssertionError(f"ticket {ticket.id} (status {ticket.status!r}): {message}")

    timeline = ticket.timeline
    if not timeline:
        raise fail("the timeline is empty")
    if ticket.status not in declared:
        raise fail(f"status {ticket.status!r} is not declared by workflow {workflow.name!r}")
    first = timeline[0]
    if first.kind is not EventKind.CREATED:
        raise fail(f"the first event is {first.kind.value!r}, expected 'created'")
    if first.status_before != workflow.initial or first.status_after != workflow.initial:
        raise fail(
            f"created in {first.status_after!r}, expected the initial status {workflow.initial!r}"
        )
    for index in range(len(timeline)):
        problem = _event_problem(workflow, declared, timeline, index)
        if problem is not None:
            raise fail(f"event #{index} ({timeline[index].kind.value}): {problem}")
    if ticket.status != timeline[-1].status_after:
        raise fail(f"the last event ends in {timeline[-1].status_after!r}")
    if ticket.version != timeline[-1].version:
        raise fail(f"version {ticket.version}, but the last event has {timeline[-1].version}")
    rebuilt = Ticket.rebuild(timeline)
    if rebuilt != ticket:
        raise fail(f"rebuilding from the timeline gives a different ticket: {rebuilt!r}")
    try:
        stored = desk.store.get(ticket.id)
    except TicketNotFound:
        raise fail("the store does not hold it") from None
    if stored != ticket:
        raise fail(f"the store holds a different snapshot (version {stored.version})")
