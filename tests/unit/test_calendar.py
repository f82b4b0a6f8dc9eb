"""BusinessCalendar: opening hours, holidays and business time, DST included."""

from __future__ import annotations

import sys
import tomllib
from datetime import UTC, date, datetime, time, timedelta
from types import ModuleType
from zoneinfo import ZoneInfo

import pytest

from ticketflow import BusinessCalendar, InvalidInputError
from ticketflow._calendar import SEARCH_LIMIT_DAYS

BRUSSELS = ZoneInfo("Europe/Brussels")
NINE_TO_FIVE = [(time(9), time(17))]


def brussels(
    year: int, month: int, day: int, hour: int, minute: int, second: int = 0, micro: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, micro, tzinfo=BRUSSELS)


@pytest.fixture
def office() -> BusinessCalendar:
    """Brussels, Monday to Friday 09:00-12:00 and 13:00-17:00, closed on Christmas 2026."""
    return BusinessCalendar(
        timezone="Europe/Brussels",
        hours={day: [(time(9), time(12)), (time(13), time(17))] for day in range(5)},
        holidays=[date(2026, 12, 25)],
    )


def test_add_within_one_interval(office: BusinessCalendar) -> None:
    """Two hours from Monday 09:30 is Monday 11:30 (in UTC)."""
    assert brussels(2026, 1, 5, 11, 30) == office.add_business_time(
        brussels(2026, 1, 5, 9, 30), timedelta(hours=2)
    )


def test_add_skips_lunch_night_and_weekend(office: BusinessCalendar) -> None:
    """From Friday 11:00, 3 hours: 1 before lunch, 2 after, ending 15:00; 6 hours: Monday 10:00."""
    friday = brussels(2026, 1, 9, 11, 0)
    assert brussels(2026, 1, 9, 15, 0) == office.add_business_time(friday, timedelta(hours=3))
    assert brussels(2026, 1, 12, 10, 0) == office.add_business_time(friday, timedelta(hours=6))


def test_add_ends_at_closing_not_next_opening(office: BusinessCalendar) -> None:
    """A deadline that uses up the day is Friday 17:00, not Monday 09:00."""
    assert brussels(2026, 1, 9, 17, 0) == office.add_business_time(
        brussels(2026, 1, 9, 16, 0), timedelta(hours=1)
    )


def test_zero_duration_is_the_start_itself(office: BusinessCalendar) -> None:
    """add(t, 0) == t even when closed; next_open moves to the next opening instead."""
    saturday = brussels(2026, 1, 10, 12, 0)
    assert saturday == office.add_business_time(saturday, timedelta(0))
    assert brussels(2026, 1, 12, 9, 0) == office.next_open(saturday)


def test_add_from_closed_time_starts_at_next_opening(office: BusinessCalendar) -> None:
    """Thirty minutes from Saturday is Monday 09:30."""
    assert brussels(2026, 1, 12, 9, 30) == office.add_business_time(
        brussels(2026, 1, 10, 12, 0), timedelta(minutes=30)
    )


def test_holiday_is_closed(office: BusinessCalendar) -> None:
    """Christmas Friday is skipped: 1 hour from Thursday 16:30 ends Monday 09:30."""
    assert not office.is_open(brussels(2026, 12, 25, 10, 0))
    assert brussels(2026, 12, 28, 9, 30) == office.add_business_time(
        brussels(2026, 12, 24, 16, 30), timedelta(hours=1)
    )


def test_results_are_utc(office: BusinessCalendar) -> None:
    """Results are timezone-aware in UTC whatever zone the input had."""
    result = office.add_business_time(brussels(2026, 1, 5, 9, 0), timedelta(hours=1))
    assert UTC == result.tzinfo
    assert datetime(2026, 1, 5, 9, 0, tzinfo=UTC) == result
    assert UTC == office.next_open(brussels(2026, 1, 5, 9, 0)).tzinfo


def test_between_counts_business_time_and_is_signed(office: BusinessCalendar) -> None:
    """Monday 10:00 to Tuesday 10:00 is 7 hours; the other way round is -7 hours."""
    monday, tuesday = brussels(2026, 1, 5, 10, 0), brussels(2026, 1, 6, 10, 0)
    assert timedelta(hours=7) == office.business_time_between(monday, tuesday)
    assert timedelta(hours=-7) == office.business_time_between(tuesday, monday)
    assert timedelta(0) == office.business_time_between(monday, monday)


def test_is_open_includes_opening_excludes_closing(office: BusinessCalendar) -> None:
    """Open at 09:00 and 16:59:59.999999, closed at 12:00, 17:00 and on Sunday."""
    assert office.is_open(brussels(2026, 1, 5, 9, 0))
    assert office.is_open(brussels(2026, 1, 5, 16, 59, 59, 999999))
    assert not office.is_open(brussels(2026, 1, 5, 12, 0))
    assert not office.is_open(brussels(2026, 1, 5, 17, 0))
    assert not office.is_open(brussels(2026, 1, 4, 10, 0))


def test_spring_forward_night_holds_real_elapsed_time() -> None:
    """01:00-04:00 on Brussels' spring-forward night is 2 hours; on fall-back night 4 hours."""
    night = BusinessCalendar(timezone="Europe/Brussels", hours={6: [(time(1), time(4))]})
    spring = datetime(2026, 3, 28, 12, 0, tzinfo=UTC)
    autumn = datetime(2026, 10, 24, 12, 0, tzinfo=UTC)
    assert timedelta(hours=2) == night.business_time_between(spring, spring + timedelta(days=1))
    assert timedelta(hours=4) == night.business_time_between(autumn, autumn + timedelta(days=1))
    assert datetime(2026, 3, 29, 2, 0, tzinfo=UTC) == night.add_business_time(
        spring, timedelta(hours=2)
    )


def test_nonexistent_opening_is_the_jump() -> None:
    """Opening at 02:30 on the night 02:00-03:00 does not exist opens at 03:00 CEST (01:00 UTC)."""
    night = BusinessCalendar(timezone="Europe/Brussels", hours={6: [(time(2, 30), time(5))]})
    start = datetime(2026, 3, 28, 12, 0, tzinfo=UTC)
    assert datetime(2026, 3, 29, 1, 0, tzinfo=UTC) == night.next_open(start)
    assert timedelta(hours=2) == night.business_time_between(start, start + timedelta(days=1))


def test_ambiguous_opening_is_the_first_occurrence() -> None:
    """Opening at 02:30 on fall-back night opens at the first 02:30 (00:30 UTC)."""
    night = BusinessCalendar(timezone="Europe/Brussels", hours={6: [(time(2, 30), time(3, 30))]})
    start = datetime(2026, 10, 24, 12, 0, tzinfo=UTC)
    assert datetime(2026, 10, 25, 0, 30, tzinfo=UTC) == night.next_open(start)
    assert timedelta(hours=2) == night.business_time_between(start, start + timedelta(days=1))


def test_lord_howe_half_hour_dst() -> None:
    """Lord Howe's clocks move 30 minutes: 01:00-03:00 is 1.5 h in October, 2.5 h in April."""
    night = BusinessCalendar(timezone="Australia/Lord_Howe", hours={6: [(time(1), time(3))]})
    october = datetime(2026, 10, 3, 0, 0, tzinfo=UTC)  # Sunday 2026-10-04 local
    april = datetime(2026, 4, 4, 0, 0, tzinfo=UTC)  # Sunday 2026-04-05 local
    day = timedelta(days=1)
    assert timedelta(hours=1, minutes=30) == night.business_time_between(october, october + day)
    assert timedelta(hours=2, minutes=30) == night.business_time_between(april, april + day)


def test_always_open_is_elapsed_time() -> None:
    """The 24/7 calendar adds plain elapsed time, across midnight and weekends."""
    always = BusinessCalendar.always_open()
    start = datetime(2026, 1, 3, 22, 15, tzinfo=UTC)
    assert start + timedelta(days=9, hours=3) == always.add_business_time(
        start, timedelta(days=9, hours=3)
    )
    assert timedelta(days=2) == always.business_time_between(start, start + timedelta(days=2))
    assert always.is_open(start)


def test_weekdays_9_to_5() -> None:
    """The convenience calendar opens Monday-Friday 09:00-17:00 in the given zone."""
    calendar = BusinessCalendar.weekdays_9_to_5("America/New_York", holidays=[date(2026, 7, 3)])
    assert ((((time(9), time(17)),),) * 5 + ((), ())) == calendar.hours
    assert frozenset({date(2026, 7, 3)}) == calendar.holidays
    assert datetime(2026, 1, 5, 14, 0, tzinfo=UTC) == calendar.next_open(
        datetime(2026, 1, 5, 0, 0, tzinfo=UTC)
    )


def test_weekday_names_and_numbers_are_the_same() -> None:
    """'mon', 'Monday' and 0 name the same weekday."""
    by_number = BusinessCalendar(timezone="UTC", hours={0: NINE_TO_FIVE})
    assert by_number == BusinessCalendar(timezone="UTC", hours={"mon": NINE_TO_FIVE})
    assert by_number == BusinessCalendar(timezone="UTC", hours={"Monday": NINE_TO_FIVE})


def test_round_trip_through_toml_text() -> None:
    """to_dict/from_dict round-trip, through TOML text too, with 24:00 ends."""
    calendar = BusinessCalendar(
        timezone="Asia/Kolkata",
        hours={
            "sat": [(time(0), time.max)],
            "mon": [(time(8, 30), time(12)), (time(13), time(18))],
        },
        holidays=[date(2026, 1, 26)],
    )
    data = calendar.to_dict()
    assert {
        "timezone": "Asia/Kolkata",
        "hours": {"mon": [["08:30", "12:00"], ["13:00", "18:00"]], "sat": [["00:00", "24:00"]]},
        "holidays": ["2026-01-26"],
    } == data
    text = (
        'timezone = "Asia/Kolkata"\nholidays = ["2026-01-26"]\n[hours]\n'
        'mon = [["08:30", "12:00"], ["13:00", "18:00"]]\nsat = [["00:00", "24:00"]]\n'
    )
    assert calendar == BusinessCalendar.from_dict(tomllib.loads(text))
    assert calendar == BusinessCalendar.from_dict(data)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"timezone": "Mars/Olympus", "hours": {0: NINE_TO_FIVE}}, "timezone"),
        ({"timezone": "UTC", "hours": {7: NINE_TO_FIVE}}, "hours"),
        ({"timezone": "UTC", "hours": {"funday": NINE_TO_FIVE}}, "hours"),
        ({"timezone": "UTC", "hours": {0: NINE_TO_FIVE, "mon": NINE_TO_FIVE}}, "hours"),
        ({"timezone": "UTC", "hours": {0: [(time(17), time(9))]}}, "hours.mon[0]"),
        ({"timezone": "UTC", "hours": {0: [(time(9), time(9))]}}, "hours.mon[0]"),
        (
            {"timezone": "UTC", "hours": {"tue": [(time(9), time(13)), (time(12), time(17))]}},
            "hours.tue[1]",
        ),
        (
            {"timezone": "UTC", "hours": {"tue": [(time(13), time(17)), (time(9), time(12))]}},
            "hours.tue[1]",
        ),
        (
            {"timezone": "UTC", "hours": {0: [(time(9, tzinfo=UTC), time(17))]}},
            "hours.mon[0].start",
        ),
        ({"timezone": "UTC", "hours": {0: [(time.max, time.max)]}}, "hours.mon[0]"),
        ({"timezone": "UTC", "hours": {0: [], 1: []}}, "hours"),
        ({"timezone": "UTC", "hours": {}}, "hours"),
        ({"timezone": "UTC", "hours": {0: NINE_TO_FIVE}, "holidays": ["2026-12-25"]}, "holidays"),
        (
            {"timezone": "UTC", "hours": {0: NINE_TO_FIVE}, "holidays": [datetime(2026, 1, 1)]},
            "holidays",
        ),
    ],
)
def test_invalid_calendars_are_refused_naming_the_field(
    kwargs: dict[str, object], field: str
) -> None:
    """Bad zones, weekdays, intervals and holidays raise InvalidInputError naming the field."""
    with pytest.raises(InvalidInputError) as caught:
        BusinessCalendar(**kwargs)  # type: ignore[arg-type]
    assert field == caught.value.field


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"timezone": "UTC", "hours": {"mon": [["9am", "17:00"]]}}, "hours.mon[0]"),
        ({"timezone": "UTC", "hours": {"mon": [["09:00"]]}}, "hours.mon[0]"),
        ({"timezone": "UTC", "hours": {"mon": "09:00-17:00"}}, "hours.mon"),
        (
            {"timezone": "UTC", "hours": {"mon": [["09:00", "17:00"]]}, "holidays": ["xmas"]},
            "holidays",
        ),
        ({"timezone": "UTC", "hours": {"mon": [["09:00", "17:00"]]}, "zone": "x"}, "zone"),
        ({"hours": {"mon": [["09:00", "17:00"]]}}, "calendar"),
    ],
)
def test_invalid_dicts_are_refused_naming_the_field(data: dict[str, object], field: str) -> None:
    """from_dict names where the data is wrong."""
    with pytest.raises(InvalidInputError) as caught:
        BusinessCalendar.from_dict(data)
    assert field == caught.value.field


def test_naive_and_negative_inputs_are_refused(office: BusinessCalendar) -> None:
    """Naive datetimes and negative durations raise InvalidInputError naming the argument."""
    naive = datetime(2026, 1, 5, 9, 0)
    aware = brussels(2026, 1, 5, 9, 0)
    cases = [
        (lambda: office.add_business_time(naive, timedelta(hours=1)), "start"),
        (lambda: office.add_business_time(aware, timedelta(hours=-1)), "duration"),
        (lambda: office.business_time_between(aware, naive), "end"),
        (lambda: office.is_open(naive), "when"),
        (lambda: office.next_open(naive), "when"),
    ]
    for call, field in cases:
        with pytest.raises(InvalidInputError) as caught:
            call()
        assert field == caught.value.field


def test_search_is_bounded() -> None:
    """A calendar closed for good (every opening day a holiday) fails clearly, not forever."""
    start = date(2026, 1, 5)
    mondays = [start + timedelta(weeks=week) for week in range(SEARCH_LIMIT_DAYS // 7 + 2)]
    closed = BusinessCalendar(timezone="UTC", hours={0: NINE_TO_FIVE}, holidays=mondays)
    moment = datetime(2026, 1, 5, tzinfo=UTC)
    with pytest.raises(InvalidInputError, match="no opening hours left within") as caught:
        closed.add_business_time(moment, timedelta(hours=1))
    assert "duration" == caught.value.field
    assert timedelta(0) == closed.business_time_between(moment, moment + timedelta(days=400))


def test_thirty_business_days() -> None:
    """30 business days of 8 hours from Monday 09:00 end on the sixth Friday at 17:00."""
    calendar = BusinessCalendar.weekdays_9_to_5("Europe/Brussels")
    start = brussels(2026, 1, 5, 9, 0)
    assert brussels(2026, 2, 13, 17, 0) == calendar.add_business_time(
        start, timedelta(hours=8 * 30)
    )


def test_country_holidays_without_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the optional package the error says what to install."""
    monkeypatch.setitem(sys.modules, "holidays", None)
    with pytest.raises(ImportError, match=r"pip install 'ticketflow\[holidays\]'"):
        BusinessCalendar.always_open().with_country_holidays("BE", [2026])


def test_country_holidays_are_added(monkeypatch: pytest.MonkeyPatch) -> None:
    """The package's dates for the country and years join the calendar's own holidays."""
    calls: list[tuple[str, str | None, list[int]]] = []

    def country_holidays(
        country: str, subdiv: str | None = None, years: list[int] | None = None
    ) -> dict[date, str]:
        calls.append((country, subdiv, list(years or [])))
        if country != "BE":
            raise NotImplementedError(country)
        return {date(2026, 7, 21): "National Day"}

    fake = ModuleType("holidays")
    fake.country_holidays = country_holidays  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "holidays", fake)
    calendar = BusinessCalendar.weekdays_9_to_5("Europe/Brussels", holidays=[date(2026, 12, 25)])
    with_be = calendar.with_country_holidays("BE", range(2026, 2027))
    assert frozenset({date(2026, 7, 21), date(2026, 12, 25)}) == with_be.holidays
    assert [("BE", None, [2026])] == calls
    with pytest.raises(InvalidInputError) as caught:
        calendar.with_country_holidays("XX", [2026])
    assert "country" == caught.value.field
