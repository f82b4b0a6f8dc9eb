"""A small TOML writer for configuration data (the standard library only reads TOML).

It writes what ticketflow's configuration uses: tables, arrays of tables, and
strings, booleans, integers, floats and arrays of those. `tomllib` reads the
output back to the same data; the tests check that round trip.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

__all__ = ["dumps"]

_BARE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")


def _key(key: str) -> str:
    if key and set(key) <= _BARE:
        return key
    return _string(key)


def _string(value: str) -> str:
    # A JSON string is a valid TOML basic string once the escapes TOML lacks
    # (\/ is not produced by json.dumps) are ruled out; non-ASCII stays readable.
    # TOML also forbids a raw DEL (U+007F), which JSON leaves unescaped.
    return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")


def _value(value: Any, where: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            raise ValueError(f"{where}: TOML cannot hold {value!r} here")
        return repr(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(v, where) for v in value) + "]"
    if isinstance(value, Mapping):
        items = ", ".join(f"{_key(k)} = {_value(v, f'{where}.{k}')}" for k, v in value.items())
        return "{ " + items + " }" if items else "{}"
    raise ValueError(f"{where}: cannot write {type(value).__name__} to TOML")


def _is_table_array(value: Any) -> bool:
    return (
        isinstance(value, list | tuple)
        and bool(value)
        and all(isinstance(v, Mapping) for v in value)
    )


def _table(data: Mapping[str, Any], prefix: str, out: list[str]) -> None:
    for key, value in data.items():
        if value is None:
            continue
        if not isinstance(value, Mapping) and not _is_table_array(value):
            out.append(f"{_key(key)} = {_value(value, prefix + key)}")
    for key, value in data.items():
        name = f"{prefix}{_key(key)}"
        if isinstance(value, Mapping):
            out.append("")
            out.append(f"[{name}]")
            _table(value, name + ".", out)
        elif _is_table_array(value):
            for item in value:
                out.append("")
                out.append(f"[[{name}]]")
                _table(item, name + ".", out)


def dumps(data: Mapping[str, Any]) -> str:
    """Return ``data`` as TOML text. ``None`` values are left out (TOML has no null).

    Raises:
        ValueError: a value TOML cannot hold (NaN, an unknown type).
    """
    out: list[str] = []
    _table(data, "", out)
    return "\n".join(out).lstrip("\n") + "\n"
