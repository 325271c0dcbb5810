"""`params.yaml` loaded once into typed, validated config objects.

Defaults live only in `params.yaml`; nothing here invents a value. A missing key or a value
out of range is an `ECGError` naming the key.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, get_type_hints

import yaml

from ecg.errors import ECGError

PARAMS_FILE = "params.yaml"


@dataclass(frozen=True)
class PreprocessConfig:
    lead: str
    fs: int
    window: int
    stride: int
    bandpass_hz: list[float]
    notch_hz: float
    exclude_records: list[str]
    sqi_threshold: float
    split: str
    split_fractions: list[float]
    min_subjects_per_split: int
    max_share_gap: float


@dataclass(frozen=True)
class ModelConfig:
    arch: str
    hidden: list[int]
    beta: float
    threshold: float
    num_steps: int
    encoding: str
    rate_gain: float
    surrogate_slope: float


@dataclass(frozen=True)
class SynthesizeConfig:
    n_train: int
    n_val: int
    arrhythmia_fraction: float


@dataclass(frozen=True)
class PretrainConfig:
    num_epochs: int
    learning_rate: float
    batch_size: int
    weight_decay: float
    dropout: float
    focal_alpha: float
    focal_gamma: float


@dataclass(frozen=True)
class StageConfig:
    num_epochs: int
    learning_rate: float


@dataclass(frozen=True)
class AugmentConfig:
    time_warp: float
    amplitude_scale: float
    noise_std: float
    baseline_wander: float


@dataclass(frozen=True)
class EvaluateConfig:
    bootstrap_samples: int
    confidence_level: float


@dataclass(frozen=True)
class BeatModelConfig:
    hidden: list[int]
    beta: float
    threshold: float
    surrogate_slope: float
    dropout: float


@dataclass(frozen=True)
class CrossvalConfig:
    folds: int
    models: list[str]
    pretrain: StageConfig
    stage1: StageConfig
    stage2: StageConfig


@dataclass(frozen=True)
class DownloadConfig:
    verify_checksums: bool


@dataclass(frozen=True)
class Params:
    seed: int
    batch_size: int
    weight_decay: float
    dropout: float
    focal_alpha: float
    focal_gamma: float
    early_stopping_patience: int
    sensitivity_target: float
    specificity_target: float
    device: str
    augment: bool
    stage1: StageConfig
    stage2: StageConfig
    augmentation: AugmentConfig
    download: DownloadConfig
    preprocess: PreprocessConfig
    synthesize: SynthesizeConfig
    model: ModelConfig
    pretrain: PretrainConfig
    evaluate: EvaluateConfig
    beat_model: BeatModelConfig
    crossval: CrossvalConfig


def _build(cls: type, raw: Any, prefix: str) -> Any:
    if not isinstance(raw, dict):
        raise ECGError(f"{PARAMS_FILE}: '{prefix.rstrip('.')}' must be a mapping")
    hints = get_type_hints(cls)
    values = {}
    for field in fields(cls):
        key = prefix + field.name
        if field.name not in raw:
            raise ECGError(f"{PARAMS_FILE}: missing key '{key}'")
        values[field.name] = _coerce(hints[field.name], raw[field.name], key)
    unknown = sorted(set(raw) - {f.name for f in fields(cls)})
    if unknown:
        raise ECGError(f"{PARAMS_FILE}: unknown key '{prefix}{unknown[0]}'")
    return cls(**values)


def _coerce(kind: Any, value: Any, key: str) -> Any:
    if dataclasses.is_dataclass(kind):
        return _build(kind, value, key + ".")
    origin = getattr(kind, "__origin__", None)
    if origin is list:
        (item,) = kind.__args__
        if not isinstance(value, list):
            raise ECGError(f"{PARAMS_FILE}: '{key}' must be a list, got {value!r}")
        return [_coerce(item, v, key) for v in value]
    if kind is bool:
        if not isinstance(value, bool):
            raise ECGError(f"{PARAMS_FILE}: '{key}' must be true or false, got {value!r}")
        return value
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ECGError(f"{PARAMS_FILE}: '{key}' must be an integer, got {value!r}")
        return value
    if kind is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ECGError(f"{PARAMS_FILE}: '{key}' must be a number, got {value!r}")
        return float(value)
    if kind is str:
        return str(value)
    raise TypeError(kind)


def _check(ok: bool, key: str, what: str, value: Any) -> None:
    if not ok:
        raise ECGError(f"{PARAMS_FILE}: '{key}' must be {what}, got {value!r}")


def validate(p: Params) -> Params:
    """Range checks; each failure names the key."""
    for key in ("focal_alpha", "sensitivity_target", "specificity_target", "dropout"):
        v = getattr(p, key)
        _check(0.0 <= v <= 1.0, key, "in [0, 1]", v)
    _check(p.focal_gamma >= 0, "focal_gamma", ">= 0", p.focal_gamma)
    _check(p.batch_size > 0, "batch_size", "a positive integer", p.batch_size)
    _check(p.weight_decay >= 0, "weight_decay", ">= 0", p.weight_decay)
    _check(
        p.early_stopping_patience > 0, "early_stopping_patience", "> 0", p.early_stopping_patience
    )
    _check(p.device in ("auto", "cpu", "cuda", "mps"), "device", "auto, cpu, cuda or mps", p.device)
    for name in ("stage1", "stage2"):
        s = getattr(p, name)
        _check(s.num_epochs > 0, f"{name}.num_epochs", "a positive integer", s.num_epochs)
        _check(s.learning_rate > 0, f"{name}.learning_rate", "> 0", s.learning_rate)
    pre = p.preprocess
    _check(
        pre.window > 0 and pre.stride > 0,
        "preprocess.window/stride",
        "positive",
        (pre.window, pre.stride),
    )
    _check(
        0.0 <= pre.sqi_threshold <= 1.0, "preprocess.sqi_threshold", "in [0, 1]", pre.sqi_threshold
    )
    _check(
        pre.split in ("patient", "dechazal"), "preprocess.split", "patient or dechazal", pre.split
    )
    _check(
        len(pre.split_fractions) == 3 and abs(sum(pre.split_fractions) - 1) < 1e-6,
        "preprocess.split_fractions",
        "three fractions summing to 1",
        pre.split_fractions,
    )
    low, high = pre.bandpass_hz
    _check(
        0 < low < high < pre.fs / 2,
        "preprocess.bandpass_hz",
        "0 < low < high < fs/2",
        pre.bandpass_hz,
    )
    m = p.model
    _check(
        m.arch in ("deep", "beat", "beat_ann", "logreg"),
        "model.arch",
        "deep, beat, beat_ann or logreg",
        m.arch,
    )
    _check(m.encoding in ("direct", "rate"), "model.encoding", "direct or rate", m.encoding)
    _check(m.num_steps > 0, "model.num_steps", "a positive integer", m.num_steps)
    _check(0 < m.beta <= 1, "model.beta", "in (0, 1]", m.beta)
    pt = p.pretrain
    _check(pt.num_epochs > 0, "pretrain.num_epochs", "a positive integer", pt.num_epochs)
    _check(pt.learning_rate > 0, "pretrain.learning_rate", "> 0", pt.learning_rate)
    _check(0 <= pt.focal_alpha <= 1, "pretrain.focal_alpha", "in [0, 1]", pt.focal_alpha)
    _check(
        0 < p.evaluate.confidence_level < 1,
        "evaluate.confidence_level",
        "in (0, 1)",
        p.evaluate.confidence_level,
    )
    _check(
        p.evaluate.bootstrap_samples > 0,
        "evaluate.bootstrap_samples",
        "> 0",
        p.evaluate.bootstrap_samples,
    )
    cv = p.crossval
    _check(cv.folds >= 2, "crossval.folds", ">= 2", cv.folds)
    for m in cv.models:
        _check(
            m in ("beat", "beat_ann", "logreg", "deep"),
            "crossval.models",
            "a list of beat, beat_ann, logreg, deep",
            cv.models,
        )
    for name in ("pretrain", "stage1", "stage2"):
        s = getattr(cv, name)
        _check(s.num_epochs > 0, f"crossval.{name}.num_epochs", "a positive integer", s.num_epochs)
        _check(s.learning_rate > 0, f"crossval.{name}.learning_rate", "> 0", s.learning_rate)
    _check(0 <= p.beat_model.dropout < 1, "beat_model.dropout", "in [0, 1)", p.beat_model.dropout)
    return p


def load_params(path: str | Path = PARAMS_FILE, overrides: dict[str, Any] | None = None) -> Params:
    """Read `params.yaml`, apply dotted-key `overrides` (CLI flags), validate."""
    path = Path(path)
    if not path.is_file():
        raise ECGError(f"{path}: params file not found (run from the project root)")
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise ECGError(f"{path}: not valid YAML ({str(err).splitlines()[0]})") from None
    for dotted, value in (overrides or {}).items():
        if value is None:
            continue
        node = raw
        *parents, leaf = dotted.split(".")
        for part in parents:
            node = node[part]
        node[leaf] = value
    return validate(_build(Params, raw, ""))


def as_dict(obj: Any) -> dict[str, Any]:
    """Plain-dict copy of a config object (for checkpoints and JSON)."""
    return dataclasses.asdict(obj)
