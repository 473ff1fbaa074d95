"""Figures of the report (matplotlib/seaborn, Agg backend): the paper's Fig. 10 bars, diverging
Likert bars, the AU direction heatmap (Fig. 4), and objective metric vs perceived rating."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from analysis.compare import significance_stars  # noqa: E402

REFERENCE_COLOUR = "#0173b2"
#: seaborn's colour-blind palette without its first (the reference's) colour.
OTHER_COLOURS = ["#de8f05", "#029e73", "#d55e00", "#cc78bc", "#ca9161", "#fbafe4", "#949494",
                 "#ece133", "#56b4e9"]
LIKERT_COLOURS = {  # diverging, colour-blind safe (RdBu-like)
    3: ["#ef8a62", "#f7f7f7", "#67a9cf"],
    5: ["#ca0020", "#f4a582", "#e0e0e0", "#92c5de", "#0571b0"],
    7: ["#b2182b", "#ef8a62", "#fddbc7", "#e0e0e0", "#d1e5f0", "#67a9cf", "#2166ac"],
}


def method_colours(methods: list[str], reference: str) -> dict[str, str]:
    others = iter(OTHER_COLOURS * 4)
    return {m: REFERENCE_COLOUR if m == reference else next(others) for m in methods}


def save_figure(fig: Figure, out_dir: Path, name: str) -> dict[str, Path]:
    """Write ``name.png`` (150 dpi) and ``name.svg``; return their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"png": out_dir / f"{name}.png", "svg": out_dir / f"{name}.svg"}
    fig.savefig(paths["png"], dpi=150)
    fig.savefig(paths["svg"])
    return paths


def bar_chart(
    desc: pd.DataFrame,
    ttests: pd.DataFrame,
    reference: str,
    methods: list[str],
    questions: list[str],
    scale: tuple[int, int] = (1, 5),
    p_column: str = "p-val",
) -> Figure:
    """Fig. 10 style: mean rating (participant means) per method, 95% CI error bars, and a
    bracket from the reference to each method with its significance mark."""
    colours = method_colours(methods, reference)
    fig, axes = plt.subplots(1, len(questions), figsize=(3.6 * len(questions), 3.8), sharey=True,
                             squeeze=False)
    low, high = scale
    for ax, question in zip(axes[0], questions, strict=True):
        d = desc[desc["question"] == question].set_index("method").reindex(methods)
        x = np.arange(len(methods))
        ci = np.array([v if isinstance(v, (list, tuple, np.ndarray)) else [np.nan, np.nan]
                       for v in d["CI95%"]], dtype=float)  # NaN: method not rated on question
        err = np.abs(ci - d["mean"].to_numpy()[:, None]).T
        ax.bar(x, d["mean"] - low, bottom=low, color=[colours[m] for m in methods],
               yerr=err, capsize=3, edgecolor="#1a202c", linewidth=0.6)
        ref_x = methods.index(reference)
        tops = ci[:, 1]
        level = np.nanmax(tops) + 0.15
        tests = ttests[ttests["question"] == question].set_index("B")
        for m in methods:
            if m == reference or m not in tests.index:
                continue
            mx = methods.index(m)
            p = float(tests.loc[m, p_column])
            if not np.isfinite(p):
                continue
            ax.plot([ref_x, ref_x, mx, mx], [level - 0.05, level, level, level - 0.05],
                    color="#1a202c", linewidth=0.8)
            label = significance_stars(p)
            label = f"p={p:.2f}" if label == "n.s." else label
            ax.text((ref_x + mx) / 2, level + 0.02, label, ha="center", va="bottom", fontsize=8)
            level += 0.32
        ax.set_title(question)
        ax.set_xticks(x, methods, rotation=30, ha="right")
        ax.set_ylim(low, max(high, level + 0.1))
        ax.set_yticks(range(low, high + 1))
        ax.spines[["top", "right"]].set_visible(False)
    axes[0][0].set_ylabel("mean rating (95% CI over participants)")
    fig.tight_layout()
    return fig


def likert_bars(ratings: pd.DataFrame, methods: list[str], questions: list[str],
                points: list[int]) -> Figure:
    """Diverging stacked bars of the rating distribution per method (rows) and question (panels),
    centred on the scale midpoint (the neutral category is split across zero)."""
    colours = LIKERT_COLOURS.get(len(points)) or [
        plt.get_cmap("RdBu")(i) for i in np.linspace(0.1, 0.9, len(points))
    ]
    counts = (
        ratings.groupby(["question", "method", "rating"], observed=True).size()
        .unstack("rating", fill_value=0).reindex(columns=points, fill_value=0)
    )
    share = counts.div(counts.sum(axis=1), axis=0) * 100
    fig, axes = plt.subplots(1, len(questions), figsize=(3.8 * len(questions), 0.5 * len(methods) + 1.6),
                             sharey=True, squeeze=False)
    mid = len(points) // 2
    odd = len(points) % 2 == 1
    for ax, question in zip(axes[0], questions, strict=True):
        data = share.loc[question].reindex(methods, fill_value=0)
        y = np.arange(len(methods))[::-1]
        negative = data.iloc[:, :mid].sum(axis=1) + (data.iloc[:, mid] / 2 if odd else 0)
        left = -negative.to_numpy()
        for j, point in enumerate(points):
            width = data[point].to_numpy()
            ax.barh(y, width, left=left, color=colours[j], edgecolor="white", linewidth=0.4,
                    label=str(point))
            left = left + width
        ax.axvline(0, color="#1a202c", linewidth=0.8)
        ax.set_yticks(y, methods)
        ax.set_title(question)
        ax.set_xlabel("% of ratings")
        ax.set_xlim(-100, 100)
        ax.spines[["top", "right"]].set_visible(False)
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, title="rating", loc="lower center", ncol=len(points),
               bbox_to_anchor=(0.5, 0.0), frameon=False)
    fig.tight_layout(rect=(0, 0.16, 1, 1))
    return fig


def direction_heatmap(matrix: pd.DataFrame) -> Figure:
    """Fig. 4: correlation (cosine) between AU direction vectors, annotated."""
    import seaborn as sns

    fig, ax = plt.subplots(figsize=(8.5, 7))
    limit = float(np.nanmax(np.abs(matrix.to_numpy())))
    signed = bool((matrix.to_numpy() < 0).any())
    sns.heatmap(matrix, ax=ax, annot=True, fmt=".2f", annot_kws={"fontsize": 6},
                cmap="RdBu_r" if signed else "Blues", vmin=-limit if signed else 0, vmax=limit,
                square=True, cbar_kws={"shrink": 0.7, "label": "correlation"})
    ax.set_title("Correlation between AU directions")
    ax.set_xlabel("")
    ax.set_ylabel("")
    fig.tight_layout()
    return fig


#: Which question a known metric speaks to (others: the question they correlate with most).
METRIC_QUESTION = {"target_change": "expression", "identity_drift": "identity", "leakage": "artifacts",
                   "out_of_region": "artifacts", "realism": "artifacts"}


def pick_question(merged: pd.DataFrame, metric: str, questions: list[str]) -> str:
    """The question a metric is plotted against: by name, else the strongest |Spearman rho|."""
    if METRIC_QUESTION.get(metric) in questions:
        return METRIC_QUESTION[metric]
    best, best_rho = questions[0], -1.0
    for question in questions:
        sub = merged.loc[merged["question"] == question, [metric, "mean_rating"]].dropna()
        rho = abs(sub.corr(method="spearman").iloc[0, 1]) if len(sub) > 2 else np.nan
        if np.isfinite(rho) and rho > best_rho:
            best, best_rho = question, rho
    return best


def metric_scatter(
    merged: pd.DataFrame, metrics: list[str], questions: list[str], methods: list[str], reference: str
) -> Figure:
    """Objective metric (x) vs mean perceived rating per stimulus (y), one panel per metric
    (against the question it speaks to, see :func:`pick_question`), coloured by method, with
    Spearman's rho in the title. All metric × question correlations are in the table."""
    from scipy.stats import spearmanr

    colours = method_colours(methods, reference)
    ncols = min(3, len(metrics))
    nrows = int(np.ceil(len(metrics) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.4 * ncols, 2.9 * nrows + 0.5), squeeze=False)
    for ax in axes.ravel()[len(metrics):]:
        ax.set_visible(False)
    for ax, metric in zip(axes.ravel(), metrics, strict=False):
        question = pick_question(merged, metric, questions)
        sub = merged[merged["question"] == question]
        for m in methods:
            s = sub[sub["method"] == m]
            ax.scatter(s[metric], s["mean_rating"], s=10, alpha=0.75, color=colours[m], label=m,
                       edgecolor="none")
        ok = sub[[metric, "mean_rating"]].dropna()
        rho = spearmanr(ok[metric], ok["mean_rating"]).statistic if len(ok) > 2 else np.nan
        ax.set_title(f"{metric} vs {question}: ρ = {rho:.2f}", fontsize=9)
        ax.set_xlabel(metric, fontsize=8)
        ax.set_ylabel(f"mean {question} rating", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.spines[["top", "right"]].set_visible(False)
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(methods), frameon=False,
               bbox_to_anchor=(0.5, 0.0))
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    return fig
