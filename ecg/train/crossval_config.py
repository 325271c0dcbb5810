"""The cross-validation section of params.yaml: how the product model and its baselines are
judged on subjects they never saw, and how the final model is trained."""

from __future__ import annotations

from dataclasses import dataclass

from ecg.core.config import check
from ecg.models.configs import CONFIGS
from ecg.train.config import LR_SCHEDULES, SELECTION_MODES, StageSchedule

GBM = "gbm"  # the gradient-boosting baseline, beside the registered network architectures


@dataclass(frozen=True)
class GBMConfig:
    """LightGBM on the window features of the beat layout (`ecg.train.gbm`)."""

    trees: int
    learning_rate: float
    leaves: int
    min_child_samples: int
    subsample: float  # rows per tree
    colsample: float  # features per tree
    reg_lambda: float  # L2 on leaf values

    def __post_init__(self) -> None:
        check(self.trees >= 1, "trees", "a positive integer", self.trees)
        check(self.learning_rate > 0, "learning_rate", "> 0", self.learning_rate)
        check(self.leaves >= 2, "leaves", ">= 2", self.leaves)
        check(self.min_child_samples >= 1, "min_child_samples", ">= 1", self.min_child_samples)
        check(0 < self.subsample <= 1, "subsample", "in (0, 1]", self.subsample)
        check(0 < self.colsample <= 1, "colsample", "in (0, 1]", self.colsample)
        check(self.reg_lambda >= 0, "reg_lambda", ">= 0", self.reg_lambda)


@dataclass(frozen=True)
class CrossvalConfig:
    folds: int  # outer subject folds: each subject is held out exactly once
    inner_folds: int  # per training set: members of its ensemble, and out-of-fold scores
    models: list[str]  # cross-validated side by side: architectures, or "gbm"
    product: str  # the model trained on every subject into models/final
    pretrained: bool  # start every member from synthetic pretraining (else from scratch)
    batch_size: int
    dropout: float  # of the networks, in every stage
    selection: str  # which epoch a member keeps: last | g_mean | targets (on its inner fold)
    lr_schedule: str  # constant | one_cycle, per stage
    pretrain: StageSchedule  # on synthetic ECG, once per architecture
    stage1: StageSchedule  # fc1 frozen (skipped for a model that has only fc1)
    stage2: StageSchedule  # every layer
    gbm: GBMConfig

    def __post_init__(self) -> None:
        check(self.folds >= 2, "folds", ">= 2", self.folds)
        check(self.inner_folds >= 2, "inner_folds", ">= 2", self.inner_folds)
        known = [*CONFIGS, GBM]
        check(len(self.models) > 0, "models", "a non-empty list", self.models)
        for name in self.models:
            check(name in known, "models", f"a list of {', '.join(known)}", name)
        check(self.product in CONFIGS, "product", " or ".join(CONFIGS), self.product)
        check(self.batch_size > 0, "batch_size", "a positive integer", self.batch_size)
        check(0.0 <= self.dropout < 1.0, "dropout", "in [0, 1)", self.dropout)
        modes = " or ".join(SELECTION_MODES)
        check(self.selection in SELECTION_MODES, "selection", modes, self.selection)
        schedules = " or ".join(LR_SCHEDULES)
        check(self.lr_schedule in LR_SCHEDULES, "lr_schedule", schedules, self.lr_schedule)
