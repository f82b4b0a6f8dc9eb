"""Retry on `ConflictError`: the answer to optimistic concurrency's "someone saved first"."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar, final

import attrs

from .exceptions import ConflictError, InvalidInputError

__all__ = ["ConflictRetry", "retry_on_conflict"]

_LOG = logging.getLogger("ticketflow.retry")

P = ParamSpec("P")
R = TypeVar("R")


def _at_least_one(_instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise InvalidInputError(
            f"{attribute.name} must be a whole number of at least 1, got {value!r}",
            field=attribute.name,
        )


def _not_negative(_instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not isinstance(value, int | float) or isinstance(value, bool) or not value >= 0:
        raise InvalidInputError(
            f"{attribute.name} must be a number of seconds, 0 or more, got {value!r}",
            field=attribute.name,
        )


@final
@attrs.frozen(kw_only=True, slots=True)
class ConflictRetry:
    """A retry policy for code that may lose an optimistic-concurrency race.

    Calling the policy as ``policy(func, *args, **kwargs)`` calls
    ``func(*args, **kwargs)``; when that raises `ConflictError`, it waits a short,
    random time and calls it again, up to ``attempts`` calls in all. Any other
    exception is raised at once. `retry_on_conflict` is this with the defaults.

    The wait before call ``n + 1`` is drawn uniformly from
    ``[0, min(max_backoff, backoff * 2 ** (n - 1))]`` ("full jitter"), so writers
    that collided once spread out instead of colliding again in step.

    Retrying is only safe when ``func`` reads what it changes *inside* the call:

    * Every `Helpdesk` command (``agent_reply``, ``add_note``, ``assign``...) reads
      the ticket from the store afresh on each call, so passing the command itself
      is safe: ``retry_on_conflict(desk.add_note, ticket_id, "text", by="bob")``.
    * Your own read-modify-write code must do the read inside ``func`` too. A
      function that commits a ticket it was handed would fail the same way on
      every attempt, since the stale version comes with the argument.

    Example:
        >>> from ticketflow import ConflictRetry, Helpdesk, Requester
        >>> desk = Helpdesk()
        >>> t = desk.open_ticket(subject="VPN", requester=Requester(name="Ann"))
        >>> patient = ConflictRetry(attempts=50, max_backoff=1.0)
        >>> patient(desk.add_tags, t.id, "network").tags
        frozenset({'network'})

    Attributes:
        attempts: How many calls in all, the first included (at least 1).
        backoff: The longest wait, in seconds, after the first conflict; it doubles
            after each further conflict.
        max_backoff: The cap on the longest wait, in seconds.
        sleep: Waits the given number of seconds (injectable for tests).
        jitter: Returns a float in ``[0, 1)``, the fraction of the longest wait to
            wait (injectable for tests).
    """

    attempts: int = attrs.field(default=10, validator=_at_least_one)
    backoff: float = attrs.field(default=0.005, validator=_not_negative)
    max_backoff: float = attrs.field(default=0.25, validator=_not_negative)
    sleep: Callable[[float], None] = attrs.field(default=time.sleep, repr=False)
    jitter: Callable[[], float] = attrs.field(
        default=random.random,  # not for secrets: spreading writers apart in time
        repr=False,
    )

    def delay(self, conflicts: int) -> float:
        """Return how long to wait after the ``conflicts``-th conflict in a row (from 1)."""
        ceiling = min(self.max_backoff, self.backoff * 2.0 ** min(conflicts - 1, 62))
        return self.jitter() * ceiling

    def __call__(self, func: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> R:
        """Call ``func(*args, **kwargs)``, retrying on `ConflictError`; return its result.

        Raises:
            ConflictError: every one of the ``attempts`` calls conflicted (the last
                conflict is raised).
        """
        conflicts = 0
        while True:
            try:
                return func(*args, **kwargs)
            except ConflictError as exc:
                conflicts += 1
                self.sleep(self._wait(conflicts, exc))

    async def acall(
        self, func: Callable[P, Awaitable[R]], /, *args: P.args, **kwargs: P.kwargs
    ) -> R:
        """Await ``func(*args, **kwargs)``, retrying on `ConflictError`; return its result.

        The same policy as calling it, for coroutines (`AsyncHelpdesk` commands:
        ``await retry.acall(desk.add_note, ticket_id, "text", by="bob")``): the
        waits are ``asyncio.sleep`` (``sleep`` is not used), so other coroutines
        run meanwhile.

        Raises:
            ConflictError: every one of the ``attempts`` calls conflicted.
        """
        import asyncio  # noqa: PLC0415 - loaded by the caller's event loop already

        conflicts = 0
        while True:
            try:
                return await func(*args, **kwargs)
            except ConflictError as exc:
                conflicts += 1
                await asyncio.sleep(self._wait(conflicts, exc))

    def _wait(self, conflicts: int, exc: ConflictError) -> float:
        """How long to wait after the ``conflicts``-th conflict; re-raise ``exc`` after the last."""
        if conflicts >= self.attempts:
            _LOG.debug("giving up after %d conflicts: %s", conflicts, exc)
            raise exc
        wait = self.delay(conflicts)
        _LOG.debug("conflict %d of %d (%s); retrying in %.4fs", conflicts, self.attempts, exc, wait)
        return wait


_DEFAULT: ConflictRetry = ConflictRetry()


def retry_on_conflict(func: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> R:
    """Call ``func(*args, **kwargs)``; on `ConflictError`, wait a little and call it again.

    Up to 10 calls in all, with a randomised wait of at most 5 ms after the first
    conflict, doubling up to 250 ms. For other settings, use a `ConflictRetry`
    policy: ``ConflictRetry(attempts=3)(func, *args, **kwargs)`` (a ParamSpec
    signature leaves no room for options beside ``func``'s own arguments).

    Every `Helpdesk` command re-reads the ticket on each call, so retrying a
    command is safe::

        retry_on_conflict(desk.add_note, ticket_id, "Called the customer", by="bob")

    Code of your own that reads a ticket, decides, and commits must do the read
    inside ``func``, so that each attempt works on the version it commits against.

    Returns:
        What ``func`` returned.

    Raises:
        ConflictError: all 10 calls conflicted (the last conflict is raised).
    """
    return _DEFAULT(func, *args, **kwargs)
