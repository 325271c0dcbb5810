"""`ecg-snn export MODEL --to nir|torchscript OUT`."""

from __future__ import annotations

import argparse
from typing import Any

import torch

from ecg.core.storage import atomic_path
from ecg.export.nir_graph import to_nir
from ecg.export.torchscript import save_torchscript, to_torchscript
from ecg.models.checkpoint import load_scorer

FORMATS = ("nir", "torchscript")


def add_parser(commands: Any) -> None:
    p = commands.add_parser(
        "export",
        help="write the model as a NIR graph or a TorchScript module",
        description="Export MODEL (models/final/model.pt or any model checkpoint) to OUT.",
    )
    p.add_argument("model", metavar="MODEL")
    p.add_argument("--to", required=True, choices=FORMATS, dest="format")
    p.add_argument("out", metavar="OUT", help="output file (.nir: HDF5; .pt: TorchScript)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    scorer, meta = load_scorer(args.model)
    scorer.eval()
    members = list(scorer.members)
    threshold = meta.get("threshold")
    if args.format == "nir":
        import nir

        info = {"arch": scorer.arch, "source": str(args.model)}
        if "input" in meta:
            info["input"] = dict(meta["input"])
        graph = to_nir(members, threshold=float(threshold or 0.5), meta=info)
        with atomic_path(args.out) as tmp:
            nir.write(tmp, graph)
        what = f"NIR graph ({len(graph.nodes)} nodes, {len(members)} member(s))"
    else:
        width = scorer.input_width
        module = to_torchscript(scorer, torch.zeros(2, width))
        save_torchscript(module, args.out)
        what = f"TorchScript module ({len(members)} member(s), input [B, {width}])"
    if threshold is None:
        print(f"note: {args.model} has no decision threshold; the export states 0.5")
    print(f"export: {args.model} -> {args.out}: {what}")
    return 0
