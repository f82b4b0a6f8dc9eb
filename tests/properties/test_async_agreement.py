"""`AsyncHelpdesk` and `Helpdesk` agree on random histories: one pipeline, two drivers.

Random presets (with random settings) and random command sequences on two
tickets, merges between them included, with random clock steps: each command
value runs on a sync `Helpdesk` over a `MemoryStore` and on an `AsyncHelpdesk`
over an `AsyncSQLiteStore` (its calls really suspend), both on fake clocks at
the same time. Each step must return equal tickets or raise the same error
type, and at the end every ticket reads back equal from both stores.
"""

from __future__ import annotations

import asyncio
import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from ticketflow import (
    AsyncHelpdesk,
    AsyncSQLiteStore,
    FakeClock,
    Helpdesk,
    Requester,
    TicketflowError,
    Workflow,
)
from ticketflow.commands import Command as CommandValue
from ticketflow.testing import Command, apply_command, command_sequences, presets

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
IDS = ("T1", "T2")


class _Captured(Exception):
    """Raised by `_Capture.execute`: the command value `apply_command` built."""


class _Capture:
    """Stands in for a desk so that `apply_command` hands over its command value."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.value: tuple[CommandValue, Any] | None = None

    def execute(self, command: CommandValue, *, by: Any = None) -> None:
        self.value = (command, by)
        raise _Captured


def _ids() -> Any:
    names = iter(itertools.chain(IDS, (f"F{i}" for i in itertools.count())))
    return lambda _at: next(names)


@settings(max_examples=25, deadline=None)
@given(
    workflow=presets(),
    steps=st.lists(
        st.tuples(
            st.sampled_from(IDS),
            command_sequences(merge_into=IDS, max_size=1),
            st.integers(0, 3 * 24 * 60),
        ),
        max_size=15,
    ),
)
def test_async_and_sync_desks_agree(
    workflow: Workflow, steps: list[tuple[str, list[Command], int]]
) -> None:
    """Every command returns equal tickets or the same refusal on both desks."""

    async def main() -> None:
        clock, async_clock = FakeClock(START), FakeClock(START)
        sync = Helpdesk(workflow, clock=clock, id_factory=_ids())
        store = AsyncSQLiteStore()
        desk = AsyncHelpdesk(workflow, store=store, clock=async_clock, id_factory=_ids())
        try:
            for i in IDS:
                kwargs = {"subject": f"s{i}", "requester": Requester(name="Ann", email="a@x.org")}
                assert sync.open_ticket(**kwargs) == await desk.open_ticket(**kwargs)
            for ticket_id, commands, minutes in steps:
                clock.advance(timedelta(minutes=minutes))
                async_clock.advance(timedelta(minutes=minutes))
                for command in commands:
                    capture = _Capture(clock)
                    try:
                        apply_command(capture, ticket_id, command)  # type: ignore[arg-type]
                    except _Captured:
                        pass
                    except (ValueError, TicketflowError):
                        continue  # refused while building the value: not the pipeline's
                    assert capture.value is not None
                    value, by = capture.value
                    try:
                        expected: object = sync.execute(value, by=by)
                    except TicketflowError as exc:
                        expected = type(exc)
                    try:
                        actual: object = await desk.execute(value, by=by)
                    except TicketflowError as exc:
                        actual = type(exc)
                    assert expected == actual
            for ticket in sync.find():
                assert ticket == await desk.get(ticket.id)
            assert sync.run_due() == await desk.run_due()
            assert sync.find() == await desk.find()
        finally:
            await store.aclose()

    asyncio.run(main())
