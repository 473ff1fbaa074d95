"""Throughput of every adapter's ``edit`` (images/s at batch 8), measured side by side in one run.

    python -m baselines.benchmark [--size 64] [--batch 8] [--repeats 3] [--threads 1]

Networks have the default (bundled-model) configs with random weights: throughput does not depend
on training. GAN Local Editing runs on a random generator of the bundled generator's config
(64 px, channel_base 4096, channel_max 128) with a catalog fitted on 32 faces, editing from latents
(no inversion).
"""

from __future__ import annotations

import argparse
import os
import time
import warnings

import torch


def _time(fn, repeats: int) -> tuple[float, float]:
    """(wall seconds, process CPU seconds) per call, after one warm-up call."""
    fn()
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - wall) / repeats, (time.process_time() - cpu) / repeats


def measure(batch: int = 8, repeats: int = 3) -> dict[str, tuple[float, float]]:
    """Per method: (images per wall second, images per CPU second) of ``edit`` at ``batch``.

    On a shared machine the CPU-second rate is the one to compare: it does not count the time
    other processes held the cores.
    """
    from aufx.gan import Generator, GeneratorConfig
    from baselines import registry
    from baselines.base import ReferenceRegion
    from baselines.cascade_efgan import CascadeTarget
    from baselines.gan_local_editing import GLEConfig

    torch.manual_seed(0)
    images = torch.rand(batch, 3, 64, 64) * 2 - 1
    aus = torch.zeros(batch, 16)
    aus[:, 8] = 3.0
    results = {}
    warnings.simplefilter("ignore", RuntimeWarning)
    for name, target in (("stargan", "happy"), ("ganimation", aus), ("cascade-efgan", CascadeTarget(aus, torch.zeros(batch, 16)))):
        adapter = registry.get(name)
        with torch.no_grad():
            wall, cpu = _time(lambda a=adapter, t=target: a.edit(images, t), repeats)
            results[name] = (batch / wall, batch / cpu)
    g = Generator(GeneratorConfig(img_resolution=64, channel_base=4096, channel_max=128)).eval()
    gle = registry.get("gan-local-editing", generator=g, config=GLEConfig(n_images=32, n_clusters=8, kmeans_n_init=1))
    gle.train()
    gle.set_annotations({"mouth": [0, 1], "eyes": [2], "nose": [3]})
    ws, ref = gle.sample_ws(batch, 1), gle.sample_ws(batch, 2)
    with torch.no_grad():
        faces = g.synthesis(ws)
    target = ReferenceRegion("mouth", reference_ws=ref, source_ws=ws)
    wall, cpu = _time(lambda: gle.edit(faces, target), repeats)
    results["gan-local-editing"] = (batch / wall, batch / cpu)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"batch {args.batch}, {args.threads} thread(s), {os.getloadavg()[0]:.1f} load average at the start")
    for name, (wall, cpu) in measure(args.batch, args.repeats).items():
        print(f"{name:<18} {wall:8.1f} images/s wall   {cpu:8.1f} images per CPU-second")


if __name__ == "__main__":
    main()
