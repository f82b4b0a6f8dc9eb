"""A workflow's status diagram in Mermaid syntax (`Workflow.mermaid`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

from ._workflow_parts import Category

if TYPE_CHECKING:
    from ._workflow import Workflow

__all__ = ["mermaid"]


def _mermaid_text(value: str) -> str:
    """``value`` made safe inside a quoted Mermaid label: one line, no quote."""
    out = "".join(" " if ch.isspace() or not ch.isprintable() else ch for ch in value)
    return out.replace("#", "#35;").replace('"', "#quot;")


_CATEGORY_STYLE: Final = {
    Category.NEW: "fill:#e3f2fd,color:black",
    Category.OPEN: "fill:#fff3e0,color:black",
    Category.PENDING: "fill:#f3e5f5,color:black",
    Category.RESOLVED: "fill:#e8f5e9,color:black",
    Category.CLOSED: "fill:#eeeeee,color:black",
    Category.TRASH: "fill:#ffebee,color:black",
}


class _DiagramModel:
    """A throwaway model that GraphMachine decorates with ``get_graph``."""

    get_graph: Callable[[], Any]


def mermaid(workflow: Workflow) -> str:
    """`Workflow.mermaid` (documented there)."""
    # Imported here: the diagram engine is not needed on any hot path.
    from transitions.extensions import GraphMachine  # noqa: PLC0415

    holder = _DiagramModel()
    # The diagram is the graph's own view: it draws the machine the graph builds.
    config = workflow._machine_config()  # noqa: SLF001
    by_name = workflow._by_name  # noqa: SLF001
    GraphMachine(
        model=holder,
        graph_engine="mermaid",
        show_conditions=True,
        title=_mermaid_text(f"{workflow.name} workflow"),
        **config,
    )
    source: str = holder.get_graph().draw(None)
    lines = []
    for raw in source.splitlines():
        line = raw
        if line.startswith("  Class "):
            # transitions highlights the model's current state; a workflow
            # diagram has no current state, and Mermaid spells it "class".
            name = line.split()[1]
            cat = by_name[name].category.value
            line = f"  class {name} s_{cat}"
        elif line.startswith("  classDef "):
            continue
        elif line.startswith('  state "'):
            name = line.rsplit(" as ", 1)[1]
            line = f'  state "{_mermaid_text(by_name[name].display)}" as {name}'
        lines.append(line)
    # transitions writes the title as bare front matter; Mermaid reads "title:".
    if lines[:1] == ["---"] and len(lines) > 2 and lines[2] == "---":
        lines[1] = f"title: {lines[1]}"
    header = lines.index("stateDiagram-v2") + 1
    lines[header:header] = [f"  classDef s_{c} {_CATEGORY_STYLE[c]}" for c in Category]
    return "\n".join(lines) + "\n"
