"""Ticket ids: ULIDs (26 characters, sortable by creation time, unique without coordination)."""

from __future__ import annotations

import os
import threading
from datetime import datetime

__all__ = ["UlidFactory"]

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford's base32


def _encode(value: int, length: int) -> str:
    chars = []
    for _ in range(length):
        value, digit = divmod(value, 32)
        chars.append(_ALPHABET[digit])
    return "".join(reversed(chars))


class UlidFactory:
    """Make monotonic ULIDs from the engine's clock.

    Within one millisecond the random part is incremented, so ids made by one
    factory sort in the order they were made even when the (fake) clock stands still.
    """

    __slots__ = ("_last_ms", "_last_rand", "_lock")

    def __init__(self) -> None:
        self._last_ms = -1
        self._last_rand = 0
        self._lock = threading.Lock()

    def __call__(self, at: datetime) -> str:
        """Return a new id for a ticket created at ``at``."""
        ms = int(at.timestamp() * 1000)
        with self._lock:
            if ms <= self._last_ms:
                ms = self._last_ms
                rand = self._last_rand + 1
            else:
                rand = int.from_bytes(os.urandom(10), "big") >> 1  # room to increment
            self._last_ms, self._last_rand = ms, rand
        return _encode(ms, 10) + _encode(rand, 16)
