"""Workflows, TOML documents and events survive every serialisation round trip."""

from __future__ import annotations

import contextlib
import json
import tempfile
import tomllib
from pathlib import Path
from typing import Any

from hypothesis import event, given
from hypothesis import strategies as st

from ticketflow import (
    Actor,
    CreatedData,
    Event,
    EventKind,
    FakeClock,
    Helpdesk,
    InvalidInputError,
    Requester,
    Role,
    Ticket,
    TicketLockedError,
    TransitionError,
    Workflow,
)
from ticketflow._toml import dumps as toml_dumps
from ticketflow.stores import _codec as codec
from ticketflow.stores._codec import decode_events, decode_ticket, dump_event
from ticketflow.testing import (
    apply_command,
    command_sequences,
    open_ticket_kwargs,
    presets,
    workflows,
)

REFUSALS = (TransitionError, TicketLockedError, InvalidInputError)

# Every character a UTF-8 file can hold: control characters, DEL, quotes, backslashes,
# non-ASCII and astral characters, but no lone surrogates.
ANY_TEXT = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=12)
NAMES = st.text(
    st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), min_size=1, max_size=10
)
ANY_WORKFLOW = workflows(names=NAMES) | workflows() | presets()

TOML_SCALARS = st.one_of(
    ANY_TEXT,
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
)
TOML_VALUES = st.recursive(
    TOML_SCALARS,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(ANY_TEXT, children, max_size=3)
    ),
    max_leaves=12,
)
TOML_DOCUMENTS = st.dictionaries(ANY_TEXT, TOML_VALUES, max_size=5)
"""Nested data as TOML holds it: tables, arrays of tables, arrays, strings, numbers, booleans."""


@given(ANY_WORKFLOW)
def test_workflow_round_trips_through_dict_json_and_toml(workflow: Workflow) -> None:
    """`to_dict`/`from_dict`, `to_json`/`from_json` and `to_toml`/`from_toml` give back
    an equal workflow, whatever characters its names hold."""
    assert workflow == Workflow.from_dict(workflow.to_dict())
    assert workflow == Workflow.from_json(workflow.to_json())
    assert workflow == Workflow.from_toml(workflow.to_toml())
    event(f"reopen_window: {'set' if workflow.reopen_window is not None else 'none'}")


@given(ANY_WORKFLOW, st.sampled_from([".toml", ".json"]))
def test_workflow_round_trips_through_saved_files(workflow: Workflow, suffix: str) -> None:
    """`Workflow.save` then `Workflow.load` gives back an equal workflow (TOML and JSON)."""
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / f"workflow{suffix}"
        workflow.save(path)
        assert workflow == Workflow.load(path)


@given(TOML_DOCUMENTS)
def test_toml_writer_round_trips_through_tomllib(document: dict[str, Any]) -> None:
    """`tomllib` reads back exactly what the TOML writer wrote."""
    text = toml_dumps(document)
    assert document == tomllib.loads(text)
    if any(
        isinstance(v, list) and v and all(isinstance(i, dict) for i in v) for v in document.values()
    ):
        event("has an array of tables")


@st.composite
def lifecycles(draw: st.DrawFn) -> list[Ticket]:
    """The tickets of a random lifecycle: opened, commanded, merged, purged at random."""
    workflow = draw(presets() | presets() | workflows())
    clock = FakeClock()
    desk = Helpdesk(workflow, clock=clock)
    ids = [
        desk.open_ticket(**kwargs).id
        for kwargs in draw(st.lists(open_ticket_kwargs(), min_size=2, max_size=3))
    ]
    for ticket_id in ids:
        for step in draw(command_sequences(workflow, merge_into=ids, max_size=12)):
            clock.advance(minutes=draw(st.integers(0, 3000)))
            with contextlib.suppress(*REFUSALS):
                apply_command(desk, ticket_id, step)
    if len(ids) > 1 and draw(st.booleans()):
        with contextlib.suppress(*REFUSALS):
            desk.merge(ids[-1], ids[0], by="bob")
    if draw(st.booleans()):
        # Purging rewrites every event of a timeline: scrubbed events must round-trip too.
        for ticket in desk.find():
            with contextlib.suppress(*REFUSALS):
                desk.purge(ticket.id, by=Actor("admin", Role.ADMIN))
    return desk.find()


@given(lifecycles())
def test_events_round_trip_through_to_dict_and_json(tickets: list[Ticket]) -> None:
    """Every event of every ticket survives `Event.to_dict`/`from_dict`, also through JSON
    text, and the decoded timeline rebuilds the same ticket."""
    for ticket in tickets:
        decoded = []
        for original in ticket.timeline:
            data = original.to_dict()
            assert original == Event.from_dict(data)
            from_json = Event.from_dict(json.loads(json.dumps(data, allow_nan=False)))
            assert original == from_json
            decoded.append(from_json)
            event(f"kind: {original.kind.value}")
        kinds = {e.kind for e in ticket.timeline}
        if {EventKind.PURGED, EventKind.MERGE_RECEIVED} <= kinds:
            event("a purged ticket that had received a merge")
        assert ticket == Ticket.rebuild(decoded)


@given(lifecycles())
def test_the_stores_codec_decodes_what_event_from_dict_decodes(tickets: list[Ticket]) -> None:
    """The SQL stores' one-pass decoder gives back every stored event, with the same types as
    `Event.from_dict`, and the same ticket; decoding never shares a customer actor across
    tickets (a purge must not leave one behind)."""
    for ticket in tickets:
        bodies = [dump_event(e) for e in ticket.timeline]
        assert ticket == decode_ticket(bodies, "test")
        decoded = decode_events(json.loads(f"[{','.join(bodies)}]"))
        assert [Event.from_dict(json.loads(b)) for b in bodies] == decoded
        for event_ in decoded:
            assert type(event_.kind) is EventKind
            assert type(event_.actor.role) is Role
            assert event_.at.utcoffset() is not None
            assert type(event_.data) is type(Event.from_dict(event_.to_dict()).data)
        assert isinstance(decoded[0].data, CreatedData)
        assert type(decoded[0].data.requester) is Requester
    shared = set(codec._SHARED_ACTORS.values())  # the process-wide table
    assert all(actor.role is not Role.CUSTOMER for actor in shared)
