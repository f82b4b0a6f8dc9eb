"""The scheduler's incremental SLA fold agrees with the full timeline walk.

`ticketflow._sla_fold` extends a per-ticket fold with each commit's events and
accumulates business time as phases close; `sla._state._open_cycles` walks the whole
timeline. On random lifecycles of the presets, with random gaps, calendars,
pauses, warnings and targets, both give the same policy and the same open
cycles (start, due, warning, paused) after every command, whether the fold is
extended snapshot by snapshot, asked only now and then, asked about an older
snapshot after a newer one, or built from scratch.
"""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st

from ticketflow import Workflow
from ticketflow._model import Ticket
from ticketflow._sla_fold import Walker, open_cycles
from ticketflow.sla._state import _open_cycles

from .test_sla_properties import ALWAYS, OFFICE, TARGETS, lifecycles, one_policy


@given(
    case=lifecycles(),
    target=TARGETS,
    office=st.booleans(),
    pause=st.sampled_from([("pending",), (), ("pending", "new")]),
    warn=st.none() | st.timedeltas(timedelta(minutes=1), timedelta(hours=10)),
    asked=st.lists(st.booleans(), min_size=12, max_size=12),
)
def test_fold_equals_full_walk(
    case: tuple[Workflow, list[Ticket]],
    target: timedelta,
    office: bool,
    pause: tuple[str, ...],
    warn: timedelta | None,
    asked: list[bool],
) -> None:
    """After every command the fold's open cycles equal the full walk's."""
    workflow, snapshots = case
    policies = one_policy(target, calendar=OFFICE if office else ALWAYS, pause=pause, warn=warn)
    walker = Walker(workflow)
    for index, ticket in enumerate(snapshots):
        if index < len(snapshots) - 1 and not asked[index % len(asked)]:
            continue  # not asked at every snapshot: the next question folds several events
        expected = _open_cycles(ticket, workflow, policies)
        assert expected == open_cycles(ticket, walker, policies)
        assert expected == open_cycles(ticket, Walker(workflow), policies)  # from scratch
    # Asked again about an older snapshot (a retried conflict), then the newest.
    for ticket in (snapshots[len(snapshots) // 2], snapshots[-1]):
        assert _open_cycles(ticket, workflow, policies) == open_cycles(ticket, walker, policies)
