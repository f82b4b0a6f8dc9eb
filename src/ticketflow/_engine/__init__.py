"""The engine: `Helpdesk`, the facade, and the modules it composes, one per job.

- `_helpdesk`: the facade; its constructor, properties and command methods, and
  the command pipeline they all run (read, catch up, decide, build, apply, react,
  schedule, commit, publish). The whole command path lives in this one module.
- `_sweeps`: time rules and SLA stages fired by `Helpdesk.run_due` and
  `Helpdesk.run_until` (claims, commit groups, back-off); `Helpdesk.reschedule`.
- `_delivery`: subscribers (`Helpdesk.subscribe`), publishing a commit's events
  to them, and the outbox (`Helpdesk.dispatch`).
- `_queries`: reads (`get`, `timeline`, `allowed`, `find`, `queue`, `next_due`,
  `sla_state`).
- `_simulate`: `Helpdesk.simulate`, its replay and its result values.
- `_erase`: `Helpdesk.purge` (the ticket and every copy a merge made of it)
  and `Helpdesk.erase_requester`, and their results.
- `_access`: who may see which ticket (a customer's own, a participant's, a
  handle's scope); the permission table itself is the configuration's.
- `_steps`: the drivers: every command, query and sweep above is written once
  as a generator yielding its store calls; `drive` runs it on a `TicketStore`
  (`Helpdesk`), `adrive` on an `AsyncTicketStore`.
- `_async`: `AsyncHelpdesk`, the same core driven by `adrive`.
- `_handles`: `CustomerHandle` and `AgentHandle`, the scoped handles of
  `Helpdesk.for_customer` and `Helpdesk.for_agent`, and their scoped reads as steps.
- `_search`: `Helpdesk.search` and the customers' search, as steps.
- `_async_handles`: `AsyncCustomerHandle` and `AsyncAgentHandle`, the handles of
  `AsyncHelpdesk`, driving `_handles`' steps with `adrive`.

Imports run one way: `_helpdesk` imports the others; they name `Helpdesk` only
for type checking and reach its private state, as the methods they were did.
"""

from ._async import AsyncHelpdesk as AsyncHelpdesk
from ._async_handles import AsyncAgentHandle as AsyncAgentHandle
from ._async_handles import AsyncCustomerHandle as AsyncCustomerHandle
from ._erase import ErasureResult as ErasureResult
from ._erase import PurgeResult as PurgeResult
from ._handles import AgentHandle as AgentHandle
from ._handles import CustomerHandle as CustomerHandle
from ._helpdesk import Helpdesk as Helpdesk
from ._simulate import SimulatedAction as SimulatedAction
from ._simulate import Simulation as Simulation

__all__ = [
    "AgentHandle",
    "AsyncAgentHandle",
    "AsyncCustomerHandle",
    "AsyncHelpdesk",
    "CustomerHandle",
    "ErasureResult",
    "Helpdesk",
    "PurgeResult",
    "SimulatedAction",
    "Simulation",
]
