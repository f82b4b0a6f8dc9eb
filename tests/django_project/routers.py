"""Send the ORM's reads of ticketflow's rows (the admin) to ``TICKETFLOW['DATABASE']``."""

from __future__ import annotations

from typing import Any

from django.conf import settings


class TicketflowRouter:
    def db_for_read(self, model: Any, **hints: Any) -> str | None:
        if model._meta.app_label == "ticketflow":
            return settings.TICKETFLOW.get("DATABASE", "default")
        return None
