"""`params.yaml`, read group by group into typed, checked config objects.

A stage asks `ParamsFile` for exactly the groups and keys it uses, each built into the config
class that lives beside the code using it (`from_mapping` checks every field), and declares
the same keys in dvc.yaml. The file remembers what was read; `tests/test_layout.py` checks
that record against dvc.yaml, so a stage reruns when, and only when, something it reads
changes. Defaults live only in params.yaml: a missing key is an error, as is an unknown one.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, TypeVar

import yaml

from ecg.core.config import from_mapping
from ecg.core.errors import ECGError

PARAMS_FILE = "params.yaml"
T = TypeVar("T")


class ParamsFile:
    """`params.yaml` (with dotted-key `overrides`); `read` holds the keys asked for."""

    def __init__(self, path: str | Path = PARAMS_FILE, overrides: dict[str, Any] | None = None):
        self.path = Path(path)
        if not self.path.is_file():
            raise ECGError(f"{self.path}: params file not found (run from the project root)")
        try:
            raw = yaml.safe_load(self.path.read_text())
        except yaml.YAMLError as err:
            msg = str(err).splitlines()[0]
            raise ECGError(f"{self.path}: not valid YAML ({msg})") from None
        if not isinstance(raw, dict):
            raise ECGError(f"{self.path}: must be a mapping of groups and keys")
        for dotted, value in (overrides or {}).items():
            if value is not None:
                self._set(raw, dotted, value)
        self.raw = raw
        self.read: set[str] = set()

    def _set(self, raw: dict[str, Any], dotted: str, value: Any) -> None:
        *parents, leaf = dotted.split(".")
        node = raw
        for part in parents:
            node = node.get(part) if isinstance(node, dict) else None
        if not isinstance(node, dict) or leaf not in node:
            raise ECGError(f"{self.path}: no key '{dotted}' to override")
        node[leaf] = value

    def value(self, dotted: str) -> Any:
        """The raw value at `dotted` (a group or a key), recorded as read."""
        node: Any = self.raw
        for part in dotted.split("."):
            if not isinstance(node, dict) or part not in node:
                raise ECGError(f"{self.path}: missing key '{dotted}'")
            node = node[part]
        self.read.add(dotted)
        return node

    def group(self, key: str, cls: type[T]) -> T:
        """The group `key` (e.g. "preprocess", "model.gbm") as the config `cls`."""
        return from_mapping(cls, self.value(key), source=str(self.path), prefix=f"{key}.")

    def top_level(self, cls: type[T]) -> T:
        """`cls` built from top-level keys named like its fields (the design's keys)."""
        names = [f.name for f in dataclasses.fields(cls)]
        values = {name: self.value(name) for name in names}
        return from_mapping(cls, values, source=str(self.path))

    def seed(self) -> int:
        seed = self.value("seed")
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise ECGError(f"{self.path}: 'seed' must be a non-negative integer, got {seed!r}")
        return seed

    def number(self, key: str) -> float:
        value = self.value(key)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ECGError(f"{self.path}: '{key}' must be a number, got {value!r}")
        return float(value)
