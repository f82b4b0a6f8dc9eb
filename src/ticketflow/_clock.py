"""Clocks: the only place in ticketflow that reads the time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol, final, runtime_checkable

from . import _validate
from .exceptions import InvalidInputError

__all__ = ["Clock", "FakeClock", "SystemClock", "require_aware"]


def require_aware(value: datetime, field: str) -> datetime:
    """Return ``value`` converted to UTC, refusing naive datetimes.

    Args:
        value: The datetime to check.
        field: The argument or field name, for the error message.

    Raises:
        InvalidInputError: ``value`` is not a datetime or has no time zone.
    """
    if not isinstance(value, datetime):
        raise InvalidInputError(
            f"{field} must be a timezone-aware datetime, got {type(value).__name__}", field=field
        )
    if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
        raise InvalidInputError(
            f"{field} must be timezone-aware (got naive {value.isoformat()}); "
            "attach a zone, e.g. datetime(..., tzinfo=UTC)",
            field=field,
        )
    if value.tzinfo is UTC:
        return value
    return value.astimezone(UTC)


@runtime_checkable
class Clock(Protocol):
    """Where the engine reads the time.

    An implementation must return timezone-aware datetimes in UTC that never go
    backwards between calls.
    """

    def now(self) -> datetime:
        """Return the current time, timezone-aware, in UTC."""
        ...


@final
class SystemClock:
    """The real wall clock, in UTC."""

    __slots__ = ()

    def now(self) -> datetime:
        """Return the current time, timezone-aware, in UTC."""
        return datetime.now(UTC)

    def __repr__(self) -> str:
        return "SystemClock()"


@final
class FakeClock:
    """A clock that moves only when told to, for tests and simulations.

    Example:
        >>> from datetime import datetime, UTC
        >>> clock = FakeClock(datetime(2026, 1, 5, 9, 0, tzinfo=UTC))
        >>> clock.advance(hours=2).isoformat()
        '2026-01-05T11:00:00+00:00'

    Args:
        start: The initial time (timezone-aware, from 1900 to before 9000); defaults
            to 2026-01-05 09:00 UTC, a Monday morning.
    """

    __slots__ = ("_now",)

    def __init__(self, start: datetime | None = None) -> None:
        if start is None:
            start = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
        self._now = _validate.aware_time(start, "start")

    def now(self) -> datetime:
        """Return the current fake time (UTC)."""
        return self._now

    def set(self, when: datetime) -> datetime:
        """Move the clock to ``when``.

        Raises:
            InvalidInputError: ``when`` is naive, outside 1900-01-01 to 9000-01-01 UTC,
                or earlier than the current time.
        """
        when = _validate.aware_time(when, "when")
        if when < self._now:
            raise InvalidInputError(
                f"FakeClock cannot go backwards: now {self._now.isoformat()}, "
                f"asked for {when.isoformat()}",
                field="when",
            )
        self._now = when
        return when

    def advance(
        self,
        delta: timedelta | None = None,
        *,
        days: float = 0,
        hours: float = 0,
        minutes: float = 0,
        seconds: float = 0,
    ) -> datetime:
        """Move the clock forward by ``delta`` and/or the given units; return the new time.

        Raises:
            InvalidInputError: the total step is not a duration, is negative, or
                would move the clock to 9000-01-01 UTC or later.
        """
        if delta is not None and not isinstance(delta, timedelta):
            raise InvalidInputError(
                f"delta must be a timedelta, got {type(delta).__name__}", field="delta"
            )
        try:
            step = (delta or timedelta()) + timedelta(
                days=days, hours=hours, minutes=minutes, seconds=seconds
            )
        except (TypeError, ValueError, OverflowError) as exc:
            raise InvalidInputError(
                f"FakeClock step is not a duration: {exc}", field="delta"
            ) from None
        if step < timedelta():
            raise InvalidInputError(f"FakeClock cannot go backwards (step {step})", field="delta")
        if step >= _validate.LATEST - self._now:
            raise InvalidInputError(
                f"FakeClock cannot move past {_validate.LATEST.isoformat()} (step {step})",
                field="delta",
            )
        self._now = self._now + step
        return self._now

    def __repr__(self) -> str:
        return f"FakeClock({self._now.isoformat()!r})"
