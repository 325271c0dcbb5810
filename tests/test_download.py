"""Materialising the 48 MIT-BIH records and the 3 NSTDB noise records: checksums, missing
files, atomic output, the stage CLI.

The network is never touched: `ecg.data.download.fetch_physionet` (or `wfdb.dl_database`) is
replaced where a test takes the PhysioNet path, and mirrors are synthetic (or symlinks to the
real mirror).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import ecg.data.download
from ecg.core.errors import ECGError
from ecg.data.download import (
    MITDB_FILES,
    NSTDB_NOISE_FILES,
    Database,
    default_nstdb_mirror,
    materialise,
    published_sha256,
    verify,
)
from tests.conftest import ROOT
from tests.wfdb_records import sha256_table, write_noise

FILES = MITDB_FILES.expected_files()
NOISE_FILES = NSTDB_NOISE_FILES.expected_files()


@pytest.fixture
def mirror(tmp_path, tiny_mirror) -> Path:
    """A private copy of the synthetic mirror, free to break."""
    return Path(shutil.copytree(tiny_mirror, tmp_path / "mirror"))


@pytest.fixture
def tiny_checksums(monkeypatch, tiny_mirror):
    """Make the synthetic mirror's files the 'published' ones (of mitdb only)."""
    table = sha256_table(tiny_mirror)
    real = ecg.data.download.published_sha256

    def published(db: Database) -> dict[str, str]:
        return dict(table) if db is MITDB_FILES else real(db)

    monkeypatch.setattr(ecg.data.download, "published_sha256", published)
    return table


def flip_byte(path: Path, offset: int = 100) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))


def assert_nothing_written(parent: Path, before: set[str]) -> None:
    """No destination and no temporary folder left beside it."""
    assert {p.name for p in parent.iterdir()} == before


def one_line(err: pytest.ExceptionInfo) -> str:
    msg = str(err.value)
    assert msg and "\n" not in msg
    return msg


# --- from a mirror ----------------------------------------------------------------------


def test_materialise_copies_the_144_files_and_nothing_else(tmp_path, mirror, tiny_checksums):
    (mirror / "ANNOTATORS").write_text("atr\treference beat, rhythm, and signal quality\n")
    dest = tmp_path / "raw" / "mitdb"
    source = materialise(MITDB_FILES, dest, mirror=mirror, verify_checksums=True)
    assert source == str(mirror)
    assert sorted(p.name for p in dest.iterdir()) == sorted(FILES)
    assert (dest / "207.dat").read_bytes() == (mirror / "207.dat").read_bytes()
    assert [p.name for p in dest.parent.iterdir()] == ["mitdb"]  # no temp folder left


def test_checksum_mismatch_is_an_error_and_writes_nothing(tmp_path, mirror, tiny_checksums):
    flip_byte(mirror / "123.dat")
    parent = tmp_path / "raw"
    parent.mkdir()
    with pytest.raises(ECGError) as err:
        materialise(MITDB_FILES, parent / "mitdb", mirror=mirror, verify_checksums=True)
    msg = one_line(err)
    assert f"{mirror}/123.dat" in msg and "SHA-256 does not match" in msg
    assert_nothing_written(parent, set())


def test_without_verification_a_modified_file_is_accepted(tmp_path, mirror, tiny_checksums):
    flip_byte(mirror / "123.dat")
    dest = tmp_path / "mitdb"
    materialise(MITDB_FILES, dest, mirror=mirror, verify_checksums=False)
    assert (dest / "123.dat").read_bytes() == (mirror / "123.dat").read_bytes()


@pytest.mark.parametrize("verify_checksums", [True, False])
def test_file_missing_from_the_mirror_is_an_error_and_writes_nothing(
    tmp_path, mirror, tiny_checksums, verify_checksums
):
    (mirror / "231.hea").unlink()
    parent = tmp_path / "raw"
    parent.mkdir()
    with pytest.raises(ECGError) as err:
        materialise(MITDB_FILES, parent / "mitdb", mirror=mirror, verify_checksums=verify_checksums)
    msg = one_line(err)
    assert f"{mirror}/231.hea" in msg and "missing" in msg
    assert_nothing_written(parent, set())


def test_mirror_that_is_not_a_directory_is_an_error(tmp_path):
    with pytest.raises(ECGError) as err:
        materialise(
            MITDB_FILES, tmp_path / "mitdb", mirror=tmp_path / "nowhere", verify_checksums=True
        )
    assert "nowhere" in one_line(err) and "not a directory" in str(err.value)
    assert_nothing_written(tmp_path, set())


def test_failure_leaves_an_earlier_download_untouched(tmp_path, mirror, tiny_checksums):
    dest = tmp_path / "mitdb"
    materialise(MITDB_FILES, dest, mirror=mirror, verify_checksums=True)
    before = {p.name: p.read_bytes() for p in dest.iterdir()}
    flip_byte(mirror / "100.atr", offset=10)
    with pytest.raises(ECGError, match="100.atr"):
        materialise(MITDB_FILES, dest, mirror=mirror, verify_checksums=True)
    assert {p.name: p.read_bytes() for p in dest.iterdir()} == before
    assert_nothing_written(tmp_path, {"mitdb", "mirror"})


def test_success_replaces_an_earlier_destination(tmp_path, mirror, tiny_checksums):
    dest = tmp_path / "mitdb"
    dest.mkdir()
    (dest / "stale.txt").write_text("old")
    materialise(MITDB_FILES, dest, mirror=mirror, verify_checksums=True)
    assert sorted(p.name for p in dest.iterdir()) == sorted(FILES)


# --- from "PhysioNet" (fetch_physionet replaced) ------------------------------------------


def fake_fetch(mirror: Path, *, skip: str | None = None, fail_after: int | None = None):
    def fetch(db: Database, dest: Path) -> None:
        assert db is MITDB_FILES
        for i, name in enumerate(FILES):
            if fail_after is not None and i == fail_after:
                raise ECGError("cannot download mitdb from PhysioNet (ConnectionError: boom)")
            if name != skip:
                shutil.copyfile(mirror / name, dest / name)
        (dest / "RECORDS").write_text("100\n")
        (dest / "cache").mkdir()
        (dest / "cache" / "x").write_text("x")

    return fetch


def test_download_path_keeps_only_the_record_files(
    tmp_path, monkeypatch, tiny_mirror, tiny_checksums
):
    monkeypatch.setattr(ecg.data.download, "fetch_physionet", fake_fetch(tiny_mirror))
    dest = tmp_path / "mitdb"
    assert (
        materialise(MITDB_FILES, dest, mirror=None, verify_checksums=True)
        == "physionet:mitdb/1.0.0"
    )
    assert sorted(p.name for p in dest.iterdir()) == sorted(FILES)
    assert_nothing_written(tmp_path, {"mitdb"})


def test_interrupted_download_leaves_no_half_written_output(
    tmp_path, monkeypatch, tiny_mirror, tiny_checksums
):
    monkeypatch.setattr(
        ecg.data.download, "fetch_physionet", fake_fetch(tiny_mirror, fail_after=70)
    )
    with pytest.raises(ECGError, match="cannot download mitdb"):
        materialise(MITDB_FILES, tmp_path / "mitdb", mirror=None, verify_checksums=True)
    assert_nothing_written(tmp_path, set())


@pytest.mark.parametrize("verify_checksums", [True, False])
def test_download_missing_a_file_is_an_error(
    tmp_path, monkeypatch, tiny_mirror, tiny_checksums, verify_checksums
):
    monkeypatch.setattr(
        ecg.data.download, "fetch_physionet", fake_fetch(tiny_mirror, skip="208.dat")
    )
    with pytest.raises(ECGError) as err:
        materialise(MITDB_FILES, tmp_path / "mitdb", mirror=None, verify_checksums=verify_checksums)
    assert one_line(err) == "physionet:mitdb/1.0.0/208.dat: file missing"
    assert_nothing_written(tmp_path, set())


def test_download_with_a_corrupt_file_is_an_error(
    tmp_path, monkeypatch, tiny_mirror, tiny_checksums
):
    def fetch(db: Database, dest: Path) -> None:
        fake_fetch(tiny_mirror)(db, dest)
        flip_byte(dest / "222.atr", offset=20)

    monkeypatch.setattr(ecg.data.download, "fetch_physionet", fetch)
    with pytest.raises(ECGError, match=r"^physionet:mitdb/1\.0\.0/222\.atr: SHA-256"):
        materialise(MITDB_FILES, tmp_path / "mitdb", mirror=None, verify_checksums=True)
    assert_nothing_written(tmp_path, set())


# --- the NSTDB noise records -------------------------------------------------------------


@pytest.fixture
def noise_mirror(tmp_path) -> Path:
    """Synthetic bw/em/ma records, plus a file the output must not keep."""
    mirror = write_noise(tmp_path / "nstdb-noise", seconds=20, seed=1)
    (mirror / "SHA256SUMS.txt").write_text("not a record\n")
    return mirror


@pytest.fixture
def noise_checksums(monkeypatch, noise_mirror):
    """Make the synthetic noise records the 'published' nstdb ones."""
    table = {n: hashlib.sha256((noise_mirror / n).read_bytes()).hexdigest() for n in NOISE_FILES}
    real = ecg.data.download.published_sha256

    def published(db: Database) -> dict[str, str]:
        return dict(table) if db is NSTDB_NOISE_FILES else real(db)

    monkeypatch.setattr(ecg.data.download, "published_sha256", published)
    return table


def test_noise_records_from_a_mirror_are_copied_and_nothing_else(
    tmp_path, noise_mirror, noise_checksums
):
    dest = tmp_path / "raw" / "nstdb"
    assert materialise(NSTDB_NOISE_FILES, dest, mirror=noise_mirror, verify_checksums=True) == str(
        noise_mirror
    )
    assert sorted(p.name for p in dest.iterdir()) == sorted(NOISE_FILES)
    assert sorted(NOISE_FILES) == sorted(
        f"{n}.{e}" for n in ("bw", "em", "ma") for e in "hea dat".split()
    )
    assert (dest / "em.dat").read_bytes() == (noise_mirror / "em.dat").read_bytes()
    assert [p.name for p in dest.parent.iterdir()] == ["nstdb"]


def test_noise_checksum_mismatch_names_the_file_and_writes_nothing(
    tmp_path, noise_mirror, noise_checksums
):
    flip_byte(noise_mirror / "em.dat")
    parent = tmp_path / "raw"
    parent.mkdir()
    with pytest.raises(ECGError) as err:
        materialise(NSTDB_NOISE_FILES, parent / "nstdb", mirror=noise_mirror, verify_checksums=True)
    assert one_line(err).startswith(f"{noise_mirror}/em.dat: SHA-256 does not match nstdb 1.0.0")
    assert_nothing_written(parent, set())


def test_synthetic_noise_fails_the_real_published_checksums(tmp_path, noise_mirror):
    with pytest.raises(ECGError, match=r"/bw\.hea: SHA-256 does not match nstdb 1\.0\.0"):
        materialise(
            NSTDB_NOISE_FILES, tmp_path / "nstdb", mirror=noise_mirror, verify_checksums=True
        )
    assert not (tmp_path / "nstdb").exists()


def test_noise_from_physionet_asks_wfdb_for_the_three_records_without_annotations(
    tmp_path, monkeypatch, noise_mirror, noise_checksums
):
    import wfdb

    calls = []

    def dl_database(db_dir, dl_dir, records, annotators):
        calls.append((db_dir, records, annotators))
        for name in NOISE_FILES:
            shutil.copyfile(noise_mirror / name, Path(dl_dir) / name)

    monkeypatch.setattr(wfdb, "dl_database", dl_database)
    dest = tmp_path / "out" / "nstdb"
    assert materialise(NSTDB_NOISE_FILES, dest, mirror=None, verify_checksums=True) == (
        "physionet:nstdb/1.0.0"
    )
    assert calls == [("nstdb", ["bw", "em", "ma"], None)]
    assert sorted(p.name for p in dest.iterdir()) == sorted(NOISE_FILES)


def test_failed_noise_download_is_one_line_naming_the_variable(tmp_path, monkeypatch):
    import wfdb

    def dl_database(*args, **kwargs):
        raise ConnectionError("boom")

    monkeypatch.setattr(wfdb, "dl_database", dl_database)
    with pytest.raises(ECGError) as err:
        materialise(NSTDB_NOISE_FILES, tmp_path / "nstdb", mirror=None, verify_checksums=True)
    assert one_line(err) == (
        "cannot download nstdb from PhysioNet (ConnectionError: boom); "
        "set NSTDB_DIR to a local mirror to work offline"
    )
    assert_nothing_written(tmp_path, set())


def test_noise_mirror_default(tmp_path, monkeypatch):
    mitdb = tmp_path / "physionet" / "mitdb"
    monkeypatch.delenv("NSTDB_DIR", raising=False)
    monkeypatch.delenv("MITDB_DIR", raising=False)
    assert default_nstdb_mirror() is None  # PhysioNet
    monkeypatch.setenv("MITDB_DIR", str(mitdb))
    assert default_nstdb_mirror() is None  # nothing beside the MIT-BIH mirror
    (tmp_path / "physionet" / "nstdb-noise").mkdir(parents=True)
    assert default_nstdb_mirror() == str(tmp_path / "physionet" / "nstdb-noise")
    monkeypatch.setenv("NSTDB_DIR", str(tmp_path / "elsewhere"))
    assert default_nstdb_mirror() == str(tmp_path / "elsewhere")


# --- published checksums and the real mirror ---------------------------------------------


def test_published_checksums_cover_exactly_the_record_files():
    for db, count in ((MITDB_FILES, 144), (NSTDB_NOISE_FILES, 6)):
        table = published_sha256(db)
        assert len(db.expected_files()) == count and sorted(table) == sorted(db.expected_files())
        assert all(re.fullmatch(r"[0-9a-f]{64}", d) for d in table.values())


@pytest.mark.realdata
def test_real_mirror_matches_the_published_checksums(mitdb_dir):
    verify(MITDB_FILES, mitdb_dir, source=str(mitdb_dir))  # raises on the first mismatch


@pytest.mark.realdata
def test_real_noise_mirror_matches_the_published_checksums(mitdb_dir):
    nstdb = Path(os.environ.get("NSTDB_DIR") or mitdb_dir.parent / "nstdb-noise")
    if not nstdb.is_dir():
        pytest.skip(f"no NSTDB noise records in {nstdb}")
    verify(NSTDB_NOISE_FILES, nstdb, source=str(nstdb))


@pytest.mark.realdata
def test_flipped_byte_in_a_real_file_is_caught(tmp_path, mitdb_dir):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    for name in FILES:  # symlinks to the real files, except one corrupted copy
        (mirror / name).symlink_to(mitdb_dir / name)
    (mirror / "105.dat").unlink()
    shutil.copyfile(mitdb_dir / "105.dat", mirror / "105.dat")
    flip_byte(mirror / "105.dat", offset=123456)
    with pytest.raises(ECGError) as err:
        materialise(MITDB_FILES, tmp_path / "out" / "mitdb", mirror=mirror, verify_checksums=True)
    assert f"{mirror}/105.dat: SHA-256 does not match mitdb 1.0.0" in one_line(err)
    assert_nothing_written(tmp_path / "out", set())


# --- the stage CLI ----------------------------------------------------------------------


def rendered_lines(stderr: str) -> list[str]:
    """stderr as a terminal shows it: tqdm redraws its bar in place with carriage returns
    and clears it (leave=False), so only the text after the last CR of a line remains."""
    return [
        line.rsplit("\r", 1)[-1].rstrip()
        for line in stderr.split("\n")
        if line.rsplit("\r", 1)[-1].strip()
    ]


@pytest.mark.parametrize(
    ("breakage", "expected"),
    [
        ("missing", r"error: {m}/117\.atr: file missing from the mirror"),
        # the synthetic files differ from mitdb 1.0.0: the first file checked is named
        ("checksum", r"error: {m}/100\.hea: SHA-256 does not match mitdb 1\.0\.0 .*"),
    ],
)
def test_download_stage_fails_with_one_error_line(tmp_path, mirror, breakage, expected):
    if breakage == "missing":
        (mirror / "117.atr").unlink()
    out = tmp_path / "data" / "raw" / "mitdb"
    env = {**os.environ, "MITDB_DIR": str(mirror)}
    proc = subprocess.run(
        [sys.executable, "-m", "stages.download", "--out_dir", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        timeout=120,
    )  # bytes, not text=True: universal newlines would turn tqdm's CRs into line breaks
    stderr = proc.stderr.decode()
    assert proc.returncode == 2
    assert "Traceback" not in stderr
    lines = rendered_lines(stderr)
    assert len(lines) == 1, stderr
    assert re.fullmatch(expected.format(m=re.escape(str(mirror))), lines[0]), lines[0]
    assert proc.stdout == b""
    assert not out.exists() and list(out.parent.iterdir()) == []


def test_download_stage_writes_both_databases(tmp_path, mirror, noise_mirror):
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["download"]["verify_checksums"] = False  # the mirrors are synthetic
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    raw = tmp_path / "data" / "raw"
    env = {**os.environ, "MITDB_DIR": str(mirror), "NSTDB_DIR": str(noise_mirror)}
    proc = subprocess.run(
        [sys.executable, "-m", "stages.download", "--params", str(tmp_path / "params.yaml"),
         "--out_dir", str(raw / "mitdb"), "--noise_out_dir", str(raw / "nstdb")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in (raw / "mitdb").iterdir()) == sorted(FILES)
    assert sorted(p.name for p in (raw / "nstdb").iterdir()) == sorted(NOISE_FILES)
    assert f"3 nstdb records from {noise_mirror} -> {raw / 'nstdb'} (NOT verified)" in proc.stdout


def test_download_stage_names_the_missing_noise_file(tmp_path, mirror, noise_mirror):
    (noise_mirror / "ma.hea").unlink()
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["download"]["verify_checksums"] = False
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    out = tmp_path / "data" / "raw" / "nstdb"
    env = {**os.environ, "MITDB_DIR": str(mirror), "NSTDB_DIR": str(noise_mirror)}
    proc = subprocess.run(
        [sys.executable, "-m", "stages.download", "--params", str(tmp_path / "params.yaml"),
         "--out_dir", str(tmp_path / "mitdb"), "--noise_out_dir", str(out)],
        cwd=ROOT, env=env, capture_output=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 2
    assert rendered_lines(proc.stderr.decode()) == [
        f"error: {noise_mirror}/ma.hea: file missing from the mirror"
    ]
    assert not out.exists() and list(out.parent.iterdir()) == []
