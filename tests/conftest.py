from __future__ import annotations

import os
from pathlib import Path

import pytest

from ecg.core.params_file import ParamsFile
from ecg.data.config import PreprocessConfig

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def one_worker(monkeypatch):
    """Work in this process: spawning worker processes costs seconds, and monkeypatched code
    would not reach them. tests/test_parallel.py checks that workers change no result."""
    monkeypatch.setenv("ECG_WORKERS", "1")


def pytest_collection_modifyitems(config, items):
    """`@pytest.mark.realdata` tests run only where MITDB_DIR names the MIT-BIH mirror."""
    if os.environ.get("MITDB_DIR"):
        return
    skip = pytest.mark.skip(reason="set MITDB_DIR to a MIT-BIH mirror to run real-data tests")
    for item in items:
        if "realdata" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def mitdb_dir() -> Path:
    """The real MIT-BIH mirror named by MITDB_DIR (skips the test when unset)."""
    path = os.environ.get("MITDB_DIR")
    if not path:
        pytest.skip("MITDB_DIR is not set")
    return Path(path)


@pytest.fixture(scope="session")
def nstdb_dir(mitdb_dir) -> Path:
    """The real NSTDB noise records: $NSTDB_DIR, else `nstdb-noise` beside the MIT-BIH mirror
    (skips the test when absent)."""
    path = Path(os.environ.get("NSTDB_DIR") or mitdb_dir.parent / "nstdb-noise")
    if not (path / "em.hea").is_file():
        pytest.skip(f"no NSTDB noise records in {path}")
    return path


@pytest.fixture(scope="session")
def pre_cfg() -> PreprocessConfig:
    """`preprocess` section of the project's params.yaml."""
    return ParamsFile(ROOT / "params.yaml").group("preprocess", PreprocessConfig)


@pytest.fixture(scope="session")
def tiny_mirror(tmp_path_factory) -> Path:
    """A synthetic 48-record mirror (60 s per record); treat it as read-only."""
    from tests.wfdb_records import write_mirror

    return write_mirror(tmp_path_factory.mktemp("tiny_mitdb"), seconds=60, seed=0)


def pytest_configure(config):
    # wfdb 4.3 with pandas 3 warns about `inplace=` on every read; not ours to fix.
    config.addinivalue_line("filterwarnings", "ignore:The inplace keyword:Warning")
