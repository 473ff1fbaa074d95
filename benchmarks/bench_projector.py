"""Projector reconstruction quality on images the generator itself made from known w (held-out seeds).

    python benchmarks/bench_projector.py --model synthfacs128 [--seeds 1000-1003] [--steps 300]

For each seed: z = RandomState(seed).randn (NVIDIA seed semantics), w = mapping(z) with psi 0.7,
target = synthesis(w) with const noise; then :func:`aufx.gan.projector.project` from w_avg in W
and in W+ mode. Prints PSNR (dB, on uint8 images) of the w_avg start and of the result, and the
distance of the found w to the true w relative to the start's.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aufx.commands.model import parse_seeds  # noqa: E402
from aufx.defaults import DEFAULT_MODEL  # noqa: E402
from aufx.gan.loaders import load_generator  # noqa: E402
from aufx.gan.projector import ProjectorConfig, generated_targets, project, psnr, w_statistics  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--seeds", default="1000-1003", type=parse_seeds)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    loaded = load_generator(args.model)
    generator = loaded.generator
    targets, w_true = generated_targets(generator, args.seeds, psi=0.7)
    w_avg, _ = w_statistics(generator)
    with torch.no_grad():
        start = psnr(generator.synthesis(w_avg.expand(len(args.seeds), -1)), targets)
    print(f"model {args.model} ({loaded.format}, {generator.img_resolution}px), seeds {args.seeds}, {args.steps} steps")
    print("| mode | PSNR at w_avg (dB) | PSNR after (dB), mean [min, max] | w error / start error | seconds |")
    print("|---|---:|---:|---:|---:|")
    for wplus in (False, True):
        t0 = time.perf_counter()
        result = project(generator, targets, ProjectorConfig(steps=args.steps, wplus=wplus), progress=False)
        seconds = time.perf_counter() - t0
        after = psnr(result.images, targets)
        if wplus:
            rel = ((result.ws - w_true[:, None]).norm(dim=2).mean(dim=1) / (w_avg - w_true).norm(dim=1)).mean()
        else:
            rel = ((result.w - w_true).norm(dim=1) / (w_avg - w_true).norm(dim=1)).mean()
        print(f"| {'W+' if wplus else 'W'} | {start.mean():.2f} | {after.mean():.2f} [{after.min():.2f}, "
              f"{after.max():.2f}] | {rel:.3f} | {seconds:.0f} |")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
