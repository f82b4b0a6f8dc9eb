"""SLA policies and each ticket's SLA state, computed from its timeline alone.

An `SlaPolicy` sets targets per priority and metric, in a business calendar; the
first policy of `SlaPolicies` whose conditions match a ticket applies (the policy
without conditions is the fallback). `sla_state` returns, per metric, the target,
the start, the due time, the time left and whether the target was met or
breached; `next_sla_instant` gives the next warning or breach instant, for the
exact-time scheduler. Nothing is stored: the state is a pure function of the
timeline (events up to ``now``), the policy and ``now``, so changing a policy or
a calendar recomputes every open ticket's due times.

Definitions. A metric is measured in *cycles*; each cycle starts at an event and
is completed by another. Its clock counts business time (the policy's calendar)
while the ticket's status category is in the metric's *run set*: ``new``, ``open``
and ``pending`` minus the policy's ``pause_in`` (default: ``pending`` pauses), or
the per-metric ``run_in`` override. ``resolved``, ``closed`` and ``trash`` never
count. The metrics:

- ``first_reply``: from creation to the first public agent reply
  (``agent_replied``; private notes do not count), or to the first entry into a
  ``resolved``/``closed`` status, whichever comes first (solving fulfils it).
- ``next_reply``: from a customer reply that follows an agent reply (with no
  cycle open) to the next agent reply or entry into ``resolved``/``closed``. The
  current (last) cycle is reported; every cycle is kept in ``cycles``.
- ``first_assignment``: from creation to the first time an assignee is set.
- ``periodic_update``: from each public agent reply to the next one, while the
  ticket is not solved (entering ``resolved``/``closed`` completes the cycle), as
  Zendesk's periodic update starts after the first public agent comment.
- ``resolution``: from creation to the last entry into a ``resolved``/``closed``
  status, while the ticket rests there; a reopen resumes the same clock.
- ``requester_wait`` and ``agent_work``: like ``resolution`` but by default they
  run only in ``new`` and ``open`` whatever ``pause_in`` says (Zendesk counts new,
  open and on-hold, and new and open; this workflow model has no on-hold
  category, so set ``run_in`` to tell them apart).

Due time: the earliest instant at which the clock reaches the target, taking the
paused intervals into account; after a cycle's completion (and from ``now`` on
while it runs) the clock is assumed to keep running. While a cycle is paused
short of its target the due time is ``None`` (unknown until it resumes). A
completed cycle is *met* when ``completed_at <= due_at``, else *breached*; an open
cycle is *breached* from ``due_at`` on (``now >= due_at``). The warning instant is
when ``warn_before`` of business time is left. ``time_left`` is the target minus
the clock's business time (at completion, or at ``now``): negative when overdue.

The applicable targets are those of the policy selected for the ticket as it is
at ``now`` (its current priority, department, tags...).
"""

from ._policy import Escalation as Escalation
from ._policy import Metric as Metric
from ._policy import SlaPolicies as SlaPolicies
from ._policy import SlaPolicy as SlaPolicy
from ._state import MetricState as MetricState
from ._state import SlaCycle as SlaCycle
from ._state import SlaState as SlaState
from ._state import SlaStatus as SlaStatus
from ._state import next_sla_instant as next_sla_instant
from ._state import sla_state as sla_state

__all__ = [
    "Escalation",
    "Metric",
    "MetricState",
    "SlaCycle",
    "SlaPolicies",
    "SlaPolicy",
    "SlaState",
    "SlaStatus",
    "next_sla_instant",
    "sla_state",
]
