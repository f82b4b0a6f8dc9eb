"""The reports page: charts drawn as SVG on the server, and CSV downloads."""

from __future__ import annotations

import io

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from ticketflow.metrics import aggregate, to_rows, write_csv

from ..reporting import SCOPES
from .common import NotFound, Staff, page, reports_of

__all__ = ["router"]

router = APIRouter(prefix="/reports")


def _scope(scope: str) -> str:
    if scope not in SCOPES:
        raise NotFound
    return scope


@router.get("", response_class=HTMLResponse)
def reports(request: Request, user: Staff, scope: str = "recent") -> Response:
    """First response and resolution distributions, SLA per week, backlog, satisfaction."""
    report = reports_of(request).get(_scope(scope))
    return page(
        request, "reports.html", svgs=report.charts, report=report, scopes=SCOPES, scope=scope
    )


@router.get("/tickets.csv")
def tickets_csv(request: Request, user: Staff, scope: str = "recent") -> Response:
    """One row per ticket (`ticketflow.metrics.to_rows`)."""
    return _csv(to_rows(reports_of(request).get(_scope(scope)).metrics), f"tickets-{scope}.csv")


@router.get("/weekly.csv")
def weekly_csv(request: Request, user: Staff, scope: str = "recent") -> Response:
    """One row per week of creation (`ticketflow.metrics.aggregate`)."""
    metrics = reports_of(request).get(_scope(scope)).metrics
    return _csv(aggregate(metrics, by=(), period="week"), f"weekly-{scope}.csv")


def _csv(rows: list[dict[str, str | int | float | None]], name: str) -> Response:
    out = io.StringIO()
    write_csv(rows, out)
    return Response(
        out.getvalue(),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
