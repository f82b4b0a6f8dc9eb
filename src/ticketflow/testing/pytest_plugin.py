"""pytest plugin: ``fake_clock`` and ``helpdesk`` fixtures (registered through ``pytest11``).

It imports only ticketflow itself, so it costs nothing in test suites that do not use it.
"""

from __future__ import annotations

import pytest

from .._clock import FakeClock
from .._engine import Helpdesk
from ..stores import MemoryStore

__all__ = ["fake_clock", "helpdesk"]


@pytest.fixture
def fake_clock() -> FakeClock:
    """A `FakeClock` at Monday 2026-01-05 09:00 UTC."""
    return FakeClock()


@pytest.fixture
def helpdesk(fake_clock: FakeClock) -> Helpdesk:
    """A `Helpdesk` on the LiveAgent preset, a fresh `MemoryStore` and ``fake_clock``."""
    return Helpdesk(store=MemoryStore(), clock=fake_clock)
