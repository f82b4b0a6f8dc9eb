"""ticketflow: the life of a support ticket, as a library.

Quick start::

    from ticketflow import FakeClock, Helpdesk, Requester

    desk = Helpdesk(clock=FakeClock())
    ticket = desk.open_ticket(subject="Printer jammed", requester=Requester(name="Ann"))
    desk.agent_reply(ticket.id, "On my way", by="bob")
"""

from . import commands as commands
from . import rules as rules
from . import workflows as workflows
from ._calendar import BusinessCalendar as BusinessCalendar
from ._clock import Clock as Clock
from ._clock import FakeClock as FakeClock
from ._clock import SystemClock as SystemClock
from ._engine import AgentHandle as AgentHandle
from ._engine import AsyncAgentHandle as AsyncAgentHandle
from ._engine import AsyncCustomerHandle as AsyncCustomerHandle
from ._engine import AsyncHelpdesk as AsyncHelpdesk
from ._engine import CustomerHandle as CustomerHandle
from ._engine import ErasureResult as ErasureResult
from ._engine import Helpdesk as Helpdesk
from ._engine import PurgeResult as PurgeResult
from ._engine import SimulatedAction as SimulatedAction
from ._engine import Simulation as Simulation
from ._model import Actor as Actor
from ._model import CreatedData as CreatedData
from ._model import Event as Event
from ._model import EventKind as EventKind
from ._model import Message as Message
from ._model import Priority as Priority
from ._model import Requester as Requester
from ._model import Role as Role
from ._model import Ticket as Ticket
from ._retry import ConflictRetry as ConflictRetry
from ._retry import retry_on_conflict as retry_on_conflict
from ._summary import CustomerPage as CustomerPage
from ._summary import Page as Page
from ._summary import TicketSummary as TicketSummary
from ._views import CustomerView as CustomerView
from ._views import PublicAttachment as PublicAttachment
from ._views import PublicEvent as PublicEvent
from ._views import PublicMessage as PublicMessage
from ._views import customer_view as customer_view
from ._workflow import Category as Category
from ._workflow import ClosedPolicy as ClosedPolicy
from ._workflow import Status as Status
from ._workflow import Transition as Transition
from ._workflow import Workflow as Workflow
from .config import HelpdeskConfig as HelpdeskConfig
from .exceptions import ConflictError as ConflictError
from .exceptions import InvalidInputError as InvalidInputError
from .exceptions import PermissionDenied as PermissionDenied
from .exceptions import RequesterMismatchError as RequesterMismatchError
from .exceptions import RuleError as RuleError
from .exceptions import RuleLoopError as RuleLoopError
from .exceptions import StoreError as StoreError
from .exceptions import StoreUnavailable as StoreUnavailable
from .exceptions import TicketflowError as TicketflowError
from .exceptions import TicketLockedError as TicketLockedError
from .exceptions import TicketNotFound as TicketNotFound
from .exceptions import TransitionError as TransitionError
from .exceptions import WorkflowError as WorkflowError
from .stores import AsyncMemoryStore as AsyncMemoryStore
from .stores import AsyncPostgresStore as AsyncPostgresStore
from .stores import AsyncSQLiteStore as AsyncSQLiteStore
from .stores import AsyncTicketStore as AsyncTicketStore
from .stores import MemoryStore as MemoryStore
from .stores import PostgresStore as PostgresStore
from .stores import SQLiteStore as SQLiteStore
from .stores import TicketStore as TicketStore
from .stores import open_store as open_store

__version__ = "0.1.0"

__all__ = [
    "Actor",
    "AgentHandle",
    "AsyncAgentHandle",
    "AsyncCustomerHandle",
    "AsyncHelpdesk",
    "AsyncMemoryStore",
    "AsyncPostgresStore",
    "AsyncSQLiteStore",
    "AsyncTicketStore",
    "BusinessCalendar",
    "Category",
    "Clock",
    "ClosedPolicy",
    "ConflictError",
    "ConflictRetry",
    "CreatedData",
    "CustomerHandle",
    "CustomerPage",
    "CustomerView",
    "ErasureResult",
    "Event",
    "EventKind",
    "FakeClock",
    "Helpdesk",
    "HelpdeskConfig",
    "InvalidInputError",
    "MemoryStore",
    "Message",
    "Page",
    "PermissionDenied",
    "PostgresStore",
    "Priority",
    "PublicAttachment",
    "PublicEvent",
    "PublicMessage",
    "PurgeResult",
    "Requester",
    "RequesterMismatchError",
    "Role",
    "RuleError",
    "RuleLoopError",
    "SQLiteStore",
    "SimulatedAction",
    "Simulation",
    "Status",
    "StoreError",
    "StoreUnavailable",
    "SystemClock",
    "Ticket",
    "TicketLockedError",
    "TicketNotFound",
    "TicketStore",
    "TicketSummary",
    "TicketflowError",
    "Transition",
    "TransitionError",
    "Workflow",
    "WorkflowError",
    "__version__",
    "commands",
    "customer_view",
    "open_store",
    "retry_on_conflict",
    "rules",
    "workflows",
]
