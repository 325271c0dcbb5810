"""Ensembles from the trained members, with honest operating points.

Each ensemble's members are read from their stage-2 checkpoints and scored on their inner
fold (out-of-fold scores of the training subjects) and on the ensemble's held-out subjects.
The decision threshold is the one that reaches the sensitivity target on the out-of-fold
scores with the highest specificity: chosen on training subjects only. The ensemble's score
of a held-out window is the mean of its members' scores. A member whose checkpoint was trained
on other subjects than the plan says, or on a held-out subject, is refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ecg.core.errors import ECGError
from ecg.core.parallel import parallel_map
from ecg.core.storage import load_torch
from ecg.data.files import ECGDataset
from ecg.eval.threshold import choose_threshold
from ecg.train.members import member_outputs, member_record
from ecg.train.plan import DS2_BENCHMARK, FINAL, MemberJob


@dataclass
class Ensemble:
    members: list[Path]  # stage-2 member checkpoints
    threshold: float  # from the out-of-fold scores of the training subjects
    threshold_rule: str
    oof_rows: np.ndarray  # training rows, each scored by the one member that left it out
    oof_scores: np.ndarray
    test_rows: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    test_scores: np.ndarray = field(default_factory=lambda: np.zeros(0))  # mean of members
    # beat models: mean of the members' class probabilities on the test rows
    test_beats: np.ndarray | None = None  # [n, T, beat classes]
    test_rhythms: np.ndarray | None = None  # [n, rhythm classes]


@dataclass
class Evaluation:
    """One model's ensembles."""

    folds: list[Ensemble] = field(default_factory=list)  # one per outer fold, in order
    dechazal: Ensemble | None = None  # trained on DS1, scored on DS2
    final: Ensemble | None = None  # trained on every subject (the product only)

    def held_out(self, n: int) -> tuple[np.ndarray, np.ndarray, list[float]]:
        """(scores [n], fold of each window [n], threshold of each fold)."""
        scores, fold_of = np.full(n, np.nan), np.zeros(n, dtype=np.int64)
        for f, ensemble in enumerate(self.folds):
            scores[ensemble.test_rows] = ensemble.test_scores
            fold_of[ensemble.test_rows] = f
        return scores, fold_of, [e.threshold for e in self.folds]


def load_member(path: Path) -> dict[str, Any]:
    ckpt = load_torch(path, what="member checkpoint (run the stage2 stage first)")
    if not isinstance(ckpt, dict):
        raise ECGError(f"{path}: not a member checkpoint")
    return ckpt


def check_member(ckpt: dict[str, Any], path: Path, job: MemberJob, data: ECGDataset) -> None:
    """The checkpoint must be the member the plan describes, and never have seen a subject
    it is judged on (for de Chazal's DS1 -> DS2, kept as published, a record: 201 and 202
    are one subject on both sides of the published lists)."""
    want = member_record(job, data)
    trained = set(ckpt.get("train_subjects", []))
    unit = "records" if job.ensemble == DS2_BENCHMARK else "subjects"
    leaked = sorted(set(ckpt.get(f"train_{unit}", [])) & set(want[f"test_{unit}"]))
    if leaked:
        raise ECGError(
            f"{path}: was trained on held-out {unit} {', '.join(leaked[:5])}; its figures "
            "would not be honest"
        )
    if sorted(trained) != want["train_subjects"]:
        raise ECGError(
            f"{path}: trained on other subjects than the cross-validation plan says "
            "(stale member: rerun stage1 and stage2)"
        )


_WORKER: dict[str, Any] = {}


def _init(inputs: dict[str, ECGDataset], members_dir: str) -> None:
    _WORKER.update(inputs=inputs, members_dir=Path(members_dir))


def _score(job: MemberJob) -> tuple[np.ndarray, np.ndarray, Any]:
    """(out-of-fold scores, test scores, test beat and rhythm probabilities or None)."""
    data, path = _WORKER["inputs"][job.model], _WORKER["members_dir"] / job.path
    ckpt = load_member(path)
    check_member(ckpt, path, job, data)
    run = member_outputs(ckpt, name=str(path))
    val, _ = run(data.inputs[job.val_rows])
    if not len(job.test_rows):
        return val, np.zeros(0), None
    test, readouts = run(data.inputs[job.test_rows])
    return val, test, readouts


def evaluate_members(
    jobs: list[MemberJob],
    inputs: dict[str, ECGDataset],
    members_dir: Path,
    *,
    sensitivity_target: float,
) -> dict[str, Evaluation]:
    """Every model's ensembles, from the stage-2 members in `members_dir`."""
    scores = parallel_map(_score, jobs, initializer=_init, initargs=(inputs, str(members_dir)))
    groups: dict[tuple[str, str], list[int]] = {}
    for i, job in enumerate(jobs):
        groups.setdefault((job.model, job.ensemble), []).append(i)
    out: dict[str, Evaluation] = {}
    for (model, name), idx in groups.items():
        members = [jobs[i] for i in idx]
        labels = inputs[model].labels.numpy()
        oof_rows = np.concatenate([m.val_rows for m in members])
        oof_scores = np.concatenate([scores[i][0] for i in idx])
        threshold, rule = choose_threshold(
            labels[oof_rows], oof_scores, sensitivity_target=sensitivity_target
        )
        ensemble = Ensemble(
            members=[members_dir / m.path for m in members],
            threshold=threshold,
            threshold_rule=f"out-of-fold {rule}",
            oof_rows=oof_rows,
            oof_scores=oof_scores,
            test_rows=members[0].test_rows,
            test_scores=np.mean([scores[i][1] for i in idx], axis=0),
        )
        readouts = [scores[i][2] for i in idx]
        if all(r is not None for r in readouts):
            ensemble.test_beats = np.mean([r[0] for r in readouts], axis=0)
            ensemble.test_rhythms = np.mean([r[1] for r in readouts], axis=0)
        evaluation = out.setdefault(model, Evaluation())
        if name == DS2_BENCHMARK:
            evaluation.dechazal = ensemble
        elif name == FINAL:
            evaluation.final = ensemble
        else:
            evaluation.folds.append(ensemble)
    return out
