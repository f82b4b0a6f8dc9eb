"""Business time keeps its algebra on random calendars, around real DST changes.

Each example draws a calendar (a zone among Europe/Brussels, America/New_York,
Australia/Lord_Howe with its 30-minute DST, Asia/Kolkata and UTC; 0-3 intervals
per weekday on a 30-minute grid, 24:00 ends included; random holidays near the
start) and a start instant, half the time within two days of one of the zone's
real DST changes in 2025-2026.

Checked: `add_business_time` is monotone in start and duration, additive
(``add(add(t, a), b) == add(t, a + b)``), inverted by `business_time_between`,
and lands inside an opening interval or at its end; `business_time_between` is
additive over any split point and antisymmetric; and over small spans both agree
with a slow reference that walks minute by minute and asks the zone's wall clock.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from ticketflow import BusinessCalendar

ZONES = ("Europe/Brussels", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata", "UTC")
MINUTE = timedelta(minutes=1)


def offset_changes(zone_name: str, since: datetime, until: datetime) -> list[datetime]:
    """Find the UTC minutes at which the zone's offset changed between ``since`` and ``until``."""
    zone = ZoneInfo(zone_name)
    found: list[datetime] = []
    step = timedelta(hours=6)
    moment = since
    while moment < until:
        if moment.astimezone(zone).utcoffset() != (moment + step).astimezone(zone).utcoffset():
            low, high = moment, moment + step
            while high - low > MINUTE:
                middle = low + ((high - low) // MINUTE // 2) * MINUTE
                if middle.astimezone(zone).utcoffset() == low.astimezone(zone).utcoffset():
                    low = middle
                else:
                    high = middle
            found.append(high)
        moment += step
    return found


TRANSITIONS = {
    zone: offset_changes(zone, datetime(2025, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))
    for zone in ZONES
}


def test_transition_finder_finds_the_known_changes() -> None:
    """The DST finder sees Brussels' 2026 changes, Kolkata and UTC have none."""
    assert datetime(2026, 3, 29, 1, 0, tzinfo=UTC) in TRANSITIONS["Europe/Brussels"]
    assert datetime(2026, 10, 25, 1, 0, tzinfo=UTC) in TRANSITIONS["Europe/Brussels"]
    assert len(TRANSITIONS["Australia/Lord_Howe"]) == 4
    assert [] == TRANSITIONS["Asia/Kolkata"] == TRANSITIONS["UTC"]


@st.composite
def day_hours(draw: st.DrawFn) -> list[tuple[time, time]]:
    """0-3 ordered, non-overlapping intervals on a 30-minute grid (48 = 24:00)."""
    marks = sorted(draw(st.sets(st.integers(0, 48), max_size=6)))
    if len(marks) % 2:
        marks = marks[:-1]

    def wall(mark: int) -> time:
        return time.max if mark == 48 else time(mark // 2, 30 * (mark % 2))

    return [(wall(marks[i]), wall(marks[i + 1])) for i in range(0, len(marks), 2)]


@st.composite
def cases(draw: st.DrawFn) -> tuple[BusinessCalendar, datetime]:
    """A random calendar and a start minute, often near one of its zone's DST changes."""
    zone = draw(st.sampled_from(ZONES))
    hours = {day: draw(day_hours()) for day in range(7)}
    if not any(hours.values()):
        hours[draw(st.integers(0, 6))] = [(time(9), time(17))]
    changes = TRANSITIONS[zone]
    near_change = draw(st.booleans())
    if changes and near_change:
        start = draw(st.sampled_from(changes)) + draw(st.integers(-2 * 1440, 2 * 1440)) * MINUTE
    else:
        start = datetime(2025, 1, 1, tzinfo=UTC) + draw(st.integers(0, 730 * 1440)) * MINUTE
    local_day = start.astimezone(ZoneInfo(zone)).date()
    holidays = draw(st.sets(st.integers(-2, 12).map(lambda k: local_day + timedelta(days=k))))
    return BusinessCalendar(timezone=zone, hours=hours, holidays=holidays), start


durations = st.integers(0, 6 * 24 * 60).map(lambda m: m * MINUTE)
small_durations = st.integers(0, 12 * 60).map(lambda m: m * MINUTE)


def _reference_open(calendar: BusinessCalendar, minute: datetime, high_water: datetime) -> bool:
    """Is the minute starting at ``minute`` open, judged by the wall clock's high-water mark.

    An interval opens when the wall clock first reaches its start, so during a repeated
    hour (clocks going back) the clock that counts is the highest one shown so far.
    """
    del minute
    day = high_water.date()
    if day in calendar.holidays:
        return False
    wall = high_water.time()
    return any(
        start <= wall and (end == time.max or wall < end)
        for start, end in calendar.hours[day.weekday()]
    )


def _reference_minutes(calendar: BusinessCalendar, start: datetime, count: int) -> list[bool]:
    """Whether each of the ``count`` minutes from ``start`` is open, walking minute by minute."""
    zone = ZoneInfo(calendar.timezone)
    # Seed the high-water mark over the hours before ``start`` (a repeated hour is <= 1 h).
    high_water = (start - timedelta(hours=3)).astimezone(zone).replace(tzinfo=None)
    moment = start - timedelta(hours=3)
    while moment < start:
        high_water = max(high_water, moment.astimezone(zone).replace(tzinfo=None))
        moment += MINUTE
    result = []
    for index in range(count):
        minute = start + index * MINUTE
        high_water = max(high_water, minute.astimezone(zone).replace(tzinfo=None))
        result.append(_reference_open(calendar, minute, high_water))
    return result


@given(cases(), durations, durations)
def test_add_is_additive(
    case: tuple[BusinessCalendar, datetime], a: timedelta, b: timedelta
) -> None:
    """Adding a then b is adding a + b."""
    calendar, start = case
    assert calendar.add_business_time(start, a + b) == calendar.add_business_time(
        calendar.add_business_time(start, a), b
    )


@given(cases(), durations, durations)
def test_add_is_monotone_in_duration(
    case: tuple[BusinessCalendar, datetime], a: timedelta, b: timedelta
) -> None:
    """More business time never ends earlier; the result is never before the start."""
    calendar, start = case
    low, high = sorted((a, b))
    assert (
        start <= calendar.add_business_time(start, low) <= calendar.add_business_time(start, high)
    )


@given(cases(), st.integers(0, 3 * 1440).map(lambda m: m * MINUTE), durations)
def test_add_is_monotone_in_start(
    case: tuple[BusinessCalendar, datetime], later: timedelta, duration: timedelta
) -> None:
    """A later start never gives an earlier result."""
    calendar, start = case
    assert calendar.add_business_time(start, duration) <= calendar.add_business_time(
        start + later, duration
    )


@given(cases(), durations)
def test_between_inverts_add(case: tuple[BusinessCalendar, datetime], duration: timedelta) -> None:
    """between(t, add(t, d)) == d, and the result is in UTC."""
    calendar, start = case
    end = calendar.add_business_time(start, duration)
    assert UTC == end.tzinfo
    assert duration == calendar.business_time_between(start, end)


@given(cases(), st.integers(1, 6 * 24 * 60).map(lambda m: m * MINUTE))
def test_add_lands_in_opening_hours(
    case: tuple[BusinessCalendar, datetime], duration: timedelta
) -> None:
    """A positive duration ends inside an opening interval or exactly at its end."""
    calendar, start = case
    end = calendar.add_business_time(start, duration)
    assert calendar.is_open(end - timedelta(microseconds=1))
    assert calendar.business_time_between(end - MINUTE, end) > timedelta(0)


@given(cases(), st.lists(st.integers(-3 * 1440, 6 * 1440), min_size=3, max_size=3))
def test_between_is_additive_and_antisymmetric(
    case: tuple[BusinessCalendar, datetime], offsets: list[int]
) -> None:
    """between(a, b) + between(b, c) == between(a, c), and between(b, a) == -between(a, b)."""
    calendar, start = case
    a, b, c = (start + offset * MINUTE for offset in offsets)
    ab = calendar.business_time_between(a, b)
    assert ab + calendar.business_time_between(b, c) == calendar.business_time_between(a, c)
    assert -ab == calendar.business_time_between(b, a)
    assert (a <= b) == (ab >= timedelta(0)) or ab == timedelta(0)


@given(cases(), small_durations)
def test_agrees_with_minute_by_minute_reference(
    case: tuple[BusinessCalendar, datetime], duration: timedelta
) -> None:
    """Over small spans, add and between match a walk over the zone's wall clock."""
    calendar, start = case
    span = 2 * 1440
    minutes = _reference_minutes(calendar, start, span)
    assert sum(minutes) * MINUTE == calendar.business_time_between(start, start + span * MINUTE)
    assert [calendar.is_open(start + i * MINUTE) for i in range(0, span, 29)] == minutes[::29]
    wanted = duration // MINUTE
    if wanted == 0:
        assert start == calendar.add_business_time(start, duration)
        return
    seen = 0
    for index, is_open in enumerate(minutes):
        seen += is_open
        if seen == wanted:
            assert start + (index + 1) * MINUTE == calendar.add_business_time(start, duration)
            return
    assert calendar.add_business_time(start, duration) > start + span * MINUTE


@given(cases())
def test_next_open_is_open_and_nothing_open_before_it(
    case: tuple[BusinessCalendar, datetime],
) -> None:
    """next_open(t) is open, and no business time lies between t and it."""
    calendar, start = case
    opening = calendar.next_open(start)
    assert calendar.is_open(opening)
    assert timedelta(0) == calendar.business_time_between(start, opening)
    assert (opening == start) == calendar.is_open(start)


@given(cases())
def test_dict_round_trip(case: tuple[BusinessCalendar, datetime]) -> None:
    """from_dict(to_dict(c)) == c."""
    calendar, _ = case
    assert calendar == BusinessCalendar.from_dict(calendar.to_dict())


def test_reference_sees_a_repeated_hour_as_open() -> None:
    """The reference itself: 02:30-03:30 on Brussels' fall-back night is 2 real hours."""
    calendar = BusinessCalendar(timezone="Europe/Brussels", hours={6: [(time(2, 30), time(3, 30))]})
    start = datetime(2026, 10, 24, 22, 0, tzinfo=UTC)
    assert 120 == sum(_reference_minutes(calendar, start, 600))
    assert date(2026, 10, 25).weekday() == 6


@given(cases(), durations, st.integers(-3 * 1440, 6 * 1440).map(lambda m: m * MINUTE))
def test_an_all_day_calendar_takes_the_shortcut_to_the_same_answers(
    case: tuple[BusinessCalendar, datetime], duration: timedelta, span: timedelta
) -> None:
    """Open all day every day (no holidays) in any zone: elapsed time, as the interval walk says.

    The walk is forced by splitting each day at noon (the same opening hours, but
    not the all-day form the shortcut recognises).
    """
    zone = case[0].timezone
    start = case[1]
    whole = BusinessCalendar(timezone=zone, hours={d: [(time(0), time.max)] for d in range(7)})
    split = BusinessCalendar(
        timezone=zone, hours={d: [(time(0), time(12)), (time(12), time.max)] for d in range(7)}
    )
    assert split.add_business_time(start, duration) == whole.add_business_time(start, duration)
    assert start + duration == whole.add_business_time(start, duration)
    assert split.business_time_between(start, start + span) == span
    assert whole.business_time_between(start, start + span) == span
