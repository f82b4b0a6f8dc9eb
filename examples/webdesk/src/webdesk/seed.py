"""Demo data at first start: the BPI Challenge 2013 log when present, else a generated month.

BPI Challenge 2013 incidents: Ward Steeman, *BPI Challenge 2013, incidents*,
4TU.ResearchData, doi:10.4121/uuid:500573e6-accc-4b0c-9576-aa5468b10cee (4TU
General Terms of Use). The log is read in place, never copied.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from ticketflow import Actor, FakeClock, Helpdesk, Requester, Role
from ticketflow.importing import CsvMapping, read_csv

from .desk import Desk

__all__ = ["CUSTOMERS", "MAPPING_FILE", "seed"]

log = logging.getLogger("webdesk.seed")

MAPPING_FILE = Path(__file__).with_name("bpi2013_liveagent.toml")

# The demo's customers: sign in with one of these addresses to see their tickets.
CUSTOMERS = (
    Requester(name="Ann Lee", email="ann@example.com"),
    Requester(name="Yan Chen", email="yan@example.com"),
    Requester(name="Ola Berg", email="ola@example.com"),
    Requester(name="Raj Patel", email="raj@example.com"),
)
_AGENTS = ("alice", "bob")
_SUBJECTS = (
    ("VPN drops every hour", "network"),
    ("Cannot print to floor 2", "it"),
    ("Invoice shows the wrong VAT", "billing"),
    ("Password reset link expired", "it"),
    ("Laptop fan is loud", "it"),
    ("Refund for a double charge", "billing"),
    ("Wi-Fi slow in meeting room B", "network"),
    ("Shared drive is full", "it"),
)


def seed(desk: Desk, *, now: datetime | None = None) -> str:
    """Fill an empty store with demo tickets; return what was done, in a sentence.

    A store that holds tickets already is left alone, so this runs at every start.
    """
    helpdesk = desk.helpdesk
    if helpdesk.list(limit=1).items:
        return "the store holds tickets already: nothing seeded"
    at = helpdesk.clock.now() if now is None else now
    done = []
    if desk.settings.bpi_log is not None and desk.settings.bpi_log.is_file():
        done.append(_import_bpi(helpdesk, desk.settings.bpi_log))
    tickets = desk.settings.seed_tickets if not done else min(40, desk.settings.seed_tickets)
    done.append(generate_month(helpdesk, until=at, tickets=tickets))
    return "; ".join(done)


def _import_bpi(helpdesk: Helpdesk, path: Path) -> str:
    mapping = CsvMapping.load(MAPPING_FILE)
    records = read_csv(path, mapping, workflow=helpdesk.workflow)
    report = helpdesk.import_tickets(records, strict=False, id_prefix="BPI-")
    return (
        f"imported {report.tickets:,} incidents of the BPI Challenge 2013 log "
        f"({report.events:,} events, {len(report.refused):,} refused moves)"
    )


def generate_month(helpdesk: Helpdesk, *, until: datetime, tickets: int) -> str:
    """Play ``tickets`` tickets' lives over the 30 days before ``until`` through real commands.

    A help desk on a `FakeClock` shares the store and configuration of ``helpdesk``,
    so each event is stamped at its simulated time and the rules and SLA clocks run
    as they would have; the random choices are seeded, so every first start looks alike.
    """
    rng = random.Random(2013)  # noqa: S311 - demo data, seeded to look alike every time
    start = until - timedelta(days=30)
    clock = FakeClock(start)
    sim = Helpdesk(config=helpdesk.config, store=helpdesk.store, clock=clock)
    steps: list[tuple[datetime, int, Callable[[], object]]] = []
    for n in range(tickets):
        opened = start + timedelta(minutes=rng.randrange(30 * 24 * 60 - 60))
        steps.extend(_life(sim, rng, n, opened, until))
    steps.sort(key=lambda step: (step[0], step[1]))
    for at, _, action in steps:
        sim.run_until(at)
        action()
    sim.run_until(until)
    return f"generated {tickets} tickets over the 30 days before {until:%Y-%m-%d}"


def _life(  # noqa: C901 - one branch per step of a ticket's life, read top to bottom
    sim: Helpdesk, rng: random.Random, n: int, opened: datetime, until: datetime
) -> list[tuple[datetime, int, Callable[[], object]]]:
    """The commands of one ticket's life, each at its time (ids filled in as they run)."""
    customer = CUSTOMERS[n % len(CUSTOMERS)]
    subject, department = _SUBJECTS[rng.randrange(len(_SUBJECTS))]
    priority = rng.choices(("low", "normal", "high", "urgent"), weights=(2, 6, 2, 1))[0]
    agent = _AGENTS[rng.randrange(len(_AGENTS))]
    me = Actor(customer.email or "", Role.CUSTOMER)
    ticket: dict[str, str] = {}
    at = opened
    out: list[tuple[datetime, int, Callable[[], object]]] = []

    def step(delay: timedelta, action: Callable[[], object]) -> bool:
        nonlocal at
        at += delay
        if at >= until:
            return False
        out.append((at, n, action))
        return True

    def open_it() -> None:
        t = sim.open_ticket(
            subject=f"{subject} (#{n + 1})",
            requester=customer,
            description=f"Hello, {subject.lower()}. Can you help?",
            channel=rng.choice(("email", "portal")),
            priority=priority,
        )
        ticket["id"] = t.id
        sim.assign(t.id, agent, department=department, by=agent)

    out.append((at, n, open_it))
    if rng.random() < 0.08:  # still untouched
        return out
    if rng.random() < 0.3:
        step(
            _minutes(rng, 5, 60), lambda: sim.add_note(ticket["id"], "Checked the logs.", by=agent)
        )
    if not step(
        _minutes(rng, 10, 600),
        lambda: sim.agent_reply(ticket["id"], "Thanks, we are looking into it.", by=agent),
    ):
        return out
    if rng.random() < 0.5 and not step(
        _minutes(rng, 20, 900),
        lambda: sim.customer_reply(ticket["id"], "Any news?", by=me),
    ):
        return out
    if rng.random() < 0.15:
        return out  # waiting on an agent now
    if not step(_minutes(rng, 30, 2000), lambda: sim.resolve(ticket["id"], by=agent)):
        return out
    if rng.random() < 0.7:
        rating = rng.choices((1, 2, 3, 4, 5), weights=(1, 1, 2, 5, 6))[0]
        step(
            _minutes(rng, 10, 1500),
            lambda: sim.confirm_resolution(ticket["id"], rating=rating, by=me),
        )
    return out


def _minutes(rng: random.Random, low: int, high: int) -> timedelta:
    return timedelta(minutes=rng.randint(low, high))
