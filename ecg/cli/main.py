"""`ecg-snn predict ...` and `ecg-snn export ...`: one parser per subcommand, one-line errors."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from ecg.cli import export, predict
from ecg.core.cli import run_cli


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ecg-snn", description="Arrhythmia detection in 10-s ECG windows by a spiking network."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    predict.add_parser(commands)
    export.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    # `predict a --lead II b`: argparse leaves `b` over once options split the records.
    args, rest = parser.parse_known_args(argv)
    if rest and args.command == "predict" and not any(r.startswith("-") for r in rest):
        args.records += rest
    elif rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    return args.run(args)


def cli() -> None:
    run_cli(main)


if __name__ == "__main__":
    cli()
