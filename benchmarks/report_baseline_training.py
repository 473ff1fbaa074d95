"""Validation curves of the baselines trained with ``aufx train <method> --until-converged``.

    .venv/bin/python benchmarks/report_baseline_training.py                      # table to stdout
    .venv/bin/python benchmarks/report_baseline_training.py --write-results --write-docs

Reads ``<state-root>/<method><size>/val.jsonl`` (one line per validation, written by
:class:`baselines.validation.Validator`) and ``state.pt``'s schedule, and reports for each method:
every validation's ``ideal_l1``, ``au_error`` and emotion accuracy, the best checkpoint
(:func:`baselines.validation.best_index`), and whether the stopping rule
(:class:`baselines.validation.Plateau`, patience 6, 1 %) says it has converged. The reference row
is the unedited source on the same held-out faces (what doing nothing scores). The figure
(``docs/img/baseline_validation.png`` with ``--write-docs``) draws the three curves per method;
``--write-docs`` also draws held-out faces edited by each run's best checkpoint
(``docs/img/baseline_samples.png``, :mod:`baseline_samples`).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from results_md import replace_section  # noqa: E402

from baselines.validation import (  # noqa: E402
    GOAL_EMOTION_ACCURACY,
    GOAL_NOISE_RATIO,
    HIGHER_IS_BETTER,
    RAISE_AUS,
    Plateau,
    best_index,
    read_history,
)

SECTION = "## Baselines at 128 px: trained until their validation stops improving (issue 17)"
AFTER_SECTION = "## Issue 17 so far: latent-space peers, realism, baseline validation"
RESULTS_MD = ROOT / "benchmarks" / "RESULTS.md"
DOCS_IMAGE = ROOT / "docs" / "img" / "baseline_validation.png"
SAMPLES_IMAGE = ROOT / "docs" / "img" / "baseline_samples.png"
METHODS = ("stargan", "ganimation", "cascade-efgan")
LABELS = {"ideal_l1": "ideal_l1 (lower)", "au_error": "au_error (lower)", "emotion_accuracy": "emotion accuracy (higher)",
          "noise_ratio": "noise where the ideal is flat / source's (lower)",
          "au_raise": "rise of one AU asked for +2 (higher)", "fd": "FD to the ideal renders (lower)",
          "fd_generated": "FD on generated faces (lower)",
          "high_freq_ratio": "high-frequency energy / ideal's (1 best)"}
PANELS = (*HIGHER_IS_BETTER, "high_freq_ratio")


def schedule_of(state_dir: Path) -> list[dict[str, float]]:
    """The training schedule stored in ``state.pt`` (empty when there is none)."""
    path = state_dir / "state.pt"
    if not path.is_file():
        return []
    from baselines.checkpoints import read_torch_file

    return json.loads(read_torch_file(path).get("schedule", "[]"))


def references_for(method: str, size: int, n: int, emotion: bool) -> dict[str, dict[str, float]]:
    """What returning the source unchanged, and the method's bundled weights (resized to ``size``),
    score on the trainings' validation sets: ``{"unedited source": measures, "bundled": measures}``."""
    from baselines import registry
    from baselines.validation import standard_inputs, validate

    inputs = standard_inputs(size, n, emotion)

    def measures(adapter: Any) -> dict[str, float]:
        return validate(adapter, inputs["vset"], inputs["analyzer"], inputs["classifier"], emotion_set=inputs["emotion_set"])

    class Unchanged:
        def edit(self, images: Any, target: Any) -> Any:
            return images

    result = {"unedited source": measures(Unchanged())}
    try:
        bundled = registry.get(method).load()
    except (OSError, ValueError) as error:
        print(f"{method}: no bundled weights to compare ({error})", file=sys.stderr)
    else:
        result["bundled"] = measures(bundled)
    return result


def bundle_label(method: str) -> str:
    """``"step N, S px"`` of the method's bundled weights (``baselines/weights/<method>.pt``), or ``"—"``."""
    path = ROOT / "baselines" / "weights" / f"{method}.pt"
    if not path.is_file():
        return "—"
    from baselines.checkpoints import read_torch_file

    bundle = read_torch_file(path)
    return f"step {bundle.get('metadata', {}).get('steps', '?')}, {dict(bundle['config'])['image_size']} px"


def goals(row: dict[str, float] | None) -> str:
    """Issue 17's goals that validation measures, for one validation: ``emotion 0.80 ✓, noise 3.21 ✗``."""
    if row is None:
        return "—"
    checks = [(f"emotion {row['emotion_accuracy']:.2f}", row["emotion_accuracy"] >= GOAL_EMOTION_ACCURACY)
              if "emotion_accuracy" in row else None,
              (f"noise {row['noise_ratio']:.2f}", row["noise_ratio"] <= GOAL_NOISE_RATIO) if "noise_ratio" in row else None,
              (f"AUs raised {row['aus_raised']:.0f}/{len(RAISE_AUS)}", row["aus_raised"] == len(RAISE_AUS))
              if "aus_raised" in row else None]  # fmt: skip
    return ", ".join(f"{text} {'✓' if ok else '✗'}" for text, ok in filter(None, checks)) or "—"


def status(run: dict[str, Any], plateau: Plateau) -> str:
    """The converged column: ``yes`` (rule met, no decay asked), ``decaying to 0 by step E``, ``yes
    (decay ended at E)`` (``--decay-on-plateau``: the schedule's last phase decays), or ``no``."""
    end = run["schedule"][-1].get("decay_end") if run.get("schedule") else None
    last = run["history"][-1]["step"] if run["history"] else 0
    if end is not None:
        return f"yes (decay ended at {end})" if last >= end else f"decaying to 0 by step {end}"
    return "yes" if run["converged"] else "no"


def summarise(method: str, history: list[dict[str, float]], plateau: Plateau) -> dict[str, Any]:
    best = history[best_index(history)] if history else None
    return {"method": method, "history": history, "best": best, "converged": plateau.converged(history)}


def figure(runs: list[dict[str, Any]], references: dict[str, dict[str, dict[str, float]]], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from aufx.files import write_figure

    fig, axes = plt.subplots(1, len(PANELS), figsize=(29, 3.6))
    for ax, measure in zip(axes, PANELS, strict=True):
        for i, run in enumerate(runs):
            points = [(h["step"], h[measure]) for h in run["history"] if measure in h]
            if not points:
                continue
            color = f"C{i}"
            ax.plot(*zip(*points, strict=True), "-o", ms=3, color=color, label=run["method"])
            beside = [(h["step"], h[measure]) for h in run.get("last_weights", []) if measure in h]
            if beside:  # the last weights, validated beside their moving average (--g-ema)
                ax.plot(*zip(*beside, strict=True), "x", ms=5, color=color)
            if run["best"] is not None and measure in run["best"]:
                ax.plot(run["best"]["step"], run["best"][measure], "*", ms=12, color=color)
            for phase in run["schedule"][1:]:
                ax.axvline(phase["from_step"], color=color, ls=":", lw=1)
            for name, style in (("unedited source", "--"), ("bundled", "-.")):
                ref = references.get(run["method"], {}).get(name, {}).get(measure)
                if ref is not None:
                    ax.axhline(ref, color=color, ls=style, lw=1)
        ax.set_title(LABELS[measure])
        ax.set_xlabel("critic step")
    axes[0].legend(fontsize=8)
    fig.suptitle("Held-out validation per checkpoint (★ best = most goals met, then lowest rank sum; dashed: the unedited source; "
                 "dash-dot: the bundled weights; dotted: schedule change; ×: the last weights beside their moving average)", fontsize=9)  # fmt: skip
    fig.tight_layout()
    return write_figure(fig, path, dpi=110)


def markdown(runs: list[dict[str, Any]], references: dict[str, dict[str, dict[str, float]]], args: argparse.Namespace,
             image: str, samples: str | None = None) -> str:  # fmt: skip
    lines = [SECTION, "",
             f"`python benchmarks/report_baseline_training.py{' --write-results --write-docs' if args.write_docs else ''}`: "
             f"every validation of each 128-px training ({args.val_faces} held-out faces, `val.jsonl` in "
             f"`{args.state_root}/<method>{args.size}/`). Stopping rule: no measure improves its best by "
             f"> {args.min_delta:.0%} for {args.patience} validations in a row; best checkpoint: lowest sum of "
             "ranks over the measures. References on the same faces (measures in the order ideal_l1 / au_error / "
             "[emotion accuracy /] noise ratio / HF ratio): the unedited source, and the bundled weights (their step and "
             "size in the cell; 64 px weights are applied by resizing). Goals (issue 17) that validation measures: "
             f"emotion accuracy ≥ {GOAL_EMOTION_ACCURACY:g} (GANimation and Cascade EF-GAN given the pipeline's emotion edit: the source's AUs with the prototype AUs at 3), "
             f"noise ratio ≤ {GOAL_NOISE_RATIO:g}, and (AU-conditioned methods) each of the {len(RAISE_AUS)} AUs asked for "
             "+2 raised with a 95 % CI above 0 (`au_raise`: the mean rise, in the stopping rule since 2026-12-06 15:20 UTC; "
             "`aus_raised`: how many rise). Figure: `" + image + "`."
             + (f" Held-out faces edited by each best checkpoint: `{samples}` (`benchmarks/baseline_samples.py`)." if samples else ""),
             ""]  # fmt: skip
    lines += ["| method | validations | last step | converged | best step | best ideal_l1 | best au_error | best emotion acc. | best noise ratio | best AU raise | best HF ratio | goals at the best step | unedited source | bundled weights | schedule |",
              "|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---|---|---|---|"]  # fmt: skip
    for run in runs:
        h, best, ref = run["history"], run["best"], references.get(run["method"], {})
        if not h:
            lines.append(f"| {run['method']} | 0 | — | not started | — | — | — | — | — | — | — | — | — | — | — |")
            continue

        def cell(m: str, row: dict[str, float] | None) -> str:
            return f"{row[m]:.4f}" if row is not None and m in row else "—"

        def shown(row: dict[str, float] | None) -> str:
            return " / ".join(f"{row[m]:.3f}" for m in PANELS if m in row) if row else "—"

        schedule = "; ".join(f"from {p['from_step']}: n_critic {p['n_critic']}, lr {p['lr_g']:g}/{p['lr_d']:g}"
                             + (", bf16" if p.get("bf16") else "") + (f", weights averaged (EMA {p['g_ema']:g})" if p.get("g_ema") else "")
                             + (", up-convs blurred" if p.get("upsample_blur") else "")
                             + (" (started from the bundled weights)" if p.get("init_from") else "")
                             for p in run["schedule"]) or "—"
        lines.append(f"| {run['method']} | {len(h)} | {h[-1]['step']} | {run.get('status') or ('yes' if run['converged'] else 'no')} | "
                     f"{best['step']} | {cell('ideal_l1', best)} | {cell('au_error', best)} | {cell('emotion_accuracy', best)} | {cell('noise_ratio', best)} | {cell('au_raise', best)} | {cell('high_freq_ratio', best)} | "
                     f"{goals(best)} | {shown(ref.get('unedited source'))} | {bundle_label(run['method'])}: {shown(ref.get('bundled'))} | {schedule} |")  # fmt: skip
    for run in runs:
        if not run["history"]:
            continue
        names = [m for m in HIGHER_IS_BETTER if any(m in h for h in run["history"])]
        lines += ["", f"**{run['method']}**: step → " + ", ".join(
            f"{h['step']}: " + " / ".join(f"{h[m]:.3f}" if m in h else "—" for m in names) for h in run["history"])
            + f" ({' / '.join(names)})"]  # fmt: skip
        if run.get("last_weights"):
            lines.append(average_against_last(run, names))
        carried = [h["step"] for h in run["history"] if "from" in h]
        if carried:
            lines.append(f"Validations up to step {max(carried)} come from {run['history'][0]['from']}.")
    return "\n".join(lines) + "\n"


def average_against_last(run: dict[str, Any], names: list[str]) -> str:
    """A line comparing, at each step validated both ways, the moving average of the generator's
    weights (``val.jsonl``, what is kept and exported) with the last weights (``val_last_weights.jsonl``)."""
    averaged = {h["step"]: h for h in run["history"]}
    pairs = [(averaged[h["step"]], h) for h in run["last_weights"] if h["step"] in averaged]
    cells = [f"{avg['step']}: " + " / ".join(f"{avg[m]:.3f} vs {last[m]:.3f}" for m in names if m in avg and m in last)
             for avg, last in pairs]  # fmt: skip
    return ("Moving average vs last weights (`--g-ema`; same faces, `val_last_weights.jsonl`): step → "
            + ", ".join(cells) + f" ({' / '.join(names)}; average vs last).")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--state-root", default="~/.cache/aufx/baselines", help="folder of the <method><size> state folders")
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--patience", type=int, default=6)
    parser.add_argument("--min-delta", type=float, default=0.01)
    parser.add_argument("--val-faces", type=int, default=64, help="held-out faces of the trainings' validations")
    parser.add_argument("--no-reference", action="store_true", help="skip the unedited-source reference (about a minute)")
    parser.add_argument("--write-results", action="store_true")
    parser.add_argument("--write-docs", action="store_true")
    parser.add_argument("--results", type=Path, default=RESULTS_MD, help=argparse.SUPPRESS)
    parser.add_argument("--docs-image", type=Path, default=DOCS_IMAGE, help=argparse.SUPPRESS)
    parser.add_argument("--samples-image", type=Path, default=SAMPLES_IMAGE, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, default=Path("~/.cache/aufx/baseline_validation.png").expanduser())
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    root = Path(args.state_root).expanduser()
    plateau = Plateau(args.patience, args.min_delta)
    runs = []
    for method in [m.strip() for m in args.methods.split(",") if m.strip()]:
        state_dir = root / f"{method}{args.size}"
        run = summarise(method, read_history(state_dir / "val.jsonl"), plateau)
        run["last_weights"] = read_history(state_dir / "val_last_weights.jsonl")
        run["schedule"] = schedule_of(state_dir)
        run["status"] = status(run, plateau)
        runs.append(run)
    references: dict[str, dict[str, dict[str, float]]] = {}
    if not args.no_reference:
        for run in runs:
            if run["history"]:
                from baselines.base import Conditioning
                from baselines.registry import adapter_class

                emotion = adapter_class(run["method"]).conditioning == Conditioning.EMOTION  # class targets (StarGAN)
                references[run["method"]] = references_for(run["method"], args.size, args.val_faces, emotion)
    image = args.docs_image if args.write_docs else args.out
    figure(runs, references, image)
    shown = str(image.relative_to(ROOT)) if image.is_relative_to(ROOT) else str(image)
    samples = None
    with_best = [run["method"] for run in runs if (root / f"{run['method']}{args.size}" / "best_G.pt").is_file()]
    if args.write_docs and with_best:
        import baseline_samples

        path = baseline_samples.main(["--which", "best", "--size", str(args.size), "--methods", ",".join(with_best),
                                      "--state-root", str(root), "--out", str(args.samples_image)])  # fmt: skip
        samples = str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)
    section = markdown(runs, references, args, shown, samples)
    print(section)
    if args.write_results:
        replace_section(args.results, SECTION, section, after=AFTER_SECTION)
    return {"runs": runs, "references": references, "markdown": section, "image": image}


if __name__ == "__main__":
    main()
