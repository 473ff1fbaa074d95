"""End to end: ``analyze`` and ``aufx analyze`` on a simulated study; bad inputs via the CLI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from analysis.fixtures import write_fixture
from analysis.report import analyze, display_table, read_metrics
from analysis.tables import format_p, to_latex, to_markdown


@pytest.fixture(scope="module")
def fixture_files(tmp_path_factory) -> dict[str, Path]:
    return write_fixture(tmp_path_factory.mktemp("fixture"), seed=0, n_participants=10, n_items=6)


@pytest.fixture(scope="module")
def report_dir(fixture_files, tmp_path_factory) -> Path:
    from aufx.cli import main

    out = tmp_path_factory.mktemp("report")
    code = main(["analyze", str(fixture_files["ratings"]), "--out", str(out),
                 "--metrics", str(fixture_files["metrics"]),
                 "--directions", str(fixture_files["directions"]),
                 "--clusters", str(fixture_files["clusters"])])
    assert code == 0
    return out


def test_report_files(report_dir):
    html = (report_dir / "report.html").read_text(encoding="utf-8")
    assert "SIMULATED DATA" in html
    assert html.count("data:image/png;base64,") == 4  # bars, likert, metrics, directions
    assert "<img" in html and 'src="http' not in html  # self-contained
    assert "Paired t-tests" in html and "Holm" in html and "Table 13" in html
    for name in ("ttests", "wilcoxon", "friedman", "posthoc", "mixed", "ordinal_mixed", "ordinal_marginal", "agreement",
                 "power", "descriptives", "exclusions", "metric_correlations", "clusters", "directions"):
        for ext in ("csv", "md", "tex"):
            assert (report_dir / "tables" / f"{name}.{ext}").is_file(), (name, ext)
    for name in ("bars", "likert", "metrics", "directions"):
        for ext in ("png", "svg"):
            assert (report_dir / "figures" / f"{name}.{ext}").stat().st_size > 1000


def test_report_states_the_correction_family(report_dir, fixture_files, tmp_path):
    html = (report_dir / "report.html").read_text(encoding="utf-8")
    assert "family: all tests of the table (--family table)" in html
    assert "The default, table, is the stricter one" in html
    for name in ("ttests", "wilcoxon", "friedman", "posthoc"):
        table = pd.read_csv(report_dir / "tables" / f"{name}.csv")
        assert table["family"].str.startswith("table (m = ").all(), name
    from aufx.cli import main

    out = tmp_path / "question"
    assert main(["analyze", str(fixture_files["ratings"]), "--out", str(out), "--skip-models",
                 "--family", "question"]) == 0
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "family: each question apart (--family question)" in html
    ttests = pd.read_csv(out / "tables" / "ttests.csv")
    assert set(ttests["family"]) == {"question (m = 3)"}


def test_ordinal_tables_main_and_marginal(report_dir):
    html = (report_dir / "report.html").read_text(encoding="utf-8")
    assert "Table 8. Ordinal ratings: cumulative-logit mixed model" in html
    assert "Table 9. Marginal cumulative-logit" in html
    mixed = pd.read_csv(report_dir / "tables" / "ordinal_mixed.csv")
    assert {"sd(participant)", "sd(item)", "logLik", "1|2"} <= set(mixed["term"])
    assert mixed["converged"].all()


def test_bad_input_gives_notes_and_every_table(tmp_path):
    from analysis.fixtures import simulate_ratings

    ratings = simulate_ratings(n_participants=8, n_items=4, seed=0)
    identity = ratings["question"] == "identity"
    ratings.loc[identity, "rating"] = 4  # one rating level only
    ratings.loc[identity & ratings["attention_check"], "expected"] = 4
    ratings = ratings[~((ratings["method"] == "ganimation") & (ratings["question"] == "artifacts"))]
    result = analyze(ratings, tmp_path)
    assert (tmp_path / "report.html").is_file()
    for name in ("ttests", "wilcoxon", "friedman", "posthoc", "mixed", "ordinal_mixed",
                 "ordinal_marginal", "agreement", "power"):
        assert (tmp_path / "tables" / f"{name}.csv").is_file(), name
    t = result.tables
    for name in ("mixed", "ordinal_mixed", "ordinal_marginal"):
        rows = t[name][t[name]["question"] == "identity"]
        assert len(rows) == 1 and "only one rating level (4)" in rows["note"].iloc[0], name
        gan = t[name][(t[name]["question"] == "artifacts") & (t[name]["term"] == "ganimation")]
        assert gan["note"].str.contains("no ratings").all() and len(gan) == 1, name
    art = t["ordinal_mixed"][t["ordinal_mixed"]["question"] == "artifacts"]
    assert art.loc[art["term"] == "stargan", "coef"].notna().all()
    assert any("has no ratings for method(s) 'ganimation'" in w for w in result.warnings)


def test_report_tables_have_no_silent_nans(report_dir):
    ttests = pd.read_csv(report_dir / "tables" / "ttests.csv")
    assert ttests[["T", "dof", "p-val", "mean-diff", "cohen-dz", "p-holm", "p-bh"]].notna().all().all()
    assert ttests["CI95%"].str.match(r"^\[-?\d").all()
    clusters = pd.read_csv(report_dir / "tables" / "clusters.csv")
    assert clusters.iloc[0].tolist() == ["AU01: Inner Brow Raiser", "20, 15, 2, 9"]  # paper, Table 1
    tex = (report_dir / "tables" / "ttests.tex").read_text()
    assert r"\begin{tabular}" in tex and r"\toprule" in tex


def test_simulated_flag_and_reference(fixture_files, tmp_path):
    ratings = pd.read_csv(fixture_files["ratings"]).drop(columns="simulated")
    result = analyze(ratings, None, reference="stargan", figures=False, models=False)
    assert result.summary.simulated is False
    assert result.reference == "stargan" and result.methods[0] == "stargan"
    assert set(result.tables["ttests"]["A"]) == {"stargan"}
    flagged = analyze(ratings, None, simulated=True, figures=False, models=False)
    assert flagged.summary.simulated is True


def test_likert_7_point_scale(tmp_path):
    from analysis.fixtures import simulate_ratings

    ratings = simulate_ratings(n_participants=5, n_items=3, seed=4)
    ratings["rating"] = ratings["rating"] + 1  # 2..6 on a 1-7 scale
    ratings["expected"] = ratings["expected"] + 1
    result = analyze(ratings, tmp_path, scale="1-7", models=False)
    assert result.summary.scale.high == 7
    assert (tmp_path / "figures" / "likert.png").is_file()
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "were not fitted (--skip-models)" in html and "1-7 Likert scale" in html


def test_metrics_validation(fixture_files):
    with pytest.raises(ValueError, match="missing column 'stimulus_id'"):
        read_metrics(pd.DataFrame({"x": [1.0]}))
    with pytest.raises(ValueError, match="no numeric metric columns"):
        read_metrics(pd.DataFrame({"stimulus_id": ["a"], "method": ["m"]}))
    with pytest.raises(ValueError, match="appears more than once"):
        read_metrics(pd.DataFrame({"stimulus_id": ["a", "a"], "leakage": [1.0, 2.0]}))
    unrelated = pd.DataFrame({"stimulus_id": ["nope"], "leakage": [0.1]})
    with pytest.raises(ValueError, match="none of its stimulus_id values match"):
        analyze(fixture_files["ratings"], None, metrics=unrelated, figures=False, models=False)


def test_partial_metrics_warn(fixture_files):
    metrics = pd.read_csv(fixture_files["metrics"]).iloc[3:]
    result = analyze(fixture_files["ratings"], None, metrics=metrics, figures=False, models=False)
    assert any("have no metrics" in w for w in result.warnings)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda f: f.drop(columns="method"), "missing column(s) 'method'"),
        (lambda f: f.assign(rating=f["rating"].astype(object).where(f.index != 4, "x")),
         "column 'rating': row 5 (line 6 of the CSV) has value 'x'"),
        (lambda f: f.assign(rating=f["rating"].where(f.index != 2, 9)), "row 3 (line 4 of the CSV) has value 9"),
        (lambda f: f[f["participant_id"] == "P0000"], "only 1 participant"),
    ],
)
def test_cli_bad_inputs_exit_2_with_one_line(fixture_files, tmp_path, capsys, mutate, message):
    from aufx.cli import main

    bad = mutate(pd.read_csv(fixture_files["ratings"]))
    path = tmp_path / "bad.csv"
    bad.to_csv(path, index=False)
    assert main(["analyze", str(path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("aufx: error: ") and message in err and "\n" not in err
    assert not (tmp_path / "out" / "report.html").exists()


def test_cli_bad_reference_and_scale(fixture_files, tmp_path, capsys):
    from aufx.cli import main

    assert main(["analyze", str(fixture_files["ratings"]), "--out", str(tmp_path), "--reference", "zz"]) == 2
    assert "reference method 'zz' not in the ratings" in capsys.readouterr().err
    assert main(["analyze", str(fixture_files["ratings"]), "--out", str(tmp_path), "--scale", "x"]) == 2
    assert "scale must look like" in capsys.readouterr().err


def test_analysis_never_imports_torch():
    code = ("import sys, analysis.report, analysis.cli, analysis.figures, analysis.engine_outputs, "
            "analysis.fixtures; assert 'torch' not in sys.modules, 'torch imported'; "
            "import analysis.cli as c; print('ok')")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    cheap = subprocess.run([sys.executable, "-c", "import sys, analysis.cli; "
                            "print(sorted(m for m in ('pandas', 'scipy', 'matplotlib', 'statsmodels') "
                            "if m in sys.modules))"], capture_output=True, text=True, timeout=60)
    assert cheap.stdout.strip() == "[]"


def test_formatting_helpers():
    assert format_p(0.0004) == "< .001" and format_p(0.0432) == "0.043" and format_p(float("nan")) == ""
    table = pd.DataFrame({"a_b": ["x&y"], "p-val": [0.5], "CI95%": [[0.1, 0.2]]})
    assert r"x\&y" in to_latex(table) and r"a\_b" in to_latex(table)
    assert "| x&y | 0.500 | [0.100, 0.200] |" in to_markdown(table)
    shown = display_table(pd.DataFrame({"T": [1.0], "note": [""], "se": [0.1]}))
    assert list(shown.columns) == ["T"]


@pytest.mark.slow  # three mixed models with slopes, twice, and the CLI's report
def test_random_slopes_reach_the_mixed_table_and_the_methods_text(fixture_files, tmp_path):
    from analysis.report import methods_text
    from aufx.cli import main

    result = analyze(fixture_files["ratings"], None, figures=False, random_slopes=True, max_model_rows=600)
    terms = set(result.tables["mixed"]["term"])
    slopes = {t for t in terms if t.endswith(" | participant)")}
    assert len(slopes) == len(result.methods) - 1  # one slope per method against the reference
    assert "random slope" in " ".join(methods_text(result, 600))
    plain = analyze(fixture_files["ratings"], None, figures=False, max_model_rows=600)
    assert not any(t.endswith(" | participant)") for t in plain.tables["mixed"]["term"])
    assert "random slope" not in " ".join(methods_text(plain, 600))
    assert main(["analyze", str(fixture_files["ratings"]), "--out", str(tmp_path), "--random-slopes",
                 "--max-model-rows", "600"]) == 0  # fmt: skip
    assert "| participant)" in (tmp_path / "tables" / "mixed.csv").read_text()
