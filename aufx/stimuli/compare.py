"""``aufx compare DIR``: the objective comparison of methods, from ``metrics.csv`` + ``manifest.csv``.

For every task, method and metric: n, mean, standard deviation and the 95 % confidence interval
of the mean (Student t, ``mean ± t_{0.975, n-1} · sd / sqrt(n)``). Written as a tidy CSV
(``comparison.csv``), a Markdown table per task (``comparison.md``, ``mean ± half-width``) and a
figure (``comparison.png``: one panel per headline metric, bars with CI whiskers).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from aufx.files import write_figure
from aufx.stimuli.assemble import HEADLINE_METRICS, METRICS_KEY_COLUMNS

#: Which direction is better, for the Markdown note.
BETTER = {"target_change": "higher", "transfer_error": "lower", "leakage": "lower", "outside_share": "lower",
          "identity_drift": "lower", "realism": "higher", "high_freq_ratio": "near 1", "pixel_change": "-"}  # fmt: skip


def read_study_metrics(folder: str | Path) -> pd.DataFrame:
    """metrics.csv joined with the manifest's ``task`` column (one row per stimulus)."""
    folder = Path(folder)
    for name in ("manifest.csv", "metrics.csv"):
        if not (folder / name).is_file():
            raise FileNotFoundError(
                f"{folder / name}: not found (write the folder with `aufx stimuli`)"
            )
    manifest = pd.read_csv(folder / "manifest.csv", dtype=str, keep_default_na=False)
    metrics = pd.read_csv(folder / "metrics.csv", dtype={c: str for c in METRICS_KEY_COLUMNS})
    missing = [c for c in METRICS_KEY_COLUMNS if c not in metrics.columns]
    if missing:
        raise ValueError(f"{folder / 'metrics.csv'}: missing column(s) {', '.join(missing)}")
    return metrics.merge(
        manifest[["stimulus_id", "task"]], on="stimulus_id", how="left", validate="one_to_one"
    )


def mean_ci(values: np.ndarray, level: float = 0.95) -> tuple[int, float, float, float, float]:
    """(n, mean, sd, ci_low, ci_high) of finite ``values`` (CI NaN when n < 2)."""
    from scipy import stats

    x = np.asarray(values, dtype=np.float64)
    x = x[np.isfinite(x)]
    n = int(x.size)
    if n == 0:
        return 0, math.nan, math.nan, math.nan, math.nan
    mean = float(x.mean())
    if n < 2:
        return n, mean, math.nan, math.nan, math.nan
    sd = float(x.std(ddof=1))
    half = float(stats.t.ppf(0.5 + level / 2, n - 1)) * sd / math.sqrt(n)
    return n, mean, sd, mean - half, mean + half


def comparison_table(frame: pd.DataFrame, metrics: list[str] | None = None) -> pd.DataFrame:
    """Tidy table: task, method, metric, n, mean, sd, ci_low, ci_high (methods in first-seen order)."""
    metric_cols = metrics or [c for c in frame.columns if c not in (*METRICS_KEY_COLUMNS, "task")]
    rows = []
    for task in dict.fromkeys(frame["task"]):
        sub = frame[frame["task"] == task]
        for method in dict.fromkeys(sub["method"]):
            cell = sub[sub["method"] == method]
            for metric in metric_cols:
                n, mean, sd, lo, hi = mean_ci(cell[metric].to_numpy(dtype=np.float64))
                if n:
                    rows.append({"task": task, "method": method, "metric": metric, "n": n, "mean": mean, "sd": sd,
                                 "ci_low": lo, "ci_high": hi})  # fmt: skip
    return pd.DataFrame(
        rows, columns=["task", "method", "metric", "n", "mean", "sd", "ci_low", "ci_high"]
    )


def markdown(table: pd.DataFrame) -> str:
    """One Markdown table per task: methods as rows, headline metrics as ``mean ± CI half-width`` columns."""
    lines = ["# Objective comparison", "",
             "Mean ± 95 % CI half-width (Student t) per method and task; n = stimuli per cell.", ""]  # fmt: skip
    for task in dict.fromkeys(table["task"]):
        sub = table[table["task"] == task]
        metrics = [m for m in HEADLINE_METRICS if m in set(sub["metric"])]
        lines += [f"## Task: {task}", "", "| method | n | " + " | ".join(f"{m} ({BETTER[m]})" for m in metrics) + " |",
                  "|---|---:|" + "---:|" * len(metrics)]  # fmt: skip
        for method in dict.fromkeys(sub["method"]):
            cells = sub[sub["method"] == method].set_index("metric")
            values = []
            for m in metrics:
                row = cells.loc[m]
                half = (row["ci_high"] - row["ci_low"]) / 2
                values.append(f"{row['mean']:.3f}" + ("" if math.isnan(half) else f" ± {half:.3f}"))
            lines.append(f"| {method} | {int(cells['n'].max())} | " + " | ".join(values) + " |")
        lines.append("")
    return "\n".join(lines)


def figure(table: pd.DataFrame, path: Path) -> Path:
    """Bars (mean) with 95 % CI whiskers: one panel per headline metric, groups = tasks, bars = methods."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metrics = [m for m in HEADLINE_METRICS if m in set(table["metric"])]
    tasks = list(dict.fromkeys(table["task"]))
    methods = list(dict.fromkeys(table["method"]))
    fig, axes = plt.subplots(1, len(metrics), figsize=(3.2 * len(metrics), 3.4), squeeze=False)
    width = 0.8 / max(1, len(methods))
    colors = plt.get_cmap("tab10")
    for ax, metric in zip(axes[0], metrics, strict=True):
        for j, method in enumerate(methods):
            xs, ys, errs = [], [], []
            for i, task in enumerate(tasks):
                row = table[
                    (table["task"] == task)
                    & (table["method"] == method)
                    & (table["metric"] == metric)
                ]
                if row.empty:
                    continue
                r = row.iloc[0]
                xs.append(i + (j - (len(methods) - 1) / 2) * width)
                ys.append(r["mean"])
                errs.append(0.0 if math.isnan(r["ci_high"]) else (r["ci_high"] - r["ci_low"]) / 2)
            ax.bar(xs, ys, width, yerr=errs, capsize=2, color=colors(j % 10), label=method)
        ax.set_xticks(range(len(tasks)), tasks)
        ax.set_title(
            f"{metric} ({BETTER[metric]} is better)" if BETTER[metric] != "-" else metric,
            fontsize=9,
        )
    axes[0][0].legend(fontsize=7, loc="best")
    fig.tight_layout()
    write_figure(fig, path, dpi=120)
    return path


def compare(folder: str | Path, out: str | Path | None = None) -> dict[str, Path]:
    """Write comparison.csv / .md / .png for a stimulus folder (into ``out``, default the folder)."""
    frame = read_study_metrics(folder)
    table = comparison_table(frame)
    if table.empty:
        raise ValueError(f"{folder}: metrics.csv has no numeric metric values to compare")
    target = Path(out) if out else Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    paths = {
        "csv": target / "comparison.csv",
        "markdown": target / "comparison.md",
        "figure": target / "comparison.png",
    }
    table.to_csv(paths["csv"], index=False, float_format="%.6g")
    paths["markdown"].write_text(markdown(table) + "\n", encoding="utf-8")
    figure(table, paths["figure"])
    return paths
