"""Global editor (Sec. 3.1): architecture, training with held-out R², editing by optimisation, files."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from aufx.aus import AU_CODES, AU_INDEX, N_AUS
from aufx.edit.dataset import LatentDataset
from aufx.edit.global_editor import (
    EditorConfig,
    GlobalEditor,
    load_editor,
    optimize_edit,
    r2_per_au,
    save_editor,
    target_matrix,
    train_editor,
)

SMALL = EditorConfig(w_dim=24, shared=(64, 48), branch=(8, 8))


def linear_dataset(n: int = 500, seed: int = 0, noise: float = 0.05) -> tuple[LatentDataset, np.ndarray]:
    rng = np.random.default_rng(seed)
    w = rng.normal(size=(n, 24)).astype(np.float32) * 0.5 + 0.3
    mix = rng.normal(size=(24, N_AUS)) / np.sqrt(24)
    aus = 2.5 + w @ mix + noise * rng.normal(size=(n, N_AUS))
    return LatentDataset(w, aus, np.array([f"seed:{i}" for i in range(n)])), mix


def test_architecture_is_the_papers():
    editor = GlobalEditor(SMALL)
    linears = [m for m in editor.modules() if isinstance(m, torch.nn.Linear)]
    assert [tuple(m.weight.shape) for m in linears] == [(64, 24), (48, 64)]  # two shared layers
    assert editor.w3.shape == (N_AUS, 8, 48) and editor.w4.shape == (N_AUS, 8, 8) and editor.w5.shape == (N_AUS, 1, 8)
    out = editor(torch.randn(5, 24))
    assert out.shape == (5, N_AUS)


def test_branches_are_independent_and_output_is_linear():
    editor = GlobalEditor(SMALL)
    w = torch.randn(4, 24)
    before = editor(w).clone()
    with torch.no_grad():
        editor.b5[3] -= 100.0  # a linear output can go negative; only AU index 3 moves
    after = editor(w)
    assert torch.allclose(after[:, 3], before[:, 3] - 100.0)
    others = [i for i in range(N_AUS) if i != 3]
    assert torch.equal(after[:, others], before[:, others])


def test_each_branch_matches_a_loop_of_linear_layers():
    editor = GlobalEditor(SMALL)
    w = torch.randn(6, 24)
    h = torch.relu(editor.fc2(torch.relu(editor.fc1(w))))
    for i in range(N_AUS):
        w3, w4, w5 = editor.branch_weights(i)
        x = torch.relu(h @ w3.T + editor.b3[i])
        x = torch.relu(x @ w4.T + editor.b4[i])
        expected = x @ w5.T + editor.b5[i]
        assert torch.allclose(editor(w)[:, i], expected[:, 0], atol=1e-6)


def test_wplus_prediction_is_mean_of_layer_predictions():
    editor = GlobalEditor(SMALL)
    ws = torch.randn(3, 5, 24)
    expected = torch.stack([editor(ws[:, j]) for j in range(5)], dim=1).mean(dim=1)
    assert torch.allclose(editor(ws), expected, atol=1e-6)
    assert torch.allclose(editor(ws[:, :1].expand(-1, 5, -1)), editor(ws[:, 0]), atol=1e-6)


@pytest.fixture(scope="module")
def trained():
    dataset, _ = linear_dataset()
    return train_editor(dataset, SMALL, holdout=0.2, epochs=40, lr=0.05, batch_size=16, seed=0)


@pytest.mark.slow
def test_training_reaches_high_held_out_r2_on_learnable_data(trained):
    editor, report = trained
    assert report.n_test == 100 and report.n_train == 400
    assert set(report.r2) == set(AU_CODES)
    assert report.mean_r2 > 0.8, report.r2
    assert report.train_loss[-1] < report.train_loss[0]
    assert not editor.training and not any(p.requires_grad for p in editor.parameters())


def test_r2_per_au_textbook_values():
    true = np.tile(np.array([[1.0], [2.0], [3.0]]), (1, N_AUS))
    assert all(v == pytest.approx(1.0) for v in r2_per_au(true, true).values())
    mean_pred = np.full_like(true, 2.0)
    assert all(v == pytest.approx(0.0) for v in r2_per_au(mean_pred, true).values())


def toy_regressor() -> GlobalEditor:
    """A linear-activation editor: every target is reachable, so the optimiser must get there."""
    torch.manual_seed(1)
    editor = GlobalEditor(EditorConfig(w_dim=24, shared=(64, 48), branch=(8, 8), activation="linear"))
    with torch.no_grad():  # orthogonal layers: a well-conditioned map, so few steps suffice
        for weight in (editor.fc1.weight, editor.fc2.weight, *editor.w3, *editor.w4):
            torch.nn.init.orthogonal_(weight)
        editor.w5.mul_(4.0)
    return editor.eval().requires_grad_(False)


@pytest.mark.slow
def test_optimisation_on_trained_relu_editor(trained):
    editor, _ = trained
    w = torch.randn(4, 24) * 0.5 + 0.3
    result = optimize_edit(editor, w, {"AU12": 1.0}, relative=True, steps=400, lr=0.02)
    gained = editor(result.w) - editor(w)
    assert torch.allclose(gained[:, AU_INDEX["AU12"]], torch.ones(4), atol=0.05)
    assert gained[:, [i for i in range(N_AUS) if i != AU_INDEX["AU12"]]].abs().max() < 0.08


def test_optimisation_reaches_target_and_holds_other_aus():
    editor = toy_regressor()
    w = torch.randn(3, 24)
    start = editor(w)
    goal = start[:, AU_INDEX["AU12"]] + 0.5
    result = optimize_edit(editor, w, torch.where(torch.arange(N_AUS) == AU_INDEX["AU12"], goal[:, None], torch.nan), steps=300, lr=0.05)
    pred = editor(result.w)
    assert torch.allclose(pred[:, AU_INDEX["AU12"]], goal, atol=0.03)
    others = [i for i in range(N_AUS) if i != AU_INDEX["AU12"]]
    assert (pred[:, others] - start[:, others]).abs().max() < 0.03
    assert result.losses[-1] < result.losses[0]


def test_a_face_optimised_in_a_batch_gets_what_it_gets_alone():
    """Per-face stopping and a summed loss: the batch is the faces' solo runs side by side. The
    faces need different numbers of steps (targets 0.05 to 1.0 away), so with one stopping rule
    for the whole batch (the behaviour before 2026-12-07) the early faces would go on moving."""
    editor = toy_regressor()
    w = torch.randn(4, 24, generator=torch.Generator().manual_seed(3))
    start = editor(w)
    rises = torch.tensor([0.05, 0.3, 0.6, 1.0])
    target = torch.full((4, N_AUS), float("nan"))
    target[:, AU_INDEX["AU12"]] = start[:, AU_INDEX["AU12"]] + rises
    together = optimize_edit(editor, w, target, steps=300, lr=0.05, tolerance=0.01)
    alone = [optimize_edit(editor, w[i : i + 1], target[i : i + 1], steps=300, lr=0.05, tolerance=0.01) for i in range(4)]
    steps_alone = [len(a.losses) for a in alone]
    assert len(set(steps_alone)) > 1 and len(together.losses) == max(steps_alone)
    for i, a in enumerate(alone):
        assert torch.allclose(together.w[i : i + 1], a.w, atol=1e-5), f"face {i}"


def test_optimisation_relative_targets_and_wplus_layers():
    editor = toy_regressor()
    ws = torch.randn(2, 24).unsqueeze(1).repeat(1, 4, 1)
    result = optimize_edit(editor, ws, {"au06": 0.3}, relative=True, steps=600, lr=0.02, layers=[0, 1])
    assert result.w.shape == ws.shape
    assert torch.equal(result.w[:, 2:], ws[:, 2:])  # rows outside `layers` never move
    gained = editor(result.w)[:, AU_INDEX["AU06"]] - editor(ws)[:, AU_INDEX["AU06"]]
    assert torch.allclose(gained, torch.full_like(gained, 0.3), atol=0.03)


def test_optimisation_argument_errors():
    editor = toy_regressor()
    with pytest.raises(ValueError, match="learning rate"):
        optimize_edit(editor, torch.randn(1, 24), {"AU12": 1}, lr=0)
    with pytest.raises(ValueError, match="W\\+"):
        optimize_edit(editor, torch.randn(1, 24), {"AU12": 1}, layers=[0])
    with pytest.raises(ValueError, match="AU99"):
        optimize_edit(editor, torch.randn(1, 24), {"AU99": 1})


def test_target_matrix_holds_unspecified_aus():
    current = torch.rand(2, N_AUS)
    target, mask = target_matrix(current, {"AU12": 4.0, "1": 0.0})
    assert mask.sum() == 4 and torch.equal(target[:, AU_INDEX["AU12"]], torch.tensor([4.0, 4.0]))
    keep = ~mask
    assert torch.equal(target[keep], current[keep])


def test_save_load_roundtrip(tmp_path):
    dataset, _ = linear_dataset(n=100)
    editor, report = train_editor(dataset, SMALL, epochs=2)
    path = save_editor(editor, tmp_path / "e.pt", report, calibration=[1.0] * N_AUS, metadata={"model": "x"})
    loaded = load_editor(path)
    w = torch.randn(4, 24)
    assert torch.equal(loaded.editor(w), editor(w))
    assert loaded.report["r2"].keys() == report.r2.keys() and loaded.calibration == [1.0] * N_AUS
    assert loaded.metadata == {"model": "x"}


def test_load_errors_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.pt"):
        load_editor(tmp_path / "nope.pt")
    bad = tmp_path / "bad.pt"
    torch.save({"format": "other"}, bad)
    with pytest.raises(ValueError, match="bad.pt.*not an aufx global editor"):
        load_editor(bad)
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="junk.pt"):
        load_editor(junk)


def test_dataset_dimension_mismatch_is_an_error():
    dataset, _ = linear_dataset(n=50)
    with pytest.raises(ValueError, match="w_dim 7"):
        train_editor(dataset, EditorConfig(w_dim=7, shared=(8, 8), branch=(4, 4)), epochs=1)


def test_early_stopping_keeps_the_best_validation_epoch_on_noisy_data():
    """Few rows, heavy noise: training MSE keeps falling while the held-out error rises; the
    validation split stops it early and the kept weights beat training to the end."""
    dataset, _ = linear_dataset(n=120, noise=2.0)
    _, overfit = train_editor(dataset, SMALL, epochs=60, lr=0.05, batch_size=8, seed=0)
    _, stopped = train_editor(dataset, SMALL, epochs=60, lr=0.05, batch_size=8, seed=0, validation=0.2, patience=5)
    assert len(stopped.train_loss) < 60  # stopped early
    assert stopped.n_test == overfit.n_test and stopped.n_train < overfit.n_train  # validation rows came from train
    assert np.mean(list(stopped.mse.values())) < np.mean(list(overfit.mse.values()))


@pytest.mark.parametrize("share", [-0.1, 1.0])
def test_validation_share_out_of_range_is_an_error(share):
    dataset, _ = linear_dataset(n=50)
    with pytest.raises(ValueError, match="validation share"):
        train_editor(dataset, SMALL, epochs=1, validation=share)
