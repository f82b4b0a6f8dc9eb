"""``python -m ticketflow import``: import past tickets from JSON Lines or a CSV event log."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Final

from .._clock import SystemClock
from .._engine import Helpdesk
from ..exceptions import ImportFormatError, ImportRecordError, StoreError, TicketflowError
from ..importing._formats import CsvMapping, open_counting, read_csv, read_jsonl
from ._setup import (
    EXIT_BAD_SETUP,
    EXIT_OK,
    EXIT_STORE_FAILED,
    WORKER_STORE,
    SetupError,
    config_options,
    load_config,
    open_store_option,
)

__all__ = ["add_parser", "run"]

EXIT_REFUSED: Final = 3
"""The exit status when the input is refused (a bad line, or a record in strict mode)."""
_BAR: Final = 30


class _Progress:
    """A progress bar on stderr: the share of the input file read, tickets and events so far."""

    def __init__(self, stream: IO[str], size: int, read: Callable[[], int]) -> None:
        self._stream = stream
        self._size = max(size, 1)
        self._read = read
        self._started = time.perf_counter()

    def __call__(self, tickets: int, events: int) -> None:
        share = min(self._read() / self._size, 1.0)
        filled = round(share * _BAR)
        rate = events / max(time.perf_counter() - self._started, 1e-9)
        self._stream.write(
            f"\r[{'#' * filled}{'.' * (_BAR - filled)}] {share:4.0%}  "
            f"{tickets:,} tickets  {events:,} events  {rate:,.0f} events/s"
        )
        self._stream.flush()

    def done(self) -> None:
        self._stream.write("\n")
        self._stream.flush()


def run(args: argparse.Namespace) -> int:  # noqa: C901, PLR0912 - setup, import, summary: one flow
    """Run ``import``; return the exit status."""
    try:
        config = load_config(args.config, args.guards)
        mapping = None
        if args.format == "csv":
            if args.mapping is None:
                raise SetupError("--format csv needs --mapping FILE (docs/howto/import.md)")  # noqa: TRY301 - reported with the other setup errors
            try:
                mapping = CsvMapping.load(args.mapping)
            except OSError as exc:
                raise SetupError(f"--mapping {args.mapping!r}: {exc.strerror or exc}") from exc
            except TicketflowError as exc:
                raise SetupError(f"--mapping {args.mapping!r}: {exc}") from exc
        path = Path(args.input)
        if not path.is_file():
            raise SetupError(f"input {args.input!r}: no such file")  # noqa: TRY301 - likewise
        store = open_store_option(args.store)
    except SetupError as exc:
        print(f"ticketflow import: error: {exc}", file=sys.stderr)
        return EXIT_BAD_SETUP
    lines, raw = open_counting(path)
    progress = _Progress(sys.stderr, path.stat().st_size, raw.tell) if not args.quiet else None
    try:
        try:
            records = (
                read_csv(lines, mapping, workflow=config.workflow, zone=args.zone)
                if mapping is not None
                else read_jsonl(lines, zone=args.zone)
            )
            desk = Helpdesk(store=store, clock=SystemClock(), config=config)
            report = desk.import_tickets(
                records, strict=not args.non_strict, batch=args.batch, progress=progress
            )
        finally:
            if progress is not None:
                progress.done()
            lines.close()
            raw.close()
    except (ImportFormatError, ImportRecordError) as exc:
        print(f"ticketflow import: refused: {exc}", file=sys.stderr)
        print("(records before it are committed; a re-run skips them)", file=sys.stderr)
        return EXIT_REFUSED
    except TicketflowError as exc:
        if not isinstance(exc, StoreError):
            print(f"ticketflow import: error: {exc}", file=sys.stderr)
            return EXIT_BAD_SETUP
        print(f"ticketflow import: store error: {exc}", file=sys.stderr)
        return EXIT_STORE_FAILED
    finally:
        store.close()
    print(
        f"imported {report.tickets:,} tickets, {report.events:,} events "
        f"({report.written:,} written) in {report.seconds:.1f} s: "
        f"{report.events_per_second:,.0f} events/s; "
        f"refused {len(report.refused):,}, skipped {report.skipped:,} (already imported)"
    )
    for refusal in report.refused[: args.show_refused]:
        print(f"  refused {refusal.external_id} event {refusal.index}: {refusal.reason}")
    if len(report.refused) > args.show_refused:
        print(f"  ... and {len(report.refused) - args.show_refused:,} more")
    return EXIT_OK


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``import`` command to ``commands``."""
    command = commands.add_parser(
        "import",
        help="import past tickets from JSON Lines or a CSV event log",
        description=(
            "Import tickets with their past events, checked against the configuration's "
            "workflow, in large transactions; see docs/howto/import.md. Re-running an "
            "import skips the tickets already imported."
        ),
    )
    command.add_argument("input", metavar="INPUT", help="the file to import (.gz is gunzipped)")
    command.add_argument(
        "--store", default=WORKER_STORE, help=f"store URL (default: {WORKER_STORE})"
    )
    config_options(command, "liveagent", "its workflow checks the history (default: liveagent)")
    command.add_argument(
        "--format", choices=("jsonl", "csv"), default="jsonl", help="input format (default: jsonl)"
    )
    command.add_argument(
        "--mapping", metavar="FILE", help="the TOML mapping of a CSV log's columns and activities"
    )
    command.add_argument(
        "--zone", metavar="ZONE", help="the time zone of timestamps without an offset"
    )
    command.add_argument(
        "--non-strict",
        action="store_true",
        help="skip and report refused events instead of stopping at the first",
    )
    command.add_argument(
        "--batch", type=int, default=1000, help="tickets per transaction (default: 1000)"
    )
    command.add_argument(
        "--show-refused",
        type=int,
        default=20,
        metavar="N",
        help="list at most N refused events (default: 20)",
    )
    command.add_argument("--quiet", action="store_true", help="no progress bar")
