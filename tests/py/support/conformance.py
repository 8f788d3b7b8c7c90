"""Checks that a double offers only API the real pybind bindings have, with the same parameter names.

Real signatures are read off the pybind docstrings (``name(self: T, arg: U = ...) -> R``,
one line per overload); a double's callable conforms when its parameter names match
the leading parameters of some overload and every real parameter it leaves out has a
default. Names starting with ``_`` are the double's own plumbing and are not checked,
and neither are constructors of classes the real bindings do not let Python construct.
"""

from __future__ import annotations

import enum
import inspect
import re
from collections.abc import Iterator
from types import ModuleType
from typing import Any

__all__ = ["check_class", "check_module", "real_overloads"]

_PLUMBING_BASES = (object, bytes, enum.Enum, enum.ReprEnum)


def check_module(double: ModuleType, real: ModuleType) -> list[str]:
    """Every public name of ``double`` that ``real`` lacks or spells differently, as readable problems."""
    problems: list[str] = []
    for name, value in sorted(vars(double).items()):
        if name.startswith("_"):
            continue
        if not hasattr(real, name):
            problems.append(f"{name}: not in {real.__name__}")
        elif isinstance(value, type):
            problems += check_class(value, getattr(real, name), name)
        elif callable(value):
            problems += _check_callable(value, getattr(real, name), name)
    return problems


def check_class(double_cls: type, real_cls: Any, where: str) -> list[str]:
    """Problems of one double class (its methods, properties, constants, nested classes, enum members)."""
    if issubclass(double_cls, enum.Enum):
        return _check_enum(double_cls, real_cls, where)
    problems: list[str] = []
    for name, value in _members(double_cls):
        path = f"{where}.{name}"
        if name == "__init__":
            real_init = inspect.getattr_static(real_cls, "__init__", None)
            if real_init is not None and _is_pybind_function(real_init):
                problems += _check_callable(value, real_init, path)
            continue
        try:
            real_value = inspect.getattr_static(real_cls, name)
        except AttributeError:
            problems.append(f"{path}: not in the real {getattr(real_cls, '__name__', real_cls)}")
            continue
        if isinstance(value, type):
            problems += check_class(value, getattr(real_cls, name), path)
        elif isinstance(value, property):
            problems += _check_property(value, real_value, path)
        elif isinstance(value, (staticmethod, classmethod)):
            problems += _check_callable(value.__func__, real_value, path)
        elif inspect.isfunction(value):
            problems += _check_callable(value, real_value, path)
        elif isinstance(value, enum.Enum) and getattr(real_value, "name", None) != value.name:
            problems.append(f"{path}: real value is {real_value!r}, double has {value!r}")
    return problems


def _members(cls: type) -> Iterator[tuple[str, Any]]:
    seen: set[str] = set()
    for klass in cls.__mro__:
        if klass in _PLUMBING_BASES:
            continue
        for name, value in vars(klass).items():
            if name in seen or (name.startswith("_") and name != "__init__"):
                continue
            seen.add(name)
            yield name, value


def _check_enum(double_cls: type[enum.Enum], real_cls: Any, where: str) -> list[str]:
    problems = []
    for name, member in double_cls.__members__.items():
        real_member = getattr(real_cls, name, None)
        if real_member is None:
            problems.append(f"{where}.{name}: not a member of the real enum")
        elif int(real_member) != member.value:
            problems.append(f"{where}.{name}: real value {int(real_member)}, double has {member.value}")
    return problems


def _check_property(value: property, real_value: Any, path: str) -> list[str]:
    if not isinstance(real_value, property):
        return [f"{path}: a property in the double, {type(real_value).__name__} in the real bindings"]
    if value.fset is not None and real_value.fset is None:
        return [f"{path}: settable in the double, read-only in the real bindings"]
    return []


def _is_pybind_function(value: Any) -> bool:
    return type(value).__name__ in ("instancemethod", "builtin_function_or_method") and bool(
        getattr(value, "__doc__", None)
    )


def real_overloads(real_function: Any, name: str) -> list[list[tuple[str, bool]]]:
    """``[(name, has_default), ...]`` per overload in a pybind docstring, ``self`` dropped."""
    doc = getattr(real_function, "__doc__", None) or ""
    pattern = re.compile(rf"^\s*(?:\d+\.\s+)?{re.escape(name)}\((.*)\)\s*->", re.MULTILINE)
    overloads = []
    for match in pattern.finditer(doc):
        params = [_parse_param(text) for text in _split_top_level(match.group(1)) if text.strip()]
        if any(p[0].startswith("*") for p in params):
            continue
        overloads.append([p for p in params if p[0] != "self"])
    return overloads


def _split_top_level(text: str) -> list[str]:
    parts, depth, current = [], 0, []
    for char in text:
        if char in "([<":
            depth += 1
        elif char in ")]>":
            depth -= 1
        if char == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


def _parse_param(text: str) -> tuple[str, bool]:
    head = text.split("=", 1)
    return head[0].split(":", 1)[0].strip(), len(head) == 2


def _check_callable(double_fn: Any, real_fn: Any, path: str) -> list[str]:
    if not callable(real_fn) and not isinstance(real_fn, (staticmethod, classmethod)):
        return [f"{path}: callable in the double, {type(real_fn).__name__} in the real bindings"]
    name = path.rsplit(".", 1)[-1]
    overloads = real_overloads(real_fn, name)
    if not overloads:
        return [f"{path}: no signature found in the real docstring"]
    params = list(inspect.signature(double_fn).parameters)
    ours = params[1:] if params and params[0] == "self" else params
    for real_params in overloads:
        names = [p[0] for p in real_params]
        if names[: len(ours)] == ours and all(has_default for _, has_default in real_params[len(ours):]):
            return []
    shown = " | ".join("(" + ", ".join(p[0] for p in o) + ")" for o in overloads)
    return [f"{path}: double takes ({', '.join(ours)}), real overloads take {shown}"]
