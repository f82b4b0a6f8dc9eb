"""A ticket's whole life in a real browser (headless Debian Chromium); the pages' screenshots."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from webdesk_support import SCREENSHOTS, Client, Server

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

Driver = Any  # selenium's WebDriver; imported lazily so the module loads without it


def _by() -> Any:
    from selenium.webdriver.common.by import By

    return By


def wait_for(driver: Driver, css: str, text: str | None = None, timeout: float = 10) -> Any:
    """Wait until ``css`` matches (and holds ``text``); return the element."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    def found(d: Driver) -> Any:
        for element in d.find_elements(_by().CSS_SELECTOR, css):
            if text is None or text in element.text:
                return element
        return False

    # htmx swaps the panel in place: an element read during the swap goes stale; look again.
    ignored = (StaleElementReferenceException,)
    WebDriverWait(driver, timeout, ignored_exceptions=ignored).until(found)
    WebDriverWait(driver, timeout).until(_htmx_idle)
    return WebDriverWait(driver, timeout, ignored_exceptions=ignored).until(found)


def _htmx_idle(driver: Driver) -> bool:
    """No htmx request, swap or settle under way (htmx marks them with classes)."""
    busy = driver.execute_script(
        "return document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling');"
    )
    return busy is None


def shot(driver: Driver, name: str) -> Path:
    path = SCREENSHOTS / f"{name}.png"
    driver.save_screenshot(str(path))
    return path


def sign_in(driver: Driver, server: Server, email: str, screenshot: str | None = None) -> None:
    driver.delete_all_cookies()
    driver.get(f"{server.url}/signin")
    wait_for(driver, "#signin-email").send_keys(email)
    if screenshot:
        shot(driver, screenshot)
    driver.find_element(_by().ID, "signin-send").click()
    wait_for(driver, "#signin-link").click()
    wait_for(driver, "header .who", email)


def click(driver: Driver, element_id: str) -> None:
    driver.find_element(_by().ID, element_id).click()


def fill(driver: Driver, element_id: str, text: str) -> None:
    element = driver.find_element(_by().ID, element_id)
    element.clear()
    element.send_keys(text)


def test_a_tickets_whole_life_as_customer_and_agent(
    browser: Driver, server: Server, tmp_path: Path
) -> None:
    """Open with a file, note, reply, prioritise, assign, answer, resolve, confirm with a rating."""
    driver = browser
    by = _by()
    sign_in(driver, server, "lena@example.com", screenshot="signin")

    # The customer opens a ticket with an attachment.
    driver.get(f"{server.url}/my/new")
    fill(driver, "new-subject", "Projector in room 4 shows no picture")
    fill(driver, "new-description", "Since this morning, HDMI and VGA alike.")
    upload = tmp_path / "photo.txt"
    upload.write_text("a photo of the projector, as text")
    driver.find_element(by.ID, "new-attachment").send_keys(str(upload))
    shot(driver, "customer-new-ticket")
    click(driver, "new-submit")
    ticket_id = wait_for(driver, "#ticket-id").text
    assert "new" == driver.find_element(by.ID, "ticket-status").text
    assert "photo.txt" in driver.find_element(by.ID, "thread").text

    # An agent finds it in the queue and works on it.
    sign_in(driver, server, "alice@desk.example")
    wait_for(driver, "#queue", ticket_id)
    shot(driver, "agent-queue")
    driver.find_element(by.LINK_TEXT, ticket_id).click()
    wait_for(driver, "#ticket-id", ticket_id)
    assert "photo.txt" in driver.find_element(by.ID, "thread").text
    fill(driver, "note-body", "Lamp hours over the limit; order a new lamp.")
    click(driver, "note-submit")
    wait_for(driver, "#thread", "private note by alice")
    fill(driver, "reply-body", "We are sending a technician with a spare projector.")
    click(driver, "reply-submit")
    wait_for(driver, "#ticket-status", "answered")
    _select(driver, "priority-value", "high")
    click(driver, "priority-submit")
    wait_for(driver, "#ticket-priority", "high")
    _select(driver, "assign-agent", "bob")
    fill(driver, "assign-department", "facilities")
    click(driver, "assign-submit")
    wait_for(driver, "#ticket-assignee", "bob")
    # The SLA clocks: the first reply was met; the resolution clock pauses while answered.
    clocks = driver.find_element(by.ID, "clocks").text
    assert "first reply: met" in clocks
    assert "resolution: paused" in clocks
    timeline = driver.find_element(by.ID, "timeline").text
    for kind in ("created", "note_added", "agent_replied", "priority_changed", "assigned"):
        assert kind in timeline
    shot(driver, "agent-ticket")

    # The customer sees the reply, never the note, and answers.
    sign_in(driver, server, "lena@example.com")
    driver.get(f"{server.url}/my/tickets/{ticket_id}")
    thread = wait_for(driver, "#thread", "spare projector").text
    assert "lamp" not in thread.lower()
    assert "Lamp hours" not in driver.page_source
    fill(driver, "reply-body", "Thanks, room 4 is free after 2 pm.")
    click(driver, "reply-submit")
    wait_for(driver, "#ticket-status", "open")

    # The agent resolves it.
    sign_in(driver, server, "bob@desk.example")
    driver.get(f"{server.url}/agent/tickets/{ticket_id}")
    wait_for(driver, "#thread", "after 2 pm")
    click(driver, "resolve-submit")
    wait_for(driver, "#ticket-status", "resolved")

    # The customer confirms with a rating: the preset's confirmation rule closes it.
    sign_in(driver, server, "lena@example.com")
    driver.get(f"{server.url}/my/tickets/{ticket_id}")
    wait_for(driver, "#confirm-form")
    shot(driver, "customer-ticket")
    driver.find_element(by.ID, "rating-4").click()
    click(driver, "confirm-submit")
    wait_for(driver, "#ticket-status", "closed")
    driver.get(f"{server.url}/my")
    wait_for(driver, "#my-tickets", ticket_id)
    shot(driver, "customer-tickets")

    ticket = server.desk.helpdesk.get(ticket_id)
    assert ("closed", 4, "bob", "facilities") == (
        ticket.status,
        ticket.satisfaction,
        ticket.assignee,
        ticket.department,
    )
    assert "high" == ticket.priority.label
    # The agent's reply went out as mail through the outbox (or the in-process subscriber).
    sent = [p.read_text() for p in server.desk.settings.mail_out.glob(f"{ticket_id}.*.eml")]
    assert any("spare projector" in text for text in sent)


def _select(driver: Driver, element_id: str, value: str) -> None:
    from selenium.webdriver.support.ui import Select

    Select(driver.find_element(_by().ID, element_id)).select_by_visible_text(value)


def test_agent_postpones_merges_and_marks_spam(
    browser: Driver, server: Server, client: Client
) -> None:
    """The other agent commands, each from its form on the ticket page."""
    customer = client.sign_in("omar@example.com")
    ids = []
    for subject in ("Badge does not open door 3", "Badge again", "WIN A PRIZE NOW"):
        status, headers, _ = customer.post("/my/tickets", {"subject": subject})
        assert 303 == status
        ids.append(headers["location"].rsplit("/", 1)[-1])
    first, second, junk = ids
    driver = browser
    sign_in(driver, server, "alice@desk.example")

    driver.get(f"{server.url}/agent/tickets/{first}")
    fill(driver, "postpone-hours", "48")
    click(driver, "postpone-submit")
    wait_for(driver, "#ticket-status", "postponed")

    driver.get(f"{server.url}/agent/tickets/{second}")
    fill(driver, "merge-into", first)
    click(driver, "merge-submit")
    wait_for(driver, "#ticket-id", first)  # the agent lands on the ticket merged into
    assert "merge_received" in driver.find_element(_by().ID, "timeline").text

    driver.get(f"{server.url}/agent/tickets/{junk}")
    click(driver, "spam-submit")
    wait_for(driver, "#ticket-status", "spam")

    desk = server.desk.helpdesk
    assert ["postponed", "merged", "spam"] == [desk.get(i).status for i in ids]
    assert first == desk.get(second).merged_into


def test_a_customer_never_sees_a_private_note_or_anothers_ticket_in_the_browser(
    browser: Driver, server: Server
) -> None:
    """Guessing another customer's ticket URL shows the same 404 as a made-up id."""
    desk = server.desk.helpdesk
    ann = desk.for_customer("pia@example.com")
    mine = ann.open_ticket(subject="Keyboard missing keys", description="The Q key is gone.")
    desk.add_note(mine.id, "SECRET-NOTE-4471: Pia broke two before.", by="alice")
    theirs = desk.for_customer("quinn@example.com").open_ticket(subject="QUINN-PRIVATE-SUBJECT")

    driver = browser
    sign_in(driver, server, "pia@example.com")
    driver.get(f"{server.url}/my/tickets/{mine.id}")
    wait_for(driver, "#ticket-subject", "Keyboard")
    assert "SECRET-NOTE-4471" not in driver.page_source
    driver.get(f"{server.url}/my/tickets/{theirs.id}")
    wait_for(driver, "#error-message", "Not found")
    assert "QUINN-PRIVATE-SUBJECT" not in driver.page_source
    shot(driver, "customer-not-found")
    driver.get(f"{server.url}/my")
    listing = wait_for(driver, "#my-tickets").text
    assert mine.id in listing
    assert theirs.id not in listing
    driver.get(f"{server.url}/agent/tickets/{mine.id}")
    wait_for(driver, "#error-message", "Not found")


def test_the_list_counts_filters_sorts_and_pages(browser: Driver, server: Server) -> None:
    """Counts per status; a status filter through htmx; the next page by cursor shows new ids."""
    driver = browser
    sign_in(driver, server, "bob@desk.example")
    driver.get(f"{server.url}/agent/tickets?sort=-created")
    counts = wait_for(driver, "#counts").text
    total = int(re.match(r"(\d+) tickets", counts).group(1))  # type: ignore[union-attr]
    assert total == sum(server.desk.helpdesk.counts("status").values())
    first_page = _ids(driver)
    assert 25 == len(first_page)
    click(driver, "next-page")
    wait_for(driver, "#ticket-list")
    second_page = _ids(driver)
    assert second_page
    assert not set(first_page) & set(second_page)
    shot(driver, "agent-list")
    _select(driver, "filter-status", "closed")
    wait_for(driver, "#filter-status")
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, 10).until(lambda d: "status=closed" in d.current_url)
    statuses = {
        cell.text for cell in driver.find_elements(_by().CSS_SELECTOR, "#ticket-list td .status")
    }
    assert {"closed"} == statuses


def test_an_agent_searches_from_the_list(browser: Driver, server: Server) -> None:
    """The search box (htmx): a word of a private note finds its ticket."""
    desk = server.desk.helpdesk
    ticket = desk.for_customer("sam@example.com").open_ticket(subject="Chair squeaks")
    desk.add_note(ticket.id, "Zanzibar-ergonomics vendor contacted", by="bob")
    driver = browser
    sign_in(driver, server, "alice@desk.example")
    driver.get(f"{server.url}/agent/tickets")
    fill(driver, "search", "zanzibar-ergonomics")
    from selenium.webdriver.common.keys import Keys

    driver.find_element(_by().ID, "search").send_keys(Keys.ENTER)
    wait_for(driver, "#search-note", "zanzibar")
    assert [ticket.id] == _ids(driver)
    shot(driver, "agent-search")


def _ids(driver: Driver) -> list[str]:
    return [
        a.text for a in driver.find_elements(_by().CSS_SELECTOR, "#ticket-list td:first-child a")
    ]


def test_the_reports_and_admin_pages_render_svg(browser: Driver, server: Server) -> None:
    """Five charts drawn as SVG on the server; the workflow diagram from the configuration."""
    driver = browser
    sign_in(driver, server, "admin@desk.example")
    driver.get(f"{server.url}/reports")
    wait_for(driver, "#charts")
    charts = driver.find_elements(_by().CSS_SELECTOR, "#charts figure svg")
    assert 5 == len(charts)
    for name in ("first_response", "resolution", "sla", "backlog", "satisfaction"):
        assert driver.find_element(_by().CSS_SELECTOR, f"#chart-{name} svg").is_displayed()
    assert "no data" not in driver.find_element(_by().ID, "chart-first_response").text
    shot(driver, "reports")
    driver.get(f"{server.url}/admin")
    diagram = wait_for(driver, "#workflow-diagram svg")
    assert "answered" in diagram.get_attribute("innerHTML")
    assert "close_resolved_after_3_days" in driver.find_element(_by().ID, "rules").text
    assert "standard" in driver.find_element(_by().ID, "sla-policies").text
    shot(driver, "admin")
