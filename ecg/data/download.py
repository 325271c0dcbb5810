"""Materialise the 48 MIT-BIH records, from PhysioNet or a local mirror, checksum-verified."""

from __future__ import annotations

import shutil
import tempfile
from importlib import resources
from pathlib import Path

from ecg.core.errors import ECGError
from ecg.core.progress import progress
from ecg.core.storage import file_sha256
from ecg.data.mitdb import MITDB

EXTENSIONS = (".hea", ".dat", ".atr")
PHYSIONET_DB = MITDB.name
PHYSIONET_VERSION = MITDB.version


def expected_files() -> list[str]:
    return [f"{rid}{ext}" for rid in MITDB.RECORDS for ext in EXTENSIONS]


def published_sha256() -> dict[str, str]:
    """SHA-256 of every record file of mitdb 1.0.0, as PhysioNet publishes them."""
    text = resources.files("ecg").joinpath("data", "mitdb_sha256.txt").read_text()
    pairs = (line.split() for line in text.splitlines() if line.strip())
    return {name: digest for digest, name in pairs}


def verify(directory: Path, *, source: str) -> None:
    """Raise a one-line `ECGError` naming the first file that is missing or differs."""
    published = published_sha256()
    with progress(expected_files(), desc="verify sha256", unit="file") as names:
        for name in names:
            _verify_one(directory, name, published, source)


def _verify_one(directory: Path, name: str, published: dict[str, str], source: str) -> None:
    path = directory / name
    if not path.is_file():
        raise ECGError(f"{source}/{name}: file missing")
    if file_sha256(path) != published[name]:
        raise ECGError(
            f"{source}/{name}: SHA-256 does not match mitdb {PHYSIONET_VERSION} "
            "(corrupt or modified file)"
        )


def copy_mirror(mirror: Path, dest: Path) -> None:
    if not mirror.is_dir():
        raise ECGError(f"MITDB_DIR={mirror}: not a directory")
    with progress(expected_files(), desc=f"copy {mirror}", unit="file") as names:
        for name in names:
            src = mirror / name
            if not src.is_file():
                raise ECGError(f"{src}: file missing from the mirror")
            shutil.copyfile(src, dest / name)


def fetch_physionet(dest: Path) -> None:
    """Download the records with wfdb (the network path; tests replace this function)."""
    import wfdb

    try:
        wfdb.dl_database(
            PHYSIONET_DB, dl_dir=str(dest), records=list(MITDB.RECORDS), annotators=["atr"]
        )
    except Exception as err:
        raise ECGError(
            f"cannot download {PHYSIONET_DB} from PhysioNet ({type(err).__name__}: {err}); "
            "set MITDB_DIR to a local mirror to work offline"
        ) from None


def materialise(dest: str | Path, *, mirror: str | Path | None, verify_checksums: bool) -> str:
    """Fill `dest` with the 48 records; return a description of the source.

    Works in a temporary sibling folder and renames it into place only after every file is
    present and verified, so a failure never leaves a half-filled `dest`.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    source = str(mirror) if mirror else f"physionet:{PHYSIONET_DB}/{PHYSIONET_VERSION}"
    with tempfile.TemporaryDirectory(prefix=f".{dest.name}.", dir=dest.parent) as tmp:
        tmp = Path(tmp)
        if mirror:
            copy_mirror(Path(mirror), tmp)
        else:
            fetch_physionet(tmp)
        if verify_checksums:
            verify(tmp, source=source)
        else:
            missing = [n for n in expected_files() if not (tmp / n).is_file()]
            if missing:
                raise ECGError(f"{source}/{missing[0]}: file missing")
        # Keep only the record files, whatever else the source brought.
        for extra in set(p.name for p in tmp.iterdir()) - set(expected_files()):
            path = tmp / extra
            shutil.rmtree(path) if path.is_dir() else path.unlink()
        if dest.exists():
            shutil.rmtree(dest)
        tmp.rename(dest)
        tmp.mkdir()  # TemporaryDirectory cleans up a path that must exist
    return source
