"""Training curves of a distillation run from its ``log.jsonl``: held-out L1 to the teacher per kimg.

    python -m aufx.gan.curves ~/.cache/aufx/distill128 docs/img/synthfacs128_curve.png
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd

#: Columns of the held-out evaluations (logged every ``eval_every_kimg``).
HELDOUT_COLUMNS = ("heldout_l1", "heldout_feature_l1")


def read_heldout(log_path: str | Path) -> pd.DataFrame:
    """The held-out rows of a ``log.jsonl``: ``kimg``, ``seconds`` and :data:`HELDOUT_COLUMNS`,
    sorted by kimg; a resumed run's repeated kimg keeps its last row."""
    rows = [json.loads(line) for line in Path(log_path).read_text().splitlines() if line.strip()]
    frame = pd.DataFrame([r for r in rows if "heldout_l1" in r])
    if frame.empty:
        raise ValueError(f"{log_path}: no held-out evaluations (no 'heldout_l1' rows)")
    keep = ["kimg", "seconds", *[c for c in HELDOUT_COLUMNS if c in frame]]
    return frame[keep].drop_duplicates("kimg", keep="last").sort_values("kimg").reset_index(drop=True)


def plot_curve(state_dir: str | Path, out: str | Path, goal: float | None = 0.03) -> Path:
    """Plot held-out L1 (whole image, and brow/eye/nose/mouth pixels) against kimg, with the phases
    of the run (``phases.jsonl``) as vertical lines; returns the PNG path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from aufx.commands.train_generator import read_phases
    from aufx.files import write_figure

    state_dir = Path(state_dir).expanduser()
    curve = read_heldout(state_dir / "log.jsonl")
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(curve["kimg"], curve["heldout_l1"], label="held-out L1, whole image")
    if "heldout_feature_l1" in curve:
        ax.plot(curve["kimg"], curve["heldout_feature_l1"], label="held-out L1, brow/eye/nose/mouth pixels")
    if goal is not None:
        ax.axhline(goal, color="grey", linestyle=":", label=f"goal {goal:g} (whole image)")
    for phase in read_phases(state_dir)[1:]:
        ax.axvline(phase["kimg"], color="tab:red", alpha=0.4)
        ax.text(phase["kimg"], ax.get_ylim()[1], f" lr {phase['lr']:g}, expr. ×{phase['expression_weight']:g}",
                rotation=90, va="top", fontsize=7, color="tab:red")  # fmt: skip
    ax.set_yscale("log")
    ax.set_xlabel("thousands of training images (kimg)")
    ax.set_ylabel("mean |G(z) − render(params(z))| on [-1, 1]")
    ax.set_title(f"Distillation: 256 held-out latents ({curve['seconds'].iloc[-1] / 3600:.1f} h of training)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    out = write_figure(fig, out, dpi=120)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("state_dir", help="distillation state directory (log.jsonl, phases.jsonl)")
    parser.add_argument("out", help="PNG to write")
    args = parser.parse_args(argv)
    print(f"wrote {plot_curve(args.state_dir, args.out)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
