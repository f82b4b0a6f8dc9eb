"""Command line: ``python -m ticketflow demo``, ``diagram``, ``worker``, ``report`` and ``import``.

``demo`` simulates a morning at a help desk on a fake clock, kept in a SQLite file;
``diagram`` prints a workflow's Mermaid diagram; ``worker`` runs time rules and
delivers the outbox of a store until it is told to stop (see docs/howto/worker.md);
``report`` prints a summary table of the tickets' metrics (see docs/howto/reports.md);
``import`` imports past tickets from JSON Lines or a CSV event log (see docs/howto/import.md).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping, Sequence
from typing import Final, TypeAlias

from . import _demo, _diagram, _import, _report, _worker
from ._demo import DEMO_STORE as DEMO_STORE
from ._demo import demo_config as demo_config
from ._demo import run_demo as run_demo

__all__ = ["DEMO_STORE", "demo_config", "main", "run_demo"]

_Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"  # noqa: SLF001 - argparse names it nowhere else
_AddParser: TypeAlias = Callable[[_Commands], None]
_Run: TypeAlias = Callable[[argparse.Namespace], int]

# One module per command (its parser and its run), in the order ``--help`` lists them.
_COMMANDS: Final[Mapping[str, tuple[_AddParser, _Run]]] = {
    "demo": (_demo.add_parser, _demo.run),
    "diagram": (_diagram.add_parser, _diagram.run),
    "worker": (_worker.add_parser, _worker.run),
    "report": (_report.add_parser, _report.run),
    "import": (_import.add_parser, _import.run),
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m ticketflow", description=(__doc__ or "").split("\n\n", 1)[0]
    )
    commands = parser.add_subparsers(dest="command", required=True)
    for add_parser, _ in _COMMANDS.values():
        add_parser(commands)
    args = parser.parse_args(argv)
    _, run = _COMMANDS[args.command]
    return run(args)
