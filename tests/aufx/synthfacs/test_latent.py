"""The latent -> scene map: exact marginals, the mixture's AU distribution, a function of zn alone."""

import numpy as np
import pytest
from scipy import stats

from aufx.aus import N_AUS
from aufx.gan.ops import normalize_2nd_moment
from aufx.synthfacs.latent import (
    MIN_Z_DIM,
    bundled_copula,
    fit_copula,
    normal_scores,
    params_from_z,
)
from aufx.synthfacs.sampling import sample_latents, sample_mixture_params, sample_params


def test_normal_scores_are_exactly_standard_normal():
    g = normal_scores(np.random.default_rng(0).standard_normal((20000, 64)))
    for column in (0, 17, 63):
        assert stats.kstest(g[:, column], "norm").pvalue > 0.01
    assert abs(np.corrcoef(g[:, 0], g[:, 1])[0, 1]) < 0.03


def test_scene_depends_on_z_only_through_the_mapping_networks_input():
    import torch

    z = sample_latents(8, seed=3)
    zn = normalize_2nd_moment(torch.from_numpy(z)).numpy()
    a, b, c = params_from_z(z), params_from_z(3.7 * z), params_from_z(zn)
    np.testing.assert_allclose(a.aus, b.aus, atol=1e-5)
    np.testing.assert_allclose(a.aus, c.aus, atol=1e-4)
    np.testing.assert_allclose(a.identity, c.identity, atol=1e-5)


def test_push_forward_matches_the_mixture():
    latent, mixture = sample_params(30000, seed=1), sample_mixture_params(30000, seed=2)
    w1 = [stats.wasserstein_distance(latent.aus[:, j], mixture.aus[:, j]) for j in range(N_AUS)]
    assert np.mean(w1) < 0.03 and max(w1) < 0.06
    upper = np.triu_indices(N_AUS, 1)
    rho_latent = stats.spearmanr(latent.aus).statistic[upper]
    rho_mixture = stats.spearmanr(mixture.aus).statistic[upper]
    assert stats.spearmanr(rho_latent, rho_mixture).statistic > 0.95
    assert np.abs(rho_latent - rho_mixture).max() < 0.1
    # identities: i.i.d. uniform on 0..1
    assert stats.kstest(latent.identity[:, 5], "uniform").pvalue > 0.01
    assert abs(np.corrcoef(latent.identity[:, 0], latent.aus[:, 8])[0, 1]) < 0.03


def test_sample_params_carries_the_latents_of_its_faces():
    p = sample_params(5, seed=11)
    again = params_from_z(p.z)
    np.testing.assert_array_equal(p.aus, again.aus)
    np.testing.assert_array_equal(p.identity, again.identity)
    assert p[1:3].z.shape == (2, 64)


@pytest.mark.slow
def test_bundled_copula_is_what_a_refit_gives():
    small = fit_copula(n=20000, seed=5, n_pair=20000)
    bundled = bundled_copula()
    assert np.abs(small.correlation - bundled.correlation).max() < 0.2
    # mean gap between the quantile functions = the W1 distance of the marginals
    assert np.abs(small.quantiles - bundled.quantiles).mean(axis=1).max() < 0.05
    assert np.linalg.eigvalsh(bundled.correlation).min() > 0


@pytest.mark.parametrize("bad, message", [
    (np.zeros((2, 64)), "row of zeros"),
    (np.ones((2, MIN_Z_DIM - 1)), f"d >= {MIN_Z_DIM}"),
    (np.full((1, 64), np.nan), "NaN"),
])  # fmt: skip
def test_bad_latents_are_refused_by_name(bad, message):
    with pytest.raises(ValueError, match=message):
        params_from_z(bad)


def test_true_scenes_only_for_a_generator_distilled_from_this_map_at_psi_1():
    from aufx.synthfacs.latent import SCENE_MAP, true_scenes

    z = np.random.default_rng(3).standard_normal((5, MIN_Z_DIM))
    scenes = true_scenes({"scene_map": SCENE_MAP}, z)
    np.testing.assert_array_equal(scenes.aus, params_from_z(z).aus)
    np.testing.assert_array_equal(scenes.identity, params_from_z(z).identity)
    assert true_scenes({"scene_map": SCENE_MAP}, z, truncation_psi=0.7) is None
    assert true_scenes({"scene_map": "aufx.synthfacs.latent/v0"}, z) is None
    assert true_scenes({}, z) is None
