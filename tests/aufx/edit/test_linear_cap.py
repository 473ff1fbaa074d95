"""global-linear edits: steps longer than the cap are shortened, with a warning; short ones are untouched."""

from __future__ import annotations

import math

import pytest
import torch

from aufx.aus import N_AUS
from aufx.edit.directions import AUDirections
from aufx.edit.engine import EditingModel
from aufx.edit.global_editor import EditorConfig, GlobalEditor
from aufx.gan.networks import Generator, GeneratorConfig


def model(slope: float, cap: float | None) -> EditingModel:
    torch.manual_seed(0)
    generator = Generator(GeneratorConfig(img_resolution=32, z_dim=16, w_dim=16, channel_base=256, channel_max=16,
                                          mapping_layers=2)).eval().requires_grad_(False)  # fmt: skip
    editor = GlobalEditor(EditorConfig(w_dim=16)).eval()
    directions = AUDirections(torch.randn(N_AUS, 16), torch.full((N_AUS,), slope))
    return EditingModel(generator, editor, directions, linear_max_step=cap)


def test_long_linear_step_is_shortened_to_the_cap_with_a_warning() -> None:
    m = model(slope=1e-3, cap=None)  # a direction that barely moves its AU: huge steps
    w = m.latents_from_seeds([0, 1])
    cap = 0.5 * m.latent_radius()
    assert cap > 0
    with pytest.warns(UserWarning, match=r"global-linear edit of AU\d\d.*: some faces need a W-space step longer than the cap"):
        w_new, _ = m.global_edit(w, {"AU12": 2.0}, True, "linear")
    assert torch.allclose((w_new - w).norm(dim=-1), torch.full((2,), cap), rtol=1e-4)
    uncapped = model(slope=1e-3, cap=math.inf)
    w_far, _ = uncapped.global_edit(w, {"AU12": 2.0}, True, "linear")
    assert float((w_far - w).norm(dim=-1).min()) > 10 * cap
    # the shortened step keeps the direction of the full one
    cosine = torch.nn.functional.cosine_similarity(w_new - w, w_far - w, dim=-1)
    assert torch.allclose(cosine, torch.ones(2), atol=1e-5)


def test_short_linear_step_is_untouched(recwarn: pytest.WarningsRecorder) -> None:
    capped, free = model(slope=1e3, cap=None), model(slope=1e3, cap=math.inf)
    w = capped.latents_from_seeds([0, 1])
    a, _ = capped.global_edit(w, {"AU12": 1.0}, True, "linear")
    b, _ = free.global_edit(w, {"AU12": 1.0}, True, "linear")
    assert torch.equal(a, b) and not [r for r in recwarn if "W-space step" in str(r.message)]


def test_the_warning_is_shown_once_per_au_combination() -> None:
    import warnings

    m = model(slope=1e-3, cap=None)
    w = m.latents_from_seeds([0, 1, 2])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")  # Python's own setting for UserWarning: once per message and place
        for i in range(3):  # one face at a time with different targets, as a stimuli run edits them
            m.global_edit(w[i : i + 1], {"AU12": 1.0 + i}, True, "linear")
        m.global_edit(w[:1], {"AU12": 1.0, "AU06": 1.0}, True, "linear")
    messages = [str(c.message) for c in caught if "W-space step" in str(c.message)]
    assert len(messages) == 2 and "AU12, AU06" in messages[1]
