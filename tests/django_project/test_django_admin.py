"""The read-only admin: pages render for a superuser; adding, changing, deleting are refused."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client

from ticketflow import Helpdesk, Requester
from ticketflow.contrib.django.models import Ticket

ANN = Requester(name="Ann Example", email="ann@example.com")
LIST = "/admin/ticketflow/ticket/"


@pytest.fixture
def ticket_id(desk: Helpdesk) -> str:
    ticket = desk.open_ticket(subject="Printer <on fire>", requester=ANN, description="Help")
    desk.assign(ticket.id, "bob", by="bob")
    return ticket.id


def test_the_list_and_a_tickets_page_render(admin_client: Client, ticket_id: str) -> None:
    page = admin_client.get(LIST)
    assert 200 == page.status_code
    text = page.content.decode()
    assert ticket_id in text
    assert "bob" in text
    assert f"{LIST}add/" not in text  # no "Add ticket" button

    page = admin_client.get(f"{LIST}{ticket_id}/change/")
    assert 200 == page.status_code
    text = page.content.decode()
    assert "Printer &lt;on fire&gt;" in text  # escaped
    assert "ann@example.com" in text
    assert "<td>created</td>" in text
    assert "<td>assigned</td>" in text
    assert 'name="_save"' not in text  # view only


def test_the_list_filters_by_status(admin_client: Client, ticket_id: str, desk: Helpdesk) -> None:
    other = desk.open_ticket(subject="Other", requester=ANN)
    text = admin_client.get(LIST, {"status": "new", "q": other.id}).content.decode()
    assert other.id in text
    assert ticket_id not in text


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "add/"),
        ("post", "add/"),
        ("post", "{id}/change/"),
        ("get", "{id}/delete/"),
        ("post", "{id}/delete/"),
    ],
)
def test_adding_changing_and_deleting_are_refused(
    admin_client: Client, ticket_id: str, desk: Helpdesk, method: str, path: str
) -> None:
    before = desk.get(ticket_id)
    data = {"status": "closed", "priority": "1", "version": "9", "post": "yes"}
    response = getattr(admin_client, method)(LIST + path.format(id=ticket_id), data)
    assert 403 == response.status_code
    assert before == desk.get(ticket_id)


def test_the_bulk_delete_action_is_not_offered(admin_client: Client, ticket_id: str) -> None:
    response = admin_client.post(
        LIST, {"action": "delete_selected", "_selected_action": [ticket_id]}
    )
    assert 200 == response.status_code  # the list again, nothing done
    assert 'name="action"' not in response.content.decode()


def test_staff_need_the_view_permission(client: Client, ticket_id: str) -> None:
    user = User.objects.create_user("agent", password="pw", is_staff=True)  # noqa: S106
    client.force_login(user)
    assert 403 == client.get(LIST).status_code
    user.user_permissions.add(Permission.objects.get(codename="view_ticket"))
    assert 200 == client.get(LIST).status_code


def test_the_model_refuses_writes(ticket_id: str, settings: Any) -> None:
    row = Ticket.objects.get(pk=ticket_id)
    assert "new" == row.status
    assert "bob" == row.assignee
    with pytest.raises(NotImplementedError):
        row.save()
    with pytest.raises(NotImplementedError):
        row.delete()
