"""The network configs params.yaml describes: each `model.<arch>` group completed with what
the data fixes (input size, beats per window, features per beat, beat and rhythm classes)
and the stage's dropout."""

from __future__ import annotations

import dataclasses
from typing import Any

from ecg.core.config import from_mapping
from ecg.core.errors import ECGError
from ecg.core.params_file import ParamsFile
from ecg.data.beat_labels import PREDICTED_CLASSES
from ecg.data.rhythms import RHYTHM_CLASSES
from ecg.features.layout import MAX_BEATS, STEP_FEATURES
from ecg.models.configs import BOOSTED, CONFIGS


def network_configs(params: ParamsFile, *, dropout: float) -> dict[str, Any]:
    """The config of every network in `crossval.models` (every `model.<arch>` group is
    checked, so a typo fails before hours of training)."""
    models = params.value("crossval.models")
    configs = {arch: model_config(params, arch, dropout=dropout) for arch in CONFIGS}
    if not isinstance(models, list) or not models:
        raise ECGError(f"{params.path}: 'crossval.models' must be a non-empty list")
    unknown = [m for m in models if m not in configs and m not in BOOSTED]
    if unknown:
        known = ", ".join([*CONFIGS, *BOOSTED])
        raise ECGError(f"{params.path}: 'crossval.models' has {unknown[0]!r}; expected {known}")
    return {m: configs[m] for m in models if m in configs}


def model_config(params: ParamsFile, arch: str, *, dropout: float) -> Any:
    """The full config of network `arch`: its `model.<arch>` group plus what the data
    fixes (input size, beats per window, features per beat) and the stage's `dropout`."""
    cls = CONFIGS[arch]
    fields = {f.name for f in dataclasses.fields(cls)}
    derived: dict[str, Any] = {"num_classes": 2}
    if "dropout" in fields:
        derived["dropout"] = dropout
    if "input_size" in fields:
        derived["input_size"] = params.value("preprocess.window")
    if "step_features" in fields:
        derived |= {"num_steps": MAX_BEATS, "step_features": STEP_FEATURES}
    if "beat_classes" in fields:
        derived |= {"beat_classes": len(PREDICTED_CLASSES), "rhythm_classes": len(RHYTHM_CLASSES)}
    section = params.value(f"model.{arch}")
    if not isinstance(section, dict):
        raise ECGError(f"{params.path}: 'model.{arch}' must be a mapping")
    for key in section:
        if key in derived or key not in fields:
            raise ECGError(f"{params.path}: unknown key 'model.{arch}.{key}'")
    return from_mapping(cls, derived | section, source=str(params.path), prefix=f"model.{arch}.")
