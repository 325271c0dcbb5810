"""The registry of model classes: `@register` on a model class (whose `config_class` is one of
`ecg.models.configs`) makes it buildable by its architecture name.

Importing `ecg.models.registry` imports every model module, so that each has registered
itself by the time `model_class` or `build_model` is called.
"""

from __future__ import annotations

from typing import Any, TypeVar

from ecg.core.errors import ECGError
from ecg.models.configs import CONFIGS

M = TypeVar("M", bound=type)

ARCHITECTURES: dict[str, type] = {}  # name -> model class


def register(cls: M) -> M:
    """Class decorator: register `cls` under `cls.config_class.arch`."""
    arch = cls.config_class.arch
    if CONFIGS.get(arch) is not cls.config_class or arch in ARCHITECTURES:
        raise ValueError(f"{cls.__name__}: architecture {arch!r} unknown or registered twice")
    cls.arch = arch
    ARCHITECTURES[arch] = cls
    return cls


def model_class(arch: Any, *, where: str = "") -> type:
    if arch not in ARCHITECTURES:
        raise ECGError(
            f"{where}unknown model architecture {arch!r}; expected one of {', '.join(CONFIGS)}"
        )
    return ARCHITECTURES[arch]


def build_model(config: Any) -> Any:
    """A fresh model from its config object (the config's class names the architecture)."""
    return model_class(config.arch)(config)


# Every model module, so that each registers itself (they import `register` from here).
from ecg.models import beat_ann, beat_snn, deep_snn, logreg  # noqa: E402, F401, I001
