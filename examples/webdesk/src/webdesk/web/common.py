"""What every page shares: the templates, the signed-in user, the desk."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from ..auth import SESSION_COOKIE, Signer, User
from ..desk import Desk
from ..reporting import Reports

__all__ = [
    "Customer",
    "NotFound",
    "Staff",
    "desk_of",
    "done",
    "page",
    "templates",
]

templates = Jinja2Templates(directory=Path(__file__).resolve().parent.parent / "templates")


def _ago(value: datetime | None) -> str:
    if value is None:
        return ""
    return f"{value:%Y-%m-%d %H:%M} UTC"


def _span(value: timedelta | None) -> str:
    if value is None:
        return ""
    seconds = int(abs(value.total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    text = f"{days}d {hours}h" if days else f"{hours}h {rest // 60:02d}m"
    return f"-{text}" if value.total_seconds() < 0 else text


templates.env.filters["when"] = _ago
templates.env.filters["span"] = _span


class NotFound(HTTPException):
    """The one answer for a ticket, file or page a user may not see: 404, as for none."""

    def __init__(self) -> None:
        """404 Not Found."""
        super().__init__(status_code=404, detail="Not found")


def desk_of(request: Request) -> Desk:
    """The desk the app was built with."""
    desk: Desk = request.app.state.desk
    return desk


def reports_of(request: Request) -> Reports:
    """The report cache."""
    reports: Reports = request.app.state.reports
    return reports


def user_of(request: Request) -> User | None:
    """The signed-in user, from the session cookie, or ``None``."""
    signer: Signer = request.app.state.signer
    return signer.session_user(request.cookies.get(SESSION_COOKIE))


class _SignIn(Exception):
    """Raised by the user dependencies: send the browser to the sign-in page."""


def _customer(request: Request) -> User:
    user = user_of(request)
    if user is None:
        raise _SignIn
    if user.staff:
        raise NotFound
    return user


def _staff(request: Request) -> User:
    user = user_of(request)
    if user is None:
        raise _SignIn
    if not user.staff:
        raise NotFound  # a customer learns nothing about the agents' pages
    return user


def _admin(request: Request) -> User:
    user = _staff(request)
    if user.role != "admin":
        raise NotFound
    return user


Customer = Annotated[User, Depends(_customer)]
Staff = Annotated[User, Depends(_staff)]
Admin = Annotated[User, Depends(_admin)]
SignIn = _SignIn


def page(request: Request, name: str, *, status_code: int = 200, **context: Any) -> HTMLResponse:
    """Render template ``name`` with the signed-in user in its context.

    An error page answering an htmx request replaces the page's ``<main>``, not the
    panel the request meant to update, so the message is seen.
    """
    response = templates.TemplateResponse(
        request, name, {"user": user_of(request), **context}, status_code=status_code
    )
    if status_code >= 400 and request.headers.get("HX-Request") == "true":
        response.headers.update(
            {"HX-Retarget": "main", "HX-Reselect": "main", "HX-Reswap": "outerHTML"}
        )
    return response


def done(request: Request, url: str, fragment: str | None = None, **context: Any) -> Response:
    """After a form post: htmx gets ``fragment`` rendered, a plain browser a redirect to ``url``."""
    if fragment is not None and request.headers.get("HX-Request") == "true":
        return page(request, fragment, **context)
    return RedirectResponse(url, status_code=303)
