"""Small deployable checkpoints for tests: an ensemble of untrained models (weights scaled
up so that their neurons spike), with a threshold and the pipeline's input description."""

from __future__ import annotations

from pathlib import Path

import torch

from ecg.core.storage import save_torch
from ecg.models.checkpoint import ensemble_payload, model_payload
from ecg.models.configs import CONFIGS
from ecg.models.registry import model_class

INPUT = {
    "lead": "MLII",
    "fs": 250,
    "window": 2500,
    "stride": 2500,
    "bandpass_hz": [0.5, 40.0],
    "notch_hz": 60.0,
    "sqi_threshold": 0.7,
}


def untrained_members(
    arch: str = "beat",
    *,
    members: int = 2,
    seed: int = 0,
    gain: float = 4.0,
    flat_readout: bool = False,
    **config_fields,
):
    """`flat_readout`: a beat model's readout without its prior (`ecg.models.heads`), so that
    beat classes and rhythms vary with the input (with the prior every beat reads N)."""
    torch.manual_seed(seed)
    if arch == "deep":
        config_fields = {"input_size": 2500, "num_steps": 20, **config_fields}
    config = CONFIGS[arch](**config_fields)
    models = []
    for _ in range(members):
        model = model_class(arch)(config)
        with torch.no_grad():
            readout_bias = model.fcs[-1].bias
            for p in model.parameters():
                if p is not readout_bias:  # the heads' prior stays a prior
                    p.mul_(gain)
            if flat_readout:
                model.fcs[-1].bias.zero_()
        models.append(model.eval())
    return models


def write_deployable(
    path: str | Path,
    *,
    arch: str = "beat",
    members: int = 2,
    threshold: float = 0.5,
    seed=0,
    flat_readout: bool = False,
    **config_fields,
) -> Path:
    """`config_fields`: of the architecture's config (e.g. a DeepSNN's `view`)."""
    untrained = untrained_members(
        arch, members=members, seed=seed, flat_readout=flat_readout, **config_fields
    )
    payload = ensemble_payload(
        [model_payload(m) for m in untrained],
        threshold=threshold,
        threshold_rule="test",
        input=dict(INPUT),
        train_subjects=["100"],
    )
    save_torch(payload, path)
    return Path(path)
