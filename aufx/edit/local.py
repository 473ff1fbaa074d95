"""Local editing (paper Sec. 3.2.2–3.2.3): keep the global edit only inside the AU's regions.

Eq. 3   M_edit = Σ_k U_k            (the AU's clusters on the globally edited face)
Eq. 4   L_edit  = mean((M ⊙ (I_local − I_global))²)
Eq. 5   L_const = mean(((1 − M) ⊙ (I_local − I_orig))²)
Eq. 6   L = α L_edit + β L_const    -> optimise w (init w_global), return w_local and I_local
Eq. 7   A_local = (1 − M) ⊙ A_orig + M ⊙ A_global at the catalog's layer, then finish the
        original pass from A_local (no latent is returned, as the paper says)

Images are [N, 3, R, R]; masks [N, 1, S, S] in [0, 1] (S = R for Eq. 4–5, S = the layer's side
for Eq. 7). Latents W [N, w_dim] or W+ [N, num_ws, w_dim].

``multiplex`` runs only the prefix of the global pass up to the layer, the original pass up to
the layer, and the suffix from A_local: one forward plus a prefix. A :class:`PrefixCache` of the
original pass saves the original prefix when one face is edited several times.

StyleGAN2 (unlike the StyleGAN the paper used) carries a second tensor past every layer: the
skip-connection RGB image accumulated by the earlier ``torgb`` layers. Eq. 7 is applied to both,
the features (mask at the layer's side) and the skip image (mask area-resized to its side), so
M = 0 reproduces the original image bit for bit and M = 1 continues exactly from the global
pass's state. The suffix layers are styled by w_orig as in the paper (``suffix="orig"``); with
``suffix="global"`` they take w_global, and M = 1 then gives the global image exactly.

``suffix="blend"`` (not in the paper) applies Eq. 7 at every layer after the cut as well: each
later layer runs once styled by w_orig and once by w_global from the same blended input, and the
two outputs are blended by M (resized to the layer's side). In a 64-px generator the paper's
layer is the second-to-last resolution, so the 64-px layers, styled by w_orig, otherwise undo
much of the edit inside the mask; blending keeps their global styling inside M and the original
outside. It costs the suffix twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from aufx.edit.catalog import RegionCatalog, labels_to_memberships
from aufx.gan import PAPER_LAYER
from aufx.gan.networks import SynthesisState


def cluster_mask(labels: torch.Tensor, clusters: Sequence[int], size: int | None = None) -> torch.Tensor:
    """Eq. 3: M_edit = Σ over the chosen clusters k of U_k; labels [N, h, w] -> [N, 1, S, S] in {0, 1}."""
    if len(clusters) == 0:
        raise ValueError("no clusters chosen for the edit mask")
    n_clusters = max(int(labels.max()) + 1, max(clusters) + 1)
    u = labels_to_memberships(labels, n_clusters, size)  # [N, K, S, S]
    return u[:, list(clusters)].sum(dim=1, keepdim=True).clamp(max=1.0)


def feather(mask: torch.Tensor, sigma: float) -> torch.Tensor:
    """Gaussian-blurred copy of a mask [N, 1, S, S] (``sigma`` in mask pixels; 0 returns it unchanged)."""
    if sigma <= 0:
        return mask
    radius = max(1, int(round(3 * sigma)))
    x = torch.arange(-radius, radius + 1, dtype=mask.dtype, device=mask.device)
    kernel = torch.exp(-0.5 * (x / sigma) ** 2)
    kernel = kernel / kernel.sum()
    padded = F.pad(mask, (radius, radius, radius, radius), mode="replicate")
    out = F.conv2d(padded, kernel.view(1, 1, 1, -1))
    out = F.conv2d(out, kernel.view(1, 1, -1, 1))
    return out.clamp(0.0, 1.0)


def edit_mask(
    catalog: RegionCatalog, activations: torch.Tensor, aus: Sequence[str], size: int | None = None, sigma: float = 0.0
) -> torch.Tensor:
    """Eq. 3 from a catalog: the AUs' clusters (catalog's AU dictionary) on activations [N, C, h, w].

    Returns [N, 1, S, S] (S = ``size`` or h), optionally feathered with ``sigma`` (pixels of S).
    """
    labels = catalog.predict_torch(activations)
    mask = cluster_mask(labels, catalog.clusters_for(aus), size)
    return feather(mask, sigma)


def _synth(generator: torch.nn.Module, ws: torch.Tensor) -> torch.Tensor:
    return generator.synthesis.run(ws).image


@dataclass
class MaskedOptimizationResult:
    """w_local (layout of the input), I_local [N, 3, R, R], and per-step total/edit/const losses."""

    w: torch.Tensor
    image: torch.Tensor
    losses: list[float] = field(default_factory=list)
    edit_losses: list[float] = field(default_factory=list)
    const_losses: list[float] = field(default_factory=list)


def local_losses_per_face(
    image: torch.Tensor, image_global: torch.Tensor, image_orig: torch.Tensor, mask: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Eq. 4 and Eq. 5 per face: (L_edit [N], L_const [N]), each the mean over channels and pixels."""
    l_edit = (mask * (image - image_global)).pow(2).mean(dim=(1, 2, 3))
    l_const = ((1.0 - mask) * (image - image_orig)).pow(2).mean(dim=(1, 2, 3))
    return l_edit, l_const


def local_losses(
    image: torch.Tensor, image_global: torch.Tensor, image_orig: torch.Tensor, mask: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Eq. 4 and Eq. 5: (L_edit, L_const), each the mean over batch, channels and pixels."""
    l_edit, l_const = local_losses_per_face(image, image_global, image_orig, mask)
    return l_edit.mean(), l_const.mean()


def masked_optimization(
    generator: torch.nn.Module,
    w_orig: torch.Tensor,
    w_global: torch.Tensor,
    mask: torch.Tensor,
    alpha: float = 1.0,
    beta: float = 1.0,
    steps: int = 100,
    lr: float = 0.01,
    image_orig: torch.Tensor | None = None,
    image_global: torch.Tensor | None = None,
) -> MaskedOptimizationResult:
    """Eq. 3–6: optimise w from ``w_global`` to minimise α L_edit + β L_const.

    mask: [N, 1, R, R] (image resolution; use ``edit_mask(..., size=R)``). Adam on w, on the sum
    of the faces' losses, so a face optimised in a batch follows the path it follows alone (Adam's
    steps are per element; up to float rounding). The recorded losses are the faces' means.
    """
    if steps < 0 or lr <= 0:
        raise ValueError(f"need steps >= 0 and lr > 0, got steps={steps}, lr={lr}")
    with torch.no_grad():
        i_orig = _synth(generator, w_orig) if image_orig is None else image_orig
        i_global = _synth(generator, w_global) if image_global is None else image_global
    if mask.shape[-1] != i_orig.shape[-1]:
        raise ValueError(f"mask side {mask.shape[-1]} differs from the image side {i_orig.shape[-1]}; resize it first")
    w = w_global.detach().clone().requires_grad_(True)
    opt = torch.optim.Adam([w], lr=lr)
    result = MaskedOptimizationResult(w=w_global, image=i_global)
    with torch.enable_grad():
        for _ in range(steps):
            image = _synth(generator, w)
            l_edit, l_const = local_losses_per_face(image, i_global, i_orig, mask)
            loss = alpha * l_edit + beta * l_const
            result.losses.append(float(loss.detach().mean()))
            result.edit_losses.append(float(l_edit.detach().mean()))
            result.const_losses.append(float(l_const.detach().mean()))
            opt.zero_grad(set_to_none=True)
            loss.sum().backward()
            opt.step()
    with torch.no_grad():
        result.w = w.detach()
        result.image = _synth(generator, result.w)
    return result


@dataclass
class PrefixCache:
    """The original pass stopped after the layer (torgb kept): state to resume, A_orig [N, C, h, w]."""

    state: SynthesisState
    activations: torch.Tensor


@torch.no_grad()
def original_prefix(generator: torch.nn.Module, ws_orig: torch.Tensor, layer: str = PAPER_LAYER) -> PrefixCache:
    """Run the original latent up to ``layer`` (inclusive), keeping what a resume needs."""
    result = generator.synthesis.run(ws_orig, stop_after=layer, skip_rgb=False)
    return PrefixCache(state=result.state, activations=result.state.x)


@torch.no_grad()
def resume_image(generator: torch.nn.Module, ws: torch.Tensor, cache: PrefixCache) -> torch.Tensor:
    """Finish a cached pass unchanged: the same image as ``synthesis(ws)``, computing only the suffix."""
    state = SynthesisState(cache.state.next_layer, cache.activations, cache.state.img, True)
    return generator.synthesis.run(ws, resume=state).image


@torch.no_grad()
def global_prefix(generator: torch.nn.Module, ws_global: torch.Tensor, layer: str = PAPER_LAYER) -> PrefixCache:
    """The globally edited latent up to ``layer`` only (no suffix): state and A_global [N, C, h, w]."""
    result = generator.synthesis.run(ws_global, stop_after=layer, skip_rgb=False)
    return PrefixCache(state=result.state, activations=result.state.x)


#: What styles the layers after the multiplexed one (see the module docstring).
SUFFIXES: tuple[str, ...] = ("orig", "global", "blend")


@dataclass
class MultiplexResult:
    """I_local [N, 3, R, R], the mask used [N, 1, h, w], and A_global [N, C, h, w]."""

    image: torch.Tensor
    mask: torch.Tensor
    a_global: torch.Tensor


def _blend(a: torch.Tensor | None, b: torch.Tensor | None, mask: torch.Tensor) -> torch.Tensor | None:
    """(1 − M) ⊙ a + M ⊙ b with M resized (area) to a's side; ``None`` stays ``None``."""
    if a is None or b is None:
        return a
    if mask.shape[-1] != a.shape[-1]:
        mask = F.interpolate(mask, size=a.shape[-2:], mode="area")
    return (1.0 - mask) * a + mask * b


@torch.no_grad()
def multiplex(
    generator: torch.nn.Module,
    ws_orig: torch.Tensor,
    ws_global: torch.Tensor,
    mask: torch.Tensor | None = None,
    catalog: RegionCatalog | None = None,
    aus: Sequence[str] = (),
    layer: str | None = None,
    sigma: float = 0.0,
    cache: PrefixCache | None = None,
    suffix: str = "orig",
) -> MultiplexResult:
    """Eq. 7: A_local = (1 − M) ⊙ A_orig + M ⊙ A_global, then the pass continues from A_local.

    Either ``mask`` [N, 1, h, w] (or [1, 1, h, w]) or ``catalog`` + ``aus`` (M from the AUs'
    clusters on A_global, Eq. 3 at the layer's resolution, feathered by ``sigma``) must be given.
    ``layer`` defaults to the catalog's layer, else ``b32.conv1``. ``suffix`` picks what styles
    the layers after the cut: ``"orig"`` (the paper), ``"global"``, or ``"blend"`` (both, blended
    by M at every later layer).
    """
    if suffix not in SUFFIXES:
        raise ValueError(f"suffix must be one of {', '.join(SUFFIXES)}, got {suffix!r}")
    layer = layer or (catalog.layer if catalog is not None else PAPER_LAYER)
    glob = global_prefix(generator, ws_global, layer)
    a_global = glob.activations
    if mask is None:
        if catalog is None or not aus:
            raise ValueError("multiplexing needs a mask, or a region catalog and the AUs to edit")
        mask = edit_mask(catalog, a_global, aus, sigma=sigma)
    elif sigma > 0:
        mask = feather(mask, sigma)
    if mask.shape[-2:] != a_global.shape[-2:]:
        raise ValueError(f"mask is {list(mask.shape[-2:])} but layer {layer} is {list(a_global.shape[-2:])}")
    prefix = cache if cache is not None else original_prefix(generator, ws_orig, layer)
    mask = mask.to(prefix.activations.dtype)
    state = SynthesisState(
        prefix.state.next_layer,
        _blend(prefix.activations, a_global, mask),
        _blend(prefix.state.img, glob.state.img, mask),
        True,
    )
    if suffix == "blend":
        image = _finish_blended(generator, ws_orig, ws_global, state, mask)
    else:
        image = generator.synthesis.run(ws_orig if suffix == "orig" else ws_global, resume=state).image
    return MultiplexResult(image=image, mask=mask, a_global=a_global)


def _finish_blended(
    generator: torch.nn.Module, ws_orig: torch.Tensor, ws_global: torch.Tensor, state: SynthesisState, mask: torch.Tensor
) -> torch.Tensor:
    """Run the remaining layers twice (styled by w_orig and by w_global) from the same blended
    state and blend each layer's output by ``mask``: Eq. 7 at every layer after the cut."""
    synthesis = generator.synthesis
    for name in synthesis.layer_names[state.next_layer :]:
        a = synthesis.run(ws_orig, resume=state, stop_after=name, skip_rgb=False).state
        b = synthesis.run(ws_global, resume=state, stop_after=name, skip_rgb=False).state
        state = SynthesisState(a.next_layer, _blend(a.x, b.x, mask), _blend(a.img, b.img, mask), True)
    return state.img
