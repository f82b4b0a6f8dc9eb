"""Test helpers: the project's desk on the test database, with a `FakeClock`.

`fake_helpdesk` (a context manager) builds a desk from ``settings.TICKETFLOW``
with a `FakeClock` and makes it the one `get_helpdesk` returns until it exits,
so the project's own code, called from the test, uses it too.
`TicketflowTestCase` does that around each test of a ``django.test.TestCase``;
with pytest-django, the ``django_helpdesk`` fixture of
``ticketflow.contrib.django.pytest_plugin`` does.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any, ClassVar

from ..._clock import FakeClock
from ..._engine import Helpdesk
from . import build_helpdesk, reset_helpdesk

__all__ = ["TicketflowTestCase", "fake_helpdesk"]


@contextmanager
def fake_helpdesk(clock: FakeClock | None = None) -> Iterator[Helpdesk]:
    """Put a desk with ``clock`` (default: a new `FakeClock`) in `get_helpdesk`'s place.

    The desk is built from ``settings.TICKETFLOW`` as `get_helpdesk` builds
    its own, with the clock replaced; the previous desk is restored on exit.
    Use it where the test database is available (a Django ``TestCase``, a
    pytest-django test with ``db``): its store uses Django's connection.

    Yields:
        The desk (its clock is ``desk.clock``).
    """
    desk = build_helpdesk(clock=FakeClock() if clock is None else clock)
    previous = reset_helpdesk(desk)
    try:
        yield desk
    finally:
        reset_helpdesk(previous)


class TicketflowTestCase:
    """A mixin for ``django.test.TestCase``: ``self.desk`` and ``self.clock`` in each test.

    ``self.desk`` is also what `get_helpdesk` returns during the test;
    ``self.clock`` is its `FakeClock`, starting at ``ticketflow_start``
    (default: Monday 2026-01-05 09:00 UTC)::

        class RefundTests(TicketflowTestCase, TestCase):
            def test_refund(self):
                ticket = self.desk.open_ticket(subject="Refund", requester=ann)
                self.clock.advance(hours=4)
                self.desk.run_due()
    """

    ticketflow_start: ClassVar[datetime | None] = None
    desk: Helpdesk
    clock: FakeClock

    def setUp(self) -> None:
        """Install the desk, then run the next ``setUp``."""
        self.clock = FakeClock(self.ticketflow_start)
        context = fake_helpdesk(self.clock)
        self.desk = context.__enter__()
        cleanups: Any = self
        cleanups.addCleanup(context.__exit__, None, None, None)
        parent: Any = super()
        if hasattr(parent, "setUp"):
            parent.setUp()
