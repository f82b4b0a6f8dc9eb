"""The ``Example:`` sections of the docstrings run, so they cannot go stale silently."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import ticketflow

# Django's modules need a configured project (the finder's attribute walk touches
# django.conf.settings); tests/django_project runs their examples' code.
_NEEDS_A_PROJECT = "ticketflow.contrib.django"


def _modules() -> list[str]:
    return sorted(
        info.name
        for info in pkgutil.walk_packages(ticketflow.__path__, prefix="ticketflow.")
        if not info.name.endswith("__main__") and not info.name.startswith(_NEEDS_A_PROJECT)
    )


def _examples() -> list[doctest.DocTest]:
    finder = doctest.DocTestFinder(exclude_empty=True)
    tests: list[doctest.DocTest] = []
    for name in _modules():
        module = importlib.import_module(name)
        tests.extend(t for t in finder.find(module, name) if t.examples)
    return sorted(tests, key=lambda t: t.name)


_TESTS = _examples()


def test_there_are_examples_to_run() -> None:
    # Guards the collection itself: an import path change must not silently run nothing.
    assert len(_TESTS) >= 15


@pytest.mark.parametrize("test", _TESTS, ids=[t.name for t in _TESTS])
def test_docstring_example(test: doctest.DocTest) -> None:
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{test.name}: {result.failed} of {result.attempted} failed"
