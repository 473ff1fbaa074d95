"""R's numbers on the project's simulated studies, stored as test fixtures, and aufx's agreement
with them.

    .venv/bin/python benchmarks/r_reference.py            # run R, write the fixture
    .venv/bin/python benchmarks/r_reference.py --compare  # aufx vs the stored fixture (no R)

Writing the fixture needs ``Rscript`` with the Debian packages r-base-core, r-cran-ordinal and
r-cran-lme4 (``apt-get install -y r-base-core r-cran-ordinal r-cran-lme4``). For every study of
``analysis.fixtures.R_REFERENCE_STUDIES`` and every question, ``benchmarks/r_reference.R`` fits
``ordinal::clmm`` and ``lme4::lmer`` and runs the paired t-tests with ``p.adjust`` per family;
the fixture ``tests/analysis/data/r_reference.json`` keeps R's numbers with the SHA-256 of the
rows they were computed on. ``tests/analysis/test_r_reference.py`` compares against it.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

FIXTURE = ROOT / "tests" / "analysis" / "data" / "r_reference.json"
R_SCRIPT = Path(__file__).with_name("r_reference.R")
REFERENCE = "aufx"


def _nested(long: pd.DataFrame) -> dict:
    """R's long output -> {question: {model: {term: {quantity: value}}}}; '' = model-level."""
    out: dict = {}
    for row in long.itertuples(index=False):
        term = "" if pd.isna(row.term) else str(row.term)
        out.setdefault(row.question, {}).setdefault(row.model, {}).setdefault(term, {})[
            row.quantity] = float(row.value)
    return out


def run_r(name: str, spec: dict, folder: Path) -> tuple[dict, str]:
    """Run benchmarks/r_reference.R on one study; returns its numbers and R's version line."""
    from analysis.fixtures import frame_digest, model_frame, reference_study

    frame = model_frame(reference_study(spec))
    source, target = folder / f"{name}.csv", folder / f"{name}_r.csv"
    frame.to_csv(source, index=False)
    done = subprocess.run(["Rscript", str(R_SCRIPT), str(source), str(target), REFERENCE],
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"Rscript failed on {name}:\n{done.stderr}")
    numbers = _nested(pd.read_csv(target, keep_default_na=False, na_values=[]))
    digests = {q: frame_digest(frame[frame["question"] == q]) for q in numbers}
    rows = {q: int((frame["question"] == q).sum()) for q in numbers}
    return {"spec": spec, "digest": digests, "n_rows": rows, "r": numbers}, done.stdout.strip()


def write_fixture(only: list[str] | None = None) -> None:
    """Run R on every study (or on ``only``, keeping the other stored studies)."""
    from analysis.fixtures import R_REFERENCE_STUDIES

    studies, version = {}, ""
    if only:
        studies = json.loads(FIXTURE.read_text())["studies"]
    with tempfile.TemporaryDirectory() as tmp:
        for name, spec in R_REFERENCE_STUDIES.items():
            if only and name not in only:
                continue
            tick = time.perf_counter()
            studies[name], version = run_r(name, spec, Path(tmp))
            print(f"{name}: {time.perf_counter() - tick:.1f} s", flush=True)
    FIXTURE.parent.mkdir(parents=True, exist_ok=True)
    FIXTURE.write_text(json.dumps({
        "generated": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "r": version, "reference": REFERENCE, "studies": studies}, indent=1) + "\n")
    print(f"wrote {FIXTURE.relative_to(ROOT)} ({version})")


def rel(ours, theirs) -> float:
    """Largest relative difference |ours - R| / |R| over paired values."""
    ours, theirs = np.asarray(ours, float), np.asarray(theirs, float)
    return float(np.max(np.abs(ours - theirs) / np.abs(theirs)))


def clmm_differences(table: pd.DataFrame, r: dict) -> dict[str, float]:
    """Max relative differences of one question's ordinal_mixed table to R's clmm numbers."""
    rows = table.set_index("term")
    coef = [t for t in r if t and "estimate" in r[t]]
    sds = [t for t in r if t and "sd" in r[t]]
    est = np.array([r[t]["estimate"] for t in coef])
    se = np.array([r[t]["se"] for t in coef])
    return {
        "coef": rel(rows.loc[coef, "coef"], est),
        "coef_se_floor": float(np.max(np.abs(rows.loc[coef, "coef"].to_numpy() - est)
                                      / np.maximum(np.abs(est), se))),
        "se": rel(rows.loc[coef, "se"], [r[t]["se"] for t in coef]),
        "z": rel(rows.loc[coef, "z"], [r[t]["z"] for t in coef]),
        "sd": rel(rows.loc[[f"sd({t})" for t in sds], "coef"], [r[t]["sd"] for t in sds]),
        "logLik_abs": abs(float(rows.loc["logLik", "coef"]) - r[""]["logLik"]),
    }


def other_differences(ratings: pd.DataFrame, study: dict) -> dict[str, float]:
    """Per study: the linear mixed model against lmer (relative), and Holm/BH per family
    against p.adjust (absolute), on R's p-values and through aufx's own t-tests."""
    from analysis import compare as tests
    from analysis.models import mixed_model

    out = {"lmer_coef": 0.0, "lmer_se": 0.0, "lmer_var": 0.0, "padjust_on_r_p": 0.0,
           "padjust_pipeline": 0.0}
    for question, r in study["r"].items():
        lm = r["lmer"]
        table = mixed_model(ratings, REFERENCE, question, max_rows=None).set_index("term")
        terms = [t for t in lm if t and "estimate" in lm[t]]
        ours = table.loc[[f"Intercept ({REFERENCE})" if t == "(Intercept)" else t for t in terms]]
        out["lmer_coef"] = max(out["lmer_coef"], rel(ours["coef"], [lm[t]["estimate"] for t in terms]))
        out["lmer_se"] = max(out["lmer_se"], rel(ours["se"], [lm[t]["se"] for t in terms]))
        var = {"participant": "var(participant)", "item": "var(item)", "Residual": "var(residual)"}
        out["lmer_var"] = max(out["lmer_var"], rel(table.loc[list(var.values()), "coef"],
                                                   [lm[g]["var"] for g in var]))
    r_tests = pd.DataFrame([{"question": q, "B": m, **v} for q, models in study["r"].items()
                            for m, v in models["ttest"].items()])
    r_tests["p-val"] = r_tests["p"]
    for family in ("table", "question"):
        adjusted = tests.add_corrections(r_tests, family)
        pipeline = tests.reference_ttests(ratings, REFERENCE, family).set_index(["question", "B"])
        pipeline = pipeline.loc[r_tests.set_index(["question", "B"]).index]
        for method, column in (("holm", "p-holm"), ("bh", "p-bh")):
            truth = r_tests[f"{method}_{family}"].to_numpy()
            out["padjust_on_r_p"] = max(out["padjust_on_r_p"],
                                        float(np.abs(adjusted[column].to_numpy() - truth).max()))
            out["padjust_pipeline"] = max(out["padjust_pipeline"],
                                          float(np.abs(pipeline[column].to_numpy() - truth).max()))
    return out


def compare() -> pd.DataFrame:
    """Fit aufx's models on every stored study and tabulate the largest differences to R."""
    from analysis.fixtures import reference_study
    from analysis.ordinal_mixed import ordinal_mixed_model

    stored = json.loads(FIXTURE.read_text())
    out = []
    for name, study in stored["studies"].items():
        ratings = reference_study(study["spec"])
        for question, r in study["r"].items():
            tick = time.process_time()  # CPU seconds: the machine may be shared
            table = ordinal_mixed_model(ratings, REFERENCE, question, max_rows=None)
            seconds = time.process_time() - tick
            row = {"study": name, "question": question, "n": study["n_rows"][question]}
            row.update(clmm_differences(table, r["clmm"]))
            row.update(aufx_s=seconds, r_s=r["clmm"][""]["seconds"])
            out.append(row)
            print(" | ".join(f"{v:.2e}" if isinstance(v, float) else str(v) for v in row.values()),
                  flush=True)
        others = other_differences(ratings, study)
        print(f"{name}: " + ", ".join(f"{k} {v:.1e}" for k, v in others.items()), flush=True)
        out.append({"study": name, "question": "(lmer, p.adjust)", **others})
    return pd.DataFrame(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--compare", action="store_true",
                        help="compare aufx with the stored fixture instead of running R")
    parser.add_argument("--studies", nargs="+", help="run R on these studies only (keep the rest)")
    args = parser.parse_args()
    if not args.compare:
        write_fixture(args.studies)
        return
    table = compare()
    models = table[table["question"] != "(lmer, p.adjust)"]
    print("\nclmm, largest relative difference to R per study (over its 3 questions); coef/SE "
          "floor: |diff| / max(|R|, R's SE)")
    print("| study | ratings per question | coef | coef (SE floor) | SE | z | SD | logLik (abs) "
          "| aufx fit, CPU (s) | R clmm, elapsed (s) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, g in models.groupby("study", sort=False):
        print(f"| {name} | {int(g['n'].max()):,} | {g['coef'].max():.1e} | "
              f"{g['coef_se_floor'].max():.1e} | {g['se'].max():.1e} | {g['z'].max():.1e} | "
              f"{g['sd'].max():.1e} | {g['logLik_abs'].max():.1e} | {g['aufx_s'].sum():.1f} | "
              f"{g['r_s'].sum():.0f} |")
    others = table[table["question"] == "(lmer, p.adjust)"]
    print("\n| study | lmer coef | lmer SE | lmer variances | Holm/BH on R's p | Holm/BH from ratings |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in others.itertuples(index=False):
        print(f"| {r.study} | {r.lmer_coef:.1e} | {r.lmer_se:.1e} | {r.lmer_var:.1e} | "
              f"{r.padjust_on_r_p:.1e} | {r.padjust_pipeline:.1e} |")


if __name__ == "__main__":
    main()
