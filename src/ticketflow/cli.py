"""Command line: ``python -m ticketflow demo``, ``diagram``, ``worker`` and ``report``.

``demo`` simulates a morning at a help desk on a fake clock, kept in a SQLite file;
``diagram`` prints a workflow's Mermaid diagram; ``worker`` runs time rules and
delivers the outbox of a store until it is told to stop (see docs/howto/worker.md);
``report`` prints a summary table of the tickets' metrics (see docs/howto/reports.md).
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import signal
import sys
import threading
import tomllib
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import Any, Final, final

import attrs

from ._calendar import BusinessCalendar
from ._clock import FakeClock, SystemClock
from ._engine import Helpdesk
from ._model import Event, Requester, Ticket
from ._workflow import Guard, Workflow
from .config import HelpdeskConfig, sla_from_dict
from .exceptions import StoreError, StoreUnavailable, TicketflowError, WorkflowError
from .metrics import RowValue, aggregate, ticket_metrics, write_csv
from .rules import after, inactivity
from .sla import Metric, SlaPolicies, SlaPolicy
from .stores import (
    IndexUpdate,
    OutboxEntry,
    SQLiteStore,
    TicketQuery,
    TicketStore,
    open_store,
)
from .stores._protocol import Change
from .workflows import PRESETS

__all__ = ["DEMO_STORE", "demo_config", "main", "run_demo"]

DEMO_STORE: Final = "sqlite:///ticketflow-demo.db"
WORKER_STORE: Final = "sqlite:///helpdesk.db"
"""Where ``demo`` keeps its tickets unless told otherwise (started afresh on each run)."""

_DEMO_FILE: Final = "ticketflow-demo.db"
_SQLITE_SIDE_FILES: Final = ("", "-wal", "-shm", "-journal")

_LOG = logging.getLogger("ticketflow.worker")

EXIT_OK: Final = 0
EXIT_STORE_FAILED: Final = 1
EXIT_BAD_SETUP: Final = 2
EXIT_ABORTED: Final = 130


def _format_timeline(ticket: Ticket) -> list[str]:
    who = ticket.requester.name or ticket.requester.email
    lines = [f"#{ticket.id[-6:]}  {ticket.subject!r}  ({who})"]
    for event in ticket.timeline:
        change = (
            f"{event.status_before} -> {event.status_after}"
            if event.changes_status
            else f"stays {event.status_after}"
        )
        who = f"{event.actor.id} ({event.actor.role.value})"
        lines.append(f"  {event.at:%a %d %H:%M}  {event.kind.value:<17} {change:<24} by {who}")
    return lines


def _queue_lines(desk: Helpdesk) -> list[str]:
    """The agents' queue, one line per ticket, with its nearest SLA due time."""
    lines = [
        f"The agents' queue at {desk.clock.now():%H:%M} UTC (desk.queue(), most urgent first):"
    ]
    for ticket in desk.queue():
        if desk.sla is None:
            lines.append(f"  #{ticket.id[-6:]}  {ticket.subject!r}  ({ticket.status})")
            continue
        state = desk.sla_state(ticket.id)
        running = [
            (m.due_at, metric.value)
            for metric, m in state.metrics.items()
            if m.due_at is not None and m.completed_at is None and not m.paused
        ]
        due = f"{min(running)[1]} due {min(running)[0]:%H:%M}" if running else "no SLA clock"
        lines.append(f"  #{ticket.id[-6:]}  {ticket.subject!r}  ({ticket.status}, {due})")
    return lines


def _simulate_morning(desk: Helpdesk, clock: FakeClock, queue: list[str]) -> list[str]:
    """Run the demo's scenario; return the ids of the tickets it touched.

    The agents' queue as it stands mid-morning goes into ``queue``.
    """
    ann = Requester(name="Ann Lee", email="ann@example.org", organisation="Acme")
    vpn = desk.open_ticket(
        subject="VPN drops every 10 minutes", requester=ann, channel="portal", tags=["network"]
    )
    clock.advance(minutes=4)
    spam = desk.open_ticket(
        subject="Cheap watches!!!", requester=Requester(email="win@spam.example")
    )
    clock.advance(minutes=3)
    carlos = Requester(name="Carlos Ruiz", email="carlos@example.com")
    invoice = desk.open_ticket(
        subject="Invoice 2026-114 charged twice", requester=carlos, priority="high"
    )
    clock.advance(minutes=5)
    desk.mark_spam(spam.id, by="bob")
    desk.assign(vpn.id, "bob", department="network", by="lead")
    desk.agent_reply(vpn.id, "Which VPN client version do you run?", by="bob")
    clock.advance(minutes=9)
    desk.assign(invoice.id, "eve", department="billing", by="lead")
    desk.agent_reply(invoice.id, "Refund issued; it shows in 3 days.", by="eve")
    clock.advance(minutes=21)
    desk.customer_reply(vpn.id, "Version 5.2, on Windows 11.")
    clock.advance(minutes=2)
    dana = Requester(name="Dana Kim", email="dana@example.net")
    feature = desk.open_ticket(subject="Dark mode for the portal?", requester=dana)
    queue.extend(_queue_lines(desk))
    desk.add_note(vpn.id, "Known bug in 5.2, fixed in 5.3", by="bob")
    clock.advance(minutes=14)
    desk.agent_reply(vpn.id, "Please update to 5.3; that fixes it.", by="bob")
    desk.resolve(vpn.id, by="bob")
    clock.advance(minutes=6)
    desk.postpone(feature.id, clock.now() + timedelta(days=7), by="eve")
    desk.resolve(invoice.id, by="eve")
    clock.advance(minutes=25)
    desk.confirm_resolution(vpn.id, rating=5)
    clock.advance(minutes=10)
    desk.close(invoice.id, by="eve")
    clock.advance(hours=1, minutes=5)
    follow_up = desk.customer_reply(invoice.id, "The refund has not arrived yet.")
    clock.advance(minutes=20)
    desk.agent_reply(follow_up.id, "Could you send your bank statement?", by="eve")
    return [vpn.id, spam.id, invoice.id, feature.id, follow_up.id]


_DEMO_SLA: Final = SlaPolicy(
    "standard",
    targets={
        "normal": {"first_reply": "1h", "next_reply": "4h", "resolution": "2d"},
        "high": {"first_reply": "30m", "next_reply": "2h", "resolution": "1d"},
    },
    calendar=BusinessCalendar.weekdays_9_to_5("Europe/Brussels"),
    warn_before="15m",
    escalations=[{"level": 1, "notify": "team-lead"}],
)


def _fresh_demo_file() -> None:
    """Remove the default demo database (and SQLite's side files) so the demo starts afresh."""
    for suffix in _SQLITE_SIDE_FILES:
        Path(_DEMO_FILE + suffix).unlink(missing_ok=True)


def _where(store: TicketStore, url: str) -> str:
    if isinstance(store, SQLiteStore) and store.path != ":memory:":
        return f"the file {Path(store.path).resolve()}"
    return url


def demo_config() -> HelpdeskConfig:
    """Return the demo's configuration: LiveAgent, its rules and two more, one SLA policy.

    The two extra rules remind the customer of an answered ticket after 2 days and
    close a resolved ticket after 4; the policy counts office hours in Brussels.
    """
    liveagent = HelpdeskConfig.preset("liveagent")
    return attrs.evolve(
        liveagent,
        rules=[
            *liveagent.rules,
            inactivity(status="answered", after=timedelta(days=2), then="remind"),
            after(status="resolved", delay=timedelta(days=4), then="close"),
        ],
        sla=[_DEMO_SLA],
        calendars={"office": _DEMO_SLA.calendar},
    )


def run_demo(
    out: list[str] | None = None,
    *,
    store: str | None = None,
    config: HelpdeskConfig | None = None,
) -> list[str]:
    """Simulate a morning at a help desk on a fake clock; return the printed lines.

    Five tickets go through New, Answered, Open, Resolved and Closed; one is spam,
    one is postponed, and a reply to a closed ticket opens a follow-up. The tickets
    are kept in the store ``store`` names (default `DEMO_STORE`, a SQLite file in
    the working directory, removed first so each run starts afresh); at the end the
    store is opened again, as a new store, to show that every ticket came back.

    Args:
        out: A list to append the lines to (default: a new list).
        store: A store URL. A store you name is never deleted or emptied: it must
            hold no tickets yet.
        config: The configuration to run the morning on (default: `demo_config`).
            The scenario's commands must be allowed by its workflow.

    Raises:
        StoreError: the store cannot be opened, or already holds tickets.
        TicketflowError: the configuration's workflow refuses a command of the scenario.
    """
    lines: list[str] = [] if out is None else out
    url = DEMO_STORE if store is None else store
    if store is None:
        _fresh_demo_file()
    tickets = open_store(url)
    try:
        held = tickets.count()
        if held:
            raise StoreError(
                f"the demo needs an empty store, and {url!r} holds {held} tickets; "
                "name a new file (the demo never deletes or empties a store you name)"
            )
        before = _run_morning(lines, tickets, url, demo_config() if config is None else config)
    finally:
        tickets.close()
    _check_reopened(lines, url, before, fresh=store is None)
    return lines


def _run_morning(
    lines: list[str], store: TicketStore, url: str, config: HelpdeskConfig
) -> dict[str, Ticket]:
    """Run the scenario on ``store``, print it, and return every ticket as committed."""
    clock = FakeClock(datetime(2026, 3, 2, 8, 0, tzinfo=UTC))  # a Monday
    desk = Helpdesk(config=config, store=store, clock=clock)
    queue: list[str] = []
    ticket_ids = _simulate_morning(desk, clock, queue)
    lines.append(f"ticketflow demo: a Monday morning on the {desk.workflow.name} workflow")
    lines.append(f"(fake clock, store {url}; every command below is timestamped by the clock)")
    lines.append("rules: " + (", ".join(r.name for r in config.rules) or "none"))
    if config.sla.policies == (_DEMO_SLA,):
        lines.append(
            "SLA: first reply 1h (high 30m), next reply 4h, resolution 2d, in office hours "
            "(Europe/Brussels, Mon-Fri 9-17); a warning 15m before, the team lead notified "
            "at a breach"
        )
    else:
        lines.append("SLA: " + (", ".join(p.name for p in config.sla.policies) or "none"))
    lines.append("")
    lines.extend(queue)
    lines.append("")
    morning = clock.now()
    fired = desk.run_until(morning + timedelta(days=8))
    lines.append(
        f"Then the clock skips 8 days with run_until; time rules and SLA stages fired at "
        f"their exact due times: {fired}."
    )
    lines.append("")
    for ticket_id in ticket_ids:
        ticket = desk.get(ticket_id)
        lines.extend(_format_timeline(ticket))
        extra = f"  => {ticket.status}"
        if ticket.parent_id:
            extra += f", follow-up of #{ticket.parent_id[-6:]}"
        if ticket.postponed_until:
            extra += f", postponed until {ticket.postponed_until:%a %d %b %H:%M}"
        if ticket.satisfaction is not None:
            extra += f", rated {ticket.satisfaction}/5"
        lines.append(extra)
        lines.append("")
    lines.append("Open work by category:")
    for category in ("new", "open", "pending", "resolved", "closed", "trash"):
        found = desk.find(category=category)
        lines.append(f"  {category:<9} {len(found)}")
    lines.append("")
    lines.append("The status graph (Mermaid, drawn by transitions):")
    lines.append(desk.workflow.mermaid().rstrip("\n"))
    return {t.id: t for t in store.find(TicketQuery())}


def _check_reopened(lines: list[str], url: str, before: dict[str, Ticket], *, fresh: bool) -> None:
    """Open ``url`` again as a new store and print whether every ticket came back."""
    lines.append("")
    reopened = open_store(url)
    try:
        after_ = {t.id: t for t in reopened.find(TicketQuery())}
        where = _where(reopened, url)
        pending = reopened.outbox_pending()
    finally:
        reopened.close()
    if not after_ and url.lower().startswith("memory:"):
        lines.append(
            f"Opened {url} again as a new store: it is empty (a memory store lives only "
            "as long as the store object)."
        )
        return
    same = sum(1 for tid, ticket in before.items() if after_.get(tid) == ticket)
    statuses = Counter(t.status for t in after_.values())
    verdict = (
        f"all {len(before)} tickets came back, each equal to the ticket committed"
        if same == len(before) == len(after_)
        else f"{same} of {len(before)} tickets came back unchanged ({len(after_)} found)"
    )
    lines.append(f"Opened {url} again as a new store: {verdict}")
    lines.append("  by status: " + ", ".join(f"{name} {n}" for name, n in sorted(statuses.items())))
    again = "each run of the demo starts it afresh" if fresh else "it is yours to keep"
    lines.append(f"The tickets are in {where}; {again}.")
    if pending:
        waits = "1 notification waits" if pending == 1 else f"{pending} notifications wait"
        lines.append(
            f"{waits} in its outbox for a worker: python -m ticketflow worker --store {url} --once"
        )


# --- the worker ----------------------------------------------------------------------


class _SetupError(Exception):
    """A command cannot start: a bad store URL, configuration or subscriber."""


def _open_store_option(url: str) -> TicketStore:
    """Open ``--store``; a store that cannot be opened is a setup error naming the option."""
    try:
        return open_store(url)
    except StoreError as exc:
        raise _SetupError(f"--store {url!r}: {exc}") from exc


@final
class _StoppableStore:
    """A view of a store that hands out no new work once ``stop`` is set.

    `Helpdesk.run_due` and `Helpdesk.dispatch` loop over claimed batches until the
    store has none left; answering "none" once the worker is told to stop lets the
    batch in hand finish (its tickets committed, its claims ended) and nothing more.
    """

    __slots__ = ("_stop", "_store")

    def __init__(self, store: TicketStore, stop: threading.Event) -> None:
        self._store = store
        self._stop = stop

    def get(self, ticket_id: str) -> Ticket:
        return self._store.get(ticket_id)

    def commit(self, changes: Sequence[Change]) -> None:
        self._store.commit(changes)

    def events(self, ticket_id: str) -> tuple[Event, ...]:
        return self._store.events(ticket_id)

    def find(self, query: TicketQuery) -> list[Ticket]:
        return self._store.find(query)

    def due(self, now: datetime, limit: int) -> list[Ticket]:
        return self._store.due(now, limit)

    def claim_due(self, now: datetime, limit: int, lease: timedelta) -> list[Ticket]:
        if self._stop.is_set():
            return []
        claimed = self._store.claim_due(now, limit, lease)
        if claimed:
            _LOG.debug("claimed %d due tickets", len(claimed))
        return claimed

    def claim_outbox(self, now: datetime, limit: int, lease: timedelta) -> list[OutboxEntry]:
        if self._stop.is_set():
            return []
        claimed = self._store.claim_outbox(now, limit, lease)
        if claimed:
            _LOG.debug("claimed %d outbox entries", len(claimed))
        return claimed

    def ack_outbox(self, keys: Sequence[tuple[str, int]]) -> None:
        self._store.ack_outbox(keys)

    def outbox_pending(self) -> int:
        return self._store.outbox_pending()

    def queue(self, *, assignee: str | None, department: str | None, limit: int) -> list[Ticket]:
        return self._store.queue(assignee=assignee, department=department, limit=limit)

    def reindex(self, updates: Sequence[IndexUpdate]) -> int:
        return self._store.reindex(updates)

    def next_due_at(self) -> datetime | None:
        return self._store.next_due_at()

    def count(self) -> int:
        return self._store.count()

    def close(self) -> None:
        self._store.close()


def _log_delivery(ticket: Ticket, event: Event) -> None:
    """The default subscriber: log each event delivered, so the outbox drains."""
    topic = event.data.get("topic") if event.data else None
    _LOG.info(
        "delivered %s of ticket %s (version %d%s)",
        event.kind.value,
        ticket.id,
        event.version,
        f", topic {topic}" if topic else "",
    )


def _import_object(option: str, spec: str, example: str) -> object:
    """Import ``module:attribute`` (the attribute may be ``Class.attribute``) for ``option``.

    ``example`` shows the shape expected, as ``module:function, e.g. app.hooks:notify``.
    """
    module_name, sep, attribute = spec.partition(":")
    if not sep or not module_name or not attribute:
        raise _SetupError(f"{option} {spec!r}: write {example}")
    try:
        found: object = importlib.import_module(module_name)
    except Exception as exc:
        raise _SetupError(
            f"{option} {spec!r}: cannot import module {module_name!r}: "
            f"{type(exc).__name__}: {exc} (is its directory on PYTHONPATH?)"
        ) from exc
    for part in attribute.split("."):
        try:
            found = getattr(found, part)
        except AttributeError:
            raise _SetupError(
                f"{option} {spec!r}: module {module_name!r} has no attribute {attribute!r}"
            ) from None
    return found


def _import_subscriber(spec: str) -> Callable[[Ticket, Event], None]:
    """Import ``--subscriber module:function``."""
    found = _import_object("--subscriber", spec, "module:function, e.g. myapp.hooks:notify")
    if not callable(found):
        raise _SetupError(
            f"--subscriber {spec!r}: it is a {type(found).__name__}, not a callable "
            "taking (ticket, event)"
        )
    return found


def _import_guards(spec: str | None) -> dict[str, Guard]:
    """Import ``--guards module:mapping``: guard callables by the names the workflow uses."""
    if spec is None:
        return {}
    found = _import_object("--guards", spec, "module:mapping, e.g. myapp.guards:GUARDS")
    if not isinstance(found, Mapping):
        raise _SetupError(
            f"--guards {spec!r}: it is a {type(found).__name__}, not a mapping of guard "
            "names to callables taking a ticket"
        )
    guards: dict[str, Guard] = {}
    for name, guard in found.items():
        if not isinstance(name, str) or not callable(guard):
            raise _SetupError(
                f"--guards {spec!r}: entry {name!r} must map a name to a callable taking a ticket"
            )
        guards[name] = guard
    return guards


def _load_config(name: str, guards: str | None = None) -> HelpdeskConfig:
    """Read ``--config`` (a preset name or a configuration file) with ``--guards``."""
    imported = _import_guards(guards)
    if name in PRESETS:
        return HelpdeskConfig.preset(name)
    try:
        return HelpdeskConfig.load(name, guards=imported)
    except OSError as exc:
        raise _SetupError(
            f"--config {name!r}: cannot read it ({exc.strerror or exc}); "
            f"give a configuration .toml file or a preset name ({', '.join(PRESETS)})"
        ) from exc
    except TicketflowError as exc:
        raise _SetupError(f"--config {name!r}: {exc}") from exc


def _config_options(parser: argparse.ArgumentParser, default: str | None, what: str) -> None:
    """Add ``--config`` and ``--guards``, read by `_load_config`."""
    parser.add_argument(
        "--config",
        default=default,
        metavar="FILE",
        help=f"a configuration .toml/.json file (docs/reference/config.md) or a preset name "
        f"({', '.join(PRESETS)}): {what}",
    )
    parser.add_argument(
        "--guards",
        metavar="MODULE:MAPPING",
        help="import MAPPING, a dict of guard name -> callable(ticket) -> bool, for the "
        "custom guards the configuration's transitions name",
    )


def _positive(kind: Callable[[str], float]) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if not value > 0:
            raise argparse.ArgumentTypeError(f"expected a number above 0, got {text!r}")
        return value

    return parse


@contextmanager
def _stop_on_signals(stop: threading.Event, received: list[int]) -> Iterator[None]:
    """Set ``stop`` on SIGTERM or SIGINT; a second signal aborts (KeyboardInterrupt)."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signals reach the main thread only; the caller sets ``stop`` itself
        return

    def handle(signum: int, _frame: FrameType | None) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        # Only flag it here: logging from a signal handler can interleave with a record
        # being written; the loop logs it.
        received.append(signum)
        stop.set()

    previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextmanager
def _worker_logging(level: str) -> Iterator[None]:
    """Log ticketflow's records to stderr at ``level`` while the worker runs."""
    logger = logging.getLogger("ticketflow")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s %(name)s[%(process)d]: %(message)s")
    )
    old_level = logger.level
    logger.setLevel(level)
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)


@final
class _Worker:
    """The worker loop: fire due rules, deliver the outbox, wait, until stopped."""

    def __init__(
        self,
        desk: Helpdesk,
        *,
        batch: int,
        poll: float,
        lease: timedelta,
        stop: threading.Event,
    ) -> None:
        self._desk = desk
        self._batch = batch
        self._poll = poll
        self._lease = lease
        self._stop = stop

    def run_pass(self) -> tuple[int, int]:
        """Fire what is due and deliver what is pending; return (rules fired, entries delivered)."""
        desk = self._desk
        fired = desk.run_due(batch=self._batch, lease=self._lease)
        delivered = desk.dispatch(limit=self._batch, lease=self._lease)
        return fired, delivered

    def pause(self, started: datetime) -> float:
        """Seconds to wait: until the next due time or the poll interval, whichever is sooner.

        A ticket still due from before the pass started is claimed by another worker
        (or its rules loop): waiting for it would spin, so the worker polls.
        """
        next_at = self._desk.store.next_due_at()
        if next_at is None or next_at <= started:
            return self._poll
        until = (next_at - self._desk.clock.now()).total_seconds()
        return max(0.0, min(self._poll, until))

    def run(self, *, once: bool) -> int:
        """Loop until stopped (or one pass with ``once``); return the exit status."""
        stop = self._stop
        while True:
            started = self._desk.clock.now()
            try:
                fired, delivered = self.run_pass()
                wait = 0.0 if once or stop.is_set() else self.pause(started)
            except StoreUnavailable as exc:
                if once:
                    _LOG.error("store unavailable: %s", exc)
                    return EXIT_STORE_FAILED
                _LOG.warning("store unavailable: %s; retrying in %gs", exc, self._poll)
                stop.wait(self._poll)
                if stop.is_set():
                    return EXIT_OK
                continue
            except StoreError as exc:
                _LOG.error("store failed: %s; stopping", exc)
                return EXIT_STORE_FAILED
            level = logging.INFO if fired or delivered else logging.DEBUG
            _LOG.log(
                level, "pass done: %d rules fired, %d outbox entries delivered", fired, delivered
            )
            if once or stop.is_set():
                return EXIT_OK
            _LOG.debug("waiting up to %.3fs", wait)
            stop.wait(wait)
            if stop.is_set():
                return EXIT_OK


def _run_worker(args: argparse.Namespace) -> int:
    """The ``worker`` command: set up, then loop; return the exit status."""
    with _worker_logging(args.log_level):
        try:
            config = _load_config(args.config, args.guards)
            subscribers = [_import_subscriber(spec) for spec in args.subscriber]
            store = _open_store_option(args.store)
        except _SetupError as exc:
            print(f"ticketflow worker: error: {exc}", file=sys.stderr)
            return EXIT_BAD_SETUP
        stop = threading.Event()
        received: list[int] = []
        try:
            try:
                desk = Helpdesk(
                    config=config, store=_StoppableStore(store, stop), clock=SystemClock()
                )
            except TicketflowError as exc:
                print(f"ticketflow worker: error: --config {args.config!r}: {exc}", file=sys.stderr)
                return EXIT_BAD_SETUP
            for callback in subscribers or [_log_delivery]:
                desk.subscribe(callback)
            worker = _Worker(
                desk,
                batch=args.batch,
                poll=args.poll,
                lease=timedelta(seconds=args.lease),
                stop=stop,
            )
            _LOG.info(
                "worker started on %s: workflow %s, %d rules, %d SLA policies, batch %d, "
                "poll %gs, lease %gs, subscribers: %s",
                args.store,
                config.workflow.name,
                len(config.rules),
                len(config.sla.policies),
                args.batch,
                args.poll,
                args.lease,
                ", ".join(args.subscriber) or "(log each delivery)",
            )
            with _stop_on_signals(stop, received):
                try:
                    status = worker.run(once=args.once)
                except KeyboardInterrupt:
                    _LOG.warning("aborted by a second signal, mid-batch")
                    return EXIT_ABORTED
            if received:
                _LOG.info("stopped on %s", signal.Signals(received[0]).name)
            _LOG.info("worker stopped")
            return status
        finally:
            store.close()


def _worker_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    worker = commands.add_parser(
        "worker",
        help="fire due time rules and deliver the outbox, until stopped",
        description=(
            "Fire the time rules that are due and deliver outbox entries to subscribers, "
            "then wait until the next due time or the poll interval. SIGTERM or SIGINT "
            "stops it after the current batch (exit status 0); a second signal aborts."
        ),
    )
    worker.add_argument(
        "--store",
        default=WORKER_STORE,
        help=f"store URL (default: {WORKER_STORE}, the embedded SQLite file)",
    )
    _config_options(
        worker, "liveagent", "the rules, SLA policies and outbox kinds run (default: liveagent)"
    )
    worker.add_argument("--once", action="store_true", help="do one pass, then exit")
    worker.add_argument(
        "--batch",
        type=_positive(int),
        default=100,
        help="tickets or outbox entries claimed at a time (default: 100)",
    )
    worker.add_argument(
        "--poll",
        type=_positive(float),
        default=5.0,
        help="longest wait between passes, in seconds (default: 5)",
    )
    worker.add_argument(
        "--lease",
        type=_positive(float),
        default=60.0,
        help="seconds a claim lasts if the worker dies holding it (default: 60)",
    )
    worker.add_argument(
        "--subscriber",
        action="append",
        default=[],
        metavar="MODULE:FUNCTION",
        help="call FUNCTION(ticket, event) for each delivered event; repeatable "
        "(default: log each delivery)",
    )
    worker.add_argument(
        "--log-level",
        default="INFO",
        type=str.upper,
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="default: INFO",
    )


def _load_workflow(name: str) -> Workflow:
    if name in PRESETS:
        return HelpdeskConfig.preset(name).workflow
    path = Path(name)
    try:
        return HelpdeskConfig.load(path).workflow
    except WorkflowError as exc:
        if "unknown guard" not in str(exc):
            raise
    # Custom guards live in the user's code; a diagram only needs their names.
    text = path.read_text(encoding="utf-8")
    data = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
    names = {t.get("guard") for t in data.get("transitions", [])} - {None}
    return HelpdeskConfig.from_dict(data, guards=dict.fromkeys(names, _any_ticket)).workflow


def _any_ticket(_ticket: Ticket) -> bool:
    return True


# --- the report ----------------------------------------------------------------------


def _duration(seconds: RowValue) -> str:
    """Format seconds compactly: ``45s``, ``12m``, ``3h 05m``, ``2d 04h``; ``-`` for none."""
    if not isinstance(seconds, int | float):
        return "-"
    total = round(seconds)
    if total < 60:
        return f"{total}s"
    minutes, _ = divmod(total, 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        return f"{days}d {hours:02d}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes}m"


def _achievement(row: dict[str, RowValue], metric: Metric) -> str:
    """Format a metric's SLA achievement: ``75% (3/4)`` (met / met + breached); ``-`` for none."""
    met, breached = row[f"sla_{metric}_met"], row[f"sla_{metric}_breached"]
    if not isinstance(met, int) or not isinstance(breached, int) or met + breached == 0:
        return "-"
    return f"{met / (met + breached):.0%} ({met}/{met + breached})"


def _report_table(rows: Sequence[dict[str, RowValue]], keys: Sequence[str]) -> list[str]:
    """Return the summary table of aggregated ``rows`` (grouped by ``keys``) as lines.

    With SLA columns in the rows, one achievement column per metric follows.
    """
    sla_metrics = [m for m in Metric if rows and f"sla_{m}_achievement" in rows[0]]
    header = [
        *(keys or ["group"]),
        "tickets",
        "1st resp med",
        "1st resp p90",
        "resolved med",
        "resolved p90",
        "replies a/c",
        "reopens",
        "csat",
        *(f"{m.value.replace('_', ' ')} SLA" for m in sla_metrics),
    ]
    table = [header]
    for row in rows:
        group = [str(row[k]) if row[k] is not None else "(none)" for k in keys] or ["all"]
        csat = row["satisfaction_mean"]
        table.append(
            [
                *group,
                str(row["tickets"]),
                _duration(row["first_response_median_seconds"]),
                _duration(row["first_response_p90_seconds"]),
                _duration(row["resolution_final_median_seconds"]),
                _duration(row["resolution_final_p90_seconds"]),
                f"{row['agent_replies']}/{row['customer_replies']}",
                str(row["reopens"]),
                f"{csat:.1f} ({row['satisfaction_count']})" if isinstance(csat, float) else "-",
                *(_achievement(row, m) for m in sla_metrics),
            ]
        )
    widths = [max(len(line[i]) for line in table) for i in range(len(header))]
    texts = len(keys or ["group"])  # the group columns align left, the figures right
    return [
        "  ".join(
            cell.ljust(w) if i < texts else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(line, widths, strict=True))
        ).rstrip()
        for line in table
    ]


def _parse_now(text: str) -> datetime:
    try:
        now = datetime.fromisoformat(text)
    except ValueError:
        raise _SetupError(f"--now {text!r}: not an ISO time (2026-03-09T12:00+00:00)") from None
    if now.tzinfo is None:
        raise _SetupError(f"--now {text!r}: give a time zone, e.g. {text}+00:00")
    return now.astimezone(UTC)


def _load_sla(name: str) -> SlaPolicies:
    """Read ``--sla``: a configuration file's ``[[sla]]`` policies (and ``[calendars]``).

    The file may be a whole configuration or hold only those. The spelling of
    ticketflow 0.1, a ``[[policies]]`` array (or a JSON list), is still read, with a
    deprecation message on stderr.
    """
    path = Path(name)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise _SetupError(f"--sla {name!r}: cannot read it ({exc.strerror or exc})") from exc
    try:
        data: Any = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
    except ValueError as exc:  # TOMLDecodeError and JSONDecodeError are ValueErrors
        kind = "TOML" if path.suffix == ".toml" else "JSON"
        raise _SetupError(f"--sla {name!r}: not valid {kind}: {exc}") from exc
    if isinstance(data, list) or (isinstance(data, dict) and "policies" in data):
        print(
            f"ticketflow report: warning: --sla {name!r}: [[policies]] (or a JSON list) is "
            "deprecated; write the policies as [[sla]] tables, as in a configuration file",
            file=sys.stderr,
        )
        data = {
            "sla": data if isinstance(data, list) else data.pop("policies"),
            **(data if isinstance(data, dict) else {}),
        }
    if not isinstance(data, dict) or not data.get("sla"):
        raise _SetupError(
            f"--sla {name!r}: expected [[sla]] tables (SLA policies), as in a configuration file"
        )
    try:
        return sla_from_dict(data)
    except TicketflowError as exc:
        raise _SetupError(f"--sla {name!r}: {exc}") from exc


def _run_report(args: argparse.Namespace) -> int:
    """The ``report`` command: metrics of every ticket in the store, as a table (and CSV)."""
    try:
        config = _load_config(args.config, args.guards)
        workflow = config.workflow
        now = SystemClock().now() if args.now is None else _parse_now(args.now)
        if args.sla is not None:
            sla: SlaPolicies | None = _load_sla(args.sla)
        else:  # the configuration's own [[sla]] policies, if it has some
            sla = config.sla if config.sla.policies else None
        store = _open_store_option(args.store)
    except _SetupError as exc:
        print(f"ticketflow report: error: {exc}", file=sys.stderr)
        return EXIT_BAD_SETUP
    try:
        tickets = store.find(TicketQuery())
        figures = [
            ticket_metrics(t, workflow, now=max(now, t.updated_at), sla=sla) for t in tickets
        ]
    except TicketflowError as exc:
        print(f"ticketflow report: error: {exc}", file=sys.stderr)
        return EXIT_STORE_FAILED
    finally:
        store.close()
    keys = [args.by] if args.by else []
    rows = aggregate(figures, by=keys, period=args.period)
    if args.period:
        keys.append("period")
    at = f"{now:%Y-%m-%d %H:%M} UTC"
    print(f"{len(figures)} tickets in {args.store} (workflow {workflow.name}), at {at}")
    print("\n".join(_report_table(rows, keys)))
    if args.csv:
        try:
            write_csv(rows, args.csv)
        except OSError as exc:
            print(f"ticketflow report: error: --csv {args.csv!r}: {exc}", file=sys.stderr)
            return EXIT_STORE_FAILED
        print(f"wrote {len(rows)} rows to {args.csv}")
    return EXIT_OK


def _report_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    report = commands.add_parser(
        "report",
        help="print a summary table of ticket metrics",
        description=(
            "Compute every ticket's metrics from its timeline (first response, resolution, "
            "replies, reopens, satisfaction) and print them aggregated; see docs/howto/reports.md."
        ),
    )
    report.add_argument(
        "--store", default=WORKER_STORE, help=f"store URL (default: {WORKER_STORE})"
    )
    _config_options(
        report,
        "liveagent",
        "its workflow gives the statuses' categories, its [[sla]] the SLA columns "
        "(default: liveagent)",
    )
    report.add_argument(
        "--by",
        choices=("assignee", "department", "priority", "channel"),
        help="group by this ticket value",
    )
    report.add_argument(
        "--period", choices=("month", "week", "day"), help="group by period of creation"
    )
    report.add_argument("--csv", metavar="FILE", help="also write the full rows to FILE as CSV")
    report.add_argument(
        "--now",
        metavar="TIME",
        help="ISO time the open tickets' current status is counted up to (default: now)",
    )
    report.add_argument(
        "--sla",
        metavar="FILE",
        help="a configuration file whose [[sla]] policies (and [calendars]) count instead of "
        "those of --config: add an achievement column per metric with a target "
        "(default: the [[sla]] policies of --config, if any)",
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m ticketflow", description=(__doc__ or "").split("\n\n", 1)[0]
    )
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="simulate a morning at a help desk")
    demo.add_argument(
        "--store",
        default=None,
        help=f"store URL (default: {DEMO_STORE}, removed first so each run starts afresh; "
        "a store you name must be empty and is never deleted)",
    )
    _config_options(
        demo,
        None,
        "the workflow, rules and SLA the morning runs on (default: LiveAgent, "
        "its rules and two more, and an office-hours SLA policy)",
    )
    diagram = commands.add_parser("diagram", help="print a workflow's Mermaid diagram")
    diagram.add_argument(
        "workflow",
        nargs="?",
        default="liveagent",
        help=f"{', '.join(PRESETS)} or a .toml/.json file",
    )
    _worker_parser(commands)
    _report_parser(commands)
    args = parser.parse_args(argv)
    if args.command == "worker":
        return _run_worker(args)
    if args.command == "report":
        return _run_report(args)
    try:
        if args.command == "demo":
            config = None if args.config is None else _load_config(args.config, args.guards)
            print("\n".join(run_demo(store=args.store, config=config)))
        else:
            print(_load_workflow(args.workflow).mermaid(), end="")
    except (TicketflowError, OSError, _SetupError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0
