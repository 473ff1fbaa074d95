"""``aufx synth render``: write SynthFACS faces (PNGs, part maps, labels.csv) to a folder."""

from __future__ import annotations

import argparse
import os


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``synth`` with its ``render`` sub-command."""
    synth = subparsers.add_parser("synth", help="SynthFACS: the embedded face world with ground truth")
    commands = synth.add_subparsers(dest="synth_command", metavar="SYNTH_COMMAND")
    commands.required = True
    render = commands.add_parser(
        "render",
        help="render N faces: images/*.png, parts/*.png, labels.csv, parts.json",
        description="Render SynthFACS faces drawn from the default AU/identity distribution. "
        "Output depends only on --n, --seed and --size.",
    )
    render.add_argument("--n", type=int, required=True, help="number of faces (>= 1)")
    render.add_argument("--out", required=True, help="output folder (created if missing)")
    render.add_argument("--size", type=int, default=64, help="image side in pixels (16..1024, default 64)")
    render.add_argument("--seed", type=int, default=0, help="random seed (>= 0, default 0)")
    render.add_argument("--workers", type=int, default=0,
                        help="worker processes (default 0: automatic, parallel for large N)")  # fmt: skip
    render.set_defaults(handler=run_render)


def _check(args: argparse.Namespace) -> int:
    if args.n < 1:
        raise ValueError(f"--n must be at least 1, got {args.n}")
    if not 16 <= args.size <= 1024:
        raise ValueError(f"--size must be between 16 and 1024, got {args.size}")
    if args.seed < 0:
        raise ValueError(f"--seed must be non-negative, got {args.seed}")
    if args.workers < 0:
        raise ValueError(f"--workers must be non-negative, got {args.workers}")
    if args.workers == 0:
        return max(1, min(os.cpu_count() or 1, args.n // 2000 + 1))
    return args.workers


def run_render(args: argparse.Namespace) -> int:
    """Handler of ``aufx synth render``; returns the exit code."""
    workers = _check(args)
    import torch
    from tqdm import tqdm

    from aufx.synthfacs.export import write_dataset

    torch.set_num_threads(1)
    with tqdm(total=args.n, unit="face", desc="synth render") as bar:
        write_dataset(args.n, args.out, size=args.size, seed=args.seed, workers=workers,
                      progress=bar.update)  # fmt: skip
    print(f"wrote {args.n} faces to {args.out} (labels.csv, images/, parts/, parts.json)")
    return 0
