"""Business calendars: opening hours, holidays and business time across DST.

A `BusinessCalendar` is a time zone, opening hours per weekday (wall-clock times in
that zone, several intervals a day allowed) and holiday dates. It answers "what
instant is 8 business hours after this one?" (`BusinessCalendar.add_business_time`)
and "how much business time lies between these instants?"
(`BusinessCalendar.business_time_between`).

How wall-clock times become instants
------------------------------------
Each opening interval of a date opens at the first instant the calendar's wall clock
reaches its start time on that date and closes at the first instant it reaches its
end time (an end of ``time.max`` or ``"24:00"`` is midnight of the next date). So:

* an ambiguous wall time (the repeated hour when clocks go back) is its first
  occurrence (``fold=0``);
* a nonexistent wall time (skipped when clocks go forward) is the moment of the jump;
* an interval spanning a jump holds the real elapsed time: ``01:00-04:00`` on a
  spring-forward night is 2 hours of business time, on a fall-back night 4 hours.

Everything is computed in UTC with exact `timedelta` arithmetic (microseconds).

How business time is computed
-----------------------------
Concatenated date by date, a calendar's opening intervals in UTC are sorted and do
not overlap: an interval of a date ends no later than the first instant the wall
clock reaches the next date's midnight, and every interval of the next date opens
at or after it. Each calendar keeps an index of them over a contiguous range of
local dates (`_Index`): the opening and closing instants, and the business time
before each interval (prefix sums). With ``B(t)``, the business time from the
index's first date to ``t``, `BusinessCalendar.business_time_between` is
``B(end) - B(start)`` and `BusinessCalendar.add_business_time` is the first instant
where ``B`` reaches ``B(start) + duration``: two binary searches, whatever the
span. The index is built lazily, forward by appending dates and backward by
building a new one, and published as one immutable tuple, so threads sharing a
calendar never see half of it. Queries near the ends of `datetime`'s range, or
spanning more than `_INDEX_MAX_DAYS` dates, walk the intervals date by date
(`BusinessCalendar._walk_between`, `BusinessCalendar._walk_add`), as every query
did before the index.
"""

from __future__ import annotations

import functools
import importlib
import threading
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final, NamedTuple, final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs

from ._clock import require_aware
from .exceptions import InvalidInputError

__all__ = ["BusinessCalendar"]

WEEKDAY_NAMES: Final = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_FULL_NAMES: Final = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_MIDNIGHT: Final = time(0)
_END_OF_DAY: Final = time.max
"""An interval end of ``time.max`` means 24:00, midnight of the next date."""

SEARCH_LIMIT_DAYS: Final = 3660
"""How far (about ten years of dates) the calendar looks for opening hours."""

_TICK: Final = timedelta(microseconds=1)
_ZERO: Final = timedelta(0)

_INDEX_MAX_DAYS: Final = 4 * SEARCH_LIMIT_DAYS
"""The most local dates one calendar's index spans; longer queries walk date by date."""
_INDEX_FIRST: Final = date.min.toordinal() + 3
_INDEX_LAST: Final = date.max.toordinal() - SEARCH_LIMIT_DAYS - 3
"""The dates (ordinals) an index may cover; queries outside walk, as they always did.

Within them every instant is representable, and a search of `SEARCH_LIMIT_DAYS`
dates from any of them stays in range (the walk refuses a search that does not,
even when the answer comes earlier; queries near the end keep that error).
"""
_GROW_BACK: Final = 7
_GROW_FORWARD: Final = 35
"""The fewest dates an index grows by, backward and forward (it grows by its span if more)."""
_SURELY_IN_SEARCH: Final = timedelta(days=SEARCH_LIMIT_DAYS - 3)
"""An opening this soon after a start is within `SEARCH_LIMIT_DAYS` dates of it in any zone."""
_INDEX_LOCK: Final = threading.Lock()
"""Serialises index growth (rare); readers never take it."""

Interval = tuple[time, time]
WeekHours = tuple[tuple[Interval, ...], ...]
HoursSpec = (
    Mapping[int, Sequence[Interval]]
    | Mapping[str, Sequence[Interval]]
    | Mapping[int | str, Sequence[Interval]]
    | Sequence[Sequence[Interval]]
)
"""What ``hours`` accepts: weekday (0-6 or a name) to intervals, or 7 days in order."""


def _weekday(key: object) -> int:
    if isinstance(key, int) and not isinstance(key, bool) and 0 <= key <= 6:
        return key
    if isinstance(key, str):
        name = key.strip().lower()
        if name in WEEKDAY_NAMES:
            return WEEKDAY_NAMES.index(name)
        if name in _FULL_NAMES:
            return _FULL_NAMES.index(name)
    raise InvalidInputError(
        f"hours: unknown weekday {key!r}; use 0-6 (Monday=0) or one of {', '.join(WEEKDAY_NAMES)}",
        field="hours",
    )


def _check_time(value: object, field: str) -> time:
    if not isinstance(value, time):
        raise InvalidInputError(
            f"{field} must be a datetime.time, got {type(value).__name__}", field=field
        )
    if value.tzinfo is not None:
        raise InvalidInputError(
            f"{field} must be a wall-clock time without tzinfo (the calendar's zone applies), "
            f"got {value.isoformat()}",
            field=field,
        )
    return value


def _check_day(name: str, intervals: Sequence[Interval]) -> tuple[Interval, ...]:
    checked: list[Interval] = []
    for index, interval in enumerate(intervals):
        field = f"hours.{name}[{index}]"
        if not isinstance(interval, Sequence) or len(interval) != 2:
            raise InvalidInputError(f"{field} must be a (start, end) pair", field=field)
        start = _check_time(interval[0], f"{field}.start")
        end = _check_time(interval[1], f"{field}.end")
        if start == _END_OF_DAY:
            raise InvalidInputError(f"{field}: an interval cannot start at 24:00", field=field)
        if end <= start:
            raise InvalidInputError(
                f"{field}: end {_format_time(end)} must be after start {_format_time(start)}",
                field=field,
            )
        if checked and start < checked[-1][1]:
            previous = checked[-1]
            raise InvalidInputError(
                f"{field}: {_format_time(start)}-{_format_time(end)} overlaps or comes before "
                f"{_format_time(previous[0])}-{_format_time(previous[1])}; "
                "give a day's intervals in order, without overlaps",
                field=field,
            )
        checked.append((start, end))
    return tuple(checked)


def _normalise_hours(hours: HoursSpec) -> WeekHours:
    if isinstance(hours, Sequence) and not isinstance(hours, str) and len(hours) == 7:
        hours = dict(enumerate(hours))
    if not isinstance(hours, Mapping):
        raise InvalidInputError(
            f"hours must be a mapping of weekday to intervals, got {type(hours).__name__}",
            field="hours",
        )
    week: list[tuple[Interval, ...] | None] = [None] * 7
    for key, intervals in hours.items():
        day = _weekday(key)
        if week[day] is not None:
            raise InvalidInputError(
                f"hours: {WEEKDAY_NAMES[day]} is given twice ({key!r})", field="hours"
            )
        week[day] = _check_day(WEEKDAY_NAMES[day], intervals)
    normalised = tuple(day or () for day in week)
    if not any(normalised):
        raise InvalidInputError(
            "hours: a calendar needs at least one opening interval in the week", field="hours"
        )
    return normalised


def _normalise_holidays(holidays: Iterable[date]) -> frozenset[date]:
    result: set[date] = set()
    for holiday in holidays:
        if isinstance(holiday, datetime) or not isinstance(holiday, date):
            raise InvalidInputError(
                f"holidays must be dates, got {holiday!r} ({type(holiday).__name__})",
                field="holidays",
            )
        result.add(holiday)
    return frozenset(result)


def _format_time(value: time) -> str:
    if value == _END_OF_DAY:
        return "24:00"
    if value.microsecond:
        return value.isoformat()
    return value.strftime("%H:%M:%S" if value.second else "%H:%M")


def _parse_time(value: object, field: str) -> time:
    if isinstance(value, str):
        if value == "24:00":
            return _END_OF_DAY
        try:
            return time.fromisoformat(value)
        except ValueError:
            pass
    raise InvalidInputError(
        f"{field} must be a time like '09:00' or '24:00', got {value!r}", field=field
    )


def _zone(name: str) -> ZoneInfo:
    if not isinstance(name, str):
        raise InvalidInputError(
            f"timezone must be an IANA zone name, got {type(name).__name__}", field="timezone"
        )
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidInputError(
            f"timezone: unknown time zone {name!r}; use an IANA name like 'Europe/Brussels'",
            field="timezone",
        ) from exc


def _hours_from_data(raw_hours: object) -> dict[int | str, list[tuple[time, time]]]:
    if not isinstance(raw_hours, Mapping):
        raise InvalidInputError("hours must be a table of weekday to intervals", field="hours")
    hours: dict[int | str, list[tuple[time, time]]] = {}
    for key, intervals in raw_hours.items():
        if not isinstance(intervals, list):
            raise InvalidInputError(f"hours.{key} must be a list", field=f"hours.{key}")
        pairs: list[tuple[time, time]] = []
        for index, pair in enumerate(intervals):
            field = f"hours.{key}[{index}]"
            if not isinstance(pair, list | tuple) or len(pair) != 2:
                raise InvalidInputError(f"{field} must be [start, end]", field=field)
            pairs.append((_parse_time(pair[0], field), _parse_time(pair[1], field)))
        hours[key] = pairs
    return hours


class _Index(NamedTuple):
    """A calendar's opening intervals in UTC over the local dates ``first..last``.

    Valid for instants in ``[low, high)``: every interval of an earlier date has
    closed by ``low`` and every interval of a later date opens at or after ``high``.
    The lists may be longer than ``size`` (a newer index appended to them, under
    `_INDEX_LOCK`); a reader only looks at the first ``size`` items.
    """

    low: datetime
    """The first instant the wall clock reaches ``first`` 00:00."""
    high: datetime
    """The first instant the wall clock reaches the date after ``last``, 00:00."""
    first: int
    """The first local date covered, as an ordinal."""
    last: int
    """The last local date covered, as an ordinal."""
    size: int
    """How many intervals: ``starts[:size]``, ``ends[:size]``."""
    starts: list[datetime]
    ends: list[datetime]
    before: list[timedelta]
    """``before[i]``: business time in the intervals before interval ``i`` (``size + 1`` items)."""
    day_starts: list[int]
    """``day_starts[k]``: the first interval of date ``first + k`` (``last - first + 2`` items)."""


def _business_time_to(
    moment: datetime,
    count: int,
    starts: list[datetime],
    ends: list[datetime],
    before: list[timedelta],
) -> timedelta:
    """Return B(moment): business time from an index's ``low`` to ``moment`` (within it)."""
    position = bisect_right(starts, moment, 0, count) - 1
    if position < 0:
        return _ZERO
    if moment < ends[position]:
        return before[position] + (moment - starts[position])
    return before[position + 1]


@final
@attrs.frozen(kw_only=True, cache_hash=True)
class BusinessCalendar:
    """When a help desk is open: a time zone, weekly opening hours and holidays.

    Opening hours are wall-clock times in ``timezone``; an interval may end at
    ``time.max``, which means 24:00 (so ``(time(0), time.max)`` is a whole day).
    A day's intervals must be in order and must not overlap. Holidays are dates in
    the calendar's zone on which it is closed all day.

    Examples:
        >>> from datetime import UTC, datetime, time, timedelta
        >>> desk = BusinessCalendar(
        ...     timezone="Europe/Brussels",
        ...     hours={day: [(time(9), time(17))] for day in ("mon", "tue", "wed", "thu", "fri")},
        ... )
        >>> friday_4pm = datetime(2026, 3, 6, 15, 0, tzinfo=UTC)  # 16:00 in Brussels
        >>> desk.add_business_time(friday_4pm, timedelta(hours=2)).isoformat()
        '2026-03-09T09:00:00+00:00'

    Args:
        timezone: An IANA time zone name, e.g. ``"Europe/Brussels"``.
        hours: Opening intervals ``(start, end)`` per weekday; a weekday is 0-6
            (Monday=0) or a name (``"mon"`` or ``"monday"``). Missing days are closed.
            A 7-item sequence indexed by weekday (the form the attribute reads back
            as) is accepted too.
        holidays: Dates on which the calendar is closed.

    Raises:
        InvalidInputError: unknown time zone, unknown weekday, an interval that ends
            before it starts, overlapping or unordered intervals, a time with tzinfo,
            a holiday that is not a date, or no opening hours at all. ``field`` names
            the offending argument (``"hours.mon[1]"``, ``"timezone"``, ...).
    """

    timezone: str = attrs.field()
    hours: WeekHours = attrs.field(converter=_normalise_hours)
    """Opening intervals indexed by weekday (Monday=0), normalised to a 7-tuple."""
    holidays: frozenset[date] = attrs.field(default=frozenset(), converter=_normalise_holidays)
    _zone: ZoneInfo = attrs.field(init=False, eq=False, repr=False, hash=False)
    # Open all day every day without holidays: business time is elapsed time, in
    # any zone (local days follow each other without gaps), so no interval walk.
    _continuous: bool = attrs.field(init=False, eq=False, repr=False, hash=False)
    # The opening intervals over a range of dates, grown on demand and replaced as a
    # whole (see "How business time is computed" in the module docstring).
    _index: _Index | None = attrs.field(init=False, default=None, eq=False, repr=False, hash=False)

    @_zone.default
    def _load_zone(self) -> ZoneInfo:
        return _zone(self.timezone)

    @_continuous.default
    def _is_continuous(self) -> bool:
        whole_day = ((_MIDNIGHT, _END_OF_DAY),)
        return not self.holidays and all(day == whole_day for day in self.hours)

    @classmethod
    def always_open(cls) -> BusinessCalendar:
        """Return the 24/7 calendar: UTC, open all day every day, no holidays.

        With it business time is plain elapsed time.

        Examples:
            >>> from datetime import UTC, datetime, timedelta
            >>> start = datetime(2026, 1, 3, 22, 0, tzinfo=UTC)
            >>> BusinessCalendar.always_open().add_business_time(start, timedelta(hours=5))
            datetime.datetime(2026, 1, 4, 3, 0, tzinfo=datetime.timezone.utc)
        """
        return cls(timezone="UTC", hours={key: [(_MIDNIGHT, _END_OF_DAY)] for key in range(7)})

    @classmethod
    def weekdays_9_to_5(cls, timezone: str, holidays: Iterable[date] = ()) -> BusinessCalendar:
        """Return a Monday-to-Friday, 09:00-17:00 calendar in ``timezone``.

        Examples:
            >>> BusinessCalendar.weekdays_9_to_5("America/New_York").to_dict()["hours"]["fri"]
            [['09:00', '17:00']]
        """
        return cls(
            timezone=timezone,
            hours={key: [(time(9), time(17))] for key in range(5)},
            holidays=holidays,
        )

    def with_country_holidays(
        self, country: str, years: Iterable[int], *, subdivision: str | None = None
    ) -> BusinessCalendar:
        """Return a copy that is also closed on a country's public holidays.

        Uses the optional `holidays <https://pypi.org/project/holidays/>`_ package
        (``pip install 'ticketflow[holidays]'``).

        Args:
            country: An ISO 3166 country code, e.g. ``"BE"``.
            years: The years to take holidays for.
            subdivision: A state or province code, when holidays differ by region.

        Raises:
            ImportError: the ``holidays`` package is not installed.
            InvalidInputError: the package does not know ``country``/``subdivision``.
        """
        try:
            package = importlib.import_module("holidays")
        except ImportError as exc:
            msg = (
                "BusinessCalendar.with_country_holidays needs the 'holidays' package: "
                "pip install 'ticketflow[holidays]'"
            )
            raise ImportError(msg) from exc
        try:
            found: Mapping[date, str] = package.country_holidays(
                country, subdiv=subdivision, years=list(years)
            )
        except NotImplementedError as exc:
            raise InvalidInputError(
                f"country: the holidays package knows no country {country!r} "
                f"(subdivision {subdivision!r})",
                field="country",
            ) from exc
        return attrs.evolve(self, holidays=self.holidays | set(found))

    def to_dict(self) -> dict[str, Any]:
        """Return the calendar as JSON/TOML-friendly data; `from_dict` reads it back.

        Examples:
            >>> BusinessCalendar.always_open().to_dict()["hours"]["sun"]
            [['00:00', '24:00']]
        """
        return {
            "timezone": self.timezone,
            "hours": {
                WEEKDAY_NAMES[day]: [[_format_time(s), _format_time(e)] for s, e in intervals]
                for day, intervals in enumerate(self.hours)
                if intervals
            },
            "holidays": [holiday.isoformat() for holiday in sorted(self.holidays)],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BusinessCalendar:
        """Build a calendar from `to_dict` data (times as ``"HH:MM"``, ``"24:00"`` allowed).

        Raises:
            InvalidInputError: the data is malformed; ``field`` says where.
        """
        if not isinstance(data, Mapping):
            raise InvalidInputError("calendar data must be a mapping", field="calendar")
        unknown = set(data) - {"timezone", "hours", "holidays"}
        if unknown:
            raise InvalidInputError(f"calendar: unknown keys {sorted(unknown)}", field=min(unknown))
        if "timezone" not in data or "hours" not in data:
            raise InvalidInputError("calendar needs 'timezone' and 'hours'", field="calendar")
        hours = _hours_from_data(data["hours"])
        holidays: list[date] = []
        for raw in data.get("holidays", []):
            try:
                holidays.append(date.fromisoformat(raw))
            except (TypeError, ValueError) as exc:
                raise InvalidInputError(
                    f"holidays: {raw!r} is not a date like '2026-12-25'", field="holidays"
                ) from exc
        return cls(timezone=data["timezone"], hours=hours, holidays=holidays)

    # -- queries --------------------------------------------------------------------

    def is_open(self, when: datetime) -> bool:
        """Return whether the calendar is open at ``when`` (opening included, closing not).

        Raises:
            InvalidInputError: ``when`` is naive.
        """
        moment = require_aware(when, "when")
        opening, _ = next(self._intervals_from(moment))
        return opening <= moment

    def next_open(self, when: datetime) -> datetime:
        """Return ``when`` (in UTC) if open, else the next opening instant.

        Raises:
            InvalidInputError: ``when`` is naive, or no opening within `SEARCH_LIMIT_DAYS`.
        """
        moment = require_aware(when, "when")
        opening, _ = next(self._intervals_from(moment))
        return max(opening, moment)

    def add_business_time(self, start: datetime, duration: timedelta) -> datetime:
        """Return the earliest instant with ``duration`` of business time since ``start``.

        ``add_business_time(t, timedelta(0))`` is ``t`` itself (in UTC), open or not;
        a positive duration lands inside an opening interval or exactly at its end
        (a deadline of "Friday 17:00", not "Monday 09:00"). The result satisfies
        ``business_time_between(start, result) == duration`` and
        ``add(add(t, a), b) == add(t, a + b)``.

        Args:
            start: A timezone-aware instant.
            duration: Business time to add, not negative.

        Returns:
            A timezone-aware datetime in UTC.

        Raises:
            InvalidInputError: ``start`` is naive, ``duration`` is negative, or the
                calendar has not enough opening hours within `SEARCH_LIMIT_DAYS`.
        """
        moment = require_aware(start, "start")
        if not isinstance(duration, timedelta):
            raise InvalidInputError(
                f"duration must be a timedelta, got {type(duration).__name__}", field="duration"
            )
        if duration < timedelta(0):
            raise InvalidInputError(
                f"duration must not be negative, got {duration}", field="duration"
            )
        remaining = duration
        if not remaining:
            return moment
        if self._continuous:
            return moment.astimezone(UTC) + remaining
        return self._add(moment, remaining)

    def business_time_between(self, start: datetime, end: datetime) -> timedelta:
        """Return the business time from ``start`` to ``end``; negative if ``end`` is earlier.

        Additive over any split point:
        ``between(a, b) + between(b, c) == between(a, c)``.

        Raises:
            InvalidInputError: ``start`` or ``end`` is naive.
        """
        low = require_aware(start, "start")
        high = require_aware(end, "end")
        if high < low:
            return -self._between(high, low)
        return self._between(low, high)

    def _between(self, low: datetime, high: datetime) -> timedelta:
        """Return the business time from ``low`` to ``high`` (UTC, ``low <= high``)."""
        if low == high:
            return _ZERO
        if self._continuous:
            return high - low
        index = self._index
        if index is None or not (index[0] <= low and high < index[1]):
            try:
                first = low.astimezone(self._zone).toordinal() - 1
                last = high.astimezone(self._zone).toordinal() + 1
            except OverflowError:
                return self._walk_between(low, high)
            index = self._index_covering(first, last)
            if index is None:
                return self._walk_between(low, high)
        _, _, _, _, count, starts, ends, before, _ = index
        return _business_time_to(high, count, starts, ends, before) - _business_time_to(
            low, count, starts, ends, before
        )

    def _add(self, moment: datetime, duration: timedelta) -> datetime:
        """Return the first instant with ``duration`` (> 0) of business time after ``moment``."""
        index = self._index
        if index is not None and index[0] <= moment < index[1]:
            _, _, _, _, count, starts, ends, before, _ = index
            target = _business_time_to(moment, count, starts, ends, before) + duration
            found = bisect_left(before, target, 1, count + 1) - 1
            if found < count:
                opening = starts[found]
                if opening - moment < _SURELY_IN_SEARCH:
                    return opening + (target - before[found])
        return self._add_growing(moment, duration)

    def _add_growing(self, moment: datetime, duration: timedelta) -> datetime:
        """`_add` when the index must grow first, or must check the search limit."""
        try:
            day = moment.astimezone(self._zone).toordinal()
        except OverflowError:
            return self._walk_add(moment, duration)
        limit = day + SEARCH_LIMIT_DAYS  # the last date the search may use
        last = day + 1
        while True:
            index = self._index_covering(day - 1, last)
            if index is None:
                return self._walk_add(moment, duration)
            target = (
                _business_time_to(moment, index.size, index.starts, index.ends, index.before)
                + duration
            )
            found = bisect_left(index.before, target, 1, index.size + 1) - 1
            if found < index.size:
                days = index.last - index.first + 2
                if index.first + bisect_right(index.day_starts, found, 0, days) - 1 > limit:
                    raise self._nothing_open_error(moment)
                return index.starts[found] + (target - index.before[found])
            if index.last >= limit:
                raise self._nothing_open_error(moment)
            last = min(index.last + 1, limit)

    def _index_covering(self, first: int, last: int) -> _Index | None:
        """Return an index covering the local dates ``first..last`` (ordinals), grown if need be.

        None when it may not: dates near the ends of `datetime`'s range, or more than
        `_INDEX_MAX_DAYS` of them.
        """
        if first < _INDEX_FIRST or last > _INDEX_LAST or last - first > _INDEX_MAX_DAYS:
            return None
        with _INDEX_LOCK:
            index = self._index
            if index is not None and index.first <= first and last <= index.last:
                return index
            if index is None or max(last, index.last) - min(first, index.first) > _INDEX_MAX_DAYS:
                index = None
                new_first, new_last = first - _GROW_BACK, last + _GROW_FORWARD
            else:
                span = index.last - index.first + 1
                new_first = index.first
                if first < index.first:
                    new_first = min(first, index.first - max(span, _GROW_BACK))
                new_last = index.last
                if last > index.last:
                    new_last = max(last, index.last + max(span, _GROW_FORWARD))
                first, last = min(first, index.first), max(last, index.last)
            # Margins never cut into what is needed: last - first <= _INDEX_MAX_DAYS here.
            new_first = max(new_first, _INDEX_FIRST, last - _INDEX_MAX_DAYS)
            new_last = min(new_last, _INDEX_LAST, new_first + _INDEX_MAX_DAYS)
            grown = self._grow_index(index, new_first, new_last)
            object.__setattr__(self, "_index", grown)
            return grown

    def _grow_index(self, index: _Index | None, first: int, last: int) -> _Index:
        """Return an index over ``first..last`` that extends ``index`` (None: a new one).

        Growing forward appends to ``index``'s lists (its readers look at their first
        ``size`` items only); growing backward builds new lists.
        """
        if index is None or first < index.first:
            starts: list[datetime] = []
            ends: list[datetime] = []
            before = [_ZERO]
            day_starts = [0]
            if index is None:
                self._append_dates(first, last, starts, ends, before, day_starts)
                return self._publishable(first, last, starts, ends, before, day_starts)
            self._append_dates(first, index.first - 1, starts, ends, before, day_starts)
            offset = len(starts)
            total = before[-1]
            starts.extend(index.starts[: index.size])
            ends.extend(index.ends[: index.size])
            before.extend(total + time_before for time_before in index.before[1 : index.size + 1])
            days = index.last - index.first + 2
            day_starts.extend(offset + position for position in index.day_starts[1:days])
        else:
            starts, ends, before, day_starts = (
                index.starts,
                index.ends,
                index.before,
                index.day_starts,
            )
        if last > index.last:
            self._append_dates(index.last + 1, last, starts, ends, before, day_starts)
        return self._publishable(first, max(last, index.last), starts, ends, before, day_starts)

    def _append_dates(
        self,
        first: int,
        last: int,
        starts: list[datetime],
        ends: list[datetime],
        before: list[timedelta],
        day_starts: list[int],
    ) -> None:
        """Append the opening intervals of the local dates ``first..last`` to an index's lists."""
        total = before[-1]
        for ordinal in range(first, last + 1):
            for opening, closing in _compute_day_intervals(self, date.fromordinal(ordinal)):
                total += closing - opening
                before.append(total)
                ends.append(closing)
                starts.append(opening)
            day_starts.append(len(starts))

    def _publishable(
        self,
        first: int,
        last: int,
        starts: list[datetime],
        ends: list[datetime],
        before: list[timedelta],
        day_starts: list[int],
    ) -> _Index:
        zone = self._zone
        return _Index(
            low=_first_instant(zone, date.fromordinal(first), _MIDNIGHT),
            high=_first_instant(zone, date.fromordinal(last + 1), _MIDNIGHT),
            first=first,
            last=last,
            size=len(starts),
            starts=starts,
            ends=ends,
            before=before,
            day_starts=day_starts,
        )

    def _walk_add(self, moment: datetime, duration: timedelta) -> datetime:
        """`_add` by walking the opening intervals date by date (no index)."""
        remaining = duration
        for opening, closing in self._intervals_from(moment):
            begin = max(opening, moment)
            available = closing - begin
            if remaining <= available:
                return begin + remaining
            remaining -= available
        raise AssertionError(
            "unreachable: _intervals_from raises when exhausted"
        )  # pragma: no cover

    def _walk_between(self, low: datetime, high: datetime) -> timedelta:
        """`_between` by walking the opening intervals date by date (no index)."""
        total = _ZERO
        for opening, closing in self._intervals_from(low, until=high):
            if opening >= high:
                break
            total += min(closing, high) - max(opening, low)
        return total

    def _nothing_open_error(self, moment: datetime) -> InvalidInputError:
        return InvalidInputError(
            f"no opening hours left within {SEARCH_LIMIT_DAYS} days after {moment.isoformat()} "
            f"(calendar {self.timezone}, {len(self.holidays)} holidays)",
            field="duration",
        )

    def _intervals_from(
        self, moment: datetime, until: datetime | None = None
    ) -> Iterator[tuple[datetime, datetime]]:
        """Yield the UTC opening intervals that end after ``moment``, in order.

        With ``until``, stop after the dates that can hold it; without, raise
        InvalidInputError after `SEARCH_LIMIT_DAYS` dates.
        """
        try:
            # From the day before: a date's intervals can end after the next date
            # began, in a zone whose clocks go back at midnight.
            day = moment.astimezone(self._zone).date() - timedelta(days=1)
            if until is None:
                last = day + timedelta(days=SEARCH_LIMIT_DAYS + 1)
            else:
                last = until.astimezone(self._zone).date() + timedelta(days=1)
            while day <= last:
                for interval in _day_intervals(self, day):
                    if interval[1] > moment:
                        yield interval
                day += timedelta(days=1)
            if until is not None:
                return
        except OverflowError as exc:
            raise InvalidInputError(
                f"the search from {moment.isoformat()} runs past the calendar's range",
                field="start",
            ) from exc
        raise self._nothing_open_error(moment)


def _first_instant(zone: ZoneInfo, day: date, wall: time) -> datetime:
    """Return the first UTC instant at which the wall clock of ``zone`` reaches ``day wall``."""
    local = datetime.combine(day, wall, tzinfo=zone)
    instant = local.astimezone(UTC)
    if instant.astimezone(zone).replace(tzinfo=None) == local.replace(tzinfo=None):
        return instant  # exists; fold=0 is the first occurrence of an ambiguous time
    # Nonexistent (clocks jumped over it): the answer is the jump. Before the jump
    # the wall clock reads less than ``wall``, from it on more; bisect to the microsecond.
    before = local.replace(fold=1).astimezone(UTC)
    after = instant
    naive = local.replace(tzinfo=None)
    while after - before > _TICK:
        middle = before + (after - before) // 2
        if middle.astimezone(zone).replace(tzinfo=None) >= naive:
            after = middle
        else:
            before = middle
    return after


def _compute_day_intervals(
    calendar: BusinessCalendar, day: date
) -> tuple[tuple[datetime, datetime], ...]:
    """Return the UTC opening intervals of a local date (empty on holidays)."""
    if day in calendar.holidays:
        return ()
    zone = calendar._zone  # noqa: SLF001 - module-private helper of the class
    result: list[tuple[datetime, datetime]] = []
    for start, end in calendar.hours[day.weekday()]:
        opening = _first_instant(zone, day, start)
        if end == _END_OF_DAY:
            closing = _first_instant(zone, day + timedelta(days=1), _MIDNIGHT)
        else:
            closing = _first_instant(zone, day, end)
        if closing > opening:
            result.append((opening, closing))
    return tuple(result)


_day_intervals = functools.lru_cache(maxsize=8192)(_compute_day_intervals)
"""`_compute_day_intervals`, cached for the date-by-date walk (`is_open`, `next_open`)."""
