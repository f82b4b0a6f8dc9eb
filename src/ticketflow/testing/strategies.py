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
from typing import Any, Final, Required, TypedDict, final

import attrs
from hypothesis import strategies as st

from .._engine import Helpdesk
from .._model import Actor, Event, EventKind, JSONValue, Priority, Requester, Role, Ticket
from .._workflow import (
    BUILTIN_GUARDS,
    COMMANDS,
    Category,
    ClosedPolicy,
    Status,
    Transition,
    Workflow,
)
from ..attachments import Attachment
from ..commands import BY_KIND, BY_NAME
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

COMMAND_NAMES: Final[tuple[str, ...]] = tuple(
    cls.method for cls in BY_NAME.values() if cls.method not in {"open_ticket", "execute"}
)
"""The `Helpdesk` methods a `Command` can name (every command on an existing ticket)."""

_RESERVED_NAMES: Final = frozenset({"*", "="})
# "*" is the wildcard source of a `Transition`; `transitions` also reads a destination
# "=" as "the source itself", so a status with either name would be ambiguous.
_RESERVED_TRIGGERS: Final = _RESERVED_NAMES | {"state", "get_graph"}
# `transitions` refuses a trigger named like a model attribute ("state", "get_graph").

_AGENTS: Final = ("ann", "bob", "eve")
_DEPARTMENTS: Final = ("billing", "it", "sales")
_TAGS: Final = ("vip", "bug", "billing", "urgent")
_FIELDS: Final = ("order", "plan", "score")
_CHANNELS: Final = ("email", "chat", "phone", "portal", "api")
_MAX_WINDOW: Final = timedelta(days=30)


# Strategies are built once, here: building one per draw costs more than the draw.
# Lone surrogates (category Cs) and NUL are excluded from text: ticketflow refuses
# them, since no UTF-8 store or file could hold them.
_CHARACTERS: Final = st.characters(exclude_categories=["Cs"], exclude_characters="\x00")
_TEXT: Final = st.text(_CHARACTERS, max_size=20)
_SHORT_TEXT: Final = st.text(_CHARACTERS, max_size=8)
_LONG_TEXT: Final = st.text(_CHARACTERS, max_size=40)
_LABELS: Final = st.just("") | st.text(_CHARACTERS, min_size=1, max_size=12)
_NON_BLANK: Final = st.text(_CHARACTERS, min_size=1, max_size=20).filter(lambda s: bool(s.strip()))
_EMAILS: Final = st.builds(
    "{}@{}".format,
    st.sampled_from(("ann", "bo.smith", "c_d+help", "zoë")),
    st.sampled_from(("example.com", "example.org", "mail.example.net")),
)
_BOOLEANS: Final = st.booleans()
_AGENT_IDS: Final = st.sampled_from(_AGENTS)
_MAYBE_AGENT: Final = st.none() | _AGENT_IDS
_MAYBE_DEPARTMENT: Final = st.none() | st.sampled_from(_DEPARTMENTS)
_TAG_LISTS: Final = st.lists(st.sampled_from(_TAGS), max_size=3)
_FIELD_NAMES: Final = st.sampled_from(_FIELDS)
_PRIORITIES: Final = st.sampled_from(tuple(Priority)) | st.sampled_from([p.label for p in Priority])
_CHANNEL_NAMES: Final = st.sampled_from(_CHANNELS) | _NON_BLANK
_WINDOWS: Final = st.none() | st.timedeltas(timedelta(0), _MAX_WINDOW)
_POLICIES: Final = st.sampled_from(tuple(ClosedPolicy))
_ONE_TO_3: Final = st.integers(1, 3)
_GUARD_NAMES: Final = st.sampled_from((None, None, None, *sorted(BUILTIN_GUARDS)))


def _pick(draw: st.DrawFn, items: Sequence[str]) -> str:
    """Draw one of ``items`` (cheaper than a new ``sampled_from`` for every draw)."""
    return items[draw(st.integers(0, len(items) - 1))]


def _one_in(draw: st.DrawFn, n: int) -> bool:
    return draw(st.integers(0, n - 1)) == 0


_STATUS_WORDS: Final = (
    "new",
    "open",
    "pending",
    "answered",
    "hold",
    "waiting",
    "triage",
    "escalated",
    "review",
    "blocked",
    "solved",
    "resolved",
    "done",
    "closed",
    "merged",
    "archived",
    "cancelled",
    "spam",
    "deleted",
    "purged",
)
_TRIGGER_WORDS: Final = (
    "reply",
    "answer",
    "respond",
    "solve",
    "resolve",
    "close",
    "reopen",
    "escalate",
    "park",
    "wake",
    "trash",
    "restore",
    "merge",
    "purge",
    "approve",
    "archive",
)
_WORKFLOW_WORDS: Final = ("support", "it", "billing", "sales", "helpdesk")

_JSON_SCALARS: Final[st.SearchStrategy[JSONValue]] = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**53), max_value=2**53),
    st.floats(allow_nan=False, allow_infinity=False),
    _TEXT,
)

_JSON_VALUES: Final[st.SearchStrategy[JSONValue]] = st.recursive(
    _JSON_SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(_SHORT_TEXT, children, max_size=3)
    ),
    max_leaves=6,
)
_CUSTOM_FIELDS: Final = st.dictionaries(_FIELD_NAMES, _JSON_VALUES, max_size=2)

# A message's metadata: any text where the model takes any, e-mail ids and addresses
# without the characters they refuse (CR, LF; angle brackets in ids).
_ONE_LINE: Final = _NON_BLANK.filter(lambda s: "\r" not in s and "\n" not in s)
_MESSAGE_IDS: Final = _ONE_LINE.filter(lambda s: "<" not in s and ">" not in s)
_ATTACHMENTS: Final = st.builds(
    Attachment,
    filename=st.sampled_from(("a.pdf", "report 2026.txt", "ünïcode ✓.png", "no-extension")),
    content_type=st.sampled_from(("application/pdf", "text/plain", "image/png")),
    size=st.integers(0, 2**40),
    sha256=st.text("0123456789abcdef", min_size=64, max_size=64),
    ref=_NON_BLANK,
)
_METADATA_PARTS: Final[Mapping[str, st.SearchStrategy[Any]]] = {
    "attachments": st.lists(_ATTACHMENTS, min_size=1, max_size=2),
    "external_id": _MESSAGE_IDS,
    "in_reply_to": _MESSAGE_IDS,
    "references": st.lists(_MESSAGE_IDS, min_size=1, max_size=3),
    "cc": st.lists(_ONE_LINE, min_size=1, max_size=2),
    "html": _LONG_TEXT,
    "metadata": _CUSTOM_FIELDS,
}


@st.composite
def _message_metadata(draw: st.DrawFn, *, channel: bool) -> dict[str, Any]:
    # Most messages are plain (the hot path); one in three carries some metadata.
    if not _one_in(draw, 3):
        return {}
    parts = dict(_METADATA_PARTS)
    if channel:
        parts["channel"] = _NON_BLANK
    keys = draw(st.lists(st.sampled_from(sorted(parts)), min_size=1, max_size=4, unique=True))
    return {key: draw(parts[key]) for key in keys}


# --- workflows -------------------------------------------------------------------------


def _is_locked(status: Status) -> bool:
    return status.final or status.category is Category.CLOSED


def _expanded(transition: Transition, statuses: Sequence[Status]) -> tuple[str, ...]:
    if transition.sources == ("*",):
        return tuple(s.name for s in statuses if not s.final and s.name != transition.dest)
    return transition.sources


_CATEGORIES: Final = st.sampled_from(tuple(Category))
_INITIAL_CATEGORIES: Final = st.sampled_from(tuple(c for c in Category if c is not Category.CLOSED))
_STATUS_NAMES: Final = st.sampled_from(_STATUS_WORDS)
_TRIGGER_NAMES: Final = st.sampled_from(_TRIGGER_WORDS)


def _distinct_names(
    draw: st.DrawFn, names: st.SearchStrategy[str], count: int, reserved: frozenset[str]
) -> list[str]:
    """Draw ``count`` names; a repeated or reserved one gets a suffix (never a retry)."""
    out: list[str] = []
    for _ in range(count):
        name = draw(names) or "_"
        while name in reserved or name in out:
            name = f"{name}_{len(out)}"
        out.append(name)
    return out


@st.composite
def _workflows(  # noqa: C901, PLR0912, PLR0915 - one construction, step by step
    draw: st.DrawFn, names: st.SearchStrategy[str] | None, min_statuses: int, max_statuses: int
) -> Workflow:
    count = draw(st.integers(min_statuses, max_statuses))
    trigger_count = draw(st.integers(3, 8))
    if names is None:
        # Unique draws from a vocabulary: realistic, and Hypothesis never retries them.
        status_names = draw(st.lists(_STATUS_NAMES, min_size=count, max_size=count, unique=True))
        trigger_names = draw(
            st.lists(_TRIGGER_NAMES, min_size=trigger_count, max_size=trigger_count, unique=True)
        )
        workflow_name = _pick(draw, _WORKFLOW_WORDS)
    else:
        status_names = _distinct_names(draw, names, count, _RESERVED_NAMES)
        trigger_names = _distinct_names(draw, names, trigger_count, _RESERVED_TRIGGERS)
        workflow_name = draw(names) or "workflow"
    initial = status_names[0]
    statuses: dict[str, Status] = {}
    for index, name in enumerate(status_names):
        final_ = index > 0 and _one_in(draw, 5)
        categories = _INITIAL_CATEGORIES if index == 0 else _CATEGORIES
        statuses[name] = Status(
            name=name, category=draw(categories), label=draw(_LABELS), final=final_
        )
    ordered = list(statuses.values())
    non_final = [s.name for s in ordered if not s.final]
    locked = [s.name for s in ordered if _is_locked(s)]
    finals = [s.name for s in ordered if s.final]

    # Triggers: a shared pool, plus one trigger reserved for merge and one for purge.
    # The engine relies on merged tickets being locked and purged ones final (a merged
    # ticket that could be changed or merged again may form a merge cycle), so the
    # merge and purge triggers lead only there (see `workflows`).
    merge_trigger, purge_trigger, *pool = trigger_names
    use_merge = bool(locked) and draw(_BOOLEANS)
    use_purge = bool(finals) and draw(_BOOLEANS)

    def trigger_into(dest: str) -> str:
        if use_merge and dest in locked and draw(_BOOLEANS):
            return merge_trigger
        if use_purge and dest in finals and draw(_BOOLEANS):
            return purge_trigger
        return _pick(draw, pool)

    transitions: list[Transition] = []
    # A spanning tree from the initial status makes every status reachable.
    for index in range(1, count):
        child = status_names[index]
        parent = _pick(draw, [n for n in status_names[:index] if n in non_final])
        trigger = trigger_into(child)
        transitions.append(
            Transition(trigger=trigger, sources=(parent,), dest=child, guard=draw(_GUARD_NAMES))
        )
    for _ in range(draw(st.integers(0, 2 * count))):
        dest = _pick(draw, status_names)
        if _one_in(draw, 6):
            sources: tuple[str, ...] = ("*",)
        else:
            sources = tuple(dict.fromkeys(_pick(draw, non_final) for _ in range(draw(_ONE_TO_3))))
        guard = draw(_GUARD_NAMES)
        transitions.append(
            Transition(trigger=trigger_into(dest), sources=sources, dest=dest, guard=guard)
        )
    if use_purge and draw(_BOOLEANS):
        transitions.append(
            Transition(trigger=purge_trigger, sources=("*",), dest=_pick(draw, finals))
        )

    def way_out(name: str) -> bool:
        return any(t.dest != name and name in _expanded(t, ordered) for t in transitions)

    def leaving(name: str, trigger: str) -> bool:
        return any(t.trigger == trigger and name in _expanded(t, ordered) for t in transitions)

    # Every status that is not final needs a way out (a self-loop is none).
    for name in non_final:
        if not way_out(name):
            dest = _pick(draw, [n for n in status_names if n != name])
            transitions.append(Transition(trigger=_pick(draw, pool), sources=(name,), dest=dest))

    events: dict[str, str] = {}
    for command in COMMANDS:
        if command == "merge":
            if any(t.trigger == merge_trigger for t in transitions) and not _one_in(draw, 4):
                events[command] = merge_trigger
        elif command == "purge":
            if any(t.trigger == purge_trigger for t in transitions) and not _one_in(draw, 4):
                events[command] = purge_trigger
        elif not _one_in(draw, 3):
            events[command] = _pick(draw, pool)

    closed_policy = draw(_POLICIES)
    if closed_policy is ClosedPolicy.REOPEN:
        events.setdefault("customer_reply", _pick(draw, pool))
    # A command may only map to a trigger that some transition declares.
    for trigger in sorted(set(events.values()) - {t.trigger for t in transitions}):
        source = _pick(draw, non_final)
        transitions.append(
            Transition(trigger=trigger, sources=(source,), dest=_pick(draw, status_names))
        )
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
                # Not into a merged-only status: that would make it reachable otherwise.
                dest = _pick(draw, [n for n in status_names if n not in merged_only])
                transitions.append(Transition(trigger=reply, sources=(status.name,), dest=dest))

    return Workflow(
        name=workflow_name,
        statuses=draw(st.permutations(ordered)),
        initial=initial,
        transitions=transitions,
        events=events,
        closed_policy=closed_policy,
        reopen_window=draw(_WINDOWS),
        reopen_resolved=draw(_BOOLEANS),
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
        names: Strategy for status, trigger and workflow names; by default they come
            from a vocabulary of help-desk words (``"open"``, ``"escalate"``). A name
            drawn twice, or a reserved one, gets a ``_<n>`` suffix; an empty one
            becomes ``"_"``. Reserved: ``"*"`` and ``"="`` (the wildcard source, and
            `transitions`' "same status" destination) and, for triggers,
            ``"state"`` (which `transitions` refuses).
        min_statuses: The fewest statuses (at least 2).
        max_statuses: The most statuses (at most 20 with the default names).

    Raises:
        ValueError: ``min_statuses`` is below 2 or above ``max_statuses``, or
            ``max_statuses`` is above 20 with the default names.
    """
    if not 2 <= min_statuses <= max_statuses:
        raise ValueError(
            f"need 2 <= min_statuses <= max_statuses, got {min_statuses}, {max_statuses}"
        )
    if names is None and max_statuses > len(_STATUS_WORDS):
        raise ValueError(
            f"max_statuses is at most {len(_STATUS_WORDS)} with the default names; "
            "pass names= for more"
        )
    return _workflows(names, min_statuses, max_statuses)


_PRESET_BUILDERS: Final[Mapping[str, Callable[..., Workflow]]] = {
    "liveagent": liveagent,
    "zendesk": zendesk,
    "freshdesk": freshdesk,
}


@st.composite
def _presets(draw: st.DrawFn) -> Workflow:
    builder = _PRESET_BUILDERS[_pick(draw, PRESETS)]
    return builder(
        closed_policy=draw(st.none() | _POLICIES),
        reopen_window=draw(_WINDOWS),
        reopen_resolved=draw(st.none() | _BOOLEANS),
    )


def presets() -> st.SearchStrategy[Workflow]:
    """Return a strategy for the shipped presets (`ticketflow.workflows`) with random settings.

    ``closed_policy``, ``reopen_window`` and ``reopen_resolved`` are each left at the
    preset's default or drawn at random.
    """
    return _presets()


# --- tickets ---------------------------------------------------------------------------


_MAYBE_EMAIL: Final = st.none() | _EMAILS
_CONTACTS: Final = st.dictionaries(st.sampled_from(("phone", "chat", "fax")), _TEXT, max_size=2)
_MAYBE_ORGANISATION: Final = st.none() | _NON_BLANK


@st.composite
def _requesters(draw: st.DrawFn) -> Requester:
    email = draw(_MAYBE_EMAIL)
    # The help desk names the customer by e-mail, else by name: that must not be blank.
    return Requester(
        name=draw(_TEXT if email else _NON_BLANK),
        email=email,
        contacts=draw(_CONTACTS),
        organisation=draw(_MAYBE_ORGANISATION),
    )


_REQUESTERS: Final = _requesters()


def requesters() -> st.SearchStrategy[Requester]:
    """Return a strategy for `ticketflow.Requester` objects a help desk accepts.

    Each has an e-mail address, or else a name that is not blank (the help desk
    uses the one or the other as the customer's id).
    """
    return _REQUESTERS


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
    attachments: list[Attachment]
    external_id: str
    in_reply_to: str
    references: list[str]
    cc: list[str]
    html: str
    metadata: dict[str, JSONValue]


@st.composite
def _open_ticket_kwargs(draw: st.DrawFn) -> OpenTicketKwargs:
    kwargs: OpenTicketKwargs = {"subject": draw(_TEXT), "requester": draw(_REQUESTERS)}
    if draw(_BOOLEANS):
        kwargs["description"] = draw(_LONG_TEXT)
    if draw(_BOOLEANS):
        kwargs["priority"] = draw(_PRIORITIES)
    if draw(_BOOLEANS):
        kwargs["channel"] = draw(_CHANNEL_NAMES)
    if draw(_BOOLEANS):
        kwargs["assignee"] = draw(_MAYBE_AGENT)
    if draw(_BOOLEANS):
        kwargs["department"] = draw(_MAYBE_DEPARTMENT)
    if draw(_BOOLEANS):
        kwargs["tags"] = draw(_TAG_LISTS)
    if draw(_BOOLEANS):
        kwargs["custom_fields"] = draw(_CUSTOM_FIELDS)
    if draw(_BOOLEANS):
        kwargs["by"] = draw(_MAYBE_AGENT)
    kwargs.update(draw(_message_metadata(channel=False)))  # type: ignore[typeddict-item]
    return kwargs


def open_ticket_kwargs() -> st.SearchStrategy[OpenTicketKwargs]:
    """Return a strategy for valid keyword arguments of `ticketflow.Helpdesk.open_ticket`.

    Example:
        >>> from ticketflow import FakeClock, Helpdesk
        >>> @given(open_ticket_kwargs())  # doctest: +SKIP
        ... def test_open(kwargs):
        ...     Helpdesk(clock=FakeClock()).open_ticket(**kwargs)
    """
    return _OPEN_TICKET_KWARGS


_OPEN_TICKET_KWARGS: Final = _open_ticket_kwargs()


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
    cls: Callable[..., Any] = _BY_METHOD[command.name]
    kwargs: dict[str, Any] = dict(command.kwargs)
    by = kwargs.pop("by", None)
    name = _BY_METHOD[command.name].name
    if name in {"add_tags", "remove_tags"}:
        kwargs.setdefault("tags", ())
    if "tags" in kwargs and not isinstance(kwargs["tags"], list | tuple):
        raise ValueError(f"{command.name}: tags must be a list, got {kwargs['tags']!r}")
    if name == "postpone":
        delay = kwargs.pop("delay")
        if not isinstance(delay, timedelta):
            raise ValueError(f"postpone: delay must be a timedelta, got {delay!r}")
        kwargs["until"] = desk.clock.now() + delay
    if name == "set_field":
        kwargs["field"] = kwargs.pop("name")
    return desk.execute(cls(ticket_id=ticket_id, **kwargs), by=by)


_BY_METHOD: Final = {cls.method: cls for cls in BY_NAME.values()}
_OWN_METHOD: Final = frozenset(name for name, cls in BY_NAME.items() if not cls.triggered)
"""Commands whose triggers `Helpdesk.fire` refuses: they take arguments of their own."""
# A body must hold text: an empty or blank one is refused (drawn only as invalid input).
_BODIES: Final = st.text(_CHARACTERS, min_size=1, max_size=30).filter(lambda s: not s.isspace())
_BLANK_BODIES: Final = st.sampled_from(("", " ", "\n\t"))
# Purge is for admins by default (the permission table).
_ADMINS: Final = st.builds(Actor, _AGENT_IDS, st.just(Role.ADMIN))
_CUSTOMER_IDS: Final = st.none() | _NON_BLANK
_RATINGS: Final = st.none() | st.integers(1, 5)
_DELAYS: Final = st.timedeltas(timedelta(microseconds=1), timedelta(days=30))
_PAST_DELAYS: Final = st.timedeltas(-timedelta(days=1), timedelta(0))
_BAD_RATINGS: Final = st.sampled_from((0, 6, True))


@st.composite
def _commands(  # noqa: C901, PLR0911, PLR0912 - one branch per command
    draw: st.DrawFn,
    names: tuple[str, ...],
    triggers: tuple[str, ...],
    merge_into: tuple[str, ...],
    invalid: bool,
) -> Command:
    bad = invalid and _one_in(draw, 6)
    name = _pick(draw, names)
    if name in ("agent_reply", "add_note"):
        body = draw(_BLANK_BODIES if bad else _BODIES)
        extra = draw(_message_metadata(channel=True))
        return Command(name, {"body": body, "by": draw(_AGENT_IDS), **extra})
    if name == "customer_reply":
        body = draw(_BLANK_BODIES if bad else _BODIES)
        extra = draw(_message_metadata(channel=True))
        return Command(name, {"body": body, "by": draw(_CUSTOMER_IDS), **extra})
    if name == "assign":
        kwargs: dict[str, object] = {"by": draw(_MAYBE_AGENT)}
        if draw(_BOOLEANS):
            kwargs["agent"] = draw(_MAYBE_AGENT)
        if draw(_BOOLEANS):
            kwargs["department"] = draw(_MAYBE_DEPARTMENT)
        return Command(name, kwargs)
    if name == "set_priority":
        priority = "critical" if bad else draw(_PRIORITIES)
        return Command(name, {"priority": priority, "by": draw(_MAYBE_AGENT)})
    if name in ("add_tags", "remove_tags"):
        return Command(name, {"tags": draw(_TAG_LISTS), "by": draw(_MAYBE_AGENT)})
    if name == "set_field":
        value = float("nan") if bad else draw(_JSON_VALUES)
        return Command(name, {"name": draw(_FIELD_NAMES), "value": value})
    if name == "confirm_resolution":
        return Command(name, {"rating": draw(_BAD_RATINGS if bad else _RATINGS)})
    if name == "postpone":
        delay = draw(_PAST_DELAYS if bad else _DELAYS)
        return Command(name, {"delay": delay, "by": draw(_AGENT_IDS)})
    if name == "fire":
        trigger = _pick(draw, (*triggers, "no_such_trigger"))
        return Command(name, {"trigger": trigger, "by": draw(_MAYBE_AGENT)})
    if name == "merge":
        kwargs = {"into_id": _pick(draw, merge_into), "by": draw(_AGENT_IDS)}
        if draw(_BOOLEANS):
            kwargs["allow_other_requester"] = True
        return Command(name, kwargs)
    if name == "purge":
        return Command(name, {"by": draw(_ADMINS)})
    # resolve, reopen, close, wake, mark_spam, delete, restore
    return Command(name, {"by": draw(_MAYBE_AGENT)})


def commands(
    workflow: Workflow | None = None,
    *,
    merge_into: Sequence[str] = (),
    invalid: bool = False,
) -> st.SearchStrategy[Command]:
    """Return a strategy for `Command` steps on one ticket.

    Args:
        workflow: The workflow, so that ``fire`` draws its triggers (and sometimes an
            unknown one); without it ``fire`` only uses an unknown trigger. Triggers
            of commands with arguments of their own (replies, notes, postpone,
            merge, purge), which ``fire`` refuses, are drawn only with ``invalid``.
        merge_into: Ticket ids ``merge`` may target; without any, no ``merge``.
        invalid: Also produce, now and then, arguments the help desk must refuse with
            `ticketflow.InvalidInputError` (an unknown priority, a NaN field value,
            a rating out of range, a ``postpone`` into the past, ``fire`` of a
            reply's trigger, a blank reply or note).

    ``merge`` steps set ``allow_other_requester`` half the time (without it, a
    merge of two requesters' tickets raises `ticketflow.RequesterMismatchError`,
    an `InvalidInputError`); ``purge`` steps run as an admin (`ticketflow.Role.ADMIN`),
    the only role the default permission table lets purge.
    """
    triggers: tuple[str, ...] = ()
    if workflow is not None:
        triggers = tuple(
            t for t in workflow.triggers if invalid or workflow.command_for(t) not in _OWN_METHOD
        )
    names = tuple(n for n in COMMAND_NAMES if n != "merge" or merge_into)
    return _commands(names, triggers, tuple(merge_into), invalid)


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


def _trigger_of(workflow: Workflow, event: Event) -> str | None:
    if event.kind is EventKind.TRANSITIONED:
        trigger = event.data.get("trigger")
        return trigger if isinstance(trigger, str) else None
    command = BY_KIND.get(event.kind)
    return None if command is None else workflow.events.get(command.name)


def _declares(workflow: Workflow, trigger: str, source: str, dest: str) -> bool:
    return any(
        t.trigger == trigger and t.dest == dest and source in workflow.expand_sources(t)
        for t in workflow.transitions
    )


def _is_review_flag(workflow: Workflow, timeline: Sequence[Event], index: int) -> bool:
    """Whether ``timeline[index]`` adds the review tag to the kept reply just before it."""
    event, previous = timeline[index], timeline[index - 1]
    if not (
        event.kind is EventKind.TAGS_ADDED
        and previous.kind is EventKind.CUSTOMER_REPLIED
        and previous.version == event.version
    ):
        return False
    tags = list(event.data.get("tags", ()))
    if tags == [workflow.review_tag]:
        return True
    # A purge erases every tag (`scrub_event`): in a purged timeline the flag holds none.
    return not tags and any(e.kind is EventKind.PURGED for e in timeline)


def _change_while_locked(  # noqa: PLR0911 - one reason per exception to the lock
    workflow: Workflow, timeline: Sequence[Event], index: int
) -> str | None:
    """Return why ``timeline[index]`` may not happen to a locked ticket, or None if it may."""
    event = timeline[index]
    if workflow.status(event.status_before).final:
        return "the ticket was in a final status"
    if event.kind in (EventKind.PURGED, EventKind.ERASED):
        return None  # data protection outranks the lock (a purge, and its copies erased)
    if event.kind is EventKind.NOTIFIED and not event.changes_status:
        return None  # a notification changes nothing (a survey a day after closing)
    policy = workflow.reply_policy_for(event.status_before)
    if policy is ClosedPolicy.KEEP and not event.changes_status:
        if event.kind is EventKind.CUSTOMER_REPLIED:
            return None  # a kept reply
        if _is_review_flag(workflow, timeline, index):
            return None  # the kept reply's review flag, in the same save
    if event.kind is not EventKind.CUSTOMER_REPLIED:
        return "only a purge, a kept reply or a reopening customer reply may change a locked ticket"
    if policy is not ClosedPolicy.REOPEN:
        shown = "none" if policy is None else repr(policy.value)
        return f"the reply policy of {event.status_before!r} is {shown}, not 'reopen'"
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
    if index == 0:
        return None if event.version == 1 else f"version {event.version}, expected 1"
    if event.kind is EventKind.CREATED:
        return "a 'created' event after the first"
    previous = timeline[index - 1]
    # A save raises the version by one; the events one save appends share it.
    if event.version not in (previous.version, previous.version + 1):
        return (
            f"version {event.version} after version {previous.version} "
            f"(expected {previous.version} or {previous.version + 1})"
        )
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
      final), by a notification (which changes nothing), by a customer reply its
      reply policy keeps (``keep``: status unchanged, with the ``review_tag`` added
      in the same save), or by a customer reply that the ``reopen`` policy allows
      within ``reopen_window`` of the ticket entering that status: the exceptions
      to the lock the engine documents (all still follow declared transitions);
    * event times never decrease; versions start at 1 and never decrease or skip
      (a save raises the version by one, and the events one save appends share
      it), and the last event's version is the ticket's;
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
