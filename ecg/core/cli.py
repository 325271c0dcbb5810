"""Command-line conventions shared by the pipeline stages and `ecg-snn`: the `--params` flag,
the device names, and `run_cli`, which turns a user mistake into one line and exit 2."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from ecg.core.errors import ECGError

DEVICES = ("auto", "cpu", "cuda", "mps")


def stage_parser(doc: str | None) -> argparse.ArgumentParser:
    """An argument parser described by the first line of `doc`, with `--params`."""
    parser = argparse.ArgumentParser(description=(doc or "").strip().splitlines()[0])
    parser.add_argument("--params", default="params.yaml", help="params file (params.yaml)")
    return parser


def run_cli(main: Callable[[Sequence[str] | None], int | None], argv=None) -> None:
    """Run `main(argv)`: `ECGError` -> `error: ...` on stderr and exit 2; Ctrl-C -> exit 130."""
    try:
        code = main(argv)
    except ECGError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
    sys.exit(code or 0)
