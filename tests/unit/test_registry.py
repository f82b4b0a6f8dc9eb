"""open_store: built-in URL schemes, their parameters, bad URLs, and entry-point backends."""

from __future__ import annotations

import importlib.util
import sqlite3
import sys
from collections.abc import Callable, Iterator
from importlib.metadata import EntryPoint
from pathlib import Path
from types import ModuleType
from typing import Any, ClassVar

import pytest

from ticketflow import MemoryStore, SQLiteStore, StoreError, StoreUnavailable, open_store
from ticketflow.stores import TicketStore, _registry

GROUP = "ticketflow.stores"
BUILT_IN = "memory, postgres, postgresql, sqlite"
FAKE_MODULE = "fake_ticketflow_backend"


@pytest.fixture
def opened() -> Iterator[Callable[[str], TicketStore]]:
    """Open stores with `open_store` and close them all after the test."""
    stores: list[TicketStore] = []

    def open_(url: str) -> TicketStore:
        store = open_store(url)
        stores.append(store)
        return store

    yield open_
    for store in stores:
        store.close()


class Backend:
    """A plugin's backend: ``from_url`` is the factory its entry point names."""

    opened: ClassVar[list[str]] = []

    @classmethod
    def from_url(cls, url: str) -> MemoryStore:
        """Record the URL and return a store."""
        cls.opened.append(url)
        return MemoryStore()


@pytest.fixture
def plugins(monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """Install fake ``ticketflow.stores`` entry points: ``plugins(name=value, ...)``.

    The values point into a module put in ``sys.modules`` for the test, holding
    ``Backend`` (its ``from_url`` returns a MemoryStore and records the URL),
    ``not_a_store`` (returns an object) and ``broken`` (raises
    `StoreUnavailable`). An entry point of another group is listed too, to show
    that the group is what selects.
    """
    monkeypatch.setattr(Backend, "opened", [])
    module = ModuleType(FAKE_MODULE)
    module.Backend = Backend  # type: ignore[attr-defined]
    module.not_a_store = lambda url: object()  # type: ignore[attr-defined]

    def broken(url: str) -> TicketStore:
        raise StoreUnavailable(f"{url}: the fake server is down")

    module.broken = broken  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, FAKE_MODULE, module)

    def install(**names: str) -> None:
        eps = [EntryPoint(name, value, GROUP) for name, value in names.items()]
        eps.append(EntryPoint("other", f"{FAKE_MODULE}:Backend.from_url", "some.other.group"))

        def entry_points(*, group: str) -> list[EntryPoint]:
            return [ep for ep in eps if ep.group == group]

        monkeypatch.setattr(_registry, "entry_points", entry_points)

    return install


# --- built-in schemes ---------------------------------------------------------------


@pytest.mark.parametrize("url", ["memory://", "memory:", "MEMORY://"])
def test_memory_url_opens_an_empty_memory_store(url: str, opened: Callable[[str], Any]) -> None:
    """``memory://`` (or ``memory:``) opens a new, empty MemoryStore each time."""
    first, second = opened(url), opened(url)
    assert isinstance(first, MemoryStore)
    assert 0 == first.count()
    assert first is not second


def test_memory_url_with_a_path_is_refused() -> None:
    """A memory store has no location: a path after ``memory://`` is an error, not ignored."""
    with pytest.raises(StoreError, match=r"'memory://somewhere'.*takes no path.*'memory://'"):
        open_store("memory://somewhere")


def test_sqlite_three_slashes_is_a_path_relative_to_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, opened: Callable[[str], Any]
) -> None:
    """``sqlite:///desk.db`` opens ``desk.db`` in the current directory."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    store = opened("sqlite:///data/desk.db")
    assert isinstance(store, SQLiteStore)
    assert "data/desk.db" == store.path
    assert (tmp_path / "data" / "desk.db").is_file()


def test_sqlite_four_slashes_is_an_absolute_path(
    tmp_path: Path, opened: Callable[[str], Any]
) -> None:
    """``sqlite:////abs/desk.db`` opens the absolute path ``/abs/desk.db``."""
    target = tmp_path / "desk.db"
    assert target.is_absolute()
    store = opened(f"sqlite:///{target}")  # "sqlite:///" + "/tmp/..." = four slashes
    assert str(target) == store.path
    assert target.is_file()


@pytest.mark.parametrize("url", ["sqlite://:memory:", "sqlite:///:memory:"])
def test_sqlite_memory_url_opens_a_private_in_memory_database(
    url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, opened: Callable[[str], Any]
) -> None:
    """``sqlite://:memory:`` opens an in-memory SQLite database and creates no file."""
    monkeypatch.chdir(tmp_path)
    store = opened(url)
    assert isinstance(store, SQLiteStore)
    assert ":memory:" == store.path
    assert [] == list(tmp_path.iterdir())


@pytest.fixture
def connect_calls(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Record the keyword arguments `SQLiteStore` passes to `sqlite3.connect`."""
    calls: list[dict[str, Any]] = []
    real = sqlite3.connect

    def connect(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        calls.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr("ticketflow.stores._sqlite.sqlite3.connect", connect)
    return calls


@pytest.mark.parametrize(("value", "expected"), [("NORMAL", 1), ("off", 0), ("EXTRA", 3)])
def test_sqlite_synchronous_parameter_sets_the_pragma(
    value: str, expected: int, tmp_path: Path, opened: Callable[[str], Any]
) -> None:
    """``?synchronous=`` reaches SQLite's ``synchronous`` setting (any case)."""
    store = opened(f"sqlite:///{tmp_path / 'desk.db'}?synchronous={value}")
    assert expected == store._conn.execute("PRAGMA synchronous").fetchone()[0]


def test_sqlite_default_synchronous_is_full(tmp_path: Path, opened: Callable[[str], Any]) -> None:
    """Without the parameter a file store is durable on power loss (``synchronous=FULL``)."""
    store = opened(f"sqlite:///{tmp_path / 'desk.db'}")
    assert 2 == store._conn.execute("PRAGMA synchronous").fetchone()[0]


def test_sqlite_timeout_parameter_is_passed_to_sqlite(
    tmp_path: Path, connect_calls: list[dict[str, Any]], opened: Callable[[str], Any]
) -> None:
    """``?timeout=2.5`` becomes the connection's lock timeout, in seconds."""
    opened(f"sqlite:///{tmp_path / 'desk.db'}?timeout=2.5&synchronous=NORMAL")
    assert [2.5] == [call["timeout"] for call in connect_calls]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("timeout=soon", r"timeout must be a number of seconds, not 'soon'"),
        ("synchronous=SOMETIMES", r"synchronous must be one of EXTRA, FULL, NORMAL, OFF"),
        ("journal=wal", r"unknown parameter 'journal' \(known: synchronous, timeout\)"),
    ],
)
def test_sqlite_bad_parameters_are_refused_by_name(
    query: str, message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A wrong or unknown query parameter is an error naming it, and creates no file."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(StoreError, match=message):
        open_store(f"sqlite:///desk.db?{query}")
    assert not (tmp_path / "desk.db").exists()


# --- malformed URLs -----------------------------------------------------------------


@pytest.mark.parametrize("url", ["helpdesk.db", "/var/lib/desk.db", "", ":memory:", "://x"])
def test_url_without_a_scheme_is_refused_with_examples(url: str) -> None:
    """A path or a bare word is not guessed at: the error shows URLs that would work."""
    with pytest.raises(StoreError, match=r"has no scheme; write e\.g\. 'sqlite:///helpdesk\.db'"):
        open_store(url)


@pytest.mark.parametrize(
    ("url", "type_name"),
    [(Path("desk.db"), "PosixPath"), (None, "NoneType"), (b"memory://", "bytes")],
)
def test_url_that_is_not_a_string_is_refused(url: object, type_name: str) -> None:
    """Only a string is a URL; the error names the type that was given."""
    if type_name == "PosixPath" and sys.platform == "win32":  # pragma: no cover
        type_name = "WindowsPath"
    with pytest.raises(StoreError, match=f"must be a string, not {type_name}"):
        open_store(url)  # type: ignore[arg-type]


def test_sqlite_parameter_without_a_value_is_a_store_error() -> None:
    """``?timeout`` (no ``=``) is a malformed query: a StoreError, not a ValueError."""
    with pytest.raises(StoreError, match="timeout"):
        open_store("sqlite:///desk.db?timeout")


@pytest.mark.parametrize("url", ["sqlite://localhost/desk.db", "sqlite://", "sqlite:///"])
def test_sqlite_url_with_a_host_or_without_a_path_is_refused(url: str) -> None:
    """SQLite URLs have no host: the error shows the three accepted shapes."""
    with pytest.raises(StoreError, match=r"sqlite:///relative/path\.db.*no host"):
        open_store(url)


def test_sqlite_url_without_slashes_is_refused() -> None:
    """``sqlite:desk.db`` is not read as a path: the error shows the URL shape."""
    with pytest.raises(StoreError, match=r"'sqlite:desk\.db' is not a SQLite URL \(sqlite:///"):
        open_store("sqlite:desk.db")


def test_unknown_scheme_lists_the_installed_schemes() -> None:
    """An unknown scheme is an error listing every scheme that would be served."""
    installed = sorted({"memory", "postgres", "postgresql", "sqlite"} | set(_installed_schemes()))
    with pytest.raises(StoreError) as info:
        open_store("redis://localhost/0")
    assert (
        f"store URL 'redis://localhost/0': no backend for scheme 'redis'; "
        f"installed schemes: {', '.join(installed)}"
    ) == str(info.value)


def _installed_schemes() -> list[str]:
    return [ep.name for ep in _registry.entry_points(group=GROUP)]


# --- entry points -------------------------------------------------------------------


def test_entry_point_named_after_the_scheme_serves_the_url(
    plugins: Callable[..., None], opened: Callable[[str], Any]
) -> None:
    """The entry point named like the scheme is loaded (``package:Class.method`` works)
    and called with the whole URL; what it returns is the store."""
    plugins(fake=f"{FAKE_MODULE}:Backend.from_url", another=f"{FAKE_MODULE}:not_a_store")
    store = opened("fake://db.example.org/desk?pool=4")
    assert isinstance(store, MemoryStore)
    assert ["fake://db.example.org/desk?pool=4"] == Backend.opened


def test_scheme_is_matched_case_insensitively(
    plugins: Callable[..., None], opened: Callable[[str], Any]
) -> None:
    """``FAKE://`` finds the entry point ``fake`` (schemes are case-insensitive)."""
    plugins(fake=f"{FAKE_MODULE}:Backend.from_url")
    assert isinstance(opened("FAKE://x"), MemoryStore)
    assert ["FAKE://x"] == Backend.opened


def test_unknown_scheme_lists_entry_point_schemes_too(plugins: Callable[..., None]) -> None:
    """The error lists built-in schemes and those of installed entry points, sorted."""
    plugins(zeta=f"{FAKE_MODULE}:Backend.from_url", alpha=f"{FAKE_MODULE}:broken")
    with pytest.raises(StoreError, match=f"installed schemes: alpha, {BUILT_IN}, zeta$"):
        open_store("nosuch://x")


def test_entry_point_in_another_group_is_not_used(plugins: Callable[..., None]) -> None:
    """Only the ``ticketflow.stores`` group is searched."""
    plugins()
    with pytest.raises(
        StoreError, match=f"no backend for scheme 'other'; installed schemes: {BUILT_IN}$"
    ):
        open_store("other://x")


def test_entry_point_cannot_take_over_a_built_in_scheme(
    plugins: Callable[..., None], opened: Callable[[str], Any]
) -> None:
    """An entry point named ``memory`` is ignored: built-in schemes always win."""
    plugins(memory=f"{FAKE_MODULE}:Backend.from_url")
    assert isinstance(opened("memory://"), MemoryStore)
    assert [] == Backend.opened


@pytest.mark.parametrize(
    ("value", "cause"),
    [
        ("no_such_module_for_ticketflow:factory", ModuleNotFoundError),
        (f"{FAKE_MODULE}:no_such_factory", AttributeError),
    ],
)
def test_entry_point_that_fails_to_load_is_a_store_error(
    value: str, cause: type[Exception], plugins: Callable[..., None]
) -> None:
    """A backend that cannot be imported is a StoreError naming it, the cause chained."""
    plugins(broken=value)
    with pytest.raises(StoreError) as info:
        open_store("broken://x")
    assert str(info.value).startswith(
        f"store URL 'broken://x': the backend {value!r} for scheme 'broken' failed to load: "
    )
    assert isinstance(info.value.__cause__, cause)


def test_entry_point_returning_a_non_store_is_a_store_error(plugins: Callable[..., None]) -> None:
    """A factory whose result lacks the TicketStore methods is refused, naming the type."""
    plugins(odd=f"{FAKE_MODULE}:not_a_store")
    with pytest.raises(StoreError) as info:
        open_store("odd://x")
    assert (
        "store URL 'odd://x': the backend for 'odd' returned object, which is not a TicketStore"
    ) == str(info.value)


def test_backend_errors_reach_the_caller_unchanged(plugins: Callable[..., None]) -> None:
    """A backend that cannot open what the URL names raises its own StoreUnavailable."""
    plugins(down=f"{FAKE_MODULE}:broken")
    with pytest.raises(StoreUnavailable, match=r"^down://x: the fake server is down$"):
        open_store("down://x")


# --- a real installed plugin ----------------------------------------------------------

needs_jsonfile = pytest.mark.skipif(
    importlib.util.find_spec("ticketflow_jsonfile") is None,
    reason="the example backend is not installed: pip install -e examples/jsonfile_store",
)


@needs_jsonfile
def test_installed_jsonfile_package_serves_its_scheme(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, opened: Callable[[str], Any]
) -> None:
    """The installed example package's entry point is found through real metadata."""
    from ticketflow_jsonfile import JsonFileStore  # noqa: PLC0415 - only when installed

    monkeypatch.chdir(tmp_path)
    assert "jsonfile" in _installed_schemes()
    relative = opened("jsonfile:///desk")
    absolute = opened(f"jsonfile:///{tmp_path / 'other'}")
    assert isinstance(relative, JsonFileStore)
    assert isinstance(absolute, JsonFileStore)
    assert (tmp_path / "desk" / "tickets").is_dir()
    assert (tmp_path / "other" / "tickets").is_dir()
    with pytest.raises(StoreError, match=r"installed schemes: .*jsonfile"):
        open_store("nosuch://x")
