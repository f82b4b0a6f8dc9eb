"""No private note, agent id, rule or SLA internal ever reaches a customer view.

Each example plays a random workload on a Zendesk help desk (its default rules,
among them a time rule that closes solved tickets after 4 days and the
confirmation rule; a follow-up opens when a customer replies to a closed ticket)
with two rules of our own (an event rule that tags, writes a private note and
notifies on every customer reply; a time rule that notifies and sets a custom
field two hours after the last activity) and an SLA policy with warnings,
breaches and an escalation that reassigns, moves the department, raises the
priority and notifies. Up to three tickets of one requester get random commands
(replies, notes, assignments, priority, tags, fields, status commands, merges,
purges, customer replies that land on a merge target or open a follow-up) with
random time passing on a `FakeClock` and sweeps (`run_due`) in between.

Every secret is a marker: private note bodies start ``PRIVATE-``; agent ids, rule
names, the policy's name, tags, custom fields, notification topics and the
requester's phone, and every message's cc, e-mail ids and metadata contain
``SECRET``; a note's HTML and attachments carry ``PRIVATE``; departments start
``Dept-``. Then, for every ticket and both settings of ``show_assignment``, in
``json.dumps(view.to_dict())`` and in ``repr(view)``:

1. no ``PRIVATE``, no ``SECRET``, no preset rule name, no SLA metric name, and no
   department unless ``show_assignment``;
2. no string value of internal event data (every event's data but the
   whitelisted keys; times aside, since public events show times too, and the
   empty bodies a purge leaves) equals a string value of the view, and the
   view's keys are only the documented ones, and its event kinds the public ones;
3. every public reply body (and a public message's HTML and attachment names)
   appears in the view of the ticket it landed on
   (unless that ticket was purged), and the public thread has as many messages
   as the ticket has non-private ones.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import event as note_event
from hypothesis import given
from hypothesis import strategies as st

from ticketflow import (
    Actor,
    CustomerView,
    EventKind,
    FakeClock,
    Helpdesk,
    HelpdeskConfig,
    MemoryStore,
    Requester,
    Role,
    Ticket,
    TicketflowError,
)
from ticketflow._scrub import ERASED_FIELD
from ticketflow.attachments import Attachment
from ticketflow.rules import Rule, TimeTrigger
from ticketflow.sla import Escalation, Metric, SlaPolicy

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
ANN = Requester(
    name="Ann Example",
    email="ann@example.com",
    contacts={"phone": "phone-SECRET-555"},
    organisation="Example NV",
)
AGENTS = ("agent-SECRET-bob", "agent-SECRET-eve")
DEPARTMENTS = ("Dept-Network", "Dept-Billing")
RULES = (
    Rule(
        name="rule-SECRET-triage",
        on=frozenset({EventKind.CUSTOMER_REPLIED}),
        actions=(
            {"add_tags": ["tag-SECRET-replied"]},
            {"note": "PRIVATE-rule-note"},
            {"notify": "topic-SECRET-reply"},
        ),
    ),
    Rule(
        name="rule-SECRET-nudge",
        at=TimeTrigger(anchor="last_activity", delay=timedelta(hours=2)),
        actions=(
            {"notify": "topic-SECRET-nudge"},
            {"set_field": {"name": "field-SECRET-nudged", "value": "value-SECRET-yes"}},
        ),
    ),
)
TARGETS = {"first_reply": "1h", "next_reply": "3h", "resolution": "1d"}
POLICY = SlaPolicy(
    "policy-SECRET-gold",
    targets=dict.fromkeys(("low", "normal", "high", "urgent"), TARGETS),
    warn_before="20m",
    escalations=[
        Escalation(
            level=1,
            after="30m",
            assign="agent-SECRET-lead",
            department="Dept-Escalations",
            priority="raise",
            notify="topic-SECRET-escalated",
        )
    ],
)
ZENDESK = HelpdeskConfig.preset("zendesk")
CONFIG = HelpdeskConfig(workflow=ZENDESK.workflow, rules=(*ZENDESK.rules, *RULES), sla=[POLICY])
PRESET_RULE_NAMES = tuple(rule.name for rule in ZENDESK.rules)

VIEW_KEYS = frozenset(
    {
        # CustomerView.to_dict
        "id",
        "subject",
        "description",
        "status",
        "requester",
        "channel",
        "created_at",
        "updated_at",
        "department",
        "merged_into",
        "parent_id",
        "messages",
        "events",
        "shows_assignment",
        "description_html",
        "attachments",
        # PublicAttachment.to_dict
        "filename",
        "content_type",
        "size",
        "ref",
        # Requester.to_dict without contacts
        "name",
        "email",
        "organisation",
        # PublicMessage.to_dict
        "at",
        "author_role",
        "author_name",
        "body",
        "html",
        # PublicEvent.to_dict, and its whitelisted details
        "kind",
        "actor_role",
        "details",
        "rating",
        "into",
        "agent_assigned",
    }
)
# Data a view may show, by event kind: reply bodies are in the thread, "into" is
# merged_into, a rating is the customer's own, a department only with show_assignment.
PUBLIC_KINDS = frozenset(
    {
        "created",
        "agent_replied",
        "customer_replied",
        "resolved",
        "reopened",
        "closed",
        "confirmed",
        "postponed",
        "woken",
        "marked_spam",
        "deleted",
        "restored",
        "merged",
        "merge_received",
        "purged",
        "status_changed",
    }
)
"""The kinds a view may show (``assigned`` too, with ``show_assignment``)."""
SHOWN_DATA = {
    EventKind.AGENT_REPLIED: {"body", "channel", "attachments", "html"},
    EventKind.CUSTOMER_REPLIED: {"body", "channel", "attachments", "html"},
    EventKind.MERGED: {"into"},
    EventKind.CONFIRMED: {"rating"},
}

OPS = (
    "agent_reply",
    "customer_reply",
    "add_note",
    "assign",
    "set_priority",
    "add_tags",
    "set_field",
    "resolve",
    "reopen",
    "close",
    "confirm",
    "postpone",
    "wake",
    "spam",
    "delete",
    "restore",
    "merge",
    "purge",
    "open",
    "sweep",
)
# Replies and notes are the data under test: drawn three times as often as the rest.
FREQUENT = ("agent_reply", "customer_reply", "add_note") * 2
STEPS = st.tuples(
    st.sampled_from(OPS + FREQUENT),
    st.integers(0, 5),  # which ticket (modulo the tickets known so far)
    st.integers(0, 5),  # a second ticket (merge), an agent, a department, a rating
    st.one_of(  # time passing before the step: none, minutes (SLA warnings), hours, days
        st.just(timedelta(0)),
        st.timedeltas(timedelta(0), timedelta(hours=1)),
        st.timedeltas(timedelta(0), timedelta(days=5)),
    ),
)


class Scenario:
    """A help desk, the tickets it holds, and the bodies written to it."""

    def __init__(self) -> None:
        self.clock = FakeClock(START)
        self.desk = Helpdesk(config=CONFIG, store=MemoryStore(), clock=self.clock)
        self.ids: list[str] = []
        self.public: list[tuple[str, str]] = []  # (body, id of the ticket it landed on)
        self.count = 0

    def marker(self, prefix: str) -> str:
        self.count += 1
        return f"{prefix}-{self.count:04d}#"

    def metadata(self, shown: str) -> dict[str, Any]:
        """A message's metadata: what a public message shows carries ``shown`` (a
        note's: ``PRIVATE``), what no view shows (cc, e-mail ids, metadata) ``SECRET``."""
        private = shown == "PRIVATE"
        return {
            "channel": None if private else "portal",  # a note's would equal a reply's
            "attachments": [
                Attachment(
                    filename=self.marker(f"{shown}-file") + ".pdf",
                    content_type="application/x-note" if private else "application/pdf",
                    size=self.count,
                    sha256=f"{self.count:064x}",
                    ref=self.marker(f"{shown}-ref"),
                )
            ],
            "html": self.marker(f"{shown}-html"),
            "cc": [self.marker("cc-SECRET") + "@example.com"],
            "external_id": self.marker("ext-SECRET") + "@example.com",
            "in_reply_to": self.marker("irt-SECRET") + "@example.com",
            "references": [self.marker("ref-SECRET") + "@example.com"],
            "metadata": {"crm": self.marker("meta-SECRET")},
        }

    def open(self) -> Ticket:
        subject = self.marker("Subject")
        extra = self.metadata("PUBLIC") if self.count % 2 else {}
        extra.pop("channel", None)  # the ticket's channel is the description's
        ticket = self.desk.open_ticket(subject=subject, requester=ANN, description="Hello", **extra)
        self.ids.append(ticket.id)
        self.public.extend((shown, ticket.id) for shown in self.shown(extra))
        return ticket

    @staticmethod
    def shown(extra: dict[str, Any]) -> tuple[str, ...]:
        """What a view must show of a public message's metadata: its HTML and file names."""
        if not extra:
            return ()
        return (extra["html"], *(a.filename for a in extra["attachments"]))

    def play(self, op: str, which: int, arg: int, wait: timedelta) -> None:  # noqa: C901 - one branch per op
        desk = self.desk
        self.clock.advance(wait)
        tid = self.ids[which % len(self.ids)]
        agent = AGENTS[arg % len(AGENTS)]
        if op == "open":
            self.open()
        elif op == "sweep":
            desk.run_due()
        elif op == "agent_reply":
            body = self.marker("PUBLIC-agent")
            extra = self.metadata("PUBLIC") if arg % 2 else {}
            landed = desk.agent_reply(tid, body, by=agent, **extra)
            self.public.extend((shown, landed.id) for shown in (body, *self.shown(extra)))
        elif op == "customer_reply":
            body = self.marker("PUBLIC-customer")
            extra = self.metadata("PUBLIC") if arg % 2 else {}
            landed = desk.customer_reply(tid, body, **extra)
            if landed.id not in self.ids:
                self.ids.append(landed.id)  # a follow-up
            # A reply redirected to a merge target or opening a follow-up carries its
            # body only, for now (the locked-ticket path; issue 13 item 3 rewrites it).
            shown = self.shown(extra) if landed.id == tid else ()
            self.public.extend((text, landed.id) for text in (body, *shown))
        elif op == "add_note":
            extra = self.metadata("PRIVATE") if arg % 2 else {}
            desk.add_note(tid, self.marker("PRIVATE-note"), by=agent, **extra)
        elif op == "assign":
            desk.assign(tid, agent=agent, department=DEPARTMENTS[arg % 2], by=AGENTS[0])
        elif op == "set_priority":
            desk.set_priority(tid, ("low", "normal", "high", "urgent")[arg % 4], by=agent)
        elif op == "add_tags":
            desk.add_tags(tid, self.marker("tag-SECRET"), by=agent)
        elif op == "set_field":
            desk.set_field(tid, "field-SECRET-plan", self.marker("value-SECRET"), by=agent)
        elif op == "confirm":
            desk.confirm_resolution(tid, rating=1 + arg % 5)
        elif op == "postpone":
            desk.postpone(tid, self.clock.now() + timedelta(hours=1 + arg), by=agent)
        elif op == "merge":
            desk.merge(tid, self.ids[arg % len(self.ids)], by=agent)
        elif op == "resolve":
            desk.assign(tid, agent=agent, by=agent)  # Zendesk solves assigned tickets only
            desk.resolve(tid, by=agent)
        elif op == "purge":
            desk.purge(tid, by=Actor(agent, Role.ADMIN))  # only admins may purge
        else:  # reopen, close, wake, spam, delete, restore
            method = {"spam": "mark_spam"}.get(op, op)
            getattr(desk, method)(tid, by=agent)

    def tickets(self) -> Iterator[Ticket]:
        for tid in self.ids:
            yield self.desk.get(tid)


def strings(value: Any) -> Iterator[str]:
    """Every string inside ``value`` (dict keys aside)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from strings(item)


def keys(value: Any) -> Iterator[str]:
    """Every dict key inside ``value``."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from keys(item)
    elif isinstance(value, list):
        for item in value:
            yield from keys(item)


def is_time(text: str) -> bool:
    try:
        return datetime.fromisoformat(text).tzinfo is not None
    except ValueError:
        return False


def internal_strings(ticket: Ticket, *, show_assignment: bool) -> set[str]:
    """The string values of the ticket's event data that no view may show."""
    found: set[str] = set()
    for event in ticket.timeline:
        if event.kind in (EventKind.CREATED, EventKind.MERGE_RECEIVED):
            continue  # model objects: their secrets carry markers (checked by substring)
        shown = SHOWN_DATA.get(event.kind, set())
        if show_assignment and event.kind is EventKind.ASSIGNED:
            shown = {"department"}
        data = event.to_dict()["data"]
        assert isinstance(data, dict)
        for key, value in data.items():
            if key not in shown:
                found |= {s for s in strings(value) if s and not is_time(s)}
    return found


def check_view(ticket: Ticket, view: CustomerView, *, show_assignment: bool) -> None:
    plain = view.to_dict()
    text = json.dumps(plain) + "\n" + repr(view)
    for secret in ("PRIVATE", "SECRET", *PRESET_RULE_NAMES, *(m.value for m in Metric)):
        assert secret not in text, f"{secret!r} leaked into the view of {ticket.id}"
    if not show_assignment:
        assert "Dept-" not in text
    assert set(keys(plain)) <= VIEW_KEYS
    allowed = PUBLIC_KINDS | ({"assigned"} if show_assignment else set())
    assert {e.kind for e in view.events} <= allowed
    # The purge's tombstone placeholder is a constant, not data: it may be on both sides.
    leaked = internal_strings(ticket, show_assignment=show_assignment) & set(strings(plain))
    assert set() == leaked - {ERASED_FIELD}
    assert sum(not m.private for m in ticket.messages) == len(view.messages)


@given(st.lists(STEPS, min_size=5, max_size=40), st.integers(1, 3))
def test_a_customer_view_never_shows_what_is_internal(
    steps: list[tuple[str, int, int, timedelta]], tickets: int
) -> None:
    """Notes, agent ids, rule and SLA internals never appear; public replies always do."""
    scenario = Scenario()
    for _ in range(tickets):
        scenario.open()
    for step in steps:
        with contextlib.suppress(TicketflowError):
            scenario.play(*step)
    scenario.clock.advance(timedelta(days=5))
    scenario.desk.run_due()
    texts = {}
    for ticket in scenario.tickets():
        for show in (False, True):
            check_view(ticket, ticket.for_customer(show_assignment=show), show_assignment=show)
        texts[ticket.id] = (ticket.status, json.dumps(ticket.for_customer().to_dict()))
        for kind in {e.kind for e in ticket.timeline}:
            note_event(f"kind: {kind.value}")
    if len(scenario.ids) > tickets + sum(op == "open" for op, *_ in steps):
        note_event("a follow-up opened")
    for body, landed in scenario.public:
        status, text = texts[landed]
        if status != "purged":
            assert body in text, f"public reply {body!r} missing from the view of {landed}"


def test_the_workload_reaches_every_internal_kind() -> None:
    """One fixed workload makes the property's scenario produce each kind it must hide.

    So the property is not vacuous: notes, rule notes and notifications, tags and
    fields, SLA warnings, breaches and escalations, merges, a follow-up and a purge
    all happen, and the views stay clean.
    """
    scenario = Scenario()
    for _ in range(3):
        scenario.open()
    hour = timedelta(hours=1)
    workload = [
        ("add_note", 0, 0, timedelta(0)),
        ("sweep", 0, 0, timedelta(minutes=45)),  # first reply warning
        ("sweep", 0, 0, 2 * hour),  # breach, escalation, the nudge rule
        ("customer_reply", 0, 0, hour),
        ("agent_reply", 0, 1, hour),
        ("add_tags", 0, 0, hour),
        ("set_field", 0, 0, hour),
        ("merge", 1, 0, hour),  # ticket 1 into ticket 0
        ("resolve", 0, 0, hour),
        ("sweep", 0, 0, timedelta(days=5)),  # closed after 4 days
        ("customer_reply", 0, 0, hour),  # a follow-up
        ("purge", 2, 0, hour),
    ]
    for step in workload:
        scenario.play(*step)
    scenario.clock.advance(timedelta(days=5))
    scenario.desk.run_due()
    kinds = {e.kind for t in scenario.tickets() for e in t.timeline}
    assert {
        EventKind.NOTE_ADDED,
        EventKind.NOTIFIED,
        EventKind.TAGS_ADDED,
        EventKind.FIELD_SET,
        EventKind.SLA_WARNING,
        EventKind.SLA_BREACHED,
        EventKind.ESCALATED,
        EventKind.ASSIGNED,
        EventKind.PRIORITY_CHANGED,
        EventKind.MERGED,
        EventKind.MERGE_RECEIVED,
        EventKind.CLOSED,
        EventKind.PURGED,
    } <= kinds
    assert 4 == len(scenario.ids)  # the follow-up
    for ticket in scenario.tickets():
        for show in (False, True):
            check_view(ticket, ticket.for_customer(show_assignment=show), show_assignment=show)
