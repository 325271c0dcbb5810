"""DVC stage `download`: the 48 MIT-BIH records into data/raw/mitdb.

Source: PhysioNet (through wfdb), or the local mirror named by the environment variable
MITDB_DIR (offline use and CI).
"""

from __future__ import annotations

import os

from ecg.core.cli import run_cli, stage_parser
from ecg.data.download import materialise
from ecg.params import load_params


def main(argv: list[str] | None = None) -> None:
    parser = stage_parser(__doc__, device=False)
    parser.add_argument("--out_dir", default="data/raw/mitdb")
    parser.add_argument(
        "--mirror",
        default=os.environ.get("MITDB_DIR") or None,
        help="local mirror of mitdb (default: $MITDB_DIR, else PhysioNet)",
    )
    args = parser.parse_args(argv)
    params = load_params(args.params)
    verify = params.download.verify_checksums
    source = materialise(args.out_dir, mirror=args.mirror, verify_checksums=verify)
    print(
        f"download: 48 records from {source} -> {args.out_dir} "
        f"(SHA-256 {'verified' if verify else 'NOT verified'})"
    )


if __name__ == "__main__":
    run_cli(main)
