"""Bulk import of past tickets, for `Helpdesk.import_tickets`.

Each record is checked against the workflow and built into a ticket in memory
(events stamped at their own instants, all at version 1: the import is the
ticket's first commit); then what happened after its last event is settled as
of the import's instant (past time rules and SLA stages are recorded as done,
so they never fire later), its due time and queue key are computed as after any
commit, and it is written with the others of its batch in one
`TicketStore.commit`. Records are read lazily and only one batch is held, so
memory stays flat however long the input is.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final, final

from .. import _validate
from .._apply import apply_event, apply_in_place
from .._model import (
    EMPTY,
    SYSTEM_ACTOR,
    Actor,
    CreatedData,
    Event,
    EventKind,
    Priority,
    Requester,
    Role,
    Ticket,
    check_json,
)
from .._model import trusted_event as _trusted_event
from .._sla_runner import SLA_ACTOR, Stage
from .._workflow import COMMAND_KINDS, Category, Workflow
from ..commands import BY_NAME
from ..exceptions import ConflictError, ImportRecordError, InvalidInputError, TicketNotFound
from ..importing._records import (
    IMPORT_KINDS,
    ImportEvent,
    ImportRecord,
    ImportReport,
    Refusal,
    records_of,
)
from ..rules._runner import NO_CHANGE
from ..stores import Change

if TYPE_CHECKING:
    from ._helpdesk import Helpdesk

__all__ = ["import_tickets"]

_UNKNOWN: Final = Requester(name="unknown")
"""The requester of an imported ticket whose creation names none."""
_NO_TAGS: Final[frozenset[str]] = frozenset()
_MAX_SETTLE: Final = 256  # past stages and rules recorded for one ticket: far above any policy
_ACTORS_LIMIT: Final = 4096
_PRIORITIES: Final[Mapping[str, Priority]] = {p.label: p for p in Priority}
_ROLES: Final[Mapping[str, Role]] = {r.value: r for r in Role}
_CUSTOMER_KINDS: Final = frozenset({"customer_replied", "confirmed"})
_MESSAGE_KINDS: Final[Mapping[str, str]] = {
    "agent_replied": "agent_reply",
    "customer_replied": "customer_reply",
    "note_added": "note",
}
_STATUS_KINDS: Final[Mapping[str, str]] = {
    "resolved": "resolve",
    "reopened": "reopen",
    "closed": "close",
    "confirmed": "confirm",
    "postponed": "postpone",
    "woken": "wake",
    "marked_spam": "spam",
    "deleted": "delete",
    "restored": "restore",
    "transitioned": "",
}
_FIELD_KINDS: Final = frozenset({"status", "assigned", "priority_changed"})
_ASSIGNED: Final = EventKind.ASSIGNED
_PRIORITY_CHANGED: Final = EventKind.PRIORITY_CHANGED
_TRANSITIONED: Final = EventKind.TRANSITIONED
_new_event: Final = object.__new__


class _Whole(Exception):  # internal signal: the whole event is refused, nothing emitted
    def __init__(self, reason: str, field: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.field = field


class _Part(_Whole):  # internal signal: the event's own change is refused, its fields stand
    ticket: Ticket | None = None  # the ticket with those fields applied


@final
class _Graph:
    """The workflow's moves, as an import asks about them (guards are not evaluated)."""

    __slots__ = ("by_trigger", "moves", "recorded", "statuses", "wf")

    def __init__(self, wf: Workflow) -> None:
        self.wf = wf
        self.statuses = frozenset(s.name for s in wf.statuses)
        self.moves: dict[tuple[str, str], str] = {}
        self.by_trigger: dict[tuple[str, str], str] = {}
        for transition in wf.transitions:
            for source in wf.expand_sources(transition):
                self.moves.setdefault((source, transition.dest), transition.trigger)
                self.by_trigger.setdefault((source, transition.trigger), transition.dest)
        # What a "status" event between two statuses is recorded as: the kind of the
        # command its trigger is mapped to (as `Helpdesk.fire` records it), else transitioned.
        self.recorded: dict[tuple[str, str], tuple[EventKind, Mapping[str, Any]]] = {}
        for move, trigger in self.moves.items():
            name = wf.command_for(trigger)
            if name is not None and BY_NAME[name].triggered:
                self.recorded[move] = (COMMAND_KINDS[name], EMPTY)
            else:
                self.recorded[move] = (_TRANSITIONED, {"trigger": trigger})

    def dest_of(self, status: str, command: str) -> str | None:
        """Where ``command``'s trigger leads from ``status``, if anywhere."""
        trigger = self.wf.events.get(command)
        return None if trigger is None else self.by_trigger.get((status, trigger))

    def check_move(self, status: str, target: str) -> None:
        """Refuse (``_Part``) a move the workflow does not have."""
        if target not in self.statuses:
            raise _Part(f"unknown status {target!r}", "status")
        if (status, target) not in self.moves:
            raise _Part(f"the workflow has no transition from {status!r} to {target!r}", "status")


@final
class _Importer:
    """Builds one ticket per record, and commits them in batches."""

    def __init__(
        self,
        desk: Helpdesk,
        *,
        strict: bool,
        mark_breaches: bool,
        id_prefix: str,
        requester: Requester,
        now: datetime,
    ) -> None:
        self.desk = desk
        self.wf = desk._workflow
        self.graph = _Graph(self.wf)
        self.locked = frozenset(s.name for s in self.wf.statuses if self.wf.is_locked(s.name))
        self.strict = strict
        self.mark = mark_breaches and desk._sla is not None
        self.prefix = id_prefix
        self.requester = requester
        self.now = now
        self.now_iso = now.isoformat()
        self.actors: dict[tuple[str, Role], Actor] = {}
        self.requesters: dict[object, Requester] = {}
        self.texts: set[str] = set()  # assignees and departments checked already
        self.refused: list[Refusal] = []
        # A ticket under construction is held by nobody else until its record is
        # built, so its events are folded into it in place. Not when breaches are
        # marked: the SLA's plan memo knows tickets by identity, and settling
        # between events asks it about the ticket being built.
        self.fold: Callable[[Ticket, Event], Ticket] = apply_event if self.mark else apply_in_place

    # --- one record -----------------------------------------------------------------

    def build(self, record: object) -> tuple[Change | None, list[Refusal], int]:
        """The change that creates the record's ticket, its refusals and its events read.

        No change when a non-strict import refused the record's creation.

        Raises:
            ImportRecordError: strict mode, and something is wrong.
        """
        if not isinstance(record, ImportRecord):
            raise InvalidInputError(
                f"records must hold ImportRecord values, got {type(record).__name__}",
                field="records",
            )
        ext = record.external_id
        if type(ext) is not str or not ext.strip() or _validate.text_problem(ext) is not None:
            reason = (
                f"external_id must be a non-empty storable string, got {_validate.describe(ext)}"
            )
            name = ext if isinstance(ext, str) else ""
            if self.strict:
                raise ImportRecordError(reason, external_id=name, index=None, field="external_id")
            return None, [Refusal(external_id=name, index=0, reason=reason)], 0
        events = record.events
        refusals: list[Refusal] = []
        try:
            if not events:
                raise _Whole("a record needs its events, the creation first", "events")  # noqa: TRY301 - refused like the creation's own problems
            ticket = self._created(ext, events[0])
        except _Whole as exc:
            wanted = getattr(events[0], "status", None) if events else None
            self._refuse(ext, 0, exc, "", wanted, refusals)
            return None, refusals, 0
        for index in range(1, len(events)):
            event = events[index]
            status = ticket.status
            try:
                ticket = self._event(ticket, event)
            except _Part as exc:
                self._refuse(ext, index, exc, status, event.status, refusals)
                if exc.ticket is not None:
                    ticket = exc.ticket
            except _Whole as exc:
                self._refuse(ext, index, exc, status, event.status, refusals)
        ticket = self._settle(ticket, self.now, final=True)
        due_at, queue = self.desk._schedule(ticket)
        change = Change(ticket, 0, due_at=due_at, queue=queue)
        return change, refusals, len(events)

    def _refuse(
        self,
        ext: str,
        index: int,
        exc: _Whole,
        status: str,
        wanted: object,
        refusals: list[Refusal],
    ) -> None:
        if self.strict:
            raise ImportRecordError(
                exc.reason, external_id=ext, index=index, field=f"events[{index}].{exc.field}"
            ) from None
        refusals.append(
            Refusal(
                external_id=ext,
                index=index,
                reason=exc.reason,
                status=status,
                wanted=wanted if isinstance(wanted, str) else None,
            )
        )

    def _actor(self, event: ImportEvent, default: Role, requester: Requester) -> Actor:
        by = event.actor
        role = default
        if event.role is not None:
            found = _ROLES.get(event.role) if isinstance(event.role, str) else None
            if found is None:
                raise _Whole(f"role must be agent, customer or system, got {event.role!r}", "role")
            role = found
        if by is None:
            return self._requester_actor(requester) if role is Role.CUSTOMER else SYSTEM_ACTOR
        key = (by, role)
        actor = self.actors.get(key)
        if actor is None:
            if type(by) is not str or not by.strip() or _validate.text_problem(by) is not None:
                raise _Whole(f"actor must be a non-empty string, got {by!r}", "actor")
            if len(self.actors) >= _ACTORS_LIMIT:
                self.actors.clear()
            actor = self.actors[key] = Actor(by, role)
        return actor

    def _at(self, event: ImportEvent, after: datetime | None) -> datetime:
        at = event.at
        if type(at) is not datetime or at.tzinfo is not UTC:
            try:
                at = _validate.aware_time(at, "at")
            except InvalidInputError as exc:
                raise _Whole(str(exc), "at") from None
        if at > self.now:
            raise _Whole(f"at {at.isoformat()} is after the import's instant {self.now_iso}", "at")
        if after is not None and at < after:
            raise _Whole(
                f"at {at.isoformat()} is earlier than the event before ({after.isoformat()})", "at"
            )
        return at

    def _created(self, ext: str, first: ImportEvent) -> Ticket:
        if not isinstance(first, ImportEvent):
            raise _Whole(f"events must be ImportEvent values, got {type(first).__name__}", "")
        if first.kind != "created":
            raise _Whole(f"the first event must be 'created', got {first.kind!r}", "kind")
        at = self._at(first, None)
        status = self.wf.initial if first.status is None else first.status
        if status not in self.graph.statuses:
            raise _Whole(f"unknown status {status!r}", "status")
        data = first.data
        if not isinstance(data, Mapping):
            raise _Whole(f"data must be a mapping, got {type(data).__name__}", "data")
        try:
            requester = self._requester(data.get("requester"))
            fields = data.get("custom_fields") or EMPTY
            if not _plain_text_map(fields):
                check_json(dict(fields), "custom_fields")
            tags = data.get("tags")
            tags = _validate.tags(tags, "tags") if tags else _NO_TAGS
            created = CreatedData(
                id=self.prefix + ext,
                subject=_validate.text(data.get("subject") or ext, "subject", allow_empty=False),
                description=_validate.text(first.message or "", "message"),
                requester=requester,
                priority=Priority.NORMAL if first.priority is None else _priority(first.priority),
                channel=_validate.text(data.get("channel", "import"), "channel", allow_empty=False),
                assignee=_validate.optional_text(first.assignee, "assignee"),
                department=_validate.optional_text(first.department, "department"),
                tags=tuple(sorted(tags)) if tags else (),
                custom_fields=fields,
            )
        except InvalidInputError as exc:
            raise _Whole(str(exc), f"data.{exc.field}") from None
        except (TypeError, ValueError, KeyError) as exc:  # a malformed requester mapping
            raise _Whole(f"data: {exc}", "data") from None
        actor = self._actor(
            first, Role.AGENT if first.actor is not None else Role.CUSTOMER, requester
        )
        return Ticket.rebuild(
            (_trusted_event(EventKind.CREATED, at, actor, status, status, created, 1),)
        )

    def _requester(self, data: object) -> Requester:
        """The requester a creation's data names; a mapping is built once per distinct one.

        Raises:
            InvalidInputError: not a mapping (nor a `Requester`), or a bad value.
        """
        if data is None:
            return self.requester
        if isinstance(data, Requester):
            return data
        if not isinstance(data, Mapping):
            raise InvalidInputError(
                f"requester must be a mapping, got {type(data).__name__}", field="requester"
            )
        try:
            key: object = frozenset(data.items())
        except TypeError:  # nested contacts: not hashable, built each time
            return Requester.from_dict(data)
        found = self.requesters.get(key)
        if found is None:
            found = Requester.from_dict(data)
            if len(self.requesters) >= _ACTORS_LIMIT:
                self.requesters.clear()
            self.requesters[key] = found
        return found

    def _text(self, value: object, field: str = "assignee") -> str:
        """``value`` checked as an assignee or department, and remembered as good."""
        text = _text(value, field)
        if len(self.texts) >= _ACTORS_LIMIT:
            self.texts.clear()
        self.texts.add(text)
        return text

    def _requester_actor(self, requester: Requester) -> Actor:
        return Actor(requester.email or requester.name, Role.CUSTOMER)

    def _event(self, ticket: Ticket, ev: ImportEvent) -> Ticket:  # noqa: C901, PLR0912, PLR0915 - one branch per kind, the common ones inline
        if type(ev) is not ImportEvent:
            raise _Whole(f"events must be ImportEvent values, got {type(ev).__name__}", "")
        kind = ev.kind
        if kind not in IMPORT_KINDS:
            raise _Whole(f"unknown kind {kind!r}", "kind")
        if kind == "created":
            raise _Whole("only the first event of a record may be 'created'", "kind")
        at = ev.at
        last = ticket.timeline[-1].at
        if type(at) is not datetime or at.tzinfo is not UTC or at > self.now or at < last:
            at = self._at(ev, last)  # converts, or raises saying why
        status = ticket.status
        customer = kind in _CUSTOMER_KINDS
        by = ev.actor
        if ev.role is not None:
            actor = self._actor(ev, Role.CUSTOMER if customer else Role.AGENT, ticket.requester)
        elif by is None:
            actor = self._requester_actor(ticket.requester) if customer else SYSTEM_ACTOR
        else:  # the common case: an actor known from an earlier event
            role = Role.CUSTOMER if customer else Role.AGENT
            actor = self.actors.get((by, role)) or self._actor(ev, role, ticket.requester)
        main = EMPTY if kind in _FIELD_KINDS else self._payload(ev, kind)
        if status in self.locked:
            raise _Whole(f"the ticket is locked in status {status!r}", "status")
        # Everything that refuses the whole event is checked before anything is
        # recorded (the ticket may be folded in place: nothing can be taken back).
        changed: dict[str, Any] | None = None
        assignee, department = ev.assignee, ev.department
        if assignee is not None or department is not None:
            changed = {}
            known = self.texts
            if assignee is not None and assignee != ticket.assignee:
                good = type(assignee) is str and assignee in known
                changed["assignee"] = assignee if good else self._text(assignee)
            if department is not None and department != ticket.department:
                good = type(department) is str and department in known
                changed["department"] = department if good else self._text(department, "department")
        priority = None
        if ev.priority is not None:
            priority = _PRIORITIES.get(ev.priority) if isinstance(ev.priority, str) else None
            if priority is None:
                raise _Whole(f"unknown priority {ev.priority!r}", "priority")
        fold = self.fold
        if self.mark:
            ticket = self._settle(ticket, at, final=False)
        # The fields the event carries come first, as a help desk records an
        # assignment before the move: a refused move leaves them standing.
        if changed:
            ticket = _emit(ticket, _ASSIGNED, at, actor, status, changed, fold)
        if priority is not None and priority is not ticket.priority:
            data = {"priority": priority.label}
            ticket = _emit(ticket, _PRIORITY_CHANGED, at, actor, status, data, fold)
        if kind == "status":  # the common case: a move the workflow has, or none
            target = ev.status
            if target is None or target == status:
                return ticket
            recorded = self.graph.recorded.get((status, target))
            if recorded is not None:
                step = _trusted_event(recorded[0], at, actor, status, target, recorded[1], 1)
                return fold(ticket, step)
        try:
            return self._main(ticket, ev, kind, main, at, actor)
        except _Part as exc:
            exc.ticket = ticket
            raise

    def _main(  # noqa: C901, PLR0911, PLR0912 - one branch per kind
        self, ticket: Ticket, ev: ImportEvent, kind: str, main: Any, at: datetime, actor: Actor
    ) -> Ticket:
        """Record the event's own change (after its field changes)."""
        status = ticket.status
        target = ev.status
        graph = self.graph
        if kind in _FIELD_KINDS:
            if target is None or target == status:
                return ticket
            if kind != "status":
                raise _Part(f"a {kind!r} event does not change the status", "status")
            recorded = graph.recorded.get((status, target))
            if recorded is None:
                graph.check_move(status, target)  # raises, saying why
            event_kind, data = recorded  # type: ignore[misc]
            return _emit(ticket, event_kind, at, actor, target, data, self.fold)
        if kind in _MESSAGE_KINDS:
            if target is None:
                target = status
                if (
                    kind != "customer_replied"
                    or self.wf.reopen_resolved
                    or (self.wf.category(status) is not Category.RESOLVED)
                ):
                    target = graph.dest_of(status, _MESSAGE_KINDS[kind]) or status
            elif target != status:
                graph.check_move(status, target)
            return _emit(ticket, kind, at, actor, target, main, self.fold)
        if kind in _STATUS_KINDS:
            command = _STATUS_KINDS[kind]
            if target is None:
                target = graph.dest_of(status, command) if command else None
                if target is None:
                    raise _Part(
                        f"no status given, and the workflow has no {command or kind!r} "
                        f"from {status!r}",
                        "status",
                    )
            elif target != status:
                graph.check_move(status, target)
            if kind == "transitioned":
                trigger = graph.moves.get((status, target))
                main = {"trigger": trigger} if trigger is not None else EMPTY
            return _emit(ticket, kind, at, actor, target, main, self.fold)
        # Tags and fields: they never move the status.
        if target is not None and target != status:
            raise _Part(f"a {kind!r} event does not change the status", "status")
        if kind == "field_set":
            fields = ticket.custom_fields
            if main["name"] in fields and fields[main["name"]] == main["value"]:
                return ticket
        else:
            have = ticket.tags
            tags = main["tags"]
            change = tags - have if kind == "tags_added" else tags & have
            if not change:
                return ticket
            main = {"tags": sorted(change)}
        return _emit(ticket, kind, at, actor, status, main, self.fold)

    def _payload(self, ev: ImportEvent, kind: str) -> Any:  # noqa: C901, PLR0911, PLR0912 - one branch per kind
        """The checked data of the event's own kind (refused whole when wrong)."""
        if kind in _FIELD_KINDS:
            return EMPTY
        data = ev.data
        if data is not EMPTY and not isinstance(data, Mapping):
            raise _Whole(f"data must be a mapping, got {type(data).__name__}", "data")
        if kind in _MESSAGE_KINDS:
            body = ev.message if ev.message is not None else data.get("body", "")
            return {"body": _text(body, "message")}
        if kind == "confirmed":
            rating = data.get("rating")
            if rating is None:
                return EMPTY
            if type(rating) is not int or not 1 <= rating <= 5:
                raise _Whole(
                    f"rating must be an integer from 1 to 5, got {rating!r}", "data.rating"
                )
            return {"rating": rating}
        if kind == "postponed":
            until = data.get("until")
            try:
                if isinstance(until, str):
                    until = datetime.fromisoformat(until)
                return {"until": _validate.aware_time(until, "until")}
            except (InvalidInputError, ValueError) as exc:
                raise _Whole(f"until: {exc}", "data.until") from None
        if kind in ("tags_added", "tags_removed"):
            try:
                return {"tags": _validate.tags(data.get("tags"), "tags")}
            except InvalidInputError as exc:
                raise _Whole(str(exc), "data.tags") from None
        if kind == "field_set":
            name = _text(data.get("name"), "data.name", allow_empty=False)
            value = data.get("value")
            try:
                check_json(value, "value")
            except InvalidInputError as exc:
                raise _Whole(str(exc), "data.value") from None
            return {"name": name, "value": value}
        return EMPTY

    # --- after the history: what came due before the import -------------------------

    def _settle(self, ticket: Ticket, until: datetime, *, final: bool) -> Ticket:
        """Record the SLA stages (and, when ``final``, time rules) due by ``until`` as done.

        With ``mark_breaches`` a breach is recorded as the ``sla_breached`` event
        the scheduler would have fired at its instant; every other stage, and
        every time rule, as a ``no_change`` marker (``transitioned``, status kept)
        that folds into the ticket's record of what fired, so it never fires later.
        """
        desk = self.desk
        sla = desk._sla
        if sla is not None:
            for _ in range(_MAX_SETTLE):
                pending, policy, _ = sla._pending(ticket)
                if not pending or policy is None or pending[0].at > until:
                    break
                stage = pending[0]
                tag: dict[str, Any] = {
                    "rule": "sla",
                    "sla": policy.name,
                    "metric": stage.metric.value,
                    "cycle": stage.cycle.isoformat(),
                    "due": stage.due.isoformat(),
                    "processed_at": self.now_iso,
                }
                at = max(stage.at, ticket.timeline[-1].at)
                if self.mark and stage.stage is Stage.BREACH:
                    ticket = _emit(
                        ticket, EventKind.SLA_BREACHED, at, SLA_ACTOR, ticket.status, tag
                    )
                    continue
                tag[NO_CHANGE] = True
                tag["stage"] = stage.stage.value
                if stage.stage is Stage.ESCALATION:
                    tag["level"] = stage.level
                ticket = _emit(ticket, _TRANSITIONED, at, SLA_ACTOR, ticket.status, tag)
        rules = desk._rules
        if final and rules.has_time_rules:
            for _ in range(_MAX_SETTLE):
                due = rules.next_due(ticket)
                if due is None or due.at > until:
                    break
                marker = {
                    "rule": due.rule,
                    "due": due.at.isoformat(),
                    "processed_at": self.now_iso,
                    NO_CHANGE: True,
                }
                at = max(due.at, ticket.timeline[-1].at)
                actor = Actor(due.rule, Role.SYSTEM)
                ticket = _emit(ticket, _TRANSITIONED, at, actor, ticket.status, marker)
        return ticket


def _emit(
    ticket: Ticket,
    kind: EventKind | str,
    at: datetime,
    actor: Actor,
    dest: str,
    data: Mapping[str, Any],
    fold: Callable[[Ticket, Event], Ticket] = apply_event,
) -> Ticket:
    return fold(ticket, _trusted_event(kind, at, actor, ticket.status, dest, data, 1))


def _plain_text_map(fields: Mapping[str, Any]) -> bool:
    """Whether ``fields`` maps ASCII text to ASCII text without NUL (storable JSON as is)."""
    if type(fields) is not dict:
        return False
    for key, value in fields.items():
        if type(key) is not str or type(value) is not str:
            return False
    joined = "".join(fields) + "".join(fields.values())
    return joined.isascii() and "\x00" not in joined


def _text(value: object, field: str, *, allow_empty: bool = True) -> str:
    try:
        return _validate.text(value, field, allow_empty=allow_empty)
    except InvalidInputError as exc:
        raise _Whole(str(exc), field) from None


def _priority(value: object) -> Priority:
    found = _PRIORITIES.get(value) if isinstance(value, str) else None
    if found is None:
        return Priority.parse(value)  # type: ignore[arg-type] # raises, naming the field
    return found


# --- the batches ---------------------------------------------------------------------


def _exists(desk: Helpdesk, ticket_id: str) -> bool:
    try:
        desk._store.get(ticket_id)
    except TicketNotFound:
        return False
    return True


def import_tickets(  # noqa: C901, PLR0915 - the batch loop, its bulk path and conflict fallback, kept together
    desk: Helpdesk,
    records: Iterable[ImportRecord],
    *,
    strict: bool,
    mark_breaches: bool,
    id_prefix: str,
    requester: Requester | None,
    batch: int,
    progress: Callable[[int, int], None] | None,
) -> ImportReport:
    """`Helpdesk.import_tickets` (documented there)."""
    started = time.perf_counter()
    _validate.batch_size(batch)
    _validate.text(id_prefix, "id_prefix")
    if requester is not None and not isinstance(requester, Requester):
        raise InvalidInputError(
            f"requester must be a Requester, got {type(requester).__name__}", field="requester"
        )
    importer = _Importer(
        desk,
        strict=strict,
        mark_breaches=mark_breaches,
        id_prefix=id_prefix,
        requester=requester or _UNKNOWN,
        now=desk._now(),
    )
    counts = [0, 0, 0, 0]  # tickets, events read, events written, skipped
    refused: list[Refusal] = []
    pending: list[tuple[Change | None, list[Refusal], int]] = []
    ids: set[str] = set()

    # A store with a bulk path (the built-in ones) writes the new tickets of a
    # batch and skips the existing ones in one call; any other store gets
    # `commit`, and a conflict is resolved by reading which tickets exist.
    insert_new: Callable[[list[Change]], list[str]] | None = getattr(
        desk._store, "insert_new", None
    )

    def flush() -> None:
        if insert_new is not None and pending:
            skipped = set(insert_new([item[0] for item in pending if item[0] is not None]))
            if skipped:
                kept = [
                    item for item in pending if item[0] is None or item[0].ticket.id not in skipped
                ]
                counts[3] += len(pending) - len(kept)
                pending[:] = kept
            ids.clear()
            if pending:
                report()
        while pending:
            try:
                desk._store.commit([item[0] for item in pending if item[0] is not None])
            except ConflictError:
                # Some tickets exist already (an earlier import, or a concurrent one):
                # skip them and write the rest.
                kept = [
                    item
                    for item in pending
                    if item[0] is None or not _exists(desk, item[0].ticket.id)
                ]
                if len(kept) == len(pending):
                    raise
                counts[3] += len(pending) - len(kept)
                pending[:] = kept
                continue
            report()

    def report() -> None:
        for change, refusals, read in pending:
            refused.extend(refusals)
            if change is not None:
                counts[0] += 1
                counts[1] += read
                counts[2] += len(change.ticket.timeline)
        pending.clear()
        ids.clear()
        if progress is not None:
            progress(counts[0], counts[1])

    try:
        for record in records_of(records):
            built = importer.build(record)
            change = built[0]
            if change is not None:
                if change.ticket.id in ids:  # the same external id twice in one batch
                    counts[3] += 1
                    continue
                ids.add(change.ticket.id)
            pending.append(built)
            if len(pending) >= batch:
                flush()
    except ImportRecordError:
        # The records before the refused one are committed: a corrected re-run
        # skips them (they exist) and goes on where this one stopped.
        flush()
        raise
    flush()
    return ImportReport(
        tickets=counts[0],
        events=counts[1],
        written=counts[2],
        refused=tuple(refused),
        skipped=counts[3],
        seconds=time.perf_counter() - started,
    )
