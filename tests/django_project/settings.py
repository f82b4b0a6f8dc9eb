"""Settings of the test project: SQLite as ``default``, PostgreSQL as ``postgres`` when available.

``TICKETFLOW_POSTGRES_URL`` (a psycopg 3 server) adds the ``postgres`` alias;
pytest-django creates a test database on each alias the tests ask for.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from urllib.parse import unquote, urlsplit

SECRET_KEY = "test-only-not-secret"  # noqa: S105 - a test project
DEBUG = False
ALLOWED_HOSTS = ["testserver"]
USE_TZ = True
TIME_ZONE = "UTC"
ROOT_URLCONF = "django_project.urls"
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "ticketflow.contrib.django",
    "django_project.shop",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

DATABASES: dict[str, dict[str, object]] = {
    # A file, not ":memory:": the tests read committed rows from other threads' connections.
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(Path(tempfile.gettempdir()) / "tf_django_never_used.sqlite3"),  # tests: TEST
        "TEST": {"NAME": str(Path(tempfile.gettempdir()) / f"tf_django_{os.getpid()}.sqlite3")},
    },
}
_url = os.environ.get("TICKETFLOW_POSTGRES_URL")
if _url:
    _parts = urlsplit(_url)
    DATABASES["postgres"] = {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": _parts.path.lstrip("/"),
        "USER": unquote(_parts.username or ""),
        "PASSWORD": unquote(_parts.password or ""),
        "HOST": _parts.hostname or "",
        "PORT": str(_parts.port or ""),
        # One per process: runs at the same time on one server (CI, developers) do not collide.
        "TEST": {"NAME": f"test_ticketflow_django_{os.getpid()}"},
    }

# Ticket rows (the admin's model) are read from the database ticketflow uses.
DATABASE_ROUTERS = ["django_project.routers.TicketflowRouter"]

TICKETFLOW: dict[str, object] = {}
