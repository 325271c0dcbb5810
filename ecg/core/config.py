"""Typed config objects from plain mappings (params.yaml sections, checkpoint configs).

A config is a frozen dataclass whose fields carry type hints; its `__post_init__` states the
allowed range of each field with `check`, next to the fields themselves. `from_mapping`
builds one from a mapping, strictly: every field present, no unknown key, each value of its
declared type (`int`, `float`, `str`, `bool`, `list[...]`, `tuple[..., ...]`, `dict[str, Any]`
or another config). Every failure is an `ECGError` that names the source and the dotted key.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, TypeVar, get_args, get_origin, get_type_hints

from ecg.core.errors import ECGError

T = TypeVar("T")


class ConfigError(ECGError):
    """A bad config value. `key` is relative to the config that raised it; the message is
    `before + 'key' + after` ("'fs' must be > 0, got -1", "unknown key 'fs'")."""

    def __init__(self, key: str, *, before: str = "", after: str = "") -> None:
        self.key, self.before, self.after = key, before, after
        super().__init__(f"{before}'{key}'{after}")

    def within(self, prefix: str) -> ConfigError:
        return ConfigError(prefix + self.key, before=self.before, after=self.after)


def check(ok: bool, key: str, what: str, value: Any) -> None:
    """Raise "'key' must be <what>, got <value>" unless `ok`."""
    if not ok:
        raise ConfigError(key, after=f" must be {what}, got {value!r}")


def from_mapping(cls: type[T], raw: Any, *, source: str, prefix: str = "") -> T:
    """Build the config `cls` from `raw`; errors read "<source>: '<prefix><key>' ..."."""
    try:
        return _build(cls, raw, prefix)
    except ConfigError as err:
        raise ECGError(f"{source}: {err}") from None


def as_dict(config: Any) -> dict[str, Any]:
    """Plain-data (JSON-safe) copy of a config: tuples become lists."""
    return _plain(dataclasses.asdict(config))


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _build(cls: type, raw: Any, prefix: str) -> Any:
    if not isinstance(raw, Mapping):
        check(False, prefix.rstrip(".") or "<root>", "a mapping", raw)
    hints = get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls) if f.init]
    unknown = sorted(set(raw) - set(names))
    if unknown:
        raise ConfigError(prefix + str(unknown[0]), before="unknown key ")
    values = {}
    for name in names:
        if name not in raw:
            raise ConfigError(prefix + name, before="missing key ")
        values[name] = _coerce(hints[name], raw[name], prefix + name)
    try:
        return cls(**values)
    except ConfigError as err:
        raise err.within(prefix) from None


def _coerce(kind: Any, value: Any, key: str) -> Any:
    if dataclasses.is_dataclass(kind):
        return _build(kind, value, key + ".")
    origin = get_origin(kind)
    if origin in (list, tuple):
        if not isinstance(value, list | tuple):
            check(False, key, "a list", value)
        args = get_args(kind)
        item = args[0]
        items = [_coerce(item, v, key) for v in value]
        return items if origin is list else tuple(items)
    if origin is dict:  # a free-form mapping, checked by the config that holds it
        if not isinstance(value, Mapping):
            check(False, key, "a mapping", value)
        return dict(value)
    if kind is bool:
        if not isinstance(value, bool):
            check(False, key, "true or false", value)
        return value
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            check(False, key, "an integer", value)
        return value
    if kind is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            check(False, key, "a number", value)
        return float(value)
    if kind is str:
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            check(False, key, "a string", value)
        return str(value)
    raise TypeError(f"unsupported config field type {kind!r} for '{key}'")
