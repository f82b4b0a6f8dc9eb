"""HTTP-level checks: customers reach their own tickets and public thread only, guesses or not."""

from __future__ import annotations

import re

import pytest
from ticketflow import Actor, Requester, Role
from webdesk.auth import Signer

from webdesk_support import Client, Server

NOT_FOUND = 404


@pytest.fixture
def two_customers(server: Server) -> dict[str, str]:
    """Uma's ticket (with a private note and a file) and Vic's, opened through the desk."""
    helpdesk = server.desk.helpdesk
    attached = server.desk.files.put(b"uma's scan", filename="scan.txt", content_type="text/plain")
    uma = helpdesk.open_ticket(
        subject="UMA-SUBJECT",
        requester=Requester(email="uma@example.com"),
        description="Uma's printer",
        by=Actor("uma@example.com", Role.CUSTOMER),
        attachments=[attached],
    )
    helpdesk.add_note(uma.id, "UMA-PRIVATE-NOTE", by="alice")
    helpdesk.agent_reply(uma.id, "UMA-PUBLIC-REPLY", by="alice")
    vic = helpdesk.for_customer("vic@example.com").open_ticket(subject="VIC-SUBJECT")
    return {"uma": uma.id, "vic": vic.id, "ref": attached.ref}


def test_a_customer_sees_her_public_thread_and_never_the_note(
    client: Client, two_customers: dict[str, str]
) -> None:
    uma = client.sign_in("uma@example.com")
    status, _, page = uma.get(f"/my/tickets/{two_customers['uma']}")
    assert 200 == status
    assert "UMA-PUBLIC-REPLY" in page
    assert "UMA-PRIVATE-NOTE" not in page
    status, _, data = uma.get(f"/files/{two_customers['uma']}/{two_customers['ref']}")
    assert (200, "uma's scan") == (status, data)
    status, _, listing = uma.get("/my?q=printer")
    assert two_customers["uma"] in listing
    assert two_customers["vic"] not in listing


def test_guessed_ids_and_urls_answer_404_as_for_nothing(
    client: Client, server: Server, two_customers: dict[str, str]
) -> None:
    """Another's ticket, file, reply, confirmation: the 404 of a made-up id; nothing changes."""
    vic = client.sign_in("vic@example.com")
    uma_id, ref = two_customers["uma"], two_customers["ref"]
    made_up = "01ZZZZZZZZZZZZZZZZZZZZZZZZ"
    version = server.desk.helpdesk.get(uma_id).version
    answers = {
        "ticket": vic.get(f"/my/tickets/{uma_id}"),
        "made-up ticket": vic.get(f"/my/tickets/{made_up}"),
        "file": vic.get(f"/files/{uma_id}/{ref}"),
        "file through own ticket": vic.get(f"/files/{two_customers['vic']}/{ref}"),
        "reply": vic.post(f"/my/tickets/{uma_id}/reply", {"body": "mine now"}),
        "confirm": vic.post(f"/my/tickets/{uma_id}/confirm", {"rating": "1"}),
        "agent page": vic.get(f"/agent/tickets/{uma_id}"),
        "queue": vic.get("/agent"),
        "reports": vic.get("/reports"),
        "csv": vic.get("/reports/tickets.csv"),
        "admin": vic.get("/admin"),
        "agent reply": vic.post(f"/agent/tickets/{uma_id}/reply", {"body": "x"}),
    }
    for name, (status, _, page) in answers.items():
        assert (name, NOT_FOUND) == (name, status)
        assert "UMA" not in page
    assert answers["ticket"][2] == answers["made-up ticket"][2].replace(made_up, uma_id)
    assert version == server.desk.helpdesk.get(uma_id).version


def test_a_forged_or_missing_session_reaches_nothing(
    client: Client, two_customers: dict[str, str]
) -> None:
    status, headers, _ = client.get(f"/my/tickets/{two_customers['uma']}")
    assert (303, "/signin") == (status, headers["location"])
    forged = Signer(b"not the desk's key" * 2).session("uma@example.com")
    client.cookie = f"webdesk_session={forged}"
    status, headers, _ = client.get(f"/my/tickets/{two_customers['uma']}")
    assert (303, "/signin") == (status, headers["location"])
    status, _, page = client.get("/signin/" + forged)
    assert 400 == status
    assert "invalid or expired" in page


def test_staff_csv_downloads_have_a_header_and_rows(client: Client, server: Server) -> None:
    staff = client.sign_in("alice@desk.example")
    status, headers, text = staff.get("/reports/tickets.csv?scope=all")
    assert 200 == status
    assert headers["content-type"].startswith("text/csv")
    lines = text.strip().splitlines()
    assert lines[0].startswith("ticket_id,")
    assert len(lines) - 1 == len(server.desk.helpdesk.find())
    status, _, weekly = staff.get("/reports/weekly.csv?scope=all")
    assert 200 == status
    assert re.search(r"^\d{4}-W\d\d,", weekly.splitlines()[1])


def test_mail_dropped_in_the_folder_becomes_a_ticket_and_replies_go_out(server: Server) -> None:
    """The worker's pass: a dropped mail opens a ticket; an agent reply is written as mail."""
    from webdesk.worker import run_pass

    drop = server.desk.settings.mail_in / "new" / "m1.eml"
    drop.write_bytes(
        b"From: Wim <wim@example.com>\r\nTo: support@desk.example\r\n"
        b"Subject: Scanner jams\r\nMessage-ID: <wim.1@example.com>\r\n\r\nIt jams.\r\n"
    )
    run_pass(server.desk)  # the worker thread may have taken it first: either way, once
    assert not drop.exists()
    assert (server.desk.settings.mail_in / "cur" / "m1.eml").exists()
    helpdesk = server.desk.helpdesk
    (ticket,) = helpdesk.find(requester="wim@example.com")
    assert ("Scanner jams", "email") == (ticket.subject, ticket.channel)
    replied = helpdesk.agent_reply(ticket.id, "Open the lid.", by="bob")
    run_pass(server.desk)
    out = server.desk.settings.mail_out / f"{ticket.id}.{len(replied.timeline) - 1}.eml"
    text = out.read_text()
    assert "To: Wim <wim@example.com>" in text
    assert f"[#{ticket.id}]" in text


def test_a_reply_reopens_a_resolved_ticket_and_opens_a_follow_up_to_a_closed_one(
    client: Client, server: Server
) -> None:
    """LiveAgent: resolved reopens; after closing, the reply lands on a new, linked ticket."""
    helpdesk = server.desk.helpdesk
    xia = client.sign_in("xia@example.com")
    status, headers, _ = xia.post("/my/tickets", {"subject": "Mouse lost"})
    old = headers["location"].rsplit("/", 1)[-1]
    helpdesk.agent_reply(old, "Found it.", by="bob")
    helpdesk.resolve(old, by="bob")
    # A reply to a resolved ticket reopens it (the preset's reopen_resolved).
    assert 303 == xia.post(f"/my/tickets/{old}/reply", {"body": "Not quite."})[0]
    assert "open" == helpdesk.get(old).status
    helpdesk.resolve(old, by="bob")
    status, _, page = xia.get(f"/my/tickets/{old}")
    assert 'id="confirm-form"' in page
    assert 303 == xia.post(f"/my/tickets/{old}/confirm", {"rating": "5"})[0]
    assert "closed" == helpdesk.get(old).status
    status, headers, _ = xia.post(f"/my/tickets/{old}/reply", {"body": "Lost it again."})
    assert 303 == status
    new = headers["location"].rsplit("/", 1)[-1]
    assert new != old
    assert old == helpdesk.get(new).parent_id
    status, _, page = xia.get(f"/my/tickets/{new}")
    assert f'href="/my/tickets/{old}"' in page


def test_a_customers_search_finds_public_text_and_never_a_private_note(
    client: Client, two_customers: dict[str, str]
) -> None:
    """Search runs through the customer's handle: own tickets, public text only."""
    uma = client.sign_in("uma@example.com")
    status, _, found = uma.get("/my?q=UMA-PUBLIC-REPLY")
    assert 200 == status
    assert two_customers["uma"] in found
    status, _, hidden = uma.get("/my?q=UMA-PRIVATE-NOTE")
    assert 200 == status
    assert two_customers["uma"] not in hidden
    status, _, theirs = uma.get("/my?q=VIC-SUBJECT")
    assert two_customers["vic"] not in theirs


def test_an_agents_search_finds_private_notes(
    client: Client, two_customers: dict[str, str]
) -> None:
    alice = client.sign_in("alice@desk.example")
    status, _, found = alice.get("/agent/tickets?q=UMA-PRIVATE-NOTE")
    assert 200 == status
    assert two_customers["uma"] in found
    assert two_customers["vic"] not in found
