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

Imports run one way: `_helpdesk` imports the others; they name `Helpdesk` only
for type checking and reach its private state, as the methods they were did.
"""

from ._erase import ErasureResult as ErasureResult
from ._erase import PurgeResult as PurgeResult
from ._helpdesk import Helpdesk as Helpdesk
from ._simulate import SimulatedAction as SimulatedAction
from ._simulate import Simulation as Simulation

__all__ = ["ErasureResult", "Helpdesk", "PurgeResult", "SimulatedAction", "Simulation"]
