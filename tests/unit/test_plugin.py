"""The pytest plugin (entry point ``pytest11``): ``fake_clock`` and ``helpdesk`` fixtures."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from datetime import timedelta
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from ticketflow import FakeClock, Helpdesk, MemoryStore, Requester
from ticketflow.testing import pytest_plugin

from .conftest import START


def test_plugin_is_declared_as_a_pytest11_entry_point() -> None:
    """The installed distribution declares the plugin under the ``pytest11`` group."""
    found = {ep.name: ep.value for ep in entry_points(group="pytest11")}
    assert "ticketflow.testing.pytest_plugin" == found.get("ticketflow")


def test_plugin_is_registered_by_pytest(request: pytest.FixtureRequest) -> None:
    """pytest loaded the plugin module through its entry point."""
    assert pytest_plugin is request.config.pluginmanager.get_plugin("ticketflow")


def test_fake_clock_fixture_is_a_fake_clock_on_monday_morning(fake_clock: FakeClock) -> None:
    """``fake_clock`` is a FakeClock at Monday 2026-01-05 09:00 UTC."""
    assert isinstance(fake_clock, FakeClock)
    assert START == fake_clock.now()


def test_fake_clock_fixture_can_be_moved(fake_clock: FakeClock) -> None:
    """The fixture's clock moves like any FakeClock (and starts afresh in each test)."""
    fake_clock.advance(days=1)
    assert START + timedelta(days=1) == fake_clock.now()


def test_helpdesk_fixture_is_a_liveagent_desk_on_the_fake_clock(
    helpdesk: Helpdesk, fake_clock: FakeClock
) -> None:
    """``helpdesk`` runs LiveAgent on an empty MemoryStore and on the ``fake_clock`` fixture."""
    assert (fake_clock, "liveagent", 0) == (
        helpdesk.clock,
        helpdesk.workflow.name,
        helpdesk.store.count(),
    )
    assert isinstance(helpdesk.store, MemoryStore)


def test_helpdesk_fixture_stamps_events_with_the_fake_clock(
    helpdesk: Helpdesk, fake_clock: FakeClock
) -> None:
    """Tickets made through ``helpdesk`` follow ``fake_clock``."""
    ticket = helpdesk.open_ticket(subject="x", requester=Requester(name="Ann"))
    fake_clock.advance(hours=2)
    replied = helpdesk.agent_reply(ticket.id, "hi", by="bob")
    assert (START, START + timedelta(hours=2), "answered") == (
        replied.created_at,
        replied.first_response_at,
        replied.status,
    )


def test_fixtures_work_in_a_project_without_any_conftest(tmp_path: Path) -> None:
    """In a fresh project, the installed plugin alone provides both fixtures."""
    (tmp_path / "test_uses_plugin.py").write_text(
        textwrap.dedent(
            """
            from datetime import UTC, datetime

            from ticketflow import Requester


            def test_fake_clock(fake_clock):
                assert datetime(2026, 1, 5, 9, 0, tzinfo=UTC) == fake_clock.now()


            def test_helpdesk(helpdesk, fake_clock):
                fake_clock.advance(minutes=5)
                ticket = helpdesk.open_ticket(subject="x", requester=Requester(name="A"))
                assert fake_clock.now() == ticket.created_at
                assert 1 == helpdesk.store.count()
            """
        ),
        encoding="utf-8",
    )
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"PYTEST_ADDOPTS", "PYTEST_DISABLE_PLUGIN_AUTOLOAD", "PYTEST_PLUGINS"}
    }
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert 0 == result.returncode, result.stdout + result.stderr
    assert "2 passed" in result.stdout
