"""pytest fixture ``django_helpdesk``: the project's desk on the test database, with ``fake_clock``.

Not registered automatically (it needs Django configured): add
``pytest_plugins = ["ticketflow.contrib.django.pytest_plugin"]`` to the
project's top ``conftest.py``. Needs pytest-django.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ..._clock import FakeClock
from ..._engine import Helpdesk
from .testing import fake_helpdesk

__all__ = ["django_helpdesk"]


@pytest.fixture
def django_helpdesk(db: None, fake_clock: FakeClock) -> Iterator[Helpdesk]:
    """The desk `get_helpdesk` returns during the test: settings' configuration, ``fake_clock``.

    It works on the test database (pytest-django's ``db``: each test in a
    transaction rolled back at its end, tickets included).
    """
    with fake_helpdesk(fake_clock) as desk:
        yield desk
