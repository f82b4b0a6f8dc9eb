"""settings.TICKETFLOW: every key read, every bad value refused with a message naming it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.apps import apps
from django.core.exceptions import ImproperlyConfigured

from django_project import helpdesk
from ticketflow import HelpdeskConfig, SystemClock
from ticketflow.attachments import FileSystemAttachmentStore
from ticketflow.contrib.django import get_helpdesk
from ticketflow.contrib.django._settings import load_settings


def refused(settings: Any, value: object, *words: str) -> None:
    settings.TICKETFLOW = value
    with pytest.raises(ImproperlyConfigured) as caught:
        load_settings()
    for word in words:
        assert word in str(caught.value)


def test_defaults_without_the_setting(settings: Any) -> None:
    del settings.TICKETFLOW
    checked = load_settings()
    assert "liveagent" == checked.config.workflow.name
    assert isinstance(checked.clock, SystemClock)
    assert "default" == checked.database
    assert checked.attachments is None
    assert () == checked.subscribers


def test_every_key_is_read(settings: Any, tmp_path: Path) -> None:
    config_file = tmp_path / "desk.toml"
    config_file.write_text(HelpdeskConfig.preset("zendesk").to_toml(), encoding="utf-8")
    settings.TICKETFLOW = {
        "CONFIG": config_file,
        "GUARDS": {"vip": lambda ticket: True},
        "CLOCK": "django_project.helpdesk.CLOCK",
        "DATABASE": "default",
        "ATTACHMENTS_DIR": tmp_path / "files",
        "SUBSCRIBERS": ["django_project.helpdesk.record"],
    }
    checked = load_settings()
    assert "zendesk" == checked.config.workflow.name
    assert helpdesk.CLOCK is checked.clock
    assert isinstance(checked.attachments, FileSystemAttachmentStore)
    assert tmp_path / "files" == checked.attachments.root
    assert (helpdesk.record,) == checked.subscribers
    desk = get_helpdesk()
    assert helpdesk.CLOCK is desk.clock
    assert "zendesk" == desk.config.workflow.name


def test_a_preset_name_and_a_config_object(settings: Any) -> None:
    settings.TICKETFLOW = {"CONFIG": "freshdesk"}
    assert "freshdesk" == load_settings().config.workflow.name
    config = HelpdeskConfig.preset("zendesk")
    settings.TICKETFLOW = {"CONFIG": config}
    assert config is load_settings().config


@pytest.mark.parametrize(
    ("value", "words"),
    [
        (["CONFIG"], ("settings.TICKETFLOW", "expected a dict", "list")),
        ({"CLOKC": None}, ("unknown key", "'CLOKC'", "CLOCK, CONFIG")),
        ({"CONFIG": 3}, ("['CONFIG']", "preset name", "int")),
        ({"CONFIG": "/nowhere/desk.toml"}, ("['CONFIG']", "cannot read", "/nowhere/desk.toml")),
        (
            {"CONFIG": "liveagent", "GUARDS": {"x": len}},
            (
                "['GUARDS']",
                "preset 'liveagent'",
            ),
        ),
        (
            {"GUARDS": 5},
            (
                "['GUARDS']",
                "mapping of guard name",
            ),
        ),
        ({"CLOCK": 42}, ("['CLOCK']", "Clock", "int")),
        ({"CLOCK": "django_project.nowhere.CLOCK"}, ("['CLOCK']", "cannot import")),
        ({"DATABASE": "replica"}, ("['DATABASE']", "'replica'", "default")),
        ({"ATTACHMENTS_DIR": 5}, ("['ATTACHMENTS_DIR']", "directory path")),
        ({"SUBSCRIBERS": "django_project.helpdesk.record"}, ("['SUBSCRIBERS']", "list")),
        ({"SUBSCRIBERS": [42]}, ("['SUBSCRIBERS']", "42", "not a callable")),
    ],
    ids=lambda v: None if isinstance(v, tuple) else str(v)[:40],
)
def test_bad_settings_are_refused_naming_the_key(
    settings: Any, value: object, words: tuple[str, ...]
) -> None:
    refused(settings, value, *words)


def test_a_bad_config_file_names_the_file_and_the_problem(settings: Any, tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("schema_version = 1\n[workflow]\nnope = 1\n", encoding="utf-8")
    refused(settings, {"CONFIG": str(bad)}, "['CONFIG']", str(bad))


def test_the_app_checks_the_settings_when_ready(settings: Any) -> None:
    settings.TICKETFLOW = {"CLOCK": 42}
    with pytest.raises(ImproperlyConfigured, match="CLOCK"):
        apps.get_app_config("ticketflow").ready()
