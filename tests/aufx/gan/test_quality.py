"""Generator quality measures (``aufx.gan.quality``) and ``aufx model quality`` on tiny random networks."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from aufx.au.model import AnalyzerConfig, FaceAnalyzer
from aufx.aus import AU_CODES
from aufx.cli import main
from aufx.commands.train_generator import quality_json, quality_section
from aufx.gan.checkpoint import save_aufx
from aufx.gan.quality import (
    MARGINAL_COLUMNS,
    FaceSet,
    au_marginals,
    basic_bootstrap_interval,
    cluster_bootstrap_fd,
    feature_fd,
    frechet_distance,
    generator_seeds,
    mean_cosine_distance,
    measure_quality,
    rendered_batches,
)
from tests.aufx.gan.tiny_nets import TINY, random_generator

TINY_ANALYZER = AnalyzerConfig(channels=(4, 4, 4, 8), hidden=8, embedding=6, pyramid=4)


def tiny_analyzer(seed: int = 0, readout: str = "mlp") -> FaceAnalyzer:
    torch.manual_seed(seed)
    config = AnalyzerConfig(**{**TINY_ANALYZER.__dict__, "au_readout": readout})
    return FaceAnalyzer(config).eval()


def test_frechet_distance_matches_closed_form_for_diagonal_gaussians():
    rng = np.random.default_rng(0)
    mu1, mu2 = rng.normal(size=5), rng.normal(size=5)
    s1, s2 = rng.uniform(0.2, 2.0, 5), rng.uniform(0.2, 2.0, 5)
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((s1 - s2) ** 2)
    assert frechet_distance(mu1, np.diag(s1**2), mu2, np.diag(s2**2)) == pytest.approx(expected, rel=1e-9)
    # a full covariance under a rotation: FD is invariant to rotating both Gaussians
    q, _ = np.linalg.qr(rng.normal(size=(5, 5)))
    rotated = frechet_distance(q @ mu1, q @ np.diag(s1**2) @ q.T, q @ mu2, q @ np.diag(s2**2) @ q.T)
    assert rotated == pytest.approx(expected, rel=1e-7)
    # one dimension: (m1 - m2)^2 + (s1 - s2)^2
    assert frechet_distance([1.0], [[4.0]], [3.0], [[9.0]]) == pytest.approx(4.0 + 1.0)


def test_frechet_distance_of_a_sample_with_itself_is_zero_and_grows_with_a_shift():
    x = np.random.default_rng(1).normal(size=(500, 12)).astype(np.float32)
    assert abs(feature_fd(x, x)) < 1e-8
    assert feature_fd(x, x + 1.0) == pytest.approx(12.0, rel=1e-6)  # covariances equal: |shift|^2


def test_cluster_bootstrap_resamples_faces_together_for_every_set():
    rng = np.random.default_rng(2)
    groups = np.repeat(np.arange(40), 3)  # 40 faces, 3 rows each
    reference = rng.normal(size=(120, 4))
    noisy = reference + rng.normal(scale=0.5, size=reference.shape)
    order = rng.permutation(120)  # a set's rows need not be in the reference's order
    sets = {"near": (reference + 0.2, groups), "far": (reference + 1.0, groups), "noisy": (noisy[order], groups[order])}
    boot = cluster_bootstrap_fd(reference, groups, sets, n_boot=50, seed=0)
    assert {k: v.shape for k, v in boot.items()} == {"near": (50,), "far": (50,), "noisy": (50,)}
    # a shifted copy of the same rows: every resample takes the same faces from both, so FD = D * shift^2 exactly
    assert np.allclose(boot["near"], 4 * 0.2**2) and np.allclose(boot["far"], 4 * 1.0**2)
    point = feature_fd(noisy, reference)
    assert boot["noisy"].std() > 0 and np.percentile(boot["noisy"], 2.5) < point < np.percentile(boot["noisy"], 97.5)
    again = cluster_bootstrap_fd(reference, groups, sets, n_boot=50, seed=0)
    assert np.array_equal(again["noisy"], boot["noisy"])  # seeded
    with pytest.raises(ValueError, match="n_boot"):
        cluster_bootstrap_fd(reference, groups, sets, n_boot=0)
    with pytest.raises(ValueError, match="2 groups"):
        cluster_bootstrap_fd(reference, np.zeros(120), sets)


def test_the_basic_interval_mirrors_the_replicates_about_the_estimate():
    noise = np.random.default_rng(3).normal(size=2000)
    lo, hi = basic_bootstrap_interval(1.0, 1.0 + noise)  # replicates about the estimate: mirrored percentiles
    assert (lo, hi) == pytest.approx((1.0 - np.percentile(noise, 97.5), 1.0 - np.percentile(noise, 2.5)))
    shifted_lo, shifted_hi = basic_bootstrap_interval(1.0, 1.5 + 0.1 * noise)  # resampling adds 0.5: the bias
    assert shifted_hi < 1.0 and shifted_lo == pytest.approx(0.5 - 0.1 * np.percentile(noise, 97.5))
    skewed = np.exp(noise)  # skewed replicates: the interval is skewed the other way
    lo, hi = basic_bootstrap_interval(1.0, skewed)
    assert 1.0 - lo > hi - 1.0
    with pytest.raises(ValueError, match="level"):
        basic_bootstrap_interval(1.0, noise, level=1.0)
    with pytest.raises(ValueError, match="finite"):
        basic_bootstrap_interval(1.0, np.array([1.0, np.nan]))


def test_frechet_distance_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="shapes do not match"):
        frechet_distance(np.zeros(3), np.eye(3), np.zeros(4), np.eye(4))


def test_mean_cosine_distance_matches_the_pairwise_mean():
    e = np.random.default_rng(2).normal(size=(40, 6))
    e /= np.linalg.norm(e, axis=1, keepdims=True)
    pairwise = 1.0 - e @ e.T
    expected = pairwise[~np.eye(40, dtype=bool)].mean()
    assert mean_cosine_distance(e) == pytest.approx(expected, rel=1e-10)
    assert mean_cosine_distance(np.repeat(e[:1], 10, axis=0)) == pytest.approx(0.0, abs=1e-12)  # collapse


@pytest.mark.parametrize("readout", ["mlp", "linear"])
def test_summary_features_agree_with_forward(readout):
    analyzer = tiny_analyzer(readout=readout)
    images = torch.rand(3, 3, 64, 64) * 2 - 1
    with torch.no_grad():
        out = analyzer(images)
        feats = analyzer.summary_features(images)
    assert torch.allclose(feats["aus"], out.aus, atol=1e-6)
    assert torch.allclose(feats["identity"], out.identity, atol=1e-6)
    assert feats["pooled"].shape == (3, TINY_ANALYZER.channels[3])


def test_generator_seeds_and_renders_are_deterministic_prefixes():
    assert np.array_equal(generator_seeds(5, 3), generator_seeds(9, 3)[:5])
    assert not np.array_equal(generator_seeds(5, 3), generator_seeds(5, 4))
    a = [aus for _, aus in rendered_batches(7, 0, 0, 16)][0]
    b = [aus for _, aus in rendered_batches(300, 0, 0, 16)][0]
    other_set = [aus for _, aus in rendered_batches(7, 1, 0, 16)][0]
    assert np.array_equal(a, b[:7]) and not np.array_equal(a, other_set)


def test_measure_quality_is_deterministic_and_fills_every_measure():
    generator, analyzer = random_generator(TINY, seed=1), tiny_analyzer()
    report, sets = measure_quality(generator, analyzer, n=12, seed=2, batch=5, progress=False)
    again, _ = measure_quality(generator, analyzer, n=12, seed=2, batch=5, progress=False)
    assert report.summary() == again.summary()
    other, _ = measure_quality(generator, analyzer, n=12, seed=3, batch=5, progress=False)
    assert other.fd != report.fd
    assert sets["generated"].pooled.shape == (12, 8) and sets["renders"].true_aus.shape == (12, 16)
    assert sets["generated"].true_aus is None
    for name in ("pooled", "heads"):
        assert report.fd[name] > 0 and report.fd_floor[name] > 0
    assert set(report.diversity) == {"generated", "renders", "renders_b"}
    assert list(report.marginals.columns) == list(MARGINAL_COLUMNS)
    assert list(report.marginals.index) == list(AU_CODES)
    assert report.marginals.notna().all().all()
    assert "| FD, pooled analyzer encoder features (8-d) |" in report.markdown()


def test_au_marginals_columns_and_values():
    rng = np.random.default_rng(4)

    def face_set(aus, truth=None):
        return FaceSet(pooled=np.zeros((len(aus), 2)), identity=np.zeros((len(aus), 2)), aus=aus, true_aus=truth)

    data_aus = rng.uniform(0, 5, (200, 16)).astype(np.float32)
    generated = face_set(np.zeros((200, 16), np.float32))
    table = au_marginals(generated, face_set(data_aus, np.round(data_aus)), face_set(data_aus + 0.5))
    assert isinstance(table, pd.DataFrame) and table.index.name == "au"
    assert list(table.columns) == list(MARGINAL_COLUMNS)
    assert (table["gen_share_ge1"] == 0).all() and (table["gen_mean"] == 0).all()
    assert np.allclose(table["data_mean"], data_aus.mean(0), atol=1e-5)
    assert np.allclose(table["data_share_ge1"], (data_aus >= 1).mean(0))
    # W1 to a point mass at 0 is the mean of the (non-negative) values; a shift by 0.5 costs 0.5
    assert np.allclose(table["w1_gen_data"], data_aus.mean(0), atol=1e-5)
    assert np.allclose(table["w1_floor"], 0.5, atol=1e-5)


@pytest.mark.parametrize("bad", ["0", "1", "-5"])
def test_cli_rejects_a_bad_n(bad, capsys):
    assert main(["model", "quality", "synthfacs128", "--n", bad]) == 2
    assert f"--n must be an integer of at least 2 faces per set, got {int(bad)}" in capsys.readouterr().err


def test_cli_writes_tables_figures_and_grid(tmp_path, capsys):
    model = save_aufx(random_generator(TINY, seed=5), tmp_path / "tiny.pt", {"kimg": 1.5, "steps": 94})
    analyzer_path = tiny_analyzer().save(tmp_path / "analyzer.pt")
    out, grid, js = tmp_path / "q", tmp_path / "img" / "grid.png", tmp_path / "tiny.quality.json"
    args = ["model", "quality", str(model), "--n", "6", "--batch", "4", "--out", str(out), "--grid", str(grid),
            "--json", str(js), "--analyzer", str(analyzer_path), "--no-progress", "--threads", "1"]  # fmt: skip
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "at 1.5 kimg (94 steps), N = 6 per set" in printed and "| AU01 |" in printed
    summary = json.loads((out / "quality.json").read_text())
    assert summary["kimg"] == 1.5 and summary["n"] == 6 and set(summary["fd"]) == {"pooled", "heads"}
    assert json.loads(js.read_text()) == summary
    card = quality_section(quality_json(model))  # the model card reads NAME.quality.json beside the export
    assert "measured at 1.5 kimg" in card and f"| {summary['fd']['pooled']:.3f} | {summary['fd_floor']['pooled']:.3f} |" in card
    assert "not measured yet" in quality_section(quality_json(tmp_path / "other.pt"))
    table = pd.read_csv(out / "au_marginals.csv", index_col="au")
    assert list(table.columns) == list(MARGINAL_COLUMNS) and len(table) == 16
    assert Image.open(out / "au_marginals.png").size[0] > 500
    # 8 columns of 16-px faces (2-px gaps), doubled; two labelled blocks of 4 rows
    assert Image.open(grid).size == (2 * (8 * 18 - 2), 2 * (16 + 2 * (4 * 18 - 2)))
