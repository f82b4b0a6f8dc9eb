"""Preset workflows: LiveAgent (the default), Zendesk and Freshdesk.

Each preset is a configuration file shipped in this package (the schema of
`ticketflow.config.HelpdeskConfig`), so it is also an example of a custom
configuration. `ticketflow.config.HelpdeskConfig.preset` returns a preset's whole
configuration (graph, default rules, SLA policies); `liveagent`, `zendesk`,
`freshdesk` and `preset` return its `ticketflow.Workflow`, which for
compatibility still carries the preset's rules as ``Workflow.rules`` data (what
``Helpdesk(workflow)`` runs by default). The settings (what a reply to a closed
ticket does, whether a reply reopens a resolved ticket) can be overridden per
call; see ``docs/presets.md`` for each preset's semantics and where they differ.
"""

from __future__ import annotations

import copy
import functools
import tomllib
from datetime import timedelta
from importlib import resources
from typing import Any

from .._workflow import ClosedPolicy, Workflow

__all__ = ["PRESETS", "freshdesk", "liveagent", "preset", "preset_data", "zendesk"]

PRESETS = ("liveagent", "zendesk", "freshdesk")
"""The names of the shipped presets."""


@functools.cache
def _data(name: str) -> dict[str, Any]:
    text = resources.files(__name__).joinpath(f"{name}.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def preset_data(
    name: str,
    *,
    closed_policy: ClosedPolicy | str | None = None,
    reopen_window: timedelta | None = None,
    reopen_resolved: bool | None = None,
) -> dict[str, Any]:
    """Return a preset's configuration data (a fresh copy, yours to change).

    It is what `ticketflow.config.HelpdeskConfig.from_dict` reads, in the schema of
    the configuration file; with ``closed_policy="reopen"`` the Closed -> Open
    transition is added if the preset lacks it.

    Args:
        name: One of `PRESETS`.
        closed_policy: Overrides the preset's (see `liveagent`).
        reopen_window: Overrides the preset's (see `liveagent`).
        reopen_resolved: Overrides the preset's (see `liveagent`).

    Raises:
        KeyError: no such preset.
    """
    if name not in PRESETS:
        raise KeyError(f"no preset {name!r}; presets: {', '.join(PRESETS)}")
    data = copy.deepcopy(_data(name))
    settings = data.setdefault("settings", {})
    if closed_policy is not None:
        settings["closed_policy"] = ClosedPolicy(closed_policy).value
    if reopen_window is not None:
        settings["reopen_window_days"] = reopen_window / timedelta(days=1)
    if reopen_resolved is not None:
        settings["reopen_resolved"] = reopen_resolved
    if settings.get("closed_policy") == ClosedPolicy.REOPEN.value:
        trigger = data["events"]["customer_reply"]
        has_way_back = any(
            t["trigger"] == trigger and "closed" in t["sources"] for t in data["transitions"]
        )
        if not has_way_back:
            data["transitions"].append({"trigger": trigger, "sources": ["closed"], "dest": "open"})
    return data


def _build(
    name: str,
    closed_policy: ClosedPolicy | str | None,
    reopen_window: timedelta | None,
    reopen_resolved: bool | None,
) -> Workflow:
    data = preset_data(
        name,
        closed_policy=closed_policy,
        reopen_window=reopen_window,
        reopen_resolved=reopen_resolved,
    )
    data.pop("schema_version", None)
    return Workflow.from_dict(data)


def liveagent(
    *,
    closed_policy: ClosedPolicy | str | None = None,
    reopen_window: timedelta | None = None,
    reopen_resolved: bool | None = None,
) -> Workflow:
    """Return LiveAgent's lifecycle: New, Open, Answered, Postponed, Resolved, Closed.

    Args:
        closed_policy: What a customer reply to a closed ticket does (default
            ``follow_up``). ``reopen`` adds the Closed -> Open transition.
        reopen_window: With ``reopen``: how long after closing a reply still reopens.
        reopen_resolved: Whether a customer reply reopens a Resolved ticket (default True).
    """
    return _build("liveagent", closed_policy, reopen_window, reopen_resolved)


def zendesk(
    *,
    closed_policy: ClosedPolicy | str | None = None,
    reopen_window: timedelta | None = None,
    reopen_resolved: bool | None = None,
) -> Workflow:
    """Return Zendesk's lifecycle: New, Open, Pending, On-hold, Solved, Closed.

    Solving needs an assignee (guard ``has_assignee``), tickets never return to New,
    and only Solved tickets close. Arguments as for `liveagent`.
    """
    return _build("zendesk", closed_policy, reopen_window, reopen_resolved)


def freshdesk(
    *,
    closed_policy: ClosedPolicy | str | None = None,
    reopen_window: timedelta | None = None,
    reopen_resolved: bool | None = None,
) -> Workflow:
    """Return Freshdesk's lifecycle: Open, Pending, Waiting on ..., Resolved, Closed.

    New tickets start Open, an agent reply sets Pending, and a customer reply
    reopens even a Closed ticket (policy ``reopen``). Arguments as for `liveagent`.
    """
    return _build("freshdesk", closed_policy, reopen_window, reopen_resolved)


def preset(name: str) -> Workflow:
    """Return the preset called ``name`` (one of `PRESETS`) with its default settings.

    Raises:
        KeyError: no such preset.
    """
    builders = {"liveagent": liveagent, "zendesk": zendesk, "freshdesk": freshdesk}
    if name not in builders:
        raise KeyError(f"no preset {name!r}; presets: {', '.join(PRESETS)}")
    return builders[name]()
