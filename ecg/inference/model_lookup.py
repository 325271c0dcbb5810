"""Where `ecg-snn` finds the model, from any folder, in this order:

1. `--model PATH`, when given;
2. the file named by the environment variable `ECG_SNN_MODEL`;
3. the pipeline's `models/final/model.pt` in the repository this package runs from (a
   checkout after `dvc repro`);
4. `model.pt` in the user data folder (`platformdirs.user_data_dir("ecg-snn")`), where
   `ecg-snn install-model PATH` puts a copy.

The first that exists wins; when none does, the error lists every place looked.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import platformdirs

from ecg.core.errors import ECGError
from ecg.core.storage import atomic_path

ENV_VAR = "ECG_SNN_MODEL"
REPO_MODEL = Path(__file__).resolve().parents[2] / "models" / "final" / "model.pt"


def user_model_path() -> Path:
    return Path(platformdirs.user_data_dir("ecg-snn")) / "model.pt"


def candidates(explicit: str | os.PathLike | None = None) -> list[tuple[str, Path]]:
    """(how it was named, path) of every place looked, in order."""
    out = []
    if explicit is not None:
        return [("--model", Path(explicit))]
    if os.environ.get(ENV_VAR):
        out.append((f"${ENV_VAR}", Path(os.environ[ENV_VAR])))
    out.append(("the repository's pipeline output", REPO_MODEL))
    out.append(("the user data folder", user_model_path()))
    return out


def find_model(explicit: str | os.PathLike | None = None) -> Path:
    """The model file to use; `ECGError` listing the places looked when there is none."""
    looked = candidates(explicit)
    for what, path in looked:
        if path.is_file():
            return path
        if what in ("--model", f"${ENV_VAR}"):
            # A model the user named (--model, $ECG_SNN_MODEL) must exist: another one
            # silently used instead would score with a model they did not choose.
            raise ECGError(f"{path}: model file not found ({what})")
    places = "; ".join(f"{what}: {path}" for what, path in looked)
    raise ECGError(
        f"no model found (looked in {places}); run `dvc repro`, pass --model PATH, set "
        f"{ENV_VAR}, or `ecg-snn install-model PATH`"
    )


def install_model(source: str | os.PathLike) -> Path:
    """Copy `source` into the user data folder (atomically); returns where it went."""
    source = Path(source)
    if not source.is_file():
        raise ECGError(f"{source}: model file not found")
    dest = user_model_path()
    with atomic_path(dest) as tmp:
        shutil.copyfile(source, tmp)
    return dest
