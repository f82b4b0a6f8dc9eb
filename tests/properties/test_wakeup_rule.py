"""MemoryStore records a wake-up exactly when a commit brings work nearer.

On random sequences of commits (one ticket or several at once, with or without
a due time, with or without outbox entries, some of them stale), a waiting worker
is woken after a commit exactly when a reference model says so: the commit was
written, and it added outbox entries or set a due time earlier than every due
time stored before it. Wake-ups pile up into one until a wait consumes them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from ticketflow import ConflictError, FakeClock, Helpdesk, Requester, Ticket
from ticketflow.stores import Change, MemoryStore

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
TICKETS = 4

# One change: (ticket index, due in minutes or None, adds an outbox entry, stale).
changes = st.tuples(
    st.integers(0, TICKETS - 1),
    st.none() | st.integers(0, 6),  # few values: equal due times are common
    st.booleans(),
    st.booleans(),
)
commits = st.lists(st.lists(changes, min_size=1, max_size=3, unique_by=lambda c: c[0]), max_size=25)


@given(plan=commits, consume=st.lists(st.booleans(), min_size=25, max_size=25))
def test_a_wake_up_follows_exactly_the_commits_that_bring_work_nearer(
    plan: list[list[tuple[int, int | None, bool, bool]]], consume: list[bool]
) -> None:
    maker = Helpdesk(clock=FakeClock(START))  # makes the successive ticket versions
    ids = [
        maker.open_ticket(subject=f"t{i}", requester=Requester(name="A")).id for i in range(TICKETS)
    ]
    store = MemoryStore()
    assert store.wait_for_wakeup(0)  # listening from here on
    stored_version = dict.fromkeys(range(TICKETS), 0)
    due: dict[int, datetime] = {}  # the model: each ticket's stored due time
    pending = False  # the model: a wake-up recorded and not yet consumed
    for step, commit in enumerate(plan):
        batch: list[Change] = []
        for index, minutes, outbox, stale in commit:
            ticket: Ticket = maker.get(ids[index])
            if stored_version[index] == ticket.version:  # stored: make the next version
                ticket = maker.add_note(ids[index], f"step {step}", by="bob")
            expected = stored_version[index] - (1 if stale and stored_version[index] else 0)
            at = None if minutes is None else START + timedelta(minutes=minutes)
            positions = (len(ticket.timeline) - 1,) if outbox else ()
            if stale and stored_version[index] == 0:
                expected = 1  # a ticket that is not stored yet, said to be at version 1
            batch.append(Change(ticket, expected, due_at=at, outbox=positions))
        refused = any(c.expected_version != stored_version[ids.index(c.ticket.id)] for c in batch)
        try:
            store.commit(batch)
        except ConflictError:
            assert refused
        else:
            assert not refused
            earliest = min(due.values(), default=None)
            dues = [c.due_at for c in batch if c.due_at is not None]
            pending = (
                pending
                or any(c.outbox for c in batch)
                or bool(dues and (earliest is None or min(dues) < earliest))
            )
            for change in batch:
                index = ids.index(change.ticket.id)
                stored_version[index] = change.ticket.version
                if change.due_at is None:
                    due.pop(index, None)
                else:
                    due[index] = change.due_at
        if consume[step % len(consume)]:
            assert pending == store.wait_for_wakeup(0)
            pending = False
    assert pending == store.wait_for_wakeup(0)
