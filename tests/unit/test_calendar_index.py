"""BusinessCalendar's interval index: same answers as the walk, limits, threads, identity.

The property test ``tests/properties/test_calendar_index.py`` compares the index
with the date-by-date walk on random calendars; these tests pin the cases random
draws rarely reach: the search limit to the date, a calendar shared by threads,
the index's span limit, the ends of `datetime`'s range.
"""

from __future__ import annotations

import pickle
import random
import sys
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, time, timedelta

import pytest

from ticketflow import BusinessCalendar, InvalidInputError
from ticketflow import _calendar as calendar_module
from ticketflow._calendar import SEARCH_LIMIT_DAYS

NINE_TO_FIVE = [(time(9), time(17))]
START = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)  # a Monday
DAY = timedelta(days=1)


def office() -> BusinessCalendar:
    return BusinessCalendar.weekdays_9_to_5("Europe/Brussels", holidays=[date(2026, 4, 6)])


def _closed_until(first_open: date) -> BusinessCalendar:
    """Open 09:00-17:00 UTC every day, but closed from START's date to ``first_open``."""
    days = (first_open - START.date()).days
    return BusinessCalendar(
        timezone="UTC",
        hours=dict.fromkeys(range(7), NINE_TO_FIVE),
        holidays=[START.date() + k * DAY for k in range(days)],
    )


@pytest.mark.parametrize("asked_before", [False, True])
def test_the_search_limit_holds_to_the_date(asked_before: bool) -> None:
    """An opening SEARCH_LIMIT_DAYS dates after the start is found; one date later is not.

    Asked before (``asked_before``), the grown index already holds the far opening:
    the answer must still be refused past the limit, not read off the index.
    """
    last_allowed = START.date() + SEARCH_LIMIT_DAYS * DAY
    reachable = _closed_until(last_allowed)
    too_far = _closed_until(last_allowed + DAY)
    if asked_before:
        reachable.business_time_between(START, START + (SEARCH_LIMIT_DAYS + 30) * DAY)
        too_far.business_time_between(START, START + (SEARCH_LIMIT_DAYS + 30) * DAY)
    expected = datetime.combine(last_allowed, time(10), tzinfo=UTC)
    assert expected == reachable.add_business_time(START, timedelta(hours=1))
    with pytest.raises(InvalidInputError, match="no opening hours left within") as caught:
        too_far.add_business_time(START, timedelta(hours=1))
    assert "duration" == caught.value.field
    assert too_far._index is not None  # the search grew it past the limit
    assert too_far._index.last > last_allowed.toordinal()
    with pytest.raises(InvalidInputError, match="no opening hours left within"):
        too_far.add_business_time(START, timedelta(hours=1))


def test_the_index_grows_both_ways_and_keeps_its_answers() -> None:
    """Queries later, earlier and years away grow or rebuild the index; answers stay the walk's."""
    calendar = office()
    moments = [
        START,
        START + 200 * DAY,
        START - 300 * DAY,
        START + 50 * 365 * DAY,
        START - 3 * DAY,
    ]
    spans: list[tuple[int, int]] = []
    for moment in moments:
        assert calendar._walk_add(moment, timedelta(hours=45)) == calendar.add_business_time(
            moment, timedelta(hours=45)
        )
        later = moment + 40 * DAY
        assert calendar._walk_between(moment, later) == calendar.business_time_between(
            moment, later
        )
        index = calendar._index
        assert index is not None
        assert index.low <= moment < index.high
        spans.append((index.first, index.last))
    assert spans[1][0] == spans[0][0] < spans[0][1] < spans[1][1]  # forward: appended
    assert spans[2][0] < spans[1][0]  # backward: rebuilt from an earlier date
    assert spans[3][0] > spans[2][1]  # 50 years away: too far to span, built anew there


def test_a_query_longer_than_the_index_may_span_walks(monkeypatch: pytest.MonkeyPatch) -> None:
    """A query over more dates than _INDEX_MAX_DAYS walks, with the walk's answer."""
    monkeypatch.setattr(calendar_module, "_INDEX_MAX_DAYS", 30)
    calendar = office()
    end = START + 100 * DAY
    assert calendar._walk_between(START, end) == calendar.business_time_between(START, end)
    assert calendar._index is None
    assert calendar._walk_add(START, timedelta(hours=8 * 40)) == calendar.add_business_time(
        START, timedelta(hours=8 * 40)
    )
    near = START + 5 * DAY
    assert timedelta(hours=4 + 4 * 8) == calendar.business_time_between(START, near)
    assert calendar._index is not None
    assert calendar._index.last - calendar._index.first <= 30


def _outcome(call: Callable[[], object]) -> tuple[str, object]:
    try:
        return ("answer", call())
    except InvalidInputError as exc:
        return ("error", exc.field)


@pytest.mark.parametrize(
    "moment",
    [
        datetime.max.replace(tzinfo=UTC) - timedelta(hours=30),
        datetime.max.replace(tzinfo=UTC) - 6 * DAY,
        datetime.max.replace(tzinfo=UTC) - 40 * DAY,
        datetime.min.replace(tzinfo=UTC) + timedelta(hours=10),
        datetime.min.replace(tzinfo=UTC) + 5 * DAY,
    ],
)
def test_the_ends_of_the_datetime_range_answer_as_the_walk(moment: datetime) -> None:
    """Near datetime.min and datetime.max: the walk's answer, or its error naming the field."""
    calendar = office()
    for duration in (timedelta(hours=1), timedelta(hours=8 * 20)):
        assert _outcome(lambda: calendar._walk_add(moment, duration)) == _outcome(  # noqa: B023
            lambda: calendar.add_business_time(moment, duration)  # noqa: B023
        )
    for span in (timedelta(hours=2), 3 * DAY):
        if moment > datetime.max.replace(tzinfo=UTC) - span:
            continue
        low, high = moment, moment + span
        assert _outcome(lambda: calendar._walk_between(low, high)) == _outcome(  # noqa: B023
            lambda: calendar.business_time_between(low, high)  # noqa: B023
        )
    overflow = datetime.max.replace(tzinfo=UTC) - timedelta(hours=30)
    with pytest.raises(InvalidInputError) as caught:
        calendar.add_business_time(overflow, timedelta(hours=8 * 20))
    assert "start" == caught.value.field


@pytest.fixture
def fast_thread_switching() -> Iterator[None]:
    """Switch threads every microsecond, so index growth and reads interleave."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(before)


@pytest.mark.usefixtures("fast_thread_switching")
def test_threads_sharing_a_calendar_get_the_walks_answers() -> None:
    """Eight threads query one calendar across years at once: every answer is the walk's."""
    shared = office()
    reference = office()
    rng = random.Random(20261124)  # noqa: S311 - reproducible test data, not secrets
    jobs: list[list[tuple[datetime, timedelta, datetime]]] = []
    for _ in range(8):
        job = []
        for _ in range(60):
            moment = START + timedelta(minutes=rng.randrange(-3 * 365 * 1440, 3 * 365 * 1440))
            job.append(
                (
                    moment,
                    timedelta(minutes=rng.randrange(1, 40 * 480)),
                    moment + rng.randrange(90) * DAY,
                )
            )
        jobs.append(job)
    expected = [
        [(reference._walk_add(m, d), reference._walk_between(m, e)) for m, d, e in job]
        for job in jobs
    ]
    answers: list[list[tuple[datetime, timedelta]]] = [[] for _ in jobs]
    barrier = threading.Barrier(len(jobs))

    def run(number: int) -> None:
        barrier.wait()
        answers[number] = [
            (shared.add_business_time(m, d), shared.business_time_between(m, e))
            for m, d, e in jobs[number]
        ]

    threads = [threading.Thread(target=run, args=(number,)) for number in range(len(jobs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert expected == answers


def test_the_index_is_not_part_of_the_value() -> None:
    """A calendar with a grown index equals, hashes and prints as a fresh one, and pickles."""
    used = office()
    used.add_business_time(START, timedelta(hours=100))
    fresh = office()
    assert used._index is not None
    assert fresh._index is None
    assert fresh == used
    assert hash(fresh) == hash(used)
    assert repr(fresh) == repr(used)
    copied = pickle.loads(pickle.dumps(used))  # noqa: S301 - our own bytes
    assert used == copied
    assert used.add_business_time(START, timedelta(hours=30)) == copied.add_business_time(
        START, timedelta(hours=30)
    )
