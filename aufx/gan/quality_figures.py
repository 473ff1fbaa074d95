"""Figures for :mod:`aufx.gan.quality`: per-AU histograms and the generator's sample grid."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

from aufx.aus import AU_CODES
from aufx.files import write_figure
from aufx.gan.quality import FaceSet
from aufx.imageio import make_grid


def plot_au_marginals(generated: FaceSet, renders: FaceSet, path: str | os.PathLike, title: str = "") -> Path:
    """4x4 panel of per-AU intensity histograms (densities, square-root y axis): generated vs renders
    (both analyzer-measured), renders' ground truth dashed. Writes a PNG; returns its path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    bins = np.linspace(-1.0, 5.5, 27)
    fig, axes = plt.subplots(4, 4, figsize=(12, 9), sharex=True)
    fig.subplots_adjust(left=0.05, right=0.98, bottom=0.07, top=0.92, wspace=0.25, hspace=0.3)
    series = [("renders (analyzer)", renders.aus, "tab:blue", "-"),
              ("generated (analyzer)", generated.aus, "tab:orange", "-")]  # fmt: skip
    if renders.true_aus is not None:
        series.append(("renders (truth)", renders.true_aus, "black", "--"))
    for k, (code, ax) in enumerate(zip(AU_CODES, axes.flat, strict=True)):
        for label, values, colour, style in series:
            density, _ = np.histogram(np.clip(values[:, k], bins[0], bins[-1]), bins=bins, density=True)
            ax.stairs(density, bins, color=colour, linestyle=style, linewidth=1.4, label=label)
        ax.set_yscale("function", functions=(np.sqrt, np.square))  # the spike of neutral faces at 0 stays on the panel
        ax.set_title(code, fontsize=10)
    for ax in axes[-1]:
        ax.set_xlabel("intensity (0..5; clipped to -1..5.5)")
    axes[0, 0].legend(fontsize=7, loc="upper right")
    fig.suptitle(title or "AU intensity marginals (density, square-root scale)", fontsize=11)
    path = write_figure(fig, path, dpi=90)
    return path


def sample_grid(generator, path: str | os.PathLike, seeds: Sequence[int] = range(32),
                psis: Sequence[float] = (1.0, 0.7), cols: int = 8, scale: int = 2) -> Path:  # fmt: skip
    """One block of ``seeds`` per truncation ``psi`` (constant noise, NVIDIA seeds), ``cols`` faces a
    row, blocks stacked top to bottom under a label; upscaled ``scale`` x (nearest). Writes a PNG."""
    from aufx.gan.seeds import seed_latents

    z = seed_latents(generator.z_dim, list(seeds))
    blocks = []
    for psi in psis:
        with torch.no_grad():
            images = generator(z, None, truncation_psi=psi, noise_mode="const")
        grid = Image.fromarray(make_grid(images, nrow=cols))
        grid = grid.resize((grid.width * scale, grid.height * scale), Image.NEAREST)
        label = Image.new("RGB", (grid.width, 16), "white")
        ImageDraw.Draw(label).text((2, 2), f"psi {psi:g}, seeds {min(seeds)}-{max(seeds)}", fill="black")
        blocks += [label, grid]
    sheet = Image.new("RGB", (blocks[0].width, sum(b.height for b in blocks)), "white")
    y = 0
    for block in blocks:
        sheet.paste(block, (0, y))
        y += block.height
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(path)
    return path
