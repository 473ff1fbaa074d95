"""What the baselines in training output, as a picture: held-out faces edited by each run's generator.

    .venv/bin/python benchmarks/baseline_samples.py                    # best validated checkpoints
    .venv/bin/python benchmarks/baseline_samples.py --which bundled --out docs/img/baseline_samples.png

For each method with a training state ``<state-root>/<method><size>/`` (``--which best``: its
``best_G.pt``, the checkpoint ``--export`` would write; ``latest``: ``state.pt``'s generator;
``average``: ``state.pt``'s moving average of it, with ``--g-ema``) or
its bundled weights (``--which bundled``), ``--faces`` held-out faces of the validation
(:func:`baselines.validation.validation_set`, the same faces every time), one row each:

``source | ideal | output`` for the validation's target (another face's AUs; a RaFD class for
StarGAN), then the pipeline's **happy** edit beside its ideal render (StarGAN: the class), then
**AU12 +2** from the analyzer's estimate (the comparison's AU edit; not for StarGAN), all edited
as validation edits them. The validation measures say *how much*; this says *what*: checkerboards,
hatching, seams, a face that did not move.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

METHODS = ("stargan", "ganimation", "cascade-efgan")
#: ``--which`` -> the caption's name of those weights.
WHICH = {"best": "best checkpoint", "latest": "latest checkpoint", "average": "moving average (--g-ema) of the latest checkpoint",
         "bundled": "bundled"}  # fmt: skip


def adapter_for(method: str, config: dict[str, Any], state: dict[str, torch.Tensor], label: str) -> Any:
    """``method``'s adapter built from a checkpoint's stored ``config`` (a dict of the method's config
    fields) holding the generator ``state``; ``label`` names the checkpoint in errors."""
    from baselines.registry import adapter_class
    from baselines.train_cli import build_config
    from baselines.training import load_generator_state

    template = build_config(method, int(config.get("image_size", 16)), 4)
    unknown = set(config) - {f.name for f in dataclasses.fields(template)}
    if unknown:
        raise ValueError(f"{method}: {label} has config fields {sorted(unknown)} that the method's config lacks")
    adapter = adapter_class(method)(dataclasses.replace(template, **config))
    try:
        load_generator_state(adapter, state, label)
    except RuntimeError as error:
        raise ValueError(f"{method}: {label} does not fit a generator of its stored config {config}: {error}") from None
    return adapter


def stored_config(path: Path, saved: dict[str, Any]) -> dict[str, Any]:
    """The config of the checkpoint ``path`` (``saved``, its contents): its own, else that of the
    training state ``state.pt`` beside it (``best_G.pt`` files written before 2026-12-06 22:50 UTC hold none)."""
    from baselines.checkpoints import read_torch_file

    if "config" in saved:
        return saved["config"]
    beside = path.with_name("state.pt")
    if path.name != beside.name and beside.is_file():
        return read_torch_file(beside)["config"]
    raise ValueError(f"{path}: holds no config and has no state.pt beside it to take one from")


def load_generator(method: str, size: int, which: str, state_root: Path) -> tuple[Any, str] | None:
    """(adapter, caption) of ``method``'s ``which`` weights, or ``None`` when there are none."""
    from baselines import registry
    from baselines.checkpoints import read_torch_file

    if which == "bundled":
        try:
            adapter = registry.get(method).load()
        except (OSError, ValueError) as error:
            print(f"{method}: no bundled weights ({error})", file=sys.stderr)
            return None
        return adapter, f"{method}, bundled ({adapter.config.image_size} px)"
    state_dir = state_root / f"{method}{size}"
    path = state_dir / ("best_G.pt" if which == "best" else "state.pt")
    if not path.is_file():
        print(f"{method}: no {path}", file=sys.stderr)
        return None
    saved = read_torch_file(path)
    key = "G_ema" if which == "average" else "G"
    if key not in saved:
        print(f"{method}: {path} keeps no moving average of the generator (trained without --g-ema)", file=sys.stderr)
        return None
    caption = f"{method}, {WHICH[which]}, step {saved.get('step', '?')}"
    config = stored_config(path, saved)
    if config.get("image_size") != size:
        raise ValueError(f"{path}: a {config.get('image_size')}-px checkpoint, not {size} px")
    return adapter_for(method, config, saved[key], caption), caption


@torch.no_grad()
def sample_columns(adapter: Any, faces: dict[str, Any], analyzer: Any, batch: int = 16) -> list[tuple[str, torch.Tensor]]:
    """The columns of a method's block, each (title, images ``[N, 3, S, S]``), edited as validation
    edits (:func:`baselines.validation.edit_all`; AU12 +2: :func:`baselines.validation.raise_set`)."""
    from aufx.edit.analyzer import analyze
    from baselines.base import Conditioning
    from baselines.validation import edit_all, raise_set

    by_label = adapter.conditioning == Conditioning.EMOTION
    vset, happy = faces["emotion" if by_label else "aus"], faces["happy"]
    columns = [("source", vset.images), ("ideal", vset.ideal), ("output", edit_all(adapter, vset, by_label, batch)),
               ("happy ideal", happy.ideal), ("happy", edit_all(adapter, happy, by_label, batch))]  # fmt: skip
    if not by_label:
        estimate = analyze(analyzer, vset.images).aus.float().clamp(0.0, 5.0)
        columns.append(("AU12 +2", edit_all(adapter, raise_set(vset.images, estimate, "AU12"), False, batch)))
    return columns


def held_out_faces(size: int, n: int) -> dict[str, Any]:
    """The validation's first ``n`` faces (the same sources in each set): AU-vector targets,
    RaFD-class targets, and the pipeline's happy edit (the source's AUs with happy's prototype AUs
    at 3; class ``happy`` for StarGAN) with its ideal render."""
    from baselines.validation import validation_set

    return {"aus": validation_set(size, n=n), "emotion": validation_set(size, n=n, emotion=True),
            "happy": validation_set(size, n=n, emotion=True, keep_source_aus=True, label="happy")}


def figure(panels: list[tuple[str, list[tuple[str, torch.Tensor]]]], path: Path) -> Path:
    """One block per method under its caption (a row per face, a column per :func:`sample_columns`
    entry), images at about their native size."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from aufx.files import write_figure

    n_cols = max(len(columns) for _, columns in panels)
    n_faces = [len(columns[0][1]) for _, columns in panels]
    heights = [n + 0.45 for n in n_faces]
    fig = plt.figure(figsize=(1.3 * n_cols, 1.3 * sum(heights)), layout="constrained")
    for sub, (caption, columns), n in zip(np.atleast_1d(fig.subfigures(len(panels), 1, height_ratios=heights)),
                                          panels, n_faces, strict=True):
        sub.suptitle(caption, fontsize=9, weight="bold", x=0.02, ha="left")
        axes = sub.subplots(n, n_cols, squeeze=False)
        for ax in axes.flat:
            ax.axis("off")
        for c, (title, images) in enumerate(columns):
            axes[0, c].set_title(title, fontsize=7, pad=2)
            for r in range(n):
                axes[r, c].imshow(((images[r].permute(1, 2, 0).numpy() + 1) * 127.5).clip(0, 255).astype(np.uint8))
    write_figure(fig, path, dpi=110)
    return path


def main(argv: list[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--which", choices=tuple(WHICH), default="best",
                        help="best_G.pt; state.pt's last weights; state.pt's moving average (--g-ema); the bundled weights")
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--faces", type=int, default=3)
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--state-root", type=Path, default=Path.home() / ".cache" / "aufx" / "baselines")
    parser.add_argument("--out", type=Path, default=Path("baseline_samples.png"))
    args = parser.parse_args(argv)

    from aufx.edit.analyzer import load_analyzer

    faces = held_out_faces(args.size, args.faces)
    analyzer = load_analyzer("synthfacs")
    panels = []
    for method in args.methods.split(","):
        loaded = load_generator(method, args.size, args.which, args.state_root)
        if loaded is None:
            continue
        adapter, caption = loaded
        panels.append((caption, sample_columns(adapter, faces, analyzer)))
    if not panels:
        raise SystemExit(f"no {args.which} weights of {args.methods} found (state root {args.state_root})")
    path = figure(panels, args.out)
    print(f"wrote {path}")
    return path


if __name__ == "__main__":
    main()
