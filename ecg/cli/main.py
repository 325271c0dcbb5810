"""`ecg-snn predict ...`, `ecg-snn export ...`, `ecg-snn install-model PATH` and
`ecg-snn --version`: one parser per subcommand, one-line errors."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version

from ecg.cli import export, predict
from ecg.core.cli import run_cli
from ecg.core.errors import ECGError
from ecg.core.storage import file_sha256
from ecg.inference.deployed import load_model
from ecg.inference.model_lookup import find_model, install_model


def package_version() -> str:
    try:
        return version("ecg-snn")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown (not installed)"


def model_identity() -> str:
    """Which model `predict` would use, and what it is; or why there is none."""
    try:
        path = find_model()
        model = load_model(path)
    except ECGError as err:
        return f"model: none ({err})"
    meta = model.meta
    return (
        f"model: {path}\n  sha256 {file_sha256(path)}\n  {model.arch} ensemble of "
        f"{len(model.scorer.members)}, threshold {model.threshold:.4f}, lead {model.input.lead}"
        f"\n  trained on {len(meta.get('train_subjects', []))} subjects "
        f"({len(meta.get('train_records', []))} MIT-BIH records)"
    )


class VersionAction(argparse.Action):
    def __init__(self, option_strings, dest, **kwargs):
        super().__init__(option_strings, dest, nargs=0, help="show version and model, exit")

    def __call__(self, parser, namespace, values, option_string=None):
        print(f"ecg-snn {package_version()}\n{model_identity()}")
        parser.exit()


def add_install_parser(commands) -> None:
    p = commands.add_parser(
        "install-model",
        help="copy a model into the user data folder, where predict finds it from anywhere",
    )
    p.add_argument("model", metavar="MODEL", help="a deployable model (models/final/model.pt)")
    p.set_defaults(run=install)


def install(args: argparse.Namespace) -> int:
    load_model(args.model)  # refuse anything that is not a deployable model
    print(f"installed {args.model} -> {install_model(args.model)}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ecg-snn", description="Arrhythmia detection in 10-s ECG windows by a spiking network."
    )
    parser.add_argument("--version", action=VersionAction)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    predict.add_parser(commands)
    export.add_parser(commands)
    add_install_parser(commands)
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
