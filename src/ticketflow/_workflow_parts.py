"""The parts a workflow is built from: statuses, transitions, categories, guards.

Below the graph (`ticketflow._workflow`), its serialisation (`_workflow_io`) and
its diagram (`_diagram`), which all build on these values; `_workflow` re-exports
them, so ``from ._workflow import Category`` keeps working.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from typing import Final, final

import attrs

from . import _validate
from ._model import EventKind, Ticket
from .exceptions import WorkflowError

__all__ = [
    "BUILTIN_GUARDS",
    "COMMANDS",
    "COMMAND_KINDS",
    "MESSAGE_COMMANDS",
    "Category",
    "ClosedPolicy",
    "Guard",
    "Status",
    "Transition",
    "check_name",
]

Guard = Callable[[Ticket], bool]
"""A guard: a predicate over the ticket; the transition is taken only when it returns True."""


class Category(enum.StrEnum):
    """What a status means to the engine, to SLAs and to reports."""

    NEW = "new"
    """Not yet handled by an agent."""
    OPEN = "open"
    """Waiting on an agent."""
    PENDING = "pending"
    """Waiting on the customer, a third party or a date (SLA clocks may pause)."""
    RESOLVED = "resolved"
    """Solved, still open for follow-up."""
    CLOSED = "closed"
    """Done and locked."""
    TRASH = "trash"
    """Spam, deleted or purged."""


class ClosedPolicy(enum.StrEnum):
    """What a customer reply to a closed, spam or deleted ticket does.

    The workflow's ``closed_policy`` applies to closed statuses, ``trash_policy``
    to trash statuses the graph takes no reply in, and ``reply_policy`` overrides
    either for one status. Every policy but ``REFUSE`` records the reply somewhere.
    """

    FOLLOW_UP = "follow_up"
    """Open a new ticket linked to this one (Zendesk). The default for closed statuses."""
    REOPEN = "reopen"
    """Take the reply on this ticket and move it back into work, within ``reopen_window``
    (later, a follow-up): a closed ticket by its ``customer_reply`` transition (Zammad),
    a trash ticket by ``restore`` and then the reply."""
    KEEP = "keep"
    """Keep the reply on this ticket, status unchanged, and flag the ticket with the
    workflow's ``review_tag``. The default for trash statuses."""
    REFUSE = "refuse"
    """Refuse the reply with `TicketLockedError`: an explicit opt-in, and the reply is
    lost unless the application handles the error (an email channel would drop the mail)."""


COMMANDS: Final[tuple[str, ...]] = (
    "agent_reply",
    "customer_reply",
    "note",
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
)
"""The domain events a workflow maps to triggers (the commands that can move a status)."""

MESSAGE_COMMANDS: Final = frozenset({"agent_reply", "customer_reply", "note"})
"""Commands that are recorded without a status change when the workflow maps no trigger."""

COMMAND_KINDS: Final[Mapping[str, EventKind]] = {
    "agent_reply": EventKind.AGENT_REPLIED,
    "customer_reply": EventKind.CUSTOMER_REPLIED,
    "note": EventKind.NOTE_ADDED,
    "resolve": EventKind.RESOLVED,
    "reopen": EventKind.REOPENED,
    "close": EventKind.CLOSED,
    "confirm": EventKind.CONFIRMED,
    "postpone": EventKind.POSTPONED,
    "wake": EventKind.WOKEN,
    "spam": EventKind.MARKED_SPAM,
    "delete": EventKind.DELETED,
    "restore": EventKind.RESTORED,
    "merge": EventKind.MERGED,
    "purge": EventKind.PURGED,
}


def _has_assignee(ticket: Ticket) -> bool:
    """The ticket is assigned to an agent."""
    return ticket.assignee is not None


def _has_department(ticket: Ticket) -> bool:
    """The ticket is assigned to a department."""
    return ticket.department is not None


def _was_new(ticket: Ticket) -> bool:
    """The ticket was in its initial status when it was last postponed."""
    initial = ticket.timeline[0].status_after
    for event in reversed(ticket.timeline):
        if event.kind is EventKind.POSTPONED and event.changes_status:
            return event.status_before == initial
    return False


BUILTIN_GUARDS: Final[Mapping[str, Guard]] = {
    "has_assignee": _has_assignee,
    "has_department": _has_department,
    "was_new": _was_new,
}
"""Guards every workflow can name: ``has_assignee``, ``has_department``, ``was_new``."""


def check_name(value: object, what: str) -> str:
    """Return ``value`` if it is a valid name; else raise `WorkflowError` naming ``what``."""
    if not isinstance(value, str) or not value:
        shown = _validate.describe(value)
        raise WorkflowError(f"{what} must be a non-empty string, got {shown}", item=shown)
    problem = _validate.text_problem(value)
    if problem is not None:
        raise WorkflowError(f"{what} {value!r} {problem}", item=what)
    return value


@final
@attrs.frozen(kw_only=True, slots=True)
class Status:
    """A status of the graph.

    Args:
        name: Its id (``"answered"``).
        category: What it means (`Category`).
        label: Display name; defaults to the name, capitalised.
        final: No transition leaves it (``purged``).
    """

    name: str
    category: Category
    label: str = ""
    final: bool = False

    @property
    def display(self) -> str:
        """The label, or the capitalised name when no label was given."""
        return self.label or self.name.replace("_", " ").capitalize()


@final
@attrs.frozen(kw_only=True, slots=True)
class Transition:
    """A transition: ``trigger`` moves a ticket from any of ``sources`` to ``dest``.

    Args:
        trigger: The trigger name (what domain events map to).
        sources: Source statuses; ``("*",)`` means every non-final status but ``dest``.
        dest: The destination status.
        guard: Name of a guard that must return True for the transition to be taken.
    """

    trigger: str
    sources: tuple[str, ...]
    dest: str
    guard: str | None = None
