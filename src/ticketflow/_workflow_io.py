"""A workflow's serialisation: plain data, JSON, TOML and files, both ways.

`Workflow.to_dict`, `from_dict`, `to_json`, `from_json`, `to_toml`, `from_toml`,
`load` and `save` delegate here. Reading refuses unknown keys, naming where.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterable, Mapping
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from . import _validate
from ._toml import dumps as toml_dumps
from ._workflow_parts import Category, ClosedPolicy, Guard, Status, Transition
from ._workflow_parts import check_name as _name
from .exceptions import WorkflowError

if TYPE_CHECKING:
    from ._workflow import Workflow

__all__ = ["from_dict", "from_json", "from_toml", "load", "save", "to_dict", "to_json", "to_toml"]

_SETTINGS_KEYS: Final = frozenset(
    {
        "closed_policy",
        "reopen_window_days",
        "reopen_resolved",
        "trash_policy",
        "reply_policy",
        "review_tag",
    }
)


def to_dict(workflow: Workflow) -> dict[str, Any]:
    """`Workflow.to_dict` (documented there)."""
    statuses = []
    for s in workflow.statuses:
        item: dict[str, Any] = {"name": s.name, "category": s.category.value}
        if s.label:
            item["label"] = s.label
        if s.final:
            item["final"] = True
        statuses.append(item)
    transitions = []
    for t in workflow.transitions:
        entry: dict[str, Any] = {
            "trigger": t.trigger,
            "sources": list(t.sources),
            "dest": t.dest,
        }
        if t.guard:
            entry["guard"] = t.guard
        transitions.append(entry)
    settings: dict[str, Any] = {
        "closed_policy": workflow.closed_policy.value,
        "reopen_resolved": workflow.reopen_resolved,
        "trash_policy": workflow.trash_policy.value,
        "review_tag": workflow.review_tag,
    }
    if workflow.reply_policy:
        settings["reply_policy"] = {k: v.value for k, v in workflow.reply_policy.items()}
    if workflow.reopen_window is not None:
        settings["reopen_window_days"] = workflow.reopen_window / timedelta(days=1)
    return {
        "name": workflow.name,
        "initial": workflow.initial,
        "settings": settings,
        "statuses": statuses,
        "transitions": transitions,
        "events": dict(workflow.events),
        **({"rules": [dict(r) for r in workflow.rules]} if workflow.rules else {}),
        **({"sla": [dict(p) for p in workflow.sla]} if workflow.sla else {}),
    }


def from_dict(
    cls: type[Workflow], data: Mapping[str, Any], *, guards: Mapping[str, Guard] | None = None
) -> Workflow:
    """`Workflow.from_dict` (documented there)."""
    if not isinstance(data, Mapping):
        raise WorkflowError("a workflow definition must be a mapping", item=None)
    _no_extra(
        data,
        {"name", "initial", "settings", "statuses", "transitions", "events", "rules", "sla"},
        "workflow",
    )
    settings = data.get("settings", {})
    _no_extra(settings, _SETTINGS_KEYS, "settings")
    window = settings.get("reopen_window_days")
    if window is not None and (
        isinstance(window, bool)
        or not isinstance(window, int | float)
        or not -_validate.MAX_DURATION.days <= window <= _validate.MAX_DURATION.days
    ):
        raise WorkflowError(
            "settings: reopen_window_days must be a number of days up to "
            f"{_validate.MAX_DURATION.days}, got {_validate.describe(window)}",
            item="reopen_window_days",
        )
    return cls(
        name=data.get("name", ""),
        initial=data.get("initial", ""),
        statuses=[_status_from(item, i) for i, item in enumerate(_list(data, "statuses"))],
        transitions=[
            _transition_from(item, i) for i, item in enumerate(_list(data, "transitions"))
        ],
        events=_events_from(data.get("events", {})),
        closed_policy=settings.get("closed_policy", ClosedPolicy.FOLLOW_UP),
        reopen_window=None if window is None else timedelta(days=window),
        reopen_resolved=bool(settings.get("reopen_resolved", True)),
        trash_policy=settings.get("trash_policy", ClosedPolicy.KEEP),
        reply_policy=settings.get("reply_policy", {}),
        review_tag=settings.get("review_tag", "needs_review"),
        guards=dict(guards or {}),
        rules=_list(data, "rules"),
        sla=_list(data, "sla"),
    )


def to_json(workflow: Workflow) -> str:
    """`Workflow.to_json` (documented there)."""
    return json.dumps(workflow.to_dict(), indent=2) + "\n"


def from_json(
    cls: type[Workflow], text: str, *, guards: Mapping[str, Guard] | None = None
) -> Workflow:
    """`Workflow.from_json` (documented there)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise WorkflowError(f"invalid JSON: {exc}", item=None) from exc
    return cls.from_dict(data, guards=guards)


def to_toml(workflow: Workflow) -> str:
    """`Workflow.to_toml` (documented there)."""
    return toml_dumps(workflow.to_dict())


def from_toml(
    cls: type[Workflow], text: str, *, guards: Mapping[str, Guard] | None = None
) -> Workflow:
    """`Workflow.from_toml` (documented there)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise WorkflowError(f"invalid TOML: {exc}", item=None) from exc
    return cls.from_dict(data, guards=guards)


def load(
    cls: type[Workflow], path: str | Path, *, guards: Mapping[str, Guard] | None = None
) -> Workflow:
    """`Workflow.load` (documented there)."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".toml":
        return cls.from_toml(text, guards=guards)
    if path.suffix == ".json":
        return cls.from_json(text, guards=guards)
    raise WorkflowError(f"{path}: expected a .toml or .json file", item=str(path))


def save(workflow: Workflow, path: str | Path) -> None:
    """`Workflow.save` (documented there)."""
    path = Path(path)
    if path.suffix == ".toml":
        path.write_text(workflow.to_toml(), encoding="utf-8")
    elif path.suffix == ".json":
        path.write_text(workflow.to_json(), encoding="utf-8")
    else:
        raise WorkflowError(f"{path}: expected a .toml or .json file", item=str(path))


def _no_extra(data: object, allowed: Iterable[str], where: str) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise WorkflowError(
            f"{where} must be a table/mapping, got {type(data).__name__}", item=where
        )
    extra = sorted(set(data) - set(allowed))
    if extra:
        raise WorkflowError(
            f"{where}: unknown key(s) {', '.join(map(repr, extra))}; "
            f"allowed: {', '.join(sorted(allowed))}",
            item=extra[0],
        )
    return data


def _list(data: Mapping[str, Any], key: str) -> list[Any]:
    value = data.get(key, [])
    if not isinstance(value, list | tuple):
        raise WorkflowError(f"{key} must be a list", item=key)
    return list(value)


def _status_from(item: object, index: int) -> Status:
    where = f"statuses[{index}]"
    item = _no_extra(item, {"name", "category", "label", "final"}, where)
    name = _name(item.get("name"), f"{where}.name")
    category = item.get("category")
    if category not in {c.value for c in Category}:
        cats = ", ".join(c.value for c in Category)
        raise WorkflowError(
            f"status {name!r}: unknown category {category!r}; categories: {cats}", item=name
        )
    label = item.get("label", "")
    final_ = item.get("final", False)
    if not isinstance(label, str) or not isinstance(final_, bool):
        raise WorkflowError(
            f"status {name!r}: label must be a string and final a boolean", item=name
        )
    return Status(name=name, category=Category(category), label=label, final=final_)


def _transition_from(item: object, index: int) -> Transition:
    where = f"transitions[{index}]"
    item = _no_extra(item, {"trigger", "sources", "source", "dest", "guard"}, where)
    trigger = _name(item.get("trigger"), f"{where}.trigger")
    sources = item.get("sources", item.get("source"))
    if isinstance(sources, str):
        sources = [sources]
    if not isinstance(sources, list | tuple) or not sources:
        raise WorkflowError(
            f"{where} ({trigger!r}): sources must be a non-empty list", item=trigger
        )
    dest = _name(item.get("dest"), f"{where}.dest")
    guard = item.get("guard")
    if guard is not None:
        guard = _name(guard, f"{where}.guard")
    return Transition(
        trigger=trigger,
        sources=tuple(_name(s, f"{where}.sources") for s in sources),
        dest=dest,
        guard=guard,
    )


def _events_from(value: object) -> dict[str, str]:
    if not isinstance(value, Mapping):
        raise WorkflowError("events must be a table/mapping", item="events")
    out = {}
    for command, trigger in value.items():
        out[_name(command, "events key")] = _name(trigger, f"events.{command}")
    return out
