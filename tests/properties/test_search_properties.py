"""Search agrees with a reference model over random histories, and customers never see notes.

Each example plays random commands on tickets of two customers: opening (a
subject of vocabulary words), public customer and agent replies, private notes,
and purges. Every store (memory, SQLite, and a store without the search
capability, the engine's fallback) gets the same commands. After the workload,
for every word of the vocabulary:

* an agent's search finds exactly the tickets whose text (any message, notes
  included) holds the word, unless purged;
* each customer's search finds exactly their own tickets whose **public** text
  holds the word: a word only in a private note never matches for a customer;
* every store returns the same set of hits.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Final

from hypothesis import example, given, settings
from hypothesis import strategies as st

from ticketflow import Actor, FakeClock, Helpdesk, MemoryStore, Requester, Role, SQLiteStore

sys.path.insert(0, str(Path(__file__).parent.parent / "unit"))
from _plain_store import PlainStore

VOCABULARY: Final = ("apple", "berry", "cherry", "damson", "elder", "fig")
PEOPLE: Final = (
    Requester(name="Ann", email="ann@example.com"),
    Requester(name="Cy", email="cy@example.com"),
)
DPO: Final = Actor("dpo", Role.ADMIN)

_text = st.lists(st.sampled_from(VOCABULARY), min_size=1, max_size=3).map(" ".join)
_step = st.one_of(
    st.tuples(st.just("open"), st.integers(0, 1), _text),
    st.tuples(st.just("customer"), st.integers(0, 5), _text),
    st.tuples(st.just("agent"), st.integers(0, 5), _text),
    st.tuples(st.just("note"), st.integers(0, 5), _text),
    st.tuples(st.just("purge"), st.integers(0, 5), st.just("")),
)


def _run(desk: Helpdesk, tid: str, kind: str, text: str, customer: Requester) -> None:
    """One command on one store's copy of a ticket."""
    if kind == "customer":
        desk.customer_reply(tid, text, by=Actor(customer.email or "", Role.CUSTOMER))
    elif kind == "agent":
        desk.agent_reply(tid, text, by="bob")
    elif kind == "note":
        desk.add_note(tid, text, by="bob")
    else:
        desk.purge(tid, by=DPO)


class _Model:
    """The reference: each ticket's owner, public and private words, and the purged."""

    def __init__(self) -> None:
        self.owner: list[int] = []
        self.public: list[set[str]] = []
        self.private: list[set[str]] = []
        self.purged: set[int] = set()

    def open(self, who: int, text: str) -> None:
        self.owner.append(who)
        self.public.append(set(text.split()))
        self.private.append(set())

    def acts_on(self, n: int) -> bool:
        return n < len(self.owner) and n not in self.purged

    def apply(self, kind: str, n: int, text: str) -> None:
        if kind == "purge":
            self.purged.add(n)
        else:
            (self.private if kind == "note" else self.public)[n].update(text.split())

    def hits(self, word: str, customer: int | None) -> set[int]:
        live = (n for n in range(len(self.owner)) if n not in self.purged)
        if customer is None:
            return {n for n in live if word in self.public[n] | self.private[n]}
        return {n for n in live if self.owner[n] == customer and word in self.public[n]}


@settings(max_examples=40, deadline=None)
@given(st.lists(_step, min_size=1, max_size=14))
@example([("open", 0, "apple"), ("note", 0, "berry"), ("purge", 0, "")])
@example([("open", 1, "apple"), ("note", 0, "fig"), ("customer", 0, "cherry")])
def test_search_agrees_with_the_reference(steps: list[tuple[str, int, str]]) -> None:
    """Every store finds what the reference model says, for agents and for each customer."""
    desks = [
        Helpdesk(store=store, clock=FakeClock())
        for store in (MemoryStore(), SQLiteStore(), PlainStore())  # type: ignore[arg-type]
    ]
    model = _Model()
    ids: list[list[str]] = [[] for _ in desks]
    for kind, n, text in steps:
        if kind == "open":
            for desk, made in zip(desks, ids, strict=True):
                made.append(desk.open_ticket(subject=text, requester=PEOPLE[n]).id)
            model.open(n, text)
        elif model.acts_on(n):
            for desk, made in zip(desks, ids, strict=True):
                _run(desk, made[n], kind, text, PEOPLE[model.owner[n]])
            model.apply(kind, n, text)
    for word in VOCABULARY:
        for desk, made in zip(desks, ids, strict=True):
            expected = {made[n] for n in model.hits(word, None)}
            assert expected == {s.id for s in desk.search(word, limit=100).items}
            for who, person in enumerate(PEOPLE):
                mine = {made[n] for n in model.hits(word, who)}
                found = desk.for_customer(person).search(word, limit=100).items
                assert mine == {v.id for v in found}, (word, person.name)
