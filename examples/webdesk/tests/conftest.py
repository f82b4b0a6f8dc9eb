"""Fixtures: a live web desk on 127.0.0.1, a plain HTTP client, and a headless Chromium."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from webdesk import Settings

from webdesk_support import (
    CHROMEDRIVER,
    CHROMIUM,
    SCREENSHOTS,
    Client,
    Server,
    browser_missing,
    serve,
)


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The web desk with its worker, on a fresh SQLite file seeded with a small generated month."""
    data = tmp_path_factory.mktemp("webdesk")
    settings = Settings(
        data=data,
        # NORMAL: durability is not under test here, and it keeps the seed and burst quick.
        store_url=f"sqlite:///{data / 'webdesk.db'}?synchronous=NORMAL",
        bpi_log=None,
        worker_poll=0.2,
        seed_tickets=24,
    )
    with serve(settings) as running:
        yield running


@pytest.fixture
def client(server: Server) -> Iterator[Client]:
    made = Client(server.url)
    yield made
    made.close()


@pytest.fixture(scope="session")
def browser(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """Headless Debian Chromium through its chromedriver (never a downloaded browser)."""
    reason = browser_missing()
    if reason is not None:
        pytest.skip(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1280,900",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium')}",
    ):
        options.add_argument(flag)
    # The driver's path is given, so Selenium Manager never looks for (or downloads) one.
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(30)
    SCREENSHOTS.mkdir(exist_ok=True)
    yield driver
    driver.quit()
