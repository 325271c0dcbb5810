"""DVC stage `synthesize`: synthetic sinus-rhythm vs. arrhythmia ECG windows for pretraining,
written to data/synthetic/{train,val}_ecg.pt, and the same windows' beat-relative input
(from detected beats) to data/synthetic_beats/{train,val}_beats.pt."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ecg.atomic import save_torch, write_json  # noqa: E402
from ecg.beat_input import beat_input  # noqa: E402
from ecg.beats import detect_beats  # noqa: E402
from ecg.config import load_params  # noqa: E402
from ecg.errors import run_cli  # noqa: E402
from ecg.synthetic import TYPES, generate  # noqa: E402


def derived_seed(seed: int, stream: int) -> int:
    """An independent, reproducible seed per split (val must not replay train's draws)."""
    return int(np.random.SeedSequence([seed, stream]).generate_state(1)[0])


def split_metrics(labels: np.ndarray, meta: dict[str, np.ndarray]) -> dict:
    hr = meta["mean_hr"]
    return {
        "windows": int(len(labels)),
        "per_class": {"normal": int((labels == 0).sum()), "arrhythmia": int(labels.sum())},
        "per_type": {name: int((meta["type_code"] == i).sum()) for i, name in enumerate(TYPES)},
        "mean_hr_bpm": {
            "normal": round(float(hr[labels == 0].mean()), 2) if (labels == 0).any() else None,
            "arrhythmia": round(float(hr[labels == 1].mean()), 2) if (labels == 1).any() else None,
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--out_dir", default="data/synthetic")
    parser.add_argument("--beats_dir", default="data/synthetic_beats")
    parser.add_argument("--metrics", default="metrics/synthesize.json")
    args = parser.parse_args()
    params = load_params(args.params)
    syn, pre = params.synthesize, params.preprocess
    splits = {"train": (syn.n_train, params.seed), "val": (syn.n_val, derived_seed(params.seed, 1))}

    metrics: dict = {"seeds": {}, "splits": {}}
    start = time.perf_counter()
    for name, (n, seed) in splits.items():
        signals, labels, meta = generate(
            n,
            seed=seed,
            arrhythmia_fraction=syn.arrhythmia_fraction,
            fs=pre.fs,
            window=pre.window,
            band=tuple(pre.bandpass_hz),
            notch=pre.notch_hz,
            return_meta=True,
        )
        data = {"signals": torch.from_numpy(signals), "labels": torch.from_numpy(labels)}
        save_torch(data, Path(args.out_dir) / f"{name}_ecg.pt")
        t0 = time.perf_counter()
        beats = beat_input(signals, detect_beats(signals, pre.fs), pre.fs)
        save_torch(
            {"signals": torch.from_numpy(beats), "labels": data["labels"]},
            Path(args.beats_dir) / f"{name}_beats.pt",
        )
        metrics.setdefault("beat_input_seconds", {})[name] = round(time.perf_counter() - t0, 2)
        metrics["seeds"][name] = seed
        metrics["splits"][name] = split_metrics(labels, meta)
    metrics["seconds"] = round(time.perf_counter() - start, 2)
    write_json(metrics, args.metrics)
    tr, va = metrics["splits"]["train"], metrics["splits"]["val"]
    print(
        f"synthesize: train {tr['windows']} / val {va['windows']} windows "
        f"({tr['per_class']['arrhythmia']} / {va['per_class']['arrhythmia']} arrhythmia) "
        f"in {metrics['seconds']:.1f} s"
    )


if __name__ == "__main__":
    run_cli(main)
