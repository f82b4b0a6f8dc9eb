"""SVG drawn on the server with matplotlib: the report charts and the workflow diagram.

matplotlib's object API (`Figure`, no pyplot) keeps no global state, so charts
can be drawn from the server's threads at once; the SVG backend writes text as
``<text>`` (``svg.fonttype = none``), which keeps the files small and readable.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from datetime import date

import matplotlib as mpl
from matplotlib.figure import Figure

from ticketflow import Category, Workflow

__all__ = ["backlog", "bars", "distribution", "workflow_diagram"]

mpl.rcParams["svg.fonttype"] = "none"
mpl.rcParams["font.size"] = 9

_BLUE = "#3b6ea5"
_EPOCH = date(1970, 1, 1).toordinal()
_FAN = 4  # a move to a closed status from this many statuses or more is listed, not drawn
_GREEN = "#4c9a5e"
_COLUMNS = (
    Category.NEW,
    Category.OPEN,
    Category.PENDING,
    Category.RESOLVED,
    Category.CLOSED,
    Category.TRASH,
)
_FILL = {
    Category.NEW: "#e3f2fd",
    Category.OPEN: "#fff3e0",
    Category.PENDING: "#f3e5f5",
    Category.RESOLVED: "#e8f5e9",
    Category.CLOSED: "#eeeeee",
    Category.TRASH: "#ffebee",
}


def _svg(figure: Figure) -> str:
    out = io.StringIO()
    figure.savefig(out, format="svg", bbox_inches="tight")
    text = out.getvalue()
    return text[text.index("<svg") :]  # inline: no XML declaration or doctype


def _empty(figure: Figure, title: str) -> str:
    axes = figure.add_subplot()
    axes.set_axis_off()
    axes.set_title(title)
    axes.text(0.5, 0.5, "no data", ha="center", va="center", color="grey")
    return _svg(figure)


def distribution(hours: Sequence[float], title: str) -> str:
    """A histogram of durations in hours, on log-spaced bins, with the median marked."""
    figure = Figure(figsize=(5.2, 2.8))
    if not hours:
        return _empty(figure, title)
    axes = figure.add_subplot()
    low = max(min(hours), 1 / 60)
    high = max(*hours, low * 10)
    edges = [
        10 ** (math.log10(low) + i * (math.log10(high) - math.log10(low)) / 24) for i in range(25)
    ]
    axes.hist([max(h, low) for h in hours], bins=edges, color=_BLUE)
    axes.set_xscale("log")
    median = sorted(hours)[(len(hours) - 1) // 2]
    axes.axvline(median, color="black", linestyle="--", linewidth=1)
    axes.set_title(f"{title} (median {median:.1f} h, n={len(hours):,})")
    axes.set_xlabel("hours")
    axes.set_ylabel("tickets")
    return _svg(figure)


def bars(labels: Sequence[str], values: Sequence[float], title: str, ylabel: str) -> str:
    """A bar chart, one bar per label."""
    figure = Figure(figsize=(5.2, 2.8))
    if not labels:
        return _empty(figure, title)
    axes = figure.add_subplot()
    axes.bar(range(len(labels)), values, color=_GREEN)
    step = max(1, len(labels) // 8)  # at most about eight labels on the axis
    ticks = range(0, len(labels), step)
    axes.set_xticks(list(ticks), [labels[i] for i in ticks], rotation=30 if step > 1 else 0)
    axes.set_title(title)
    axes.set_ylabel(ylabel)
    return _svg(figure)


def backlog(days: Sequence[date], open_tickets: Sequence[int], title: str) -> str:
    """A line of the tickets open at the end of each day."""
    figure = Figure(figsize=(5.2, 2.8))
    if not days:
        return _empty(figure, title)
    axes = figure.add_subplot()
    # matplotlib's date numbers: days since its epoch, 1970-01-01.
    x = [float(d.toordinal() - _EPOCH) for d in days]
    axes.plot(x, list(open_tickets), color=_BLUE)
    axes.fill_between(x, list(open_tickets), color=_BLUE, alpha=0.15)
    axes.xaxis_date()
    axes.set_title(title)
    axes.set_ylabel("open tickets")
    figure.autofmt_xdate()
    return _svg(figure)


def workflow_diagram(workflow: Workflow) -> str:  # noqa: C901 - place, sort, draw, label
    """The status graph: one column per category, an arrow per move, labelled with its triggers."""
    columns: dict[Category, list[str]] = {c: [] for c in _COLUMNS}
    for status in workflow.statuses:
        columns[status.category].append(status.name)
    place: dict[str, tuple[float, float]] = {}
    for x, category in enumerate(_COLUMNS):
        for y, name in enumerate(columns[category]):
            # Every other column sits lower, so arrows between neighbours do not overlap.
            place[name] = (x * 2.0, -y * 1.6 - (0.8 if x % 2 else 0.0))
    # A move into the trash or to a closed status from many statuses (spam, delete,
    # purge, close, merge) would draw a fan of arrows: it is listed under the graph.
    moves: dict[tuple[str, str], list[str]] = {}
    fans: list[str] = []
    for transition in workflow.transitions:
        sources = workflow.expand_sources(transition)
        into = workflow.category(transition.dest)
        if into is Category.TRASH or (into is Category.CLOSED and len(sources) >= _FAN):
            fans.append(f"{transition.trigger}: {', '.join(sources)} → {transition.dest}")
            continue
        for source in sources:
            moves.setdefault((source, transition.dest), []).append(transition.trigger)
    figure = Figure(figsize=(11, 6.5))
    axes = figure.add_subplot()
    axes.set_axis_off()
    for (source, dest), triggers in sorted(moves.items()):
        (x0, y0), (x1, y1) = place[source], place[dest]
        label = ", ".join(sorted(set(triggers)))
        if source == dest:
            axes.annotate(label, (x0, y0 + 0.3), ha="center", fontsize=6, color="#555")
            continue
        axes.annotate(
            "",
            xy=(x1, y1),
            xytext=(x0, y0),
            arrowprops={
                "arrowstyle": "-|>",
                "color": "#777",
                "shrinkA": 18,
                "shrinkB": 18,
                "connectionstyle": "arc3,rad=0.15",
                "linewidth": 0.7,
            },
        )
        axes.text(
            (x0 + x1) / 2, (y0 + y1) / 2 + 0.12, label, fontsize=5.5, ha="center", color="#555"
        )
    for name, (x0, y0) in place.items():
        category = workflow.category(name)
        initial = " (start)" if name == workflow.initial else ""
        axes.text(
            x0,
            y0,
            name + initial,
            ha="center",
            va="center",
            fontsize=9,
            bbox={"boxstyle": "round,pad=0.5", "facecolor": _FILL[category], "edgecolor": "#333"},
        )
    for x, category in enumerate(_COLUMNS):
        axes.text(x * 2.0, 1.0, category.value, ha="center", fontsize=10, weight="bold")
    bottom = min(y for _, y in place.values()) - 0.9
    for n, line in enumerate(sorted(set(fans))):
        axes.text(-0.9, bottom - n * 0.32, line, fontsize=7, color="#444")
    axes.set_xlim(-1, 11)
    axes.set_ylim(bottom - 0.32 * len(set(fans)), 1.5)
    axes.set_title(f"{workflow.name} workflow")
    return _svg(figure)
