"""An ensemble trained on some subjects, with an honest operating point.

The training subjects are split into `k` inner subject folds. Member j trains on all of them
but fold j and scores fold j, so every training subject gets an OUT-OF-FOLD score from a
member that never saw it. The decision threshold is the one that reaches the sensitivity
target on those out-of-fold scores with the highest specificity: it is chosen on training
subjects only. The ensemble's score of any other window is the mean of its members' scores.

The same procedure makes every outer cross-validation fold's model, the de Chazal DS1 model
and the final model on every subject, so the cross-validated figures describe exactly the
model that is shipped. Members are independent jobs; `run_jobs` trains them in worker
processes (`ecg.core.parallel`; each on one thread, seeded by its key, so the results do not
depend on how many workers there are).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ecg.core.parallel import parallel_map, worker_count
from ecg.core.progress import log as print_line
from ecg.data.files import ECGDataset
from ecg.eval.threshold import choose_threshold
from ecg.train.folds import subject_folds
from ecg.train.members import Member, Recipe, train_member


@dataclass(frozen=True)
class Job:
    """Train one member on `train_rows`, score `val_rows` (its inner fold) and `test_rows`."""

    recipe: str  # name of the recipe
    tag: str  # for log lines and live logs: "fold2/member3"
    train_rows: np.ndarray
    val_rows: np.ndarray
    test_rows: np.ndarray
    seed: int


@dataclass
class Ensemble:
    members: list[Member]
    threshold: float  # from the out-of-fold scores of the training subjects
    threshold_rule: str
    oof_rows: np.ndarray  # training rows, each scored by the one member that left it out
    oof_scores: np.ndarray
    test_rows: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    test_scores: np.ndarray = field(default_factory=lambda: np.zeros(0))  # mean of members

    def score(self, signals: torch.Tensor) -> np.ndarray:
        return np.mean([m.score(signals) for m in self.members], axis=0)


def plan(
    recipe: str,
    data: ECGDataset,
    train_rows: np.ndarray,
    test_rows: np.ndarray,
    *,
    inner_folds: int,
    seed: int,
    tag: str,
) -> list[Job]:
    """The member jobs of an ensemble on the subjects of `train_rows`."""
    subjects = np.asarray(data.patient_ids)
    labels = data.labels.numpy()
    folds = subject_folds(
        list(subjects[train_rows]),
        labels[train_rows],
        k=inner_folds,
        seed=seed,
        key="crossval.inner_folds",
    )
    jobs = []
    for j, fold in enumerate(folds):
        inner = np.isin(subjects[train_rows], fold)
        jobs.append(
            Job(
                recipe=recipe,
                tag=f"{tag}/member{j + 1}",
                train_rows=train_rows[~inner],
                val_rows=train_rows[inner],
                test_rows=test_rows,
                seed=int(np.random.SeedSequence([seed, j, *map(ord, tag)]).generate_state(1)[0]),
            )
        )
    return jobs


def assemble(
    jobs: list[Job],
    results: list[tuple[Member, np.ndarray, np.ndarray]],
    labels: np.ndarray,
    *,
    sensitivity_target: float,
) -> Ensemble:
    """The ensemble of one plan's finished jobs."""
    oof_rows = np.concatenate([job.val_rows for job in jobs])
    oof_scores = np.concatenate([val for _, val, _ in results])
    threshold, rule = choose_threshold(
        labels[oof_rows], oof_scores, sensitivity_target=sensitivity_target
    )
    return Ensemble(
        members=[member for member, _, _ in results],
        threshold=threshold,
        threshold_rule=f"out-of-fold {rule}",
        oof_rows=oof_rows,
        oof_scores=oof_scores,
        test_rows=jobs[0].test_rows,
        test_scores=np.mean([test for _, _, test in results], axis=0),
    )


# --- running jobs, in this process or in workers -------------------------------------------

_WORKER: dict = {}


def _init(data: ECGDataset, recipes: dict[str, Recipe], live_root: str | None) -> None:
    _WORKER.update(data=data, recipes=recipes, live_root=live_root)


def _run(job: Job) -> tuple[Member, np.ndarray, np.ndarray]:
    data, recipe = _WORKER["data"], _WORKER["recipes"][job.recipe]
    root = _WORKER["live_root"]

    def subset(rows: np.ndarray) -> ECGDataset:
        idx = torch.as_tensor(rows)
        ids = [data.patient_ids[i] for i in rows.tolist()]
        return ECGDataset(data.signals[idx], data.labels[idx], patient_ids=ids)

    member = train_member(
        recipe,
        subset(job.train_rows),
        subset(job.val_rows),
        seed=job.seed,
        log=lambda line: print_line(f"crossval {job.recipe} {job.tag}: {line}"),
        live_dir=None if root is None else Path(root) / job.recipe / job.tag,
    )
    val = member.score(data.signals[torch.as_tensor(job.val_rows)])
    test = data.signals[torch.as_tensor(job.test_rows)]
    return member, val, member.score(test) if len(test) else np.zeros(0)


def run_jobs(
    jobs: list[Job],
    data: ECGDataset,
    recipes: dict[str, Recipe],
    *,
    live_root: Path | None = None,
    log: Callable[[str], None] = print_line,
) -> list[tuple[Member, np.ndarray, np.ndarray]]:
    """(member, inner-fold scores, test scores) of every job, in the order of `jobs`."""
    workers = worker_count()
    log(f"crossval: {len(jobs)} members to train on {workers} worker(s)")
    if workers > 1:
        # Sending tensors to spawned workers moves their storage into shared memory, in
        # place: a numpy view the caller holds (`labels = data.labels.numpy()`) would then
        # read freed memory. The workers get a copy; the caller's tensors stay where they are.
        data = ECGDataset(
            data.signals.clone(),
            data.labels.clone(),
            patient_ids=data.patient_ids,
            record_ids=data.record_ids,
        )
    args = (data, recipes, None if live_root is None else str(live_root))
    return parallel_map(_run, jobs, initializer=_init, initargs=args, workers=workers)
