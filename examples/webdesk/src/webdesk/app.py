"""The web application: sign-in, the routers, files, errors, and the worker beside it."""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from email.message import EmailMessage
from pathlib import Path
from typing import Annotated

from fastapi import FastAPI, Form, Request
from fastapi.exceptions import HTTPException
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from ticketflow import PermissionDenied, TicketflowError, TicketNotFound
from ticketflow.attachments import AttachmentNotFound

from .auth import SESSION_COOKIE, Signer, User
from .desk import Desk, open_desk
from .reporting import Reports
from .seed import seed
from .settings import AGENTS, Settings
from .web import admin, agent, customer, reports
from .web.common import NotFound, SignIn, desk_of, page, user_of
from .worker import Worker

__all__ = ["create_app"]

log = logging.getLogger("webdesk")


def create_app(settings: Settings | None = None, *, worker: bool = True) -> FastAPI:
    """Build the app; at startup it opens the store, seeds an empty one and starts the worker.

    Args:
        settings: Where the data lives (default: `Settings.from_env`).
        worker: Run the worker in a thread beside the server (mail in, rules, outbox).
    """
    settings = settings or Settings.from_env()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        desk = open_desk(settings)
        log.info("seed: %s", seed(desk))
        app.state.desk = desk
        app.state.signer = Signer(settings.secret())
        app.state.reports = reports = Reports(desk.helpdesk)
        # The default report takes seconds on a large store: build it before anyone asks.
        warm = threading.Thread(target=reports.get, args=("recent",), daemon=True)
        warm.start()
        thread = Worker(desk) if worker else None
        if thread is not None:
            thread.start()
        try:
            yield
        finally:
            warm.join(timeout=60)
            if thread is not None:
                thread.stop()
                thread.join(timeout=10)
            desk.helpdesk.store.close()

    app = FastAPI(title="webdesk", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.mount("/static", StaticFiles(directory=Path(__file__).with_name("static")), name="static")
    for module in (customer, agent, admin, reports):
        app.include_router(module.router)
    app.add_api_route("/", home, methods=["GET"])
    app.add_api_route("/signin", signin_form, methods=["GET"], response_class=HTMLResponse)
    app.add_api_route("/signin", signin_send, methods=["POST"], response_class=HTMLResponse)
    app.add_api_route("/signin/{token}", signin_link, methods=["GET"])
    app.add_api_route("/signout", signout, methods=["POST"])
    app.add_api_route("/files/{ticket_id}/{ref}", download, methods=["GET"])
    app.add_exception_handler(SignIn, _to_signin)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(TicketNotFound, _not_found)
    app.add_exception_handler(TicketflowError, _refused)
    return app


def home(request: Request) -> Response:
    """Customers to their tickets, staff to the queue, others to the sign-in page."""
    user = user_of(request)
    if user is None:
        return RedirectResponse("/signin", status_code=303)
    return RedirectResponse("/agent" if user.staff else "/my", status_code=303)


def signin_form(request: Request) -> Response:
    """Ask for an e-mail address."""
    return page(request, "signin.html", staff=sorted(AGENTS), sent=None)


def signin_send(request: Request, email: Annotated[str, Form()]) -> Response:
    """Mail a sign-in link (to the outgoing mail folder; the demo page shows it too)."""
    address = email.strip().lower()
    if "@" not in address or "|" in address or len(address) > 254:
        return page(request, "signin.html", staff=sorted(AGENTS), sent=None, error="Not an address")
    desk = desk_of(request)
    signer: Signer = request.app.state.signer
    link = str(request.url_for("signin_link", token=signer.link_token(address)))
    mail = EmailMessage()
    mail["From"] = desk.settings.address
    mail["To"] = address
    mail["Subject"] = "Your sign-in link"
    mail.set_content(f"Open this link within 15 minutes to sign in:\n\n{link}\n")
    desk.send(mail, f"signin-{address}")
    return page(request, "signin.html", staff=sorted(AGENTS), sent=address, link=link)


def signin_link(request: Request, token: str) -> Response:
    """Open the mailed link: set the session cookie and go home."""
    signer: Signer = request.app.state.signer
    user = signer.link_user(token)
    if user is None:
        return page(
            request, "error.html", message="This link is invalid or expired.", status_code=400
        )
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(
        SESSION_COOKIE, signer.session(user.email), httponly=True, samesite="lax", max_age=43200
    )
    return response


def signout(_request: Request) -> Response:
    """Forget the session."""
    response = RedirectResponse("/signin", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


def download(request: Request, ticket_id: str, ref: str) -> Response:
    """An attachment of a ticket the user may see, in a message they may see; else 404."""
    user = user_of(request)
    if user is None:
        raise NotFound
    desk = desk_of(request)
    refs = _visible_files(desk, user, ticket_id)
    if ref not in refs:
        raise NotFound
    filename, content_type = refs[ref]
    try:
        data = desk.files.read(ref)
    except AttachmentNotFound:
        raise NotFound from None
    return Response(
        data,
        media_type=content_type,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _visible_files(desk: Desk, user: User, ticket_id: str) -> dict[str, tuple[str, str]]:
    """The attachments ``user`` may download from the ticket: ref -> (name, type)."""
    try:
        if user.staff:
            ticket = desk.helpdesk.get(ticket_id)
            attached = [
                *ticket.description_message.attachments,
                *(a for m in ticket.messages for a in m.attachments),
            ]
            return {a.ref: (a.filename, a.content_type) for a in attached}
        view = desk.helpdesk.for_customer(user.email).get(ticket_id)
    except TicketNotFound:
        raise NotFound from None
    public = [*view.attachments, *(a for m in view.messages for a in m.attachments)]
    return {a.ref: (a.filename, a.content_type) for a in public}


async def _to_signin(_request: Request, _exc: Exception) -> Response:
    return RedirectResponse("/signin", status_code=303)


async def _http_error(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, HTTPException):  # registered for HTTPException only
        raise exc
    message = "Not found." if exc.status_code == 404 else str(exc.detail)
    return page(request, "error.html", message=message, status_code=exc.status_code)


async def _not_found(request: Request, _exc: Exception) -> Response:
    return page(request, "error.html", message="Not found.", status_code=404)


async def _refused(request: Request, exc: Exception) -> Response:
    status = 403 if isinstance(exc, PermissionDenied) else 409
    return page(request, "error.html", message=str(exc), status_code=status)
