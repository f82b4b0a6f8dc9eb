# ruff: noqa: S101, SIM300
# This module is a test suite shipped as a library: pytest's bare asserts are its
# language (pytest rewrites them, as it does in every module of a plugin's
# distribution), and they read `assert expected == actual` (CONVENTIONS.md 7).
"""Streaming every ticket: the `StreamStore` capability, and `stream_tickets` for any store.

A store with ``iter_tickets`` is checked against its contract; every store,
with it or not, is checked through `stream_tickets` (its own stream or the
fallback), which reports use.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from ..._clock import FakeClock
from ..._model import Ticket
from ...exceptions import InvalidInputError
from ...stores import StreamStore, TicketStore, stream_tickets
from ._base import _ANN, ContractBase, _desk, _listed_ids, _next_version, _put

__all__ = ["StreamContract"]

_Streamer = Callable[..., Iterator[Ticket]]


def _streamers(store: TicketStore) -> list[tuple[str, _Streamer]]:
    """The ways to stream ``store``: `stream_tickets`, and its own ``iter_tickets`` if any."""
    ways: list[tuple[str, _Streamer]] = [
        ("stream_tickets", lambda **kw: stream_tickets(store, **kw))
    ]
    if isinstance(store, StreamStore):
        ways.append(("iter_tickets", store.iter_tickets))
    return ways


def _fill(store: TicketStore, clock: FakeClock, count: int) -> list[Ticket]:
    """``count`` tickets created out of id order (ids sort by creation for ticketflow's own)."""
    # Odd numbers first, each half descending: 5, 3, 1, 4, 2, 0 for six tickets.
    ids = [f"S{n:04d}" for n in sorted(range(count), key=lambda n: (n % 2 == 0, -n))]
    desk = _desk(store, clock, ids=_listed_ids(ids))
    made = []
    for i in range(count):
        clock.advance(seconds=1)
        made.append(desk.open_ticket(subject=f"s{i}", requester=_ANN).id)
        if i % 3 == 0:
            desk.agent_reply(made[-1], "on it", by="agent-7")
    return [store.get(tid) for tid in sorted(made)]


class StreamContract(ContractBase):
    """The tests of `stream_tickets` and, for a store that has it, `StreamStore`."""

    def test_an_empty_store_streams_nothing(self, store: TicketStore) -> None:
        """No ticket, no item, whatever the way."""
        for name, stream in _streamers(store):
            assert [] == list(stream()), name

    @pytest.mark.parametrize("batch", [1, 2, 5, 7, 500])
    def test_every_ticket_once_as_stored(
        self, store: TicketStore, clock: FakeClock, batch: int
    ) -> None:
        """Every ticket exactly once, equal to ``get``'s; ``iter_tickets`` in id order.

        Seven tickets: batches that divide the count (1, 7), that do not (2, 5),
        and one larger than the store (500).
        """
        stored = _fill(store, clock, 7)
        for name, stream in _streamers(store):
            streamed = list(stream(batch=batch))
            if name == "iter_tickets":
                assert stored == streamed, name
            else:  # the summaries' fallback promises creation order only
                assert stored == sorted(streamed, key=lambda t: t.id), name

    def test_a_ticket_committed_mid_stream_is_read_once_at_its_new_version(
        self, store: TicketStore, clock: FakeClock
    ) -> None:
        """A ticket committed mid-stream is yielded once, by ``iter_tickets`` at its new version.

        Its batch is read after the commit; a fallback may give either version.
        """
        stored = _fill(store, clock, 6)
        for name, stream in _streamers(store):
            items = stream(batch=2)
            first = next(items)
            last = store.get(stored[-1].id)
            _put(store, _next_version(last, f"during {name}"))
            rest = list(items)
            streamed = [first, *rest]
            assert sorted(t.id for t in stored) == sorted(t.id for t in streamed), name
            seen = next(t for t in streamed if t.id == last.id)
            if name == "iter_tickets":  # its batch was read after the commit
                assert store.get(last.id) == seen, name
            else:  # the fallback by find reads every ticket when it is called
                assert seen in (last, store.get(last.id)), name

    @pytest.mark.parametrize("batch", [0, -1, 100_001, True, 2.0, "5", None])
    def test_a_bad_batch_is_refused_when_called(
        self, store: TicketStore, clock: FakeClock, batch: object
    ) -> None:
        """``batch`` outside 1..100,000 (or not a whole number): `InvalidInputError` at once."""
        _fill(store, clock, 2)
        for name, stream in _streamers(store):
            with pytest.raises(InvalidInputError) as caught:
                stream(batch=batch)
            assert "batch" == caught.value.field, name
