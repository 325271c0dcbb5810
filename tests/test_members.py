"""The cross-validation plan and its members: no member ever sees a subject it is judged on,
the threshold comes from out-of-fold scores only, the stages write the same members on one
worker or two, and the design's training command trains exactly the pipeline's member."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from ecg.core.errors import ECGError
from ecg.core.storage import save_torch
from ecg.data.files import ECGDataset, save_mitbih
from ecg.models.checkpoint import config_dict
from ecg.models.configs import BeatSNNConfig, LogRegConfig
from ecg.models.registry import build_model
from ecg.train.config import StageSchedule, TransferConfig
from ecg.train.gbm import GBMConfig
from ecg.train.plan import CrossvalConfig, member_jobs, with_noisy_rows
from tests.test_crossval import tiny_dataset

# Records of DS1 and DS2 as subject names, so that the DS1 -> DS2 ensemble is planned too.
RECORDS = ["101", "106", "108", "109", "112", "114", "100", "103", "105", "111", "113", "117"]


def dataset(seed: int = 0) -> ECGDataset:
    data = tiny_dataset(seed)
    names = {f"s{i}": r for i, r in enumerate(RECORDS)}
    ids = [names[s] for s in data.patient_ids]
    return ECGDataset(data.inputs, data.labels, patient_ids=ids, record_ids=ids)


CV = CrossvalConfig(models=["beat", "logreg", "gbm"], product="beat", folds=3, inner_folds=2)


def test_members_never_see_the_subjects_they_are_judged_on():
    data = dataset()
    subjects = np.asarray(data.patient_ids)
    jobs = member_jobs(data, CV, seed=42)
    names = {(j.model, j.ensemble) for j in jobs}
    assert ("beat", "final") in names and ("logreg", "final") not in names  # product only
    assert {e for _, e in names} == {"fold1", "fold2", "fold3", "dechazal", "final"}
    for job in jobs:
        held = set(subjects[job.test_rows])
        assert not set(subjects[job.train_rows]) & held
        assert not set(subjects[job.val_rows]) & held
        assert not set(subjects[job.train_rows]) & set(subjects[job.val_rows])  # by subject
    for model, ensemble in names:
        mine = [j for j in jobs if (j.model, j.ensemble) == (model, ensemble)]
        oof = np.concatenate([j.val_rows for j in mine])
        train = np.union1d(mine[0].train_rows, mine[0].val_rows)
        assert sorted(oof) == sorted(train)  # every training window scored exactly once
    held_out = [j.test_rows for j in jobs if j.model == "beat" and j.ensemble.startswith("fold")]
    assert sorted(np.unique(np.concatenate(held_out))) == list(range(len(data)))


def test_the_plan_is_a_function_of_data_config_and_seed():
    data = dataset()
    a, b = member_jobs(data, CV, seed=42), member_jobs(data, CV, seed=42)
    assert [(j.path, j.seed, j.train_rows.tolist()) for j in a] == [
        (j.path, j.seed, j.train_rows.tolist()) for j in b
    ]
    other = member_jobs(data, CV, seed=43)
    assert [j.train_rows.tolist() for j in other] != [j.train_rows.tolist() for j in a]
    # A member's seed depends on its ensemble and position, not on the model.
    seeds = {(j.ensemble, j.member): j.seed for j in a if j.model == "beat"}
    assert all(seeds[(j.ensemble, j.member)] == j.seed for j in a if j.ensemble != "final")


def test_the_threshold_comes_from_out_of_fold_scores_only(monkeypatch, tmp_path):
    import ecg.train.evaluation as evaluation
    from ecg.train.plan import MemberJob

    labels = torch.tensor([1, 1, 1, 1, 0, 0, 0, 0, 1, 0])
    data = ECGDataset(torch.zeros(10, 3), labels, patient_ids=list("abcdefghij"))
    jobs = [
        MemberJob("x", "fold1", 1, np.array([4, 5]), np.array([0, 1, 4, 5]), np.array([8, 9]), 1),
        MemberJob("x", "fold1", 2, np.array([0, 1]), np.array([2, 3, 6, 7]), np.array([8, 9]), 2),
    ]
    scores = {  # (member, rows) -> scores; OOF positives 0.9, 0.8, 0.6, 0.5, negatives below
        (1, 4): [0.9, 0.8, 0.3, 0.1],
        (2, 4): [0.6, 0.5, 0.4, 0.2],
        (1, 2): [0.0, 1.0],
        (2, 2): [0.2, 0.8],
    }

    def fake_outputs(ckpt: dict, *, name: str):
        return lambda inputs: (np.array(scores[(int(Path(name).stem[-1]), len(inputs))]), None)

    monkeypatch.setattr(evaluation, "load_member", lambda path: {})
    monkeypatch.setattr(evaluation, "check_member", lambda *a: None)
    monkeypatch.setattr(evaluation, "member_outputs", fake_outputs)
    out = evaluation.evaluate_members(jobs, {"x": data}, tmp_path, sensitivity_target=0.75)
    ensemble = out["x"].folds[0]
    assert ensemble.threshold == pytest.approx(0.6)  # 3/4 of OOF positives, no false alarm
    np.testing.assert_allclose(ensemble.test_scores, [0.1, 0.9])  # mean of the members
    scores[(1, 2)], scores[(2, 2)] = [0.55, 0.55], [0.55, 0.55]  # other held-out scores ...
    again = evaluation.evaluate_members(jobs, {"x": data}, tmp_path, sensitivity_target=0.75)
    assert again["x"].folds[0].threshold == ensemble.threshold  # ... never move it


def test_a_member_trained_on_a_held_out_subject_is_refused(tmp_path):
    from ecg.train.evaluation import check_member, load_member

    data = dataset()
    job = next(j for j in member_jobs(data, CV, seed=42) if j.ensemble == "fold1")
    held = sorted({str(s) for s in np.asarray(data.patient_ids)[job.test_rows]})
    path = tmp_path / "m.pt"
    save_torch({"train_subjects": held[:1], "train_records": held[:1]}, path)
    with pytest.raises(ECGError, match=rf"m\.pt: was trained on held-out subjects {held[0]}"):
        check_member(load_member(path), path, job, data)
    trained = sorted({str(s) for s in np.asarray(data.patient_ids)[job.train_rows]})
    save_torch({"train_subjects": trained[1:]}, path)
    with pytest.raises(ECGError, match="stale member"):
        check_member(load_member(path), path, job, data)


def test_noisy_rows_train_only_their_own_training_subjects():
    clean, noisy = dataset(), dataset(seed=1)
    n, subjects = len(clean), np.asarray(clean.patient_ids)
    noisy_subjects = np.asarray(noisy.patient_ids)
    jobs = member_jobs(clean, CV, seed=42)
    for plain, job in zip(jobs, with_noisy_rows(jobs, clean, noisy), strict=True):
        assert np.array_equal(job.train_rows[job.train_rows < n], plain.train_rows)
        assert np.array_equal(job.val_rows, plain.val_rows)  # validation stays clean
        assert np.array_equal(job.test_rows, plain.test_rows)  # evaluation stays clean
        extra = noisy_subjects[job.train_rows[job.train_rows >= n] - n]
        # leakage: no noisy row of a validation or held-out subject reaches training ...
        assert not set(extra) & (set(subjects[job.val_rows]) | set(subjects[job.test_rows]))
        # ... and a training subject's noisy rows all do
        trained = np.isin(noisy_subjects, subjects[plain.train_rows])
        assert sorted(job.train_rows[job.train_rows >= n] - n) == list(np.flatnonzero(trained))


def test_fine_tune_trains_beat_layout_models_on_their_subjects_noisy_rows(project, monkeypatch):
    import ecg.train.fine_tune as fine_tune_module

    noisy = dataset(seed=1).subset(np.arange(0, len(dataset()), 2))
    m = len(noisy)
    save_mitbih(
        project / "data/windows_beats_noisy.pt", inputs=noisy.inputs + 100.0,
        labels=noisy.labels, patient_ids=noisy.patient_ids, record_ids=noisy.record_ids,
        start_samples=np.zeros(m), segment_confidence=np.ones(m), sqi_scores=np.ones(m),
    )  # fmt: skip
    seen = {}

    def fake_train(jobs, inputs, recipe, *, out_dir, live_dir):
        seen.update(jobs=jobs, inputs=inputs)
        return [{} for _ in jobs]

    monkeypatch.setattr(fine_tune_module, "train_members", fake_train)
    run_stages(project, "noisy")  # stage 1 and stage 2, every model of CV
    clean = dataset()
    n, subjects = len(clean), np.asarray(clean.patient_ids)
    assert {j.model for j in seen["jobs"]} == {"beat", "logreg", "gbm"}
    for job in seen["jobs"]:
        data = seen["inputs"][job.model]
        assert len(data) == n + m
        noisy_rows = job.train_rows[job.train_rows >= n]
        assert len(noisy_rows) > 0
        assert (data.inputs[noisy_rows] > 50).all()  # they are the noisy file's rows
        assert (data.inputs[job.val_rows] < 50).all() and (data.inputs[job.test_rows] < 50).all()
        held = set(subjects[job.val_rows]) | set(subjects[job.test_rows])
        noisy_subjects = {data.patient_ids[i] for i in noisy_rows}
        assert noisy_subjects <= set(subjects[job.train_rows[job.train_rows < n]])
        assert not noisy_subjects & held


# --- the stages on tiny data -----------------------------------------------------------

TRANSFER = TransferConfig(
    batch_size=32, weight_decay=0.001, dropout=0.2, focal_alpha=0.75, focal_gamma=2.0,
    early_stopping_patience=10, sensitivity_target=0.95, specificity_target=0.85,
    selection="last", lr_schedule="one_cycle", beat_loss_weight=1.0,
    beat_class_weights=(1.0, 4.0, 2.0, 2.0), rhythm_loss_weight=0.5,
)  # fmt: skip
GBM = GBMConfig(trees=10, learning_rate=0.1, leaves=4, min_child_samples=5, subsample=0.8,
                colsample=0.8, reg_lambda=1.0)  # fmt: skip


@pytest.fixture
def project(tmp_path) -> Path:
    """Windows of 12 subjects and a 'pretrained' checkpoint per network."""
    data = dataset()
    n = len(data)
    save_mitbih(
        tmp_path / "data/windows_beats.pt", inputs=data.inputs, labels=data.labels,
        patient_ids=data.patient_ids, record_ids=data.record_ids, start_samples=np.zeros(n),
        segment_confidence=np.ones(n), sqi_scores=np.ones(n),
    )  # fmt: skip
    torch.manual_seed(0)
    for config in (BeatSNNConfig(hidden=(8, 4)), LogRegConfig()):
        model = build_model(config)
        save_torch(
            {"config": config_dict(model), "model_state_dict": model.state_dict()},
            tmp_path / f"pretrained/{config.arch}.pt",
        )
    return tmp_path


def run_stages(root: Path, out: str) -> Path:
    from ecg.train.fine_tune import fine_tune

    common = dict(cv=CV, transfer=TRANSFER, seed=42, data_dir=root / "data",
                  pretrained_dir=root / "pretrained")  # fmt: skip
    s1 = root / out / "stage1"
    fine_tune("1", **common, schedule=StageSchedule(2, 0.01), out_dir=s1, live_dir=root / "live")
    fine_tune(
        "2", **common, schedule=StageSchedule(2, 0.01), out_dir=root / out / "stage2",
        live_dir=root / "live", stage1_dir=s1, boosted={"gbm": GBM},
    )  # fmt: skip
    return root / out


def weights(path: Path) -> dict:
    ckpt = torch.load(path, weights_only=True)
    return ckpt.get("model_state_dict") or {"booster": ckpt["booster"]}


@pytest.mark.slow
def test_members_are_the_same_on_one_or_two_workers(project, monkeypatch):
    one = run_stages(project, "one")
    monkeypatch.setenv("ECG_WORKERS", "2")
    two = run_stages(project, "two")
    files = sorted(p.relative_to(one) for p in one.rglob("*.pt"))
    assert files == sorted(p.relative_to(two) for p in two.rglob("*.pt"))
    assert any(str(f).startswith("stage1/beat/") for f in files)
    assert not any(str(f).startswith(("stage1/logreg", "stage1/gbm")) for f in files)  # no stage 1
    assert any(str(f).startswith("stage2/gbm/") for f in files)
    for f in files:
        a, b = weights(one / f), weights(two / f)
        assert a.keys() == b.keys() and all(
            torch.equal(a[k], b[k]) if isinstance(a[k], torch.Tensor) else a[k] == b[k] for k in a
        ), f
    fc1 = torch.load(project / "pretrained/beat.pt", weights_only=True)["model_state_dict"]
    s1 = weights(one / "stage1/beat/final/member1.pt")
    assert torch.equal(s1["fc1.weight"], fc1["fc1.weight"])  # stage 1 froze fc1
    assert not torch.equal(
        weights(one / "stage2/beat/final/member1.pt")["fc1.weight"], fc1["fc1.weight"]
    )


@pytest.mark.slow
def test_the_design_command_trains_exactly_the_pipelines_member(project):
    from ecg.data.files import load_windows
    from ecg.train.transfer import train_stages

    pipeline = run_stages(project, "pipe")
    data = load_windows(project / "data")
    job = next(j for j in member_jobs(data, CV, seed=42) if j.path == "beat/fold2/member2.pt")
    train_stages(
        ["1", "2"], job, data, transfer=TRANSFER,
        schedules={"1": StageSchedule(2, 0.01), "2": StageSchedule(2, 0.01)},
        pretrained=project / "pretrained/beat.pt", output_dir=project / "direct",
        device=torch.device("cpu"),
    )  # fmt: skip
    a = weights(pipeline / "stage2/beat/fold2/member2.pt")
    b = weights(project / "direct/stage2/best_model.pt")
    assert all(torch.equal(a[k], b[k]) for k in a)
    ckpt = torch.load(project / "direct/stage2/best_model.pt", weights_only=True)
    assert ckpt["val_acc"] == torch.load(pipeline / "stage2/beat/fold2/member2.pt",
                                         weights_only=True)["val_acc"]  # fmt: skip


def test_noisy_rows_follow_records_where_ds1_and_ds2_split_a_subject():
    # de Chazal's lists put record 201 in DS1 and 202 (the same subject) in DS2: the DS1
    # ensemble must not train on a noisy copy of 202
    clean = dataset()
    records = np.asarray(clean.record_ids, dtype=object)
    records[records == "109"] = "202"  # a DS2 record of subject "101"'s stand-in
    subjects = np.where(records == "202", "101", np.asarray(clean.patient_ids, dtype=object))
    clean = ECGDataset(clean.inputs, clean.labels, patient_ids=list(subjects),
                       record_ids=list(records))  # fmt: skip
    jobs = [j for j in member_jobs(clean, CV, seed=42) if j.ensemble == "dechazal"]
    assert any("101" in {clean.patient_ids[i] for i in j.train_rows} for j in jobs)
    n = len(clean)
    for job in with_noisy_rows(jobs, clean, clean):
        noisy = records[job.train_rows[job.train_rows >= n] - n]
        assert len(noisy) and "202" not in set(noisy)
        assert set(noisy) == set(records[job.train_rows[job.train_rows < n]])
