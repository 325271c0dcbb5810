"""Files on disk: atomic writes (a reader never sees a half-written output; an error leaves
the earlier file intact) and safe torch loads (tensors and plain Python types only)."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import pickle
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch

from ecg.core.errors import ECGError


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside `path`; rename it over `path` only on success."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as err:
        raise ECGError(f"{path}: cannot write ({_reason(err)})") from None
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        # mkstemp creates 0600; give the output the usual umask-based mode.
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except OSError as err:
        raise ECGError(f"{path}: cannot write ({_reason(err)})") from None
    finally:
        if tmp.exists():
            tmp.unlink()


@contextmanager
def atomic_dir(path: str | os.PathLike) -> Iterator[Path]:
    """Yield an empty temporary folder beside `path`; on success it replaces `path` whole,
    so a failure leaves the earlier folder (every file of the last good run) untouched."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    except OSError as err:
        raise ECGError(f"{path}: cannot write ({_reason(err)})") from None
    try:
        yield tmp
        os.chmod(tmp, 0o777 & ~_umask())
        old = path.with_name(f".{path.name}.old")
        if old.exists():
            shutil.rmtree(old)
        if path.exists():
            path.rename(old)
        tmp.rename(path)
        if old.exists():
            shutil.rmtree(old)
    except OSError as err:
        raise ECGError(f"{path}: cannot write ({_reason(err)})") from None
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)


def _umask() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return umask


def _reason(err: OSError) -> str:
    if err.errno == errno.ENOSPC:
        return "no space left on the device"
    if err.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return "permission denied or read-only location"
    return err.strerror or type(err).__name__


def file_sha256(path: str | os.PathLike) -> str:
    """SHA-256 of a file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def save_torch(obj: Any, path: str | os.PathLike) -> None:
    # Through a file handle: given a path, torch names the archive's inner folder after the
    # (random) temp file, so identical tensors would hash differently run to run.
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        torch.save(obj, f)


def write_json(obj: Any, path: str | os.PathLike) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=False) + "\n")


def write_text(text: str, path: str | os.PathLike) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def load_torch(path: str | os.PathLike, *, what: str) -> Any:
    """`torch.load(path, weights_only=True)` on CPU; a missing, corrupt or unsafe file is a
    one-line `ECGError` naming it (`what` says what the file should be)."""
    path = Path(path)
    if not path.is_file():
        raise ECGError(f"{path}: {what} not found")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        if zipfile.is_zipfile(path):  # a torch.save archive whose pickle holds more than data
            # torch's message goes on to suggest an unsafe load: never pass that on.
            raise ECGError(
                f"{path}: refused: it holds pickled Python objects; only tensors and plain "
                "values are ever loaded"
            ) from None
        raise ECGError(f"{path}: not a PyTorch {what} (UnpicklingError)") from None
    except Exception as err:  # zip and storage errors have many types
        raise ECGError(f"{path}: not a PyTorch {what} ({type(err).__name__})") from None
