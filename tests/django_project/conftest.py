"""Django set up for the tests of ticketflow.contrib.django (pytest-django runs the databases).

The settings are this directory's project (``django_project.settings``); they are
configured here, when pytest collects this directory, so that the rest of the
suite runs without Django. Without Django or pytest-django installed the
directory is skipped. Each test runs on SQLite (``default``) and on PostgreSQL
(``postgres``, skipped without ``TICKETFLOW_POSTGRES_URL``).
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Any

import pytest

collect_ignore_glob: list[str] = []
if importlib.util.find_spec("django") is None or importlib.util.find_spec("pytest_django") is None:
    collect_ignore_glob = ["*"]  # the django extra is not installed
else:
    import django
    import django.apps

    if not django.apps.apps.ready:
        # Through the variable for the time of the set-up only: the suite's subprocesses
        # (pytest runs of their own) must not inherit a settings module they cannot import.
        os.environ["DJANGO_SETTINGS_MODULE"] = "django_project.settings"
        try:
            django.setup()
        finally:
            del os.environ["DJANGO_SETTINGS_MODULE"]

    import attrs
    from django.conf import settings as django_settings

    from ticketflow import FakeClock, Helpdesk, HelpdeskConfig
    from ticketflow.contrib.django import get_helpdesk
    from ticketflow.contrib.django.pytest_plugin import django_helpdesk  # noqa: F401 - a fixture

    ALIASES = list(django_settings.DATABASES)
    CONFIG = attrs.evolve(HelpdeskConfig.preset("liveagent"), outbox=["created", "assigned"])

    def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
        """Let every test here reach every database of the project (pytest-django's marker)."""
        here = str(Path(__file__).parent)
        for item in items:
            if str(item.path).startswith(here) and not item.get_closest_marker("django_db"):
                item.add_marker(pytest.mark.django_db(databases=ALIASES))

    @pytest.fixture(params=["default", "postgres"], ids=["sqlite", "postgres"])
    def alias(request: pytest.FixtureRequest) -> str:
        """The database ticketflow uses: SQLite, then PostgreSQL (if configured)."""
        if request.param not in ALIASES:
            pytest.skip("TICKETFLOW_POSTGRES_URL is not set: no PostgreSQL server to test on")
        return str(request.param)

    @pytest.fixture
    def desk(settings: Any, alias: str, fake_clock: FakeClock) -> Helpdesk:
        """The project's desk (get_helpdesk) on ``alias``, with ``fake_clock``, outbox kinds set."""
        settings.TICKETFLOW = {"DATABASE": alias, "CLOCK": fake_clock, "CONFIG": CONFIG}
        return get_helpdesk()
