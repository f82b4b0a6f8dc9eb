"""First-start demo data: the BPI Challenge 2013 log through the desk's mapping, else a month."""

from __future__ import annotations

import gzip
import itertools
from pathlib import Path

import pytest
from ticketflow import Category
from webdesk import Settings
from webdesk.desk import open_desk
from webdesk.seed import seed

# Ward Steeman, BPI Challenge 2013, incidents, 4TU.ResearchData,
# doi:10.4121/uuid:500573e6-accc-4b0c-9576-aa5468b10cee (read in place, never copied).
BPI = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "bpi2013-incidents.csv.gz"


@pytest.mark.skipif(not BPI.is_file(), reason=f"the BPI Challenge 2013 log is not at {BPI}")
def test_the_bpi_log_is_imported_onto_the_desks_workflow(tmp_path: Path) -> None:
    """Its first 400 rows: incidents with a first response, resolutions and closures."""
    with gzip.open(BPI, "rt", encoding="utf-8-sig") as log:
        head = "".join(itertools.islice(log, 401))
    sample = tmp_path / "bpi-head.csv.gz"
    with gzip.open(sample, "wt", encoding="utf-8") as out:
        out.write(head)
    settings = Settings(
        data=tmp_path / "data",
        store_url=f"sqlite:///{tmp_path / 'seed.db'}?synchronous=OFF",
        bpi_log=sample,
        seed_tickets=3,
    )
    desk = open_desk(settings)
    try:
        done = seed(desk)
        assert done.startswith("imported ")
        assert "; generated 3 tickets over the 30 days before " in done
        imported = [t for t in desk.helpdesk.find() if t.id.startswith("BPI-")]
        assert len(imported) > 10
        assert any(t.first_response_at is not None for t in imported)
        categories = {desk.helpdesk.workflow.category(t.status) for t in imported}
        assert {Category.RESOLVED, Category.CLOSED} & categories
        assert "the store holds tickets already: nothing seeded" == seed(desk)
    finally:
        desk.helpdesk.store.close()


def test_without_the_log_a_month_is_generated_once(tmp_path: Path) -> None:
    settings = Settings(
        data=tmp_path / "data",
        store_url=f"sqlite:///{tmp_path / 'seed.db'}?synchronous=OFF",
        bpi_log=None,
        seed_tickets=12,
    )
    desk = open_desk(settings)
    try:
        assert seed(desk).startswith("generated 12 tickets")
        tickets = desk.helpdesk.find()
        assert 12 == len(tickets)
        now = desk.helpdesk.clock.now()
        assert all(0 <= (now - t.created_at).days <= 30 for t in tickets)
        assert any(t.satisfaction is not None for t in tickets)
        assert seed(desk).startswith("the store holds tickets already")
    finally:
        desk.helpdesk.store.close()
