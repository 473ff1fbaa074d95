"""Run the whole analysis and write the report: ``report.html`` (self-contained), tables as
CSV/Markdown/LaTeX under ``tables/``, figures as PNG/SVG under ``figures/``."""

from __future__ import annotations

import base64
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from analysis import compare, tables
from analysis import models as model_fits
from analysis.agreement import agreement_table
from analysis.load import (
    LoadSummary,
    RatingsError,
    Scale,
    choose_reference,
    load_ratings,
    read_table,
)
from analysis.ordinal_mixed import ordinal_mixed_model
from analysis.power import min_detectable_dz, power_table

#: What each ``--family`` means, and why ``table`` is the default (methods text and docs).
FAMILY_TEXT = {
    "table": "all tests of the same table form one family (e.g. all {k} paired t-tests together)",
    "question": "the tests of each question form their own family (one family per question)",
}
FAMILY_LABEL = {"table": "all tests of the table (--family table)",
                "question": "each question apart (--family question)"}
FAMILY_REASON = (
    "The family is the researcher's choice (aufx analyze --family table|question). The default, "
    "table, is the stricter one: every conclusion drawn from a table is protected against all the "
    "tests that table reports, whatever grouping of the questions a reader has in mind; "
    "--family question corrects within each question (one family per research question, as many "
    "papers do) and gives smaller adjusted p-values."
)
#: Canonical order of the paper's questions; other questions follow in order of appearance.
QUESTION_ORDER = ("expression", "identity", "artifacts")
ID_COLUMNS = ("stimulus_id", "method", "item_id", "source_id", "target_id")


@dataclass
class AnalysisResult:
    """Everything the report shows; ``tables`` are tidy DataFrames keyed by file name."""

    ratings: pd.DataFrame
    summary: LoadSummary
    reference: str
    methods: list[str]
    questions: list[str]
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    figures: dict[str, object] = field(default_factory=dict)  # name -> matplotlib Figure
    warnings: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    family: str = "table"
    random_slopes: bool = False


def _order(ratings: pd.DataFrame, summary: LoadSummary, reference: str) -> tuple[list[str], list[str]]:
    methods = [reference] + [m for m in summary.methods if m != reference]
    questions = [q for q in QUESTION_ORDER if q in summary.questions]
    questions += [q for q in summary.questions if q not in questions]
    ratings["method"] = ratings["method"].cat.reorder_categories(methods)
    ratings["question"] = ratings["question"].cat.reorder_categories(questions)
    return methods, questions


def read_metrics(path: str | Path | pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """metrics.csv: ``stimulus_id`` plus numeric metric columns (any; non-numeric extras ignored)."""
    frame = path.copy() if isinstance(path, pd.DataFrame) else read_table(path)
    if "stimulus_id" not in frame.columns:
        raise RatingsError(f"metrics file: missing column 'stimulus_id' (columns: {', '.join(frame.columns)})")
    frame["stimulus_id"] = frame["stimulus_id"].astype("string")
    if frame["stimulus_id"].duplicated().any():
        dup = frame.loc[frame["stimulus_id"].duplicated(), "stimulus_id"].iloc[0]
        raise RatingsError(f"metrics file: stimulus_id {dup!r} appears more than once")
    metric_columns = [c for c in frame.columns if c not in ID_COLUMNS
                      and pd.api.types.is_numeric_dtype(frame[c]) and frame[c].notna().any()]
    if not metric_columns:
        raise RatingsError("metrics file: no numeric metric columns besides the identifiers")
    return frame[["stimulus_id", *metric_columns]], metric_columns


def metric_correlations(merged: pd.DataFrame, metric_columns: list[str], questions: list[str],
                        methods: list[str]) -> pd.DataFrame:
    """Spearman's rho between each metric and the mean rating per stimulus, over all stimuli and
    within each method."""
    from scipy.stats import spearmanr

    rows = []
    for metric in metric_columns:
        for question in questions:
            sub = merged[merged["question"] == question]
            for method in ["all", *methods]:
                s = sub if method == "all" else sub[sub["method"] == method]
                ok = s[[metric, "mean_rating"]].dropna()
                if len(ok) < 3 or ok[metric].nunique() < 2 or ok["mean_rating"].nunique() < 2:
                    rows.append({"metric": metric, "question": question, "method": method,
                                 "n": len(ok), "note": "fewer than 3 stimuli or no variation"})
                    continue
                res = spearmanr(ok[metric], ok["mean_rating"])
                rows.append({"metric": metric, "question": question, "method": method, "n": len(ok),
                             "rho": float(res.statistic), "p-val": float(res.pvalue), "note": ""})
    return pd.DataFrame(rows)


def _p_clause(p: float) -> str:
    text = tables.format_p(p)
    return text if text.startswith("<") else f"= {text}"


def _result_sentences(ttests: pd.DataFrame) -> list[str]:
    out = []
    for _, r in ttests.iterrows():
        if not np.isfinite(r.get("T", np.nan)):
            out.append(f"{r['question']}: {r['A']} vs {r['B']}: not testable ({r['note']})")
            continue
        lo, hi = r["CI95%"]
        p_text = f"p {_p_clause(r['p-val'])}"
        out.append(
            f"{r['question']}: {r['A']} vs {r['B']}: M_diff = {r['mean-diff']:.2f}, 95% CI "
            f"[{lo:.2f}, {hi:.2f}], t({int(r['dof'])}) = {r['T']:.2f}, {p_text}, "
            f"d_z = {r['cohen-dz']:.2f}; Holm-corrected p {_p_clause(r['p-holm'])} "
            f"(family: {r['family']})"
        )
    return out


def methods_text(result: AnalysisResult, max_model_rows: int) -> list[str]:
    s = result.summary
    n = s.n_participants_kept
    k = len(result.tables["ttests"])
    dropped = "; ".join(f"{v} rows: {k_}" for k_, v in s.dropped.items()) or "none"
    paragraphs = [
        f"Participants. {n} participants were analysed ({s.n_participants_read} read; "
        f"{len(s.excluded_participants)} excluded: flagged 'excluded' or failing an attention check). "
        f"Rows dropped: {dropped}. Attention-check trials are never analysed as stimuli.",
        f"Design. {n} participants rated {s.n_stimuli} stimuli ({s.n_items} items × "
        f"{len(result.methods)} methods: {', '.join(result.methods)}) on {len(result.questions)} "
        f"questions ({', '.join(result.questions)}) on a {s.scale} Likert scale.",
        f"The paper's test. For each question, ratings were averaged per participant and method and "
        f"{result.reference} was compared with every other method by a two-sided paired t-test over "
        f"participants (df = n − 1). We report the mean difference ({result.reference} − method) with "
        f"its 95% CI and Cohen's d_z (mean difference / SD of differences) with a noncentral-t 95% CI. "
        f"p-values are given uncorrected (as in the paper) and corrected with Holm's method and with "
        f"the Benjamini–Hochberg false discovery rate. Family of each correction ({result.family}): "
        f"{FAMILY_TEXT[result.family].format(k=k)}; every table with adjusted p-values names its "
        f"family and its number of tests m in the column 'family'. {FAMILY_REASON}",
        "Robustness. Wilcoxon signed-rank tests on the same participant means (exact for n < 50 "
        "without ties, otherwise normal approximation with continuity and tie corrections; effect "
        "size: matched-pairs rank-biserial r); Friedman tests across all methods per question with "
        f"post-hoc pairwise Wilcoxon tests, Holm- and BH-corrected in the same family ({result.family}). "
        "Ordinal ratings: per question, the cumulative-logit mixed model rating ~ method + "
        "(1 | participant) + (1 | item) (R ordinal::clmm; maximum likelihood with the Laplace "
        "approximation; Wald z tests and CIs; odds ratios > 1 mean the method is rated higher than "
        f"{result.reference}), and, as a second table, the marginal proportional-odds model with "
        "participant-clustered standard errors (statsmodels OrderedModel; its coefficients are "
        "population-averaged, so smaller in magnitude than the mixed model's). Linear mixed models "
        "per question on single ratings (REML, statsmodels MixedLM) with the reference method as "
        "baseline and crossed random intercepts for participants and items"
        + (" and, for each method, an uncorrelated by-participant random slope ((1 + method || participant) "
           "in lme4's notation; Barr et al., 2013)" if result.random_slopes else "")
        + ". The linear mixed model is "
        f"fitted to at most {max_model_rows:,} and the ordinal models to at most "
        f"{5 * max_model_rows:,} ratings per question; above that, to a random subset of whole "
        "participants (noted in the tables).",
        "Agreement and power. Krippendorff's α (ordinal) over all ratings per question (raters = "
        "participants, units = stimuli) and ICC(2,1)/ICC(2,k) (Shrout & Fleiss, 1979) on the largest "
        "complete stimuli × participants block. Power: participants needed for 80% power at the observed "
        f"d_z (two-sided α = .05), and the smallest d_z detectable at 80% with the present n "
        f"(d_z = {min_detectable_dz(n) if n > 2 else float('nan'):.2f} for n = {n}).",
    ]
    return paragraphs


def analyze(
    ratings: str | Path | pd.DataFrame,
    out: str | Path | None = None,
    *,
    metrics: str | Path | pd.DataFrame | None = None,
    reference: str | None = None,
    directions: str | Path | None = None,
    clusters: str | Path | None = None,
    scale: Scale | str = "1-5",
    simulated: bool | None = None,
    strict: bool = True,
    max_model_rows: int = 6_000,
    figures: bool = True,
    models: bool = True,
    family: str = "table",
    random_slopes: bool = False,
) -> AnalysisResult:
    """Load, test, model and (when ``out`` is given) write the report. Returns the tables.

    ``models=False`` skips the mixed and ordinal models (the slowest part on small data).
    ``family``: Holm/BH over every test of a table (``"table"``) or within each question
    (``"question"``), for every table with adjusted p-values. ``random_slopes``: the linear mixed
    model also gets by-participant random slopes of the methods (:func:`analysis.models.mixed_model`)."""
    if family not in compare.FAMILIES:
        raise ValueError(f"family must be one of {', '.join(compare.FAMILIES)}; got {family!r}")
    timings: dict[str, float] = {}
    tick = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        data, summary = load_ratings(ratings, scale=scale, strict=strict, simulated=simulated)
        ref = choose_reference(summary.methods, reference)
        methods, questions = _order(data, summary, ref)
        result = AnalysisResult(data, summary, ref, methods, questions, family=family, random_slopes=random_slopes)
        t = result.tables
        timings["load"] = time.perf_counter() - tick

        tick = time.perf_counter()
        t["exclusions"] = summary.as_frame()
        t["descriptives"] = compare.descriptives(data)
        t["ttests"] = compare.reference_ttests(data, ref, family)
        t["wilcoxon"] = compare.reference_wilcoxon(data, ref, family)
        t["friedman"] = compare.friedman_tests(data, family)
        t["posthoc"] = compare.posthoc_wilcoxon(data, family)
        t["power"] = power_table(t["ttests"])
        timings["tests"] = time.perf_counter() - tick

        if models:
            tick = time.perf_counter()
            t["mixed"] = model_fits.per_question(model_fits.mixed_model, data, ref,
                                                 max_rows=max_model_rows, random_slopes=random_slopes)
            t["ordinal_mixed"] = model_fits.per_question(ordinal_mixed_model, data, ref,
                                                         max_rows=5 * max_model_rows)
            t["ordinal_marginal"] = model_fits.per_question(model_fits.ordinal_model, data, ref,
                                                            max_rows=5 * max_model_rows)
            timings["models"] = time.perf_counter() - tick

        tick = time.perf_counter()
        t["agreement"] = agreement_table(data, summary.scale.points)
        timings["agreement"] = time.perf_counter() - tick

        merged = None
        if metrics is not None:
            metric_frame, metric_columns = read_metrics(metrics)
            stim = (data.groupby(["stimulus_id", "method", "question"], observed=True)["rating"]
                    .mean().rename("mean_rating").reset_index())
            stim["stimulus_id"] = stim["stimulus_id"].astype("string")
            merged = stim.merge(metric_frame, on="stimulus_id", how="left")
            missing = merged.loc[merged[metric_columns].isna().all(axis=1), "stimulus_id"].unique()
            if len(missing) == stim["stimulus_id"].nunique():
                raise RatingsError("metrics file: none of its stimulus_id values match the ratings")
            if len(missing):
                warnings.warn(f"metrics file: {len(missing)} rated stimuli have no metrics "
                              f"(e.g. {missing[0]!r}); they are left out of the metric analysis", stacklevel=2)
            t["metric_correlations"] = metric_correlations(merged, metric_columns, questions, methods)
        if directions is not None:
            from analysis.engine_outputs import read_directions

            t["directions"] = read_directions(directions).reset_index(names="au")
        if clusters is not None:
            from analysis.engine_outputs import read_cluster_table

            t["clusters"] = read_cluster_table(clusters)[["action_unit", "clusters"]].rename(
                columns={"action_unit": "Action unit", "clusters": "Affected clusters"})

        if figures:
            tick = time.perf_counter()
            from analysis import figures as fg

            result.figures["bars"] = fg.bar_chart(
                t["descriptives"], t["ttests"], ref, methods, questions,
                (summary.scale.low, summary.scale.high))
            result.figures["likert"] = fg.likert_bars(data, methods, questions, summary.scale.points)
            if merged is not None:
                result.figures["metrics"] = fg.metric_scatter(
                    merged, metric_columns, questions, methods, ref)
            if directions is not None:
                result.figures["directions"] = fg.direction_heatmap(t["directions"].set_index("au"))
            timings["figures"] = time.perf_counter() - tick
    result.warnings = list(dict.fromkeys(str(w.message) for w in caught
                                         if not issubclass(w.category, (DeprecationWarning,))))
    result.timings = timings
    if out is not None:
        tick = time.perf_counter()
        write_report(result, Path(out), max_model_rows)
        timings["write"] = time.perf_counter() - tick
    return result


#: Columns shown in the HTML report only in their CSV (too detailed for the page).
HIDDEN_IN_HTML = ("sd-diff", "se", "alternative", "method", "n_rows", "W-val", "max-grad", "cond-H")


def display_table(table: pd.DataFrame) -> pd.DataFrame:
    """The table as shown in the HTML: detail columns and empty note columns left out."""
    drop = [c for c in HIDDEN_IN_HTML if c in table.columns and not (c == "method" and "A" not in table)]
    if "note" in table.columns and not table["note"].fillna("").astype(str).str.len().any():
        drop.append("note")
    return table.drop(columns=drop)


def write_report(result: AnalysisResult, out: Path, max_model_rows: int = 6_000) -> Path:
    """Write tables, figures and ``report.html`` into ``out``; returns the report's path."""
    import importlib.metadata as md

    import jinja2
    import matplotlib.pyplot as plt

    from analysis import figures as fg

    out.mkdir(parents=True, exist_ok=True)
    captions = {
        "ttests": f"Paired t-tests of {result.reference} against each method (participant means).",
        "descriptives": "Descriptive statistics of participant mean ratings.",
    }
    html_tables = {}
    for name, table in result.tables.items():
        tables.write_table(table, out / "tables", name, captions.get(name, name))
        if name != "directions":
            html_tables[name] = tables.to_html(display_table(table))
    images = {}
    for name, fig in result.figures.items():
        paths = fg.save_figure(fig, out / "figures", name)
        images[name] = base64.b64encode(paths["png"].read_bytes()).decode("ascii")
        plt.close(fig)
    s = result.summary
    versions = []
    for package in ("numpy", "scipy", "pandas", "statsmodels", "krippendorff", "matplotlib", "seaborn"):
        try:
            versions.append(f"{package} {md.version(package)}")
        except md.PackageNotFoundError:
            pass
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("analysis", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
    )
    study = ", ".join(sorted(result.ratings["study_id"].astype(str).unique())) \
        if "study_id" in result.ratings.columns else "—"
    page = env.get_template("report.html.j2").render(
        title="Perceptual study report" + (" (simulated data)" if s.simulated else ""),
        study=study,
        generated=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        simulated=s.simulated,
        warnings=result.warnings,
        cards=[("participants", s.n_participants_kept), ("ratings", f"{s.n_rows_kept:,}"),
               ("methods", len(result.methods)), ("items", s.n_items),
               ("questions", len(result.questions)), ("excluded participants", len(s.excluded_participants))],
        summary_text=s.text(),
        methods_text=methods_text(result, max_model_rows),
        reference=result.reference,
        family=FAMILY_LABEL[result.family],
        result_sentences=_result_sentences(result.tables["ttests"]),
        tables={k: jinja2.utils.markupsafe.Markup(v) for k, v in html_tables.items()},
        figures=images,
        software="Software: " + ", ".join(versions) + ".",
    )
    path = out / "report.html"
    path.write_text(page, encoding="utf-8")
    return path
