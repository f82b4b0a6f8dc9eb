"""The Django app: ``INSTALLED_APPS = [..., "ticketflow.contrib.django"]``."""

from __future__ import annotations

from django.apps import AppConfig

from ._settings import load_settings

__all__ = ["TicketflowConfig"]


class TicketflowConfig(AppConfig):  # type: ignore[misc]  # Django ships no types
    """ticketflow's app: label ``ticketflow``; checks ``settings.TICKETFLOW`` when ready."""

    name = "ticketflow.contrib.django"
    label = "ticketflow"
    verbose_name = "Help desk (ticketflow)"
    default_auto_field = "django.db.models.AutoField"

    def ready(self) -> None:
        """Check ``settings.TICKETFLOW``: a bad key fails at startup, not at the first ticket."""
        load_settings()
