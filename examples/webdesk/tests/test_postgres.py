"""The web desk on PostgreSQL: the same app, a store URL instead of a SQLite file."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from webdesk import Settings

from webdesk_support import Client, serve

URL = os.environ.get("TICKETFLOW_POSTGRES_URL")


@pytest.mark.skipif(URL is None, reason="TICKETFLOW_POSTGRES_URL is not set (no PostgreSQL server)")
def test_the_desk_runs_on_postgresql(tmp_path: Path) -> None:
    """Seeded at first start; a customer's ticket and an agent's reply go through the pages."""
    from ticketflow.testing import postgres_schema

    assert URL is not None
    with postgres_schema(URL, prefix="webdesk") as url:
        settings = Settings(data=tmp_path, store_url=url, bpi_log=None, seed_tickets=6)
        with serve(settings) as server:
            helpdesk = server.desk.helpdesk
            assert "PostgresStore" == type(helpdesk.store).__name__
            assert 6 == sum(helpdesk.counts("status").values())
            customer = Client(server.url).sign_in("pg@example.com")
            status, headers, _ = customer.post("/my/tickets", {"subject": "On PostgreSQL"})
            assert 303 == status
            ticket_id = headers["location"].rsplit("/", 1)[-1]
            agent = Client(server.url).sign_in("bob@desk.example")
            reply = {"body": "Stored in PostgreSQL."}
            assert 303 == agent.post(f"/agent/tickets/{ticket_id}/reply", reply)[0]
            status, _, page = customer.get(f"/my/tickets/{ticket_id}")
            assert 200 == status
            assert "Stored in PostgreSQL." in page
            assert "answered" == helpdesk.get(ticket_id).status
            customer.close()
            agent.close()
