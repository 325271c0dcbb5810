"""Transfer-learning behaviour: freezing, model selection, threshold, resume, errors."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from ecg.core.errors import ECGError
from ecg.data.files import ECGDataset, save_mitbih
from ecg.eval.metrics import binary_metrics
from ecg.eval.threshold import choose_threshold
from ecg.models.beat_snn import BeatSNN
from ecg.models.checkpoint import config_dict, load_model
from ecg.models.configs import BeatSNNConfig, DeepSNNConfig, LogRegConfig
from ecg.models.deep_snn import DeepSNN
from ecg.models.logreg import LogisticBaseline
from ecg.train.config import FitConfig
from ecg.train.loop import fit
from ecg.train.selection import ModelSelector

ROOT = Path(__file__).resolve().parents[1]
LENGTH = 40


def toy_data(n: int, seed: int) -> ECGDataset:
    """Two classes a small SNN separates in a few epochs: a bump early vs late."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.arange(n) % 2
    x = 0.3 * torch.randn(n, LENGTH, generator=g)
    x[labels == 1, : LENGTH // 2] += 1.5
    x[labels == 0, LENGTH // 2 :] += 1.5
    return ECGDataset(x, labels, patient_ids=[str(i % 5) for i in range(n)])


def deep(**config) -> DeepSNN:
    return DeepSNN(DeepSNNConfig(**config))


def toy_model(seed: int = 0) -> DeepSNN:
    torch.manual_seed(seed)
    return deep(input_size=LENGTH, hidden=(16, 8), num_steps=6, dropout=0.1, view="raw")


def config(**kw) -> FitConfig:
    base = dict(
        stage="1",
        num_epochs=3,
        learning_rate=0.01,
        weight_decay=0.001,
        batch_size=16,
        focal_alpha=0.5,
        focal_gamma=2.0,
        patience=10,
        sensitivity_target=0.95,
        specificity_target=0.85,
        selection="targets",
        threshold_rule="sensitivity_target",
        lr_schedule="constant",
        frozen=(),
        beat_loss_weight=1.0,
        beat_class_weights=(1.0, 4.0, 2.0, 2.0),
        rhythm_loss_weight=0.5,
    )
    return FitConfig(**(base | kw))


# --- model selection -----------------------------------------------------------------


def test_selector_keeps_best_gmean_until_targets_met():
    s = ModelSelector(sensitivity_target=0.95, specificity_target=0.85)
    assert s.consider(1, 0.80, 0.80)
    assert not s.consider(2, 0.99, 0.50)  # G 0.70 < 0.80
    assert s.consider(3, 0.90, 0.84)
    assert s.best_epoch == 3 and not s.targets_met


def test_selector_after_targets_met_only_target_epochs_win_by_sensitivity():
    s = ModelSelector(sensitivity_target=0.95, specificity_target=0.85)
    s.consider(1, 0.90, 0.90)
    assert s.consider(2, 0.95, 0.86)  # meets both targets: wins despite lower G-mean
    assert s.targets_met
    assert not s.consider(3, 0.99, 0.80)  # higher sensitivity but misses specificity
    assert not s.consider(4, 0.94, 0.99)  # misses sensitivity, G-mean irrelevant now
    assert s.consider(5, 0.97, 0.85)  # meets both with higher sensitivity
    assert s.best_epoch == 5


def test_selector_one_class_model_still_selected():
    s = ModelSelector(sensitivity_target=0.95, specificity_target=0.85)
    assert s.consider(1, 1.0, 0.0)  # predicts Arrhythmia throughout: G = 0, still a best
    assert s.best_epoch == 1 and not s.targets_met
    assert not s.consider(2, 0.0, 1.0)


def test_selector_state_round_trip():
    s = ModelSelector(sensitivity_target=0.9, specificity_target=0.8)
    s.consider(1, 0.95, 0.9)
    t = ModelSelector(sensitivity_target=0.9, specificity_target=0.8)
    t.load_state_dict(s.state_dict())
    assert (t.best_epoch, t.best_key, t.targets_met) == (s.best_epoch, s.best_key, True)


# --- threshold -----------------------------------------------------------------------


def test_threshold_reaches_sensitivity_with_highest_specificity():
    labels = np.array([1, 1, 1, 1, 0, 0, 0, 0, 0, 0])
    scores = np.array([0.9, 0.8, 0.6, 0.3, 0.7, 0.5, 0.2, 0.1, 0.05, 0.4])
    t, rule = choose_threshold(labels, scores, sensitivity_target=0.75)
    assert rule == "sensitivity_target" and t == pytest.approx(0.6)
    m = binary_metrics(labels, (scores >= t).astype(int))
    assert m["sensitivity"] == 0.75 and m["specificity"] == pytest.approx(5 / 6)
    t, _ = choose_threshold(labels, scores, sensitivity_target=1.0)
    assert t == pytest.approx(0.3)


def test_threshold_falls_back_to_youden_without_positives():
    labels = np.zeros(6, dtype=int)
    _, rule = choose_threshold(labels, np.linspace(0, 1, 6), sensitivity_target=0.95)
    assert rule == "youden"


# --- fit -----------------------------------------------------------------------------


def test_stage1_freezes_fc1_bit_identical(tmp_path):
    model = toy_model()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    fit(
        model,
        toy_data(64, 0),
        toy_data(32, 1),
        config(num_epochs=2, frozen=("fc1",)),
        seed=7,
        device=torch.device("cpu"),
        best_path=tmp_path / "best.pt",
        last_path=tmp_path / "last.pt",
        log=lambda _: None,
    )
    assert not any(p.requires_grad for p in model.fc1.parameters())
    assert torch.equal(model.fc1.weight, before["fc1.weight"])
    assert torch.equal(model.fc1.bias, before["fc1.bias"])
    assert not torch.equal(model.fc2.weight, before["fc2.weight"])
    ckpt = torch.load(tmp_path / "last.pt", weights_only=True)
    trained = {id(p) for g in ckpt["optimizer_state_dict"]["param_groups"] for p in g["params"]}
    assert len(trained) == 4  # fc2, fc3 weights and biases only


def test_fit_checkpoint_keys_and_threshold(tmp_path):
    fit(
        toy_model(),
        toy_data(64, 0),
        toy_data(32, 1),
        config(stage="2"),
        seed=7,
        device=torch.device("cpu"),
        best_path=tmp_path / "best.pt",
        log=lambda _: None,
    )
    ckpt = torch.load(tmp_path / "best.pt", weights_only=True)
    for key in (
        "model_state_dict",
        "optimizer_state_dict",
        "config",
        "val_acc",
        "val_loss",
        "val_sensitivity",
        "val_specificity",
        "val_g_mean",
        "threshold",
        "history",
        "targets_met",
        "epoch",
        "stage",
    ):
        assert key in ckpt, key
    assert 0.0 <= ckpt["threshold"] <= 1.0 and ckpt["threshold_rule"] == "sensitivity_target"
    assert ckpt["val_at_threshold"]["sensitivity"] >= 0.95
    rebuilt = load_model(tmp_path / "best.pt", arch="deep")
    assert config_dict(rebuilt) == ckpt["config"]


def test_resume_ends_exactly_like_uninterrupted_run(tmp_path):
    train, val = toy_data(64, 0), toy_data(32, 1)
    cfg = config(num_epochs=4, stage="2")
    cpu = torch.device("cpu")
    full = fit(
        toy_model(),
        train,
        val,
        cfg,
        seed=7,
        device=cpu,
        best_path=tmp_path / "a/best.pt",
        last_path=tmp_path / "a/last.pt",
        log=lambda _: None,
    )

    def interrupt_after_epoch_2(line: str) -> None:
        if "epoch   2" in line:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        fit(
            toy_model(),
            train,
            val,
            cfg,
            seed=7,
            device=cpu,
            best_path=tmp_path / "b/best.pt",
            last_path=tmp_path / "b/last.pt",
            log=interrupt_after_epoch_2,
        )
    assert torch.load(tmp_path / "b/last.pt", weights_only=True)["epoch"] == 2
    resumed = fit(
        toy_model(seed=99),
        train,
        val,
        cfg,
        seed=7,
        device=cpu,
        best_path=tmp_path / "b/best.pt",
        last_path=tmp_path / "b/last.pt",
        resume=True,
        log=lambda _: None,
    )
    assert resumed.history == full.history
    assert resumed.threshold == full.threshold and resumed.best_epoch == full.best_epoch
    a = torch.load(tmp_path / "a/best.pt", weights_only=True)["model_state_dict"]
    b = torch.load(tmp_path / "b/best.pt", weights_only=True)["model_state_dict"]
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_non_finite_loss_names_epoch_and_batch(tmp_path, monkeypatch):
    import ecg.train.loop as training

    class NanLoss(torch.nn.Module):
        def __init__(self, **_):
            super().__init__()

        def forward(self, out, targets, beats=None, rhythms=None):
            return out.logits.sum() * math.nan

    monkeypatch.setattr(training, "TaskLoss", NanLoss)
    with pytest.raises(ECGError, match=r"epoch 1, batch 1.*lower learning rate"):
        fit(
            toy_model(),
            toy_data(32, 0),
            toy_data(16, 1),
            config(),
            seed=7,
            device=torch.device("cpu"),
            best_path=tmp_path / "best.pt",
            last_path=tmp_path / "last.pt",
            log=lambda _: None,
        )
    assert (tmp_path / "last.pt").is_file()  # the last good state stays on disk


def test_single_class_split_is_an_error(tmp_path):
    data = toy_data(32, 0)
    one_class = ECGDataset(data.inputs, torch.zeros(32, dtype=torch.int64))
    with pytest.raises(ECGError, match="single class"):
        fit(
            toy_model(),
            one_class,
            data,
            config(),
            seed=7,
            device=torch.device("cpu"),
            best_path=tmp_path / "best.pt",
            log=lambda _: None,
        )


def test_one_class_predictions_warn_and_still_save(tmp_path):
    model = toy_model()
    with torch.no_grad():  # output layer never sees input: always the same class
        model.fc3.weight.zero_()
        model.fc3.bias.copy_(torch.tensor([5.0, -5.0]))
    lines: list[str] = []
    result = fit(
        model,
        toy_data(32, 0),
        toy_data(16, 1),
        config(num_epochs=1, frozen=("fc1", "fc2"), learning_rate=1e-12),
        seed=7,
        device=torch.device("cpu"),
        best_path=tmp_path / "best.pt",
        log=lines.append,
    )
    assert result.single_class and (tmp_path / "best.pt").is_file()
    assert any(line.startswith("warning:") and "predicts only class 0" in line for line in lines)
    assert not any("saved epoch" in line for line in lines)


# --- the design's training command ----------------------------------------------------

SUBJECTS = 10


def write_windows(path: Path, x: torch.Tensor, labels: torch.Tensor) -> None:
    n = len(labels)
    subjects = [str(100 + i % SUBJECTS) for i in range(n)]
    save_mitbih(
        path,
        inputs=x,
        labels=labels,
        patient_ids=subjects,
        record_ids=subjects,
        start_samples=np.zeros(n),
        segment_confidence=np.ones(n),
        sqi_scores=np.ones(n),
    )


@pytest.fixture
def cli_project(tmp_path):
    """Tiny params, windows of 10 subjects and pretrained checkpoints for `stages.train`."""
    from ecg.features.layout import MAX_BEATS, STEP_FEATURES

    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params.update(batch_size=16, lr_schedule="constant", selection="targets")
    params["stage1"]["num_epochs"] = 1
    params["stage2"]["num_epochs"] = 1
    params["crossval"] = {"models": ["deep", "beat", "logreg"], "product": "deep", "folds": 2,
                          "inner_folds": 2}  # fmt: skip
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    d = toy_data(80, 0)
    write_windows(tmp_path / "data/windows_ecg.pt", d.inputs, d.labels)
    g = torch.Generator().manual_seed(0)
    beats = 0.3 * torch.randn(80, MAX_BEATS * STEP_FEATURES, generator=g)
    beats[d.labels == 1] += 1.0
    write_windows(tmp_path / "data/windows_beats.pt", beats, d.labels)
    for name, model in (
        ("deep", toy_model()),
        ("beat", BeatSNN(BeatSNNConfig(hidden=(16, 8)))),
        ("logreg", LogisticBaseline(LogRegConfig())),
    ):
        torch.save(
            {"config": config_dict(model), "model_state_dict": model.state_dict()},
            tmp_path / f"{name}.pt",
        )
    return tmp_path


def run_train(project: Path, *args: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "stages.train", "--params", "params.yaml", "--data_dir", "data",
           "--output_dir", "out", "--device", "cpu", *args]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(cmd, cwd=project, capture_output=True, text=True, timeout=300, env=env)


def test_cli_both_stages_write_the_design_outputs(cli_project):
    r = run_train(cli_project, "--stage", "both", "--pretrained_model", "deep.pt")
    assert r.returncode == 0, r.stderr
    out = cli_project / "out"
    for path in (
        "config.json",
        "stage1/best_model.pt",
        "stage1/last.pt",
        "stage1/training_history.json",
        "stage2/best_model.pt",
        "stage2/training_history.json",
        "stage1/live/plots/metrics/val_g_mean.tsv",  # live per-epoch logs (DVCLive)
    ):
        assert (out / path).is_file(), path
    s2 = torch.load(out / "stage2/best_model.pt", weights_only=True)
    assert s2["stage"] == "2" and s2["pretrained_model"].endswith("stage1/best_model.pt")
    assert s2["ensemble"] == "final" and s2["member"] == 1
    assert not set(s2["train_subjects"]) & set(s2["val_subjects"])
    # Stage 1 freezes fc1: its weights are the pretrained ones, bit for bit.
    pre = torch.load(cli_project / "deep.pt", weights_only=True)["model_state_dict"]
    s1 = torch.load(out / "stage1/best_model.pt", weights_only=True)
    assert torch.equal(s1["model_state_dict"]["fc1.weight"], pre["fc1.weight"])
    assert s1["training_config"]["frozen"] == ["fc1"]
    assert set(os.listdir(cli_project)) == {"params.yaml", "data", "out", *PRETRAINED}


PRETRAINED = ("deep.pt", "beat.pt", "logreg.pt")


def test_cli_stage2_alone_from_stage1_checkpoint(cli_project):
    r = run_train(cli_project, "--stage", "1", "--pretrained_model", "deep.pt")
    assert r.returncode == 0, r.stderr
    r = run_train(cli_project, "--stage", "2")  # default start: out/stage1/best_model.pt
    assert r.returncode == 0, r.stderr
    s2 = torch.load(cli_project / "out/stage2/best_model.pt", weights_only=True)
    assert s2["pretrained_model"] == "out/stage1/best_model.pt"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--pretrained_model", "missing.pt"], "missing.pt"),
        (["--focal_alpha", "1.5"], "focal_alpha"),
        (["--learning_rate", "-1"], "learning_rate"),
        (["--num_epochs", "0"], "num_epochs"),
        (["--member", "9"], "--member 9"),
        (["--ensemble", "fold7"], "--ensemble fold7"),
    ],
)
def test_cli_errors_are_one_line(cli_project, args, message):
    if "--pretrained_model" not in args:
        args = [*args, "--pretrained_model", "deep.pt"]
    r = run_train(cli_project, "--stage", "1", *args)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and message in lines[0]
    assert "Traceback" not in r.stderr


def test_cli_wrong_architecture_and_wrong_data_format(cli_project):
    other = deep(input_size=LENGTH, hidden=(16, 4), num_steps=6)
    cfg = dict(config_dict(other), hidden=[16, 8])  # config claims one shape, weights another
    torch.save({"config": cfg, "model_state_dict": other.state_dict()}, cli_project / "wrong.pt")
    r = run_train(cli_project, "--stage", "1", "--pretrained_model", "wrong.pt")
    assert r.returncode == 2 and "wrong.pt" in r.stderr and "Traceback" not in r.stderr

    d = toy_data(8, 0)
    torch.save({"inputs": d.inputs, "labels": d.labels}, cli_project / "data/windows_ecg.pt")
    r = run_train(cli_project, "--stage", "1", "--pretrained_model", "deep.pt")
    assert r.returncode == 2 and "synthetic-format" in r.stderr


def test_cli_beat_model_reads_the_beat_windows(cli_project):
    r = run_train(
        cli_project, "--model", "beat", "--ensemble", "fold1", "--pretrained_model", "beat.pt"
    )
    assert r.returncode == 0, r.stderr
    best = torch.load(cli_project / "out/stage2/best_model.pt", weights_only=True)
    assert best["config"]["arch"] == "beat"


def test_cli_logreg_cannot_run_stage1(cli_project):
    args = ("--model", "logreg", "--ensemble", "dechazal", "--pretrained_model", "logreg.pt")
    r = run_train(cli_project, "--stage", "1", *args)
    assert r.returncode == 2 and "only fc1" in r.stderr and "Traceback" not in r.stderr
    r = run_train(cli_project, "--stage", "2", *args)
    assert r.returncode == 0, r.stderr
