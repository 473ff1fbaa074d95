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
    return {
        "coef": rel(rows.loc[coef, "coef"], [r[t]["estimate"] for t in coef]),
        "se": rel(rows.loc[coef, "se"], [r[t]["se"] for t in coef]),
        "z": rel(rows.loc[coef, "z"], [r[t]["z"] for t in coef]),
        "sd": rel(rows.loc[[f"sd({t})" for t in sds], "coef"], [r[t]["sd"] for t in sds]),
        "logLik_abs": abs(float(rows.loc["logLik", "coef"]) - r[""]["logLik"]),
    }


def compare() -> pd.DataFrame:
    """Fit aufx's models on every stored study and tabulate the largest differences to R."""
    from analysis.fixtures import reference_study
    from analysis.ordinal_mixed import ordinal_mixed_model

    stored = json.loads(FIXTURE.read_text())
    out = []
    for name, study in stored["studies"].items():
        ratings = reference_study(study["spec"])
        for question, r in study["r"].items():
            tick = time.perf_counter()
            table = ordinal_mixed_model(ratings, REFERENCE, question, max_rows=None)
            seconds = time.perf_counter() - tick
            row = {"study": name, "question": question, "n": study["n_rows"][question]}
            row.update(clmm_differences(table, r["clmm"]))
            row.update(aufx_s=seconds, r_s=r["clmm"][""]["seconds"])
            out.append(row)
            print(" | ".join(f"{v:.2e}" if isinstance(v, float) else str(v) for v in row.values()),
                  flush=True)
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
    print("\n| study | question | ratings | coef | SE | z | SD | logLik (abs) | aufx (s) | R clmm (s) |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in table.itertuples(index=False):
        print(f"| {r.study} | {r.question} | {r.n:,} | {r.coef:.1e} | {r.se:.1e} | {r.z:.1e} | "
              f"{r.sd:.1e} | {r.logLik_abs:.1e} | {r.aufx_s:.2f} | {r.r_s:.1f} |")


if __name__ == "__main__":
    main()
