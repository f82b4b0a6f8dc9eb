"""The wake-up capability: a store that can tell a waiting worker that work arrived."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

__all__ = ["WakeupStore"]


@runtime_checkable
class WakeupStore(Protocol):
    """A store that wakes a waiting worker when a commit brings work nearer.

    An optional capability beside `TicketStore`: the worker uses it when the
    store has it (``isinstance(store, WakeupStore)``) and otherwise sleeps until
    the next due time or its poll interval. `PostgresStore` implements it with
    ``LISTEN``/``NOTIFY`` (commits in any process wake it), `MemoryStore` with a
    condition variable (commits in the same process). A backend implements it by
    providing both methods; it inherits nothing.

    What an implementation must guarantee:

    * A *wake-up* is recorded by every commit that adds outbox entries, and by
      every commit that sets a ticket's due time earlier than the earliest one
      stored before it (the time the worker sleeps until), once the commit is
      durable: never for a commit that fails or is rolled back.
    * Wake-ups are kept until the next `wait_for_wakeup` call consumes them: a
      commit made while the worker was busy makes its next wait return at once.
      Several wake-ups before one wait are one (coalesced).
    * The first call (and the first after the store lost the means to hear of
      commits, e.g. a dropped connection, once it has it back) returns True at
      once: commits made meanwhile went unheard, so the caller must look for work.
    * Wake-ups are hints that may be lost (a store may fail to hear of a
      commit); the caller keeps polling with a bounded timeout, and a True may
      be spurious. Losing one delays work by at most the caller's timeout,
      never loses it.
    * `wakeup` may be called from any thread, and from a signal handler.

    Each waiting worker should have a store object of its own: a wake-up is
    consumed by the one call that returns it.
    """

    def wait_for_wakeup(self, timeout: float) -> bool:
        """Wait until a wake-up is pending or ``timeout`` seconds pass; consume it.

        Args:
            timeout: The longest wait, in seconds (0: only look).

        Returns:
            True if a wake-up was pending or arrived (look for work now), False
            if the timeout passed without one.

        Raises:
            InvalidInputError: ``timeout`` is not a finite number of seconds from 0.
        """
        ...

    def wakeup(self) -> None:
        """Make a waiting (or the next) `wait_for_wakeup` call in this process return True.

        For a worker told to stop: its wait ends at once.
        """
        ...
