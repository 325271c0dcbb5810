"""The DVC DAG behaves as users expect, checked with the real `dvc` command line on a copy of
the project in a temporary git repository, with a tiny synthetic MIT-BIH mirror (no network):

1. `dvc repro` runs all nine stages in dependency order; a second `dvc repro` runs none;
   forcing preprocess and synthesize to rerun reproduces their outputs byte for byte.
2. `dvc exp run -S focal_alpha=0.8` reruns exactly stage1, stage2, evaluate and card, changes
   the final model users get, and `dvc exp show` lists the experiment with focal_alpha 0.8.
3. `dvc params diff` shows focal_alpha 0.75 -> 0.8 and nothing else; `dvc metrics diff`
   reports changed metrics of the fine-tuning stages only.
4. `dvc exp run -S batch_size=64` reruns the same stages and changes the final model.
5. After going back to the baseline, changing `preprocess.stride` reruns the stages that
   read the preprocess group and those below, never pretrain (its inputs did not change).

One test builds the pipeline once and walks through the steps in order; on failure the full
transcript of every command is printed.
"""

from __future__ import annotations

import csv
import io
import math
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.dvc_project import DVC, STAGES, DvcProject, ran_stages

pytestmark = pytest.mark.slow

# Small enough for two CPU cores in well under a minute of training in all.
TINY_PARAMS: dict[str, Any] = {
    "download.verify_checksums": False,  # the mirror is synthetic
    "synthesize.n_train": 64,
    "synthesize.n_val": 32,
    "pretrain.num_epochs": 1,
    "pretrain.batch_size": 32,
    "stage1.num_epochs": 1,
    "stage2.num_epochs": 1,
    "crossval.inner_folds": 2,
    "bootstrap.samples": 50,
    "model.gbm.trees": 10,
    "model.beat.hidden": [16, 8],
    "model.beat_ann.hidden": [16, 8],
    "model.deep.hidden": [16, 8],
    "model.deep.num_steps": 10,
}
MIRROR_SECONDS = 60  # six 10-s windows per record

TRANSFER_STAGES = ["stage1", "stage2", "evaluate", "card"]
TRANSFER_METRICS = {"metrics/stage1.json", "metrics/stage2.json", "metrics/cv.json"}
UPSTREAM_METRICS = {
    "metrics/detect.json",
    "metrics/preprocess.json",
    "metrics/synthesize.json",
    "metrics/pretrain.json",
}
FINAL = "models/final/model.pt"


def _stages_in(output: str, expected: list[str], what: str) -> None:
    ran = ran_stages(output)
    assert sorted(ran) == sorted(expected), (
        f"{what}: expected exactly {expected} to run, ran {ran}\n{output}"
    )
    assert len(ran) == len(set(ran)), f"{what}: a stage ran twice: {ran}\n{output}"


def _in_order(ran: list[str], *chain: str) -> bool:
    return all(ran.index(a) < ran.index(b) for a, b in zip(chain, chain[1:], strict=False))


def _find_experiment(node: Any, name: str) -> dict | None:
    """The `dvc exp show --json` entry whose name is `name`, wherever it is nested."""
    if isinstance(node, dict):
        if node.get("name") == name and "data" in node:
            return node
        children = node.values()
    elif isinstance(node, list):
        children = node
    else:
        return None
    for child in children:
        found = _find_experiment(child, name)
        if found is not None:
            return found
    return None


def _params_of(entry: dict) -> dict[str, Any]:
    return entry["data"]["params"]["params.yaml"]["data"]


def _old_new(diff: dict[str, dict[str, Any]]) -> dict[str, dict[str, tuple]]:
    """A `dvc params/metrics diff --json` document as {file: {key: (old, new)}}."""
    return {path: {k: (v["old"], v["new"]) for k, v in keys.items()} for path, keys in diff.items()}


def _same(old: Any, new: Any) -> bool:
    if isinstance(old, float) and isinstance(new, float) and math.isnan(old) and math.isnan(new):
        return True
    return old == new


def _changed(diff: dict[str, dict[str, Any]]) -> dict[str, dict[str, tuple]]:
    """{file: {key: (old, new)}} of the metrics that really changed: without NaN -> NaN,
    which DVC lists as a change. (No metric holds a wall time: those go to
    metrics/timings, which neither git nor DVC tracks.)"""
    out = {}
    for path, keys in _old_new(diff).items():
        real = {k: v for k, v in keys.items() if not _same(*v)}
        if real:
            out[path] = real
    return out


@pytest.fixture
def project(tmp_path: Path) -> DvcProject:
    from tests.wfdb_records import write_mirror

    if not DVC.is_file():
        pytest.skip(f"no dvc executable at {DVC}")
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    mirror = write_mirror(tmp_path / "mitdb", seconds=MIRROR_SECONDS, seed=0)
    proj = DvcProject.create(tmp_path / "project", mirror=mirror)
    proj.set_params(TINY_PARAMS)
    proj.commit("copy of the pipeline with tiny params")
    return proj


def test_dvc_dag(project: DvcProject) -> None:
    try:
        _walk_through(project)
    except BaseException:
        print("=== transcript of the dvc/git commands ===")
        print(project.transcript())
        raise


def _walk_through(p: DvcProject) -> None:
    root = p.root
    declared = list(yaml.safe_load((root / "dvc.yaml").read_text())["stages"])
    assert declared == list(STAGES), f"dvc.yaml stages changed; update this test: {declared}"

    # --- 1. a first repro runs everything, in dependency order; a second runs nothing -----
    out = p.dvc("repro")
    _stages_in(out, list(STAGES), "first dvc repro")
    ran = ran_stages(out)
    assert _in_order(ran, "download", "preprocess", "stage1", "stage2", "evaluate"), ran
    assert _in_order(ran, "synthesize", "pretrain", "stage1"), ran
    assert _in_order(ran, "download", "detect", "preprocess", "stage1"), ran
    assert _in_order(ran, "evaluate", "card"), ran
    for path in (
        "data/raw/mitdb/100.dat",
        "data/raw/nstdb/em.dat",
        "data/mitbih_processed/windows_beats.pt",
        "models/pretrained/beat.pt",
        "models/stage1/beat/fold1/member1.pt",
        "models/stage2/beat/final/member2.pt",
        "models/stage2/gbm/dechazal/member1.pt",
        FINAL,
        "models/final/MODEL_CARD.md",
        *sorted(TRANSFER_METRICS | UPSTREAM_METRICS),
        "dvc.lock",
    ):
        assert (root / path).is_file(), f"{path} missing after dvc repro\n{out}"

    out = p.dvc("repro")
    assert ran_stages(out) == [], f"second dvc repro reran stages\n{out}"
    assert "Data and pipelines are up to date" in out, out

    # The noise records are data of the pipeline: replacing them invalidates preprocess.
    noise = root / "data/raw/nstdb/em.dat"
    replaced = bytes(b ^ 0xFF for b in noise.read_bytes())
    noise.unlink()  # DVC may have linked the file to its cache
    noise.write_bytes(replaced)
    status = p.dvc_json("status")
    assert {"changed deps": {"data/raw/nstdb": "modified"}} in status.get("preprocess", []), status
    p.dvc("checkout", "--force", "data/raw/nstdb")
    assert "Data and pipelines are up to date" in p.dvc("status")

    # The data stages are byte-reproducible: forcing them to rerun leaves every output hash
    # as dvc.lock has it, so nothing downstream is invalidated.
    out = p.dvc("repro", "--force", "--single-item", "preprocess", "synthesize")
    _stages_in(out, ["preprocess", "synthesize"], "dvc repro -f -s preprocess synthesize")
    out = p.dvc("status")
    assert "Data and pipelines are up to date" in out, (
        f"rerunning preprocess/synthesize with the same inputs changed their outputs:\n{out}"
    )
    assert list((root / "metrics").glob("*.json")), "no metrics written"
    assert "metrics/timings" not in p.git("status", "--porcelain"), "timings must stay untracked"
    p.commit("baseline results")
    baseline_model = (root / FINAL).read_bytes()

    # --- 2. an experiment on a transfer-learning param reruns only the transfer stages ----
    out = p.dvc("exp", "run", "-S", "focal_alpha=0.8")
    _stages_in(out, TRANSFER_STAGES, "dvc exp run -S focal_alpha=0.8")
    match = re.search(r"Ran experiment\(s\):\s*(\S+)", out)
    assert match, f"no experiment name in the output of dvc exp run\n{out}"
    exp_name = match.group(1)

    shown = p.dvc_json("exp", "show")
    entry = _find_experiment(shown, exp_name)
    assert entry is not None, f"experiment {exp_name} not in `dvc exp show --json`:\n{shown}"
    assert _params_of(entry)["focal_alpha"] == pytest.approx(0.8), entry
    assert "metrics/cv.json" in entry["data"]["metrics"], entry
    assert (root / FINAL).read_bytes() != baseline_model, "focal_alpha left the product as it was"
    table = p.dvc("exp", "show", "--csv", "--drop", ".*", "--keep", "^(Experiment|focal_alpha)$")
    rows = {row["Experiment"]: row["focal_alpha"] for row in csv.DictReader(io.StringIO(table))}
    assert rows.get(exp_name) == "0.8", f"`dvc exp show --csv`:\n{table}"
    assert "0.75" in rows.values(), f"baseline missing from `dvc exp show --csv`:\n{table}"

    # The workspace holds the experiment, and its outputs match its dvc.lock.
    assert p.read_params()["focal_alpha"] == pytest.approx(0.8)
    out = p.dvc("status")
    assert "up to date" in out, f"dvc status after the experiment:\n{out}"

    # --- 3. params diff / metrics diff against the baseline commit -----------------------
    params_diff = _old_new(p.dvc_json("params", "diff"))
    assert params_diff == {"params.yaml": {"focal_alpha": (0.75, 0.8)}}, params_diff

    metrics_diff = p.dvc_json("metrics", "diff")
    changed = _changed(metrics_diff)
    assert changed, f"no metric changed with focal_alpha 0.75 -> 0.8: {metrics_diff}"
    assert set(changed) <= TRANSFER_METRICS, (
        f"metrics of stages that did not rerun changed: {sorted(set(changed) - TRANSFER_METRICS)}"
    )
    all_diff = p.dvc_json("metrics", "diff", "--all")
    assert set(all_diff) >= TRANSFER_METRICS | UPSTREAM_METRICS, sorted(all_diff)
    test_keys = all_diff["metrics/cv.json"]
    assert test_keys, all_diff
    for key, change in test_keys.items():
        assert "old" in change and "new" in change, (key, change)

    # --- 4. the design's batch size is a param of the product too -------------------------
    p.git("reset", "-q", "--hard")
    p.dvc("checkout", "--force")
    assert p.read_params()["focal_alpha"] == pytest.approx(0.75)
    assert (root / FINAL).read_bytes() == baseline_model
    out = p.dvc("exp", "run", "-S", "batch_size=64")
    _stages_in(out, TRANSFER_STAGES, "dvc exp run -S batch_size=64")
    assert (root / FINAL).read_bytes() != baseline_model, "batch_size left the product as it was"

    # --- 5. back to the baseline; a preprocess param reruns its readers and below ---------
    p.git("reset", "-q", "--hard")
    p.dvc("checkout", "--force")
    out = p.dvc("status")
    assert "up to date" in out, f"dvc status after returning to the baseline:\n{out}"

    stride = p.read_params()["preprocess"]["stride"]
    p.set_params({"preprocess.stride": stride // 2})  # overlapping windows: more of them
    out = p.dvc("repro")
    readers = ["detect", "preprocess", "synthesize"]  # pretrain: same synthetic data, no rerun
    _stages_in(out, [*readers, *TRANSFER_STAGES], "dvc repro after preprocess.stride")
    ran = ran_stages(out)
    assert _in_order(ran, "preprocess", "stage1", "stage2", "evaluate"), ran

    params_diff = _old_new(p.dvc_json("params", "diff"))
    assert params_diff == {"params.yaml": {"preprocess.stride": (stride, stride // 2)}}, params_diff
    metrics_diff = p.dvc_json("metrics", "diff")
    windows = metrics_diff.get("metrics/preprocess.json", {}).get("windows_total")
    assert windows and windows["new"] > windows["old"], metrics_diff
    assert not {"metrics/synthesize.json", "metrics/pretrain.json"} & set(_changed(metrics_diff)), (
        metrics_diff
    )
