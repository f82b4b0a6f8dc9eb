"""Where the web desk keeps its data, read once from the environment."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

__all__ = ["AGENTS", "Settings"]

# Who signs in as staff: e-mail address -> (agent id, is admin). Everyone else who
# signs in is a customer. A real desk reads this from its directory of staff.
AGENTS: dict[str, tuple[str, bool]] = {
    "alice@desk.example": ("alice", False),
    "bob@desk.example": ("bob", False),
    "admin@desk.example": ("admin", True),
}

# The repository's checkout: examples/webdesk/src/webdesk/settings.py -> the root.
_REPO_ROOT = Path(__file__).resolve().parents[4]
_BPI_DEFAULT = _REPO_ROOT.parent / "shared" / "data" / "bpi2013-incidents.csv.gz"


@dataclass(frozen=True)
class Settings:
    """The web desk's settings.

    Attributes:
        data: The folder of the SQLite file, attachments, mail folders and the signing key.
        store_url: Where tickets live: ``sqlite:///...`` (default, in ``data``) or
            ``postgresql://...``.
        bpi_log: The BPI Challenge 2013 log to seed from, or ``None`` to generate a month.
        address: The help desk's own e-mail address.
        worker_poll: Seconds between the worker's passes.
        seed_tickets: How many tickets the generated demo month holds.
    """

    data: Path
    store_url: str
    bpi_log: Path | None
    address: str = "support@desk.example"
    worker_poll: float = 2.0
    seed_tickets: int = 180

    @classmethod
    def from_env(cls, data: str | None = None, store_url: str | None = None) -> Settings:
        """Read the ``WEBDESK_*`` variables (the README lists them).

        ``WEBDESK_BPI`` is a path to the log, or ``none`` to always generate the demo
        month; by default ``../shared/data/bpi2013-incidents.csv.gz`` beside the
        repository is used when it is there.
        """
        folder = Path(data or os.environ.get("WEBDESK_DATA") or "webdesk-data").resolve()
        url = store_url or os.environ.get("WEBDESK_STORE") or f"sqlite:///{folder / 'webdesk.db'}"
        bpi = os.environ.get("WEBDESK_BPI")
        if bpi is None:
            log: Path | None = _BPI_DEFAULT if _BPI_DEFAULT.is_file() else None
        elif bpi.lower() in {"", "none", "off"}:
            log = None
        else:
            log = Path(bpi)
        poll = float(os.environ.get("WEBDESK_POLL", "2"))
        tickets = int(os.environ.get("WEBDESK_SEED_TICKETS", "180"))
        return cls(data=folder, store_url=url, bpi_log=log, worker_poll=poll, seed_tickets=tickets)

    @property
    def attachments(self) -> Path:
        """Uploaded and mailed-in files."""
        return self.data / "attachments"

    @property
    def mail_in(self) -> Path:
        """The drop folder for incoming mail: ``new/``, then ``cur/`` (kept) or ``bad/``."""
        return self.data / "mail" / "in"

    @property
    def mail_out(self) -> Path:
        """Where outgoing mail is written, one ``.eml`` file per message."""
        return self.data / "mail" / "out"

    def secret(self) -> bytes:
        """The key that signs sign-in links and sessions, made at first start."""
        path = self.data / "secret.key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_hex(32), encoding="ascii")
            path.chmod(0o600)
        return bytes.fromhex(path.read_text(encoding="ascii").strip())
