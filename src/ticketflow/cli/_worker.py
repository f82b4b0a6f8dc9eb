"""``python -m ticketflow worker``: fire due time rules and deliver the outbox until stopped."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from types import FrameType
from typing import final

from .._clock import Clock, SystemClock
from .._engine import Helpdesk
from .._model import Event, Ticket
from ..attachments import AttachmentStore
from ..config import HelpdeskConfig
from ..exceptions import StoreError, StoreUnavailable, TicketflowError
from ..stores import (
    Change,
    IndexUpdate,
    OutboxEntry,
    SQLiteStore,
    TicketQuery,
    TicketStore,
    WakeupStore,
)
from ._setup import (
    EXIT_ABORTED,
    EXIT_BAD_SETUP,
    EXIT_OK,
    EXIT_STORE_FAILED,
    WORKER_STORE,
    SetupError,
    config_options,
    import_object,
    load_config,
    open_store_option,
)

__all__ = ["add_parser", "positive", "run", "serve", "worker_logging"]

_LOG = logging.getLogger("ticketflow.worker")


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


def _import_subscriber(spec: str) -> Callable[[Ticket, Event], None]:
    """Import ``--subscriber module:function``."""
    found = import_object("--subscriber", spec, "module:function, e.g. myapp.hooks:notify")
    if not callable(found):
        raise SetupError(
            f"--subscriber {spec!r}: it is a {type(found).__name__}, not a callable "
            "taking (ticket, event)"
        )
    return found


def positive(kind: Callable[[str], float]) -> Callable[[str], float]:
    """An argparse type: ``kind`` of the text, above 0, or a clear error."""

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
def _stop_on_signals(
    stop: threading.Event, received: list[int], wake: Callable[[], None]
) -> Iterator[None]:
    """Set ``stop`` and call ``wake`` on SIGTERM or SIGINT; a second signal aborts.

    ``wake`` ends a wait in progress (`WakeupStore.wakeup`, safe in a handler).
    The second signal raises KeyboardInterrupt.
    """
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
        wake()

    previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextmanager
def worker_logging(level: str) -> Iterator[None]:
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
    """The worker loop: fire due rules, deliver the outbox, wait, until stopped.

    It waits until the next due time or the poll interval, whichever is sooner:
    on a `WakeupStore` (PostgreSQL) in `WakeupStore.wait_for_wakeup`, which a
    commit bringing work nearer ends at once; otherwise (SQLite) in ``sleep``,
    by default ``stop.wait`` (a test passes one that advances a `FakeClock`).
    Each pass ends with ``index_search`` when given (`SQLiteStore.index_search`:
    the text commands left for the full-text index, so searches find none waiting).
    """

    def __init__(
        self,
        desk: Helpdesk,
        *,
        batch: int,
        poll: float,
        lease: timedelta,
        stop: threading.Event,
        wakeup: WakeupStore | None = None,
        sleep: Callable[[float], object] | None = None,
        index_search: Callable[[], object] | None = None,
    ) -> None:
        self._desk = desk
        self._index_search = index_search
        self._batch = batch
        self._poll = poll
        self._lease = lease
        self._stop = stop
        self._wakeup = wakeup
        self._sleep = stop.wait if sleep is None else sleep

    def request_stop(self) -> None:
        """Stop after the batch in hand; a wait in progress ends at once."""
        self._stop.set()
        self.wake()

    def wake(self) -> None:
        """End a wait in progress on a `WakeupStore` (safe in a signal handler)."""
        if self._wakeup is not None:
            self._wakeup.wakeup()

    def wait(self, seconds: float) -> None:
        """Wait ``seconds``, or less: until a wake-up from the store, or a stop."""
        if self._wakeup is None:
            self._sleep(seconds)
        elif self._wakeup.wait_for_wakeup(seconds):
            _LOG.debug("woken by the store")

    def run_pass(self) -> tuple[int, int]:
        """Fire what is due and deliver what is pending; return (rules fired, entries delivered)."""
        desk = self._desk
        fired = desk.run_due(batch=self._batch, lease=self._lease)
        delivered = desk.dispatch(limit=self._batch, lease=self._lease)
        if self._index_search is not None:
            self._index_search()
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
                self.wait(self._poll)
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
            self.wait(wait)
            if stop.is_set():
                return EXIT_OK


def serve(
    store: TicketStore,
    config: HelpdeskConfig,
    *,
    clock: Clock,
    subscribers: Sequence[Callable[[Ticket, Event], None]] = (),
    attachments: AttachmentStore | None = None,
    batch: int = 100,
    poll: float = 5.0,
    lease: timedelta = timedelta(seconds=60),
    once: bool = False,
    where: str = "the store",
    subscriber_names: Sequence[str] = (),
) -> int:
    """Run the worker loop on ``store`` until a signal stops it (or one pass); return the status.

    The loop of ``python -m ticketflow worker``, shared with the Django
    ``ticketflow_worker`` command: a desk of ``config`` on ``store`` (behind a
    view that hands out no new work once stopping), the ``subscribers`` (or a
    logging one), waits woken by the store when it is a `WakeupStore`, SIGTERM
    and SIGINT handled. The caller sets up logging and closes ``store``.
    """
    stop = threading.Event()
    received: list[int] = []
    try:
        desk = Helpdesk(
            config=config,
            store=_StoppableStore(store, stop),
            clock=clock,
            attachments=attachments,
        )
    except TicketflowError as exc:
        raise SetupError(str(exc)) from exc
    for callback in subscribers or [_log_delivery]:
        desk.subscribe(callback)
    wakeup = store if isinstance(store, WakeupStore) else None
    worker = _Worker(
        desk,
        batch=batch,
        poll=poll,
        lease=lease,
        stop=stop,
        wakeup=wakeup,
        index_search=store.index_search if isinstance(store, SQLiteStore) else None,
    )
    _LOG.info(
        "worker started on %s: workflow %s, %d rules, %d SLA policies, batch %d, "
        "poll %gs%s, lease %gs, subscribers: %s",
        where,
        config.workflow.name,
        len(config.rules),
        len(config.sla.policies),
        batch,
        poll,
        " (woken by the store's commits)" if wakeup is not None else "",
        lease.total_seconds(),
        ", ".join(subscriber_names) or "(log each delivery)",
    )
    with _stop_on_signals(stop, received, worker.wake):
        try:
            status = worker.run(once=once)
        except KeyboardInterrupt:
            _LOG.warning("aborted by a second signal, mid-batch")
            return EXIT_ABORTED
    if received:
        _LOG.info("stopped on %s", signal.Signals(received[0]).name)
    _LOG.info("worker stopped")
    return status


def run(args: argparse.Namespace) -> int:
    """The ``worker`` command: set up, then loop; return the exit status."""
    with worker_logging(args.log_level):
        try:
            config = load_config(args.config, args.guards)
            subscribers = [_import_subscriber(spec) for spec in args.subscriber]
            store = open_store_option(args.store)
        except SetupError as exc:
            print(f"ticketflow worker: error: {exc}", file=sys.stderr)
            return EXIT_BAD_SETUP
        try:
            return serve(
                store,
                config,
                clock=SystemClock(),
                subscribers=subscribers,
                batch=args.batch,
                poll=args.poll,
                lease=timedelta(seconds=args.lease),
                once=args.once,
                where=args.store,
                subscriber_names=args.subscriber,
            )
        except SetupError as exc:
            print(f"ticketflow worker: error: --config {args.config!r}: {exc}", file=sys.stderr)
            return EXIT_BAD_SETUP
        finally:
            store.close()


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``worker`` command to ``commands``."""
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
    config_options(
        worker, "liveagent", "the rules, SLA policies and outbox kinds run (default: liveagent)"
    )
    worker.add_argument("--once", action="store_true", help="do one pass, then exit")
    worker.add_argument(
        "--batch",
        type=positive(int),
        default=100,
        help="tickets or outbox entries claimed at a time (default: 100)",
    )
    worker.add_argument(
        "--poll",
        type=positive(float),
        default=5.0,
        help="longest wait between passes, in seconds (default: 5)",
    )
    worker.add_argument(
        "--lease",
        type=positive(float),
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
