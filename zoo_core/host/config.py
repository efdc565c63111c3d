"""Typed hyperparameters: frozen dataclasses, ``--set section.key=value`` parsing, JSON round trip.

An agent's configuration is a mapping ``section -> frozen dataclass``: the algorithm's own section
(``dqn``) and one per plugin that registered hyperparameters through ``zoo_config``. Values are
parsed and validated against the field's type, so ``--set lr=fast`` fails naming ``lr``, and a
config read from JSON never reaches a constructor it did not name.

A field declares its valid range with it: ``param(1e-3, "Adam learning rate.", gt=0)``. Every section
is checked against its fields' ranges when the config is resolved (:func:`make_section`, for JSON and
``--set`` alike), so ``--set lr=-1`` fails as ``dqn.lr must be > 0; got -1.0``. A constraint between
fields (``eps_end <= eps_start``) goes in the dataclass's ``__post_init__``, raising
:class:`~zoo_core.errors.ZooError` with a one-line message naming ``section.key``; it runs after the
ranges are checked.
"""

from __future__ import annotations

import dataclasses
import json
import math
import operator
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from zoo_core.errors import ZooError

# Bound keyword -> (the comparison that must hold, how it reads in a message).
_BOUNDS: dict[str, tuple[Callable[[float, float], bool], str]] = {
    "ge": (operator.ge, ">="),
    "gt": (operator.gt, ">"),
    "le": (operator.le, "<="),
    "lt": (operator.lt, "<"),
}


def param(
    default: Any,
    help: str,  # noqa: A002 - the CLI's word for it
    *,
    ge: float | None = None,
    gt: float | None = None,
    le: float | None = None,
    lt: float | None = None,
) -> Any:
    """A dataclass field with a default, a one-line help text (shown by ``zoo recipes -v``) and
    optionally its valid range.

    :param ge: the value must be ``>= ge`` (``gt``: ``>``, ``le``: ``<=``, ``lt``: ``<``). For a
        tuple field each item must be in range; ``None`` (of an optional field) always is.
    """
    if isinstance(default, (list, dict, set)):
        raise TypeError("use a tuple for sequence defaults: configs are frozen")
    given = {"ge": ge, "gt": gt, "le": le, "lt": lt}
    bounds = {name: value for name, value in given.items() if value is not None}
    if {"ge", "gt"} <= bounds.keys() or {"le", "lt"} <= bounds.keys():
        raise TypeError("give one lower bound (ge or gt) and one upper bound (le or lt) at most")
    return dataclasses.field(default=default, metadata={"help": help, "bounds": bounds})


def field_help(cls: type) -> dict[str, str]:
    """Map each field of a config dataclass to its help text."""
    return {f.name: f.metadata.get("help", "") for f in dataclasses.fields(cls)}


def field_range(field: dataclasses.Field) -> str:
    """A field's valid range as text (``> 0``, ``in [0, 1]``, ``>= 1 each`` for tuples), or ``""``."""
    bounds: dict[str, float] = field.metadata.get("bounds", {})
    low = next(((k, v) for k, v in bounds.items() if k in ("ge", "gt")), None)
    high = next(((k, v) for k, v in bounds.items() if k in ("le", "lt")), None)
    if low and high:
        text = f"in {'[' if low[0] == 'ge' else '('}{low[1]:g}, {high[1]:g}{']' if high[0] == 'le' else ')'}"
    elif low or high:
        kind, value = low or high
        text = f"{_BOUNDS[kind][1]} {value:g}"
    else:
        return ""
    # ``field.type`` is a string under postponed annotations; either way it reads ``tuple[...]``.
    return text + (" each" if "tuple[" in str(field.type) else "")


def check_ranges(cls: type, values: Mapping[str, Any], section: str) -> None:
    """Check each field's value (from ``values``, else its default) against the field's declared range.

    :raises ZooError: ``"{section}.{key} must be {range}; got {value}"`` for the first value out of range.
    """
    for f in dataclasses.fields(cls):
        bounds = f.metadata.get("bounds")
        if not bounds:
            continue
        value = values.get(f.name, f.default)
        items = value if isinstance(value, tuple) else (value,)
        for item in items:
            if item is None:
                continue
            if not all(_BOUNDS[kind][0](item, bound) for kind, bound in bounds.items()):
                got = list(value) if isinstance(value, tuple) else value
                raise ZooError(f"{section}.{f.name} must be {field_range(f)}; got {got}")


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", str(tp))


def coerce(tp: Any, value: Any, key: str) -> Any:
    """Check ``value`` (from JSON or already parsed) against type ``tp``; return it normalised.

    Supports ``bool``, ``int``, ``float``, ``str``, ``Literal[...]``, ``X | None`` and
    ``tuple[X, ...]``. Raises :class:`ZooError` naming ``key`` on a mismatch.
    """
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return coerce(arg, value, key)
            except ZooError as exc:
                errors.append(str(exc))
        raise ZooError(errors[0] if errors else f"{key}: bad value {value!r}")
    if origin is typing.Literal:
        choices = typing.get_args(tp)
        if value not in choices:
            raise ZooError(f"{key} must be one of {', '.join(map(str, choices))}; got {value!r}")
        return value
    if origin is tuple:
        (item, *rest) = typing.get_args(tp)
        if not isinstance(value, (list, tuple)):
            raise ZooError(f"{key} must be a list of {_type_name(item)}; got {value!r}")
        return tuple(coerce(item, v, key) for v in value)
    if tp is bool:
        if not isinstance(value, bool):
            raise ZooError(f"{key} must be true or false; got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                return int(value)
            raise ZooError(f"{key} must be an integer; got {value!r}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ZooError(f"{key} must be a number; got {value!r}")
        if not math.isfinite(value):
            raise ZooError(f"{key} must be finite; got {value!r}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise ZooError(f"{key} must be a string; got {value!r}")
        return value
    raise ZooError(f"{key}: unsupported config type {tp!r}")


def parse_text(tp: Any, text: str, key: str) -> Any:
    """Parse a command-line value for a field of type ``tp`` (``true``, ``1e-3``, ``64,64``).

    A tuple may be written ``64,64``, ``[64, 64]`` or ``(64, 64)`` (how ``zoo recipes -v`` shows it).
    """
    origin = typing.get_origin(tp)
    if origin is tuple:
        item = typing.get_args(tp)[0]
        inner = text.strip()
        if inner[:1] + inner[-1:] in ("[]", "()"):
            inner = inner[1:-1]
        parts = [p.strip() for p in inner.split(",") if p.strip()]
        # ``('a', 'b')`` shows strings quoted; the quotes are not part of the items.
        parts = [p[1:-1] if len(p) > 1 and p[0] == p[-1] and p[0] in "'\"" else p for p in parts]
        return tuple(parse_text(item, p, key) for p in parts)
    if origin in (typing.Union, types.UnionType) and text.lower() in ("none", "null"):
        return coerce(tp, None, key)
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        value = text
    if tp is str or (origin is typing.Literal and all(isinstance(c, str) for c in typing.get_args(tp))):
        value = text
    if tp is float and isinstance(value, str):
        try:
            value = float(text)  # accepts nan/inf so coerce can name them as not finite
        except ValueError:
            pass
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    return coerce(tp, value, key)


def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def make_section(cls: type, values: Mapping[str, Any], section: str) -> Any:
    """Build ``cls`` from a mapping, validating every key, value and declared range (JSON or parsed);
    cross-field checks in the class's ``__post_init__`` run last."""
    hints = _hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - names)
    if unknown:
        raise ZooError(
            f"unknown hyperparameter '{section}.{unknown[0]}'; valid keys in '{section}': " + ", ".join(sorted(names))
        )
    typed = {k: coerce(hints[k], v, f"{section}.{k}") for k, v in values.items()}
    check_ranges(cls, typed, section)
    return cls(**typed)


class AgentConfig(Mapping[str, Any]):
    """The resolved configuration of one agent: ``section -> frozen dataclass instance``."""

    def __init__(self, sections: Mapping[str, Any]):
        self._sections = dict(sections)

    def __getitem__(self, key: str) -> Any:
        return self._sections[key]

    def __iter__(self):
        return iter(self._sections)

    def __len__(self) -> int:
        return len(self._sections)

    def to_json(self) -> dict[str, dict[str, Any]]:
        """Plain JSON: ``{section: {field: value}}`` (tuples become lists)."""
        return {name: dataclasses.asdict(value) for name, value in self._sections.items()}


def resolve_config(
    classes: Mapping[str, type],
    layers: Iterable[Mapping[str, Mapping[str, Any]]],
    overrides: Iterable[str] = (),
    primary: str | None = None,
) -> AgentConfig:
    """Merge config layers (recipe defaults, env-family defaults, saved JSON) and ``--set`` texts.

    :param classes: section name -> config dataclass.
    :param layers: mappings ``section -> {field: value}`` applied in order (later wins).
    :param overrides: ``"key=value"`` or ``"section.key=value"``; a bare key belongs to
        ``primary`` (the algorithm's section).
    :param primary: the section bare keys refer to.
    """
    merged: dict[str, dict[str, Any]] = {name: {} for name in classes}
    for layer in layers:
        for section, values in layer.items():
            if section not in classes:
                raise ZooError(f"unknown config section '{section}'; valid sections: {', '.join(sorted(classes))}")
            merged[section].update(values)
    for text in overrides:
        if "=" not in text:
            raise ZooError(f"--set expects key=value; got '{text}'")
        key, raw = text.split("=", 1)
        key = key.strip()
        section, _, name = key.rpartition(".")
        if not section:
            section = _section_of(name, classes, primary)
        if section not in classes:
            raise ZooError(f"unknown hyperparameter '{key}'; valid sections: {', '.join(sorted(classes))}")
        hints = _hints(classes[section])
        if name not in hints:
            raise ZooError(
                f"unknown hyperparameter '{key}'; valid keys in '{section}': "
                + ", ".join(sorted(f.name for f in dataclasses.fields(classes[section])))
            )
        merged[section][name] = parse_text(hints[name], raw.strip(), f"{section}.{name}")
    return AgentConfig({name: make_section(cls, merged[name], name) for name, cls in classes.items()})


def _section_of(name: str, classes: Mapping[str, type], primary: str | None) -> str:
    """The section a bare ``--set`` key belongs to: the primary's, else the one section having it."""
    if primary is not None and name in _hints(classes[primary]):
        return primary
    owners = [s for s, cls in classes.items() if name in _hints(cls)]
    if len(owners) == 1:
        return owners[0]
    if len(owners) > 1:
        raise ZooError(
            f"hyperparameter '{name}' is ambiguous; write one of: " + ", ".join(f"{s}.{name}" for s in owners)
        )
    return primary or ""
