"""StyleSpace: fitting AU controls on a tiny generator, calibrated channel edits, files, the adapter."""

import numpy as np
import pytest
import torch

from aufx.aus import AU_CODES, AU_INDEX
from aufx.gan import Generator, GeneratorConfig
from baselines.base import BaselineError
from baselines.checkpoints import CheckpointError
from baselines.latent_edit import AUEdit
from baselines.styles import split_flat, style_offsets, style_sizes
from baselines.stylespace import StyleControls, StyleSpace, StyleSpaceConfig
from tests.aufx.edit.tiny import TinyAnalyzer

CONFIG = StyleSpaceConfig(n_bank=200, positive_share=0.1, n_grad_faces=2, grad_size=8, n_candidates=3, n_check_faces=2,
                          check_alpha=5.0, top_k=2, invert_steps=2)  # fmt: skip


@pytest.fixture(scope="module")
def fitted():
    torch.manual_seed(0)
    g = Generator(GeneratorConfig(img_resolution=16, channel_base=64, channel_max=8, z_dim=64, w_dim=8, mapping_layers=2)).eval()
    with torch.no_grad():
        for p in g.parameters():
            p.add_(0.1 * torch.randn_like(p))
    return StyleSpace(g.requires_grad_(False), CONFIG, analyzer=TinyAnalyzer()).train()


def test_controls_follow_the_fitting_rules(fitted):
    c = fitted.controls
    n_channels = sum(c.sizes)
    assert c.layers == [n for n in fitted.generator.synthesis.layer_names if not n.endswith("torgb")]
    assert c.mean.shape == c.std.shape == (n_channels,) and (c.std > 0).all()
    assert c.shares.shape[0] == n_channels and np.all((c.shares >= 0) & (c.shares <= 1))
    assert c.channels.shape == c.signs.shape == (16, 2) and c.candidates.shape == c.rises.shape == (16, 3)
    for j in range(16):
        chosen = [int(x) for x in c.channels[j] if x >= 0]
        assert chosen and set(chosen) <= set(c.candidates[j].tolist())
        assert set(c.signs[j][: len(chosen)].tolist()) <= {-1.0, 1.0}
        picked = [int(np.flatnonzero(c.candidates[j] == ch)[0]) for ch in chosen]
        if c.confirmed[j]:  # confirmed: the target rose, by more than any other AU moved
            assert all(c.rises[j, i] > max(0.0, c.leaks[j, i]) for i in picked)
            assert list(c.rises[j, picked]) == sorted(c.rises[j, picked], reverse=True)
        else:  # unconfirmed: the candidate with the largest rise
            assert chosen == [int(c.candidates[j, np.nanargmax(c.rises[j])])]


def _controls(curve, channels=((3, -1),), std=None):
    """Hand-made controls: every AU uses ``channels`` [(index, sign)], calibrated by ``curve`` at 10 and 20 σ."""
    n = 16
    return StyleControls(["b8.conv0"], [n], np.zeros(n), np.arange(1.0, n + 1) if std is None else std, np.zeros((n, 3)),
                         np.array([[c for c, _ in channels]] * 16), np.array([[s for _, s in channels]] * 16, dtype=float),
                         np.array([10.0, 20.0]), np.array([curve] * 16, dtype=float), np.ones(16, dtype=bool),
                         np.zeros((16, 1)), np.zeros((16, 1)), np.zeros((16, 1)))  # fmt: skip


def test_moves_invert_the_calibration_curve():
    c = _controls([1.0, 1.5])
    torch.testing.assert_close(c.alphas(0, torch.tensor([0.5, 1.25, 3.0, -0.5, -10.0])),
                               torch.tensor([5.0, 15.0, 20.0, -5.0, -20.0]))  # fmt: skip
    # a rise that stops growing stops the move there
    torch.testing.assert_close(_controls([1.0, 0.8]).alphas(0, torch.tensor([0.5, 2.0])), torch.tensor([5.0, 10.0]))
    with pytest.raises(BaselineError, match="do not raise"):
        _controls([-0.1, 0.2]).alphas(0, torch.tensor([1.0]))


def test_offsets_move_the_aus_channels_by_alpha_sigmas_with_their_sign():
    c = _controls([1.0, 1.5], channels=((3, -1), (7, 1)))
    change = torch.zeros(2, 16)
    change[:, AU_INDEX["AU12"]] = torch.tensor([0.5, 1.25])
    flat = c.offsets(change, change != 0)
    expected = torch.zeros(2, 16)
    expected[:, 3] = -torch.tensor([5.0, 15.0]) * 4.0  # std of channel 3 is 4
    expected[:, 7] = torch.tensor([5.0, 15.0]) * 8.0
    torch.testing.assert_close(flat, expected)
    both = change.clone()
    both[:, AU_INDEX["AU01"]] = 0.5  # two AUs on the same channels add up
    torch.testing.assert_close(c.offsets(both, both != 0)[:, 7], torch.tensor([10.0, 20.0]) * 8.0)


def test_adapter_edit_is_synthesis_with_the_offsets(fitted):
    g = fitted.generator
    with torch.no_grad():
        w = g.mapping(torch.randn(2, 64))[:, 0]
        images = g.synthesis(w)
    c = fitted.controls
    j = int(np.argmax(c.curve[:, 0]))
    out = fitted.edit(images, AUEdit({AU_CODES[j]: 1.0}, source_ws=w))
    change = torch.zeros(2, 16)
    change[:, j] = 1.0
    flat = c.offsets(change, change != 0)
    with torch.no_grad(), style_offsets(g, split_flat(flat, c.layers, c.sizes)):
        expected = g.synthesis(w)
    torch.testing.assert_close(out, expected.clamp(-1, 1))
    with pytest.raises(BaselineError, match="no conditional"):
        fitted.edit(images, AUEdit({AU_CODES[j]: 1.0}, source_ws=w, hold=["AU01"]))
    # absolute targets start from the analyzer's AUs of the input images
    now = fitted.estimate_aus(images, w)
    goal = (now[:, j] + 1.0).clamp(max=5.0)
    target = torch.full((2, 16), float("nan"))
    target[:, j] = goal
    change = torch.zeros(2, 16)
    change[:, j] = goal - now[:, j]
    flat = c.offsets(change, change != 0)
    with torch.no_grad(), style_offsets(g, split_flat(flat, c.layers, c.sizes)):
        expected = g.synthesis(w)
    torch.testing.assert_close(fitted.edit(images, AUEdit(target, relative=False, source_ws=w)), expected.clamp(-1, 1))


def test_files_round_trip(fitted, tmp_path):
    path = fitted.save(tmp_path / "ss.npz", generator="tiny")
    other = StyleSpace(fitted.generator, analyzer=TinyAnalyzer()).load(path)
    for field in ("mean", "std", "channels", "signs", "steps", "curve", "confirmed", "candidates"):
        np.testing.assert_allclose(getattr(other.controls, field), getattr(fitted.controls, field), rtol=1e-6)
    assert other.config.top_k == 2 and other.weights_source == str(path)
    np.savez(tmp_path / "bad.npz", au_codes=np.array(AU_CODES))
    with pytest.raises(CheckpointError, match="not a StyleSpace controls file"):
        StyleControls.load(tmp_path / "bad.npz")
    wide = Generator(GeneratorConfig(img_resolution=16, channel_base=128, channel_max=16, z_dim=64, w_dim=8, mapping_layers=2))
    assert style_sizes(wide, other.controls.layers) != other.controls.sizes
    with pytest.raises(CheckpointError, match="do not fit"):
        StyleSpace(wide, analyzer=TinyAnalyzer()).load(path)
