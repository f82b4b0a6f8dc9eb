"""The rule core on real tickets: durations, conditions, rules as data, event and time rules."""

from __future__ import annotations

import copy
import tomllib
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest

from ticketflow import (
    Event,
    EventKind,
    FakeClock,
    Helpdesk,
    MemoryStore,
    Role,
    Ticket,
    Workflow,
    workflows,
)
from ticketflow._toml import dumps
from ticketflow.exceptions import RuleError, RuleLoopError
from ticketflow.rules import (
    Due,
    Rule,
    RuleSet,
    TimeTrigger,
    after,
    check_rules,
    confirmation,
    format_duration,
    from_dicts,
    inactivity,
    parse_duration,
    pending_close,
    pending_reminder,
    to_dicts,
    wake_postponed,
    when,
)
from ticketflow.rules._conditions import compile_condition

from .conftest import ANN, START

OpenTicket = Callable[..., Ticket]
LA = workflows.liveagent()
DAY = timedelta(days=1)
US = timedelta(microseconds=1)


def _categories(status: str) -> str:
    return LA.category(status).value


def cond(data: Any, rule: str = "r1") -> Callable[[Ticket, datetime], bool]:
    """Compile ``data`` against the LiveAgent categories."""
    return compile_condition(data, rule=rule, categories=_categories)


def leaf(field: str, op: str, value: Any = None) -> dict[str, Any]:
    out: dict[str, Any] = {"field": field, "op": op}
    if value is not None:
        out["value"] = value
    return out


def last_event(ticket: Ticket) -> list[Event]:
    """The events of the command that produced ``ticket`` (one event per command here)."""
    return [ticket.timeline[-1]]


# --- durations ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("7d", timedelta(days=7)),
        ("1d12h", timedelta(hours=36)),
        ("1d 12h", timedelta(hours=36)),
        ("90m", timedelta(minutes=90)),
        ("2w", timedelta(days=14)),
        ("1.5h", timedelta(minutes=90)),
        ("45s", timedelta(seconds=45)),
    ],
)
def test_parse_duration_reads_text(text: str, expected: timedelta) -> None:
    """Text durations are sums of number+unit parts."""
    assert expected == parse_duration(text, "here")


@pytest.mark.parametrize(
    ("value", "expected"),
    [(90, timedelta(seconds=90)), (1.5, timedelta(seconds=1.5)), (DAY, DAY), (0, timedelta())],
)
def test_parse_duration_reads_seconds_and_timedeltas(value: Any, expected: timedelta) -> None:
    """Numbers are seconds; a timedelta is taken as is."""
    assert expected == parse_duration(value, "here")


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (timedelta(days=7), "7d"),
        (timedelta(hours=36), "1d12h"),
        (timedelta(minutes=90), "1h30m"),
        (timedelta(days=1, hours=1, minutes=1, seconds=1), "1d1h1m1s"),
        (timedelta(), "0s"),
        (timedelta(days=14), "14d"),
        (timedelta(seconds=1.5), "1.5s"),
        (timedelta(microseconds=1), "0.000001s"),
    ],
)
def test_format_duration_round_trips_through_parse(value: timedelta, text: str) -> None:
    """format_duration writes the canonical text and parse_duration reads it back."""
    assert text == format_duration(value)
    assert value == parse_duration(format_duration(value), "here")


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        (-1, "negative"),
        (timedelta(seconds=-5), "negative"),
        ("-1d", "not a duration"),
        ("soon", "not a duration"),
        ("7 days", "not a duration"),
        ("7d garbage", "not a duration"),
        ("", "expected a duration"),
        (True, "expected a duration"),
        (None, "expected a duration"),
        ([1], "expected a duration"),
    ],
)
def test_parse_duration_refuses_bad_values_naming_the_place(value: Any, fragment: str) -> None:
    """A bad duration raises RuleError whose message starts with the place given."""
    with pytest.raises(RuleError) as info:
        parse_duration(value, "rule 'x', field 'at.delay'")
    message = str(info.value)
    assert message.startswith("rule 'x', field 'at.delay': ")
    assert fragment in message


# --- conditions ---------------------------------------------------------------------


def test_condition_none_is_always_true_and_a_list_means_all(open_ticket: OpenTicket) -> None:
    """No conditions always hold; a bare list is an all-of."""
    ticket = open_ticket(priority="high")
    assert True is cond(None)(ticket, START)
    both = [leaf("status", "is", "new"), leaf("priority", "is", "high")]
    assert True is cond(both)(ticket, START)
    assert False is cond([*both, leaf("channel", "is", "chat")])(ticket, START)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (leaf("status", "is", "new"), True),
        (leaf("status", "is", "open"), False),
        (leaf("status", "is_not", "open"), True),
        (leaf("status", "in", ["open", "new"]), True),
        (leaf("status", "not_in", ["open", "new"]), False),
        ({"field": "status", "value": "new"}, True),  # op defaults to "is"
        (leaf("channel", "is", "chat"), True),
        (leaf("assignee", "is_set"), False),
        (leaf("assignee", "not_set"), True),
        (leaf("department", "is", "billing"), True),
        (leaf("department", "is_set"), True),
    ],
)
def test_text_fields(open_ticket: OpenTicket, data: dict[str, Any], expected: bool) -> None:
    """Text fields support is/is_not/in/not_in/is_set/not_set."""
    ticket = open_ticket(channel="chat", department="billing")
    assert expected == cond(data)(ticket, START)


def test_category_uses_the_workflow_categories(desk: Helpdesk, open_ticket: OpenTicket) -> None:
    """'category' maps the status through the categories function (answered is pending)."""
    ticket = desk.agent_reply(open_ticket().id, "On it", by="bob")
    assert "answered" == ticket.status
    assert True is cond(leaf("category", "is", "pending"))(ticket, START)
    assert False is cond(leaf("category", "is", "new"))(ticket, START)
    assert True is cond(leaf("category", "in", ["open", "pending"]))(ticket, START)


@pytest.mark.parametrize(
    ("op", "value", "expected"),
    [
        ("gte", "high", True),
        ("gt", "high", False),
        ("gt", "normal", True),
        ("lt", "urgent", True),
        ("lt", "high", False),
        ("lte", "high", True),
        ("is", "HIGH", True),
        ("is_not", "high", False),
        ("in", ["low", "high"], True),
        ("not_in", ["urgent"], True),
    ],
)
def test_priority_is_ordered(open_ticket: OpenTicket, op: str, value: Any, expected: bool) -> None:
    """Priorities compare low < normal < high < urgent."""
    ticket = open_ticket(priority="high")
    assert expected == cond(leaf("priority", op, value))(ticket, START)


@pytest.mark.parametrize(
    ("op", "value", "expected"),
    [
        ("contains", "vip", True),
        ("contains", "spam", False),
        ("not_contains", "spam", True),
        ("contains_any", ["spam", "vip"], True),
        ("contains_any", ["spam", "eggs"], False),
        ("contains_all", ["vip", "printer"], True),
        ("contains_all", ["vip", "spam"], False),
        ("is_empty", None, False),
    ],
)
def test_tag_operators(open_ticket: OpenTicket, op: str, value: Any, expected: bool) -> None:
    """Tags support contains, not_contains, contains_any, contains_all and is_empty."""
    ticket = open_ticket(tags=["vip", "printer"])
    assert expected == cond(leaf("tags", op, value))(ticket, START)


def test_tags_is_empty_on_an_untagged_ticket(open_ticket: OpenTicket) -> None:
    """is_empty holds for a ticket without tags."""
    assert True is cond(leaf("tags", "is_empty"))(open_ticket(), START)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (leaf("messages", "is", 3), True),  # the private note counts here
        (leaf("agent_messages", "is", 1), True),  # ... but not as an agent message
        (leaf("agent_messages", "gt", 1), False),
        (leaf("customer_messages", "is", 1), True),  # the description is not a message
        (leaf("customer_messages", "is_not", 1), False),
        (leaf("messages", "lt", 3), False),
        (leaf("messages", "lte", 3.5), True),
    ],
)
def test_message_counts_by_role(
    desk: Helpdesk, open_ticket: OpenTicket, data: dict[str, Any], expected: bool
) -> None:
    """messages counts all messages; customer/agent_messages count public ones by role."""
    ticket = open_ticket()
    desk.agent_reply(ticket.id, "Which printer?", by="bob")
    desk.customer_reply(ticket.id, "Floor 2")
    ticket = desk.add_note(ticket.id, "internal", by="bob")
    assert expected == cond(data)(ticket, START)


def test_since_resolved_is_evaluated_at_the_given_now(
    desk: Helpdesk, clock: FakeClock, open_ticket: OpenTicket
) -> None:
    """since_resolved gte 7d holds from exactly 7 days after resolving, and never unresolved."""
    ticket = open_ticket()
    check = cond(leaf("since_resolved", "gte", "7d"))
    assert False is check(ticket, START + timedelta(days=30))  # never resolved
    clock.advance(hours=2)
    ticket = desk.resolve(ticket.id, by="bob")
    resolved = ticket.resolved_at
    assert START + timedelta(hours=2) == resolved
    assert False is check(ticket, resolved + timedelta(days=7) - US)
    assert True is check(ticket, resolved + timedelta(days=7))
    assert False is cond(leaf("since_resolved", "gt", "7d"))(ticket, resolved + timedelta(days=7))
    assert True is cond(leaf("since_resolved", "lt", 60))(ticket, resolved + timedelta(seconds=59))


def test_in_status_and_since_created(
    desk: Helpdesk, clock: FakeClock, open_ticket: OpenTicket
) -> None:
    """in_status counts from entering the current status; since_created from creation."""
    ticket = open_ticket()
    clock.advance(days=2)
    ticket = desk.agent_reply(ticket.id, "Hi", by="bob")
    now = START + timedelta(days=3)
    assert True is cond(leaf("in_status", "lte", "1d"))(ticket, now)
    assert False is cond(leaf("in_status", "gt", "1d"))(ticket, now)
    assert True is cond(leaf("since_created", "gte", "3d"))(ticket, now)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (leaf("custom_fields.plan", "is", "gold"), True),
        (leaf("custom_fields.plan", "in", ["silver", "gold"]), True),
        (leaf("custom_fields.seats", "gt", 10), True),
        (leaf("custom_fields.seats", "lte", 10), False),
        (leaf("custom_fields.regions", "contains", "eu"), True),
        (leaf("custom_fields.regions", "contains", "us"), False),
        (leaf("custom_fields.plan", "is_set"), True),
        (leaf("custom_fields.missing", "not_set"), True),
        (leaf("custom_fields.missing", "gt", 1), False),  # unset never compares
        (leaf("custom_fields.plan", "gt", 1), False),  # str vs int: False, not TypeError
        (leaf("custom_fields.seats", "contains", "x"), False),  # int has no 'in'
    ],
)
def test_custom_fields(open_ticket: OpenTicket, data: dict[str, Any], expected: bool) -> None:
    """custom_fields.X compares JSON values; type mismatches are False, not errors."""
    ticket = open_ticket(custom_fields={"plan": "gold", "seats": 12, "regions": ["eu"]})
    assert expected == cond(data)(ticket, START)


def test_nested_all_and_any(open_ticket: OpenTicket) -> None:
    """all/any nest: all of the 'all' items and at least one 'any' item must hold."""
    ticket = open_ticket(priority="urgent", tags=["vip"])
    data = {
        "all": [leaf("status", "is", "new")],
        "any": [
            {"all": [leaf("priority", "is", "low"), leaf("tags", "contains", "vip")]},
            {"any": [leaf("channel", "is", "chat"), leaf("tags", "contains", "vip")]},
        ],
    }
    assert True is cond(data)(ticket, START)
    data["any"] = [{"all": [leaf("priority", "is", "low"), leaf("tags", "contains", "vip")]}]
    assert False is cond(data)(ticket, START)


@pytest.mark.parametrize(
    ("data", "field", "fragment"),
    [
        (leaf("colour", "is", "red"), "colour", "unknown field"),
        (leaf("status", "gt", "new"), "status", "unknown operator 'gt'"),
        (leaf("tags", "is", "vip"), "tags", "unknown operator 'is'"),
        (leaf("since_created", "is", "1d"), "since_created", "unknown operator 'is'"),
        (leaf("priority", "is", "critical"), "priority", "expected a priority"),
        (leaf("messages", "gt", "three"), "messages", "expected a number"),
        (leaf("messages", "gt", True), "messages", "expected a number"),
        (leaf("since_resolved", "gte", "a week"), "since_resolved", "not a duration"),
        (leaf("status", "in", "new"), "status", "needs a non-empty list"),
        (leaf("tags", "contains_any", []), "tags", "needs a non-empty list"),
        (leaf("status", "is", 3), "status", "expected a non-empty string"),
        (leaf("category", "is", ""), "category", "expected a non-empty string"),
        ({"field": "status", "op": "is"}, "status", "needs a value"),
    ],
)
def test_bad_conditions_name_rule_and_field(data: Any, field: str, fragment: str) -> None:
    """Unknown fields/operators and wrongly typed values raise RuleError naming rule and field."""
    with pytest.raises(RuleError) as info:
        cond(data, rule="vip-routing")
    message = str(info.value)
    assert f"rule 'vip-routing', field {field!r}" in message
    assert fragment in message


@pytest.mark.parametrize(
    "data",
    [
        {"every": [leaf("status", "is", "new")]},
        {"field": "status", "op": "is", "value": "new", "extra": 1},
        {"all": [{"all": [{"field": 3, "value": "x"}]}]},
        "status == new",
    ],
)
def test_malformed_condition_structure_names_the_rule(data: Any) -> None:
    """Unknown keys, a non-string field and non-mapping data raise RuleError naming the rule."""
    with pytest.raises(RuleError, match="rule 'vip-routing'"):
        cond(data, rule="vip-routing")


# --- rules: validation ----------------------------------------------------------------

NOTIFY = ({"notify": "x"},)


def test_rule_needs_exactly_one_of_on_and_at() -> None:
    """Both or neither of on/at is refused."""
    with pytest.raises(RuleError, match="rule 'r': set exactly one of 'on'"):
        Rule(name="r", actions=NOTIFY)
    with pytest.raises(RuleError, match="rule 'r': set exactly one of 'on'"):
        Rule(name="r", on=frozenset(), at=TimeTrigger(anchor="created"), actions=NOTIFY)


def test_rule_refuses_unknown_anchor() -> None:
    """An unknown anchor is named, with the field 'at.anchor'."""
    with pytest.raises(RuleError, match=r"rule 'r', field 'at.anchor': unknown anchor 'birth'"):
        Rule(name="r", at=TimeTrigger(anchor="birth"), actions=NOTIFY)


def test_rule_needs_a_name_and_an_action() -> None:
    """An empty name or no actions is refused."""
    with pytest.raises(RuleError, match="non-empty name"):
        Rule(name="", on=frozenset(), actions=NOTIFY)
    with pytest.raises(RuleError, match="rule 'r': a rule needs at least one action"):
        Rule(name="r", on=frozenset(), actions=())


@pytest.mark.parametrize(
    ("action", "fragment"),
    [
        ({"teleport": "mars"}, "unknown action 'teleport'"),
        ({"notify": "x", "note": "y"}, "exactly one key"),
        ("close", "exactly one key"),
        ({"command": ""}, "action 'command': expected a non-empty string"),
        ({"notify": 3}, "action 'notify': expected a non-empty string"),
        ({"assign": 7}, "action 'assign'"),
        ({"set_priority": "critical"}, "action 'set_priority'"),
        ({"add_tags": []}, "action 'add_tags'"),
        ({"remove_tags": ["ok", ""]}, "action 'remove_tags'"),
        ({"add_tags": "vip"}, "action 'add_tags'"),
        ({"set_field": {"name": "x"}}, "action 'set_field'"),
        ({"escalate": {"colour": "red"}}, "action 'escalate'"),
        ({"escalate": {"priority": "critical"}}, "action 'set_priority'"),
        ({"stop": False}, "action 'stop'"),
    ],
)
def test_rule_refuses_bad_actions(action: Any, fragment: str) -> None:
    """Each malformed action raises RuleError naming the rule and the action."""
    with pytest.raises(RuleError) as info:
        Rule(name="r", on=frozenset(), actions=(action,))
    message = str(info.value)
    assert message.startswith("rule 'r'")
    assert fragment in message


def test_rule_accepts_good_actions_and_normalises_tag_tuples() -> None:
    """Valid actions pass; tag tuples become lists (so the data form is stable)."""
    rule = Rule(
        name="r",
        on=frozenset(),
        actions=(
            {"assign": None},
            {"set_priority": "raise"},
            {"add_tags": ("a", "b")},
            {"set_field": {"name": "x", "value": [1]}},
            {"escalate": {"level": 2, "priority": "urgent", "notify": "boss"}},
            {"stop": True},
        ),
    )
    assert {"add_tags": ["a", "b"]} == rule.actions[2]


def test_rule_validates_conditions_at_construction() -> None:
    """Bad data conditions fail when the rule is built, naming the rule and field."""
    with pytest.raises(RuleError, match="rule 'r', field 'colour'"):
        Rule(name="r", on=frozenset(), conditions=[leaf("colour", "is", "red")], actions=NOTIFY)


def test_callable_conditions_work_but_cannot_be_saved(open_ticket: OpenTicket) -> None:
    """A callable condition is used as is; to_dict refuses it with RuleError."""

    def is_vip(ticket: Ticket, _now: datetime) -> bool:
        return "vip" in ticket.tags

    rule = Rule(name="py", on=frozenset(), conditions=is_vip, actions=NOTIFY)
    assert is_vip is rule.compile(_categories)
    assert True is rule.compile(_categories)(open_ticket(tags=["vip"]), START)
    with pytest.raises(RuleError, match="rule 'py': callable conditions cannot be saved"):
        rule.to_dict()


ALL_MAKERS = [
    inactivity(status="resolved", after=timedelta(days=7)),
    inactivity(status="answered", after=timedelta(hours=36), then="remind", order=3),
    after(status="resolved", delay=timedelta(days=4)),
    after(status="new", delay=timedelta(minutes=90), then="close", name="stale-new"),
    confirmation(),
    when(
        {"all": [leaf("priority", "is", "urgent"), leaf("tags", "contains", "vip")]},
        actions=[{"assign_department": "vip-desk"}, {"notify": "vip"}],
        on=["tags_added", EventKind.PRIORITY_CHANGED],
    ),
    when(
        [leaf("since_created", "gte", "1d12h")],
        actions=[{"escalate": {"level": 2, "department": "tier2"}}, {"stop": True}],
        name="escalate",
        order=-2,
    ),
    wake_postponed(),
    pending_reminder(),
    pending_reminder(status="postponed", topic="nudge", name="nudge"),
    pending_close(),
    pending_close(status="postponed", name="pending_close_postponed"),
]


@pytest.mark.parametrize("rule", ALL_MAKERS, ids=lambda r: r.name)
def test_every_maker_round_trips_through_dict(rule: Rule) -> None:
    """Rule.from_dict(rule.to_dict()) rebuilds an equal rule."""
    assert rule == Rule.from_dict(rule.to_dict())


def test_to_dict_shape_of_a_time_rule() -> None:
    """A time rule's data has the anchor and the delay as text."""
    assert {
        "name": "after_resolved_4d_close",
        "at": {"anchor": "status_entered", "delay": "4d"},
        "conditions": {"all": [{"field": "status", "op": "is", "value": "resolved"}]},
        "actions": [{"command": "close"}],
    } == after(status="resolved", delay=timedelta(days=4)).to_dict()


def test_to_dicts_from_dicts_round_trip() -> None:
    """A list of rules round-trips through to_dicts/from_dicts."""
    assert ALL_MAKERS == from_dicts(to_dicts(ALL_MAKERS))


def test_rules_round_trip_through_toml() -> None:
    """Rules written with ticketflow's TOML writer read back equal with tomllib."""
    text = dumps({"rules": to_dicts(ALL_MAKERS)})
    assert ALL_MAKERS == from_dicts(tomllib.loads(text)["rules"])


def test_from_dicts_refuses_duplicate_names() -> None:
    """Two rules with one name are refused, naming it."""
    data = [confirmation().to_dict(), confirmation().to_dict()]
    with pytest.raises(RuleError, match="duplicate rule name\\(s\\): confirmation"):
        from_dicts(data)


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ({"name": "r", "on": [], "actions": NOTIFY, "colour": 1}, "unknown key(s) ['colour']"),
        ({"name": "r", "on": ["exploded"], "actions": NOTIFY}, "field 'on'"),
        ({"name": "r", "on": "created", "actions": NOTIFY}, "field 'on'"),
        ({"name": "r", "at": {"delay": "1d"}, "actions": NOTIFY}, "field 'at'"),
        ({"name": "r", "at": {"anchor": "created", "delay": "x"}, "actions": NOTIFY}, "at.delay"),
        ({"name": "r", "on": [], "actions": {"notify": "x"}}, "field 'actions'"),
        ({"name": "r", "on": [], "actions": NOTIFY, "order": "1"}, "field 'order'"),
    ],
)
def test_from_dict_refuses_malformed_data(data: dict[str, Any], fragment: str) -> None:
    """Malformed rule data raises RuleError naming the rule and the field."""
    with pytest.raises(RuleError) as info:
        Rule.from_dict(data)
    message = str(info.value)
    assert message.startswith("rule 'r'")
    assert fragment in message


# --- RuleSet: construction -------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "fragment"),
    [
        ({"command": "teleport"}, "has no command 'teleport'"),
        ({"command": "agent_reply"}, "has no command 'agent_reply' a rule can run"),
        ({"trigger": "warp"}, "has no trigger 'warp'"),
    ],
)
def test_ruleset_refuses_unknown_commands_and_triggers(action: Any, fragment: str) -> None:
    """Actions naming a command or trigger the workflow lacks fail at construction."""
    with pytest.raises(RuleError) as info:
        RuleSet(LA, [when([], actions=[action], name="bad")])
    assert str(info.value).startswith("rule 'bad'")
    assert fragment in str(info.value)


def test_ruleset_refuses_duplicate_names() -> None:
    """Two rules with the same name cannot share a rule set."""
    with pytest.raises(RuleError, match="duplicate rule name"):
        RuleSet(LA, [confirmation(), confirmation(order=1)])


# --- RuleSet: event rules ---------------------------------------------------------------

VIP = when(
    [leaf("tags", "contains", "vip")],
    actions=[{"assign_department": "vip-desk"}, {"notify": "vip"}],
    on=["tags_added"],
    name="vip",
)


def test_event_rule_acts_after_a_matching_event(desk: Helpdesk, open_ticket: OpenTicket) -> None:
    """A 'when' rule appends its events, tagged with its name and the command's version."""
    ticket = desk.add_tags(open_ticket().id, "vip", by="bob")
    events = last_event(ticket)
    new = RuleSet(LA, [VIP]).after_command(ticket, events, ticket.updated_at)
    assert "vip-desk" == new.department
    assert [EventKind.TAGS_ADDED, EventKind.ASSIGNED, EventKind.NOTIFIED] == [
        e.kind for e in events
    ]
    assert [{"rule": "vip", "department": "vip-desk"}, {"rule": "vip", "topic": "vip"}] == [
        dict(e.data) for e in events[1:]
    ]
    assert {ticket.version} == {e.version for e in events}
    assert ticket.version == new.version
    assert {("vip", Role.SYSTEM)} == {(e.actor.id, e.actor.role) for e in events[1:]}
    assert {ticket.updated_at} == {e.at for e in events}
    assert (*ticket.timeline, *events[1:]) == new.timeline


def test_event_rule_ignores_other_event_kinds(desk: Helpdesk, open_ticket: OpenTicket) -> None:
    """A rule 'on' tags_added does not run after a priority change, even if its conditions hold."""
    ticket = desk.set_priority(open_ticket(tags=["vip"]).id, "high", by="bob")
    events = last_event(ticket)
    assert ticket == RuleSet(LA, [VIP]).after_command(ticket, events, ticket.updated_at)
    assert 1 == len(events)


def test_event_rule_needs_its_conditions(desk: Helpdesk, open_ticket: OpenTicket) -> None:
    """A matching event with false conditions changes nothing."""
    ticket = desk.add_tags(open_ticket().id, "printer", by="bob")
    events = last_event(ticket)
    assert ticket == RuleSet(LA, [VIP]).after_command(ticket, events, ticket.updated_at)
    assert 1 == len(events)


def test_rule_events_cascade_to_other_rules(desk: Helpdesk, open_ticket: OpenTicket) -> None:
    """Events produced by one rule run the rules listening for them."""
    on_assigned = when([], actions=[{"set_priority": "raise"}], on=["assigned"], name="bump")
    ticket = desk.add_tags(open_ticket().id, "vip", by="bob")
    events = last_event(ticket)
    new = RuleSet(LA, [VIP, on_assigned]).after_command(ticket, events, ticket.updated_at)
    assert "high" == new.priority.label
    assert ["vip", "vip", "bump"] == [e.data["rule"] for e in events[1:]]


def test_each_rule_fires_at_most_once_per_command(desk: Helpdesk, open_ticket: OpenTicket) -> None:
    """A rule on every event kind does not re-run on its own events."""
    noter = when([], actions=[{"note": "seen"}], name="noter")
    ticket = desk.add_tags(open_ticket().id, "x", by="bob")
    events = last_event(ticket)
    new = RuleSet(LA, [noter]).after_command(ticket, events, ticket.updated_at)
    assert [EventKind.TAGS_ADDED, EventKind.NOTE_ADDED] == [e.kind for e in events]
    assert "seen" == new.messages[-1].body


def test_stop_prevents_later_rules(desk: Helpdesk, open_ticket: OpenTicket) -> None:
    """A rule with stop=true ends the run: later-ordered rules do not fire."""
    first = when([], actions=[{"add_tags": ["triaged"]}, {"stop": True}], on=["created"], name="a")
    second = when([], actions=[{"add_tags": ["late"]}], on=["created"], name="b", order=1)
    ticket = open_ticket()
    events = last_event(ticket)
    new = RuleSet(LA, [second, first]).after_command(ticket, events, ticket.updated_at)
    assert frozenset({"triaged"}) == new.tags
    # Without the stop both fire, in order.
    plain = when([], actions=[{"add_tags": ["triaged"]}], on=["created"], name="a")
    events = last_event(ticket)
    new = RuleSet(LA, [second, plain]).after_command(ticket, events, ticket.updated_at)
    assert frozenset({"triaged", "late"}) == new.tags
    assert ["a", "b"] == [e.data["rule"] for e in events[1:]]


def test_rules_undoing_each_other_raise_loop_error(desk: Helpdesk, open_ticket: OpenTicket) -> None:
    """A rule adding a tag and one removing it on tag events raise RuleLoopError naming both."""
    adder = when([], actions=[{"add_tags": ["x"]}], on=["tags_removed"], name="adder")
    remover = when([], actions=[{"remove_tags": ["x"]}], on=["tags_added"], name="remover")
    ticket = desk.add_tags(open_ticket().id, "x", by="bob")
    with pytest.raises(RuleLoopError) as info:
        RuleSet(LA, [adder, remover]).after_command(ticket, last_event(ticket), ticket.updated_at)
    assert "rules adder, remover keep undoing each other" in str(info.value)


def _confirm_keeps_resolved() -> Workflow:
    """LiveAgent, except that confirming leaves the ticket Resolved (for the confirmation rule)."""
    data = copy.deepcopy(LA.to_dict())
    for transition in data["transitions"]:
        if transition["trigger"] == "confirm":
            transition["dest"] = "resolved"
    return Workflow.from_dict(data)


def test_confirmation_rule_closes_a_confirmed_resolved_ticket(clock: FakeClock) -> None:
    """After a CONFIRMED event on a resolved ticket the confirmation rule closes it."""
    wf = _confirm_keeps_resolved()
    desk = Helpdesk(wf, store=MemoryStore(), clock=clock, rules=[])
    ticket = desk.open_ticket(subject="Printer", requester=ANN)
    desk.resolve(ticket.id, by="bob")
    clock.advance(hours=1)
    ticket = desk.confirm_resolution(ticket.id, 5)
    assert ("resolved", EventKind.CONFIRMED) == (ticket.status, ticket.timeline[-1].kind)
    events = last_event(ticket)
    new = RuleSet(wf, [confirmation()]).after_command(ticket, events, clock.now())
    assert "closed" == new.status
    assert clock.now() == new.closed_at
    assert (EventKind.CLOSED, {"rule": "confirmation"}) == (events[-1].kind, dict(events[-1].data))


def test_confirmation_rule_does_not_fire_on_other_events(
    desk: Helpdesk, open_ticket: OpenTicket
) -> None:
    """Resolving alone (no CONFIRMED event) does not close the ticket."""
    ticket = desk.resolve(open_ticket().id, by="bob")
    new = RuleSet(LA, [confirmation()]).after_command(ticket, last_event(ticket), ticket.updated_at)
    assert "resolved" == new.status


# --- RuleSet: time rules ---------------------------------------------------------------

CLOSE_4D = after(status="resolved", delay=timedelta(days=4))


def _resolved(desk: Helpdesk, clock: FakeClock, open_ticket: OpenTicket) -> Ticket:
    ticket = open_ticket()
    clock.advance(hours=3)
    return desk.resolve(ticket.id, by="bob")


def test_after_rule_is_due_exactly_delay_after_entering_the_status(
    desk: Helpdesk, clock: FakeClock, open_ticket: OpenTicket
) -> None:
    """after(resolved, 4d) is due at resolved time + 4 days."""
    ticket = _resolved(desk, clock, open_ticket)
    due = START + timedelta(hours=3, days=4)
    assert Due(due, "after_resolved_4d_close") == RuleSet(LA, [CLOSE_4D]).next_due(ticket)


def test_fire_due_waits_for_the_due_time_then_closes(
    desk: Helpdesk, clock: FakeClock, open_ticket: OpenTicket
) -> None:
    """fire_due is a no-op 1µs early; at/after due it closes with the event stamped at due."""
    ticket = _resolved(desk, clock, open_ticket)
    rules = RuleSet(LA, [CLOSE_4D])
    due = START + timedelta(hours=3, days=4)
    assert None is rules.fire_due(ticket, due - US)
    now = due + timedelta(hours=5)
    result = rules.fire_due(ticket, now)
    assert result is not None
    new, events = result
    assert "closed" == new.status
    assert 1 == len(events)
    (event,) = events
    assert (EventKind.CLOSED, due) == (event.kind, event.at)
    assert {
        "rule": "after_resolved_4d_close",
        "due": due.isoformat(),
        "processed_at": now.isoformat(),
    } == dict(event.data)
    assert ticket.version + 1 == event.version == new.version
    assert None is rules.next_due(new)


def test_fire_due_exactly_at_due_time(
    desk: Helpdesk, clock: FakeClock, open_ticket: OpenTicket
) -> None:
    """fire_due at exactly the due time fires (due <= now)."""
    ticket = _resolved(desk, clock, open_ticket)
    due = START + timedelta(hours=3, days=4)
    result = RuleSet(LA, [CLOSE_4D]).fire_due(ticket, due)
    assert result is not None
    assert due.isoformat() == result[1][0].data["processed_at"]


def test_a_time_rule_fires_once_per_episode(
    desk: Helpdesk, clock: FakeClock, open_ticket: OpenTicket
) -> None:
    """A reminder that leaves the status is not due again for the same due time."""
    remind = after(status="resolved", delay=timedelta(days=4), then="remind")
    ticket = _resolved(desk, clock, open_ticket)
    rules = RuleSet(LA, [remind])
    result = rules.fire_due(ticket, START + timedelta(days=10))
    assert result is not None
    new, events = result
    assert ("resolved", EventKind.NOTIFIED) == (new.status, events[0].kind)
    assert "reminder" == events[0].data["topic"]
    assert None is rules.next_due(new)
    assert None is rules.fire_due(new, START + timedelta(days=30))


def test_a_new_episode_makes_the_rule_due_again(
    desk: Helpdesk, clock: FakeClock, open_ticket: OpenTicket
) -> None:
    """Re-entering the status (reopen, resolve again) gives a new due time."""
    remind = after(status="resolved", delay=timedelta(days=4), then="remind")
    ticket = _resolved(desk, clock, open_ticket)
    rules = RuleSet(LA, [remind])
    clock.set(START + timedelta(days=5))
    result = rules.fire_due(ticket, clock.now())
    assert result is not None
    clock.advance(days=1)
    desk.reopen(ticket.id, by="bob")
    again = desk.resolve(ticket.id, by="bob")
    assert Due(clock.now() + timedelta(days=4), remind.name) == rules.next_due(again)


def test_fire_due_stamps_events_no_earlier_than_the_last_event(
    desk: Helpdesk, clock: FakeClock, open_ticket: OpenTicket
) -> None:
    """If the ticket changed after the due time, the events are stamped at its last event."""
    ticket = _resolved(desk, clock, open_ticket)
    due = START + timedelta(hours=3, days=4)
    clock.set(due + timedelta(hours=1))
    ticket = desk.add_tags(ticket.id, "late", by="bob")  # no status change
    result = RuleSet(LA, [CLOSE_4D]).fire_due(ticket, due + timedelta(hours=2))
    assert result is not None
    (event,) = result[1]
    assert due + timedelta(hours=1) == event.at
    assert due.isoformat() == event.data["due"]


def test_fire_due_runs_event_rules_on_its_events(
    desk: Helpdesk, clock: FakeClock, open_ticket: OpenTicket
) -> None:
    """The events of a time rule run the event rules listening for them, at the same time."""
    remind = after(status="resolved", delay=timedelta(days=4), then="remind")
    tagger = when([], actions=[{"add_tags": ["reminded"]}], on=["notified"], name="tagger")
    ticket = _resolved(desk, clock, open_ticket)
    due = START + timedelta(hours=3, days=4)
    result = RuleSet(LA, [remind, tagger]).fire_due(ticket, due + DAY)
    assert result is not None
    new, events = result
    assert [(EventKind.NOTIFIED, due), (EventKind.TAGS_ADDED, due)] == [
        (e.kind, e.at) for e in events
    ]
    assert frozenset({"reminded"}) == new.tags
    assert "tagger" == events[1].data["rule"]
    assert {ticket.version + 1} == {e.version for e in events}


def test_a_closing_time_rule_runs_no_event_rules(
    desk: Helpdesk, clock: FakeClock, open_ticket: OpenTicket
) -> None:
    """Once a time rule closes (locks) the ticket, event rules do not run on it."""
    announce = when([], actions=[{"notify": "closed"}], on=["closed"], name="announce")
    ticket = _resolved(desk, clock, open_ticket)
    result = RuleSet(LA, [CLOSE_4D, announce]).fire_due(ticket, START + timedelta(days=9))
    assert result is not None
    new, events = result
    assert [EventKind.CLOSED] == [e.kind for e in events]
    assert "closed" == new.status


def test_time_rule_conditions_are_checked_at_the_due_time(
    desk: Helpdesk, clock: FakeClock, open_ticket: OpenTicket
) -> None:
    """A rule whose conditions are false at its due time is never due."""
    young = Rule(
        name="young",
        at=TimeTrigger(anchor="created", delay=timedelta(days=1)),
        conditions=[leaf("since_created", "lt", "1d")],
        actions=({"notify": "x"},),
    )
    old = Rule(
        name="old",
        at=TimeTrigger(anchor="created", delay=timedelta(days=1)),
        conditions=[leaf("since_created", "gte", "1d")],
        actions=({"notify": "x"},),
    )
    ticket = open_ticket()
    assert None is RuleSet(LA, [young]).next_due(ticket)
    assert Due(START + DAY, "old") == RuleSet(LA, [old]).next_due(ticket)


def test_inactivity_restarts_with_a_customer_message(
    desk: Helpdesk, clock: FakeClock, open_ticket: OpenTicket
) -> None:
    """inactivity counts from the last message: a customer reply moves the due time."""
    rule = inactivity(status="new", after=timedelta(days=3))
    rules = RuleSet(LA, [rule])
    ticket = open_ticket()
    assert Due(START + timedelta(days=3), rule.name) == rules.next_due(ticket)
    clock.advance(days=2)
    ticket = desk.customer_reply(ticket.id, "Any news?")
    assert "new" == ticket.status
    assert Due(START + timedelta(days=5), rule.name) == rules.next_due(ticket)
    assert None is rules.fire_due(ticket, START + timedelta(days=4))
    result = rules.fire_due(ticket, START + timedelta(days=5))
    assert result is not None
    assert "closed" == result[0].status


def test_inactivity_is_not_due_in_another_status(
    desk: Helpdesk, clock: FakeClock, open_ticket: OpenTicket
) -> None:
    """inactivity(answered) is not due for a New ticket."""
    rules = RuleSet(LA, [inactivity(status="answered", after=timedelta(days=3))])
    ticket = open_ticket()
    assert None is rules.next_due(ticket)
    ticket = desk.agent_reply(ticket.id, "Try again", by="bob")
    assert START + timedelta(days=3) == rules.next_due(ticket).at  # type: ignore[union-attr]


def test_wake_postponed_wakes_a_new_ticket_to_new(
    desk: Helpdesk, clock: FakeClock, open_ticket: OpenTicket
) -> None:
    """A ticket postponed while New wakes at postponed_until back to New."""
    until = START + timedelta(days=2)
    ticket = desk.postpone(open_ticket().id, until, by="bob")
    rules = RuleSet(LA, [wake_postponed()])
    assert Due(until, "wake_postponed") == rules.next_due(ticket)
    assert None is rules.fire_due(ticket, until - US)
    result = rules.fire_due(ticket, until)
    assert result is not None
    new, events = result
    assert ("new", None) == (new.status, new.postponed_until)
    assert [(EventKind.WOKEN, until)] == [(e.kind, e.at) for e in events]


def test_wake_postponed_wakes_an_answered_ticket_to_open(
    desk: Helpdesk, clock: FakeClock, open_ticket: OpenTicket
) -> None:
    """A ticket postponed after an agent reply wakes to Open (the was_new guard fails)."""
    ticket = desk.agent_reply(open_ticket().id, "Looking", by="bob")
    until = START + timedelta(days=2)
    ticket = desk.postpone(ticket.id, until, by="bob")
    result = RuleSet(LA, [wake_postponed()]).fire_due(ticket, until + DAY)
    assert result is not None
    assert "open" == result[0].status


def test_a_rule_the_graph_refuses_is_never_due(
    desk: Helpdesk, clock: FakeClock, open_ticket: OpenTicket
) -> None:
    """after(new, then=reopen) on LiveAgent: New cannot be reopened, so it is never due."""
    rules = RuleSet(LA, [after(status="new", delay=DAY, then="reopen")])
    ticket = open_ticket()
    assert None is rules.next_due(ticket)
    assert None is rules.fire_due(ticket, START + timedelta(days=100))


def test_a_refused_rule_does_not_hide_a_later_one(open_ticket: OpenTicket) -> None:
    """next_due skips the refused rule and reports the next possible one."""
    refused = after(status="new", delay=DAY, then="reopen")
    later = after(status="new", delay=timedelta(days=2), then="close")
    ticket = open_ticket()
    assert Due(START + timedelta(days=2), later.name) == RuleSet(LA, [refused, later]).next_due(
        ticket
    )


def test_pending_reminder_notifies_without_changing_status(
    desk: Helpdesk, open_ticket: OpenTicket
) -> None:
    """pending_reminder (order -1) fires before wake_postponed at the same time, keeping status."""
    until = START + timedelta(days=2)
    ticket = desk.postpone(open_ticket().id, until, by="bob")
    rules = RuleSet(LA, [wake_postponed(), pending_reminder()])
    assert Due(until, "pending_reminder") == rules.next_due(ticket)
    result = rules.fire_due(ticket, until)
    assert result is not None
    new, events = result
    assert ("postponed", until) == (new.status, new.postponed_until)
    assert [(EventKind.NOTIFIED, "pending_reminder")] == [(e.kind, e.data["topic"]) for e in events]
    assert Due(until, "wake_postponed") == rules.next_due(new)


def test_pending_close_closes_at_postponed_until(desk: Helpdesk, open_ticket: OpenTicket) -> None:
    """pending_close closes the ticket at postponed_until."""
    until = START + timedelta(days=2)
    ticket = desk.postpone(open_ticket().id, until, by="bob")
    result = RuleSet(LA, [pending_close(status="postponed")]).fire_due(ticket, until)
    assert result is not None
    assert "closed" == result[0].status


def test_no_time_rule_that_changes_a_ticket_is_due_on_a_locked_ticket(
    desk: Helpdesk, open_ticket: OpenTicket
) -> None:
    """A closed ticket has no due rule that would change it (an anchor-only rule, no conditions)."""
    ticket = desk.close(open_ticket().id, by="bob")
    rule = Rule(name="n", at=TimeTrigger(anchor="created"), actions=({"add_tags": ["x"]},))
    assert None is RuleSet(LA, [rule]).next_due(ticket)


def test_a_notifying_time_rule_is_due_on_a_closed_ticket_but_not_on_a_purged_one(
    desk: Helpdesk, open_ticket: OpenTicket
) -> None:
    """A survey a day after closing fires on the closed ticket; nothing fires once purged."""
    ticket = desk.close(open_ticket().id, by="bob")
    survey = Rule(
        name="survey",
        at=TimeTrigger(anchor="closed", delay=timedelta(days=1)),
        actions=({"notify": "survey"},),
    )
    rule_set = RuleSet(LA, [survey])
    assert Due(ticket.closed_at + timedelta(days=1), "survey") == rule_set.next_due(ticket)
    assert None is rule_set.next_due(desk.purge(ticket.id, by="bob").ticket)


# --- check_rules ----------------------------------------------------------------------


def test_check_rules_accepts_good_rules() -> None:
    """The preset-style rules have no problems on LiveAgent."""
    good = [CLOSE_4D, confirmation(), wake_postponed(), pending_reminder(), VIP]
    assert [] == check_rules(LA, good)


def test_check_rules_reports_an_unknown_status() -> None:
    """A condition naming a status the workflow lacks is reported."""
    rule = after(status="solved", delay=DAY, name="zendesk-ish")
    assert ["rule 'zendesk-ish': condition names unknown status 'solved'"] == check_rules(
        LA, [rule]
    )


def test_check_rules_reports_an_unknown_category() -> None:
    """A condition naming a category no status has is reported."""
    rule = when([leaf("category", "is", "archived")], actions=[{"notify": "x"}], name="arch")
    expected = (
        "rule 'arch': condition names category 'archived', which no status of workflow "
        "'liveagent' has"
    )
    assert [expected] == check_rules(LA, [rule])


def test_check_rules_reports_a_rule_that_can_never_fire() -> None:
    """A rule whose command leaves none of the statuses it is pinned to is reported."""
    rule = after(status="new", delay=DAY, then="reopen", name="nope")
    assert ["rule 'nope' can never fire: trigger 'reopen' leaves none of new"] == check_rules(
        LA, [rule]
    )


def test_check_rules_reports_unknown_commands_instead_of_raising() -> None:
    """An unknown command is reported as a problem, not raised."""
    rule = when([], actions=[{"command": "teleport"}], name="t")
    (problem,) = check_rules(LA, [rule])
    assert problem.startswith("rule 't', action 'command': workflow 'liveagent' has no command")


def test_check_rules_warns_about_a_rule_anchored_on_closed_that_changes_the_ticket() -> None:
    """A tag a day after closing can never fire (a closed ticket is locked); a survey can."""
    tag = Rule(
        name="tag_after_close",
        at=TimeTrigger(anchor="closed", delay=timedelta(days=1)),
        actions=({"add_tags": ["done"]},),
    )
    survey = Rule(
        name="survey",
        at=TimeTrigger(anchor="closed", delay=timedelta(days=1)),
        actions=({"notify": "survey"},),
    )
    expected = (
        "rule 'tag_after_close' can never fire: it applies only to locked (closed) "
        "statuses (closed, merged, purged), where a rule may only notify"
    )
    assert [expected] == check_rules(LA, [tag, survey])


def test_check_rules_warns_about_a_rule_pinned_to_closed_statuses() -> None:
    """A condition 'status is closed' with a command action can never fire."""
    rule = when(
        {"all": [{"field": "status", "op": "is", "value": "closed"}]},
        actions=[{"command": "reopen"}],
        name="reopen_closed",
    )
    assert ["rule 'reopen_closed' can never fire"] == [
        p.split(":")[0] for p in check_rules(LA, [rule])
    ]
