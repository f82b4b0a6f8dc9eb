"""Clocks: the only place in ticketflow that reads the time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol, final, runtime_checkable

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
        start: The initial time (timezone-aware); defaults to 2026-01-05 09:00 UTC,
            a Monday morning.
    """

    __slots__ = ("_now",)

    def __init__(self, start: datetime | None = None) -> None:
        if start is None:
            start = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
        self._now = require_aware(start, "start")

    def now(self) -> datetime:
        """Return the current fake time (UTC)."""
        return self._now

    def set(self, when: datetime) -> datetime:
        """Move the clock to ``when``.

        Raises:
            InvalidInputError: ``when`` is naive or earlier than the current time.
        """
        when = require_aware(when, "when")
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
            InvalidInputError: the total step is negative.
        """
        step = (delta or timedelta()) + timedelta(
            days=days, hours=hours, minutes=minutes, seconds=seconds
        )
        if step < timedelta():
            raise InvalidInputError(f"FakeClock cannot go backwards (step {step})", field="delta")
        self._now = self._now + step
        return self._now

    def __repr__(self) -> str:
        return f"FakeClock({self._now.isoformat()!r})"
