"""Testing tools for ticketflow users (strategies, contract suite, pytest plugin).

* Hypothesis strategies for random valid workflows (`workflows`), the presets with
  random settings (`presets`), requesters, `Helpdesk.open_ticket` arguments and
  command steps (`commands`, `command_sequences`, run by `apply_command`).
* `check_ticket_invariants`, which raises `AssertionError` when a ticket breaks
  what ticketflow guarantees (declared statuses and transitions, the lock, time
  order, versions, rebuilding from events, what the store holds).
* The store contract suite (`ticketflow.testing.contract`): `StoreContract`, the base
  class a backend's pytest module subclasses with a ``make_store`` fixture, and
  `StoreAgreementMachine`, its Hypothesis state machine; `AsyncStoreContract`,
  the same for an `AsyncTicketStore`.
* The pytest plugin (`ticketflow.testing.pytest_plugin`, registered automatically):
  ``fake_clock`` and ``helpdesk`` fixtures.
* `postgres_schema`: a fresh PostgreSQL schema on a test database, dropped after
  use, for tests (and benchmarks) of code on `PostgresStore` (needs the
  ``postgres`` extra).

The strategies and the contract suite need Hypothesis (``pip install ticketflow[test]``);
the suite needs pytest too. They are imported on first use, so that the pytest plugin,
which every pytest run in an environment with ticketflow loads, never imports Hypothesis.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._postgres import postgres_schema as postgres_schema
    from .contract import AsyncStoreContract as AsyncStoreContract
    from .contract import StoreAgreementMachine as StoreAgreementMachine
    from .contract import StoreContract as StoreContract
    from .strategies import Command as Command
    from .strategies import OpenTicketKwargs as OpenTicketKwargs
    from .strategies import apply_command as apply_command
    from .strategies import check_ticket_invariants as check_ticket_invariants
    from .strategies import command_sequences as command_sequences
    from .strategies import commands as commands
    from .strategies import open_ticket_kwargs as open_ticket_kwargs
    from .strategies import presets as presets
    from .strategies import requesters as requesters
    from .strategies import workflows as workflows

__all__ = [
    "AsyncStoreContract",
    "Command",
    "OpenTicketKwargs",
    "StoreAgreementMachine",
    "StoreContract",
    "apply_command",
    "check_ticket_invariants",
    "command_sequences",
    "commands",
    "open_ticket_kwargs",
    "postgres_schema",
    "presets",
    "requesters",
    "workflows",
]


_CONTRACT = frozenset({"AsyncStoreContract", "StoreAgreementMachine", "StoreContract"})
_MODULE_OF = {"postgres_schema": "._postgres"}


def __getattr__(name: str) -> object:
    # PEP 562: import the strategies or the contract suite (and with them Hypothesis,
    # and pytest) on first use only.
    if name in __all__:
        module = _MODULE_OF.get(name) or (".contract" if name in _CONTRACT else ".strategies")
        value: object = getattr(importlib.import_module(module, __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
