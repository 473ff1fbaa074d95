"""Networks in the authors' checkpoint layouts, written here (from the layouts' facts) to make test checkpoints.

Each builder gives a module whose ``state_dict()`` has exactly the keys and shapes the authors'
code saves: StarGAN ``{iter}-G.ckpt``, GANimation ``net_epoch_{E}_id_G.pth``,
ganimation_replicate ``{E}_net_gen.pth``. The forward passes follow the published equations, so
they serve as independent references for the adapters.
"""

import torch
from torch import nn


def _trunk(in_ch, dim, repeat, norm, bias, block_cls):
    layers = [nn.Conv2d(in_ch, dim, 7, 1, 3, bias=bias), norm(dim), nn.ReLU()]
    for _ in range(2):
        layers += [nn.Conv2d(dim, 2 * dim, 4, 2, 1, bias=bias), norm(2 * dim), nn.ReLU()]
        dim *= 2
    layers += [block_cls(dim) for _ in range(repeat)]
    for _ in range(2):
        layers += [nn.ConvTranspose2d(dim, dim // 2, 4, 2, 1, bias=bias), norm(dim // 2), nn.ReLU()]
        dim //= 2
    return layers, dim


class _MainBlock(nn.Module):  # residual block whose layers sit under ``main``
    def __init__(self, dim, norm):
        super().__init__()
        self.main = nn.Sequential(nn.Conv2d(dim, dim, 3, 1, 1, bias=False), norm(dim), nn.ReLU(),
                                  nn.Conv2d(dim, dim, 3, 1, 1, bias=False), norm(dim))

    def forward(self, x):
        return x + self.main(x)


class _ConvBlock(nn.Module):  # ganimation_replicate's ResnetBlock (zero padding, biased convs)
    def __init__(self, dim):
        super().__init__()
        self.conv_block = nn.Sequential(nn.Conv2d(dim, dim, 3, 1, 1), nn.InstanceNorm2d(dim), nn.ReLU(),
                                        nn.Conv2d(dim, dim, 3, 1, 1), nn.InstanceNorm2d(dim))

    def forward(self, x):
        return x + self.conv_block(x)


def _tile(x, c):
    return torch.cat([x, c[:, :, None, None].expand(-1, -1, x.shape[2], x.shape[3])], 1)


class OfficialStarGANG(nn.Module):
    def __init__(self, conv_dim, c_dim, repeat_num):
        super().__init__()
        norm = lambda d: nn.InstanceNorm2d(d, affine=True, track_running_stats=True)  # noqa: E731
        layers, dim = _trunk(3 + c_dim, conv_dim, repeat_num, norm, False, lambda d: _MainBlock(d, norm))
        self.main = nn.Sequential(*layers, nn.Conv2d(dim, 3, 7, 1, 3, bias=False), nn.Tanh())

    def forward(self, x, c):
        return self.main(_tile(x, c))


class OfficialGANimationG(nn.Module):
    def __init__(self, conv_dim, c_dim, repeat_num):
        super().__init__()
        norm = lambda d: nn.InstanceNorm2d(d, affine=True)  # noqa: E731
        layers, dim = _trunk(3 + c_dim, conv_dim, repeat_num, norm, False, lambda d: _MainBlock(d, norm))
        self.main = nn.Sequential(*layers)
        self.img_reg = nn.Sequential(nn.Conv2d(dim, 3, 7, 1, 3, bias=False), nn.Tanh())
        self.attetion_reg = nn.Sequential(nn.Conv2d(dim, 1, 7, 1, 3, bias=False), nn.Sigmoid())

    def forward(self, x, c):
        f = self.main(_tile(x, c))
        return self.img_reg(f), self.attetion_reg(f)


class ReplicateGANimationG(nn.Module):
    def __init__(self, ngf, aus_nc, n_blocks):
        super().__init__()
        layers, dim = _trunk(3 + aus_nc, ngf, n_blocks, lambda d: nn.InstanceNorm2d(d), True, _ConvBlock)
        self.model = nn.Sequential(*layers)
        self.color_top = nn.Sequential(nn.Conv2d(dim, 3, 7, 1, 3, bias=False), nn.Tanh())
        self.au_top = nn.Sequential(nn.Conv2d(dim, 1, 7, 1, 3, bias=False), nn.Sigmoid())

    def forward(self, img, au):
        f = self.model(_tile(img, au))
        return self.color_top(f), self.au_top(f), f


def randomise(module: nn.Module, seed: int = 0) -> nn.Module:
    """Random weights everywhere, norm affines and running statistics included (so eval mode differs)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, tensor in module.state_dict().items():
            if name.endswith("num_batches_tracked"):
                tensor.fill_(1000)
            elif name.endswith("running_var"):
                tensor.copy_(torch.rand(tensor.shape, generator=g) * 2 + 0.5)
            elif tensor.is_floating_point():
                scale = 0.3 if name.endswith("running_mean") else 0.1
                tensor.copy_(torch.randn(tensor.shape, generator=g) * scale + (1.0 if name.endswith(".weight") and tensor.ndim == 1 else 0.0))
    return module
