"""Steps: the pipeline without I/O, and the two drivers that give it a store.

Every command, query and sweep of the engine is written once, as a generator
(``Steps``) that yields *requests* for the store and receives their results:
a request is an `operator.methodcaller` (``methodcaller("get", ticket_id)``),
which, called with a store, calls that store method. The generator holds
everything else: validation, permission checks, catching up, deciding, rules,
scheduling, building the `Change`, publishing.

`drive` gives the steps a `TicketStore` (``Helpdesk``): each request is called
and its result sent back. `adrive` gives them an ``AsyncTicketStore``
(``AsyncHelpdesk``): each request returns a coroutine, awaited before its result
is sent back (a request that is a plain check of the store, not a store
method, returns its answer directly). A store error is thrown into the
generator at the ``yield`` that asked, so a step can catch it (a sweep's
commit group does) exactly as a direct call would have. This is the
"sans-I/O" shape of h11: the logic never learns whether its store blocks.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from inspect import isawaitable
from typing import Any, TypeVar

__all__ = ["Request", "Steps", "adrive", "drive"]

_T = TypeVar("_T")

Request = Callable[[Any], Any]
"""A store call waiting for its store: ``methodcaller("get", ticket_id)``."""

Steps = Generator[Request, Any, _T]
"""The pipeline of one call: yields `Request` values, returns the call's result."""


def drive(store: Any, steps: Steps[_T]) -> _T:
    """Run ``steps`` against a blocking store; return what they return."""
    send = steps.send
    try:
        request = send(None)
        while True:
            try:
                result = request(store)
            except Exception as exc:  # noqa: BLE001 - handed to the step that asked
                request = steps.throw(exc)
            else:
                request = send(result)
    except StopIteration as done:
        value: _T = done.value
        return value


async def adrive(store: Any, steps: Steps[_T]) -> _T:
    """Run ``steps`` against a store whose methods are coroutines; return what they return."""
    send = steps.send
    try:
        request = send(None)
        while True:
            try:
                result = request(store)
                if isawaitable(result):  # a store method; a plain check (`_list`) is not
                    result = await result
            except Exception as exc:  # noqa: BLE001 - handed to the step that asked
                request = steps.throw(exc)
            else:
                request = send(result)
    except StopIteration as done:
        value: _T = done.value
        return value
