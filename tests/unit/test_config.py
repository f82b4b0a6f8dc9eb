"""HelpdeskConfig: one configuration, one versioned schema, unknown keys refused by path."""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ticketflow import (
    BusinessCalendar,
    EventKind,
    FakeClock,
    Helpdesk,
    HelpdeskConfig,
    InvalidInputError,
    RuleError,
    Ticket,
    TicketflowError,
    WorkflowError,
    workflows,
)
from ticketflow.config import _SCHEMA, DEFAULT_OUTBOX, sla_from_dict
from ticketflow.config import _ListOf as ListOf
from ticketflow.config import _MapOf as MapOf
from ticketflow.config import _Node as Node
from ticketflow.config import _Table as Table
from ticketflow.rules import when
from ticketflow.sla import SlaPolicy

from .conftest import ANN, START

REFERENCE = Path(__file__).resolve().parents[2] / "docs/reference/config.md"

OFFICE = BusinessCalendar.weekdays_9_to_5("Europe/Brussels")

FULL_TOML = """\
schema_version = 1
name = "support"
initial = "new"
outbox = ["notified"]

[settings]
closed_policy = "reopen"
reopen_window_days = 7
reopen_resolved = true

[[statuses]]
name = "new"
category = "new"

[[statuses]]
name = "open"
category = "open"
label = "In progress"

[[statuses]]
name = "solved"
category = "resolved"

[[statuses]]
name = "closed"
category = "closed"

[[transitions]]
trigger = "reply"
sources = ["new", "open", "solved", "closed"]
dest = "open"

[[transitions]]
trigger = "solve"
sources = ["new", "open"]
dest = "solved"
guard = "has_assignee"

[[transitions]]
trigger = "close"
sources = ["solved"]
dest = "closed"

[events]
agent_reply = "reply"
customer_reply = "reply"
resolve = "solve"
close = "close"

[calendars.office]
timezone = "Europe/Brussels"
holidays = ["2026-12-25"]

[calendars.office.hours]
mon = [["09:00", "17:00"]]
tue = [["09:00", "17:00"]]

[[rules]]
name = "close_solved"
at = { anchor = "status_entered", delay = "4d" }
conditions = { all = [{ field = "status", op = "is", value = "solved" }] }
actions = [{ command = "close" }, { notify = "closed" }]

[[rules]]
name = "vip"
on = ["created"]
conditions = [{ field = "tags", op = "contains", value = "vip" }]
actions = [{ escalate = { level = 1, notify = "lead" } }]

[[sla]]
name = "standard"
calendar = "office"
warn_before = { first_reply = "15m" }
run_in = { resolution = ["new", "open"] }

[sla.targets.normal]
first_reply = "1h"
resolution = "2d"

[[sla.escalations]]
level = 1
after = "30m"
notify = "lead"
"""


def full_config() -> HelpdeskConfig:
    return HelpdeskConfig.from_toml(FULL_TOML)


# --- building and writing ------------------------------------------------------------------


@pytest.mark.parametrize("name", workflows.PRESETS)
def test_each_preset_config_round_trips_through_toml_and_json(name: str) -> None:
    """A preset's configuration reads back equal from its TOML and its JSON."""
    config = HelpdeskConfig.preset(name)
    assert config == HelpdeskConfig.from_toml(config.to_toml())
    assert config == HelpdeskConfig.from_json(config.to_json())
    assert config.to_toml().startswith("schema_version = 1\n")


@pytest.mark.parametrize("name", workflows.PRESETS)
def test_a_preset_config_is_what_helpdesk_makes_of_the_preset_workflow(name: str) -> None:
    """HelpdeskConfig.preset(name) == what Helpdesk(workflows.<name>()) runs."""
    desk = Helpdesk(workflows.preset(name), clock=FakeClock(START))
    assert HelpdeskConfig.preset(name) == desk.config
    assert () == desk.config.workflow.rules
    assert () == desk.config.workflow.sla


def test_a_full_config_reads_every_section_and_writes_it_back() -> None:
    """Graph, settings, calendars, rules, SLA (naming a calendar) and outbox, both ways."""
    config = full_config()
    assert ("support", "new") == (config.workflow.name, config.workflow.initial)
    assert ["close_solved", "vip"] == [r.name for r in config.rules]
    assert frozenset({EventKind.NOTIFIED}) == config.outbox
    office = config.calendars["office"]
    assert office == config.sla.policies[0].calendar
    assert "Europe/Brussels" == office.timezone
    assert config == HelpdeskConfig.from_toml(config.to_toml())
    assert config == HelpdeskConfig.from_json(config.to_json())
    assert 'calendar = "office"' in config.to_toml()


def test_save_and_load_use_the_file_suffix(tmp_path: Path) -> None:
    config = full_config()
    for suffix in (".toml", ".json"):
        config.save(tmp_path / f"c{suffix}")
        assert config == HelpdeskConfig.load(tmp_path / f"c{suffix}")
    with pytest.raises(WorkflowError, match=r"expected a \.toml or \.json file"):
        HelpdeskConfig.load(tmp_path / "c.yaml")


def test_a_policy_calendar_not_in_calendars_is_written_inline() -> None:
    policy = SlaPolicy("std", targets={"normal": {"first_reply": "1h"}}, calendar=OFFICE)
    config = HelpdeskConfig.from_workflow(workflows.liveagent(), sla=[policy])
    data = config.to_dict()
    assert OFFICE.to_dict() == data["sla"][0]["calendar"]
    assert config == HelpdeskConfig.from_dict(data)


def test_the_outbox_defaults_to_the_notification_kinds_and_an_empty_one_writes_none() -> None:
    """outbox = [] means no outbox; no key means DEFAULT_OUTBOX. The desk runs what it says."""
    assert DEFAULT_OUTBOX == HelpdeskConfig.preset("liveagent").outbox
    notify = when([], on=["created"], actions=[{"notify": "hello"}], name="hello")
    pending = []
    for outbox in (DEFAULT_OUTBOX, frozenset()):
        config = attrs.evolve(HelpdeskConfig.preset("liveagent"), rules=[notify], outbox=outbox)
        again = HelpdeskConfig.from_toml(config.to_toml())
        assert outbox == again.outbox
        desk = Helpdesk(config=again, clock=FakeClock(START))
        desk.open_ticket(subject="x", requester=ANN)
        pending.append(desk.store.outbox_pending())
    assert [1, 0] == pending


def test_sla_from_dict_reads_only_the_sla_and_calendars_of_a_file() -> None:
    data = {"schema_version": 1, **{k: full_config().to_dict()[k] for k in ("calendars", "sla")}}
    assert full_config().sla.policies == sla_from_dict(data).policies
    with pytest.raises(WorkflowError, match=r"^polices: unknown key"):
        sla_from_dict({"polices": []})


# --- refusing ------------------------------------------------------------------------------


@pytest.mark.parametrize("version", [0, 2, "1", True])
def test_an_unknown_schema_version_is_refused_naming_both_versions(version: object) -> None:
    data = full_config().to_dict()
    data["schema_version"] = version
    with pytest.raises(WorkflowError, match=r"^schema_version: .*version 1, the file says") as e:
        HelpdeskConfig.from_dict(data)
    assert "schema_version" == e.value.item


def test_a_file_without_schema_version_is_read_as_version_1() -> None:
    data = full_config().to_dict()
    del data["schema_version"]
    assert full_config() == HelpdeskConfig.from_dict(data)


@pytest.mark.parametrize(
    ("path", "error"),
    [
        ("sla[0].targets.normal.first_repy", RuleError),
        ("sla[0].escalations[0].assign_to", RuleError),
        ("sla[0].warn_before.first_replies", RuleError),
        ("rules[0].at.when", RuleError),
        ("rules[1].conditions[0].operator", RuleError),
        ("rules[0].actions[1].explode", RuleError),
        ("rules[1].actions[0].escalate.urgency", RuleError),
        ("calendars.office.tz", InvalidInputError),
        ("statuses[1].colour", WorkflowError),
        ("transitions[0].guards", WorkflowError),
        ("events.answer", WorkflowError),
        ("settings.reopen", WorkflowError),
        ("owner", WorkflowError),
    ],
)
def test_an_unknown_key_is_refused_with_its_full_path(path: str, error: type[Exception]) -> None:
    """A misspelt key anywhere fails with its section's error, the message led by its path."""
    data = full_config().to_dict()
    *parents, last = re.findall(r"[^.\[\]]+", path)
    node: Any = data
    for part in parents:
        node = node[int(part)] if part.isdigit() else node[part]
    node[last] = 1
    with pytest.raises(error) as info:
        HelpdeskConfig.from_dict(data)
    assert str(info.value).startswith(f"{path}: unknown")


def closed_tables(data: object, path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every table of ``data`` whose keys the schema fixes (not calendars, hours, set_field)."""
    if isinstance(data, dict):
        if path == "" or not path.endswith((".hours", "calendars")):
            yield path, data
        for key, value in data.items():
            yield from closed_tables(value, f"{path}.{key}" if path else key)
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from closed_tables(value, f"{path}[{index}]")


TABLES = [path for path, _ in closed_tables(full_config().to_dict())]


@given(st.sampled_from(TABLES), st.from_regex(r"[a-z][a-z_]{0,8}x", fullmatch=True))
def test_a_key_added_to_any_table_is_refused_at_its_path(where: str, key: str) -> None:
    """Property: any unknown key in any fixed table is refused, named by its full path."""
    data = full_config().to_dict()
    table = dict(closed_tables(data))[where]
    table[key] = "surplus"
    path = f"{where}.{key}" if where else key
    with pytest.raises(TicketflowError) as info:
        HelpdeskConfig.from_dict(copy.deepcopy(data))
    assert str(info.value).startswith(f"{path}: unknown")
    assert isinstance(info.value, ValueError)


def test_an_sla_policy_naming_an_unknown_calendar_is_refused() -> None:
    text = FULL_TOML.replace('calendar = "office"', 'calendar = "ofice"')
    with pytest.raises(RuleError, match=r"^sla\[0\]\.calendar: no calendar named 'ofice'.*office"):
        HelpdeskConfig.from_toml(text)


def test_a_rule_the_graph_cannot_run_is_refused_when_the_config_is_built() -> None:
    text = FULL_TOML.replace('{ command = "close" }', '{ command = "wake" }')
    with pytest.raises(RuleError, match="has no command 'wake'"):
        HelpdeskConfig.from_toml(text)


def test_an_unknown_outbox_kind_is_refused_with_its_index() -> None:
    with pytest.raises(WorkflowError, match=r"^outbox\[1\]: unknown event kind 'notifyed'"):
        HelpdeskConfig.from_toml(FULL_TOML.replace('["notified"]', '["notified", "notifyed"]'))


def test_a_workflow_still_carrying_rules_is_refused_by_the_constructor() -> None:
    """HelpdeskConfig(workflow=workflows.zendesk()) would drop its rules: refused, with the fix."""
    with pytest.raises(WorkflowError, match="from_workflow"):
        HelpdeskConfig(workflow=workflows.zendesk())


def test_helpdesk_takes_config_or_workflow_arguments_not_both() -> None:
    config = HelpdeskConfig.preset("zendesk")
    extras: list[dict[str, Any]] = [{"rules": []}, {"sla": ()}, {"outbox": ()}]
    for extra in extras:
        with pytest.raises(InvalidInputError) as info:
            Helpdesk(config=config, **extra)
        assert "config" == info.value.field
    with pytest.raises(InvalidInputError):
        Helpdesk(workflows.zendesk(), config=config)
    with pytest.raises(InvalidInputError, match="HelpdeskConfig"):
        Helpdesk(config=workflows.zendesk())  # type: ignore[arg-type]


# --- guards --------------------------------------------------------------------------------

GUARDED = FULL_TOML.replace('guard = "has_assignee"', 'guard = "is_vip"')


def is_vip(ticket: Ticket) -> bool:
    return "vip" in ticket.tags


def test_custom_guards_are_given_by_name_when_loading(tmp_path: Path) -> None:
    """load(path, guards=...) wires the callables; the desk's transitions call them."""
    path = tmp_path / "guarded.toml"
    path.write_text(GUARDED, encoding="utf-8")
    config = HelpdeskConfig.load(path, guards={"is_vip": is_vip})
    assert {"is_vip": is_vip} == dict(config.guards)
    desk = Helpdesk(config=config, clock=FakeClock(START))
    vip = desk.open_ticket(subject="x", requester=ANN, tags=["vip"])
    plain = desk.open_ticket(subject="y", requester=ANN)
    assert "solved" == desk.resolve(vip.id, by="bob").status
    with pytest.raises(TicketflowError, match="is_vip"):
        desk.resolve(plain.id, by="bob")


def test_a_custom_guard_without_its_callable_says_how_to_give_it(tmp_path: Path) -> None:
    path = tmp_path / "guarded.toml"
    path.write_text(GUARDED, encoding="utf-8")
    with pytest.raises(WorkflowError, match=r"unknown guard 'is_vip'.*guards=.*--guards") as e:
        HelpdeskConfig.load(path)
    assert "is_vip" == e.value.item


# --- the reference page ----------------------------------------------------------------------


def schema_paths(node: Node, prefix: str = "") -> Iterator[str]:
    """Every key of the schema, spelt as the reference page spells it."""
    if isinstance(node, Table):
        for key, value in node.keys.items():
            path = f"{prefix}.{key}" if prefix else key
            yield path
            yield from schema_paths(value, path)
    elif isinstance(node, MapOf):
        path = f"{prefix}.{node.placeholder}"
        yield path
        yield from schema_paths(node.value, path)
    elif isinstance(node, ListOf):
        yield from schema_paths(node.item, f"{prefix}[]")


def test_the_reference_page_lists_every_key_of_the_schema() -> None:
    """docs/reference/config.md names each key of the schema (as `sla[].targets.<priority>`)."""
    text = REFERENCE.read_text(encoding="utf-8")
    missing = [path for path in schema_paths(_SCHEMA) if f"`{path}`" not in text]
    assert [] == missing
