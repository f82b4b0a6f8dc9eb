"""MkDocs hook: draw each preset's status diagram from the workflow object at build time.

A page writes ``<!-- workflow-diagram: zendesk -->`` on a line of its own; the hook
replaces it with a Mermaid fence holding ``ticketflow.workflows.preset("zendesk").mermaid()``.
The diagrams in the docs are therefore always the ones the code draws.
"""

from __future__ import annotations

import re

from ticketflow import workflows

MARKER = re.compile(r"^<!--\s*workflow-diagram:\s*(?P<name>[\w-]+)\s*-->[ \t]*$", re.MULTILINE)
"""A diagram marker: an HTML comment naming a preset, alone on its line."""


def diagram_fence(name: str) -> str:
    """Return the Mermaid fence for the preset called ``name``.

    Raises:
        KeyError: ``name`` is not a preset (the build fails, naming it).
    """
    source = workflows.preset(name).mermaid()
    return f"```mermaid\n{source.rstrip()}\n```"


def render_diagrams(markdown: str) -> str:
    """Return ``markdown`` with every diagram marker replaced by its Mermaid fence."""
    return MARKER.sub(lambda match: diagram_fence(match["name"]), markdown)


def on_page_markdown(markdown: str, **_kwargs: object) -> str:
    """MkDocs event: render the diagram markers of a page."""
    return render_diagrams(markdown)
