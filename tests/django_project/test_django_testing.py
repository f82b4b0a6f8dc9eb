"""The test helpers: the project's desk on the test database, with a FakeClock."""

from __future__ import annotations

from datetime import timedelta

from django.test import TestCase

from ticketflow import FakeClock, Helpdesk, Requester
from ticketflow.contrib.django import get_helpdesk
from ticketflow.contrib.django.testing import TicketflowTestCase, fake_helpdesk

ANN = Requester(name="Ann Example", email="ann@example.com")


def test_the_fixture_is_the_desk_get_helpdesk_returns(
    django_helpdesk: Helpdesk, fake_clock: FakeClock
) -> None:
    assert django_helpdesk is get_helpdesk()
    assert fake_clock is django_helpdesk.clock
    ticket = django_helpdesk.open_ticket(subject="Printer", requester=ANN)
    assert fake_clock.now() == ticket.created_at


def test_fake_helpdesk_restores_the_previous_desk(db: None) -> None:
    before = get_helpdesk()
    with fake_helpdesk() as desk:
        assert desk is get_helpdesk()
        assert isinstance(desk.clock, FakeClock)
    assert before is get_helpdesk()


class TestMixin(TicketflowTestCase, TestCase):
    """A Django TestCase with the mixin, as a project would write it."""

    def test_desk_and_clock(self) -> None:
        assert self.desk is get_helpdesk()
        assert self.clock is self.desk.clock
        ticket = self.desk.open_ticket(subject="Call me", requester=ANN)
        self.desk.postpone(ticket.id, self.clock.now() + timedelta(hours=1), by="bob")
        self.clock.advance(hours=2)
        self.desk.run_due()
        assert "postponed" != self.desk.get(ticket.id).status
