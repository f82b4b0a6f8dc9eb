"""The rule engine: event rules, time rules, and the makers for the common ones.

A `Rule` runs either after commands (``on``: event kinds) or at a time computed
from the ticket (``at``: a `TimeTrigger`), when its conditions hold, and acts only
through the workflow. Makers: `inactivity`, `after`, `confirmation`, `when`,
`wake_postponed`, `pending_reminder`, `pending_close`. Rules load and save as data
(`from_dicts` / `to_dicts`).

Wiring: `ticketflow.Helpdesk(rules=[...])` runs event rules inside each command's
commit, keeps each ticket's next due time in the store's due index, and fires
time rules with `Helpdesk.run_due` / `Helpdesk.run_until`; `Helpdesk.subscribe`
delivers the events.
"""

from ._conditions import format_duration as format_duration
from ._conditions import parse_duration as parse_duration
from ._rules import Rule as Rule
from ._rules import TimeTrigger as TimeTrigger
from ._rules import after as after
from ._rules import confirmation as confirmation
from ._rules import from_dicts as from_dicts
from ._rules import inactivity as inactivity
from ._rules import pending_close as pending_close
from ._rules import pending_reminder as pending_reminder
from ._rules import to_dicts as to_dicts
from ._rules import wake_postponed as wake_postponed
from ._rules import when as when
from ._runner import Due as Due
from ._runner import RuleSet as RuleSet
from ._runner import check_rules as check_rules
from ._runner import is_no_change as is_no_change

__all__ = [
    "Due",
    "Rule",
    "RuleSet",
    "TimeTrigger",
    "after",
    "check_rules",
    "confirmation",
    "format_duration",
    "from_dicts",
    "inactivity",
    "is_no_change",
    "parse_duration",
    "pending_close",
    "pending_reminder",
    "to_dicts",
    "wake_postponed",
    "when",
]
