"""``settings.TICKETFLOW``: read, validated, turned into the parts of a `Helpdesk`.

Every key is optional; an unknown key, or a value of the wrong kind, raises
Django's ``ImproperlyConfigured`` naming the key and what it accepts (at
startup, from the app's ``ready()``, and again whenever the setting changes in
tests).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, Final, final

import attrs
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from ..._clock import Clock, SystemClock
from ..._model import Event, Ticket
from ...attachments import AttachmentStore, FileSystemAttachmentStore
from ...config import HelpdeskConfig
from ...exceptions import TicketflowError
from ...workflows import PRESETS

__all__ = ["KEYS", "TicketflowSettings", "load_settings"]

Subscriber = Callable[[Ticket, Event], None]

KEYS: Final = (
    "ATTACHMENTS_DIR",
    "CLOCK",
    "CONFIG",
    "DATABASE",
    "GUARDS",
    "SUBSCRIBERS",
)
"""The keys ``settings.TICKETFLOW`` may hold (docs/howto/django.md describes each)."""


@final
@attrs.frozen(kw_only=True)
class TicketflowSettings:
    """``settings.TICKETFLOW``, checked: what `get_helpdesk` builds its desk from."""

    config: HelpdeskConfig
    clock: Clock
    database: str
    attachments: AttachmentStore | None
    subscribers: tuple[Subscriber, ...]


def _bad(key: str, message: str) -> ImproperlyConfigured:
    return ImproperlyConfigured(f"settings.TICKETFLOW[{key!r}]: {message}")


def _imported(key: str, value: object) -> object:
    """``value`` itself, or the object a dotted path string names (Django's import_string)."""
    if not isinstance(value, str):
        return value
    try:
        return import_string(value)
    except ImportError as exc:
        raise _bad(
            key,
            f"cannot import {value!r} ({exc}); write a dotted path such as "
            "'myproject.helpdesk.CLOCK'",
        ) from exc


def _config(raw: Mapping[str, Any]) -> HelpdeskConfig:
    value = raw.get("CONFIG", "liveagent")
    if isinstance(value, HelpdeskConfig):
        if "GUARDS" in raw:
            raise _bad("GUARDS", "only used with a CONFIG file; a HelpdeskConfig has its guards")
        return value
    if not isinstance(value, str | os.PathLike):
        raise _bad(
            "CONFIG",
            f"expected a preset name ({', '.join(PRESETS)}), the path of a configuration "
            f".toml/.json file or a HelpdeskConfig, got {type(value).__name__}",
        )
    guards = _imported("GUARDS", raw.get("GUARDS", {}))
    if not isinstance(guards, Mapping) or not all(
        isinstance(k, str) and callable(g) for k, g in guards.items()
    ):
        raise _bad(
            "GUARDS",
            "expected a mapping of guard name -> callable(ticket) -> bool, "
            "or the dotted path of one",
        )
    if isinstance(value, str) and value in PRESETS:
        if guards:
            raise _bad("GUARDS", f"only used with a CONFIG file, not the preset {value!r}")
        return HelpdeskConfig.preset(value)
    try:
        return HelpdeskConfig.load(os.fspath(value), guards=guards)
    except OSError as exc:
        raise _bad(
            "CONFIG",
            f"cannot read {os.fspath(value)!r} ({exc.strerror or exc}); give a configuration "
            f".toml/.json file or a preset name ({', '.join(PRESETS)})",
        ) from exc
    except TicketflowError as exc:
        raise _bad("CONFIG", f"{os.fspath(value)!r}: {exc}") from exc


def _clock(raw: Mapping[str, Any]) -> Clock:
    if "CLOCK" not in raw or raw["CLOCK"] is None:
        return SystemClock()
    clock = _imported("CLOCK", raw["CLOCK"])
    if not callable(getattr(clock, "now", None)):
        raise _bad("CLOCK", f"expected a Clock (an object with now()), got {type(clock).__name__}")
    return clock  # type: ignore[return-value]  # a Clock by its now(); the desk checks the rest


def _database(raw: Mapping[str, Any]) -> str:
    alias = raw.get("DATABASE", "default")
    if not isinstance(alias, str) or alias not in settings.DATABASES:
        raise _bad(
            "DATABASE",
            f"expected the alias of one of settings.DATABASES ({', '.join(settings.DATABASES)}), "
            f"got {alias!r}",
        )
    return alias


def _attachments(raw: Mapping[str, Any]) -> AttachmentStore | None:
    root = raw.get("ATTACHMENTS_DIR")
    if root is None:
        return None
    if not isinstance(root, str | os.PathLike) or not os.fspath(root):
        raise _bad("ATTACHMENTS_DIR", f"expected a directory path, got {root!r}")
    try:
        return FileSystemAttachmentStore(Path(root))
    except OSError as exc:
        raise _bad("ATTACHMENTS_DIR", f"cannot create {os.fspath(root)!r}: {exc}") from exc


def _subscribers(raw: Mapping[str, Any]) -> tuple[Subscriber, ...]:
    listed = raw.get("SUBSCRIBERS", ())
    if isinstance(listed, str) or not isinstance(listed, Iterable):
        raise _bad("SUBSCRIBERS", "expected a list of callables(ticket, event) or dotted paths")
    found: list[Subscriber] = []
    for item in listed:
        subscriber = _imported("SUBSCRIBERS", item)
        if not callable(subscriber):
            raise _bad("SUBSCRIBERS", f"{item!r} is a {type(subscriber).__name__}, not a callable")
        found.append(subscriber)
    return tuple(found)


def load_settings() -> TicketflowSettings:
    """Read and check ``settings.TICKETFLOW`` (absent: all defaults).

    Raises:
        ImproperlyConfigured: a key is unknown or its value unusable; the
            message names the key and what it accepts.
    """
    raw = getattr(settings, "TICKETFLOW", {})
    if not isinstance(raw, Mapping):
        raise ImproperlyConfigured(
            f"settings.TICKETFLOW: expected a dict, got {type(raw).__name__}"
        )
    unknown = sorted(str(k) for k in raw if k not in KEYS)
    if unknown:
        raise ImproperlyConfigured(
            f"settings.TICKETFLOW: unknown key(s) {', '.join(map(repr, unknown))}; "
            f"the keys are {', '.join(KEYS)}"
        )
    return TicketflowSettings(
        config=_config(raw),
        clock=_clock(raw),
        database=_database(raw),
        attachments=_attachments(raw),
        subscribers=_subscribers(raw),
    )
