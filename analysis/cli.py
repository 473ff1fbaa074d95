"""``aufx analyze``: ratings export → statistics, tables, figures and ``report.html``.

Kept cheap to import: pandas, scipy, statsmodels and matplotlib load inside the handler.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``analyze`` sub-command."""
    parser = subparsers.add_parser(
        "analyze",
        help="statistics, tables, figures and an HTML report from a ratings export",
        description="Analyse a perceptual study: paired t-tests against the reference method (as "
        "in the paper), Wilcoxon, Friedman, linear and ordinal mixed models, agreement and power; writes "
        "DIR/report.html, DIR/tables/*.{csv,md,tex} and DIR/figures/*.{png,svg}.",
    )
    parser.add_argument("ratings", type=Path, help="ratings export (long CSV or Parquet)")
    parser.add_argument("--out", type=Path, required=True, help="output directory")
    parser.add_argument("--metrics", type=Path, help="objective metrics per stimulus (metrics.csv)")
    parser.add_argument("--reference", help="reference method (default: aufx, or the one aufx* method)")
    parser.add_argument("--directions", type=Path, help="AU direction correlation matrix CSV (Fig. 4)")
    parser.add_argument("--clusters", type=Path,
                        help="AU-cluster table (au,name,clusters) or AU × cluster matrix R (Table 1)")
    parser.add_argument("--scale", default="1-5", help="Likert scale, e.g. 1-5 or 1-7 (default 1-5)")
    parser.add_argument("--simulated", action="store_true",
                        help="label the data as simulated in the report")
    parser.add_argument("--max-model-rows", type=int, default=6_000,
                        help="ratings per question above which the mixed model is fitted on a "
                        "subsample of whole participants (ordinal models: 5×); default 6000")
    parser.add_argument("--family", choices=("table", "question"), default="table",
                        help="family of the Holm and BH corrections: every test of a table "
                        "(default; the stricter choice) or each question apart")
    parser.add_argument("--random-slopes", action="store_true",
                        help="linear mixed model: also a by-participant random slope of each method "
                        "(uncorrelated; lme4's (1 + method || participant))")
    parser.add_argument("--skip-models", action="store_true",
                        help="leave out the mixed and ordinal models")
    parser.add_argument("--lenient", action="store_true",
                        help="require only the columns the analysis uses, not the full export schema")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Handler: run the analysis, print where the report is and what was dropped."""
    from analysis.report import analyze

    if args.max_model_rows < 100:
        raise ValueError(f"--max-model-rows must be at least 100, got {args.max_model_rows}")
    result = analyze(
        args.ratings,
        args.out,
        metrics=args.metrics,
        reference=args.reference,
        directions=args.directions,
        clusters=args.clusters,
        scale=args.scale,
        simulated=True if args.simulated else None,
        strict=not args.lenient,
        max_model_rows=args.max_model_rows,
        models=not args.skip_models,
        family=args.family,
        random_slopes=args.random_slopes,
    )
    print(result.summary.text())
    for message in result.warnings:
        print(f"warning: {message}")
    print(f"report: {Path(args.out) / 'report.html'}")
    return 0
