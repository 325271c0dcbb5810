"""The training sections of params.yaml, and `FitConfig`, everything one `fit` call uses.

Checks sit next to the fields; every message names the key.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from ecg.core.config import check

SELECTION_MODES = ("targets", "g_mean", "last")
LR_SCHEDULES = ("constant", "one_cycle")
THRESHOLD_RULES = ("sensitivity_target", "youden")


def _check_fraction(key: str, value: float, *, closed: bool = True) -> None:
    ok = 0.0 <= value <= 1.0 if closed else 0.0 <= value < 1.0
    check(ok, key, "in [0, 1]" if closed else "in [0, 1)", value)


@dataclass(frozen=True)
class StageSchedule:
    num_epochs: int  # epochs at most (early stopping may end sooner)
    learning_rate: float  # AdamW step size

    def __post_init__(self) -> None:
        check(self.num_epochs > 0, "num_epochs", "a positive integer", self.num_epochs)
        check(self.learning_rate > 0, "learning_rate", "> 0", self.learning_rate)


@dataclass(frozen=True)
class AugmentConfig:
    time_warp: float  # max relative stretch/compress of the time axis
    amplitude_scale: float  # max relative gain change
    noise_std: float  # additive Gaussian noise, in window standard deviations
    baseline_wander: float  # amplitude of a slow (0.1-0.5 Hz) sinusoid, same units

    def __post_init__(self) -> None:
        for key, value in asdict(self).items():
            check(value >= 0, key, ">= 0", value)
        check(self.time_warp < 1, "time_warp", "< 1", self.time_warp)


@dataclass(frozen=True)
class PretrainConfig:
    num_epochs: int  # every epoch runs; the best validation G-mean is kept
    learning_rate: float
    batch_size: int
    weight_decay: float  # AdamW (decoupled)
    dropout: float  # on hidden spikes
    focal_alpha: float  # weight of the Arrhythmia class in FocalLoss
    focal_gamma: float

    def __post_init__(self) -> None:
        StageSchedule(self.num_epochs, self.learning_rate)
        check(self.batch_size > 0, "batch_size", "a positive integer", self.batch_size)
        check(self.weight_decay >= 0, "weight_decay", ">= 0", self.weight_decay)
        _check_fraction("dropout", self.dropout, closed=False)
        _check_fraction("focal_alpha", self.focal_alpha)
        check(self.focal_gamma >= 0, "focal_gamma", ">= 0", self.focal_gamma)


@dataclass(frozen=True)
class TransferConfig:
    """The design's transfer-learning keys (top level in params.yaml)."""

    batch_size: int
    weight_decay: float  # AdamW (decoupled) weight decay
    dropout: float  # on hidden spikes during fine-tuning
    focal_alpha: float  # weight of the Arrhythmia class in FocalLoss
    focal_gamma: float
    early_stopping_patience: int  # epochs without a new best model
    sensitivity_target: float
    specificity_target: float
    augment: bool  # train-split augmentation of raw waveforms

    def __post_init__(self) -> None:
        check(self.batch_size > 0, "batch_size", "a positive integer", self.batch_size)
        check(self.weight_decay >= 0, "weight_decay", ">= 0", self.weight_decay)
        _check_fraction("dropout", self.dropout, closed=False)
        _check_fraction("focal_alpha", self.focal_alpha)
        check(self.focal_gamma >= 0, "focal_gamma", ">= 0", self.focal_gamma)
        check(
            self.early_stopping_patience > 0,
            "early_stopping_patience",
            "a positive integer",
            self.early_stopping_patience,
        )
        _check_fraction("sensitivity_target", self.sensitivity_target)
        _check_fraction("specificity_target", self.specificity_target)


@dataclass(frozen=True)
class FitConfig:
    stage: str  # "pretrain", "1" or "2": names checkpoints and seeds the epochs
    num_epochs: int
    learning_rate: float
    weight_decay: float
    batch_size: int
    focal_alpha: float
    focal_gamma: float
    patience: int  # early stop after this many epochs without a new best
    selection: str  # "targets": G-mean until both targets are met, then sensitivity;
    #                 "g_mean": G-mean alone (pretraining); "last": the last epoch
    sensitivity_target: float  # also the threshold rule's target
    specificity_target: float
    seed: int
    threshold_rule: str = "sensitivity_target"  # decision threshold chosen on validation:
    #   the highest-specificity one reaching sensitivity_target, or Youden's J
    augment: AugmentConfig | None = None  # raw-waveform models only
    fs: float = 250.0  # Hz of the windows, for augmentation's baseline wander
    frozen: tuple[str, ...] = ()  # module names whose parameters stay fixed
    lr_schedule: str = "constant"  # or "one_cycle": warm up to learning_rate, anneal to ~0

    def __post_init__(self) -> None:
        check(
            self.lr_schedule in LR_SCHEDULES,
            "lr_schedule",
            " or ".join(LR_SCHEDULES),
            self.lr_schedule,
        )
        check(
            self.selection in SELECTION_MODES,
            "selection",
            " or ".join(SELECTION_MODES),
            self.selection,
        )
        check(
            self.threshold_rule in THRESHOLD_RULES,
            "threshold_rule",
            " or ".join(THRESHOLD_RULES),
            self.threshold_rule,
        )
        StageSchedule(self.num_epochs, self.learning_rate)
        check(self.patience > 0, "patience", "a positive integer", self.patience)

    @classmethod
    def for_pretraining(cls, pre: PretrainConfig, *, seed: int) -> FitConfig:
        """Synthetic pretraining: every epoch runs, the model is selected by G-mean alone and
        its threshold by Youden's J, since the clinical targets are params of the MIT-BIH
        stages and must not rerun it."""
        return cls(
            stage="pretrain",
            num_epochs=pre.num_epochs,
            learning_rate=pre.learning_rate,
            weight_decay=pre.weight_decay,
            batch_size=pre.batch_size,
            focal_alpha=pre.focal_alpha,
            focal_gamma=pre.focal_gamma,
            patience=pre.num_epochs,
            selection="g_mean",
            sensitivity_target=0.95,  # unused by g_mean selection and the Youden rule
            specificity_target=0.85,
            seed=seed,
            threshold_rule="youden",
        )

    @classmethod
    def for_transfer(
        cls,
        transfer: TransferConfig,
        schedule: StageSchedule,
        *,
        stage: str,
        seed: int,
        frozen: tuple[str, ...] = (),
        augment: AugmentConfig | None = None,
        fs: float = 250.0,
    ) -> FitConfig:
        """A transfer stage: the shared top-level keys plus one stage's schedule."""
        return cls(
            stage=stage,
            num_epochs=schedule.num_epochs,
            learning_rate=schedule.learning_rate,
            weight_decay=transfer.weight_decay,
            batch_size=transfer.batch_size,
            focal_alpha=transfer.focal_alpha,
            focal_gamma=transfer.focal_gamma,
            patience=transfer.early_stopping_patience,
            selection="targets",
            sensitivity_target=transfer.sensitivity_target,
            specificity_target=transfer.specificity_target,
            seed=seed,
            augment=augment,
            fs=fs,
            frozen=frozen,
        )
