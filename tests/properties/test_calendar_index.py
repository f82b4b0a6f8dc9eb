"""The calendar's interval index gives the answers of the date-by-date walk it replaced.

`BusinessCalendar.add_business_time` and `business_time_between` answer by binary
search over a per-calendar index of opening intervals that grows on demand (see
``_calendar``'s module docstring). The reference is the walk every query used
before (`BusinessCalendar._walk_add`, `BusinessCalendar._walk_between`, which the
minute-by-minute oracle of ``test_calendar_properties`` checks on its own).

Each example draws a calendar (a zone with real DST quirks: Santiago and Tehran
change clocks at midnight, Lord Howe by 30 minutes, Apia skipped a whole date;
0-3 intervals per weekday on a 15-minute grid, 24:00 ends included; holidays near
the queries) and runs a few queries on it in order, so the index is built, grown
forward, grown backward and rebuilt far away within one example: instants within
four months of a base instant (often near one of the zone's DST changes), now and
then years away, some off the minute; durations up to 60 days, or exactly the
business time up to an instant (so that adding it ends at an interval's end);
`between` both ways.
Every answer, or the error raised (field and message), must equal the walk's, also
when asked again (then from the index the first asking grew), and the index must
be well formed after them.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from ticketflow import BusinessCalendar, InvalidInputError
from ticketflow._calendar import _compute_day_intervals, _first_instant

from .test_calendar_properties import offset_changes

ZONES = (
    "Europe/Brussels",
    "America/Santiago",
    "Australia/Lord_Howe",
    "Asia/Tehran",
    "Pacific/Apia",
    "America/New_York",
    "UTC",
)
MINUTE = timedelta(minutes=1)
DAY = timedelta(days=1)
SCAN_FROM = datetime(2011, 1, 1, tzinfo=UTC)
SCAN_TO = datetime(2027, 1, 1, tzinfo=UTC)


CHANGES = {zone: offset_changes(zone, SCAN_FROM, SCAN_TO) for zone in ZONES}


def test_the_zones_have_their_quirks() -> None:
    """The scan finds Apia's skipped date, Tehran's and Santiago's midnight changes."""
    assert datetime(2011, 12, 30, 10, 0, tzinfo=UTC) in CHANGES["Pacific/Apia"]
    tehran = ZoneInfo("Asia/Tehran")
    assert any(change.astimezone(tehran).time() == time(1) for change in CHANGES["Asia/Tehran"])
    santiago = ZoneInfo("America/Santiago")
    assert any(
        change.astimezone(santiago).time() in {time(0), time(23)}
        for change in CHANGES["America/Santiago"]
    )
    assert [] == CHANGES["UTC"]


@st.composite
def day_hours(draw: st.DrawFn) -> list[tuple[time, time]]:
    """0-3 ordered, non-overlapping intervals on a 15-minute grid (96 = 24:00)."""
    marks = sorted(draw(st.sets(st.integers(0, 96), max_size=6)))
    if len(marks) % 2:
        marks = marks[:-1]

    def wall(mark: int) -> time:
        return time.max if mark == 96 else time(mark // 4, 15 * (mark % 4))

    return [(wall(marks[i]), wall(marks[i + 1])) for i in range(0, len(marks), 2)]


def instants(base: datetime) -> st.SearchStrategy[datetime]:
    """Instants near ``base`` (within four months), now and then years away, some off the minute."""
    near = st.integers(-120 * 1440, 120 * 1440).map(lambda minutes: base + minutes * MINUTE)
    far = st.integers(-6 * 365, 6 * 365).map(lambda days: base + days * DAY)
    return st.tuples(
        st.one_of(near, near, near, far),
        st.sampled_from((0, 0, 1, 999_999, 59_999_999)),
    ).map(lambda pair: pair[0] + timedelta(microseconds=pair[1]))


durations = st.one_of(
    st.integers(0, 60 * 1440).map(lambda minutes: minutes * MINUTE),
    st.integers(0, 60 * 86_400_000_000).map(lambda micros: timedelta(microseconds=micros)),
    st.sampled_from((timedelta(0), timedelta(microseconds=1), timedelta(hours=8))),
)


@st.composite
def scenarios(
    draw: st.DrawFn,
) -> tuple[BusinessCalendar, list[tuple[str, datetime, datetime | timedelta]]]:
    """A random calendar and 1-6 queries on it, in the order they run.

    A query is ``("add", start, duration)``, ``("fill", start, end)`` (add the
    business time from start to end) or ``("between", start, end)``.
    """
    zone = draw(st.sampled_from(ZONES))
    hours = {day: draw(day_hours()) for day in range(7)}
    if not any(hours.values()):
        hours[draw(st.integers(0, 6))] = [(time(9), time(17))]
    if CHANGES[zone] and draw(st.booleans()):
        base = (
            draw(st.sampled_from(CHANGES[zone])) + draw(st.integers(-3 * 1440, 3 * 1440)) * MINUTE
        )
    else:
        base = SCAN_FROM + draw(st.integers(0, (SCAN_TO - SCAN_FROM) // MINUTE)) * MINUTE
    local_day = base.astimezone(ZoneInfo(zone)).date()
    holidays = draw(st.sets(st.integers(-30, 60).map(lambda k: local_day + k * DAY), max_size=12))
    queries: list[tuple[str, datetime, datetime | timedelta]] = []
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(("add", "fill", "between")))
        if kind == "add":
            queries.append(("add", draw(instants(base)), draw(durations)))
        elif kind == "fill":
            start = draw(instants(base))
            queries.append(("fill", start, start + draw(durations)))
        else:
            start = draw(instants(base))
            end = draw(st.one_of(instants(base), durations.map(start.__add__)))
            queries.append(("between", start, end))
    return BusinessCalendar(timezone=zone, hours=hours, holidays=holidays), queries


Outcome = tuple[str, object, object]


def _outcome(call: object) -> Outcome:
    """Run ``call`` and return its answer, or the InvalidInputError it raised."""
    assert callable(call)
    try:
        return ("answer", call(), None)
    except InvalidInputError as exc:
        return ("error", exc.field, str(exc))


def _check_well_formed(calendar: BusinessCalendar) -> None:
    """The index is sorted, its prefix sums add up, and each date holds that date's intervals."""
    index = calendar._index
    if index is None:
        return
    zone = ZoneInfo(calendar.timezone)
    assert _first_instant(zone, date.fromordinal(index.first), time(0)) == index.low
    assert _first_instant(zone, date.fromordinal(index.last + 1), time(0)) == index.high
    days = index.last - index.first + 1
    assert days + 1 <= len(index.day_starts)
    assert 0 == index.day_starts[0]
    assert index.size == index.day_starts[days]
    assert timedelta(0) == index.before[0]
    for position in range(index.size):
        assert index.starts[position] < index.ends[position]
        assert index.ends[position] - index.starts[position] == (
            index.before[position + 1] - index.before[position]
        )
        if position:
            assert index.ends[position - 1] <= index.starts[position]
    for offset in range(days):
        day = date.fromordinal(index.first + offset)
        low, high = index.day_starts[offset], index.day_starts[offset + 1]
        assert _compute_day_intervals(calendar, day) == tuple(
            zip(index.starts[low:high], index.ends[low:high], strict=True)
        )


@given(scenarios())
def test_the_index_answers_as_the_walk(
    scenario: tuple[BusinessCalendar, list[tuple[str, datetime, datetime | timedelta]]],
) -> None:
    """add and between (both ways) equal the date-by-date walk, errors included."""
    calendar, queries = scenario
    for kind, start, other in queries:
        if kind == "fill":
            # The business time up to ``other``: often ``other`` is closed, so adding
            # it must stop exactly at the end of the last interval before ``other``.
            wanted = calendar._walk_between(start, other)
            expected = calendar._walk_add(start, wanted) if wanted else start
            assert expected == calendar.add_business_time(start, wanted)
            assert expected == calendar.add_business_time(start, wanted)  # now from the index
            continue
        if kind == "add":
            assert isinstance(other, timedelta)
            got = _outcome(lambda: calendar.add_business_time(start, other))  # noqa: B023
            if other:
                walked = _outcome(lambda: calendar._walk_add(start, other))  # noqa: B023
            else:
                walked = ("answer", start, None)
            assert walked == got
            assert walked == _outcome(lambda: calendar.add_business_time(start, other))  # noqa: B023
            if "answer" == got[0]:
                assert isinstance(got[1], datetime)
                assert UTC == got[1].tzinfo
        else:
            assert isinstance(other, datetime)
            low, high = sorted((start, other))
            walked = calendar._walk_between(low, high)
            assert walked == calendar.business_time_between(low, high)
            assert -walked == calendar.business_time_between(high, low)
    _check_well_formed(calendar)
