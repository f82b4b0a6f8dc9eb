"""Time and event rules keep their promises on random workloads and random rule sets.

Each example draws a LiveAgent workflow (random settings), a random rule set (time
rules from the makers `after`, `inactivity`, `wake_postponed`, `pending_reminder`
and `pending_close` over random statuses, delays from 1 minute to 10 days and
random actions, plus `when` event rules with simple conditions that tag, notify
or set a priority), a few tickets, and a random workload: commands from
`commands()` at random times, with random instants in between.

The same workload is played on four help desks on a `FakeClock`:

* ``every``: ``run_due`` at every random intermediate instant and before each command;
* ``commands``: ``run_due`` only right before each command and at the end;
* ``until``: ``run_until`` to each command time and to the end;
* ``lazy``: ``run_due`` only at the random intermediate instants and at the end, so
  commands land on tickets with rules overdue;
* ``never``: no sweep at all until the end: every command lands on whatever is due.

A command first fires its ticket's rules due at or before its instant, stamped at
their due instants, in its own commit (as a late sweep would have fired them).

Checked:

1. a time rule fires at most once per (rule, due time) on a ticket, and its event is
   stamped with ``max(due, previous event's time)``, never before it was due;
2. ``run_due(t)`` a second time at the same ``t`` fires nothing and changes no
   ticket and no due time in the store;
3. all five desks end with the same tickets and timelines (``processed_at``
   aside: when the sweep ran): how time is chunked, and whether the worker ran at
   all, does not matter. The first three also agree on versions; ``lazy`` and
   ``never`` save what was due together with the command that found it, in one
   commit, so they reach the same events with fewer versions;
4. every ticket passes `check_ticket_invariants` (every status change, rules'
   included, is a declared transition; the lock holds; versions and times are sane);
5. ``run_until(t)`` leaves nothing due at or before ``t`` and the clock at ``t``.

A separate property lets `when` rules undo each other (remove the tags others add,
set different priorities): a command refused with `RuleLoopError` leaves the store
exactly as it was.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
from hypothesis import event as note_event
from hypothesis import given
from hypothesis import strategies as st

from ticketflow import (
    ClosedPolicy,
    EventKind,
    FakeClock,
    Helpdesk,
    InvalidInputError,
    MemoryStore,
    Priority,
    Requester,
    RuleLoopError,
    Ticket,
    TicketLockedError,
    TicketNotFound,
    TransitionError,
    Workflow,
    workflows,
)
from ticketflow.rules import (
    Rule,
    after,
    inactivity,
    pending_close,
    pending_reminder,
    wake_postponed,
    when,
)
from ticketflow.stores import TicketQuery
from ticketflow.testing import (
    Command,
    apply_command,
    check_ticket_invariants,
    commands,
    open_ticket_kwargs,
)

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
FAR = datetime(2100, 1, 1, tzinfo=UTC)
REFUSALS = (TransitionError, TicketLockedError, InvalidInputError)
LIVEAGENT = workflows.liveagent()
STATUSES = tuple(s.name for s in LIVEAGENT.statuses)
CATEGORIES = tuple(sorted({s.category.value for s in LIVEAGENT.statuses}))
THEN = ("close", "remind", "reopen", "wake", "resolve", "restore", "delete", "spam", "confirm")
"""What a time rule made by `after` / `inactivity` does: a rule-runnable command or a reminder."""
TAGS = ("vip", "bug", "billing", "urgent", "auto")
TOPICS = ("reminder", "vip", "sla")
PRIORITY_LABELS = tuple(p.label for p in Priority)

DELAYS = st.one_of(
    st.timedeltas(timedelta(minutes=1), timedelta(hours=6)),
    st.timedeltas(timedelta(minutes=1), timedelta(days=10)),
)
"""Time rule delays, from 1 minute to 10 days (short ones often, so that rules fire)."""
RULE_STATUSES = st.sampled_from(
    ("new", "new", "open", "answered", "answered", "resolved", "resolved", "postponed", *STATUSES)
)
"""Statuses a time rule waits in: mostly those tickets stay in, sometimes any of the preset."""
THEN_ACTIONS = st.one_of(st.just("remind"), st.just("close"), st.sampled_from(THEN))
GAPS = st.one_of(
    st.just(timedelta(0)),
    st.timedeltas(timedelta(0), timedelta(hours=6)),
    st.timedeltas(timedelta(0), timedelta(days=4)),
)
"""Time between two commands: often none, often hours, sometimes days."""
END_GAPS = st.timedeltas(timedelta(0), timedelta(days=12))
LIFECYCLE = st.one_of(
    st.sampled_from(
        (
            Command("agent_reply", {"body": "On it", "by": "bob"}),
            Command("customer_reply", {"body": "Thanks"}),
            Command("resolve", {"by": "bob"}),
            Command("reopen", {"by": "bob"}),
            Command("wake", {"by": "bob"}),
        )
    ),
    st.builds(
        Command,
        st.just("postpone"),
        st.fixed_dictionaries(
            {"delay": st.timedeltas(timedelta(minutes=1), timedelta(days=3)), "by": st.just("bob")}
        ),
    ),
)
"""The everyday commands, drawn as often as all of `commands()` together, so that
tickets linger in the statuses rules wait in."""
FRACTIONS = st.lists(st.integers(0, 1000), max_size=4)
"""Where, in thousandths of a gap, the ``every`` desk also sweeps."""


# --- rule sets -----------------------------------------------------------------------


@st.composite
def time_rules(draw: st.DrawFn, name: str) -> Rule:
    """One time rule from a maker, with a random status, delay and action."""
    maker = draw(
        st.sampled_from(
            ("after", "inactivity", "wake_postponed", "pending_reminder", "pending_close")
        )
    )
    order = draw(st.integers(-1, 1))
    if maker in ("after", "inactivity"):
        status = draw(RULE_STATUSES)
        delay = draw(DELAYS)
        then = draw(THEN_ACTIONS)
        if maker == "after":
            return after(status=status, delay=delay, then=then, name=name, order=order)
        return inactivity(status=status, after=delay, then=then, name=name, order=order)
    if maker == "wake_postponed":
        return wake_postponed(name=name, order=order)
    status = draw(st.none() | RULE_STATUSES)
    if maker == "pending_reminder":
        return pending_reminder(status=status, name=name, order=order)
    return pending_close(status=status, name=name, order=order)


@st.composite
def conditions(draw: st.DrawFn) -> dict[str, Any]:
    """A single leaf condition on status, category, priority or tags."""
    field = draw(st.sampled_from(("status", "category", "priority", "tags", "tags")))
    if field == "status":
        leaf = {"field": "status", "op": "is", "value": draw(st.sampled_from(STATUSES))}
    elif field == "category":
        leaf = {"field": "category", "op": "is", "value": draw(st.sampled_from(CATEGORIES))}
    elif field == "priority":
        op = draw(st.sampled_from(("is", "gte", "lt")))
        leaf = {"field": "priority", "op": op, "value": draw(st.sampled_from(PRIORITY_LABELS))}
    else:
        op = draw(st.sampled_from(("contains", "not_contains")))
        leaf = {"field": "tags", "op": op, "value": draw(st.sampled_from(TAGS))}
    return {"all": [leaf]}


ON_KINDS = st.none() | st.lists(
    st.sampled_from(
        (
            EventKind.CREATED,
            EventKind.AGENT_REPLIED,
            EventKind.CUSTOMER_REPLIED,
            EventKind.RESOLVED,
            EventKind.CLOSED,
            EventKind.NOTIFIED,
            EventKind.TAGS_ADDED,
            EventKind.PRIORITY_CHANGED,
            EventKind.WOKEN,
        )
    ),
    min_size=1,
    max_size=3,
)


@st.composite
def event_rules(draw: st.DrawFn, name: str, priority: str, *, loops: bool) -> Rule:
    """A `when` rule; without ``loops`` its actions are idempotent, so no two undo each other.

    Safe actions: add tags, notify, and set the one ``priority`` every rule of the
    set uses. With ``loops``, also remove tags, raise the priority or set any.
    """
    kinds = ["add_tags", "notify", "set_priority"]
    if loops:
        kinds += ["remove_tags", "raise"]
    actions: list[dict[str, Any]] = []
    for kind in draw(st.lists(st.sampled_from(kinds), min_size=1, max_size=2)):
        if kind in ("add_tags", "remove_tags"):
            tags = draw(st.lists(st.sampled_from(TAGS), min_size=1, max_size=2))
            actions.append({kind: tags})
        elif kind == "notify":
            actions.append({"notify": draw(st.sampled_from(TOPICS))})
        elif kind == "raise":
            actions.append({"set_priority": "raise"})
        else:
            value = draw(st.sampled_from(PRIORITY_LABELS)) if loops else priority
            actions.append({"set_priority": value})
    return when(
        draw(conditions()),
        actions=actions,
        on=draw(ON_KINDS),
        name=name,
        order=draw(st.integers(-1, 1)),
    )


@st.composite
def rule_sets(draw: st.DrawFn, *, loops: bool = False) -> tuple[Rule, ...]:
    """One to six time rules and up to three event rules, uniquely named."""
    out = [draw(time_rules(f"time{i}")) for i in range(draw(st.integers(1, 6)))]
    priority = draw(st.sampled_from(PRIORITY_LABELS))
    out += [
        draw(event_rules(f"event{i}", priority, loops=loops))
        for i in range(draw(st.integers(0, 3)))
    ]
    if loops:
        out += draw(undoing_pairs())
    return tuple(out)


@st.composite
def undoing_pairs(draw: st.DrawFn) -> list[Rule]:
    """Two event rules where the second undoes the first (a tag, or the priority)."""
    if draw(st.booleans()):
        tag = draw(st.sampled_from(TAGS))
        first: dict[str, Any] = {"add_tags": [tag]}
        second: dict[str, Any] = {"remove_tags": [tag]}
        undo_when = {"field": "tags", "op": "contains", "value": tag}
        undone = EventKind.TAGS_REMOVED
    else:
        high, low = draw(st.sampled_from([("high", "low"), ("urgent", "normal")]))
        first, second = {"set_priority": high}, {"set_priority": low}
        undo_when = {"field": "priority", "op": "is", "value": high}
        undone = EventKind.PRIORITY_CHANGED
    # On every event now and then (openings too), mostly on replies, reminders and the undoing.
    on = draw(
        st.sampled_from([None, *[["agent_replied", "customer_replied", "notified", undone]] * 3])
    )
    return [
        when(draw(st.just([]) | conditions()), actions=[first], on=on, name="do"),
        when([undo_when], actions=[second], on=draw(ON_KINDS), name="undo"),
    ]


# --- workloads -----------------------------------------------------------------------


@attrs.frozen
class Step:
    """Wait ``gap`` (the ``every`` desk also sweeps at ``fractions`` of it), then run ``command``.

    With ``exact``, the gap instead ends exactly at the store's next due time (if any,
    and if within 10 days), so that commands and ``run_until`` meet due times head on.
    """

    gap: timedelta
    exact: bool
    fractions: tuple[int, ...]
    ticket: int
    command: Command


@attrs.frozen
class Scenario:
    workflow: Workflow
    rules: tuple[Rule, ...]
    opens: tuple[Mapping[str, Any], ...]
    steps: tuple[Step, ...]
    end_gap: timedelta
    end_fractions: tuple[int, ...]

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(ticket_id(n) for n in range(1, len(self.opens) + 1))


def ticket_id(n: int) -> str:
    return f"T{n:04d}"


@st.composite
def scenarios(draw: st.DrawFn, *, loops: bool = False) -> Scenario:
    workflow = workflows.liveagent(
        closed_policy=draw(st.none() | st.sampled_from(tuple(ClosedPolicy))),
        reopen_window=draw(st.none() | st.timedeltas(timedelta(0), timedelta(days=10))),
        reopen_resolved=draw(st.none() | st.booleans()),
    )
    rules = draw(rule_sets(loops=loops))
    count = draw(st.integers(1, 3))
    opens = tuple(draw(open_ticket_kwargs()) for _ in range(count))
    ids = tuple(ticket_id(n) for n in range(1, count + 1))
    step = st.builds(
        Step,
        gap=GAPS,
        exact=st.integers(0, 3).map(lambda n: n == 0),
        fractions=FRACTIONS.map(lambda f: tuple(sorted(f))),
        ticket=st.integers(0, count - 1),
        command=commands(workflow, merge_into=ids, invalid=True) | LIFECYCLE,
    )
    return Scenario(
        workflow=workflow,
        rules=rules,
        opens=opens,
        steps=tuple(draw(st.lists(step, max_size=15))),
        end_gap=draw(END_GAPS),
        end_fractions=tuple(sorted(draw(FRACTIONS))),
    )


def make_desk(scenario: Scenario) -> Helpdesk:
    numbers = itertools.count(1)
    return Helpdesk(
        scenario.workflow,
        store=MemoryStore(),
        clock=FakeClock(START),
        id_factory=lambda _at: ticket_id(next(numbers)),
        rules=scenario.rules,
    )


def all_tickets(desk: Helpdesk) -> list[Ticket]:
    return desk.store.find(TicketQuery())


def store_state(desk: Helpdesk) -> tuple[object, ...]:
    """Every ticket (timelines included) and the due index, as far as the store shows it."""
    due = [(t.id, t.version) for t in desk.store.due(FAR, 10_000)]
    return (all_tickets(desk), desk.store.next_due_at(), due)


def sweep(desk: Helpdesk, at: datetime) -> None:
    """``run_due(at)`` with the clock at ``at``; then property 2: a second run does nothing."""
    clock = desk.clock
    assert isinstance(clock, FakeClock)
    clock.set(at)
    desk.run_due(at)
    before = store_state(desk)
    assert 0 == desk.run_due(at), "a second run_due at the same time fired rules"
    assert before == store_state(desk), "a second run_due at the same time changed the store"


def advance_until(desk: Helpdesk, at: datetime) -> None:
    """Property 5: ``run_until(at)`` leaves nothing due by ``at`` and the clock at ``at``."""
    desk.run_until(at)
    assert at == desk.clock.now()
    next_at = desk.store.next_due_at()
    assert next_at is None or next_at > at, f"still due at {next_at} after run_until({at})"


def instants(start: datetime, gap: timedelta, fractions: Sequence[int]) -> list[datetime]:
    return [start + gap * f / 1000 for f in fractions]


def play(  # noqa: C901 - five sweep schedules
    scenario: Scenario, mode: str, times: list[datetime] | None = None
) -> Helpdesk:
    """Play the scenario; ``mode``: ``every``, ``commands``, ``until``, ``lazy``, ``never``.

    A step drawn ``exact`` lands on the next due time the store holds, which an
    unswept store (``lazy``, ``never``) does not know the same way: give those
    the command times another mode recorded in ``times`` (an empty list records).
    """
    replay = times is not None and len(times) == len(scenario.steps)
    desk = make_desk(scenario)
    for kwargs in scenario.opens:
        desk.open_ticket(**kwargs)
    ids = scenario.ids
    now = START

    def move(gap: timedelta, fractions: Sequence[int], *, last: bool = False) -> datetime:
        target = now + gap
        if mode == "until":
            advance_until(desk, target)
            return target
        if mode in ("every", "lazy"):
            for at in instants(now, gap, fractions):
                sweep(desk, at)
        if mode in ("lazy", "never") and not last:
            clock.set(target)  # the command comes before any sweep at its time
        else:
            sweep(desk, target)
        return target

    clock = desk.clock
    assert isinstance(clock, FakeClock)
    for index, step in enumerate(scenario.steps):
        gap = step.gap
        next_at = desk.store.next_due_at()
        if replay:
            assert times is not None
            gap = times[index] - now
        elif step.exact and next_at is not None and next_at - now <= timedelta(days=10):
            gap = max(next_at - now, timedelta(0))
        now = move(gap, step.fractions)
        if times is not None and not replay:
            times.append(now)
        with contextlib.suppress(*REFUSALS):
            apply_command(desk, ids[step.ticket], step.command)
    move(scenario.end_gap, scenario.end_fractions, last=True)
    return desk


# --- checks --------------------------------------------------------------------------


def check_time_rule_events(ticket: Ticket) -> None:
    """Property 1: one event per (rule, due); stamped max(due, previous event's time)."""
    seen: set[tuple[str, str]] = set()
    for index, event in enumerate(ticket.timeline):
        if "due" not in event.data:
            continue
        key = (event.data["rule"], event.data["due"])
        assert key not in seen, f"{ticket.id}: rule {key[0]} fired twice for due {key[1]}"
        seen.add(key)
        due = datetime.fromisoformat(event.data["due"])
        previous = ticket.timeline[index - 1]
        assert event.at >= due, f"{ticket.id}: {key[0]} fired at {event.at}, before due {due}"
        assert event.at == max(due, previous.at), (
            f"{ticket.id}: {key[0]} stamped {event.at}, expected max({due}, {previous.at})"
        )
        assert datetime.fromisoformat(event.data["processed_at"]) >= due


def check_desk(desk: Helpdesk) -> None:
    """Properties 1 and 4 on every ticket of the desk."""
    for ticket in all_tickets(desk):
        check_ticket_invariants(desk, ticket)
        check_time_rule_events(ticket)


_TICKET_FIELDS: tuple[str, ...] = tuple(
    f.name for f in attrs.fields(Ticket) if f.name != "timeline"
)


def comparable(desk: Helpdesk, *, versions: bool = True) -> list[tuple[object, ...]]:
    """Every ticket and its timeline, without ``processed_at`` (when the sweep ran).

    ``versions=False`` leaves out the ticket's and the events' versions too (how
    many commits it took).
    """
    fields = _TICKET_FIELDS if versions else tuple(f for f in _TICKET_FIELDS if f != "version")

    def event_key(event: Any) -> tuple[object, ...]:
        data = event.data
        if event.kind is not EventKind.CREATED:
            data = {k: v for k, v in data.items() if k != "processed_at"}
        return (
            event.kind,
            event.at,
            event.actor,
            event.status_before,
            event.status_after,
            data,
            event.version if versions else None,
        )

    return [
        (
            tuple(getattr(ticket, name) for name in fields),
            [event_key(e) for e in ticket.timeline],
        )
        for ticket in all_tickets(desk)
    ]


# --- properties ----------------------------------------------------------------------


@given(scenarios())
def test_time_rules_keep_their_promises_however_time_is_chunked(scenario: Scenario) -> None:
    """Properties 1 to 5 on one random workload, played four ways."""
    times: list[datetime] = []
    desks = {"commands": play(scenario, "commands", times)}
    for mode in ("every", "until", "lazy", "never"):
        desks[mode] = play(scenario, mode, times)
    for desk in desks.values():
        check_desk(desk)
    fired = sum("due" in e.data for t in all_tickets(desks["commands"]) for e in t.timeline)
    moved = sum(
        "due" in e.data and e.changes_status
        for t in all_tickets(desks["commands"])
        for e in t.timeline
    )
    note_event(f"time rule firings: {min(fired, 5)}{'+' if fired >= 5 else ''}")
    late = any(
        "due" in e.data and e.at > datetime.fromisoformat(e.data["due"])
        for t in all_tickets(desks["lazy"])
        for e in t.timeline
    )
    note_event(f"lazy desk: a rule fired after its due time: {late}")
    note_event(f"status changes by time rules: {min(moved, 3)}{'+' if moved >= 3 else ''}")
    expected = comparable(desks["commands"])
    assert expected == comparable(desks["every"]), "sweeping more often changed the outcome"
    assert expected == comparable(desks["until"]), "run_until changed the outcome"
    unversioned = comparable(desks["commands"], versions=False)
    assert unversioned == comparable(desks["lazy"], versions=False), "late sweeps changed it"
    assert unversioned == comparable(desks["never"], versions=False), "sweeping changed it"


@given(scenarios(loops=True))
def test_a_command_refused_for_a_rule_loop_changes_nothing(scenario: Scenario) -> None:
    """Rules that undo each other: on RuleLoopError the store is as it was."""
    desk = make_desk(scenario)
    ids = []
    for kwargs in scenario.opens:
        try:
            ids.append(desk.open_ticket(**kwargs).id)
        except RuleLoopError:
            note_event("an opening was refused for a rule loop")
            assert ids == [t.id for t in all_tickets(desk)]
    assert [t.id for t in all_tickets(desk)] == ids
    clock = desk.clock
    assert isinstance(clock, FakeClock)
    for step in scenario.steps:
        if step.ticket >= len(ids):
            continue
        clock.advance(step.gap)
        try:
            desk.run_due()
        except RuleLoopError:
            # A time rule's events set off the looping rules: the sweep raises, and
            # stays stuck on that ticket (see the xfail test below). Stop here.
            note_event("a sweep raised RuleLoopError")
            check_desk(desk)
            return
        before = store_state(desk)
        try:
            apply_command(desk, ids[step.ticket], step.command)
        except (*REFUSALS, TicketNotFound):  # merge into a ticket whose opening was refused
            assert before == store_state(desk)
        except RuleLoopError:
            note_event("a command was refused for a rule loop")
            assert before == store_state(desk), (
                "a command refused for a rule loop changed the store"
            )
    check_desk(desk)


def test_a_rule_loop_set_off_by_a_time_rule_does_not_block_other_tickets() -> None:
    """Ticket A's reminder sets off two looping rules; ticket B's reminder, due later, still fires.

    Whatever run_due should do with A (skip it, log it), B's rule is not A's problem.
    """
    clock = FakeClock(START)
    desk = Helpdesk(
        workflows.liveagent(),
        store=MemoryStore(),
        clock=clock,
        rules=[
            after(status="new", delay=timedelta(hours=1), then="remind", name="remind"),
            when(
                [{"field": "tags", "op": "contains", "value": "loop"}],
                actions=[{"add_tags": ["x"]}],
                on=["notified", "tags_removed"],
                name="do",
            ),
            when(
                [{"field": "tags", "op": "contains", "value": "x"}],
                actions=[{"remove_tags": ["x"]}],
                on=["tags_added"],
                name="undo",
            ),
        ],
    )
    looping = desk.open_ticket(subject="a", requester=Requester(name="Ann"), tags=["loop"])
    clock.advance(timedelta(minutes=1))
    other = desk.open_ticket(subject="b", requester=Requester(name="Bob"))
    desk.run_until(START + timedelta(hours=2))
    assert EventKind.NOTIFIED == desk.get(other.id).timeline[-1].kind
    # The looping ticket is skipped whole (nothing half-applied) and stays due.
    assert [EventKind.CREATED] == [e.kind for e in desk.get(looping.id).timeline]
    assert START + timedelta(hours=1) == desk.store.next_due_at()
    assert 1 == desk.get(looping.id).version
