"""``python -m ticketflow report``: a summary table of the tickets' metrics (and CSV)."""

from __future__ import annotations

import argparse
import json
import sys
import tomllib
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .._clock import SystemClock
from .._workflow import Workflow
from ..config import sla_from_dict
from ..exceptions import TicketflowError
from ..metrics import MetricsAggregator, Period, RowValue, ticket_metrics, write_csv
from ..sla import Metric, SlaPolicies
from ..stores import TicketStore, stream_tickets
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

__all__ = ["add_parser", "aggregate_store", "run"]


def _duration(seconds: RowValue) -> str:
    """Format seconds compactly: ``45s``, ``12m``, ``3h 05m``, ``2d 04h``; ``-`` for none."""
    if not isinstance(seconds, int | float):
        return "-"
    total = round(seconds)
    if total < 60:
        return f"{total}s"
    minutes, _ = divmod(total, 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        return f"{days}d {hours:02d}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes}m"


def _achievement(row: dict[str, RowValue], metric: Metric) -> str:
    """Format a metric's SLA achievement: ``75% (3/4)`` (met / met + breached); ``-`` for none."""
    met, breached = row[f"sla_{metric}_met"], row[f"sla_{metric}_breached"]
    if not isinstance(met, int) or not isinstance(breached, int) or met + breached == 0:
        return "-"
    return f"{met / (met + breached):.0%} ({met}/{met + breached})"


def _report_table(rows: Sequence[dict[str, RowValue]], keys: Sequence[str]) -> list[str]:
    """Return the summary table of aggregated ``rows`` (grouped by ``keys``) as lines.

    With SLA columns in the rows, one achievement column per metric follows.
    """
    sla_metrics = [m for m in Metric if rows and f"sla_{m}_achievement" in rows[0]]
    header = [
        *(keys or ["group"]),
        "tickets",
        "1st resp med",
        "1st resp p90",
        "resolved med",
        "resolved p90",
        "replies a/c",
        "reopens",
        "csat",
        *(f"{m.value.replace('_', ' ')} SLA" for m in sla_metrics),
    ]
    table = [header]
    for row in rows:
        group = [str(row[k]) if row[k] is not None else "(none)" for k in keys] or ["all"]
        csat = row["satisfaction_mean"]
        table.append(
            [
                *group,
                str(row["tickets"]),
                _duration(row["first_response_median_seconds"]),
                _duration(row["first_response_p90_seconds"]),
                _duration(row["resolution_final_median_seconds"]),
                _duration(row["resolution_final_p90_seconds"]),
                f"{row['agent_replies']}/{row['customer_replies']}",
                str(row["reopens"]),
                f"{csat:.1f} ({row['satisfaction_count']})" if isinstance(csat, float) else "-",
                *(_achievement(row, m) for m in sla_metrics),
            ]
        )
    widths = [max(len(line[i]) for line in table) for i in range(len(header))]
    texts = len(keys or ["group"])  # the group columns align left, the figures right
    return [
        "  ".join(
            cell.ljust(w) if i < texts else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(line, widths, strict=True))
        ).rstrip()
        for line in table
    ]


def _parse_now(text: str) -> datetime:
    try:
        now = datetime.fromisoformat(text)
    except ValueError:
        raise SetupError(f"--now {text!r}: not an ISO time (2026-03-09T12:00+00:00)") from None
    if now.tzinfo is None:
        raise SetupError(f"--now {text!r}: give a time zone, e.g. {text}+00:00")
    return now.astimezone(UTC)


def _load_sla(name: str) -> SlaPolicies:
    """Read ``--sla``: a configuration file's ``[[sla]]`` policies (and ``[calendars]``).

    The file may be a whole configuration or hold only those. The spelling of
    ticketflow 0.1, a ``[[policies]]`` array (or a JSON list), is still read, with a
    deprecation message on stderr.
    """
    path = Path(name)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SetupError(f"--sla {name!r}: cannot read it ({exc.strerror or exc})") from exc
    try:
        data: Any = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
    except ValueError as exc:  # TOMLDecodeError and JSONDecodeError are ValueErrors
        kind = "TOML" if path.suffix == ".toml" else "JSON"
        raise SetupError(f"--sla {name!r}: not valid {kind}: {exc}") from exc
    if isinstance(data, list) or (isinstance(data, dict) and "policies" in data):
        print(
            f"ticketflow report: warning: --sla {name!r}: [[policies]] (or a JSON list) is "
            "deprecated; write the policies as [[sla]] tables, as in a configuration file",
            file=sys.stderr,
        )
        data = {
            "sla": data if isinstance(data, list) else data.pop("policies"),
            **(data if isinstance(data, dict) else {}),
        }
    if not isinstance(data, dict) or not data.get("sla"):
        raise SetupError(
            f"--sla {name!r}: expected [[sla]] tables (SLA policies), as in a configuration file"
        )
    try:
        return sla_from_dict(data)
    except TicketflowError as exc:
        raise SetupError(f"--sla {name!r}: {exc}") from exc


def aggregate_store(
    store: TicketStore,
    workflow: Workflow,
    *,
    now: datetime,
    sla: SlaPolicies | None,
    by: Sequence[str],
    period: Period | None,
) -> MetricsAggregator:
    """Aggregate the metrics of every ticket of ``store``, streamed (`stream_tickets`).

    Memory holds one batch of rebuilt tickets and, per group, what
    `MetricsAggregator` keeps (the durations), never the whole store. Each
    ticket's open status counts up to ``now``, or its last event if later.
    """
    aggregator = MetricsAggregator(by=by, period=period)
    for ticket in stream_tickets(store):
        until = max(now, ticket.updated_at)
        aggregator.add(ticket_metrics(ticket, workflow, now=until, sla=sla))
    return aggregator


def run(args: argparse.Namespace) -> int:
    """The ``report`` command: metrics of every ticket in the store, as a table (and CSV)."""
    try:
        config = load_config(args.config, args.guards)
        workflow = config.workflow
        now = SystemClock().now() if args.now is None else _parse_now(args.now)
        if args.sla is not None:
            sla: SlaPolicies | None = _load_sla(args.sla)
        else:  # the configuration's own [[sla]] policies, if it has some
            sla = config.sla if config.sla.policies else None
        store = open_store_option(args.store)
    except SetupError as exc:
        print(f"ticketflow report: error: {exc}", file=sys.stderr)
        return EXIT_BAD_SETUP
    keys = [args.by] if args.by else []
    try:
        aggregator = aggregate_store(store, workflow, now=now, sla=sla, by=keys, period=args.period)
    except TicketflowError as exc:
        print(f"ticketflow report: error: {exc}", file=sys.stderr)
        return EXIT_STORE_FAILED
    finally:
        store.close()
    rows = aggregator.rows()
    if args.period:
        keys.append("period")
    at = f"{now:%Y-%m-%d %H:%M} UTC"
    print(f"{aggregator.tickets} tickets in {args.store} (workflow {workflow.name}), at {at}")
    print("\n".join(_report_table(rows, keys)))
    if args.csv:
        try:
            write_csv(rows, args.csv)
        except OSError as exc:
            print(f"ticketflow report: error: --csv {args.csv!r}: {exc}", file=sys.stderr)
            return EXIT_STORE_FAILED
        print(f"wrote {len(rows)} rows to {args.csv}")
    return EXIT_OK


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``report`` command to ``commands``."""
    report = commands.add_parser(
        "report",
        help="print a summary table of ticket metrics",
        description=(
            "Compute every ticket's metrics from its timeline (first response, resolution, "
            "replies, reopens, satisfaction) and print them aggregated; see docs/howto/reports.md."
        ),
    )
    report.add_argument(
        "--store", default=WORKER_STORE, help=f"store URL (default: {WORKER_STORE})"
    )
    config_options(
        report,
        "liveagent",
        "its workflow gives the statuses' categories, its [[sla]] the SLA columns "
        "(default: liveagent)",
    )
    report.add_argument(
        "--by",
        choices=("assignee", "department", "priority", "channel"),
        help="group by this ticket value",
    )
    report.add_argument(
        "--period", choices=("month", "week", "day"), help="group by period of creation"
    )
    report.add_argument("--csv", metavar="FILE", help="also write the full rows to FILE as CSV")
    report.add_argument(
        "--now",
        metavar="TIME",
        help="ISO time the open tickets' current status is counted up to (default: now)",
    )
    report.add_argument(
        "--sla",
        metavar="FILE",
        help="a configuration file whose [[sla]] policies (and [calendars]) count instead of "
        "those of --config: add an achievement column per metric with a target "
        "(default: the [[sla]] policies of --config, if any)",
    )
