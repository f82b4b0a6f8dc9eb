"""The edge checks: what every public entry point refuses, in one place.

Every command, query, loader and definition checks its input here once and
refuses it with `InvalidInputError` naming the field (callers that raise
`RuleError` or `WorkflowError` instead convert the message); inside, the code
trusts what was checked. Every backend then stores the same values: text
without lone surrogates or NUL characters (which a UTF-8 database cannot
store), JSON no deeper than `MAX_JSON_DEPTH` with integers that fit in 64 bits
and finite floats, and datetimes between `EARLIEST` and `LATEST`, so that adding
any duration up to `MAX_DURATION` cannot overflow.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Final

from .exceptions import InvalidInputError

__all__ = [
    "EARLIEST",
    "LATEST",
    "MAX_BATCH",
    "MAX_DURATION",
    "MAX_JSON_DEPTH",
    "MAX_LEASE",
    "MAX_LIMIT",
    "aware_time",
    "batch_size",
    "check_data",
    "describe",
    "duration",
    "email",
    "email_key",
    "lease",
    "names",
    "optional_limit",
    "optional_text",
    "seconds",
    "tags",
    "text",
    "text_problem",
    "ticket_id",
]

MAX_JSON_DEPTH: Final = 64
"""Lists and objects nested deeper than this are refused (the outermost is level 1)."""
INT_MIN: Final = -(2**63)
INT_MAX: Final = 2**63 - 1
EARLIEST: Final = datetime(1900, 1, 1, tzinfo=UTC)
"""The earliest instant a command, query or clock accepts."""
LATEST: Final = datetime(9000, 1, 1, tzinfo=UTC)
"""The latest instant a command, query or clock accepts (exclusive)."""
MAX_DURATION: Final = timedelta(days=36_525)
"""The longest delay, target, window or lease accepted: 100 years."""
MAX_LEASE: Final = timedelta(days=7)
"""The longest claim a sweep or dispatch may take."""
MAX_BATCH: Final = 100_000
"""The largest batch a sweep, dispatch or reschedule may read at once."""
MAX_LIMIT: Final = INT_MAX
"""The largest ``limit`` a query accepts (a 64-bit integer, as every SQL backend takes)."""


def text_problem(value: str) -> str | None:
    """Return why ``value`` cannot be stored (a lone surrogate, a NUL), or None."""
    if "\x00" in value:
        return "contains a NUL character (\\x00)"
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            return f"contains a lone surrogate ({value[exc.start]!r} at {exc.start})"
    return None


def text(value: object, field: str, *, allow_empty: bool = True) -> str:
    """Return ``value`` if it is a storable string (non-blank unless ``allow_empty``).

    Raises:
        InvalidInputError: not a string, blank when it must not be, or holding a
            lone surrogate or a NUL character.
    """
    if not isinstance(value, str) or (not allow_empty and not value.strip()):
        what = "a string" if allow_empty else "a non-empty string"
        raise InvalidInputError(f"{field} must be {what}, got {describe(value)}", field=field)
    # Plain ASCII without NUL, the common case, costs no further call.
    if "\x00" in value or not value.isascii():
        problem = text_problem(value)
        if problem is not None:
            raise InvalidInputError(f"{field} {problem}", field=field)
    return value


def optional_text(value: object, field: str) -> str | None:
    """Return ``value``: None, or a storable non-blank string (see `text`)."""
    return None if value is None else text(value, field, allow_empty=False)


def email_key(email: str | None) -> str | None:
    """Return the form an e-mail address is indexed and matched by, or None.

    The one normalisation of requester addresses (the requester index of every
    store, `TicketQuery.requester`, ``Helpdesk.erase_requester``): surrounding
    white space stripped, then case-folded (``str.casefold``), so
    ``" Ann@Example.COM "`` and ``"ann@example.com"`` are one person. None, or an
    address that is only white space, has no key (None).

    Examples:
        >>> email_key(" Ann@Example.COM ")
        'ann@example.com'
        >>> email_key("   ") is None
        True
    """
    if email is None:
        return None
    return email.strip().casefold() or None


def email(value: object, field: str) -> str:
    """Return the key (`email_key`) of ``value``, an e-mail address to look a requester up by.

    Raises:
        InvalidInputError: not a string, blank, or holding text no database can
            store (a lone surrogate, a NUL).
    """
    key = email_key(text(value, field, allow_empty=False))
    assert key is not None  # noqa: S101 - text() refused blank values
    return key


def ticket_id(value: object, field: str = "ticket_id") -> str:
    """Return ``value`` if it can be a ticket id (a storable non-blank string)."""
    # The common case, checked without a call: a plain ASCII id.
    if type(value) is str and value and value.isascii() and "\x00" not in value:
        return value
    return text(value, field, allow_empty=False)


def tags(values: object, field: str = "tags") -> frozenset[str]:
    """Return ``values`` as a set of tags (each a storable non-blank string).

    Raises:
        InvalidInputError: a single string, something not iterable, or a bad tag.
    """
    if isinstance(values, str | bytes | Mapping) or not isinstance(values, Iterable):
        raise InvalidInputError(
            f"{field} must be a collection of strings, got {describe(values)}", field=field
        )
    return frozenset(text(v, field, allow_empty=False) for v in values)


def names(value: object, field: str, *, allowed: Collection[str] | None = None) -> frozenset[str]:
    """Return ``value``, one name or a collection of names, as a set of storable strings.

    Raises:
        InvalidInputError: not a string nor a collection of strings, a bad string,
            or (with ``allowed``) a name not in ``allowed``.
    """
    items = [value] if isinstance(value, str) else value
    if isinstance(items, bytes | Mapping) or not isinstance(items, Iterable):
        raise InvalidInputError(
            f"{field} must be a string or a collection of strings, got {describe(value)}",
            field=field,
        )
    out = frozenset(text(item, field, allow_empty=False) for item in items)
    if allowed is not None:
        unknown = sorted(out - frozenset(allowed))
        if unknown:
            raise InvalidInputError(
                f"{field}: unknown {', '.join(map(repr, unknown))}; "
                f"one of {', '.join(sorted(allowed))}",
                field=field,
            )
    return out


def check_data(
    value: object,
    field: str,
    *,
    tuples: bool = False,
    leaves: tuple[type, ...] = (),
) -> None:
    """Raise `InvalidInputError` unless ``value`` is storable JSON.

    Allowed: None, bool, int within 64 bits, finite float, str without lone
    surrogates or NUL, list (and tuple when ``tuples``), and dict with such str
    keys, nested at most `MAX_JSON_DEPTH` levels; also instances of ``leaves``.
    The error's ``field`` is ``field``; its message gives the path inside the value.
    """
    _check(value, field, field, 0, tuples, leaves)


def _check(  # noqa: C901, PLR0911, PLR0912 - one branch per JSON type
    value: object, path: str, field: str, depth: int, tuples: bool, leaves: tuple[type, ...]
) -> None:
    if value is None or isinstance(value, bool):
        return
    if isinstance(value, str):
        problem = text_problem(value)
        if problem is not None:
            raise InvalidInputError(f"{path} {problem}", field=field)
        return
    if isinstance(value, int):
        if not INT_MIN <= value <= INT_MAX:
            raise InvalidInputError(
                f"{path}: integer out of the 64-bit range ({describe(value)})", field=field
            )
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidInputError(f"{path}: {value!r} is not a JSON number", field=field)
        return
    if leaves and isinstance(value, leaves):
        return
    if isinstance(value, list) or (tuples and isinstance(value, tuple)):
        _check_depth(path, field, depth)
        for index, item in enumerate(value):
            _check(item, f"{path}[{index}]", field, depth + 1, tuples, leaves)
        return
    if isinstance(value, dict) or (tuples and isinstance(value, Mapping)):
        _check_depth(path, field, depth)
        for key, item in value.items():
            if not isinstance(key, str):
                raise InvalidInputError(
                    f"{path}: JSON object keys must be strings, got {describe(key)}", field=field
                )
            problem = text_problem(key)
            if problem is not None:
                raise InvalidInputError(f"{path}: a key {problem}", field=field)
            _check(item, f"{path}.{key}", field, depth + 1, tuples, leaves)
        return
    raise InvalidInputError(
        f"{path}: {type(value).__name__} is not a JSON value (use a list, dict, str, "
        "number, bool or None)",
        field=field,
    )


def _check_depth(path: str, field: str, depth: int) -> None:
    if depth >= MAX_JSON_DEPTH:
        raise InvalidInputError(f"{path}: nested deeper than {MAX_JSON_DEPTH} levels", field=field)


def aware_time(value: object, field: str) -> datetime:
    """Return ``value`` in UTC if it is an aware datetime from `EARLIEST` to before `LATEST`.

    Raises:
        InvalidInputError: not a datetime, naive, or out of that range.
    """
    if not isinstance(value, datetime):
        raise InvalidInputError(
            f"{field} must be a timezone-aware datetime, got {type(value).__name__}", field=field
        )
    try:
        offset = None if value.tzinfo is None else value.tzinfo.utcoffset(value)
    except (ValueError, OverflowError, TypeError) as exc:
        raise InvalidInputError(f"{field}: its time zone failed ({exc})", field=field) from exc
    if offset is None:
        raise InvalidInputError(
            f"{field} must be timezone-aware (got naive {value.isoformat()}); "
            "attach a zone, e.g. datetime(..., tzinfo=UTC)",
            field=field,
        )
    if value.tzinfo is not UTC:
        try:
            value = value.astimezone(UTC)
        except OverflowError as exc:
            raise InvalidInputError(
                f"{field}: {value.isoformat()} is out of range ({EARLIEST.year} to {LATEST.year})",
                field=field,
            ) from exc
    if not EARLIEST <= value < LATEST:
        raise InvalidInputError(
            f"{field}: {value.isoformat()} is out of range: from {EARLIEST.isoformat()} "
            f"to before {LATEST.isoformat()}",
            field=field,
        )
    return value


def seconds(value: object, field: str, *, maximum: timedelta = MAX_DURATION) -> float:
    """Return ``value``, a number of seconds, if it is finite, not negative and at most ``maximum``.

    Raises:
        InvalidInputError: not a number (bool included), NaN, infinite, negative or too large.
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidInputError(f"{field} must be a number, got {describe(value)}", field=field)
    limit = maximum.total_seconds()
    if not (isinstance(value, int) or math.isfinite(value)) or not 0 <= value <= limit:
        raise InvalidInputError(
            f"{field} must be from 0 to {limit:.0f} seconds ({maximum}), got {describe(value)}",
            field=field,
        )
    return float(value)


def duration(value: object, field: str, *, maximum: timedelta = MAX_DURATION) -> timedelta:
    """Return ``value`` if it is a `timedelta` from zero to ``maximum``.

    Raises:
        InvalidInputError: not a timedelta, negative or longer than ``maximum``.
    """
    if not isinstance(value, timedelta):
        raise InvalidInputError(
            f"{field} must be a timedelta, got {type(value).__name__}", field=field
        )
    if not timedelta() <= value <= maximum:
        raise InvalidInputError(f"{field} must be from 0 to {maximum}, got {value}", field=field)
    return value


def lease(value: object, field: str = "lease") -> timedelta:
    """Return ``value`` if it is a claim length from zero to `MAX_LEASE`."""
    return duration(value, field, maximum=MAX_LEASE)


def _whole(value: object, field: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidInputError(
            f"{field} must be a whole number from {low} to {high}, got {describe(value)}",
            field=field,
        )
    return value


def batch_size(value: object, field: str = "batch") -> int:
    """Return ``value`` if it is a whole number from 1 to `MAX_BATCH`."""
    return _whole(value, field, 1, MAX_BATCH)


def optional_limit(value: object, field: str = "limit") -> int | None:
    """Return ``value``: None (no limit) or a whole number from 0 to `MAX_LIMIT`."""
    return None if value is None else _whole(value, field, 0, MAX_LIMIT)


def describe(value: object) -> str:
    """Return ``repr(value)`` cut short: a huge int or a deep list must not make a huge message."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 200:
        return f"an integer of {value.bit_length()} bits"
    if isinstance(value, list | tuple | dict):
        return f"a {type(value).__name__}"
    try:
        text_ = repr(value)
    except Exception:  # noqa: BLE001 - a broken __repr__ must not hide the real error
        return f"a {type(value).__name__}"
    return text_ if len(text_) <= 80 else f"{text_[:77]}..."
