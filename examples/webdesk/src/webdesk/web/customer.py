"""The customers' pages: their own tickets only, the public thread only.

Every read goes through `Helpdesk.for_customer` (a `CustomerHandle`), which
returns `CustomerView` values (no private notes, no internals) and answers
`TicketNotFound` for any ticket that is not theirs; the app turns that into the
same 404 as for an id that does not exist. Commands the handle has no keyword
for (attachments) run on the `Helpdesk` as ``Actor(email, Role.CUSTOMER)``,
which the engine refuses on another's ticket, after the handle has read the ticket.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, Response

from ticketflow import (
    Actor,
    CustomerHandle,
    InvalidInputError,
    Requester,
    Role,
    TicketflowError,
    TicketNotFound,
)
from ticketflow.attachments import Attachment

from ..desk import Desk
from .common import Customer, NotFound, desk_of, done, page

__all__ = ["router", "stored"]

router = APIRouter(prefix="/my")


def _handle(request: Request, user: Customer) -> CustomerHandle:
    return desk_of(request).helpdesk.for_customer(user.email)


def stored(desk: Desk, upload: UploadFile | None) -> list[Attachment]:
    """Keep an uploaded file in the attachment store; nothing when no file was chosen."""
    if upload is None or not upload.filename:
        return []
    return [
        desk.files.put(
            upload.file,
            filename=upload.filename.rsplit("/", 1)[-1].rsplit("\\", 1)[-1] or "upload",
            content_type=upload.content_type or "application/octet-stream",
        )
    ]


@router.get("", response_class=HTMLResponse)
def my_tickets(request: Request, user: Customer, q: str = "") -> Response:
    """The customer's tickets, newest first; with ``q``, those whose public text matches."""
    handle = _handle(request, user)
    if q.strip():
        # The handle searches the customer's own tickets in their public text only.
        try:
            tickets = list(handle.search(q, limit=100).items)
        except InvalidInputError as error:
            return page(request, "error.html", message=str(error), status_code=400)
    else:
        tickets = sorted(handle.find(), key=lambda v: v.created_at, reverse=True)
    return page(request, "my_tickets.html", tickets=tickets, q=q)


@router.get("/new", response_class=HTMLResponse)
def new_ticket(request: Request, user: Customer) -> Response:
    """The form for a new ticket."""
    return page(request, "my_new.html", error=None)


@router.post("/tickets")
def submit(
    request: Request,
    user: Customer,
    subject: Annotated[str, Form()],
    description: Annotated[str, Form()] = "",
    attachment: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """Open a ticket in the customer's name, with an optional attachment."""
    desk = desk_of(request)
    files = stored(desk, attachment)
    try:
        ticket = desk.helpdesk.open_ticket(
            subject=subject,
            requester=Requester(email=user.email),
            description=description,
            channel="portal",
            by=Actor(user.email, Role.CUSTOMER),
            attachments=files,
        )
    except TicketflowError as error:
        for f in files:
            desk.files.delete(f.ref)
        return page(request, "my_new.html", error=str(error))
    return done(request, f"/my/tickets/{ticket.id}")


@router.get("/tickets/{ticket_id}", response_class=HTMLResponse)
def show(request: Request, user: Customer, ticket_id: str) -> Response:
    """One of the customer's tickets: the public thread, reply and confirmation forms."""
    handle = _handle(request, user)
    try:
        view = handle.get(ticket_id)
        allowed = handle.allowed(ticket_id)
    except TicketNotFound:
        raise NotFound from None
    return page(request, "my_ticket.html", view=view, allowed=allowed, error=None)


@router.post("/tickets/{ticket_id}/reply")
def reply(
    request: Request,
    user: Customer,
    ticket_id: str,
    body: Annotated[str, Form()],
    attachment: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """Add the customer's reply (to a closed ticket, the workflow may open a follow-up)."""
    desk = desk_of(request)
    try:
        _handle(request, user).get(ticket_id)
    except TicketNotFound:
        raise NotFound from None
    files = stored(desk, attachment)
    try:
        ticket = desk.helpdesk.customer_reply(
            ticket_id, body, by=Actor(user.email, Role.CUSTOMER), attachments=files
        )
    except TicketflowError:
        for f in files:
            desk.files.delete(f.ref)
        raise
    return done(request, f"/my/tickets/{ticket.id}")


@router.post("/tickets/{ticket_id}/confirm")
def confirm(
    request: Request, user: Customer, ticket_id: str, rating: Annotated[int, Form()]
) -> Response:
    """Confirm the resolution with a rating from 1 to 5."""
    try:
        _handle(request, user).confirm_resolution(ticket_id, rating=rating)
    except TicketNotFound:
        raise NotFound from None
    return done(request, f"/my/tickets/{ticket_id}")
