"""Calendar benchmark: business-time arithmetic by interval index beside the date-by-date walk.

Prints a table and writes ``benchmarks/results/bench_calendar.json``. The calendar
is the SLA benchmark's office hours, `BusinessCalendar.weekdays_9_to_5` in
Europe/Brussels (DST included). Each case runs over the same instants (random
minutes spread over a year, UTC) both ways in the same run:

* **index**: the public methods, `BusinessCalendar.add_business_time` and
  `BusinessCalendar.business_time_between` (binary search over the calendar's
  interval index, with the methods' argument checks);
* **walk**: the algorithm they used before the index, copied below as the baseline
  (the same argument checks, then a walk over the cached opening intervals of each
  local date).

Cases: add 8 business hours, 3 and 30 business days (of 8 hours); between over 1
and 30 days. Both sides run warm (index grown, the walk's per-date cache filled),
as in a help desk that has been running; every answer is checked equal. Per call:
min and median over the repeats, and walk / index. Also the cold cost: the first
`add_business_time` on a new calendar (building its index) beside the first walk
with an empty per-date cache.

Usage: ``python benchmarks/bench_calendar.py [--quick]`` (``--quick``: fewer
instants and repeats, for CI smoke runs).
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from _common import banner, machine_info, peak_rss_mib, write_results

from ticketflow import BusinessCalendar, InvalidInputError
from ticketflow._calendar import SEARCH_LIMIT_DAYS, _day_intervals
from ticketflow._clock import require_aware

ZONE = "Europe/Brussels"
FIRST = datetime(2026, 1, 1, tzinfo=UTC)


# -- the baseline: the date-by-date walk the public methods used before the index ---------


def _walk_intervals(
    calendar: BusinessCalendar, moment: datetime, until: datetime | None = None
) -> Iterator[tuple[datetime, datetime]]:
    zone = calendar._zone  # noqa: SLF001 - the baseline reads the calendar's internals
    day = moment.astimezone(zone).date() - timedelta(days=1)
    if until is None:
        last = day + timedelta(days=SEARCH_LIMIT_DAYS + 1)
    else:
        last = until.astimezone(zone).date() + timedelta(days=1)
    while day <= last:
        for interval in _day_intervals(calendar, day):
            if interval[1] > moment:
                yield interval
        day += timedelta(days=1)
    if until is None:
        msg = "no opening hours left"
        raise InvalidInputError(msg, field="duration")


def walk_add(calendar: BusinessCalendar, start: datetime, duration: timedelta) -> datetime:
    """``add_business_time`` as it was: the same checks, then the walk."""
    moment = require_aware(start, "start")
    if not isinstance(duration, timedelta):
        raise InvalidInputError("duration must be a timedelta", field="duration")
    if duration < timedelta(0):
        raise InvalidInputError("duration must not be negative", field="duration")
    remaining = duration
    if not remaining:
        return moment
    for opening, closing in _walk_intervals(calendar, moment):
        begin = max(opening, moment)
        available = closing - begin
        if remaining <= available:
            return begin + remaining
        remaining -= available
    raise AssertionError


def walk_between(calendar: BusinessCalendar, start: datetime, end: datetime) -> timedelta:
    """``business_time_between`` as it was: the same checks, then the walk."""
    low = require_aware(start, "start")
    high = require_aware(end, "end")
    sign = 1
    if high < low:
        low, high, sign = high, low, -1
    total = timedelta(0)
    if low == high:
        return total
    for opening, closing in _walk_intervals(calendar, low, until=high):
        if opening >= high:
            break
        total += min(closing, high) - max(opening, low)
    return sign * total


# -- measuring -------------------------------------------------------------------------------


def _per_call_us(call: Callable[[datetime], object], instants: list[datetime]) -> float:
    began = time.perf_counter()
    for moment in instants:
        call(moment)
    return (time.perf_counter() - began) / len(instants) * 1e6


def _case(
    name: str,
    index: Callable[[datetime], object],
    walk: Callable[[datetime], object],
    instants: list[datetime],
    repeats: int,
) -> dict[str, Any]:
    answers = [index(moment) for moment in instants]  # warms the index
    assert answers == [walk(moment) for moment in instants], name  # warms the walk's cache
    index_us: list[float] = []
    walk_us: list[float] = []
    for _ in range(repeats):  # interleaved, so both see the same machine load
        index_us.append(_per_call_us(index, instants))
        walk_us.append(_per_call_us(walk, instants))
    return {
        "case": name,
        "index_min_us": round(min(index_us), 2),
        "index_median_us": round(statistics.median(index_us), 2),
        "walk_min_us": round(min(walk_us), 2),
        "walk_median_us": round(statistics.median(walk_us), 2),
        "walk_to_index_min": round(min(walk_us) / min(index_us), 1),
        "walk_to_index_median": round(statistics.median(walk_us) / statistics.median(index_us), 1),
    }


def bench_warm(instants: list[datetime], repeats: int) -> list[dict[str, Any]]:
    calendar = BusinessCalendar.weekdays_9_to_5(ZONE)
    hours = timedelta(hours=1)
    cases: list[tuple[str, timedelta, str]] = [
        ("add 8 business hours", 8 * hours, "add"),
        ("add 3 business days", 3 * 8 * hours, "add"),
        ("add 30 business days", 30 * 8 * hours, "add"),
        ("between over 1 day", timedelta(days=1), "between"),
        ("between over 30 days", timedelta(days=30), "between"),
    ]
    results = []
    for name, amount, kind in cases:
        if kind == "add":
            results.append(
                _case(
                    name,
                    lambda moment, amount=amount: calendar.add_business_time(moment, amount),
                    lambda moment, amount=amount: walk_add(calendar, moment, amount),
                    instants,
                    repeats,
                )
            )
        else:
            results.append(
                _case(
                    name,
                    lambda moment, amount=amount: calendar.business_time_between(
                        moment, moment + amount
                    ),
                    lambda moment, amount=amount: walk_between(calendar, moment, moment + amount),
                    instants,
                    repeats,
                )
            )
    return results


def bench_cold(repeats: int) -> dict[str, Any]:
    """The first add on a new calendar (index built) beside the first walk (empty date cache)."""
    moment = FIRST + timedelta(days=40, hours=10)
    duration = timedelta(hours=8)
    index_us: list[float] = []
    walk_us: list[float] = []
    for _ in range(repeats):
        calendar = BusinessCalendar.weekdays_9_to_5(ZONE)
        began = time.perf_counter()
        calendar.add_business_time(moment, duration)
        index_us.append((time.perf_counter() - began) * 1e6)
        _day_intervals.cache_clear()
        began = time.perf_counter()
        walk_add(calendar, moment, duration)
        walk_us.append((time.perf_counter() - began) * 1e6)
    return {
        "case": "first add of 8 business hours (cold)",
        "index_min_us": round(min(index_us), 1),
        "index_median_us": round(statistics.median(index_us), 1),
        "walk_min_us": round(min(walk_us), 1),
        "walk_median_us": round(statistics.median(walk_us), 1),
    }


def _table(info: dict[str, Any], results: dict[str, Any]) -> None:
    print(banner(info))
    print(
        f"\nwarm, per call ({results['instants']:,} instants x {results['repeats']} repeats), "
        "office hours in Europe/Brussels"
    )
    print(
        f"  {'case':<26}{'index min':>10}{'median':>8}{'walk min':>10}{'median':>8}"
        f"{'walk/index min':>16}{'median':>8}"
    )
    for row in results["warm"]:
        print(
            f"  {row['case']:<26}{row['index_min_us']:>8} us{row['index_median_us']:>8}"
            f"{row['walk_min_us']:>8} us{row['walk_median_us']:>8}"
            f"{row['walk_to_index_min']:>15}x{row['walk_to_index_median']:>7}x"
        )
    cold = results["cold"]
    print(f"\n{cold['case']}: index {cold['index_min_us']} us (median {cold['index_median_us']})")
    print(f"  beside the walk with an empty date cache: {cold['walk_min_us']} us (median ", end="")
    print(f"{cold['walk_median_us']})")


def main() -> None:
    """Run the benchmark, print the table and write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer instants and repeats (CI)")
    args = parser.parse_args()
    began = time.perf_counter()
    info = machine_info()
    rng = random.Random(20261124)
    count = 200 if args.quick else 2_000
    repeats = 3 if args.quick else 15
    instants = [FIRST + timedelta(minutes=rng.randrange(365 * 1440)) for _ in range(count)]
    results: dict[str, Any] = {"instants": count, "repeats": repeats}
    results["warm"] = bench_warm(instants, repeats)
    results["cold"] = bench_cold(5 if args.quick else 30)
    run = {
        "quick": args.quick,
        "wall_s": round(time.perf_counter() - began, 1),
        "peak_rss_mib": peak_rss_mib(),
    }
    _table(info, results)
    print(f"\nwall time {run['wall_s']} s, peak RSS {run['peak_rss_mib']} MiB")
    path = write_results("bench_calendar", {"machine": info, "run": run, **results})
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
