"""Reference snnTorch loop vs the fast path of `DeepSNN`, side by side in one run.

    python -m benchmarks.bench_model [--quick] [--out metrics/bench.json] [--threads N]

Batch 32, default model (2500-256-128-2, T=100). For each encoding: training steps/s
(forward + focal loss + backward + Adam step) and inference windows/s, reference and fast.
For rate encoding it also times the dense first-layer matmuls of one training step alone
(forward [T*B, 2500] x [2500, 256] and the weight gradient): the fast step cannot beat that,
so their ratio is the share of the machine's matmul bound the fast path achieves.

Each figure is the best of several timed repeats (after warm-up): the machine is shared, and
the minimum is the least disturbed by other processes; medians are recorded too.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable

import torch

from benchmarks.machine import machine_info
from ecg.core.storage import write_json
from ecg.models.configs import DeepSNNConfig
from ecg.models.deep_snn import DeepSNN
from ecg.models.reference import ReferenceSNN
from ecg.train.losses import FocalLoss

BATCH = 32


def best_and_median(times: list[float]) -> dict[str, float]:
    return {"best_s": min(times), "median_s": statistics.median(times), "repeats": len(times)}


def timed_rounds(
    cases: dict[str, tuple[Callable[[], object], int]], rounds: int, budget_s: float
) -> dict[str, dict[str, float]]:
    """Time each case `n` times per round, rounds interleaved so that a burst of load from
    other processes hits every case alike; stop early once `budget_s` is spent."""
    for fn, _ in cases.values():  # warm-up: allocator, caches, lazy init
        fn()
    times: dict[str, list[float]] = {name: [] for name in cases}
    start = time.perf_counter()
    for done in range(rounds):
        if done and time.perf_counter() - start > budget_s:
            break
        for name, (fn, n) in cases.items():
            for _ in range(n):
                t0 = time.perf_counter()
                fn()
                times[name].append(time.perf_counter() - t0)
    return {name: best_and_median(ts) for name, ts in times.items()}


def windows(batch: int) -> torch.Tensor:
    x = torch.randn(batch, 2500).cumsum(1)
    return (x - x.mean(1, keepdim=True)) / x.std(1, keepdim=True)


def bench_encoding(encoding: str, quick: bool) -> dict:
    torch.manual_seed(0)
    model = DeepSNN(DeepSNNConfig(encoding=encoding))
    reference = ReferenceSNN(model)
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    loss_fn = FocalLoss(alpha=0.75, gamma=2.0)
    x, y = windows(BATCH), torch.randint(0, 2, (BATCH,))

    def train_step(use_reference: bool) -> None:
        model.train()
        opt.zero_grad(set_to_none=True)
        loss_fn((reference if use_reference else model)(x).logits, y).backward()
        opt.step()

    @torch.no_grad()
    def infer(use_reference: bool) -> None:
        model.eval()
        (reference if use_reference else model)(x)

    ref_n, fast_n, rounds = (1, 5, 1) if quick else (3, 15, 4)
    cases = {
        "reference_train": (lambda: train_step(True), ref_n),
        "fast_train": (lambda: train_step(False), fast_n),
        "reference_infer": (lambda: infer(True), ref_n),
        "fast_infer": (lambda: infer(False), fast_n),
    }
    if encoding == "rate":  # timed in the same rounds as the fast step it is compared with
        cases["first_layer_matmuls"] = (first_layer_matmuls(model), fast_n)
    t = timed_rounds(cases, rounds, budget_s=30.0)
    result = {
        name: {
            "train_steps_per_s": 1.0 / t[f"{name}_train"]["best_s"],
            "train_step_s": t[f"{name}_train"],
            "inference_windows_per_s": BATCH / t[f"{name}_infer"]["best_s"],
            "inference_batch_s": t[f"{name}_infer"],
        }
        for name in ("reference", "fast")
    }
    result["speedup"] = {
        "train": result["fast"]["train_steps_per_s"] / result["reference"]["train_steps_per_s"],
        "inference": result["fast"]["inference_windows_per_s"]
        / result["reference"]["inference_windows_per_s"],
    }
    if encoding == "rate":
        mm, fast = t["first_layer_matmuls"], t["fast_train"]
        flop = 2 * 2 * model.num_steps * BATCH * model.input_size * model.hidden[0]
        result["matmul_bound"] = {
            "what": "fc1 forward [T*B, F] x [F, H] + weight gradient [F, T*B] x [T*B, H], alone",
            "first_layer_matmul_s": mm,
            "first_layer_gflop": flop / 1e9,
            "matmul_gflop_per_s": flop / mm["best_s"] / 1e9,
            "fast_step_effective_gflop_per_s": flop / fast["best_s"] / 1e9,
            "achieved_share": mm["best_s"] / fast["best_s"],
            "achieved_share_median": mm["median_s"] / fast["median_s"],
        }
    return result


def first_layer_matmuls(model: DeepSNN) -> Callable[[], None]:
    """The first layer's dense matmuls of one rate-coded training step, on their own."""
    steps, hidden = model.num_steps, model.hidden[0]
    spikes = (torch.rand(steps * BATCH, model.input_size) < 0.4).float()
    weight = model.fc1.weight.detach().clone()
    grad_out = torch.randn(steps * BATCH, hidden)

    def run() -> None:
        torch.mm(spikes, weight.t())  # forward currents
        torch.mm(spikes.t(), grad_out)  # weight gradient, as autograd computes it for addmm

    return run


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats (smoke test)")
    parser.add_argument("--out", default="metrics/bench.json")
    parser.add_argument("--threads", type=int, help="torch.set_num_threads (default: torch's)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    started = time.perf_counter()
    machine = machine_info()
    summary = (
        f"{machine['cpu']}, {machine['nproc']} CPUs, {machine['system']}, "
        f"torch {machine['torch']} on {machine['torch_threads']} threads"
    )
    report = {
        "machine": {**machine, "summary": summary},
        "batch_size": BATCH,
        "quick": args.quick,
        "timing": "best of repeats after warm-up, cases interleaved (medians alongside)",
    }
    for encoding in ("direct", "rate"):
        report[encoding] = bench_encoding(encoding, args.quick)
        r = report[encoding]
        print(
            f"{encoding:6s} train  ref {r['reference']['train_steps_per_s']:8.2f} steps/s  "
            f"fast {r['fast']['train_steps_per_s']:8.2f} steps/s  "
            f"x{r['speedup']['train']:.1f}"
        )
        print(
            f"{encoding:6s} infer  ref {r['reference']['inference_windows_per_s']:8.1f} win/s"
            f"    fast {r['fast']['inference_windows_per_s']:8.1f} win/s    "
            f"x{r['speedup']['inference']:.1f}"
        )
    mb = report["rate"]["matmul_bound"]
    print(
        f"rate   first-layer matmuls {mb['first_layer_matmul_s']['best_s'] * 1e3:.1f} ms "
        f"({mb['matmul_gflop_per_s']:.0f} GFLOP/s) = {mb['achieved_share']:.0%} of a fast "
        f"training step"
    )
    report["summary"] = {
        "direct_train_speedup": report["direct"]["speedup"]["train"],
        "direct_inference_speedup": report["direct"]["speedup"]["inference"],
        "rate_train_speedup": report["rate"]["speedup"]["train"],
        "rate_inference_speedup": report["rate"]["speedup"]["inference"],
        "rate_matmul_bound_share": mb["achieved_share"],
    }
    report["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    report["wall_s"] = time.perf_counter() - started
    write_json(report, args.out)
    print(f"wrote {args.out} ({report['wall_s']:.0f} s; {summary})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
