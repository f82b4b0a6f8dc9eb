"""webdesk: a help desk web application on ticketflow (FastAPI, Jinja2 templates, htmx).

Start it with ``python -m webdesk`` (see the README): the web server and a worker
beside it, on a SQLite file by default.
"""

from .app import create_app
from .settings import Settings

__all__ = ["Settings", "create_app"]
