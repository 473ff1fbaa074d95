"""Held-out accuracy of the bundled SynthFACS face analyzer (per-AU r and MAE, mIoU, identity top-1).

    .venv/bin/python benchmarks/bench_synthfacs_analyzer.py [--weights PATH] [--n 2000] [--seed 0]

Renders ``n`` fresh faces from the evaluation seed range (disjoint from training) and prints
Markdown tables for benchmarks/RESULTS.md and the model card; ``--json`` also writes the numbers.
"""

from __future__ import annotations

import argparse
import json

import torch

from aufx.au.evaluate import evaluate
from aufx.au.model import BUNDLED_PATH, FaceAnalyzer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--weights", default=str(BUNDLED_PATH))
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    torch.set_num_threads(1)
    model = FaceAnalyzer.load(args.weights)
    report = evaluate(model, n=args.n, seed=args.seed)
    summary = report.summary()
    print(f"weights {args.weights}; {args.n} held-out renders (eval seed {args.seed})")
    print("\n| metric | value |\n|---|---|")
    for key in ("mean_r", "min_r", "mean_mae", "miou", "identity_top1"):
        print(f"| {key} | {summary[key]:.3f} |")
    print("\n| AU | r | MAE |\n|---|---|---|")
    for code, row in report.per_au.iterrows():
        print(f"| {code} | {row['r']:.3f} | {row['mae']:.3f} |")
    print("\n| part | IoU |\n|---|---|")
    for part, iou in report.part_iou.items():
        print(f"| {part} | {iou:.3f} |")
    if args.json:
        payload = {"summary": summary, "per_au": report.per_au.round(4).to_dict(orient="index"),
                   "part_iou": report.part_iou.round(4).to_dict()}  # fmt: skip
        with open(args.json, "w") as handle:
            json.dump(payload, handle, indent=2)


if __name__ == "__main__":
    main()
