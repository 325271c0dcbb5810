"""Which member trains on which subjects: the cross-validation plan every training stage and
the evaluation share.

Per model, one ensemble per outer subject fold (trained on the other folds, judged on this
one), one for de Chazal's DS1 -> DS2 benchmark and, for the product, the final ensemble on
every subject. Each ensemble's training subjects are split into `inner_folds` subject folds:
member j trains on all of them but fold j and is scored on fold j, so every training subject
gets an out-of-fold score from a member that never saw it (the threshold rule reads those).
The plan is a pure function of the data, the `crossval` group and the seed, so stage1,
stage2 and evaluate each derive the same plan without passing it along.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ecg.core.config import check
from ecg.data.files import ECGDataset
from ecg.data.splits import DS1, DS2
from ecg.models.configs import BOOSTED, CONFIGS
from ecg.train.folds import subject_folds

FINAL = "final"  # the product's ensemble on every subject: what users get
DS2_BENCHMARK = "dechazal"  # trained on DS1, judged on DS2


@dataclass(frozen=True)
class CrossvalConfig:
    models: list[str]  # compared side by side: architectures (ecg.models.configs), boosted
    product: str  # the model trained on every subject into models/final
    folds: int  # outer subject folds: each subject is held out exactly once
    inner_folds: int  # per ensemble: its members, and the out-of-fold scores

    def __post_init__(self) -> None:
        known = [*CONFIGS, *BOOSTED]
        check(len(self.models) > 0, "models", "a non-empty list", self.models)
        for name in self.models:
            check(name in known, "models", f"a list of {', '.join(known)}", name)
        check(len(set(self.models)) == len(self.models), "models", "distinct", self.models)
        check(self.product in self.models, "product", "one of crossval.models", self.product)
        check(self.product in CONFIGS, "product", " or ".join(CONFIGS), self.product)
        check(self.folds >= 2, "folds", ">= 2", self.folds)
        check(self.inner_folds >= 2, "inner_folds", ">= 2", self.inner_folds)


@dataclass(frozen=True)
class MemberJob:
    """Train one member on `train_rows`; it is scored on `val_rows` (its inner fold) and on
    `test_rows` (its ensemble's held-out subjects)."""

    model: str  # an architecture, or "gbm"
    ensemble: str  # "fold1".."foldK", "dechazal" or "final"
    member: int  # 1..inner_folds
    train_rows: np.ndarray
    val_rows: np.ndarray
    test_rows: np.ndarray
    seed: int

    @property
    def path(self) -> str:
        """Where the member's checkpoint lives under a stage's folder."""
        return f"{self.model}/{self.ensemble}/member{self.member}.pt"


def outer_folds(data: ECGDataset, cv: CrossvalConfig, *, seed: int) -> list[list[str]]:
    return subject_folds(data.patient_ids, data.labels.numpy(), k=cv.folds, seed=seed)


def ensembles(
    data: ECGDataset, cv: CrossvalConfig, model: str, *, seed: int
) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(name, training rows, held-out rows) of every ensemble of `model`."""
    subjects, records = np.asarray(data.patient_ids), np.asarray(data.record_ids)
    everyone = np.arange(len(data))
    out = []
    for f, held in enumerate(outer_folds(data, cv, seed=seed)):
        test = np.isin(subjects, held)
        out.append((f"fold{f + 1}", everyone[~test], everyone[test]))
    ds1, ds2 = everyone[np.isin(records, DS1)], everyone[np.isin(records, DS2)]
    if len(ds1) and len(ds2):
        out.append((DS2_BENCHMARK, ds1, ds2))
    if model == cv.product:
        out.append((FINAL, everyone, everyone[:0]))
    return out


def member_jobs(
    data: ECGDataset,
    cv: CrossvalConfig,
    *,
    seed: int,
    models: list[str] | None = None,
) -> list[MemberJob]:
    """Every member of every ensemble of `models` (default: all of `cv.models`)."""
    subjects = np.asarray(data.patient_ids)
    labels = data.labels.numpy()
    jobs = []
    for model in models if models is not None else cv.models:
        for name, train_rows, test_rows in ensembles(data, cv, model, seed=seed):
            inner = subject_folds(
                list(subjects[train_rows]),
                labels[train_rows],
                k=cv.inner_folds,
                seed=seed,
                key="crossval.inner_folds",
            )
            for j, fold in enumerate(inner):
                val = np.isin(subjects[train_rows], fold)
                # The member's seed depends on its ensemble and position, not on the model
                # or the order of jobs: every model's member j of fold f starts alike.
                state = np.random.SeedSequence([seed, j, *map(ord, name)]).generate_state(1)
                jobs.append(
                    MemberJob(
                        model=model,
                        ensemble=name,
                        member=j + 1,
                        train_rows=train_rows[~val],
                        val_rows=train_rows[val],
                        test_rows=test_rows,
                        seed=int(state[0]),
                    )
                )
    return jobs


def with_noisy_rows(jobs: list[MemberJob], clean: ECGDataset, noisy: ECGDataset) -> list[MemberJob]:
    """`jobs` that train also on the noisy copies (`ecg.data.augment`) of their own training
    records: row `len(clean) + i` is noisy row i. Validation and test rows stay clean, so
    the out-of-fold threshold, selection and evaluation never see a noisy window. By record,
    not subject: DS1 -> DS2 splits subject 201's records 201 and 202 between its sides."""
    records, noisy_records = np.asarray(clean.record_ids), np.asarray(noisy.record_ids)
    out = []
    for job in jobs:
        mine = np.isin(noisy_records, np.unique(records[job.train_rows]))
        extra = len(clean) + np.flatnonzero(mine)
        out.append(replace(job, train_rows=np.concatenate([job.train_rows, extra])))
    return out
