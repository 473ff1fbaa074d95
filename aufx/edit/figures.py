"""Figures and tables of the activation-space analysis: Table 1, cluster maps, Fig. 6.

All functions write files (PNG via matplotlib's Agg backend, CSV, Markdown) and return paths.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from aufx.edit.catalog import RegionCatalog
from aufx.files import write_figure


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _rgb(image: torch.Tensor) -> np.ndarray:
    return ((image.detach().float().clamp(-1, 1) + 1) / 2).permute(1, 2, 0).cpu().numpy()


def save_table1(table: pd.DataFrame, out_dir: str | os.PathLike, stem: str = "table1") -> tuple[Path, Path]:
    """Table 1 as ``<stem>.csv`` and a Markdown ``<stem>.md`` (AU, name, top clusters, their regions)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    csv_path, md_path = out_dir / f"{stem}.csv", out_dir / f"{stem}.md"
    table.to_csv(csv_path, index=False)
    lines = ["| Action unit | Affected clusters | Regions |", "|---|---|---|"]
    for _, row in table.iterrows():
        lines.append(f"| {row['AU']}: {row['name']} | {row['clusters'].replace(' ', ', ')} | {row['regions']} |")
    md_path.write_text("Table 1. Top clusters per AU by Eq. 9 (R[au, k] = Σ_c R[au, k, c]).\n\n" + "\n".join(lines) + "\n")
    return csv_path, md_path


def _label_colours(k: int) -> np.ndarray:
    plt = _plt()
    cmap = plt.get_cmap("tab20" if k <= 20 else "gist_ncar", k)
    return np.array([cmap(i)[:3] for i in range(k)])


def plot_cluster_maps(
    catalog: RegionCatalog, labels: torch.Tensor, images: torch.Tensor, path: str | os.PathLike, table: pd.DataFrame | None = None
) -> Path:
    """Faces with their cluster maps (top rows) and, per AU, the top clusters of Table 1 on face 0."""
    plt = _plt()
    n = min(4, images.shape[0])
    colours = _label_colours(catalog.n_clusters)
    n_aus = 0 if table is None else len(table)
    cols = max(n, 8)
    rows = 2 + (int(np.ceil(n_aus / cols)) if n_aus else 0)
    fig, axes = plt.subplots(rows, cols, figsize=(1.6 * cols, 1.75 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for i in range(n):
        axes[0, i].imshow(_rgb(images[i]))
        axes[0, i].set_title(f"face {i}", fontsize=7)
        axes[1, i].imshow(colours[labels[i].numpy()], interpolation="nearest")
        for k in np.unique(labels[i].numpy()):
            ys, xs = np.nonzero(labels[i].numpy() == k)
            if len(xs) > 12:
                axes[1, i].text(xs.mean(), ys.mean(), str(k), fontsize=5, ha="center", va="center")
    if table is not None:
        face = labels[0].numpy()
        for j, (_, row) in enumerate(table.iterrows()):
            ax = axes[2 + j // cols, j % cols]
            ids = [int(k) for k in str(row["clusters"]).split()]
            shade = np.isin(face, ids).astype(float)
            ax.imshow(_rgb(torch.nn.functional.interpolate(images[:1], size=face.shape, mode="area")[0]))
            ax.imshow(shade, cmap="Reds", alpha=0.55, vmin=0, vmax=1, interpolation="nearest")
            ax.set_title(f"{row['AU']}: {row['clusters']}", fontsize=6)
    names = ", ".join(f"{k}={name}" for k, name in enumerate(catalog.cluster_names_))
    fig.suptitle("Cluster maps (layer " + catalog.layer + ")\n" + names, fontsize=6)
    fig.tight_layout()
    return write_figure(fig, path, dpi=130)


def plot_relevant_channels(
    catalog: RegionCatalog,
    r_kc: np.ndarray | torch.Tensor,
    activations: torch.Tensor,
    images: torch.Tensor,
    path: str | os.PathLike,
    regions: Sequence[str] = ("mouth", "left_eye", "nose"),
    top: int = 4,
) -> Path:
    """Fig. 6: for each named region, the ``top`` channels by R[k, c] (Eq. 10) shown on face 0.

    A region name matches the cluster of that name (or the first whose name starts with it);
    regions without a cluster are skipped.
    """
    plt = _plt()
    r = np.asarray(r_kc, dtype=float)
    chosen = []
    for region in regions:
        ks = [k for k, name in enumerate(catalog.cluster_names_) if name == region or name.startswith(region)]
        if ks:
            chosen.append((region, ks[0]))
    if not chosen:
        chosen = [(catalog.cluster_names_[k], k) for k in np.argsort(-r.sum(axis=1))[:3]]
    fig, axes = plt.subplots(len(chosen), top + 1, figsize=(1.7 * (top + 1), 1.8 * len(chosen)), squeeze=False)
    labels = catalog.predict_torch(activations[:1])[0].numpy()
    for row, (region, k) in enumerate(chosen):
        axes[row, 0].imshow(_rgb(images[0]))
        axes[row, 0].contour(
            np.kron(labels == k, np.ones((images.shape[-1] // labels.shape[0],) * 2)), levels=[0.5], colors="r", linewidths=0.8
        )
        axes[row, 0].set_title(f"{region} (cluster {k})", fontsize=7)
        for j, c in enumerate(np.argsort(-r[k])[:top]):
            axes[row, j + 1].imshow(activations[0, c].numpy(), cmap="viridis")
            axes[row, j + 1].set_title(f"channel {c}", fontsize=7)
    for ax in axes.flat:
        ax.axis("off")
    fig.tight_layout()
    return write_figure(fig, path, dpi=130)


def save_strip(rows: Sequence[torch.Tensor], path: str | os.PathLike, labels: Sequence[str] = ()) -> Path:
    """Before/after strip: each item is an image [3, R, R]; saved side by side with captions."""
    plt = _plt()
    fig, axes = plt.subplots(1, len(rows), figsize=(1.6 * len(rows), 1.9), squeeze=False)
    for j, image in enumerate(rows):
        axes[0, j].imshow(_rgb(image))
        axes[0, j].axis("off")
        if j < len(labels):
            axes[0, j].set_title(labels[j], fontsize=7)
    fig.tight_layout()
    return write_figure(fig, path, dpi=130)
