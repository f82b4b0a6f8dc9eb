"""The read side on SQLite files: schema 4's migration, and the list indexes in the query plans."""

from __future__ import annotations

from pathlib import Path

import pytest

from ticketflow import FakeClock, Helpdesk, Requester, SQLiteStore
from ticketflow.stores._sqlite import SCHEMA_VERSION
from ticketflow.stores._summary import SORT_KEYS, SummaryQuery

from .test_sqlite_file import make_old_file


def test_a_version_3_file_gets_summaries_and_counters_on_open(tmp_path: Path) -> None:
    """A file of schema version 3 opens migrated: every ticket summarised once, and counted."""
    path = tmp_path / "v3.db"
    tickets = make_old_file(path, 3)
    store = SQLiteStore(path)
    assert 7 == SCHEMA_VERSION == store.schema_version()
    assert "ok" == store.integrity_check()
    desk = Helpdesk(store=store, clock=FakeClock(tickets[-1].updated_at))
    listed = desk.list(limit=10).items
    assert [t.id for t in tickets] == [s.id for s in listed]
    assert [t.subject for t in tickets] == [s.subject for s in listed]
    assert [len(t.messages) for t in tickets] == [s.message_count for s in listed]
    statuses: dict[str | None, int] = {}
    for t in tickets:
        statuses[t.status] = statuses.get(t.status, 0) + 1
    assert statuses == desk.counts("status")
    assert {"ann": 5} == desk.counts("assignee")
    store.close()


def _plan(store: SQLiteStore, query: SummaryQuery) -> str:
    sql, params = store._list_sql(query)
    rows = store._conn.execute(f"EXPLAIN QUERY PLAN {sql}", params).fetchall()
    return " | ".join(str(r[-1]) for r in rows)


@pytest.mark.parametrize("sort", SORT_KEYS)
@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("statuses", [None, frozenset({"open"})])
def test_a_first_page_walks_its_sort_index(
    tmp_path: Path, sort: str, descending: bool, statuses: frozenset[str] | None
) -> None:
    """Each sort's first page (unfiltered, and by status) walks an index: no sort, no full scan."""
    store = SQLiteStore(tmp_path / "plan.db")
    desk = Helpdesk(store=store, clock=FakeClock())
    for n in range(30):
        desk.open_ticket(subject=str(n), requester=Requester(name="Ann"))
    store._conn.execute("ANALYZE")
    plan = _plan(store, SummaryQuery(statuses=statuses, sort=sort, descending=descending))
    assert "USING INDEX tickets_" in plan, plan
    assert "TEMP B-TREE" not in plan, plan
    store.close()


def test_counts_without_row_filters_read_the_counters(tmp_path: Path) -> None:
    """Counts filtered by status, priority, assignee or department read only ``ticket_counts``."""
    store = SQLiteStore(tmp_path / "plan.db")
    sql, params = store._counts_sql("status", SummaryQuery(assignee="ann"))
    plan = store._conn.execute(f"EXPLAIN QUERY PLAN {sql}", params).fetchall()
    assert "ticket_counts" in " ".join(str(r[-1]) for r in plan)
    assert "tickets " not in " ".join(str(r[-1]) for r in plan) + " "
    store.close()
