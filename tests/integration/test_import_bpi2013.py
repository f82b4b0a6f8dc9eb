"""The BPI Challenge 2013 log imported with ``python -m ticketflow import`` into SQLite.

Data: Ward Steeman, *BPI Challenge 2013, incidents*, 4TU.ResearchData,
doi:10.4121/uuid:500573e6-accc-4b0c-9576-aa5468b10cee, read in place from
``../shared/data/bpi2013-incidents.csv.gz`` beside the repository (skipped without it).
The reference counts are those of tests/integration/test_bpi2013_replay.py's own
plain-Python walk over the CSV.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ticketflow import SQLiteStore
from ticketflow.cli import main as cli_main
from ticketflow.stores import TicketQuery

from .test_bpi2013_replay import reference

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(
    os.environ.get("TICKETFLOW_BPI2013_CSV")
    or ROOT.parent / "shared" / "data" / "bpi2013-incidents.csv.gz"
)

pytestmark = pytest.mark.skipif(
    not DATA.is_file(),
    reason=f"the BPI Challenge 2013 incident log is not at {DATA} (it is read in place, "
    "never copied into the repository)",
)


def test_the_cli_imports_the_whole_log_and_a_rerun_skips_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """7,554 tickets, the reference's refusals and final statuses; a second run adds nothing."""
    db = tmp_path / "bpi.db"
    args = [
        "import",
        "--store",
        f"sqlite:///{db}",
        "--config",
        str(ROOT / "examples" / "bpi2013.toml"),
        "--format",
        "csv",
        "--mapping",
        str(ROOT / "examples" / "bpi2013_mapping.toml"),
        "--non-strict",
        "--quiet",
        str(DATA),
    ]
    ref = reference(DATA)
    assert 0 == cli_main(args)
    out = capsys.readouterr().out
    refused = sum(ref.rejected.values())
    assert f"imported {ref.incidents:,} tickets" in out
    assert f"refused {refused:,}, skipped 0" in out
    store = SQLiteStore(db)
    try:
        tickets = store.find(TicketQuery())
        assert ref.incidents == len(tickets)
        finals: dict[str, int] = {}
        for ticket in tickets:
            finals[ticket.status] = finals.get(ticket.status, 0) + 1
        assert dict(ref.final_statuses) == finals
        assert ref.transitions == sum(
            e.changes_status for ticket in tickets for e in ticket.timeline
        )
    finally:
        store.close()
    assert 0 == cli_main(args)
    assert "imported 0 tickets, 0 events (0 written)" in capsys.readouterr().out
