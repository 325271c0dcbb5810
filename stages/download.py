"""DVC stage `download`: the 48 MIT-BIH records into data/raw/mitdb.

Source: PhysioNet (through wfdb), or the local mirror named by the environment variable
MITDB_DIR (offline use and CI).
"""

from __future__ import annotations

import os

from ecg.core.cli import run_cli, stage_parser
from ecg.core.params_file import ParamsFile
from ecg.data.config import DownloadConfig
from ecg.data.download import materialise


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
    args = parser.parse_args(argv)
    verify = load_config(ParamsFile(args.params)).verify_checksums
    source = materialise(args.out_dir, mirror=args.mirror, verify_checksums=verify)
    print(
        f"download: 48 records from {source} -> {args.out_dir} "
        f"(SHA-256 {'verified' if verify else 'NOT verified'})"
    )


if __name__ == "__main__":
    run_cli(main)
