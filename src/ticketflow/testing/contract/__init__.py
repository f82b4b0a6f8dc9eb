"""The store contract suite: the tests every `TicketStore` backend must pass.

Subclass `StoreContract` in a pytest module of your backend's test suite and
give it a ``make_store`` fixture; pytest then runs every test of the contract
on your store::

    import pytest
    from ticketflow.testing import StoreContract

    from my_backend import MyStore


    class TestMyStore(StoreContract):
        @pytest.fixture
        def make_store(self, tmp_path):
            # A factory of fresh, empty stores: the suite calls it once per
            # store it needs (some tests open two) and closes each store itself.
            names = iter(range(1_000_000))
            return lambda: MyStore(tmp_path / f"store-{next(names)}.db")

        @pytest.fixture
        def reopen_store(self):
            # Optional: a durable store is closed by the suite, then reopened
            # on the same data; leave this out and the durability tests skip.
            return lambda closed: MyStore(closed.path)

The suite checks every guarantee the `TicketStore` docstrings state, on
tickets made by a real `ticketflow.Helpdesk` on a `ticketflow.FakeClock`
(merges, which commit two changes at once, and purges, which rewrite a
timeline, included): reading back what was committed, `TicketNotFound`,
optimistic concurrency and its `ConflictError` fields, atomic multi-change
commits, `find` by every `TicketQuery` field, the requester index
(`TicketQuery.requester`: case-insensitive, kept through merges, purges and
reopens), lists and counts (``Helpdesk.list`` and ``Helpdesk.counts``
through the store's `SummaryStore` capability, or the engine's fallback for a
store without it: every sort and filter against a `MemoryStore`, paging by
cursor, and its stability under writes between pages), search (``Helpdesk.search``
through `SearchStore` or the engine's fallback: matching, filters, pages,
customers' public-only searches, purges, refused input), the message-id index
(`MessageIdStore`, skipped without it), streaming every ticket
(`stream_tickets`, and `StreamStore.iter_tickets` for a store that has it:
each ticket once, in id order, batch sizes, writes between batches, refused
batch sizes), the due index, claims and their
lease, the outbox, the work queue (`TicketStore.queue`: its order, filters and
limit) and `TicketStore.reindex`, ``count``, durability across a reopen, the
optional `WakeupStore` capability (skipped for a store without it), and, last, a
Hypothesis state machine (`StoreAgreementMachine`) that drives random
workloads through your store and a `MemoryStore` side by side and asserts
they agree after every step.

The tests live in one private module per capability (basic storage, the
requester index, the due index and claims, the work queue, ``reindex``, the
outbox, durability, wake-ups, the state machine); `StoreContract` inherits them all.

`AsyncStoreContract` is the same for an `AsyncTicketStore` (``ticketflow.AsyncHelpdesk``'s
stores): storage, queries, due index and claims, outbox, agreement with the sync
engine, and 500 coroutines writing to 20 tickets with `ConflictRetry`.

This package imports pytest and Hypothesis (the ``test`` extra);
``ticketflow.testing`` loads it only when `StoreContract` is first used.
"""

from __future__ import annotations

from ._async import AsyncStoreContract as AsyncStoreContract
from ._async import AsyncStoreFactory as AsyncStoreFactory
from ._async import SyncStoreFactory as SyncStoreFactory
from ._base import LEASE as LEASE
from ._base import START as START
from ._base import StoreFactory as StoreFactory
from ._base import StoreReopener as StoreReopener
from ._due import DueContract
from ._durability import DurabilityContract
from ._list import ListContract
from ._machine import AgreementContract
from ._machine import StoreAgreementMachine as StoreAgreementMachine
from ._outbox import OutboxContract
from ._queue import QueueContract
from ._reindex import ReindexContract
from ._requester import RequesterContract
from ._search import MessageIdContract, SearchContract
from ._storage import StorageContract
from ._stream import StreamContract
from ._wakeup import WakeupContract

__all__ = [
    "LEASE",
    "START",
    "AsyncStoreContract",
    "AsyncStoreFactory",
    "StoreAgreementMachine",
    "StoreContract",
    "StoreFactory",
    "StoreReopener",
    "SyncStoreFactory",
]


# One base class per capability, each in its own module. pytest runs inherited tests
# base classes first (reverse MRO), so they are listed from the last to run to the first:
# basic storage, the requester index, due index and claims, queue, reindex, outbox,
# lists and counts, streams, message ids, search, durability, wake-ups, state machine.
class StoreContract(
    AgreementContract,
    WakeupContract,
    DurabilityContract,
    SearchContract,
    MessageIdContract,
    StreamContract,
    ListContract,
    OutboxContract,
    ReindexContract,
    QueueContract,
    DueContract,
    RequesterContract,
    StorageContract,
):
    """Base class of the store contract suite: subclass it, give it ``make_store``.

    Fixtures a subclass provides:

    * ``make_store`` (required): returns a `StoreFactory`, a callable that
      returns a fresh, empty store each time it is called. The suite calls it
      once per store it needs and closes every store it gets; the fixture may
      clean up other resources (files, schemas) after the test, as a yield
      fixture.
    * ``reopen_store`` (optional): returns a `StoreReopener`, a callable that
      takes a store the suite has just closed and returns a new store object on
      the same data (as a new process would open it). The default returns
      None: the store is not durable and the durability tests are skipped.

    Class attributes and methods a subclass may override:

    * `agreement_settings`: the Hypothesis settings of the state-machine test
      (by default a twentieth of the active profile's examples, at least 10,
      of `agreement_step_count` steps each).

    Every test is a method named ``test_...``, so pytest runs them all in the
    subclass; a failing test names the guarantee it checks in its docstring. The
    suite's own fixtures are ``store`` (a fresh store), ``clock`` (a `FakeClock`
    at `START`) and ``contract_stores``: a subclass should not define fixtures of
    these names.
    """
