"""Workflow.mermaid(): every status and every transition edge, guards in brackets."""

from __future__ import annotations

import re

import pytest

from ticketflow import Workflow, workflows

PRESETS = ("liveagent", "zendesk", "freshdesk")
EDGE = re.compile(r"^  (\S+) --> (\S+): (.+)$")


def edges(diagram: str) -> set[tuple[str, str, str]]:
    """Return (source, dest, label) for every edge line; merged labels are split on ' | '."""
    found = set()
    for line in diagram.splitlines():
        match = EDGE.match(line)
        if match:
            source, dest, labels = match.groups()
            found |= {(source, dest, label) for label in labels.split(" | ")}
    return found


def expected_edges(wf: Workflow) -> set[tuple[str, str, str]]:
    """Return (source, dest, 'trigger' or 'trigger [guard]') for every transition of ``wf``."""
    return {
        (source, t.dest, f"{t.trigger} [{t.guard}]" if t.guard else t.trigger)
        for t in wf.transitions
        for source in wf.expand_sources(t)
    }


@pytest.mark.parametrize("name", PRESETS)
def test_diagram_starts_with_the_mermaid_header(name: str) -> None:
    """The diagram opens with Mermaid front matter (``title:``) and ``stateDiagram-v2``."""
    header = f"---\ntitle: {name} workflow\n---\nstateDiagram-v2\n"
    diagram = workflows.preset(name).mermaid()
    assert header == diagram[: len(header)]


@pytest.mark.parametrize("name", PRESETS)
def test_diagram_declares_every_status_with_its_label(name: str) -> None:
    """Each status appears as ``state "Label" as name``, styled by its category."""
    wf = workflows.preset(name)
    lines = wf.mermaid().splitlines()
    declared = [line for line in lines if line.startswith("  state ")]
    assert [f'  state "{s.display}" as {s.name}' for s in wf.statuses] == declared
    classes = [line for line in lines if line.startswith("  class ")]
    assert [f"  class {s.name} s_{s.category.value}" for s in wf.statuses] == classes


@pytest.mark.parametrize("name", PRESETS)
def test_diagram_draws_every_transition_edge_with_its_trigger(name: str) -> None:
    """The edges drawn are exactly the graph's (source, dest, trigger) triples."""
    wf = workflows.preset(name)
    assert expected_edges(wf) == edges(wf.mermaid())


@pytest.mark.parametrize("name", PRESETS)
def test_diagram_marks_the_initial_status(name: str) -> None:
    """The diagram has the start arrow into the initial status."""
    wf = workflows.preset(name)
    assert f"  [*] --> {wf.initial}" in wf.mermaid().splitlines()


def test_zendesk_diagram_shows_the_assignee_guard_in_brackets() -> None:
    """Zendesk's solve edges read ``solve [has_assignee]``."""
    diagram = workflows.zendesk().mermaid()
    assert "  open --> solved: solve [has_assignee]" in diagram.splitlines()
    assert {("new", "solved"), ("open", "solved"), ("pending", "solved"), ("hold", "solved")} == {
        (s, d) for s, d, label in edges(diagram) if label == "solve [has_assignee]"
    }


def test_liveagent_diagram_shows_the_was_new_guard_in_brackets() -> None:
    """LiveAgent's guarded wake edge reads ``wake [was_new]``, the unguarded one ``wake``."""
    found = edges(workflows.liveagent().mermaid())
    assert {("postponed", "new", "wake [was_new]"), ("postponed", "open", "wake")} == {
        e for e in found if e[2].startswith("wake")
    }


def test_unguarded_edges_have_no_brackets() -> None:
    """Only guarded transitions show brackets."""
    wf = workflows.freshdesk()
    assert [] == [label for _, _, label in edges(wf.mermaid()) if "[" in label]


def test_custom_workflow_diagram_uses_its_own_names() -> None:
    """A custom workflow's labels, statuses and guards appear in its diagram."""
    wf = Workflow.from_dict(
        {
            "name": "triage",
            "initial": "inbox",
            "statuses": [
                {"name": "inbox", "category": "new", "label": "In box"},
                {"name": "doing", "category": "open"},
                {"name": "done", "category": "closed", "final": True},
            ],
            "transitions": [
                {
                    "trigger": "take",
                    "sources": ["inbox"],
                    "dest": "doing",
                    "guard": "has_department",
                },
                {"trigger": "finish", "sources": ["doing"], "dest": "done"},
            ],
            "events": {"close": "finish"},
        }
    )
    diagram = wf.mermaid()
    assert diagram.startswith("---\ntitle: triage workflow\n---\nstateDiagram-v2\n")
    assert '  state "In box" as inbox' in diagram.splitlines()
    assert {("inbox", "doing", "take [has_department]"), ("doing", "done", "finish")} == edges(
        diagram
    )
