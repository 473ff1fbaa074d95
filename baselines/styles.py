"""StyleSpace plumbing on aufx's StyleGAN2: the style vectors S, edits of them, their gradient maps.

S (Wu, Lischinski & Shechtman, CVPR 2021) is the concatenation of every synthesis layer's style
vector, the output of the layer's affine transform of its w: ``s_L = affine_L(w_L)``, ``[N, C_L]``
(``C_L`` = the layer's *input* channels, which the style modulates). The ``torgb`` layers have
styles too; like the authors' code, the search for locally-active channels leaves them out
(:func:`style_layers` with ``torgb=False``). A ``torgb`` style here is the affine's output before
the layer's fixed weight gain, as GAN Local Editing's adapter treats it.

Edits of S run through forward hooks on the affine modules (:func:`style_offsets`), so the
generator's code and API stay as they are.

Gradient maps follow the authors' ``invert_mask.py`` / ``align_mask.py``: the derivative of the
image, average-pooled to ``size × size``, with respect to one style channel, in absolute value
averaged over RGB. Here the derivative is a forward difference with a step of ``eps`` times the
channel's standard deviation (one synthesis pass per channel and face, resumed after the layers
the channel cannot change), not the autodiff Jacobian the authors' TensorFlow computes.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from aufx.gan import Generator
from aufx.gan.networks import SynthesisState


def style_layers(generator: Generator, torgb: bool = False) -> list[str]:
    """Names of the styled layers in synthesis order (with or without the ``torgb`` layers)."""
    return [n for n in generator.synthesis.layer_names if torgb or not n.endswith("torgb")]


def style_sizes(generator: Generator, layers: Sequence[str]) -> list[int]:
    """Style channels ``C_L`` of each layer (its affine's output size)."""
    return [generator.synthesis.layer(n).affine.out_features for n in layers]


@torch.no_grad()
def styles(generator: Generator, ws: torch.Tensor, layers: Sequence[str]) -> torch.Tensor:
    """Flat S ``[N, Σ C_L]`` (layers in the given order) of latents W ``[N, w_dim]`` or W+."""
    syn = generator.synthesis
    ws = syn.broadcast_ws(ws)
    return torch.cat([syn.layer(n).affine(ws[:, syn.w_index(n)]) for n in layers], dim=1)


def split_flat(flat: torch.Tensor, layers: Sequence[str], sizes: Sequence[int]) -> dict[str, torch.Tensor]:
    """``[..., Σ C_L]`` -> layer name -> ``[..., C_L]``."""
    return dict(zip(layers, torch.split(flat, list(sizes), dim=-1), strict=True))


@contextlib.contextmanager
def style_offsets(generator: Generator, offsets: Mapping[str, torch.Tensor]) -> Iterator[None]:
    """Within the block, layer ``L`` uses ``affine_L(w) + offsets[L]`` (``[N or 1, C_L]``) as its styles."""
    handles = []
    try:
        for name, offset in offsets.items():
            affine = generator.synthesis.layer(name).affine
            if offset.shape[-1] != affine.out_features:
                raise ValueError(f"offset for {name} has {offset.shape[-1]} channels, the layer has {affine.out_features}")

            def hook(module, inputs, output, offset=offset):
                return output + offset.to(output)

            handles.append(affine.register_forward_hook(hook))
        yield
    finally:
        for handle in handles:
            handle.remove()


def _repeat_state(state: SynthesisState | None, times: int) -> SynthesisState | None:
    if state is None:
        return None
    rep = (lambda t: None if t is None else t.repeat(times, *([1] * (t.dim() - 1))))  # noqa: E731
    return SynthesisState(state.next_layer, rep(state.x), rep(state.img))


@torch.no_grad()
def gradient_maps(
    generator: Generator,
    ws: torch.Tensor,
    layers: Sequence[str],
    scale: torch.Tensor,
    size: int = 32,
    eps: float = 0.05,
    batch: int = 64,
) -> torch.Tensor:
    """``|∂ pool(G(s)) / ∂ s_c|`` averaged over RGB, for every channel of ``layers``: ``[N, Σ C_L, size, size]``.

    ws: W or W+ of N faces. scale: ``[Σ C_L]`` per-channel step unit (the channels' standard
    deviations): channel c moves by ``eps * scale[c]`` and the image change is divided by that
    step. The pass for a channel of layer L resumes from the faces' state before L.
    """
    syn = generator.synthesis
    ws = syn.broadcast_ws(ws)
    n = ws.shape[0]
    sizes = style_sizes(generator, layers)
    if scale.numel() != sum(sizes):
        raise ValueError(f"scale has {scale.numel()} entries for {sum(sizes)} style channels")
    base = F.adaptive_avg_pool2d(syn(ws), size)
    out = []
    for name, steps in split_flat(scale.float() * eps, layers, sizes).items():
        idx = syn.layer_names.index(name)
        state = syn.run(ws, stop_after=syn.layer_names[idx - 1], skip_rgb=False).state if idx > 0 else None
        per_pass = max(1, batch // n)
        maps = []
        for c0 in range(0, len(steps), per_pass):
            channels = torch.arange(c0, min(len(steps), c0 + per_pass))
            k = len(channels)
            offset = torch.zeros(k, n, len(steps))
            offset[torch.arange(k), :, channels] = steps[channels, None]
            with style_offsets(generator, {name: offset.reshape(k * n, -1)}):
                image = syn.run(ws.repeat(k, 1, 1), resume=_repeat_state(state, k)).image
            change = (F.adaptive_avg_pool2d(image, size) - base.repeat(k, 1, 1, 1)) / steps[channels].repeat_interleave(n)[:, None, None, None]
            maps.append(change.abs().mean(dim=1).reshape(k, n, size, size))
        out.append(torch.cat(maps).transpose(0, 1))
    return torch.cat(out, dim=1)


def block_majority(parts: torch.Tensor, size: int, n_parts: int) -> torch.Tensor:
    """Part maps ``[N, H, W]`` -> ``[N, size, size]``: the most frequent label in each block
    (the authors' ``align_mask.py``); ``H`` must be a multiple of ``size``."""
    n, h, w = parts.shape
    if h % size or w % size:
        raise ValueError(f"part maps of {h}x{w} cannot be split into {size}x{size} blocks")
    one_hot = F.one_hot(parts.long(), n_parts).permute(0, 3, 1, 2).float()
    return F.avg_pool2d(one_hot, (h // size, w // size)).argmax(dim=1)


def top_region_shares(maps: torch.Tensor, parts: torch.Tensor, n_parts: int) -> np.ndarray:
    """For every channel, the share of faces in which each part is the channel's *top* region: ``[C, P]``.

    The authors' rule (``align_mask.py``, ``semantic_channel.py``): for face i, channel c and a part
    of area ``o`` pixels (``o > 0``), keep the ``o`` pixels where the gradient map is largest,
    count ``n`` of them inside the part, and score the part ``n / o²`` (the squared area favours
    small parts); the part with the highest score is the channel's top region in that face. The
    count of faces is divided by the number of faces in which the part appears at all.

    maps: ``[N, C, s, s]`` gradient maps; parts: ``[N, s, s]`` part labels at the same size.
    """
    n, c = maps.shape[:2]
    flat_maps = maps.reshape(n, c, -1).double()
    counts = np.zeros((c, n_parts))
    present = np.zeros(n_parts)
    for i in range(n):
        labels = parts[i].reshape(-1)
        areas = torch.bincount(labels, minlength=n_parts).double()
        present += (areas > 0).numpy()
        rank = flat_maps[i].argsort(dim=1, descending=True).argsort(dim=1)  # [C, s²]: 0 = largest
        scores = torch.full((c, n_parts), -1.0, dtype=torch.float64)
        for p in torch.nonzero(areas).flatten().tolist():
            inside = labels == p
            hits = (rank[:, inside] < areas[p]).sum(dim=1).double()
            scores[:, p] = hits / areas[p] ** 2
        top = scores.argmax(dim=1).numpy()
        np.add.at(counts, (np.arange(c), top), 1.0)
    return counts / np.maximum(present, 1.0)


def locally_active(shares: np.ndarray, region: Sequence[int], threshold: float = 0.5, margin: float = 0.25) -> np.ndarray:
    """Channels locally active in a region (a set of parts), as the authors' ``GetRank``: the summed
    share over the region's parts exceeds ``threshold`` and beats the best other part by ``margin``.

    Returns the region share ``[C]`` with channels that fail the rule set to ``-inf``.
    """
    region = list(region)
    inside = shares[:, region].sum(axis=1)
    others = np.delete(shares, region, axis=1).max(axis=1) if len(region) < shares.shape[1] else np.zeros(len(shares))
    keep = (inside > threshold) & (inside - others > margin)
    return np.where(keep, inside, -np.inf)


def signal_to_noise(positives: torch.Tensor, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    """The authors' attribute-specific score (``MAdvance.S2N``) of every channel: ``[C]``.

    Styles of positive examples ``[M, C]`` are normalised by the population ``mean`` and ``std``;
    the score is ``|mean| / std`` of the normalised values over the positives (signed by the mean
    in :func:`signed_signal_to_noise`).
    """
    return signed_signal_to_noise(positives, mean, std).abs()


def signed_signal_to_noise(positives: torch.Tensor, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    """Like :func:`signal_to_noise` but keeps the sign of the positives' mean (+: they have larger styles)."""
    z = (positives.double() - mean.double()) / std.double().clamp_min(1e-12)
    return (z.mean(dim=0) / z.std(dim=0, correction=0).clamp_min(1e-12)).float()
