"""The shared encoder–decoder's up-convs, with and without the binomial blur against checkerboards."""

import numpy as np
import pytest
import torch
from torch import nn

from aufx.metrics import period_lines
from baselines.cascade_efgan import CascadeEFGANConfig, CascadeEFGANNet
from baselines.ganimation import GANimationGenerator
from baselines.nets import BlurredConvTranspose2d, binomial_blur, init_normal
from baselines.stargan import StarGANGenerator


def test_the_blur_removes_a_two_pixel_checkerboard_and_keeps_a_constant():
    board = torch.ones(1, 2, 8, 8)
    board[..., ::2, :] *= -1
    board[..., :, ::2] *= -1
    assert binomial_blur(board)[..., 1:-1, 1:-1].abs().max() < 1e-6
    flat = torch.full((1, 2, 8, 8), 0.3)
    assert torch.allclose(binomial_blur(flat), flat)  # edges replicated: no dark border either


def test_a_blurred_up_conv_has_the_same_keys_and_is_the_blur_of_the_plain_one():
    torch.manual_seed(0)
    plain, blurred = nn.ConvTranspose2d(4, 3, 4, 2, 1), BlurredConvTranspose2d(4, 3, 4, 2, 1)
    blurred.load_state_dict(plain.state_dict())  # strict: same keys, same shapes
    x = torch.randn(2, 4, 8, 8)
    assert torch.allclose(blurred(x), binomial_blur(plain(x)), atol=1e-6)


def _period_two_share(images: torch.Tensor) -> float:
    """Share of the images' (mean-removed) spectral energy on the 2-pixel-period lines."""
    spectrum = torch.fft.fft2(images - images.mean(dim=(-2, -1), keepdim=True)).abs().pow(2).sum(dim=(0, 1)).numpy()
    return float(spectrum[period_lines(images.shape[-1], 2)].sum() / spectrum.sum())


@pytest.mark.parametrize("make", [
    lambda blur: StarGANGenerator(8, 5, 1, upsample_blur=blur),
    lambda blur: GANimationGenerator(8, 17, 1, upsample_blur=blur),
])  # fmt: skip
def test_a_generator_with_blurred_up_convs_loads_the_plain_weights_and_puts_less_energy_on_the_checkerboard(make):
    torch.manual_seed(1)
    plain, blurred = make(False), make(True)
    init_normal(plain, std=0.2)  # large random weights: a strong checkerboard
    blurred.load_state_dict(plain.state_dict())
    assert sum(isinstance(m, BlurredConvTranspose2d) for m in blurred.modules()) == 2
    x, c = torch.rand(4, 3, 32, 32) * 2 - 1, torch.rand(4, plain.c_dim)
    with torch.no_grad():
        out_plain, out_blurred = (g.eval()(x, c) for g in (plain, blurred))
    out_plain, out_blurred = (o[0] if isinstance(o, tuple) else o for o in (out_plain, out_blurred))
    share_plain, share_blurred = _period_two_share(out_plain), _period_two_share(out_blurred)
    assert share_blurred < 0.1 * share_plain, (share_plain, share_blurred)  # measured 0.25 -> 0.005


def test_the_cascade_blurs_every_branch():
    config = CascadeEFGANConfig(image_size=16, conv_dim=4, repeat_num=1, local_size=8, fusion_dim=4, steps=2,
                                d_conv_dim=4, d_repeat_num=3, upsample_blur=True)  # fmt: skip
    net = CascadeEFGANNet(config)
    assert sum(isinstance(m, BlurredConvTranspose2d) for m in net.modules()) == 2 * (1 + 3)  # global + 3 regions
    plain = CascadeEFGANNet(CascadeEFGANConfig(**{**config.__dict__, "upsample_blur": False}))
    net.load_state_dict(plain.state_dict())
    with torch.no_grad():
        assert np.isfinite(net(torch.zeros(1, 3, 16, 16), torch.zeros(1, 17), torch.zeros(1, 17)).numpy()).all()
