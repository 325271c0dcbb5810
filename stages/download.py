"""DVC stage `download`: the 48 MIT-BIH records into data/raw/mitdb and the three NSTDB noise
records (bw, em, ma) into data/raw/nstdb.

Source: PhysioNet (through wfdb), or local mirrors (offline use and CI): MIT-BIH from
$MITDB_DIR; NSTDB from $NSTDB_DIR, else `nstdb-noise` beside $MITDB_DIR when it exists.
"""

from __future__ import annotations

import os

from ecg.core.cli import run_cli, stage_parser
from ecg.core.params_file import ParamsFile
from ecg.data.config import DownloadConfig
from ecg.data.download import MITDB_FILES, NSTDB_NOISE_FILES, default_nstdb_mirror, materialise


def load_config(params: ParamsFile) -> DownloadConfig:
    return params.group("download", DownloadConfig)


def main(argv: list[str] | None = None) -> None:
    parser = stage_parser(__doc__)
    parser.add_argument("--out_dir", default="data/raw/mitdb")
    parser.add_argument(
        "--mirror",
        default=os.environ.get("MITDB_DIR") or None,
        help="local mirror of mitdb (default: $MITDB_DIR, else PhysioNet)",
    )
    parser.add_argument("--noise_out_dir", default="data/raw/nstdb")
    parser.add_argument(
        "--noise_mirror",
        default=default_nstdb_mirror(),
        help="local mirror of the NSTDB noise records (default: see above, else PhysioNet)",
    )
    args = parser.parse_args(argv)
    verify = load_config(ParamsFile(args.params)).verify_checksums
    checked = "verified" if verify else "NOT verified"
    for db, out, mirror in (
        (MITDB_FILES, args.out_dir, args.mirror),
        (NSTDB_NOISE_FILES, args.noise_out_dir, args.noise_mirror),
    ):
        source = materialise(db, out, mirror=mirror, verify_checksums=verify)
        print(f"download: {len(db.records)} {db.name} records from {source} -> {out} ({checked})")


if __name__ == "__main__":
    run_cli(main)
