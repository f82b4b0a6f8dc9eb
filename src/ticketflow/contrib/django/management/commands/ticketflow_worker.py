"""``manage.py ticketflow_worker``: ``python -m ticketflow worker``'s loop on Django's database."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from .....cli._setup import EXIT_OK, SetupError
from .....cli._worker import positive, serve, worker_logging
from ... import store_for
from ..._settings import load_settings

__all__ = ["Command"]

_LEVELS = {0: "WARNING", 1: "INFO", 2: "DEBUG", 3: "DEBUG"}


class Command(BaseCommand):  # type: ignore[misc]  # Django ships no types
    """Fire due time rules and deliver the outbox, until stopped (SIGTERM, SIGINT)."""

    help = (
        "Fire the time rules that are due and deliver outbox entries to settings.TICKETFLOW's "
        "SUBSCRIBERS (default: log each delivery), then wait until the next due time, a commit "
        "that brings work nearer (PostgreSQL: LISTEN/NOTIFY) or --poll. SIGTERM or SIGINT stops "
        "it after the current batch; a second signal aborts."
    )

    def add_arguments(self, parser: Any) -> None:
        """The options of ``python -m ticketflow worker`` that apply to a Django project."""
        parser.add_argument("--once", action="store_true", help="do one pass, then exit")
        parser.add_argument(
            "--database",
            default=None,
            help="the database alias (default: settings.TICKETFLOW['DATABASE'], else 'default')",
        )
        parser.add_argument(
            "--batch",
            type=positive(int),
            default=100,
            help="tickets or outbox entries claimed at a time (default: 100)",
        )
        parser.add_argument(
            "--poll",
            type=positive(float),
            default=5.0,
            help="longest wait between passes, in seconds (default: 5)",
        )
        parser.add_argument(
            "--lease",
            type=positive(float),
            default=60.0,
            help="seconds a claim lasts if the worker dies holding it (default: 60)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        """Run the worker; a failed run raises ``CommandError`` with the worker's exit status."""
        checked = load_settings()
        database = options["database"] or checked.database
        if database not in settings.DATABASES:
            raise CommandError(
                f"--database {database!r}: not an alias of settings.DATABASES "
                f"({', '.join(settings.DATABASES)})"
            )
        store = store_for(database)
        with worker_logging(_LEVELS[min(int(options["verbosity"]), 3)]):
            try:
                status = serve(
                    store,
                    checked.config,
                    clock=checked.clock,
                    subscribers=checked.subscribers,
                    attachments=checked.attachments,
                    batch=options["batch"],
                    poll=options["poll"],
                    lease=timedelta(seconds=options["lease"]),
                    once=options["once"],
                    where=f"Django database {database!r}",
                    subscriber_names=[
                        getattr(s, "__qualname__", repr(s)) for s in checked.subscribers
                    ],
                )
            except SetupError as exc:
                raise CommandError(f"settings.TICKETFLOW['CONFIG']: {exc}") from exc
            finally:
                store.close()
        if status != EXIT_OK:
            raise CommandError(f"the worker stopped with exit status {status}", returncode=status)
