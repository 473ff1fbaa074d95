"""Eq. 1–2 directions, orthogonalisation (Fig. 5), calibration and the Fig. 4 matrix."""

from __future__ import annotations

import pandas as pd
import pytest
import torch

from aufx.aus import AU_CODES, AU_INDEX, N_AUS
from aufx.edit.directions import (
    AUDirections,
    au_directions,
    calibrate,
    combined_direction,
    correlation_agreement,
    direction_correlation,
    jacobian_directions,
    orthogonalize,
    save_correlation,
)
from aufx.edit.global_editor import EditorConfig, GlobalEditor


def editor(activation: str = "relu", seed: int = 0) -> GlobalEditor:
    torch.manual_seed(seed)
    e = GlobalEditor(EditorConfig(w_dim=20, shared=(24, 18), branch=(10, 6), activation=activation))
    with torch.no_grad():
        e.input_scale.uniform_(0.5, 2.0)
        e.input_mean.normal_()
    return e.eval().requires_grad_(False)


def test_eq1_is_the_product_of_the_weight_matrices():
    e = editor()
    n = au_directions(e)
    assert n.shape == (N_AUS, 20)
    d = torch.diag(1.0 / e.input_scale)
    for i in range(N_AUS):
        w3, w4, w5 = e.branch_weights(i)
        # paper's convention x · W: W = weight.T; D from the input standardisation
        expected = d @ e.fc1.weight.T @ e.fc2.weight.T @ w3.T @ w4.T @ w5.T
        assert torch.allclose(n[i], expected[:, 0], atol=1e-6)


def test_eq1_is_the_exact_gradient_of_a_linear_editor():
    e = editor("linear")
    w = torch.randn(1, 20, requires_grad=True)
    n = au_directions(e)
    for i in range(N_AUS):
        (grad,) = torch.autograd.grad(e(w)[0, i], w)
        assert torch.allclose(grad[0], n[i], atol=1e-5)


def test_eq1_is_not_the_gradient_of_a_relu_editor_in_general():
    e = editor("relu")
    w = torch.randn(1, 20, requires_grad=True)
    (grad,) = torch.autograd.grad(e(w)[0, 0], w)
    assert not torch.allclose(grad[0], au_directions(e)[0], atol=1e-4)


def test_jacobian_directions_are_the_mean_gradient():
    e = editor("relu")
    w = torch.randn(7, 20, generator=torch.Generator().manual_seed(3))
    mean_grad = jacobian_directions(e, w, batch=3)  # batches of 3, 3, 1
    assert mean_grad.shape == (N_AUS, 20)
    for i in (0, 5, 15):
        x = w.clone().requires_grad_(True)
        (grad,) = torch.autograd.grad(e(x)[:, i].sum(), x)
        assert torch.allclose(mean_grad[i], grad.mean(dim=0), atol=1e-6)
    # for a linear editor it is Eq. 1 exactly, whatever the faces
    linear = editor("linear")
    assert torch.allclose(jacobian_directions(linear, w), au_directions(linear), atol=1e-5)


def test_eq2_combines_branches_linearly():
    e = editor()
    n = au_directions(e)
    combo = combined_direction(e, {"AU06": 1.5, "au12": -0.5})
    assert torch.allclose(combo, 1.5 * n[AU_INDEX["AU06"]] - 0.5 * n[AU_INDEX["AU12"]], atol=1e-6)


def test_orthogonalize_removes_components():
    torch.manual_seed(0)
    d = torch.randn(20)
    others = torch.randn(3, 20)
    dependent = torch.cat([others, others[:1] + others[1:2]])  # rank 3, four rows
    for basis in (others, dependent):
        o = orthogonalize(d, basis)
        assert (basis @ o).abs().max() < 1e-5
    # the removed part lies in the span: d - o is a combination of the rows
    coef = torch.linalg.lstsq(others.T, (d - orthogonalize(d, others))[:, None]).solution
    assert torch.allclose(others.T @ coef[:, 0], d - orthogonalize(d, others), atol=1e-5)
    assert torch.equal(orthogonalize(d, torch.empty(0, 20)), d)


def test_orthogonal_direction_has_zero_dot_with_removed_aus():
    dirs = AUDirections.from_editor(editor())
    o = dirs.orthogonal("AU07", ["AU06", "AU12"])
    for code in ("AU06", "AU12"):
        assert abs(float(o @ dirs.vectors[AU_INDEX[code]])) < 1e-5 * float(o.norm() * dirs.vectors[AU_INDEX[code]].norm())
    # gain normalisation: its projection on AU07's own unit direction is that direction
    u = dirs.unit("AU07")
    assert float(o @ u) / float(u @ u) == pytest.approx(1.0, rel=1e-5)


def test_calibrated_unit_step_moves_a_linear_editor_by_one():
    e = editor("linear")
    dirs = AUDirections.from_editor(e)
    w = torch.randn(5, 20)
    dirs.slopes = calibrate(dirs.vectors, e, w, step=0.5)
    for code in ("AU01", "AU12", "AU26"):
        i = AU_INDEX[code]
        moved = e(w + dirs.unit(code)) - e(w)
        assert torch.allclose(moved[:, i], torch.ones(5), atol=1e-4)
    # Eq. 2 with calibrated directions: +2 on AU12 and -1 on AU04 in one step
    stepped = e(dirs.apply(w, {"AU12": 2.0, "AU04": -1.0}, orthogonal=True)) - e(w)
    assert torch.allclose(stepped[:, AU_INDEX["AU12"]], torch.full((5,), 2.0), atol=1e-3)
    assert torch.allclose(stepped[:, AU_INDEX["AU04"]], torch.full((5,), -1.0), atol=1e-3)
    # orthogonal to all 15 others: a linear editor's other AUs do not move
    others = [j for j in range(N_AUS) if j not in (AU_INDEX["AU12"], AU_INDEX["AU04"])]
    assert stepped[:, others].abs().max() < 1e-3


def test_unit_refuses_a_direction_that_lowers_its_au():
    dirs = AUDirections(torch.randn(N_AUS, 4), slopes=torch.full((N_AUS,), -0.3))
    with pytest.raises(ValueError, match="AU05"):
        dirs.unit("AU05")


def test_direction_correlation_matrix():
    n = au_directions(editor())
    corr = direction_correlation(n)
    assert list(corr.index) == list(AU_CODES) and list(corr.columns) == list(AU_CODES)
    assert corr.shape == (16, 16)
    assert torch.allclose(torch.tensor(corr.values).diagonal(), torch.ones(16, dtype=torch.float64), atol=1e-6)
    assert abs(corr.values - corr.values.T).max() < 1e-9
    # entry (i, j) is the length of unit n_i's projection on unit n_j (signed)
    i, j = AU_INDEX["AU06"], AU_INDEX["AU12"]
    expected = float(n[i] @ n[j] / (n[i].norm() * n[j].norm()))
    assert corr.iat[i, j] == pytest.approx(expected, rel=1e-5)


@pytest.mark.slow
def test_direction_correlation_files(tmp_path):
    corr = direction_correlation(au_directions(editor()))
    csv_path, png_path = save_correlation(corr, tmp_path)
    back = pd.read_csv(csv_path, index_col=0)
    assert list(back.index) == list(AU_CODES) and back.shape == (16, 16)
    assert png_path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
def test_correlation_agreement_is_spearman_of_off_diagonals():
    corr = direction_correlation(au_directions(editor()))
    assert correlation_agreement(corr, corr) == pytest.approx(1.0)
    assert correlation_agreement(corr, -corr) == pytest.approx(-1.0)
