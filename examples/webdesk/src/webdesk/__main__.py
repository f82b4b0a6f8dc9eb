"""``python -m webdesk``: the web server and, beside it, the worker, in one process."""

from __future__ import annotations

import argparse
import logging

import uvicorn

from .app import create_app
from .settings import Settings

__all__ = ["main"]


def main(argv: list[str] | None = None) -> None:
    """Parse the options and serve until Ctrl-C."""
    parser = argparse.ArgumentParser(prog="python -m webdesk", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--data", help="data folder (default $WEBDESK_DATA or ./webdesk-data)")
    parser.add_argument("--store", help="store URL (default a SQLite file in the data folder)")
    parser.add_argument("--no-worker", action="store_true", help="serve only; run no worker")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    settings = Settings.from_env(data=args.data, store_url=args.store)
    app = create_app(settings, worker=not args.no_worker)
    print(f"webdesk on http://{args.host}:{args.port}/ (data in {settings.data})")
    uvicorn.run(app, host=args.host, port=args.port, log_level="info")


if __name__ == "__main__":
    main()
