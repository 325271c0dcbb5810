"""Saving and loading every registered model: one checkpoint format.

A model checkpoint is a dict of tensors and plain values (it loads with
`torch.load(..., weights_only=True)`):

    config             {"arch": name, **fields of the architecture's config dataclass}
    model_state_dict   the weights

Training adds its own entries beside these (`ecg.train.checkpoint`). `load_model` rebuilds
the model from the config alone, checks every weight's name and shape, and names the file in
every error.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor

from ecg.core.config import as_dict, from_mapping
from ecg.core.errors import ECGError
from ecg.core.storage import load_torch
from ecg.models.base import ECGModel
from ecg.models.configs import CONFIGS
from ecg.models.ensemble import MeanEnsemble
from ecg.models.registry import model_class
from ecg.models.spiking import SpikingNetwork


def config_dict(model: ECGModel) -> dict[str, Any]:
    """The plain-data config stored in a checkpoint: `{"arch": ..., **fields}`."""
    return {"arch": model.arch, **as_dict(model.config)}


def model_payload(model: ECGModel) -> dict[str, Any]:
    """`config` and `model_state_dict` (detached CPU copies) of `model`."""
    return {
        "config": config_dict(model),
        "model_state_dict": {k: v.detach().cpu().clone() for k, v in model.state_dict().items()},
    }


def read_checkpoint(
    path_or_dict: str | os.PathLike | Mapping[str, Any], *, name: str = "checkpoint"
) -> tuple[str, Mapping]:
    """(name for messages, checkpoint) from a file or an already-loaded dict (`name`)."""
    if isinstance(path_or_dict, Mapping):
        ckpt = path_or_dict
    else:
        name = os.fspath(path_or_dict)
        ckpt = load_torch(name, what="checkpoint file")
    if not isinstance(ckpt, Mapping) or not all(
        isinstance(ckpt.get(key), Mapping) for key in ("config", "model_state_dict")
    ):
        raise ECGError(f"{name}: not a model checkpoint (needs 'config' and 'model_state_dict')")
    return name, ckpt


def checkpoint_arch(raw: Mapping[str, Any], *, source: str) -> str:
    """The `arch` a checkpoint's `config` dict names; one-line error when it names none."""
    if "arch" not in raw:
        raise ECGError(f"{source}: not a model checkpoint (config has no 'arch')")
    return raw["arch"]


def config_from_dict(raw: Mapping[str, Any], *, source: str) -> Any:
    """The config object a checkpoint's `config` dict describes (`arch` picks the class)."""
    fields = dict(raw)
    arch = checkpoint_arch(fields, source=source)
    del fields["arch"]
    model_class(arch, where=f"{source}: ")
    return from_mapping(CONFIGS[arch], fields, source=f"{source}: bad model config")


def load_model(
    path_or_dict: str | os.PathLike | Mapping[str, Any],
    *,
    arch: str | None = None,
    device: str | torch.device = "cpu",
    name: str = "checkpoint",
    **overrides: Any,
) -> ECGModel:
    """Rebuild the model a checkpoint holds, strictly; `arch` demands an architecture, and
    `overrides` replace config fields (e.g. `dropout=0.5` for fine-tuning)."""
    name, ckpt = read_checkpoint(path_or_dict, name=name)
    found = checkpoint_arch(ckpt["config"], source=name)
    if arch is not None and found != arch:
        raise ECGError(f"{name}: wrong architecture: expected {arch!r}, found {found!r}")
    config = config_from_dict(ckpt["config"], source=name)
    try:
        config = dataclasses.replace(config, **overrides)
    except TypeError as err:
        raise ECGError(f"{name}: bad model config: {err}") from None
    model = model_class(found)(config)
    _check_state(name, model.state_dict(), ckpt["model_state_dict"])
    model.load_state_dict(ckpt["model_state_dict"], strict=True)
    if isinstance(model, SpikingNetwork):
        # The config (with overrides) defines the neuron; the buffers are snnTorch's copies.
        model.refresh_neurons()
    return model.to(device)


def _check_state(name: str, expected: Mapping[str, Tensor], found: Mapping[str, Any]) -> None:
    missing = [k for k in expected if k not in found]
    unexpected = [k for k in found if k not in expected]
    if missing or unexpected:
        raise ECGError(
            f"{name}: wrong architecture: missing {missing[:4]}, unexpected {unexpected[:4]}"
        )
    for key, want in expected.items():
        have = found[key]
        if not isinstance(have, Tensor) or have.shape != want.shape:
            shape = tuple(have.shape) if isinstance(have, Tensor) else type(have).__name__
            raise ECGError(
                f"{name}: wrong architecture: {key} expected {tuple(want.shape)}, found {shape}"
            )


def ensemble_payload(members: list[dict[str, Any]], **meta: Any) -> dict[str, Any]:
    """An ensemble checkpoint: the members' shared `config`, each member's weights, and
    `meta` (threshold, training subjects, ...)."""
    configs = [m["config"] for m in members]
    if not configs or any(c != configs[0] for c in configs):
        raise ValueError("ensemble members must share one config")
    return {
        "config": configs[0],
        "members": [{"model_state_dict": m["model_state_dict"]} for m in members],
        **meta,
    }


def load_scorer(path: str | os.PathLike) -> tuple[MeanEnsemble, dict[str, Any]]:
    """The model a checkpoint holds, as an ensemble (a single model is one member), and the
    checkpoint's other entries (`threshold`, ...)."""
    name = os.fspath(path)
    ckpt = load_torch(name, what="model file")
    if not isinstance(ckpt, Mapping):
        raise ECGError(
            f"{name}: not a model checkpoint (it holds a {type(ckpt).__name__}, not a dict "
            "with 'config' and weights)"
        )
    if isinstance(ckpt.get("members"), list) and ckpt["members"]:
        members = [load_model({"config": ckpt["config"], **m}, name=name) for m in ckpt["members"]]
    else:
        members = [load_model(ckpt, name=name)]
    meta = {k: v for k, v in ckpt.items() if k not in ("members", "model_state_dict")}
    return MeanEnsemble(members), meta
