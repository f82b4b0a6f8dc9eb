"""Clocks: FakeClock moves only forward and only when told; SystemClock reads UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from ticketflow import Clock, FakeClock, Helpdesk, InvalidInputError, Requester, SystemClock
from ticketflow._clock import require_aware

from .conftest import START

BRUSSELS_WINTER = timezone(timedelta(hours=1))
NEW_YORK_WINTER = timezone(timedelta(hours=-5))


def test_fake_clock_defaults_to_monday_morning_utc() -> None:
    """FakeClock() starts at Monday 2026-01-05 09:00 UTC."""
    assert START == FakeClock().now()
    assert UTC == FakeClock().now().tzinfo


def test_fake_clock_starts_where_told() -> None:
    """FakeClock(start) reads ``start`` until it is moved."""
    clock = FakeClock(START + timedelta(days=3))
    assert START + timedelta(days=3) == clock.now()
    assert START + timedelta(days=3) == clock.now()


def test_fake_clock_start_in_another_zone_reads_utc() -> None:
    """A start in another zone is converted to UTC."""
    clock = FakeClock(datetime(2026, 1, 5, 10, 0, tzinfo=BRUSSELS_WINTER))
    assert START == clock.now()
    assert UTC == clock.now().tzinfo


def test_fake_clock_set_moves_forward() -> None:
    """set(when) moves the clock to ``when`` and returns it."""
    clock = FakeClock(START)
    later = START + timedelta(hours=5, minutes=3)
    assert later == clock.set(later)
    assert later == clock.now()


def test_fake_clock_set_to_now_is_allowed() -> None:
    """set() to the current time is not going backwards."""
    clock = FakeClock(START)
    assert START == clock.set(START)


def test_fake_clock_set_converts_to_utc() -> None:
    """set() with another zone stores the same instant in UTC."""
    clock = FakeClock(START)
    clock.set(datetime(2026, 1, 5, 7, 0, tzinfo=NEW_YORK_WINTER))
    assert datetime(2026, 1, 5, 12, 0, tzinfo=UTC) == clock.now()
    assert UTC == clock.now().tzinfo


def test_fake_clock_advance_by_timedelta() -> None:
    """advance(timedelta) moves the clock by that much and returns the new time."""
    clock = FakeClock(START)
    assert START + timedelta(minutes=90) == clock.advance(timedelta(minutes=90))
    assert START + timedelta(minutes=90) == clock.now()


@pytest.mark.parametrize(
    ("kwargs", "step"),
    [
        ({"days": 2}, timedelta(days=2)),
        ({"hours": 3}, timedelta(hours=3)),
        ({"minutes": 45}, timedelta(minutes=45)),
        ({"seconds": 30}, timedelta(seconds=30)),
        ({"days": 1, "hours": 2, "minutes": 3, "seconds": 4}, timedelta(1, 3600 * 2 + 180 + 4)),
        ({"hours": 1.5}, timedelta(minutes=90)),
    ],
)
def test_fake_clock_advance_by_units(kwargs: dict[str, float], step: timedelta) -> None:
    """advance(days=, hours=, minutes=, seconds=) moves the clock by the sum of the units."""
    clock = FakeClock(START)
    assert START + step == clock.advance(**kwargs)  # type: ignore[arg-type]
    assert START + step == clock.now()


def test_fake_clock_advance_adds_timedelta_and_units() -> None:
    """advance(delta, hours=...) adds both."""
    clock = FakeClock(START)
    assert START + timedelta(days=1, hours=2) == clock.advance(timedelta(days=1), hours=2)


def test_fake_clock_advance_by_zero_keeps_the_time() -> None:
    """advance() with nothing keeps the time."""
    clock = FakeClock(START)
    assert START == clock.advance()


def test_fake_clock_accumulates_steps() -> None:
    """Successive advances add up."""
    clock = FakeClock(START)
    for _ in range(10):
        clock.advance(minutes=6)
    assert START + timedelta(hours=1) == clock.now()


def test_fake_clock_set_refuses_going_backwards() -> None:
    """set() to an earlier time raises InvalidInputError(field='when') and keeps the time."""
    clock = FakeClock(START)
    with pytest.raises(InvalidInputError, match="backwards") as info:
        clock.set(START - timedelta(microseconds=1))
    assert "when" == info.value.field
    assert START == clock.now()


@pytest.mark.parametrize(
    "kwargs",
    [{"delta": timedelta(seconds=-1)}, {"hours": -1}, {"delta": timedelta(hours=1), "hours": -2}],
)
def test_fake_clock_advance_refuses_going_backwards(kwargs: dict[str, object]) -> None:
    """A negative total step raises InvalidInputError(field='delta') and keeps the time."""
    clock = FakeClock(START)
    with pytest.raises(InvalidInputError, match="backwards") as info:
        clock.advance(**kwargs)  # type: ignore[arg-type]
    assert "delta" == info.value.field
    assert START == clock.now()


def test_fake_clock_refuses_naive_start() -> None:
    """FakeClock(naive) raises InvalidInputError(field='start')."""
    with pytest.raises(InvalidInputError, match="timezone-aware") as info:
        FakeClock(datetime(2026, 1, 5, 9, 0))
    assert "start" == info.value.field


def test_fake_clock_set_refuses_naive() -> None:
    """set(naive) raises InvalidInputError(field='when') and keeps the time."""
    clock = FakeClock(START)
    with pytest.raises(InvalidInputError, match="timezone-aware") as info:
        clock.set(datetime(2026, 1, 6, 9, 0))
    assert "when" == info.value.field
    assert START == clock.now()


def test_system_clock_returns_aware_utc_now() -> None:
    """SystemClock().now() is timezone-aware UTC and between two readings of the real clock."""
    before = datetime.now(UTC)
    now = SystemClock().now()
    after = datetime.now(UTC)
    assert UTC == now.tzinfo
    assert timedelta(0) == now.utcoffset()
    assert before <= now <= after


def test_both_clocks_satisfy_the_clock_protocol() -> None:
    """SystemClock and FakeClock are Clocks (runtime-checkable protocol)."""
    assert isinstance(SystemClock(), Clock)
    assert isinstance(FakeClock(), Clock)


def test_require_aware_keeps_utc() -> None:
    """require_aware returns a UTC datetime unchanged."""
    assert START == require_aware(START, "at")
    assert UTC == require_aware(START, "at").tzinfo


@pytest.mark.parametrize("zone", [BRUSSELS_WINTER, NEW_YORK_WINTER, timezone(timedelta(0), "Z")])
def test_require_aware_converts_other_zones_to_utc(zone: timezone) -> None:
    """require_aware returns the same instant with tzinfo UTC."""
    local = START.astimezone(zone)
    converted = require_aware(local, "at")
    assert START == converted
    assert UTC == converted.tzinfo
    assert (2026, 1, 5, 9, 0) == (
        converted.year,
        converted.month,
        converted.day,
        converted.hour,
        converted.minute,
    )


def test_require_aware_refuses_naive_and_names_the_field() -> None:
    """require_aware(naive) raises InvalidInputError naming the field."""
    with pytest.raises(InvalidInputError, match="until must be timezone-aware") as info:
        require_aware(datetime(2026, 1, 5, 9, 0), "until")
    assert "until" == info.value.field


@pytest.mark.parametrize("value", [date(2026, 1, 5), "2026-01-05T09:00:00+00:00", 1767603600])
def test_require_aware_refuses_non_datetimes(value: object) -> None:
    """require_aware refuses dates, strings and numbers with InvalidInputError."""
    with pytest.raises(InvalidInputError) as info:
        require_aware(value, "at")  # type: ignore[arg-type]
    assert "at" == info.value.field


def test_helpdesk_stamps_events_in_utc_from_a_clock_in_another_zone() -> None:
    """Events are stamped in UTC even when the clock answers in another zone."""

    class LocalClock:
        def now(self) -> datetime:
            return datetime(2026, 1, 5, 10, 0, tzinfo=BRUSSELS_WINTER)

    desk = Helpdesk(clock=LocalClock())
    ticket = desk.open_ticket(subject="x", requester=Requester(name="Ann"))
    assert START == ticket.created_at
    assert UTC == ticket.created_at.tzinfo


def test_helpdesk_timeline_never_goes_back_when_the_clock_does() -> None:
    """A wall clock that steps back (NTP) does not make the timeline go back."""

    class SteppingClock:
        def __init__(self) -> None:
            self.times = [START, START - timedelta(seconds=5)]

        def now(self) -> datetime:
            return self.times.pop(0) if len(self.times) > 1 else self.times[0]

    desk = Helpdesk(clock=SteppingClock())
    ticket = desk.open_ticket(subject="x", requester=Requester(name="Ann"))
    replied = desk.agent_reply(ticket.id, "hi", by="bob")
    assert [START, START] == [e.at for e in replied.timeline]
