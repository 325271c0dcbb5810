"""`params.yaml`, loaded once into typed, checked config objects.

Each section's dataclass lives beside the code that uses it and checks its own fields
(`ecg.data.config`, `ecg.train.config`, `ecg.eval.config`, `ecg.models.configs`); this
module assembles them into `Params`, with the checks that span sections and the allowed
architectures read from `ecg.models.configs.CONFIGS`. Defaults live only in params.yaml: a
missing key is an error, as is an unknown one.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ecg.core.cli import DEVICES
from ecg.core.config import check, from_mapping
from ecg.core.errors import ECGError
from ecg.data.config import DownloadConfig, PreprocessConfig, SynthesizeConfig
from ecg.eval.config import BootstrapConfig
from ecg.features.layout import MAX_BEATS, STEP_FEATURES
from ecg.models.configs import CONFIGS
from ecg.train.config import (
    AugmentConfig,
    FitConfig,
    PretrainConfig,
    StageSchedule,
    TransferConfig,
)
from ecg.train.crossval_config import CrossvalConfig

PARAMS_FILE = "params.yaml"


@dataclass(frozen=True)
class ModelParams:
    arch: str  # the main pipeline's model: a name in ecg.models.configs.CONFIGS
    deep: dict[str, Any]  # architecture hyperparameters of each model (see its config class)
    beat: dict[str, Any]
    beat_ann: dict[str, Any]
    logreg: dict[str, Any]

    def __post_init__(self) -> None:
        check(self.arch in CONFIGS, "arch", " or ".join(CONFIGS), self.arch)


@dataclass(frozen=True)
class Params:
    seed: int  # splits, synthetic data, weight init, dropout, encoding noise
    device: str  # auto (cuda > mps > cpu), cpu, cuda, mps
    # The design's transfer-learning keys (see TransferConfig), top level so that
    # `dvc exp run -S focal_alpha=0.8` is the design's experiment.
    batch_size: int
    weight_decay: float
    dropout: float
    focal_alpha: float
    focal_gamma: float
    early_stopping_patience: int
    sensitivity_target: float
    specificity_target: float
    augment: bool
    stage1: StageSchedule  # feature adaptation: fc1 frozen
    stage2: StageSchedule  # full fine-tuning from stage 1's best model
    augmentation: AugmentConfig
    download: DownloadConfig
    preprocess: PreprocessConfig
    synthesize: SynthesizeConfig
    model: ModelParams
    pretrain: PretrainConfig
    bootstrap: BootstrapConfig
    crossval: CrossvalConfig

    def __post_init__(self) -> None:
        check(self.device in DEVICES, "device", ", ".join(DEVICES), self.device)
        self.transfer  # noqa: B018  (checks the top-level keys)
        for arch in CONFIGS:  # every section builds a valid model config
            self.model_config(arch, dropout=0.0)

    @property
    def transfer(self) -> TransferConfig:
        names = [f.name for f in dataclasses.fields(TransferConfig)]
        return TransferConfig(**{name: getattr(self, name) for name in names})

    def model_config(self, arch: str, *, dropout: float) -> Any:
        """The full config of `arch`: its params.yaml section plus what the data fixes (input
        size, beats per window, features per beat) and the training stage's `dropout`."""
        cls = CONFIGS[arch]
        fields = {f.name for f in dataclasses.fields(cls)}
        derived: dict[str, Any] = {"num_classes": 2}
        if "dropout" in fields:
            derived["dropout"] = dropout
        if "input_size" in fields:
            derived["input_size"] = self.preprocess.window
        if "step_features" in fields:
            derived |= {"num_steps": MAX_BEATS, "step_features": STEP_FEATURES}
        section = dict(getattr(self.model, arch))
        for key in section:
            if key in derived or key not in fields:
                raise ECGError(f"{PARAMS_FILE}: unknown key 'model.{arch}.{key}'")
        return from_mapping(cls, derived | section, source=PARAMS_FILE, prefix=f"model.{arch}.")

    def fit_config(self, stage: str) -> FitConfig:
        """A transfer stage ("1": fc1 frozen, "2": all layers) of the main pipeline."""
        return FitConfig.for_transfer(
            self.transfer,
            self.stage1 if stage == "1" else self.stage2,
            stage=stage,
            seed=self.seed,
            frozen=("fc1",) if stage == "1" else (),
            augment=self.augmentation if self.augment else None,
            fs=self.preprocess.fs,
        )


def load_params(path: str | Path = PARAMS_FILE, overrides: dict[str, Any] | None = None) -> Params:
    """Read `params.yaml`, apply dotted-key `overrides` (CLI flags; None = not given), check."""
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
    return from_mapping(Params, raw, source=str(path))
