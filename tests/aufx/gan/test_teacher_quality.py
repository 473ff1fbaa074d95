"""Teacher measures of a distilled generator (``aufx.gan.teacher_quality``) on tiny random networks."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from aufx.gan.distill import render_targets
from aufx.gan.quality import generator_seeds, measure_quality
from aufx.gan.seeds import seed_latents
from aufx.gan.teacher_quality import co_occurrence_agreement
from aufx.imageio import from_uint8, to_uint8
from aufx.synthfacs.latent import params_from_z
from tests.aufx.gan.test_quality import tiny_analyzer
from tests.aufx.gan.tiny_nets import TINY, random_generator

TINY64 = dataclasses.replace(TINY, z_dim=64)


def test_l1_is_the_mean_gap_to_the_renders_of_the_same_latents():
    generator = random_generator(TINY64, seed=1)
    report, sets = measure_quality(generator, tiny_analyzer(), n=6, seed=2, batch=4, progress=False, teacher=True)
    z = seed_latents(64, generator_seeds(6, 2).tolist())
    with torch.no_grad():
        fake = from_uint8(to_uint8(generator(z, noise_mode="const")))
    expected = (fake - from_uint8(to_uint8(render_targets(z, 16)))).abs().mean().item()
    teacher = report.info["teacher"]
    assert teacher["l1"] == pytest.approx(expected, rel=1e-5)
    assert 0 < teacher["feature_l1"] < 2
    np.testing.assert_array_equal(sets["generated"].true_aus, params_from_z(z.numpy()).aus)
    assert set(teacher["au_r"]) == set(teacher["au_r_renders"]) and len(teacher["au_r"]) == 16
    assert "| L1 to the render of the latent's scene" in report.markdown()


def test_teacher_measures_refuse_truncation():
    with pytest.raises(ValueError, match="psi 1"):
        measure_quality(random_generator(TINY64), tiny_analyzer(), n=4, psi=0.7, progress=False, teacher=True)


def test_co_occurrence_agreement_is_one_for_the_same_structure_and_lower_for_noise():
    rng = np.random.default_rng(0)
    base = rng.standard_normal((500, 16)) @ rng.standard_normal((16, 16))
    assert co_occurrence_agreement(base, base) == pytest.approx(1.0)
    assert co_occurrence_agreement(rng.standard_normal((500, 16)), base) < 0.5
