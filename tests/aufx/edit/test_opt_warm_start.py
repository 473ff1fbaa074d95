"""global-opt starts from the capped global-linear step (EditingModel.opt_warm_start), silently;
AUs whose direction does not raise them start from w itself."""

from __future__ import annotations

import warnings

import torch

from aufx.aus import AU_INDEX, N_AUS
from aufx.edit.directions import AUDirections
from aufx.edit.engine import EditingModel
from aufx.edit.global_editor import EditorConfig, GlobalEditor
from aufx.gan.networks import Generator, GeneratorConfig


def model(slopes: torch.Tensor, warm: bool) -> EditingModel:
    torch.manual_seed(0)
    generator = Generator(GeneratorConfig(img_resolution=32, z_dim=16, w_dim=16, channel_base=256, channel_max=16,
                                          mapping_layers=2)).eval().requires_grad_(False)  # fmt: skip
    editor = GlobalEditor(EditorConfig(w_dim=16)).eval()
    directions = AUDirections(torch.randn(N_AUS, 16), slopes)
    return EditingModel(generator, editor, directions, opt_steps=0, opt_warm_start=warm)


def test_zero_steps_return_the_linear_step_with_warm_start_and_w_without() -> None:
    warm, cold = model(torch.full((N_AUS,), 1e-3), True), model(torch.full((N_AUS,), 1e-3), False)
    w = warm.latents_from_seeds([0, 1])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        linear, _ = warm.global_edit(w, {"AU12": 2.0}, True, "linear")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the warm start's cap is not reported as a global-linear warning
        started, target = warm.global_edit(w, {"AU12": 2.0}, True, "opt")
    assert torch.allclose(started, linear) and not torch.allclose(started, w)
    assert torch.equal(cold.global_edit(w, {"AU12": 2.0}, True, "opt")[0], w)
    # unnamed AUs are held at the original face's predictions, not the warm start's
    assert torch.allclose(target[:, AU_INDEX["AU06"]], warm.predict(w)[:, AU_INDEX["AU06"]])


def test_an_au_whose_direction_does_not_raise_it_starts_from_w() -> None:
    slopes = torch.full((N_AUS,), 1.0)
    slopes[AU_INDEX["AU10"]] = -0.5
    m = model(slopes, True)
    w = m.latents_from_seeds([0, 1])
    assert torch.equal(m.global_edit(w, {"AU10": 2.0}, True, "opt")[0], w)
    assert not torch.equal(m.global_edit(w, {"AU12": 2.0}, True, "opt")[0], w)
