"""Generator forward time: aufx vs NVIDIA's stylegan2-ada-pytorch on the same weights, side by side.

    python benchmarks/bench_generator.py --nvidia /path/to/stylegan2-ada-pytorch [--quick]

Builds NVIDIA's ``training.networks.Generator`` (fp32, no fp16 layers, so both compute the same
function; on CPU their custom ops fall back to their reference paths) with random weights,
copies its state dict into an aufx :class:`Generator`, checks the images agree, then times
``G(z, truncation_psi=0.7, noise_mode='const')`` under ``torch.no_grad()`` for each config and
batch, alternating the two implementations repeat by repeat, and prints the median times and
the ratio NVIDIA_time / aufx_time (> 1: aufx is faster). The NVIDIA checkout is only read.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from aufx.gan.networks import Generator, GeneratorConfig  # noqa: E402

CONFIGS = {
    "64px (base 4096, max 128)": dict(img_resolution=64, channel_base=4096, channel_max=128),
    "1024px config-f": dict(img_resolution=1024, channel_base=32768, channel_max=512),
}


def build_pair(nvidia_path: Path, config: dict, seed: int = 0):
    sys.path.insert(0, str(nvidia_path))
    from training.networks import Generator as NVGenerator  # type: ignore[import-not-found]

    torch.manual_seed(seed)
    nv = NVGenerator(
        z_dim=512, c_dim=0, w_dim=512, img_resolution=config["img_resolution"], img_channels=3,
        mapping_kwargs=dict(num_layers=8),
        synthesis_kwargs=dict(channel_base=config["channel_base"], channel_max=config["channel_max"],
                              num_fp16_res=0, conv_clamp=None),
    ).eval().requires_grad_(False)  # fmt: skip
    with torch.no_grad():
        for name, tensor in nv.state_dict().items():
            if name.endswith("noise_strength"):
                tensor.normal_(0, 0.1)
            elif name.endswith("w_avg"):
                tensor.normal_()
    ours = Generator(GeneratorConfig(**config)).eval().requires_grad_(False)
    ours.load_state_dict(nv.state_dict())
    return nv, ours


def forward_fns(nv, ours):
    def run_nv(z):
        return nv(z, None, truncation_psi=0.7, noise_mode="const", force_fp32=True)

    def run_ours(z):
        return ours(z, truncation_psi=0.7, noise_mode="const")

    return run_nv, run_ours


def time_pair(run_nv, run_ours, z: torch.Tensor, repeats: int, warmup: int) -> tuple[float, float]:
    """Median seconds per forward of each, alternating the order every repeat."""
    times: dict[str, list[float]] = {"nv": [], "ours": []}
    with torch.no_grad():
        for _ in range(warmup):
            run_nv(z)
            run_ours(z)
        for rep in range(repeats):
            order = [("nv", run_nv), ("ours", run_ours)]
            for key, fn in order if rep % 2 == 0 else order[::-1]:
                start = time.perf_counter()
                fn(z)
                times[key].append(time.perf_counter() - start)
    return statistics.median(times["nv"]), statistics.median(times["ours"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nvidia", type=Path, required=True, help="local stylegan2-ada-pytorch checkout")
    parser.add_argument("--quick", action="store_true", help="64 px only")
    parser.add_argument("--repeats", type=int, default=7, help="timed repeats at 64 px")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    rows = []
    for label, config in CONFIGS.items():
        big = config["img_resolution"] >= 512
        if big and args.quick:
            continue
        nv, ours = build_pair(args.nvidia, config)
        run_nv, run_ours = forward_fns(nv, ours)
        z = torch.from_numpy(np.random.RandomState(1).randn(2, 512)).float()
        with torch.no_grad():
            diff = (run_nv(z) - run_ours(z)).abs().max().item()
        for batch in (1, 8):
            z = torch.from_numpy(np.random.RandomState(2).randn(batch, 512)).float()
            repeats = (2 if batch == 1 else 1) if big else args.repeats
            warmup = 0 if big and batch == 8 else 1
            t_nv, t_ours = time_pair(run_nv, run_ours, z, repeats, warmup)
            rows.append((label, batch, t_nv, t_ours, t_nv / t_ours, diff))
            print(f"{label:<28} batch {batch}: NVIDIA {t_nv * 1000:9.1f} ms  aufx {t_ours * 1000:9.1f} ms  "
                  f"ratio {t_nv / t_ours:5.2f}  max|diff| {diff:.1e}", flush=True)  # fmt: skip
    print()
    print("| config | batch | NVIDIA ms | aufx ms | ratio NVIDIA/aufx | max abs diff |")
    print("|---|---:|---:|---:|---:|---:|")
    for label, batch, t_nv, t_ours, ratio, diff in rows:
        print(f"| {label} | {batch} | {t_nv * 1000:.1f} | {t_ours * 1000:.1f} | {ratio:.2f} | {diff:.1e} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
