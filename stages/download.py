"""DVC stage `download`: the 48 MIT-BIH records into data/raw/mitdb.

Source: PhysioNet (through wfdb), or the local mirror named by the environment variable
MITDB_DIR (offline use and CI).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ecg.config import load_params  # noqa: E402
from ecg.download import materialise  # noqa: E402
from ecg.errors import run_cli  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--out_dir", default="data/raw/mitdb")
    parser.add_argument(
        "--mirror",
        default=os.environ.get("MITDB_DIR") or None,
        help="local mirror of mitdb (default: $MITDB_DIR, else PhysioNet)",
    )
    args = parser.parse_args()
    params = load_params(args.params)
    source = materialise(
        args.out_dir, mirror=args.mirror, verify_checksums=params.download.verify_checksums
    )
    verified = "verified" if params.download.verify_checksums else "NOT verified"
    print(f"download: 48 records from {source} -> {args.out_dir} (SHA-256 {verified})")


if __name__ == "__main__":
    run_cli(main)
