"""Sign-in by e-mailed link, and the signed session cookie.

A person types their address; the desk mails them a link holding a signed,
short-lived token (here the mail goes to the outgoing mail folder, and the demo
page shows the link). Opening the link sets a session cookie signed with the
same key. Both are HMAC-SHA256 over the payload: nobody can forge a session
for another address without the key, so a customer's identity, and therefore
what `Helpdesk.for_customer` lets them see, comes from the desk, never from
what the browser sends.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from dataclasses import dataclass
from typing import Literal

from .settings import AGENTS

__all__ = ["LINK_SECONDS", "SESSION_COOKIE", "Signer", "User"]

LINK_SECONDS = 15 * 60
SESSION_SECONDS = 12 * 3600
SESSION_COOKIE = "webdesk_session"

Role = Literal["customer", "agent", "admin"]


@dataclass(frozen=True)
class User:
    """Who is signed in.

    Attributes:
        email: Their address (the customer's identity; an agent's sign-in address).
        role: ``customer``, ``agent`` or ``admin``.
        agent_id: The agent id staff act as; ``None`` for customers.
    """

    email: str
    role: Role
    agent_id: str | None = None

    @property
    def staff(self) -> bool:
        """Agents and admins."""
        return self.role != "customer"

    @classmethod
    def for_address(cls, email: str) -> User:
        """The user an address signs in as: staff from `AGENTS`, anyone else a customer."""
        address = email.strip().lower()
        if address in AGENTS:
            agent_id, admin = AGENTS[address]
            return cls(address, "admin" if admin else "agent", agent_id)
        return cls(address, "customer")


class Signer:
    """Signs and checks link tokens and session cookies with one key."""

    def __init__(self, key: bytes) -> None:
        """Use ``key`` (32 random bytes, kept in the data folder)."""
        self._key = key

    def _sign(self, purpose: str, email: str, expires: int) -> str:
        payload = f"{purpose}|{email}|{expires}".encode()
        mac = hmac.new(self._key, payload, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(payload + b"|" + mac).decode().rstrip("=")

    def _check(self, purpose: str, token: str, now: float) -> str | None:
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            payload, mac = raw[:-33], raw[-32:]
            kind, email, expires = payload.decode().split("|")
        except (ValueError, UnicodeDecodeError):
            return None
        good = hmac.new(self._key, payload, hashlib.sha256).digest()
        if not hmac.compare_digest(good, mac) or kind != purpose or int(expires) < now:
            return None
        return email

    def link_token(self, email: str, now: float | None = None) -> str:
        """A sign-in token for ``email``, valid for `LINK_SECONDS`."""
        at = time.time() if now is None else now
        return self._sign("link", email.strip().lower(), int(at) + LINK_SECONDS)

    def session(self, email: str, now: float | None = None) -> str:
        """A session cookie value for ``email``, valid for twelve hours."""
        at = time.time() if now is None else now
        return self._sign("session", email, int(at) + SESSION_SECONDS)

    def link_user(self, token: str, now: float | None = None) -> User | None:
        """The user a sign-in token is for, or ``None`` if it is forged or expired."""
        email = self._check("link", token, time.time() if now is None else now)
        return None if email is None else User.for_address(email)

    def session_user(self, cookie: str | None, now: float | None = None) -> User | None:
        """The user of a session cookie, or ``None``."""
        if not cookie:
            return None
        email = self._check("session", cookie, time.time() if now is None else now)
        return None if email is None else User.for_address(email)
