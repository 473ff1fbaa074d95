"""Are +2 edits visible? A global-opt edit of each AU on --faces faces, read by the analyzer.

    python benchmarks/bench_visible_edits.py --faces 100 --strip docs/img/edit_strip_16aus.png

For each of the 16 AUs, every face (seeds --seed.., ψ of the model) is edited by +--change with
--mode (default ``global-opt``); the analyzer reads the original and the edited image, and the table gives the mean
rise of the edited AU with its 95 % t-interval, the share of faces that rise by at least 1, and
the editor's own predicted rise. Goal (issue 16): mean rise ≥ 1.5 for every AU. The strip shows
--strip-faces faces: the original, then each AU's edit, at the generator's resolution.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aufx.aus import AU_CODES, AU_INDEX  # noqa: E402
from aufx.defaults import DEFAULT_MODEL  # noqa: E402
from aufx.files import write_figure  # noqa: E402

GOAL = 1.5


def visible_rises(model, seeds: list[int], change: float, mode: str = "global-opt", batch: int = 25) -> dict[str, dict[str, np.ndarray]]:
    """Per AU: the analyzer's rise of that AU (``rise``), the editor's predicted rise (``predicted``),
    and the edited images of the first faces (``images`` [n, 3, R, R]), for +``change`` edits in ``mode``."""
    results = {}
    ws = model.latents_from_seeds(seeds)
    for code in AU_CODES:
        rise, predicted, images = [], [], []
        for start in range(0, len(seeds), batch):
            w = ws[start : start + batch]
            out = model.edit(w, {code: change}, mode=mode)
            before, after = model.analyze_aus(out.image_orig), model.analyze_aus(out.image)
            rise.append((after - before)[:, AU_INDEX[code]].numpy())
            predicted.append((out.predicted_after - out.predicted_before)[:, AU_INDEX[code]].numpy())
            images.append(out.image)
            if start == 0:
                results.setdefault("original", {"images": out.image_orig})
        results[code] = {"rise": np.concatenate(rise), "predicted": np.concatenate(predicted), "images": torch.cat(images)}
        print(f"{code}: analyzer rise {results[code]['rise'].mean():+.2f} (editor {results[code]['predicted'].mean():+.2f})",
              flush=True)  # fmt: skip
    return results


def table(results: dict, change: float) -> tuple[str, int]:
    """Markdown table of the rises and the number of AUs meeting :data:`GOAL`."""
    lines = ["| AU | analyzer rise (mean) | 95 % CI | faces rising ≥ 1 | editor's predicted rise | goal ≥ 1.5 |",
             "|---|---:|---:|---:|---:|:---:|"]  # fmt: skip
    met = 0
    for code in AU_CODES:
        rise, predicted = results[code]["rise"], results[code]["predicted"]
        mean = float(rise.mean())
        spread = float(stats.sem(rise)) if len(rise) > 1 else 0.0
        lo, hi = stats.t.interval(0.95, len(rise) - 1, loc=mean, scale=spread) if spread > 0 else (mean, mean)
        met += mean >= GOAL
        lines.append(f"| {code} | {mean:+.2f} | [{lo:+.2f}, {hi:+.2f}] | {np.mean(rise >= 1):.0%} | "
                     f"{predicted.mean():+.2f} | {'✓' if mean >= GOAL else '✗'} |")  # fmt: skip
    return "\n".join(lines), met


def save_au_strip(results: dict, path: str | Path, faces: int) -> Path:
    """Grid: a row per face, the original then each AU's edit, at native resolution."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    columns = ["original", *AU_CODES]
    fig, axes = plt.subplots(faces, len(columns), figsize=(1.1 * len(columns), 1.25 * faces), squeeze=False)
    for i in range(faces):
        for j, name in enumerate(columns):
            image = results[name]["images"][i]
            axes[i, j].imshow(((image.clamp(-1, 1) + 1) / 2).permute(1, 2, 0).numpy(), interpolation="nearest")
            axes[i, j].axis("off")
            if i == 0:
                axes[i, j].set_title(name if name == "original" else f"{name} +2", fontsize=7)
    fig.tight_layout(pad=0.2)
    path = write_figure(fig, path, dpi=max(100, results["original"]["images"].shape[-1] / 1.0))
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--editor", default=None)
    parser.add_argument("--analyzer", default="synthfacs")
    parser.add_argument("--faces", type=int, default=100)
    parser.add_argument("--change", type=float, default=2.0)
    parser.add_argument("--mode", default="global-opt", help="edit mode (the goal is stated for global-opt)")
    parser.add_argument("--seed", type=int, default=200_000)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--strip", default=None, help="write the 16-AU strip PNG here")
    parser.add_argument("--strip-faces", type=int, default=2)
    args = parser.parse_args(argv)
    if args.faces <= 0 or not 0 < args.strip_faces <= args.faces:
        raise SystemExit(f"--faces must be positive and --strip-faces in 1..--faces, got {args.faces}, {args.strip_faces}")
    if args.threads:
        torch.set_num_threads(args.threads)
    from aufx.edit.engine import EditingModel

    model = EditingModel.load(args.model, args.editor, None, args.analyzer)
    start = time.perf_counter()
    results = visible_rises(model, list(range(args.seed, args.seed + args.faces)), args.change, args.mode)
    text, met = table(results, args.change)
    print(f"\n## Visible edits: +{args.change:g} {args.mode} on {args.faces} faces of {args.model} "
          f"(seeds {args.seed}–{args.seed + args.faces - 1}, ψ {model.truncation_psi:g}), read by the analyzer\n")  # fmt: skip
    print(text)
    print(f"\nmean rise ≥ {GOAL:g}: {met}/16 AUs; {time.perf_counter() - start:.0f} s")
    if args.strip:
        print(f"wrote {save_au_strip(results, args.strip, args.strip_faces)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
