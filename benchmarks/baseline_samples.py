"""What the baselines in training output, as a picture: held-out faces edited by each run's generator.

    .venv/bin/python benchmarks/baseline_samples.py                    # best validated checkpoints
    .venv/bin/python benchmarks/baseline_samples.py --which bundled --out docs/img/baseline_samples.png

For each method with a training state ``<state-root>/<method><size>/`` (``--which best``: its
``best_G.pt``, the checkpoint ``--export`` would write; ``latest``: ``state.pt``'s generator) or
its bundled weights (``--which bundled``), ``--faces`` held-out faces of the validation
(:func:`baselines.validation.validation_set`, the same faces every time), one row each:

``source | ideal | output`` for the validation's target (another face's AUs; a RaFD class for
StarGAN), then the pipeline's **happy** edit (StarGAN: the class), then **AU12 +2** from the
analyzer's estimate (the comparison's AU edit; not for StarGAN), each beside its ideal render where
the world gives one. The validation measures say *how much*; this says *what*: checkerboards,
hatching, seams, a face that did not move.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

METHODS = ("stargan", "ganimation", "cascade-efgan")
WIDTHS = (8, 16, 32, 64)


def _fits(adapter: Any, state: dict[str, torch.Tensor]) -> bool:
    """Whether ``state`` has the parameter names and shapes of ``adapter``'s generator."""
    own = (adapter.net if hasattr(adapter, "net") else adapter.G).state_dict()
    return own.keys() == state.keys() and all(own[k].shape == state[k].shape for k in own)


def adapter_for(method: str, size: int, state: dict[str, torch.Tensor], label: str) -> Any:
    """``method``'s adapter at ``size`` px holding the generator ``state`` (width found from its shapes)."""
    from baselines.registry import adapter_class
    from baselines.train_cli import build_config

    for width in WIDTHS:
        adapter = adapter_class(method)(build_config(method, size, width))
        if _fits(adapter, state):
            net = adapter.net if hasattr(adapter, "net") else adapter.G
            net.load_state_dict(state)
            net.eval().requires_grad_(False)
            adapter.weights_source = label
            return adapter
    raise ValueError(f"{method}: {label} matches no {size}-px generator of width {', '.join(map(str, WIDTHS))}")


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
    caption = f"{method}, {which} checkpoint, step {saved.get('step', '?')}"
    return adapter_for(method, size, saved["G"], caption), caption


@torch.no_grad()
def sample_row(adapter: Any, faces: dict[str, Any], analyzer: Any, index: int) -> tuple[list[torch.Tensor], list[str]]:
    """The images ``[3, S, S]`` of one face's row and their column titles."""
    from aufx.aus import AU_INDEX
    from aufx.edit.analyzer import analyze
    from baselines.base import Conditioning

    def edit(target: torch.Tensor, source_aus: torch.Tensor) -> torch.Tensor:
        if hasattr(adapter, "with_source_aus"):
            target = adapter.with_source_aus(target, source_aus)
        return adapter.edit(image, target).clamp(-1, 1)[0]

    by_label = adapter.conditioning == Conditioning.EMOTION
    vset = faces["emotion" if by_label else "aus"]
    image = vset.images[index : index + 1]
    source_aus = vset.source_aus[index : index + 1]
    if by_label:
        out = adapter.edit(image, vset.labels[index : index + 1]).clamp(-1, 1)[0]
        happy = adapter.edit(image, faces["happy_label"]).clamp(-1, 1)[0]
        return [image[0], vset.ideal[index], out, happy], ["source", "ideal", "output", "happy"]
    out = edit(vset.target_aus[index : index + 1], source_aus)
    happy_set = faces["happy"]
    happy = edit(happy_set.target_aus[index : index + 1], source_aus)
    estimate = analyze(analyzer, image).aus.float().clamp(0.0, 5.0)
    raised = estimate.clone()
    k = AU_INDEX["AU12"]
    raised[:, k] = (raised[:, k] + 2.0).clamp(max=5.0)
    au12 = edit(raised, estimate)
    return ([image[0], vset.ideal[index], out, happy_set.ideal[index], happy, au12],
            ["source", "ideal", "output", "happy ideal", "happy", "AU12 +2"])


def held_out_faces(size: int, n: int) -> dict[str, Any]:
    """The validation's first ``n`` faces: AU-vector targets, RaFD-class targets, and the pipeline's
    happy edit of each source (its AUs with happy's prototype AUs at 3) with its ideal render."""
    from aufx.aus import RAFD_EMOTIONS
    from aufx.synthfacs import render, sample_params
    from baselines.validation import EMOTION_INTENSITY, VALIDATION_SEED, emotion_aus, validation_set

    aus_set = validation_set(size, n=n)
    happy_label = RAFD_EMOTIONS.index("happy")
    prototype = torch.as_tensor(emotion_aus(happy_label, EMOTION_INTENSITY))
    happy_targets = torch.where(prototype > 0, prototype, aus_set.source_aus)
    sources = sample_params(n, seed=VALIDATION_SEED)
    ideal = render(happy_targets.numpy(), sources.identity, size=size, with_parts=False).images
    happy = type(aus_set)(aus_set.images, ideal, happy_targets, torch.full((n,), -1), aus_set.source_aus)
    return {"aus": aus_set, "emotion": validation_set(size, n=n, emotion=True), "happy": happy,
            "happy_label": torch.tensor([happy_label])}


def figure(panels: list[tuple[str, list[list[torch.Tensor]], list[str]]], path: Path) -> Path:
    """One block of rows per method under its caption, images at about their native size."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n_cols = max(len(titles) for _, _, titles in panels)
    heights = [len(rows) + 0.45 for _, rows, _ in panels]
    fig = plt.figure(figsize=(1.3 * n_cols, 1.3 * sum(heights)), layout="constrained")
    for sub, (caption, rows, titles) in zip(np.atleast_1d(fig.subfigures(len(panels), 1, height_ratios=heights)),
                                            panels, strict=True):
        sub.suptitle(caption, fontsize=9, weight="bold", x=0.02, ha="left")
        axes = sub.subplots(len(rows), n_cols, squeeze=False)
        for r, images in enumerate(rows):
            for c in range(n_cols):
                ax = axes[r, c]
                ax.axis("off")
                if c < len(images):
                    ax.imshow(((images[c].permute(1, 2, 0).numpy() + 1) * 127.5).clip(0, 255).astype(np.uint8))
                    if r == 0:
                        ax.set_title(titles[c], fontsize=7, pad=2)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def main(argv: list[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--which", choices=("best", "latest", "bundled"), default="best")
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
        rows = [sample_row(adapter, faces, analyzer, i) for i in range(args.faces)]
        panels.append((caption, [images for images, _ in rows], rows[0][1]))
    if not panels:
        raise SystemExit(f"no {args.which} weights of {args.methods} found (state root {args.state_root})")
    path = figure(panels, args.out)
    print(f"wrote {path}")
    return path


if __name__ == "__main__":
    main()
