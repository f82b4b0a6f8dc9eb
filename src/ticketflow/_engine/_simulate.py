"""Simulation: replay the stored history against other rules (`Helpdesk.simulate`)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final, final

import attrs

from .. import _validate
from .._clock import FakeClock, require_aware
from .._ids import UlidFactory
from .._model import SYSTEM_ACTOR, CreatedData, Event, EventKind, Role, Ticket
from .._workflow import Workflow
from ..commands import BY_KIND, BY_NAME, Command, Open
from ..config import HelpdeskConfig
from ..exceptions import TicketflowError
from ..rules import Rule, RuleSet
from ..rules._runner import is_no_change
from ..sla import SlaPolicies
from ..stores import MemoryStore, TicketQuery

if TYPE_CHECKING:
    from ._helpdesk import Helpdesk

__all__ = ["SimulatedAction", "Simulation", "simulate"]


def simulate(desk: Helpdesk, rules: Iterable[Rule], since: datetime, until: datetime) -> Simulation:
    """`Helpdesk.simulate` (documented there)."""
    _validate.aware_time(since, "since")
    _validate.aware_time(until, "until")
    since = require_aware(since, "since")
    until = require_aware(until, "until")
    rules = tuple(rules)
    RuleSet(desk.workflow, rules)  # fail early, naming the bad rule
    actions: list[SimulatedAction] = []
    refused: list[SimulatedAction] = []
    for ticket in desk.store.find(TicketQuery()):
        if ticket.created_at > until:
            continue
        replay = _Replay(type(desk), desk.workflow, rules, ticket, desk.sla)
        refused.extend(replay.run(until))
        actions.extend(a for a in replay.rule_actions() if since <= a.at <= until)
    actions.sort(key=lambda a: (a.at, a.ticket_id))
    return Simulation(actions=tuple(actions), refused=tuple(refused))


@final
@attrs.frozen(kw_only=True, slots=True)
class SimulatedAction:
    """One thing a simulated rule did (or one recorded command it made impossible).

    Attributes:
        ticket_id: The ticket (a follow-up gets an id of its own).
        rule: The rule's name ("" for a refused recorded command).
        kind: The event kind.
        at: When.
        status_before: The status before.
        status_after: The status after.
        error: For a refused command, why it was refused.
    """

    ticket_id: str
    rule: str
    kind: EventKind
    at: datetime
    status_before: str
    status_after: str
    error: str = ""


@final
@attrs.frozen(kw_only=True, slots=True)
class Simulation:
    """What `Helpdesk.simulate` found: the rules' actions and the commands they blocked."""

    actions: tuple[SimulatedAction, ...]
    refused: tuple[SimulatedAction, ...]


_REPLAY_STOP: Final = frozenset({EventKind.MERGED, EventKind.MERGE_RECEIVED, EventKind.PURGED})


class _Replay:
    """One ticket's recorded commands, replayed on a private help desk."""

    def __init__(
        self,
        desk_type: type[Helpdesk],
        workflow: Workflow,
        rules: tuple[Rule, ...],
        ticket: Ticket,
        sla: SlaPolicies | None,
    ) -> None:
        self.ticket = ticket
        self.clock = FakeClock(ticket.created_at)
        ids = UlidFactory()
        first = [ticket.id]

        def new_id(at: datetime) -> str:
            return first.pop() if first else ids(at)

        # The replay runs what was recorded: every role may run every command there.
        config = HelpdeskConfig(
            workflow=workflow,
            rules=rules,
            sla=() if sla is None else sla,
            permissions=dict.fromkeys(Role, BY_NAME),
        )
        self.desk = desk_type(
            store=MemoryStore(), clock=self.clock, id_factory=new_id, config=config
        )

    def run(self, until: datetime) -> list[SimulatedAction]:
        refused = []
        for event in self.ticket.timeline:
            if event.at > until or event.kind in _REPLAY_STOP:
                break
            if _by_rule(event):
                continue
            self.desk.run_until(event.at)
            try:
                self._command(event)
            except TicketflowError as exc:
                refused.append(
                    SimulatedAction(
                        ticket_id=self.ticket.id,
                        rule="",
                        kind=event.kind,
                        at=event.at,
                        status_before=event.status_before,
                        status_after=event.status_after,
                        error=str(exc),
                    )
                )
        self.desk.run_until(max(until, self.clock.now()))
        return refused

    def rule_actions(self) -> list[SimulatedAction]:
        return [
            SimulatedAction(
                ticket_id=t.id,
                rule=e.data["rule"],
                kind=e.kind,
                at=e.at,
                status_before=e.status_before,
                status_after=e.status_after,
            )
            for t in self.desk.store.find(TicketQuery())
            for e in t.timeline
            # The SLA's own events are not rules; a firing that changed nothing did nothing.
            if _by_rule(e) and e.data["rule"] != "sla" and not is_no_change(e)
        ]

    def _command(self, event: Event) -> None:
        """Run the recorded command again: the command class that records its kind."""
        cls = BY_KIND.get(event.kind)
        if cls is None:  # pragma: no cover - merge_received stops the replay first
            return
        if cls is Open:
            c = CreatedData.from_mapping(event.data)
            command: Command = Open(
                subject=c.subject,
                requester=c.requester,
                description=c.description,
                priority=c.priority,
                channel=c.channel,
                assignee=c.assignee,
                department=c.department,
                tags=frozenset(c.tags),
                custom_fields=c.custom_fields,
            )
        else:
            data = event.data
            kwargs: dict[str, Any] = {"ticket_id": self.ticket.id}
            for field in attrs.fields(cls):
                key = _DATA_KEYS.get(field.name, field.name)
                if key in data:
                    kwargs[field.name] = data[key]
                elif field.name == "body":  # an erased message (a body is never empty)
                    kwargs["body"] = "(erased)"
            command = cls(**kwargs)
        # The recorded actor, role included (``None``: the system, or the requester:
        # a customer's command is replayed as the requester's).
        actor = event.actor
        by = None if actor == SYSTEM_ACTOR or actor.role is Role.CUSTOMER else actor
        self.desk.execute(command, by=by)


_DATA_KEYS: Final = {"agent": "assignee", "field": "name", "into_id": "into"}
"""Where a command's field is found in the data of the event it records, when named otherwise."""


def _by_rule(event: Event) -> bool:
    return event.actor.role is Role.SYSTEM and "rule" in event.data
