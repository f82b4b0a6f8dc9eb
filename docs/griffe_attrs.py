"""Griffe extension: give attrs classes the ``__init__`` that attrs generates at runtime.

Griffe reads the source without running it, so it knows dataclasses but not attrs: an
``@attrs.frozen`` class would show no parameters, and its ``Args:`` section would be
reported as naming parameters that do not exist. This extension builds the signature
from the annotated fields, the way attrs does: ``kw_only`` on the decorator or the
field, defaults from ``= value`` or ``attrs.field(default=..., factory=...)``, fields
with ``init=False`` left out, and a leading underscore stripped from the name.
"""

from __future__ import annotations

from typing import Any

import griffe

_DECORATORS = frozenset(
    {"attrs.define", "attrs.frozen", "attrs.mutable", "attr.s", "attr.attrs", "attr.define"}
)
_FIELDS = frozenset({"attrs.field", "attr.ib", "attr.attrib", "attr.field"})


def _keywords(expr: object) -> dict[str, Any]:
    if not isinstance(expr, griffe.ExprCall):
        return {}
    return {arg.name: arg.value for arg in expr.arguments if isinstance(arg, griffe.ExprKeyword)}


def _attrs_decorator(cls: griffe.Class) -> dict[str, Any] | None:
    for decorator in cls.decorators:
        value = decorator.value
        if isinstance(value, griffe.Expr) and value.canonical_path in _DECORATORS:
            return _keywords(value)
    return None


def _parameter(member: griffe.Attribute, kw_only: bool) -> griffe.Parameter | None:
    value = member.value
    field = _keywords(value) if getattr(value, "canonical_path", None) in _FIELDS else None
    if field is not None and field.get("init") == "False":
        return None
    if field is None:
        default = value
    elif "factory" in field:
        default = griffe.ExprCall(function=field["factory"], arguments=[])
    else:
        default = field.get("default")
    kind = (
        griffe.ParameterKind.keyword_only
        if kw_only or (field or {}).get("kw_only") == "True"
        else griffe.ParameterKind.positional_or_keyword
    )
    return griffe.Parameter(
        member.name.lstrip("_"), annotation=member.annotation, kind=kind, default=default
    )


class AttrsInit(griffe.Extension):
    """Add the generated ``__init__`` to every attrs class that does not define one."""

    def on_class(self, *, cls: griffe.Class, **_kwargs: object) -> None:
        """Build the ``__init__`` of ``cls`` if it is an attrs class."""
        options = _attrs_decorator(cls)
        if options is None or "__init__" in cls.members:
            return
        kw_only = options.get("kw_only") == "True"
        parameters = [
            parameter
            for member in cls.members.values()
            if isinstance(member, griffe.Attribute)
            and member.annotation is not None
            and "instance-attribute" in member.labels
            and (parameter := _parameter(member, kw_only)) is not None
        ]
        parameters.sort(key=lambda p: p.kind is griffe.ParameterKind.keyword_only)
        init = griffe.Function(
            "__init__",
            lineno=cls.lineno,
            endlineno=cls.lineno,
            parent=cls,
            parameters=griffe.Parameters(
                griffe.Parameter("self", kind=griffe.ParameterKind.positional_or_keyword),
                *parameters,
            ),
            returns="None",
        )
        cls.set_member("__init__", init)
