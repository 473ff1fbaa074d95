"""StyleGAN2 generator: mapping network (z -> w), synthesis network (w -> image), and a config.

Layer names follow NVIDIA: the synthesis network has blocks ``b4`` ... ``b{R}``; their feature
layers are ``b4.conv1``, ``b8.conv0``, ``b8.conv1``, ... and each block has a ``torgb``. The
paper's "7th layer" (32×32) is ``b32.conv1``: counting feature layers from the input,
b4.conv1 (1), b8.conv0 (2), b8.conv1 (3), b16.conv0 (4), b16.conv1 (5), b32.conv0 (6),
b32.conv1 (7).

Latents: W is [N, w_dim] (broadcast to every layer), W+ is [N, num_ws, w_dim] (one w per
layer input). Images are [N, 3, R, R] in about [-1, 1].
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

import torch
from torch import nn

from aufx.gan import ops
from aufx.gan.layers import FullyConnectedLayer, SynthesisBlock

#: The paper's 7th layer, 32×32: default layer for region catalogs and activation multiplexing.
PAPER_LAYER = "b32.conv1"

Replacement = torch.Tensor | Callable[[torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class GeneratorConfig:
    """Hyper-parameters of a StyleGAN2 generator (NVIDIA's names where they exist).

    Channels at resolution r are ``min(channel_base // r, channel_max)``: FFHQ config-f is
    ``img_resolution=1024, channel_base=32768, channel_max=512``.
    """

    img_resolution: int = 1024
    z_dim: int = 512
    w_dim: int = 512
    c_dim: int = 0
    img_channels: int = 3
    channel_base: int = 32768
    channel_max: int = 512
    mapping_layers: int = 8
    mapping_lr_multiplier: float = 0.01
    w_avg_beta: float = 0.995
    conv_clamp: float | None = None

    def __post_init__(self) -> None:
        log2 = math.log2(self.img_resolution) if self.img_resolution > 0 else -1
        if log2 != int(log2) or not 8 <= self.img_resolution <= 1024:
            raise ValueError(
                f"img_resolution must be a power of two in [8, 1024], got {self.img_resolution}"
            )
        for name in ("z_dim", "w_dim", "channel_base", "channel_max", "mapping_layers"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")

    @property
    def block_resolutions(self) -> list[int]:
        return [2**i for i in range(2, int(math.log2(self.img_resolution)) + 1)]

    def channels(self, resolution: int) -> int:
        return min(self.channel_base // resolution, self.channel_max)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: Mapping) -> GeneratorConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown generator config keys: {', '.join(unknown)}")
        return cls(**values)


class MappingNetwork(nn.Module):
    """z [N, z_dim] (+ label c [N, c_dim]) -> w [N, num_ws, w_dim], with truncation around w_avg."""

    def __init__(self, config: GeneratorConfig, num_ws: int) -> None:
        super().__init__()
        self.z_dim = config.z_dim
        self.c_dim = config.c_dim
        self.w_dim = config.w_dim
        self.num_ws = num_ws
        self.num_layers = config.mapping_layers
        self.w_avg_beta = config.w_avg_beta
        embed_features = config.w_dim if config.c_dim > 0 else 0
        if config.c_dim > 0:
            self.embed = FullyConnectedLayer(config.c_dim, embed_features)
        features = [config.z_dim + embed_features] + [config.w_dim] * config.mapping_layers
        for idx in range(config.mapping_layers):
            layer = FullyConnectedLayer(
                features[idx], features[idx + 1], activation="lrelu",
                lr_multiplier=config.mapping_lr_multiplier,
            )  # fmt: skip
            setattr(self, f"fc{idx}", layer)
        self.register_buffer("w_avg", torch.zeros([config.w_dim]))

    def forward(
        self,
        z: torch.Tensor,
        c: torch.Tensor | None = None,
        truncation_psi: float = 1.0,
        truncation_cutoff: int | None = None,
        update_w_avg: bool = False,
    ) -> torch.Tensor:
        if z.ndim != 2 or z.shape[1] != self.z_dim:
            raise ValueError(f"z must be [N, {self.z_dim}], got {list(z.shape)}")
        x = ops.normalize_2nd_moment(z)
        if self.c_dim > 0:
            if c is None or c.shape != (z.shape[0], self.c_dim):
                raise ValueError(f"this generator is conditional: c must be [N, {self.c_dim}]")
            x = torch.cat([x, ops.normalize_2nd_moment(self.embed(c))], dim=1)
        for idx in range(self.num_layers):
            x = getattr(self, f"fc{idx}")(x)
        if update_w_avg:
            with torch.no_grad():
                self.w_avg.copy_(x.detach().mean(dim=0).lerp(self.w_avg, self.w_avg_beta))
        ws = x.unsqueeze(1).repeat([1, self.num_ws, 1])
        if truncation_psi != 1:
            cutoff = self.num_ws if truncation_cutoff is None else truncation_cutoff
            ws[:, :cutoff] = self.w_avg.lerp(ws[:, :cutoff], truncation_psi)
        return ws


@dataclass
class SynthesisState:
    """Where a synthesis pass stands: the next layer to run, features ``x`` and skip image ``img``."""

    next_layer: int
    x: torch.Tensor | None
    img: torch.Tensor | None
    img_complete: bool = True  # False once a torgb was skipped: such a state cannot be resumed


@dataclass
class SynthesisResult:
    """Output of :meth:`SynthesisNetwork.run`.

    image: [N, 3, R, R] or ``None`` if the pass stopped early; activations: captured layers;
    state: where the pass stopped (resume with ``run(..., resume=state)``).
    """

    image: torch.Tensor | None
    activations: dict[str, torch.Tensor] = field(default_factory=dict)
    state: SynthesisState | None = None


class SynthesisNetwork(nn.Module):
    """w [N, num_ws, w_dim] -> image [N, 3, R, R]; a flat sequence of named layers with hooks."""

    def __init__(self, config: GeneratorConfig) -> None:
        super().__init__()
        self.w_dim = config.w_dim
        self.img_resolution = config.img_resolution
        self.img_channels = config.img_channels
        self.block_resolutions = config.block_resolutions
        self.num_ws = 0
        layer_specs: list[tuple[str, int, int]] = []  # (name, block index, w index)
        for block_idx, res in enumerate(self.block_resolutions):
            in_channels = config.channels(res // 2) if res > 4 else 0
            block = SynthesisBlock(
                in_channels, config.channels(res), config.w_dim, res,
                img_channels=config.img_channels, conv_clamp=config.conv_clamp,
            )  # fmt: skip
            setattr(self, f"b{res}", block)
            w_idx = self.num_ws
            for conv_name in block.conv_names():
                layer_specs.append((f"b{res}.{conv_name}", block_idx, w_idx))
                w_idx += 1
            layer_specs.append((f"b{res}.torgb", block_idx, w_idx))
            self.num_ws += block.num_conv
        self.num_ws += 1  # the last block's torgb has a w of its own
        self._layer_specs = tuple(layer_specs)
        self.layer_names: tuple[str, ...] = tuple(name for name, _, _ in layer_specs)

    def layer(self, name: str) -> nn.Module:
        """The module of a named layer, e.g. ``b32.conv1``."""
        self._check_names([name])
        block, attr = name.split(".")
        return getattr(getattr(self, block), attr)

    def layer_shapes(self) -> dict[str, tuple[int, int, int]]:
        """Activation shape (C, H, W) of every named layer."""
        shapes = {}
        for name in self.layer_names:
            module = self.layer(name)
            res = int(name.split(".")[0][1:])
            shapes[name] = (module.out_channels, res, res)
        return shapes

    def w_index(self, name: str) -> int:
        """Index into W+ of the w that styles layer ``name``."""
        self._check_names([name])
        return next(w_idx for n, _, w_idx in self._layer_specs if n == name)

    def _check_names(self, names: Iterable[str]) -> None:
        unknown = [n for n in names if n not in self.layer_names]
        if unknown:
            raise KeyError(
                f"unknown layer(s) {', '.join(unknown)}; layers are: {', '.join(self.layer_names)}"
            )

    def broadcast_ws(self, ws: torch.Tensor) -> torch.Tensor:
        """Accept W [N, w_dim] or W+ [N, num_ws, w_dim]; return W+."""
        if ws.ndim == 2 and ws.shape[1] == self.w_dim:
            return ws.unsqueeze(1).expand(-1, self.num_ws, -1)
        if ws.ndim == 3 and ws.shape[1:] == (self.num_ws, self.w_dim):
            return ws
        raise ValueError(
            f"expected W [N, {self.w_dim}] or W+ [N, {self.num_ws}, {self.w_dim}], got {list(ws.shape)}"
        )

    def forward(self, ws: torch.Tensor, noise_mode: str = "const") -> torch.Tensor:
        """ws: W or W+ -> image [N, 3, R, R]."""
        return self.run(ws, noise_mode=noise_mode).image

    def run(
        self,
        ws: torch.Tensor,
        noise_mode: str = "const",
        capture: Iterable[str] = (),
        replace: Mapping[str, Replacement] | None = None,
        stop_after: str | None = None,
        resume: SynthesisState | None = None,
        skip_rgb: bool = True,
    ) -> SynthesisResult:
        """Run the layers in order with hooks.

        capture: layer names whose outputs (after any replacement) are returned.
        replace: layer name -> tensor (used instead of the layer's output) or function of the
            output. A tensor replacement of a layer skips computing that layer.
        stop_after: stop once this layer has run (``image`` is then ``None``); layers after it,
            and (with ``skip_rgb``) the ``torgb`` layers before it that nothing captures.
        resume: continue a pass that stopped (its ``state``, made with ``skip_rgb=False``)
            instead of starting from the const; set ``state.x`` first to continue from other
            features (activation multiplexing).
        """
        ws = self.broadcast_ws(ws)
        capture = tuple(capture)
        replace = dict(replace or {})
        self._check_names(list(capture) + list(replace) + ([stop_after] if stop_after else []))
        stop_idx = self.layer_names.index(stop_after) if stop_after else len(self.layer_names) - 1
        need_rgb = not skip_rgb or stop_after is None or any(n.endswith("torgb") for n in capture)
        activations: dict[str, torch.Tensor] = {}
        if resume is None:
            state = SynthesisState(next_layer=0, x=None, img=None)
        else:
            if not resume.img_complete:
                raise ValueError("cannot resume a synthesis pass that skipped torgb layers; stop it with skip_rgb=False")
            state = SynthesisState(resume.next_layer, resume.x, resume.img)
        for idx in range(state.next_layer, stop_idx + 1):
            name, block_idx, w_idx = self._layer_specs[idx]
            block = getattr(self, f"b{self.block_resolutions[block_idx]}")
            is_rgb = name.endswith("torgb")
            if is_rgb and not need_rgb and name not in replace:
                state.next_layer = idx + 1
                state.img_complete = False
                continue
            out = replace.get(name)
            if not isinstance(out, torch.Tensor):
                out = self._run_layer(block, name, state, ws[:, w_idx], noise_mode)
                if name in replace:
                    out = replace[name](out)
            if is_rgb:
                img = state.img
                if img is not None:
                    img = ops.upsample2d(img, block.resample_filter)
                state.img = out if img is None else img + out
            else:
                state.x = out
            if name in capture:
                activations[name] = out
            state.next_layer = idx + 1
        image = state.img if stop_idx == len(self.layer_names) - 1 else None
        return SynthesisResult(image=image, activations=activations, state=state)

    def _run_layer(
        self, block: SynthesisBlock, name: str, state: SynthesisState, w: torch.Tensor, noise_mode: str
    ) -> torch.Tensor:
        attr = name.split(".")[1]
        if attr == "torgb":
            return block.torgb(state.x, w)
        x = state.x
        if x is None:  # b4.conv1 starts from the learned constant
            x = block.const.unsqueeze(0).expand(w.shape[0], -1, -1, -1)
        return getattr(block, attr)(x, w, noise_mode=noise_mode)


class Generator(nn.Module):
    """A StyleGAN2 generator: ``mapping`` (z -> W+) followed by ``synthesis`` (W+ -> image)."""

    def __init__(self, config: GeneratorConfig) -> None:
        super().__init__()
        self.config = config
        self.z_dim = config.z_dim
        self.c_dim = config.c_dim
        self.w_dim = config.w_dim
        self.img_resolution = config.img_resolution
        self.img_channels = config.img_channels
        self.synthesis = SynthesisNetwork(config)
        self.num_ws = self.synthesis.num_ws
        self.mapping = MappingNetwork(config, self.num_ws)

    def forward(
        self,
        z: torch.Tensor,
        c: torch.Tensor | None = None,
        truncation_psi: float = 1.0,
        truncation_cutoff: int | None = None,
        noise_mode: str = "const",
    ) -> torch.Tensor:
        """z: [N, z_dim] -> image [N, 3, R, R]."""
        ws = self.mapping(z, c, truncation_psi=truncation_psi, truncation_cutoff=truncation_cutoff)
        return self.synthesis(ws, noise_mode=noise_mode)

    @property
    def layer_names(self) -> tuple[str, ...]:
        return self.synthesis.layer_names

    def extra_repr(self) -> str:
        c = self.config
        return f"res={c.img_resolution}, z={c.z_dim}, w={c.w_dim}, num_ws={self.num_ws}"
