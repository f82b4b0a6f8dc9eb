"""The edge refuses bad input with a typed error naming the field; a refused call changes nothing.

One test per input reproduced in issue 10 as escaping with another exception type
(TypeError, UnicodeEncodeError, ValueError, RecursionError, OverflowError) or
giving different answers on different backends. Store-specific behaviour is
covered for every backend by the contract suite and
``tests/properties/test_fuzz_public_api.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ticketflow import (
    FakeClock,
    Helpdesk,
    InvalidInputError,
    Requester,
    RuleError,
    SQLiteStore,
    StoreError,
    Ticket,
    TicketflowError,
    TicketStore,
    Workflow,
    WorkflowError,
    open_store,
)
from ticketflow.rules import Rule, TimeTrigger, when
from ticketflow.sla import Escalation, SlaPolicy
from ticketflow.stores import TicketQuery
from ticketflow.workflows import liveagent

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


@pytest.fixture(params=["memory", "sqlite"])
def desk(request: pytest.FixtureRequest) -> Helpdesk:
    """A help desk on a MemoryStore or an in-memory SQLite store."""
    store: TicketStore | None = None if request.param == "memory" else SQLiteStore(":memory:")
    return Helpdesk(store=store, clock=FakeClock(START))


@pytest.fixture
def ticket(desk: Helpdesk) -> Ticket:
    """One new ticket."""
    return desk.open_ticket(subject="VPN down", requester=Requester(name="Ann"))


def nested_list(depth: int) -> list[Any]:
    """A list nested ``depth`` levels deep."""
    value: list[Any] = []
    for _ in range(depth - 1):
        value = [value]
    return value


def refused(desk: Helpdesk, ticket: Ticket, call: Callable[[], object]) -> InvalidInputError:
    """Run ``call``; assert InvalidInputError and that the store did not change."""
    count = desk.store.count()
    with pytest.raises(InvalidInputError) as info:
        call()
    assert count == desk.store.count()
    assert ticket == desk.get(ticket.id)
    return info.value


@pytest.mark.parametrize(
    "command",
    [
        lambda d, i: d.agent_reply(i, "x", by=["x"]),
        lambda d, i: d.add_note(i, "x", by=["x"]),
        lambda d, i: d.customer_reply(i, "x", by=["x"]),
        lambda d, i: d.assign(i, "eve", by=["x"]),
        lambda d, i: d.set_priority(i, "high", by=["x"]),
        lambda d, i: d.add_tags(i, "vip", by=["x"]),
        lambda d, i: d.set_field(i, "f", 1, by=["x"]),
        lambda d, i: d.resolve(i, by=["x"]),
        lambda d, i: d.mark_spam(i, by=["x"]),
        lambda d, i: d.postpone(i, START + timedelta(days=1), by=["x"]),
        lambda d, i: d.fire(i, "spam", by=["x"]),
        lambda d, i: d.purge(i, by=["x"]),
    ],
)
def test_a_by_that_is_not_a_string_is_refused_by_every_command(
    desk: Helpdesk, ticket: Ticket, command: Callable[[Helpdesk, str], object]
) -> None:
    """by=["x"] raised TypeError (an unhashable cache key); now InvalidInputError(field='by')."""
    assert "by" == refused(desk, ticket, lambda: command(desk, ticket.id)).field


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda d, i: d.fire(i, ["x"]), "trigger"),
        (lambda d, _i: d.get(["x"]), "ticket_id"),
        (lambda d, _i: d.timeline(5), "ticket_id"),
        (lambda d, _i: d.find(category=5), "category"),
        (lambda d, _i: d.find(status=[None]), "status"),
        (lambda d, _i: d.find(tag=3), "tag"),
        (lambda d, _i: d.find(requester=3), "requester"),
        (lambda d, _i: d.find(requester=""), "requester"),
        (lambda d, _i: d.find(requester="  "), "requester"),
        (lambda d, _i: d.find(requester="a\x00@b"), "requester"),
        (
            lambda d, _i: d.open_ticket(subject="s", requester=Requester(name="A"), tags=None),
            "tags",
        ),
        (lambda d, _i: d.open_ticket(subject="s", requester=Requester(name="A"), tags=5), "tags"),
        (lambda d, i: d.merge(i, ["x"], by="bob"), "into_id"),
        (lambda d, _i: d.subscribe(print, kinds=["nope"]), "kinds"),
        (lambda d, _i: d.subscribe("not callable"), "callback"),  # type: ignore[arg-type]
    ],
)
def test_arguments_of_the_wrong_type_are_refused(
    desk: Helpdesk, ticket: Ticket, call: Callable[[Helpdesk, str], object], field: str
) -> None:
    """Wrong types raised TypeError; now InvalidInputError naming the argument."""
    assert field == refused(desk, ticket, lambda: call(desk, ticket.id)).field


@pytest.mark.parametrize("bad", ["\ud800", "x\udfffy", "a\x00b"])
@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda d, i, b: d.agent_reply(i, b, by="bob"), "body"),
        (lambda d, i, b: d.customer_reply(i, b), "body"),
        (lambda d, i, b: d.add_tags(i, b), "tags"),
        (lambda d, i, b: d.assign(i, department=b), "department"),
        (lambda d, i, b: d.set_field(i, "f", {b: 1}), "custom_fields.f"),
        (lambda d, _i, b: d.get(b), "ticket_id"),
        (
            lambda d, _i, b: d.open_ticket(subject="s", requester=Requester(name="A"), channel=b),
            "channel",
        ),
        (lambda d, _i, b: d.open_ticket(subject=b, requester=Requester(name="A")), "subject"),
        (lambda d, _i, b: d.open_ticket(subject="s", requester=Requester(name=b)), "requester"),
        (
            lambda d, _i, b: d.open_ticket(
                subject="s", requester=Requester(name="A", contacts={"p": b})
            ),
            "requester",
        ),
    ],
)
def test_text_no_database_can_store_is_refused_on_every_backend(
    desk: Helpdesk,
    ticket: Ticket,
    call: Callable[[Helpdesk, str, str], object],
    field: str,
    bad: str,
) -> None:
    """Lone surrogates (UnicodeEncodeError on SQL) and NUL (PostgreSQL only) are refused."""
    assert field == refused(desk, ticket, lambda: call(desk, ticket.id, bad)).field


@pytest.mark.parametrize(
    "value",
    [10**5000, 2**63, -(2**63) - 1, nested_list(65), {"a": nested_list(64)}, float("nan")],
    ids=["huge", "2**63", "below-int64", "list-65-deep", "dict-65-deep", "nan"],
)
def test_json_values_no_store_keeps_are_refused(
    desk: Helpdesk, ticket: Ticket, value: object
) -> None:
    """Ints outside 64 bits, JSON deeper than 64 levels and NaN are refused, naming the field."""
    error = refused(desk, ticket, lambda: desk.set_field(ticket.id, "f", value))
    assert "custom_fields.f" == error.field


def test_a_list_nested_5000_deep_is_refused_without_recursion_error(
    desk: Helpdesk, ticket: Ticket
) -> None:
    """The check stops at level 65: deep input cannot exhaust the stack."""
    refused(desk, ticket, lambda: desk.set_field(ticket.id, "f", nested_list(5000)))


def test_json_at_the_limits_is_accepted(desk: Helpdesk, ticket: Ticket) -> None:
    """64 levels and the 64-bit extremes are kept and read back."""
    value = {"deep": nested_list(63), "max": 2**63 - 1, "min": -(2**63)}
    assert value == desk.set_field(ticket.id, "f", value).custom_fields["f"]
    assert value == desk.get(ticket.id).custom_fields["f"]


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda d: d.run_due(datetime.max.replace(tzinfo=UTC)), "now"),
        (lambda d: d.run_due(datetime(1, 1, 1, tzinfo=UTC)), "now"),
        (lambda d: d.run_due(datetime(2026, 1, 1)), "now"),  # naive on purpose
        (lambda d: d.run_due(batch=-1), "batch"),
        (lambda d: d.run_due(batch=0), "batch"),
        (lambda d: d.run_due(batch=True), "batch"),
        (lambda d: d.run_due(lease=timedelta(seconds=-1)), "lease"),
        (lambda d: d.run_due(lease=timedelta(days=10**6)), "lease"),
        (lambda d: d.run_due(lease=60), "lease"),
        (lambda d: d.reschedule(batch=0), "batch"),
        (lambda d: d.find(limit=-1), "limit"),
        (lambda d: d.find(limit=2**63), "limit"),
        (lambda d: d.find(limit=1.5), "limit"),
        (lambda d: d.find(limit=True), "limit"),
        (lambda d: d.queue(limit=-1), "limit"),
        (lambda d: d.run_until(datetime.max.replace(tzinfo=UTC)), "until"),
    ],
)
def test_limits_batches_leases_and_times_out_of_range_are_refused(
    desk: Helpdesk, ticket: Ticket, call: Callable[[Helpdesk], object], field: str
) -> None:
    """find(limit=-1) returned everything on SQLite and nothing on PostgreSQL; now refused."""
    assert field == refused(desk, ticket, lambda: call(desk)).field


def test_dispatch_refuses_a_bad_limit_and_lease(desk: Helpdesk, ticket: Ticket) -> None:
    """dispatch checks limit and lease like run_due."""
    desk.subscribe(lambda _t, _e: None)
    assert "limit" == refused(desk, ticket, lambda: desk.dispatch(limit=0)).field
    assert "lease" == refused(desk, ticket, lambda: desk.dispatch(lease=timedelta(-1))).field


def test_a_query_with_a_negative_limit_is_refused_before_any_store_sees_it() -> None:
    """TicketQuery itself refuses it, so every backend answers alike."""
    with pytest.raises(InvalidInputError) as info:
        TicketQuery(limit=-1)
    assert "limit" == info.value.field
    assert [] == SQLiteStore(":memory:").find(TicketQuery(limit=0))


def test_a_fake_clock_stays_in_the_safe_range() -> None:
    """FakeClock refuses instants whose arithmetic could overflow."""
    clock = FakeClock(START)
    for call in (
        lambda: clock.set(datetime.max.replace(tzinfo=UTC)),
        lambda: clock.advance(days=10**7),
        lambda: FakeClock(datetime(1, 1, 1, tzinfo=UTC)),
    ):
        with pytest.raises(InvalidInputError):
            call()
    assert START == clock.now()


# --- definitions ------------------------------------------------------------------------


@pytest.mark.parametrize("window", [1e308, -1e308, float("nan"), float("inf"), True, "7"])
def test_an_absurd_reopen_window_is_refused(window: object) -> None:
    """reopen_window_days=1e308 raised OverflowError; now WorkflowError naming the setting."""
    data = liveagent().to_dict()
    data["settings"] = {"closed_policy": "reopen", "reopen_window_days": window}
    with pytest.raises(WorkflowError) as info:
        Workflow.from_dict(data)
    assert info.value.item in {"reopen_window_days", "reopen_window"}


@pytest.mark.parametrize(
    "delay",
    [float("nan"), float("inf"), 1e300, 10**5000, "9" * 400 + "d"],
    ids=["nan", "inf", "1e300", "huge-int", "huge-text"],
)
def test_an_absurd_rule_delay_is_refused(delay: object) -> None:
    """A delay of nan raised ValueError, 1e300 OverflowError; now RuleError naming the field."""
    data = {"name": "r", "at": {"anchor": "created", "delay": delay}, "actions": [{"notify": "x"}]}
    with pytest.raises(RuleError, match=r"at\.delay"):
        Rule.from_dict(data)
    with pytest.raises(RuleError, match=r"at\.delay"):
        TimeTrigger(anchor="created", delay=timedelta(days=10**6))


@pytest.mark.parametrize(
    "action",
    [
        {"set_field": {"name": "f", "value": float("nan")}},
        {"set_field": {"name": "f", "value": 10**30}},
        {"set_field": {"name": "f", "value": nested_list(70)}},
        {"notify": "a\x00"},
        {"add_tags": ["\ud800"]},
    ],
    ids=["nan", "huge-int", "deep", "nul", "surrogate"],
)
def test_rule_actions_that_no_store_keeps_are_refused(action: dict[str, Any]) -> None:
    """A set_field NaN passed validation and broke PostgreSQL; actions are now storable JSON."""
    with pytest.raises(RuleError, match="rule 'r'"):
        Rule(name="r", on=frozenset(), actions=(action,))


def test_conditions_nested_3000_deep_are_refused() -> None:
    """A condition nested 3,000 deep raised RecursionError; now RuleError."""
    condition: dict[str, Any] = {"field": "status", "op": "is", "value": "new"}
    for _ in range(3000):
        condition = {"all": [condition]}
    with pytest.raises(RuleError, match="deeper than 64"):
        Rule.from_dict(
            {"name": "r", "on": [], "conditions": condition, "actions": [{"notify": "x"}]}
        )
    with pytest.raises(RuleError, match="deeper than 64"):
        when(condition, actions=[{"notify": "x"}])
    with pytest.raises(RuleError):
        SlaPolicy("p", conditions=condition, targets={"normal": {"first_response": "1h"}})


def test_sla_definitions_refuse_absurd_values() -> None:
    """Targets, escalation delays and levels out of range are RuleErrors."""
    with pytest.raises(RuleError):
        SlaPolicy("p", targets={"normal": {"first_response": float("nan")}})
    with pytest.raises(RuleError):
        SlaPolicy("p\x00", targets={"normal": {"first_response": "1h"}})
    with pytest.raises(RuleError):
        Escalation(level=10**5000)
    with pytest.raises(RuleError):
        Escalation(level=1, after=1e300)


def test_mermaid_labels_cannot_inject_lines() -> None:
    """A label with a newline or a quote stays inside its one state line."""
    data = liveagent().to_dict()
    data["statuses"][0]["label"] = 'New\n  evil --> injected\n  "quoted"'
    diagram = Workflow.from_dict(data).mermaid()
    assert not any(line.lstrip().startswith(("evil", '"quoted"')) for line in diagram.splitlines())
    (state,) = [line for line in diagram.splitlines() if "evil" in line]
    assert state.startswith('  state "New   evil --> injected   #quot;quoted#quot;" as ')


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:///x.db?timeout=nan",
        "sqlite:///x.db?timeout=-1",
        "sqlite:///x.db?timeout=1e308",
        "sqlite:///\ud800.db",
        "sqlite:///a\x00.db",
        "memory:\ud800",
    ],
)
def test_store_urls_with_absurd_options_or_unstorable_text_are_refused(url: str) -> None:
    """sqlite3 raised ValueError, UnicodeEncodeError or OverflowError; now StoreError."""
    with pytest.raises(StoreError):
        open_store(url)


def test_sqlite_store_options_are_checked() -> None:
    """A timeout that is not a finite number of seconds up to a day is a StoreError."""
    for timeout in (float("nan"), -1, 1e308, "5"):
        with pytest.raises(StoreError, match="timeout"):
            SQLiteStore(":memory:", timeout=timeout)  # type: ignore[arg-type]


def test_every_refusal_is_a_ticketflow_error() -> None:
    """InvalidInputError, RuleError and WorkflowError share the one base class."""
    assert issubclass(InvalidInputError, TicketflowError)
    assert issubclass(RuleError, TicketflowError)
    assert issubclass(WorkflowError, TicketflowError)
