# ruff: noqa: S101
# This module is a test suite shipped as a library: pytest's bare asserts are its
# language (pytest rewrites them, as it does in every module of a plugin's
# distribution), and they read `assert expected == actual` (CONVENTIONS.md 7).
"""The state machine: random workloads on the store under test and a `MemoryStore`, side by side."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any, ClassVar, Final, TypeAlias

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from ..._clock import FakeClock
from ..._engine import Helpdesk
from ..._model import Event, Ticket
from ..._workflow import Workflow
from ...exceptions import StoreError, TicketflowError
from ...rules import Rule, from_dicts, inactivity
from ...sla import SlaPolicy
from ...stores import IndexUpdate, MemoryStore, QueueKey, TicketQuery
from ..strategies import apply_command, commands, open_ticket_kwargs, presets
from ._base import (
    _FAR,
    _MANY,
    LEASE,
    START,
    ContractBase,
    StoreFactory,
    StoreReopener,
    _sequential_ids,
)

__all__ = ["AgreementContract", "StoreAgreementMachine"]


class AgreementContract(ContractBase):
    """The state-machine test: random workloads agree with a `MemoryStore`."""

    agreement_step_count: ClassVar[int] = 30
    """Steps per example of `test_agrees_with_memory_store_on_random_workloads`."""

    def agreement_settings(self) -> settings:
        """Return the Hypothesis settings of the state-machine test.

        By default: the active profile (``settings.load_profile``), with a twentieth
        of its examples (at least 10), `agreement_step_count` steps each and no
        deadline. Each example opens a store, so a backend that opens slowly may
        want fewer; override this method to change them.
        """
        profile = settings()
        return settings(
            profile,
            max_examples=max(10, profile.max_examples // 20),
            stateful_step_count=self.agreement_step_count,
            deadline=None,
        )

    # --- random workloads, side by side with MemoryStore ----------------------------

    def test_agrees_with_memory_store_on_random_workloads(
        self, make_store: StoreFactory, reopen_store: StoreReopener | None
    ) -> None:
        """Random workloads leave this store and a `MemoryStore` agreeing after every step.

        Commands, merges, purges, time passing, rules firing, claims, outbox delivery and
        reopening durable stores; the stores must hold the same tickets and timelines and
        agree on due tickets and the outbox (see `StoreAgreementMachine`).
        """
        run_state_machine_as_test(
            StoreAgreementMachine.bind(make_store, reopen_store),
            settings=self.agreement_settings(),
        )


# --- the state machine ---------------------------------------------------------------

_DELAYS: Final = st.sampled_from(
    (timedelta(minutes=1), timedelta(minutes=20), timedelta(hours=1), timedelta(hours=3))
) | st.timedeltas(timedelta(0), timedelta(days=2))
_LIMITS: Final = st.integers(1, 5)
_LEASES: Final = st.sampled_from((timedelta(0), timedelta(minutes=1), timedelta(hours=2)))
_Outcome: TypeAlias = tuple[str, Any]
# Few distinct values, so that keys tie on every field and the tie-breaks count.
_QUEUE_KEYS: Final = st.none() | st.builds(
    QueueKey,
    sla_due=st.sampled_from((None, START, START + timedelta(hours=1))),
    waiting_since=st.sampled_from((START - timedelta(hours=1), START)),
    priority=st.integers(1, 4),
)


def _rules_of(workflow: Workflow) -> list[Rule]:
    """The workflow's default rules plus inactivity reminders, which notify (the outbox).

    One reminder per status a ticket can sit in, after 1, 2, 3... hours: most
    tickets have a due time, and the steps of a few hours make them fall due.
    """
    open_statuses = [s.name for s in workflow.statuses if not workflow.is_locked(s.name)]
    return [
        *from_dicts(workflow.rules),
        *(
            inactivity(status=name, after=timedelta(hours=n), then="remind")
            for n, name in enumerate(open_statuses, start=1)
        ),
    ]


_MACHINE_SLA: Final = (
    SlaPolicy(
        "contract",
        targets={
            priority: {"first_reply": "2h", "next_reply": "4h", "resolution": "1d"}
            for priority in ("low", "normal", "high", "urgent")
        },
        warn_before="30m",
        escalations=[{"level": 1, "notify": "lead"}],
    ),
)


class StoreAgreementMachine(RuleBasedStateMachine):
    """Drive a store under test and a `MemoryStore` with the same random workload.

    Each example draws a preset workflow (random settings) and runs two help
    desks, one per store, on one `FakeClock`, with the workflow's default rules
    plus inactivity reminders, an SLA policy with warnings and an escalation (so
    the queue keys carry SLA due times and sweeps commit SLA events), the default
    outbox kinds, and the same deterministic ids. Steps: open a ticket, run a random command on one
    (`ticketflow.testing.commands`, merges and purges included, invalid
    arguments too), advance the clock, ``run_due``, ``claim_due``, claim and
    acknowledge outbox entries, ``dispatch`` to a subscriber, ``reindex`` with
    random queue keys (stale versions and missing tickets included),
    ``reschedule``, and (when a reopener is given) close and reopen the store under
    test. Each step must have the same outcome on both desks (the same ticket, or
    the same error), and after every step both stores must hold the same tickets
    and timelines and agree on ``find``, ``due``, ``next_due_at``, ``count``,
    ``outbox_pending`` and ``queue`` (unfiltered, and by an assignee, a
    department and both).

    `StoreContract` runs it; to run it on its own, with settings of your own, bind
    it to your store (`bind`) and use the bound class's ``TestCase``::

        from hypothesis import settings

        TestMyStoreAgreement = StoreAgreementMachine.bind(MyStore).TestCase
        TestMyStoreAgreement.settings = settings(max_examples=500)

    Args:
        make_store: Makes a fresh, empty store of the backend under test (one per example).
        reopen_store: Reopens a closed store on its data, or None if it is not durable.
    """

    def __init__(self, make_store: StoreFactory, reopen_store: StoreReopener | None) -> None:
        super().__init__()
        self._make_store = make_store
        self._reopen_store = reopen_store
        self.clock = FakeClock(START)
        self.store = make_store()
        self.model = MemoryStore()
        self.store_ids = _sequential_ids()
        self.model_ids = _sequential_ids()
        self.ids: list[str] = []
        self.checked: dict[str, int] = {}  # ticket id -> version last compared by get
        self.workflow: Workflow | None = None
        self.desk_rules: list[Rule] = []

    @classmethod
    def bind(
        cls, make_store: StoreFactory, reopen_store: StoreReopener | None = None
    ) -> type[StoreAgreementMachine]:
        """Return a subclass whose constructor takes no arguments, bound to these stores.

        That is what ``run_state_machine_as_test`` and a ``TestCase`` need.

        Args:
            make_store: Makes a fresh, empty store of the backend under test.
            reopen_store: Reopens a closed store on its data, or None if it is not durable.
        """

        def construct(self: StoreAgreementMachine) -> None:
            cls.__init__(self, make_store, reopen_store)

        # type() rather than a class statement: ``cls`` may be a subclass with more rules.
        return type(f"Bound{cls.__name__}", (cls,), {"__init__": construct})

    # --- plumbing ----------------------------------------------------------------

    def _desks(self) -> tuple[Helpdesk, Helpdesk]:
        """(desk on the store under test, desk on the model) with the same settings."""
        return (
            Helpdesk(
                self.workflow,
                store=self.store,
                clock=self.clock,
                id_factory=self.store_ids,
                rules=self.desk_rules,
                sla=_MACHINE_SLA,
            ),
            Helpdesk(
                self.workflow,
                store=self.model,
                clock=self.clock,
                id_factory=self.model_ids,
                rules=self.desk_rules,
                sla=_MACHINE_SLA,
            ),
        )

    @staticmethod
    def _outcome(action: Callable[[], object]) -> _Outcome:
        try:
            return ("returned", action())
        except StoreError as exc:
            # A store error is the backend's alone: the model never raises one.
            return ("store error", f"{type(exc).__name__}: {exc}")
        except TicketflowError as exc:
            return ("refused", f"{type(exc).__name__}: {exc}")

    def _same(self, action: Callable[[Helpdesk], object]) -> object:
        """Run ``action`` on both desks; assert the same outcome; return the model's result."""
        desk, model_desk = self._desks()
        expected = self._outcome(lambda: action(model_desk))
        actual = self._outcome(lambda: action(desk))
        assert expected == actual
        self.ids = [t.id for t in self.model.find(TicketQuery())]
        return expected[1]

    # --- steps -------------------------------------------------------------------

    @initialize(workflow=presets())
    def use_workflow(self, workflow: Workflow) -> None:
        """Draw the workflow both help desks run."""
        self.workflow = workflow
        self.desk_rules = _rules_of(workflow)

    @rule(kwargs=open_ticket_kwargs())
    def open_ticket(self, kwargs: Any) -> None:
        """Open a ticket on both desks."""
        self._same(lambda desk: desk.open_ticket(**kwargs))

    @precondition(lambda self: bool(self.ids))
    @rule(data=st.data())
    def command(self, data: st.DataObject) -> None:
        """Run one random command (merges and purges included) on a ticket on both desks."""
        ticket_id = data.draw(st.sampled_from(self.ids), label="ticket")
        others = tuple(i for i in self.ids if i != ticket_id)
        step = data.draw(commands(self.workflow, merge_into=others, invalid=True), label="step")
        self._same(lambda desk: apply_command(desk, ticket_id, step))

    @rule(delay=_DELAYS)
    def advance(self, delay: timedelta) -> None:
        """Let time pass."""
        self.clock.advance(delay)

    @rule(lease=_LEASES)
    def run_due(self, lease: timedelta) -> None:
        """Fire the time rules due now on both desks."""
        self._same(lambda desk: desk.run_due(lease=lease))

    @rule(limit=_LIMITS, lease=_LEASES)
    def claim_due(self, limit: int, lease: timedelta) -> None:
        """Claim due tickets directly (as a crashed worker would, leaving the claims)."""
        now = self.clock.now()
        self._same(lambda desk: desk.store.claim_due(now, limit, lease))

    @rule(limit=_LIMITS, lease=_LEASES, ack=st.booleans())
    def claim_outbox(self, limit: int, lease: timedelta, ack: bool) -> None:
        """Claim outbox entries directly, and acknowledge them or leave them claimed."""
        now = self.clock.now()
        entries = self._same(lambda desk: desk.store.claim_outbox(now, limit, lease))
        if ack and isinstance(entries, list) and entries:
            keys = [(e.ticket_id, e.position) for e in entries]
            self._same(lambda desk: desk.store.ack_outbox(keys))

    @rule()
    def dispatch(self) -> None:
        """Deliver the pending outbox entries to a subscriber on both desks."""

        def deliver(desk: Helpdesk) -> object:
            seen: list[tuple[str, Event]] = []
            stop = desk.subscribe(lambda ticket, event: seen.append((ticket.id, event)))
            try:
                return (desk.dispatch(lease=LEASE), seen)
            finally:
                stop()

        self._same(deliver)

    @precondition(lambda self: bool(self.ids))
    @rule(data=st.data())
    def reindex(self, data: st.DataObject) -> None:
        """Reindex a few tickets (or missing ones) at their version or a stale one.

        With random queue keys, and the due time the help desk computes (a due
        time no rule stands behind would only test the engine's sweep).
        """
        picked = data.draw(
            st.lists(st.sampled_from([*self.ids, "missing"]), max_size=4), label="tickets"
        )
        model_desk = self._desks()[1]
        updates = []
        for ticket_id in picked:
            version, due_at = 1, None
            if ticket_id in self.ids:
                version = self.model.get(ticket_id).version
                due = model_desk.next_due(ticket_id)
                due_at = None if due is None else due.at
            stale = data.draw(st.sampled_from((0, 0, 1)), label="stale")
            key = data.draw(_QUEUE_KEYS, label="queue")
            updates.append(IndexUpdate(ticket_id, version - stale, due_at, key))
        self._same(lambda desk: desk.store.reindex(updates))

    @rule()
    def reschedule(self) -> None:
        """Recompute every due time and queue key through the help desks (``reindex``)."""
        self._same(lambda desk: desk.reschedule())

    @precondition(lambda self: self._reopen_store is not None)
    @rule(now=st.integers(0, 2))
    def reopen(self, now: int) -> None:
        """Close the store under test and open it again on its data.

        Only one time in three: opening costs more than any other step.
        """
        assert self._reopen_store is not None
        if now:
            return
        self.store.close()
        self.store = self._reopen_store(self.store)
        self.checked.clear()

    # --- after every step --------------------------------------------------------

    @invariant()
    def stores_agree(self) -> None:
        """Both stores hold the same tickets and answer every read the same.

        ``find`` compares every ticket, timelines included; ``get`` and ``events``
        are compared for each ticket the step changed (all of them after a reopen).
        """
        now = self.clock.now()
        store, model = self.store, self.model
        tickets = model.find(TicketQuery())
        assert tickets == store.find(TicketQuery())
        for ticket in tickets:
            if self.checked.get(ticket.id) != ticket.version:
                assert ticket == store.get(ticket.id)
                assert ticket.timeline == store.events(ticket.id)
                self.checked[ticket.id] = ticket.version
        assert model.due(now, _MANY) == store.due(now, _MANY)
        assert [t.id for t in model.due(_FAR, _MANY)] == [t.id for t in store.due(_FAR, _MANY)]
        assert model.next_due_at() == store.next_due_at()
        assert model.count() == store.count()
        assert model.outbox_pending() == store.outbox_pending()
        query = TicketQuery(statuses=frozenset({self.workflow.initial}) if self.workflow else None)
        assert model.find(query) == store.find(query)
        email = next((t.requester.email for t in tickets if t.requester.email), None)
        if email is not None and email.strip():
            # The requester index, asked in another case than the address was given in.
            query = TicketQuery(requester=email.upper())
            assert model.find(query) == store.find(query)
        self._queues_agree(tickets)

    def _queues_agree(self, tickets: Sequence[Ticket]) -> None:
        """The work queues agree: whole, by an assignee, a department and both, and cut short."""
        store, model = self.store, self.model
        queued = model.queue(assignee=None, department=None, limit=_MANY)
        assert queued == store.queue(assignee=None, department=None, limit=_MANY)
        assert queued[:2] == store.queue(assignee=None, department=None, limit=2)
        assignee = next((t.assignee for t in queued if t.assignee is not None), None)
        department = next((t.department for t in tickets if t.department is not None), None)
        for who, dept in ((assignee, None), (None, department), (assignee, department)):
            if who is not None or dept is not None:
                expected = model.queue(assignee=who, department=dept, limit=_MANY)
                assert expected == store.queue(assignee=who, department=dept, limit=_MANY)

    def teardown(self) -> None:
        """Close both stores."""
        self.store.close()
        self.model.close()
