"""Fuzzing the public API: only `TicketflowError` escapes, and a refused call changes nothing.

Public `Helpdesk` commands and queries are called with arguments drawn from nasty
values (wrong types, lone surrogates, NUL characters, NaN and infinities, integers
beyond 64 bits, JSON nested past 64 levels, naive and extreme datetimes, negative
and absurd limits and leases, None where a value is required) mixed with valid
ones, on every backend: ``MemoryStore``, SQLite in memory, SQLite on a file, and
PostgreSQL when ``TICKETFLOW_POSTGRES_URL`` is set (a fresh schema for the module).
A call may succeed; when it fails, the error must be a `TicketflowError`, and the
store must hold the same tickets as before: count, outbox, and each seeded
ticket's version and timeline.
"""

from __future__ import annotations

import os
import reprlib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ticketflow import (
    FakeClock,
    Helpdesk,
    Requester,
    SQLiteStore,
    TicketflowError,
    TicketStore,
    open_store,
)
from ticketflow.testing import postgres_schema

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
POSTGRES_ENV = "TICKETFLOW_POSTGRES_URL"
SEEDS = 3


def _deep_list(depth: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(depth - 1):
        value = [value]
    return value


def _deep_dict(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(depth - 1):
        value = {"k": value}
    return value


_NASTY_TEXT = st.sampled_from(
    ["", "   ", "\ud800", "a\udfffb", "\x00", "nul\x00inside", "\n", "\U0001f600", "x" * 300]
)
_NASTY: st.SearchStrategy[Any] = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([2**63, -(2**63) - 1, 10**5000]),
    st.floats(),  # NaN and infinities included
    _NASTY_TEXT,
    st.binary(max_size=3),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.integers(), st.integers(), max_size=2),
    st.sampled_from([_deep_list(65), _deep_list(5000), _deep_dict(65), [[["x"]]], {"a": None}]),
    st.sampled_from(
        [
            datetime(2026, 1, 1),  # naive on purpose
            datetime.max.replace(tzinfo=UTC),
            datetime.min.replace(tzinfo=UTC),
            datetime(1899, 12, 31, tzinfo=UTC),
            START + timedelta(days=3),
        ]
    ),
    st.sampled_from([timedelta(-1), timedelta.max, timedelta(days=10**5), timedelta(0)]),
    st.just(object()),
    st.frozensets(st.text(max_size=2), max_size=2),
)


def _or_nasty(valid: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Valid values three times in four, nasty ones otherwise."""
    return st.one_of(valid, valid, valid, _NASTY)


_TEXT = _or_nasty(st.sampled_from(["hello", "Ünïcode ✓", "line\nbreak"]))
_NAME = _or_nasty(st.sampled_from(["ann", "bob", "eve"]))
_BY = _or_nasty(st.sampled_from([None, "bob", "eve"]))
_TAG = _or_nasty(st.sampled_from(["vip", "bug"]))
_PRIORITY = _or_nasty(st.sampled_from(["low", "high", "urgent"]))
_TRIGGER = _or_nasty(st.sampled_from(["resolve", "spam", "delete", "restore", "nope"]))
_LIMIT = _or_nasty(st.sampled_from([None, 0, 1, 10]))
_BATCH = _or_nasty(st.sampled_from([1, 500]))
_LEASE = _or_nasty(st.sampled_from([timedelta(0), timedelta(seconds=60)]))
_WHEN = _or_nasty(st.sampled_from([START + timedelta(days=d) for d in (1, 10, 400)]))
_JSON = _or_nasty(st.sampled_from([1, 2.5, "x", None, [1, {"a": True}], {"n": {"m": [None]}}]))
_KEY = st.one_of(st.sampled_from(["plan", "score"]), _NASTY_TEXT)
_STATUS = _or_nasty(st.sampled_from(["new", "open", ["new", "resolved"], "nope"]))
_CATEGORY = _or_nasty(st.sampled_from(["new", "open", ("pending", "resolved"), "nope"]))

Call = Callable[[Helpdesk, list[str]], object]


_REPR = reprlib.Repr()
_REPR.maxlevel = 3
_REPR.maxstring = _REPR.maxother = 40


def _show(value: object) -> str:
    """A short repr, safe for values nested 5,000 deep or with 5,000 digits."""
    try:
        return _REPR.repr(value)
    except ValueError:  # an int too long to print
        return "<a huge int>"


def _pick(ids: list[str], value: object) -> object:
    """A seeded ticket's id for an index drawn as one, else the nasty value itself."""
    if type(value) is int and 0 <= value < len(ids):
        return ids[value]
    return value


@st.composite
def calls(draw: st.DrawFn) -> tuple[str, Call]:  # noqa: C901 - one branch per entry point
    """A public call with its arguments drawn, named for Hypothesis's report."""
    pick = draw(st.integers(min_value=0, max_value=SEEDS - 1))
    tid = draw(st.one_of(st.just(pick), st.just(pick), _NASTY))

    name = draw(
        st.sampled_from(
            [
                "open_ticket",
                "agent_reply",
                "add_note",
                "customer_reply",
                "assign",
                "set_priority",
                "add_tags",
                "remove_tags",
                "set_field",
                "resolve",
                "reopen",
                "close",
                "wake",
                "mark_spam",
                "delete",
                "restore",
                "confirm_resolution",
                "postpone",
                "fire",
                "merge",
                "get",
                "timeline",
                "allowed",
                "find",
                "queue",
                "next_due",
                "run_due",
                "reschedule",
                "dispatch",
                "sla_state",
                "run_until",
            ]
        )
    )
    by = draw(_BY)
    if name == "open_ticket":
        kwargs = {
            "subject": draw(_TEXT),
            "description": draw(st.one_of(st.just(""), _TEXT)),
            "priority": draw(_PRIORITY),
            "channel": draw(st.one_of(st.just("email"), _TEXT)),
            "assignee": draw(st.one_of(st.none(), _NAME)),
            "department": draw(st.one_of(st.none(), _NAME)),
            "tags": draw(st.one_of(st.lists(_TAG, max_size=2), _NASTY)),
            "custom_fields": draw(st.one_of(st.dictionaries(_KEY, _JSON, max_size=2), _NASTY)),
            "by": by,
        }
        requester = {"name": draw(_TEXT), "email": draw(st.one_of(st.none(), _TEXT))}
        parent = draw(st.booleans())

        def open_(desk: Helpdesk, ids: list[str]) -> object:
            return desk.open_ticket(
                requester=Requester(**requester),
                parent_id=_pick(ids, tid) if parent else None,
                **kwargs,
            )

        return (
            f"open_ticket(requester={_show(requester)}, parent={parent}, **{_show(kwargs)})",
            open_,
        )
    args: tuple[Any, ...]
    kw: dict[str, Any] = {}
    if name in {"agent_reply", "add_note"}:
        args, kw = (draw(_TEXT),), {"by": draw(_or_nasty(st.just("bob")))}
    elif name == "customer_reply":
        args, kw = (draw(_TEXT),), {"by": by}
    elif name == "assign":
        args, kw = (draw(_NAME),), {"department": draw(_NAME), "by": by}
    elif name == "set_priority":
        args, kw = (draw(_PRIORITY),), {"by": by}
    elif name in {"add_tags", "remove_tags"}:
        args, kw = tuple(draw(st.lists(_TAG, max_size=3))), {"by": by}
    elif name == "set_field":
        args, kw = (draw(_NAME), draw(_JSON)), {"by": by}
    elif name == "confirm_resolution":
        args, kw = (draw(_or_nasty(st.sampled_from([None, 1, 5]))),), {"by": by}
    elif name == "postpone":
        args, kw = (draw(_WHEN),), {"by": by}
    elif name == "fire":
        args, kw = (draw(_TRIGGER),), {"by": by}
    elif name == "merge":
        args, kw = (draw(st.one_of(st.integers(0, SEEDS - 1), _NASTY)),), {"by": by}
    elif name in {"get", "timeline", "allowed", "next_due"}:
        args = ()
    elif name == "find":
        kw = {
            "status": draw(st.one_of(st.none(), _STATUS)),
            "category": draw(st.one_of(st.none(), _CATEGORY)),
            "assignee": draw(st.one_of(st.none(), _NAME)),
            "tag": draw(st.one_of(st.none(), _TAG)),
            "priority": draw(st.one_of(st.none(), _PRIORITY)),
            "limit": draw(_LIMIT),
        }
        return f"find(**{_show(kw)})", lambda desk, _ids: desk.find(**kw)
    elif name == "queue":
        kw = {"agent": draw(st.one_of(st.none(), _NAME)), "limit": draw(_or_nasty(st.just(5)))}
        return f"queue(**{_show(kw)})", lambda desk, _ids: desk.queue(**kw)
    elif name in {"run_due", "dispatch"}:
        kw = {"now": draw(st.one_of(st.none(), _WHEN)), "lease": draw(_LEASE)}
        kw["batch" if name == "run_due" else "limit"] = draw(_BATCH)
        return f"{name}(**{_show(kw)})", lambda desk, _ids: getattr(desk, name)(**kw)
    elif name == "reschedule":
        kw = {"batch": draw(_BATCH)}
        return f"reschedule(**{_show(kw)})", lambda desk, _ids: desk.reschedule(**kw)
    elif name == "run_until":
        until = draw(_or_nasty(st.just(START)))  # the clock is at START: nothing moves
        return f"run_until({_show(until)})", lambda desk, _ids: desk.run_until(until)
    elif name == "sla_state":
        args = (draw(st.one_of(st.none(), _WHEN)),)
    else:  # the status commands that take only by
        args, kw = (), {"by": by}

    def call(desk: Helpdesk, ids: list[str]) -> object:
        if name == "merge":
            return desk.merge(_pick(ids, tid), _pick(ids, args[0]), **kw)
        return getattr(desk, name)(_pick(ids, tid), *args, **kw)

    return f"{name}(ticket={_show(tid)}, {_show(args)}, **{_show(kw)})", call


def _snapshot(store: TicketStore, ids: list[str]) -> tuple[object, ...]:
    tickets = [store.get(i) for i in ids]
    return (
        store.count(),
        store.outbox_pending(),
        tuple((t.version, t.status, t.timeline) for t in tickets),
    )


@pytest.fixture(scope="module", params=["memory", "sqlite-memory", "sqlite-file", "postgres"])
def store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TicketStore]:
    """One store per backend for the module."""
    if request.param == "memory":
        yield open_store("memory://")
    elif request.param == "sqlite-memory":
        yield SQLiteStore(":memory:")
    elif request.param == "sqlite-file":
        yield SQLiteStore(tmp_path_factory.mktemp("fuzz") / "fuzz.db")
    else:
        url = os.environ.get(POSTGRES_ENV)
        if not url:
            pytest.skip(f"{POSTGRES_ENV} is not set")
        pytest.importorskip("psycopg", reason="the postgres extra is not installed")
        with postgres_schema(url, prefix="tf_fuzz") as schema_url:
            opened = open_store(schema_url)
            yield opened
            opened.close()
        return
    # (memory and SQLite stores need no cleanup beyond garbage collection)


@pytest.fixture(scope="module")
def seeded(store: TicketStore) -> tuple[Helpdesk, list[str]]:
    """A help desk on ``store`` with a few tickets in different statuses and a subscriber."""
    desk = Helpdesk(store=store, clock=FakeClock(START))
    ids = [
        desk.open_ticket(subject=f"seed {i}", requester=Requester(name="Ann")).id
        for i in range(SEEDS)
    ]
    desk.agent_reply(ids[1], "answer", by="bob")
    desk.resolve(ids[2], by="bob")
    desk.subscribe(lambda _ticket, _event: None)
    return desk, ids


def _settings() -> settings:
    profile = settings()
    return settings(
        profile,
        max_examples=max(20, profile.max_examples // 5),
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


def test_only_ticketflow_errors_escape_and_a_refused_call_changes_nothing(
    seeded: tuple[Helpdesk, list[str]],
) -> None:
    """Random public calls with nasty arguments: TicketflowError or success, never half a change."""
    desk, ids = seeded

    @_settings()
    @given(st.lists(calls(), min_size=1, max_size=6))
    def run(steps: list[tuple[str, Call]]) -> None:
        for label, call in steps:
            before = _snapshot(desk.store, ids)
            try:
                call(desk, ids)
            except TicketflowError:
                assert before == _snapshot(desk.store, ids), f"{label} was refused but changed"
            except Exception as exc:
                raise AssertionError(f"{label} raised {type(exc).__name__}: {exc}") from exc

    run()
