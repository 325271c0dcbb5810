"""Materialise PhysioNet databases, from PhysioNet or a local mirror, checksum-verified: the 48
MIT-BIH records (`MITDB_FILES`) and the three NSTDB noise records (`NSTDB_NOISE_FILES`)."""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from ecg.core.errors import ECGError
from ecg.core.progress import progress
from ecg.core.storage import file_sha256
from ecg.data.mitdb import MITDB
from ecg.data.nstdb import NOISE_RECORDS


@dataclass(frozen=True)
class Database:
    """The record files taken from one PhysioNet database."""

    name: str  # PhysioNet's name; its published hashes are packaged as ecg/data/<name>_sha256.txt
    version: str
    records: tuple[str, ...]
    extensions: tuple[str, ...]
    annotators: tuple[str, ...] | None  # for wfdb.dl_database; None: no annotation files
    mirror_variable: str  # the environment variable naming a local mirror (for messages)

    @property
    def label(self) -> str:
        return f"{self.name} {self.version}"

    def expected_files(self) -> list[str]:
        return [f"{rid}{ext}" for rid in self.records for ext in self.extensions]


MITDB_FILES = Database(
    MITDB.name, MITDB.version, MITDB.RECORDS, (".hea", ".dat", ".atr"), ("atr",), "MITDB_DIR"
)
NSTDB_NOISE_FILES = Database("nstdb", "1.0.0", NOISE_RECORDS, (".hea", ".dat"), None, "NSTDB_DIR")


def default_nstdb_mirror() -> str | None:
    """$NSTDB_DIR, else `nstdb-noise` beside $MITDB_DIR when that folder exists, else None."""
    if os.environ.get("NSTDB_DIR"):
        return os.environ["NSTDB_DIR"]
    mitdb = os.environ.get("MITDB_DIR")
    beside = Path(mitdb).parent / "nstdb-noise" if mitdb else None
    return str(beside) if beside is not None and beside.is_dir() else None


def published_sha256(db: Database) -> dict[str, str]:
    """SHA-256 of every record file of `db`, as PhysioNet publishes them."""
    text = resources.files("ecg").joinpath("data", f"{db.name}_sha256.txt").read_text()
    pairs = (line.split() for line in text.splitlines() if line.strip())
    return {name: digest for digest, name in pairs}


def verify(db: Database, directory: Path, *, source: str) -> None:
    """Raise a one-line `ECGError` naming the first file that is missing or differs."""
    published = published_sha256(db)
    with progress(db.expected_files(), desc="verify sha256", unit="file") as names:
        for name in names:
            path = directory / name
            if not path.is_file():
                raise ECGError(f"{source}/{name}: file missing")
            if file_sha256(path) != published[name]:
                raise ECGError(
                    f"{source}/{name}: SHA-256 does not match {db.label} (corrupt or modified file)"
                )


def copy_mirror(db: Database, mirror: Path, dest: Path) -> None:
    if not mirror.is_dir():
        raise ECGError(f"{db.mirror_variable}={mirror}: not a directory")
    with progress(db.expected_files(), desc=f"copy {mirror}", unit="file") as names:
        for name in names:
            src = mirror / name
            if not src.is_file():
                raise ECGError(f"{src}: file missing from the mirror")
            shutil.copyfile(src, dest / name)


def fetch_physionet(db: Database, dest: Path) -> None:
    """Download the records with wfdb (the network path; tests replace this function)."""
    import wfdb

    annotators = list(db.annotators) if db.annotators is not None else None
    try:
        wfdb.dl_database(db.name, dl_dir=str(dest), records=list(db.records), annotators=annotators)
    except Exception as err:
        raise ECGError(
            f"cannot download {db.name} from PhysioNet ({type(err).__name__}: {err}); "
            f"set {db.mirror_variable} to a local mirror to work offline"
        ) from None


def materialise(
    db: Database, dest: str | Path, *, mirror: str | Path | None, verify_checksums: bool
) -> str:
    """Fill `dest` with the record files of `db`; return a description of the source.

    Works in a temporary sibling folder and renames it into place only after every file is
    present and verified, so a failure never leaves a half-filled `dest`.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    source = str(mirror) if mirror else f"physionet:{db.name}/{db.version}"
    expected = db.expected_files()
    with tempfile.TemporaryDirectory(prefix=f".{dest.name}.", dir=dest.parent) as tmp:
        tmp = Path(tmp)
        if mirror:
            copy_mirror(db, Path(mirror), tmp)
        else:
            fetch_physionet(db, tmp)
        if verify_checksums:
            verify(db, tmp, source=source)
        else:
            missing = [n for n in expected if not (tmp / n).is_file()]
            if missing:
                raise ECGError(f"{source}/{missing[0]}: file missing")
        # Keep only the record files, whatever else the source brought.
        for extra in set(p.name for p in tmp.iterdir()) - set(expected):
            path = tmp / extra
            shutil.rmtree(path) if path.is_dir() else path.unlink()
        if dest.exists():
            shutil.rmtree(dest)
        tmp.rename(dest)
        tmp.mkdir()  # TemporaryDirectory cleans up a path that must exist
    return source
