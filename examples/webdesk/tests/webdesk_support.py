"""What the web desk's tests share: a live server on 127.0.0.1 and a plain HTTP client.

A module of its own (not conftest.py, which holds only fixtures), so that test
modules import it by a name no other test folder uses.
"""

from __future__ import annotations

import contextlib
import http.client
import importlib.util
import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest
import uvicorn
from fastapi import FastAPI
from webdesk import Settings, create_app
from webdesk.desk import Desk

HERE = Path(__file__).resolve().parent
SCREENSHOTS = HERE.parent / "screenshots"  # gitignored; copies of the main ones are in docs/
RESULTS = HERE.parent / "test-results"  # gitignored: the burst's latency figures
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")


@dataclass
class Server:
    """The running app: its base URL and its desk (to check what was stored)."""

    url: str
    app: FastAPI

    @property
    def desk(self) -> Desk:
        desk: Desk = self.app.state.desk
        return desk


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextlib.contextmanager
def serve(settings: Settings) -> Iterator[Server]:
    """Run the web desk (and its worker) with uvicorn on 127.0.0.1, in a thread."""
    app = create_app(settings)
    port = _free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not uv.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("the web desk did not start")
        time.sleep(0.05)
    try:
        yield Server(f"http://127.0.0.1:{port}", app)
    finally:
        uv.should_exit = True
        thread.join(timeout=30)


@dataclass
class Client:
    """A keep-alive HTTP client with one session cookie; redirects are not followed."""

    base: str
    cookie: str = ""
    _conn: http.client.HTTPConnection | None = field(default=None, repr=False)

    def request(
        self, method: str, path: str, fields: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], str]:
        parts = urlsplit(self.base)
        body = None if fields is None else urlencode(fields)
        headers = {"Cookie": self.cookie} if self.cookie else {}
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        for attempt in (1, 2):
            if self._conn is None:
                self._conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
            try:
                self._conn.request(method, path, body=body, headers=headers)
                response = self._conn.getresponse()
                text = response.read().decode()
            except (ConnectionError, http.client.HTTPException):
                self._conn.close()
                self._conn = None
                if attempt == 2:
                    raise
                continue
            return response.status, dict(response.getheaders()), text
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def get(self, path: str) -> tuple[int, dict[str, str], str]:
        return self.request("GET", path)

    def post(self, path: str, fields: dict[str, str]) -> tuple[int, dict[str, str], str]:
        return self.request("POST", path, fields)

    def sign_in(self, email: str) -> Client:
        """The e-mailed-link flow: ask for a link, open it, keep the session cookie."""
        status, _, page = self.post("/signin", {"email": email})
        assert 200 == status
        link = re.search(r'id="signin-link" href="([^"]+)"', page)
        assert link is not None
        status, headers, _ = self.get(urlsplit(link.group(1)).path)
        assert 303 == status
        self.cookie = headers["set-cookie"].split(";", 1)[0]
        return self


def browser_missing() -> str | None:
    """Why the browser tests cannot run here, or ``None``."""
    for path in (CHROMIUM, CHROMEDRIVER):
        if not path.exists():
            return (
                f"{path} is missing: install Debian's chromium and chromium-driver "
                "(apt-get install chromium chromium-driver) to run the browser tests"
            )
    if importlib.util.find_spec("selenium") is None:
        return "selenium is not installed (pip install -e 'examples/webdesk[test]')"
    return None
