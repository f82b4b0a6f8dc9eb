"""``python -m ticketflow diagram``: print a workflow's Mermaid diagram."""

from __future__ import annotations

import argparse
import json
import sys
import tomllib
from pathlib import Path

from .._model import Ticket
from .._workflow import Workflow
from ..config import HelpdeskConfig
from ..exceptions import TicketflowError, WorkflowError
from ..workflows import PRESETS
from ._setup import SetupError

__all__ = ["add_parser", "run"]


def _load_workflow(name: str) -> Workflow:
    if name in PRESETS:
        return HelpdeskConfig.preset(name).workflow
    path = Path(name)
    try:
        return HelpdeskConfig.load(path).workflow
    except WorkflowError as exc:
        if "unknown guard" not in str(exc):
            raise
    # Custom guards live in the user's code; a diagram only needs their names.
    text = path.read_text(encoding="utf-8")
    data = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
    names = {t.get("guard") for t in data.get("transitions", [])} - {None}
    return HelpdeskConfig.from_dict(data, guards=dict.fromkeys(names, _any_ticket)).workflow


def _any_ticket(_ticket: Ticket) -> bool:
    return True


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``diagram`` command to ``commands``."""
    diagram = commands.add_parser("diagram", help="print a workflow's Mermaid diagram")
    diagram.add_argument(
        "workflow",
        nargs="?",
        default="liveagent",
        help=f"{', '.join(PRESETS)} or a .toml/.json file",
    )


def run(args: argparse.Namespace) -> int:
    """The ``diagram`` command: print the diagram; return the exit status."""
    try:
        print(_load_workflow(args.workflow).mermaid(), end="")
    except (TicketflowError, OSError, SetupError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0
