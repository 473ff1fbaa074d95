"""Held-out accuracy of the bundled SynthFACS face analyzer (per-AU r and MAE, mIoU, identity top-1).

    .venv/bin/python benchmarks/bench_synthfacs_analyzer.py [--weights PATH] [--n 2000] [--seed 0]

Renders ``n`` fresh faces from the evaluation seed range (disjoint from training) and prints
Markdown tables for benchmarks/RESULTS.md and the model card; ``--json`` also writes the numbers.
"""

from __future__ import annotations

import argparse
import json
import os

import torch

from aufx.au.evaluate import evaluate
from aufx.au.model import BUNDLED_PATH, FaceAnalyzer
from aufx.commands.train_analyzer import REPRODUCE


def metric_tables(report) -> str:
    """Markdown: summary, per-AU r/MAE, per-part IoU."""
    summary = report.summary()
    lines = ["| metric | value |", "|---|---|"]
    names = {"mean_r": "mean Pearson r (16 AUs)", "min_r": "lowest per-AU r", "mean_mae": "mean MAE (0..5 scale)",
             "miou": "part mIoU", "identity_top1": "identity retrieval top-1"}  # fmt: skip
    lines += [f"| {names[k]} | {summary[k]:.3f} |" for k in names]
    lines += ["", "| AU | r | MAE |", "|---|---|---|"]
    lines += [f"| {code} | {row['r']:.3f} | {row['mae']:.3f} |" for code, row in report.per_au.iterrows()]
    lines += ["", "| part | IoU |", "|---|---|"]
    lines += [f"| {part} | {iou:.3f} |" for part, iou in report.part_iou.items()]
    return "\n".join(lines) + "\n"


def model_card(model: FaceAnalyzer, args: argparse.Namespace, tables: str) -> str:
    """The model card of the bundled analyzer, with the measured tables."""
    meta = model.metadata
    train = meta.get("train_config", {})
    config = model.config
    return f"""# SynthFACS face analyzer (`aufx/weights/analyzer.pt`)

One small CNN (`aufx.au.FaceAnalyzer`) that stands in for OpenFace on SynthFACS-like faces:
16 AU intensities (0..5, OpenFace `AUxx_r` scale), a {config.embedding}-d L2-normalised identity
embedding (compare with cosine similarity), and a {config.n_parts}-class facial-part segmentation.
Differentiable end to end. Input: RGB `[N, 3, 64, 64]` in [-1, 1].

## Architecture
Strided 3x3 conv encoder 64->32->16->8->4 with channels {list(config.channels)} (BatchNorm, ReLU);
AU head and identity head on the flattened 4x4 map (hidden {config.hidden}); part head: feature
pyramid on the 32/16/8 maps (width {config.pyramid}), bilinear upsampling to the input size.
{sum(p.numel() for p in model.parameters()):,} parameters, stored as float16 (file {os.path.getsize(args.weights) / 1e6:.1f} MB).

## Data
SynthFACS renders at 64 px, rendered fresh for every batch from `aufx.synthfacs.sample_params`
(training seeds from 1,000,000 on). Each batch holds every identity twice with independently
sampled AUs (for the identity head). Mild augmentation: 3x3 blur on half the faces, +-8 %
brightness/contrast, Gaussian noise (sigma 0.02), shifts of up to one pixel.

## Training
Losses: MSE on AU intensities (weight {train.get("w_aus")}), part cross-entropy ({train.get("w_parts")}), MSE of the
30 identity parameters predicted from the embedding ({train.get("w_identity")}), symmetric InfoNCE between the two
renders of each identity ({train.get("w_contrast")}, temperature {train.get("temperature")}). AdamW, lr {train.get("lr")}, warm-up then cosine decay
over a {train.get("budget_minutes")}-minute training-time budget; seed {train.get("seed")}; 1 CPU thread on a 2-core
machine{": " + args.load_note if args.load_note else ""}.
Steps: {meta.get("steps")} ({meta.get("train_seconds", 0) / 60:.0f} min of training time).

Reproduce (from a clean checkout; writes `~/.cache/aufx/analyzer/`):

    {REPRODUCE}
    aufx train analyzer --steps 0 --out aufx/weights/analyzer.pt    # export the checkpoint

## Held-out accuracy
{args.n} fresh renders from the evaluation seed range (never used in training; eval seed {args.seed}),
measured by `.venv/bin/python benchmarks/bench_synthfacs_analyzer.py --n {args.n} --seed {args.seed}`:

{tables}
Identity retrieval: for each face, is the nearest embedding (cosine) among {args.n // 2} faces the
other render of the same identity (different AUs)? Chance is {2 / args.n:.4f}.

## Limits
Trained on SynthFACS only: numbers are for rendered faces; on faces from the bundled generator
they hold as far as its samples look like SynthFACS renders; on photographs it is not meant to
be used (import OpenFace 2.0 CSVs with `aufx.au.read_openface_csv` instead).
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--weights", default=str(BUNDLED_PATH))
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", default=None)
    parser.add_argument("--card", default=None, help="also write the model card (Markdown) here")
    parser.add_argument("--load-note", default="", help="what else ran on the machine during training (model card)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    model = FaceAnalyzer.load(args.weights)
    report = evaluate(model, n=args.n, seed=args.seed)
    summary = report.summary()
    tables = metric_tables(report)
    print(f"weights {args.weights}; {args.n} held-out renders (eval seed {args.seed})")
    print(tables)
    if args.card:
        with open(args.card, "w") as handle:
            handle.write(model_card(model, args, tables))
    if args.json:
        payload = {"summary": summary, "per_au": report.per_au.round(4).to_dict(orient="index"),
                   "part_iou": report.part_iou.round(4).to_dict()}  # fmt: skip
        with open(args.json, "w") as handle:
            json.dump(payload, handle, indent=2)


if __name__ == "__main__":
    main()
