"""GAN Local Editing (Collins, Bala, Price, Süsstrunk, CVPR 2020, "Editing in Style") on aufx's StyleGAN2.

The method, as the authors' code (IVRL/GANLocalEditing: ``factor_catalog.py``,
``style_interpolator.py``) implements it:

1. **Catalog** — spherical k-means on one layer's activations of many generated faces (every
   spatial position is one C-vector); clusters are annotated with part names (``annotations``:
   part -> cluster ids). Here the catalog is the engine's :class:`aufx.edit.catalog.RegionCatalog`
   (same algorithm, shared with aufx's own local editing).
2. **Channel–region contribution** ``M[layer][part][c]`` — the share of channel ``c``'s energy
   that falls inside the part: ``Σ_{n,h,w} A²·U_part / Σ_{n,h,w} A²`` over the fitting faces,
   with the part mask resized nearest-neighbour to the layer's resolution; in [0, 1].
3. **Local transfer** — for every styled layer the per-channel *style coefficients*
   ``y = affine(w)`` (not the activations) are interpolated between the target (the face being
   edited) and the reference: ``y = (1 − q)·y_target + q·y_ref`` with, per channel,
   ``q = 1`` for the channels taken in order of decreasing ``M`` while the cumulative sum of
   ``1 − M`` stays below ``ε``, and only where ``M > ρ``; ``q = 0`` elsewhere.

The seed paper (Sec. 4.2 and 5) describes Collins et al. as interpolating *activation maps*; the
authors' code interpolates the style coefficients that scale them, which is what this adapter does.

**AU and emotion targets** (ours; the method itself only copies a region from a reference, so
that every method of a comparison can take the same targets): the edit's AUs name the regions
(:data:`aufx.edit.au_parts.AU_GROUP`: brows, eyes, nose, mouth), and the reference is *retrieved*
from a bank of ``bank_faces`` generated faces with known AUs (ψ = 1, seeds ``bank_seed``; true
AUs of the distilled generator's latent map, :func:`baselines.latent_edit.scene_faces`): the one
whose AUs of those regions are nearest (L1) to the wanted ones — the source's AUs with the target
AUs set. All those regions are then transferred at once (per channel, ``q`` = the largest of the
regions' ``q``). Targets are those of the latent-space peers (:class:`baselines.latent_edit.AUEdit`,
an emotion name, an absolute AU vector).

StyleGAN2 specifics (the authors worked on StyleGAN1, where a layer's style scales that layer's
own output after AdaIN): in StyleGAN2 a layer's style modulates its *input* channels, i.e. the
output channels of the previous layer (``b4.conv1``: the learned constant; ``torgb``: its block's
``conv1``). ``M`` for a layer's style is therefore computed on the activations entering that layer.

Defaults of ours (the authors' notebook, which held their per-layer values, is not in their
repository): ``rho = 0.1``, ``epsilon = 20`` for every layer; k = 20 clusters on ``b32.conv1``
(the paper's layer). ``torgb`` styles are interpolated like the others. Part annotation of
clusters (``_annotate``: a cluster joins the region that holds >= 40 % of its pixels): by default
from the SynthFACS part *template*
(the majority part label of each pixel over rendered faces), valid for generators of aligned
SynthFACS faces such as the bundled one; pass real part maps (e.g. from the face analyzer), or
edit ``annotations`` by hand, for another generator.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from aufx.gan import PAPER_LAYER, Generator
from aufx.gan.loaders import BUNDLED_MODELS, DEFAULT_MODEL, WEIGHTS_DIR
from baselines.base import Baseline, BaselineError, Conditioning, ReferenceRegion, check_images
from baselines.checkpoints import (
    CheckpointError,
    is_bundle,
    load_bundle,
    read_torch_file,
    save_bundle,
)

#: Regions of the paper's Fig. 8 and the SynthFACS parts they gather.
DEFAULT_REGIONS: dict[str, tuple[str, ...]] = {
    "eyes": ("left_eye", "right_eye"),
    "nose": ("nose",),
    "mouth": ("mouth",),
    "brows": ("left_brow", "right_brow"),
}
BUNDLED_GENERATOR = WEIGHTS_DIR / BUNDLED_MODELS[DEFAULT_MODEL]


@dataclass
class GLEConfig:
    layer: str = PAPER_LAYER
    n_clusters: int = 20
    rho: float = 0.1
    epsilon: float = 20.0
    n_images: int = 200
    truncation_psi: float = 0.7
    seed: int = 0
    invert_steps: int = 300
    kmeans_max_iter: int = 100
    kmeans_n_init: int = 3
    bank_faces: int = 4000
    bank_seed: int = 777
    min_change: float = 0.5
    regions: dict[str, tuple[str, ...]] = field(default_factory=lambda: dict(DEFAULT_REGIONS))


def styled_layers(generator: Generator) -> list[tuple[str, str | None]]:
    """(styled layer, layer whose output it takes as input; ``None`` for ``b4.conv1``'s constant)."""
    result, last_feature = [], None
    for name in generator.synthesis.layer_names:
        result.append((name, last_feature))
        if not name.endswith("torgb"):
            last_feature = name
    return result


def layer_inputs(generator: Generator, ws: torch.Tensor) -> dict[str, torch.Tensor]:
    """Activations entering every styled layer: name -> ``[N, C_in, h, w]``."""
    pairs = styled_layers(generator)
    feature_layers = sorted({src for _, src in pairs if src is not None})
    with torch.no_grad():
        result = generator.synthesis.run(ws, capture=feature_layers)
    const = generator.synthesis.b4.const.detach()
    return {name: (result.activations[src] if src else const.unsqueeze(0).expand(ws.shape[0], -1, -1, -1))
            for name, src in pairs}  # fmt: skip


def contributions(inputs: Mapping[str, torch.Tensor], region_masks: torch.Tensor) -> dict[str, torch.Tensor]:
    """``M[layer]`` ``[P, C]``: share of each channel's energy inside each region (masks ``[N, P, H, W]``)."""
    result = {}
    for name, a in inputs.items():
        masks = F.interpolate(region_masks.float(), size=a.shape[-2:], mode="nearest")
        energy = a.double() ** 2  # [N, C, h, w]
        inside = torch.einsum("nchw,nphw->pc", energy, masks.double())
        total = energy.sum(dim=(0, 2, 3)).clamp_min(1e-12)
        result[name] = (inside / total).float()
    return result


def interpolation_weights(m: torch.Tensor, rho: float, epsilon: float) -> torch.Tensor:
    """The authors' ``q`` for one layer and region: ``m`` ``[C]`` -> ``q`` ``[C]`` in {0, 1}."""
    order = torch.argsort(m, descending=True)
    cumsum = torch.cumsum(1 - m[order], dim=0)
    q = torch.zeros_like(m)
    q[order[cumsum < epsilon]] = 1.0
    return q * (m > rho).float()


@contextlib.contextmanager
def interpolated_styles(generator: Generator, ws_ref: torch.Tensor, q: Mapping[str, torch.Tensor]) -> Iterator[None]:
    """Within the block, every layer in ``q`` uses ``(1 − q)·affine(w) + q·affine(w_ref)`` as its styles."""
    ws_ref = generator.synthesis.broadcast_ws(ws_ref)
    handles = []
    try:
        for name, weights in q.items():
            layer = generator.synthesis.layer(name)
            with torch.no_grad():
                y_ref = layer.affine(ws_ref[:, generator.synthesis.w_index(name)])

            def hook(module, inputs, output, y_ref=y_ref, weights=weights):
                return (1 - weights) * output + weights * y_ref

            handles.append(layer.affine.register_forward_hook(hook))
        yield
    finally:
        for handle in handles:
            handle.remove()


def part_template(size: int, n: int = 64, seed: int = 0) -> torch.Tensor:
    """Majority SynthFACS part label of every pixel over ``n`` rendered faces: ``[size, size]`` int64."""
    from aufx.synthfacs import render, sample_params

    params = sample_params(n, seed)
    parts = render(params.aus, params.identity, size=max(size, 16), with_parts=True).parts
    if parts.shape[-1] != size:
        parts = F.interpolate(parts[:, None].float(), size=(size, size), mode="nearest")[:, 0].long()
    return torch.mode(parts, dim=0).values


class GanLocalEditing(Baseline):
    """GAN Local Editing adapter: ``edit(images, ReferenceRegion("mouth", reference_ws=...))``, or an
    AU / emotion target (``AUEdit``, ``"happy"``, an AU vector) with a retrieved reference (module doc)."""

    name = "gan-local-editing"
    description = "GAN Local Editing (Collins et al. 2020): style-coefficient transfer of a region from a reference"
    conditioning = Conditioning.REFERENCE_REGION

    def __init__(self, generator: Generator | None = None, config: GLEConfig | None = None) -> None:
        self.config = config or GLEConfig()
        self._generator = generator
        super().__init__(generator.img_resolution if generator is not None else 64)
        self.catalog: Any = None
        self.annotations: dict[str, list[int]] = {}
        self.M: dict[str, torch.Tensor] = {}  # layer -> [P, C] in the order of self.annotations
        self.weights_source = "not fitted"
        self._bank: tuple[torch.Tensor, np.ndarray] | None = None  # reference bank of AU targets

    # ---------------------------------------------------------------- generator
    @property
    def generator(self) -> Generator:
        if self._generator is None:
            if not BUNDLED_GENERATOR.is_file():
                raise BaselineError(f"{BUNDLED_GENERATOR}: the bundled generator is not there yet; pass generator=")
            from aufx.gan.checkpoint import load_aufx

            self._generator = load_aufx(BUNDLED_GENERATOR)[0]
            self.image_size = self._generator.img_resolution
        return self._generator

    def sample_ws(self, n: int, seed: int) -> torch.Tensor:
        """W+ ``[n, num_ws, w_dim]`` of ``n`` faces from seed ``seed`` (truncation ``truncation_psi``)."""
        g = self.generator
        z = torch.from_numpy(np.random.RandomState(seed).randn(n, g.z_dim)).float()
        with torch.no_grad():
            return g.mapping(z, truncation_psi=self.config.truncation_psi)

    # ---------------------------------------------------------------- fitting ("training")
    def train(self, parts: torch.Tensor | None = None, ws: torch.Tensor | None = None, **_: Any) -> GanLocalEditing:
        """Fit the catalog, annotate clusters and compute ``M`` on ``config.n_images`` generated faces.

        parts: optional part label maps ``[N, h, w]`` (SynthFACS ``PART_NAMES`` indices) of the
            fitting faces; default: the SynthFACS part template for every face.
        """
        from aufx.edit.catalog import RegionCatalog

        cfg = self.config
        g = self.generator
        ws = self.sample_ws(cfg.n_images, cfg.seed) if ws is None else g.synthesis.broadcast_ws(ws)
        with torch.no_grad():
            acts = g.synthesis.run(ws, capture=[cfg.layer], stop_after=cfg.layer).activations[cfg.layer]
        catalog = RegionCatalog(n_clusters=cfg.n_clusters, layer=cfg.layer, max_iter=cfg.kmeans_max_iter,
                                n_init=cfg.kmeans_n_init, random_state=cfg.seed).fit(acts)  # fmt: skip
        if parts is None:
            parts = part_template(acts.shape[-1]).expand(acts.shape[0], -1, -1)
        catalog.name_clusters(acts, parts)
        self.catalog = catalog
        self.annotations = self._annotate(catalog)
        self._compute_m(ws, acts)
        self.weights_source = f"fitted on {ws.shape[0]} faces"
        return self

    def _annotate(self, catalog: Any, min_share: float = 0.4, fallback_share: float = 0.2) -> dict[str, list[int]]:
        """Region -> clusters: a cluster joins the region holding the largest share of its pixels when
        that share is >= ``min_share``; a region left empty takes its best cluster if that one's
        share is >= ``fallback_share``. Shares come from ``catalog.part_overlap_`` [K, parts]."""
        from aufx.synthfacs.parts import PART_INDEX

        overlap = np.asarray(catalog.part_overlap_)
        regions = list(self.config.regions)
        share = np.stack([overlap[:, [PART_INDEX[p] for p in self.config.regions[r]]].sum(1) for r in regions], 1)
        result: dict[str, list[int]] = {r: [] for r in regions}
        for k in range(share.shape[0]):
            best = int(share[k].argmax())
            if share[k, best] >= min_share:
                result[regions[best]].append(k)
        for i, region in enumerate(regions):
            k = int(share[:, i].argmax())
            if not result[region] and share[k, i] >= fallback_share:
                result[region].append(k)
        return result

    def region_masks(self, acts: torch.Tensor) -> torch.Tensor:
        """``[N, P, h, w]`` masks of the annotated regions on activations of the catalog layer."""
        u = self.catalog.memberships(acts)
        masks = [u[:, ids].sum(1) if ids else torch.zeros_like(u[:, 0]) for ids in self.annotations.values()]
        return torch.stack(masks, dim=1)

    def _compute_m(self, ws: torch.Tensor, acts: torch.Tensor) -> None:
        self.M = contributions(layer_inputs(self.generator, ws), self.region_masks(acts))

    def set_annotations(self, annotations: Mapping[str, Sequence[int]], ws: torch.Tensor | None = None) -> None:
        """Replace the part -> clusters annotation (by hand, as in the authors' notebook) and recompute ``M``."""
        if self.catalog is None:
            raise BaselineError("fit the catalog first (train())")
        bad = {r: k for r, ids in annotations.items() for k in ids if not 0 <= int(k) < self.catalog.n_clusters}
        if bad:
            raise BaselineError(f"cluster ids outside 0..{self.catalog.n_clusters - 1}: {bad}")
        self.annotations = {r: [int(k) for k in ids] for r, ids in annotations.items()}
        ws = self.sample_ws(self.config.n_images, self.config.seed) if ws is None else ws
        with torch.no_grad():
            acts = self.generator.synthesis.run(ws, capture=[self.config.layer], stop_after=self.config.layer).activations[self.config.layer]
        self._compute_m(ws, acts)

    # ---------------------------------------------------------------- editing
    def q_weights(self, region: str, rho: float | None = None, epsilon: float | None = None) -> dict[str, torch.Tensor]:
        """Per styled layer, the channel weights ``q`` ``[C]`` for ``region``."""
        if not self.M:
            raise BaselineError("gan-local-editing is not fitted: call train() or load()")
        if region not in self.annotations:
            raise BaselineError(f"unknown region {region!r}; regions are: {', '.join(self.annotations)}")
        p = list(self.annotations).index(region)
        rho = self.config.rho if rho is None else rho
        epsilon = self.config.epsilon if epsilon is None else epsilon
        return {name: interpolation_weights(m[p], rho, epsilon) for name, m in self.M.items()}

    def transfer(self, target_ws: torch.Tensor, reference_ws: torch.Tensor, region: str,
                 rho: float | None = None, epsilon: float | None = None) -> torch.Tensor:  # fmt: skip
        """Images ``[N, 3, R, R]`` of the targets with ``region`` styled after the references (W or W+ latents)."""
        g = self.generator
        target_ws = g.synthesis.broadcast_ws(target_ws)
        reference_ws = g.synthesis.broadcast_ws(reference_ws)
        if reference_ws.shape[0] == 1 and target_ws.shape[0] > 1:
            reference_ws = reference_ws.expand(target_ws.shape[0], -1, -1)
        if reference_ws.shape[0] != target_ws.shape[0]:
            raise BaselineError(f"{reference_ws.shape[0]} references for {target_ws.shape[0]} targets")
        with torch.no_grad(), interpolated_styles(g, reference_ws, self.q_weights(region, rho, epsilon)):
            return g.synthesis(target_ws)

    def invert(self, images: torch.Tensor) -> torch.Tensor:
        """W+ latents [N, num_ws, w_dim] of images, by the engine's projector (``invert_steps`` steps)."""
        from aufx.gan.projector import ProjectorConfig, project

        g = self.generator
        x = check_images(images)
        if x.shape[-1] != g.img_resolution:
            x = F.interpolate(x, size=(g.img_resolution,) * 2, mode="bilinear", align_corners=False, antialias=True)
        config = ProjectorConfig(steps=self.config.invert_steps, wplus=True, seed=self.config.seed)
        with torch.enable_grad():
            return project(g, x, config, progress=False).ws.detach()

    def transfer_regions(self, target_ws: torch.Tensor, reference_ws: torch.Tensor, regions: Sequence[str]) -> torch.Tensor:
        """Like :meth:`transfer` for several regions at once: per channel, ``q`` is the largest of theirs."""
        weights = [self.q_weights(r) for r in regions]
        if not weights:
            raise BaselineError("transfer_regions needs at least one region")
        q = {name: torch.stack([w[name] for w in weights]).amax(0) for name in weights[0]}
        g = self.generator
        with torch.no_grad(), interpolated_styles(g, g.synthesis.broadcast_ws(reference_ws), q):
            return g.synthesis(g.synthesis.broadcast_ws(target_ws))

    def reference_bank(self) -> tuple[torch.Tensor, np.ndarray]:
        """(W ``[B, w_dim]``, true AUs ``[B, 16]``) of the bank faces (module doc); made once."""
        if self._bank is None:
            from baselines.latent_edit import scene_faces

            self._bank = scene_faces(self.generator, self.config.bank_faces, self.config.bank_seed)
        return self._bank

    def retrieve(self, source_aus: np.ndarray, change: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, list[list[str]]]:
        """Per face, (bank index of the reference, the regions to transfer) for AU changes
        ``change`` ``[N, 16]`` where ``mask`` ``[N, 16]`` on faces with AUs ``source_aus`` ``[N, 16]``.
        A face with nothing to change (an empty mask row) gets no regions (and index 0)."""
        from aufx.aus import AU_CODES, AU_MAX, AU_MIN
        from aufx.edit.au_parts import AU_GROUP

        _, bank_aus = self.reference_bank()
        group = np.array([AU_GROUP[c] for c in AU_CODES])
        wanted = np.clip(source_aus + change, AU_MIN, AU_MAX)
        index, regions = np.zeros(len(wanted), dtype=np.int64), []
        for i in range(len(wanted)):
            names = [r for r in self.annotations if r in set(group[mask[i]])]
            if not mask[i].any():
                regions.append([])
                continue
            if not names:
                raise BaselineError(f"face {i}: the edit names no AU of the regions {list(self.annotations)}")
            columns = np.isin(group, names)
            index[i] = int(np.abs(bank_aus[:, columns] - wanted[i, columns]).sum(1).argmin())
            regions.append(names)
        return index, regions

    def edit_aus(self, source_ws: torch.Tensor, target: Any) -> torch.Tensor:
        """Images ``[N, 3, R, R]`` of the faces ``source_ws`` (W or W+) edited to an AU or emotion
        ``target`` (module doc) by transferring the edited AUs' regions from retrieved references.
        The faces' current AUs are the target's ``source_aus``, else the bundled analyzer's reading
        of the unedited faces."""
        from aufx.aus import N_AUS
        from baselines.latent_edit import as_au_edit, deltas

        edit, min_change = as_au_edit(target, self.config.min_change)
        g = self.generator
        source_ws = g.synthesis.broadcast_ws(source_ws.float())
        n = source_ws.shape[0]
        if edit.source_aus is not None:
            now = torch.as_tensor(edit.source_aus, dtype=torch.float32).reshape(-1, N_AUS).expand(n, -1)
        else:
            from aufx.edit.analyzer import analyze, load_analyzer

            with torch.no_grad():
                now = analyze(load_analyzer("synthfacs"), g.synthesis(source_ws)).aus.float()
        change, mask = deltas(edit, n, lambda: now, min_change)
        index, regions = self.retrieve(now.double().numpy(), change.double().numpy(), mask.numpy())
        bank_ws, _ = self.reference_bank()
        out = torch.empty(n, 3, g.img_resolution, g.img_resolution)
        for names in dict.fromkeys(tuple(r) for r in regions):
            rows = [i for i, r in enumerate(regions) if tuple(r) == names]
            with torch.no_grad():  # no regions: the target asks for no change, the face stays as it is
                out[rows] = self.transfer_regions(source_ws[rows], bank_ws[index[rows]], names) if names else g.synthesis(source_ws[rows])
        return out

    def _edit(self, images: torch.Tensor, target: Any) -> torch.Tensor:
        if isinstance(target, str) and target in self.annotations:
            raise BaselineError(f"gan-local-editing: {target!r} is a region; pass ReferenceRegion({target!r}, "
                                "reference_ws=...) to copy it from a reference, or an AU / emotion target")  # fmt: skip
        if not isinstance(target, ReferenceRegion):
            from baselines.latent_edit import AUEdit

            source_ws = target.source_ws if isinstance(target, AUEdit) and target.source_ws is not None else None
            return self.edit_aus(self.invert(images) if source_ws is None else source_ws, target)
        source_ws = target.source_ws if target.source_ws is not None else self.invert(images)
        if target.reference_ws is not None:
            reference_ws = target.reference_ws
        elif target.reference_images is not None:
            reference_ws = self.invert(target.reference_images)
        else:
            raise BaselineError("ReferenceRegion needs reference_ws or reference_images")
        return self.transfer(source_ws, reference_ws, target.region)

    # ---------------------------------------------------------------- files
    def save(self, path: str | os.PathLike) -> Path:
        """Write the catalog centres, part overlap, annotations and ``M`` as an aufx bundle."""
        if self.catalog is None:
            raise BaselineError("nothing to save: fit first (train())")
        state = {"centers": torch.from_numpy(np.asarray(self.catalog.kmeans_.cluster_centers_)).float(),
                 "part_overlap": torch.from_numpy(np.asarray(self.catalog.part_overlap_)).float(),
                 **{f"M.{k}": v for k, v in self.M.items()}}  # fmt: skip
        config = {**asdict(self.config), "regions": {k: list(v) for k, v in self.config.regions.items()}}
        return save_bundle(path, self.name, config, state, {"annotations": self.annotations})

    def load(self, checkpoint: str | os.PathLike | None = None) -> GanLocalEditing:
        """Load a bundle written by :meth:`save` (the generator is the adapter's own)."""
        from aufx.edit.catalog import RegionCatalog, SphericalKMeans

        path = self._checkpoint_path(checkpoint, "no bundled GAN Local Editing catalog yet; fit one with train()")
        payload = read_torch_file(path)
        if not is_bundle(payload):
            raise CheckpointError(f"{path}: not an aufx-baseline bundle")
        bundle = load_bundle(payload, self.name, str(path))
        cfg = dict(bundle["config"])
        cfg["regions"] = {k: tuple(v) for k, v in cfg.get("regions", {}).items()}
        config = GLEConfig(**cfg)
        state = bundle["state_dict"]
        centers = state["centers"].double().numpy()
        shapes = self.generator.synthesis.layer_shapes()
        if centers.shape[1] != shapes[config.layer][0]:
            raise CheckpointError(f"{path}: catalog has {centers.shape[1]} channels but layer {config.layer} "
                                  f"of this generator has {shapes[config.layer][0]}")  # fmt: skip
        catalog = RegionCatalog(n_clusters=config.n_clusters, layer=config.layer, random_state=config.seed)
        km = SphericalKMeans(config.n_clusters, random_state=config.seed)
        km.cluster_centers_, km.n_features_in_, km.inertia_ = centers, centers.shape[1], float("nan")
        catalog.kmeans_, catalog.n_channels_ = km, centers.shape[1]
        catalog.part_overlap_ = state["part_overlap"].double().numpy()
        self.catalog, self.config, self._bank = catalog, config, None
        self.annotations = {k: list(v) for k, v in bundle["metadata"]["annotations"].items()}
        self.M = {k[2:]: v for k, v in state.items() if k.startswith("M.")}
        self.weights_source = "bundled" if checkpoint is None else str(path)
        return self


def comparison_sheet(adapter: GanLocalEditing, path: str | os.PathLike, n_targets: int = 4, n_references: int = 2,
                     regions: Sequence[str] = ("eyes", "nose", "mouth"), seed: int = 100) -> Path:  # fmt: skip
    """A Fig. 7–8 style contact sheet: one row per (target, reference) pair.

    Columns: target, reference, then the target with each region transferred from the
    reference. Faces are sampled from seeds ``seed`` (targets) and ``seed + 1`` (references).
    Returns the PNG path.
    """
    from aufx.imageio import save_grid

    g = adapter.generator
    targets, references = adapter.sample_ws(n_targets, seed), adapter.sample_ws(n_references, seed + 1)
    rows = []
    with torch.no_grad():
        for r in range(n_references):
            ref = references[r : r + 1].expand(n_targets, -1, -1)
            columns = [g.synthesis(targets), g.synthesis(ref)]
            columns += [adapter.transfer(targets, ref, region) for region in regions]
            rows.append(torch.stack(columns, dim=1))  # [T, 2 + R, 3, H, W]
    grid = torch.cat(rows).flatten(0, 1).clamp(-1, 1)
    return save_grid(grid, path, nrow=2 + len(regions))
