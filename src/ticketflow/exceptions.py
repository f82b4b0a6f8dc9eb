"""Every error ticketflow raises, in one tree.

```
TicketflowError
├── WorkflowError(ValueError)      invalid status graph or workflow configuration
├── RuleError(ValueError)          invalid rule (reserved for the rule engine)
│   └── RuleLoopError              rules that keep re-triggering each other
├── TransitionError                the workflow does not allow this command here
├── TicketLockedError              a closed, merged or purged ticket refused a change
├── TicketNotFound(KeyError)       no ticket with that id
├── InvalidInputError(ValueError)  a command argument is wrong (naive datetime, bad field)
│   ├── ImportRecordError          an imported record is refused (its id, event, field)
│   └── ImportFormatError          a line or row of an import file cannot be read
└── StoreError                     a storage backend failed
    ├── ConflictError              someone else saved the ticket first
    └── StoreUnavailable           the backend cannot be reached
```

Every error carries the facts a caller needs as attributes (the ticket id, the
status, the command, what would have been allowed) and a message that names
them, so a help desk can show or log it without parsing text.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = [
    "ConflictError",
    "ImportFormatError",
    "ImportRecordError",
    "InvalidInputError",
    "RuleError",
    "RuleLoopError",
    "StoreError",
    "StoreUnavailable",
    "TicketLockedError",
    "TicketNotFound",
    "TicketflowError",
    "TransitionError",
    "WorkflowError",
]


class TicketflowError(Exception):
    """Base class of every error raised by ticketflow."""


class WorkflowError(TicketflowError, ValueError):
    """A workflow definition is invalid.

    Attributes:
        item: The offending status, transition, event or setting, as named in
            the definition (``None`` when the problem is the whole workflow).
    """

    def __init__(self, message: str, *, item: str | None = None) -> None:
        super().__init__(message)
        self.item = item


class RuleError(TicketflowError, ValueError):
    """A rule definition is invalid (raised by the rule engine)."""


class RuleLoopError(RuleError):
    """Rules kept triggering each other past the engine's limit."""


class InvalidInputError(TicketflowError, ValueError):
    """A command or model argument is invalid.

    Attributes:
        field: The name of the offending argument or field.
    """

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field


class ImportRecordError(InvalidInputError):
    """`Helpdesk.import_tickets` refused a record (in strict mode), or a value of one.

    Attributes:
        external_id: The record's external id (``""`` when that is what is wrong).
        index: The position of the offending event in the record (0: the creation),
            or ``None`` when the record itself is wrong.
        reason: What was wrong, without the record's name.
        field: The offending field, as ``events[3].at``.
    """

    def __init__(self, reason: str, *, external_id: str, index: int | None, field: str) -> None:
        where = f"record {external_id!r}" + ("" if index is None else f", event {index}")
        super().__init__(f"{where}: {reason}", field=field)
        self.external_id = external_id
        self.index = index
        self.reason = reason


class ImportFormatError(InvalidInputError):
    """A line of a JSON Lines file, or a row of a CSV event log, cannot be read.

    Attributes:
        line: The 1-based line (JSON Lines) or row (CSV, the header being row 1).
        field: ``"line <n>"``, or the CSV column at fault.
    """

    def __init__(self, message: str, *, line: int, field: str | None = None) -> None:
        super().__init__(f"line {line}: {message}", field=field or f"line {line}")
        self.line = line


class TransitionError(TicketflowError):
    """The workflow does not allow a command in the ticket's current status.

    Attributes:
        ticket_id: The ticket the command was for.
        status: The ticket's status when the command was refused.
        command: The command (domain event) that was refused.
        allowed: The commands the workflow allows in ``status``, sorted.
        guard: The guard that refused the transition, when a guard did.
    """

    def __init__(
        self,
        *,
        ticket_id: str,
        status: str,
        command: str,
        allowed: Iterable[str],
        guard: str | None = None,
    ) -> None:
        self.ticket_id = ticket_id
        self.status = status
        self.command = command
        self.allowed = tuple(sorted(allowed))
        self.guard = guard
        allowed_text = ", ".join(self.allowed) or "none"
        if guard is not None:
            message = (
                f"ticket {ticket_id}: {command!r} refused in status {status!r} by guard "
                f"{guard!r}; commands allowed in {status!r}: {allowed_text}"
            )
        else:
            message = (
                f"ticket {ticket_id}: {command!r} is not allowed in status {status!r}; "
                f"commands allowed there: {allowed_text}"
            )
        super().__init__(message)


class TicketLockedError(TicketflowError):
    """A locked ticket (closed, merged or purged) refused a change.

    Attributes:
        ticket_id: The locked ticket.
        status: Its status.
        command: The command that was refused.
    """

    def __init__(self, *, ticket_id: str, status: str, command: str, reason: str = "") -> None:
        self.ticket_id = ticket_id
        self.status = status
        self.command = command
        message = f"ticket {ticket_id} is locked in status {status!r}; {command!r} refused"
        if reason:
            message = f"{message}: {reason}"
        super().__init__(message)


class TicketNotFound(TicketflowError, KeyError):
    """No ticket has the given id.

    Attributes:
        ticket_id: The id that was looked up.
    """

    def __init__(self, ticket_id: str) -> None:
        super().__init__(ticket_id)
        self.ticket_id = ticket_id

    def __str__(self) -> str:  # noqa: D105 - KeyError would quote the bare id
        return f"no ticket with id {self.ticket_id!r}"


class StoreError(TicketflowError):
    """A storage backend failed; driver exceptions are chained as ``__cause__``."""


class ConflictError(StoreError):
    """A ticket was saved by someone else since it was read (optimistic concurrency).

    Attributes:
        ticket_id: The ticket.
        expected_version: The version the writer read.
        actual_version: The version the store holds (0 when the ticket does not exist).
    """

    def __init__(self, *, ticket_id: str, expected_version: int, actual_version: int) -> None:
        self.ticket_id = ticket_id
        self.expected_version = expected_version
        self.actual_version = actual_version
        super().__init__(
            f"ticket {ticket_id}: expected version {expected_version}, "
            f"store has version {actual_version}; reload the ticket and retry"
        )


class StoreUnavailable(StoreError):
    """The backend cannot be reached or opened."""
