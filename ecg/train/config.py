"""The training groups of params.yaml and `FitConfig`, everything one `fit` call uses.

`TransferConfig` is the design's transfer-learning keys (top level in params.yaml, read by
stage1 and stage2), `StageSchedule` one stage's epochs and step size, `PretrainConfig` the
synthetic pretraining. Each training stage builds its one `FitConfig` from these, and that
object reaches `fit` unchanged. Checks sit next to the fields; every message names the key.
"""

from __future__ import annotations

from dataclasses import dataclass

from ecg.core.config import check

SELECTION_MODES = ("targets", "g_mean", "last")
LR_SCHEDULES = ("constant", "one_cycle")
THRESHOLD_RULES = ("sensitivity_target", "youden")
FROZEN_IN_STAGE1 = ("fc1",)  # the design: stage 1 keeps the first layer's features


def _check_fraction(key: str, value: float, *, closed: bool = True) -> None:
    ok = 0.0 <= value <= 1.0 if closed else 0.0 <= value < 1.0
    check(ok, key, "in [0, 1]" if closed else "in [0, 1)", value)


def _check_loss(batch_size: int, weight_decay: float, focal_alpha: float, gamma: float) -> None:
    check(batch_size > 0, "batch_size", "a positive integer", batch_size)
    check(weight_decay >= 0, "weight_decay", ">= 0", weight_decay)
    _check_fraction("focal_alpha", focal_alpha)
    check(gamma >= 0, "focal_gamma", ">= 0", gamma)


def _check_task_weights(beat: float, classes: tuple[float, ...], rhythm: float) -> None:
    check(beat >= 0, "beat_loss_weight", ">= 0", beat)
    check(rhythm >= 0, "rhythm_loss_weight", ">= 0", rhythm)
    ok = len(classes) == 4 and all(w > 0 for w in classes)
    check(ok, "beat_class_weights", "4 positive weights (N, S, V, F)", list(classes))


@dataclass(frozen=True)
class StageSchedule:
    num_epochs: int  # epochs at most (early stopping may end sooner)
    learning_rate: float  # AdamW step size (the peak of a one-cycle schedule)

    def __post_init__(self) -> None:
        check(self.num_epochs > 0, "num_epochs", "a positive integer", self.num_epochs)
        check(self.learning_rate > 0, "learning_rate", "> 0", self.learning_rate)


@dataclass(frozen=True)
class TransferConfig:
    """The design's transfer-learning keys, shared by both fine-tuning stages."""

    batch_size: int
    weight_decay: float  # AdamW (decoupled) weight decay
    dropout: float  # on hidden spikes (activations) while fine-tuning
    focal_alpha: float  # weight of the Arrhythmia class in FocalLoss
    focal_gamma: float
    early_stopping_patience: int  # epochs without a new best model
    sensitivity_target: float  # the threshold rule's target, and selection's
    specificity_target: float
    selection: str  # which epoch a member keeps: last | g_mean | targets (on its inner fold)
    lr_schedule: str  # constant | one_cycle, per stage
    beat_loss_weight: float  # beat models: focal loss of each labelled beat's class
    beat_class_weights: tuple[float, ...]  # its weight per class N, S, V, F
    rhythm_loss_weight: float  # beat models: focal loss of each window's rhythm class

    def __post_init__(self) -> None:
        _check_loss(self.batch_size, self.weight_decay, self.focal_alpha, self.focal_gamma)
        _check_task_weights(self.beat_loss_weight, self.beat_class_weights, self.rhythm_loss_weight)
        _check_fraction("dropout", self.dropout, closed=False)
        patience = self.early_stopping_patience
        check(patience > 0, "early_stopping_patience", "a positive integer", patience)
        _check_fraction("sensitivity_target", self.sensitivity_target)
        _check_fraction("specificity_target", self.specificity_target)
        modes = " or ".join(SELECTION_MODES)
        check(self.selection in SELECTION_MODES, "selection", modes, self.selection)
        schedules = " or ".join(LR_SCHEDULES)
        check(self.lr_schedule in LR_SCHEDULES, "lr_schedule", schedules, self.lr_schedule)


@dataclass(frozen=True)
class PretrainConfig:
    """Synthetic pretraining: every epoch runs, the best validation G-mean is kept."""

    num_epochs: int
    learning_rate: float
    batch_size: int
    weight_decay: float  # AdamW (decoupled)
    dropout: float  # on hidden spikes
    focal_alpha: float  # weight of the Arrhythmia class in FocalLoss
    focal_gamma: float
    lr_schedule: str  # constant | one_cycle

    def __post_init__(self) -> None:
        StageSchedule(self.num_epochs, self.learning_rate)
        _check_loss(self.batch_size, self.weight_decay, self.focal_alpha, self.focal_gamma)
        _check_fraction("dropout", self.dropout, closed=False)
        schedules = " or ".join(LR_SCHEDULES)
        check(self.lr_schedule in LR_SCHEDULES, "lr_schedule", schedules, self.lr_schedule)


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
    threshold_rule: str  # decision threshold chosen on validation: the highest-specificity
    #   one reaching sensitivity_target, or Youden's J
    lr_schedule: str  # "constant", or "one_cycle": warm up to learning_rate, anneal to ~0
    frozen: tuple[str, ...]  # module names whose parameters stay fixed
    beat_loss_weight: float  # 0: the window loss alone (the data has no beat labels)
    beat_class_weights: tuple[float, ...]
    rhythm_loss_weight: float

    def __post_init__(self) -> None:
        StageSchedule(self.num_epochs, self.learning_rate)
        check(self.patience > 0, "patience", "a positive integer", self.patience)
        check(self.selection in SELECTION_MODES, "selection", "a selection mode", self.selection)
        rules = " or ".join(THRESHOLD_RULES)
        check(self.threshold_rule in THRESHOLD_RULES, "threshold_rule", rules, self.threshold_rule)
        schedules = " or ".join(LR_SCHEDULES)
        check(self.lr_schedule in LR_SCHEDULES, "lr_schedule", schedules, self.lr_schedule)

    @classmethod
    def pretraining(cls, pre: PretrainConfig) -> FitConfig:
        """Every epoch runs, the model is selected by G-mean alone and its threshold by
        Youden's J: the clinical targets belong to the MIT-BIH stages and must not rerun it."""
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
            threshold_rule="youden",
            lr_schedule=pre.lr_schedule,
            frozen=(),
            # synthetic windows carry no beat or rhythm labels: the window loss alone, which
            # reaches both readouts through the window flag they make
            beat_loss_weight=0.0,
            beat_class_weights=(1.0, 1.0, 1.0, 1.0),
            rhythm_loss_weight=0.0,
        )

    @classmethod
    def transfer_stage(
        cls, transfer: TransferConfig, schedule: StageSchedule, *, stage: str
    ) -> FitConfig:
        """Stage "1" (fc1 frozen) or "2" (every layer): the design's keys plus the stage's
        schedule."""
        if stage not in ("1", "2"):
            raise ValueError(f"transfer stage must be '1' or '2', got {stage!r}")
        return cls(
            stage=stage,
            num_epochs=schedule.num_epochs,
            learning_rate=schedule.learning_rate,
            weight_decay=transfer.weight_decay,
            batch_size=transfer.batch_size,
            focal_alpha=transfer.focal_alpha,
            focal_gamma=transfer.focal_gamma,
            patience=transfer.early_stopping_patience,
            selection=transfer.selection,
            sensitivity_target=transfer.sensitivity_target,
            specificity_target=transfer.specificity_target,
            threshold_rule="sensitivity_target",
            lr_schedule=transfer.lr_schedule,
            frozen=FROZEN_IN_STAGE1 if stage == "1" else (),
            beat_loss_weight=transfer.beat_loss_weight,
            beat_class_weights=transfer.beat_class_weights,
            rhythm_loss_weight=transfer.rhythm_loss_weight,
        )
