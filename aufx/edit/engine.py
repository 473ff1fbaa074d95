"""One object that ties the editing pieces together: generator, global editor, directions,
region catalog and (optionally) the face analyzer — the engine behind ``aufx edit``.

Modes (``EditingModel.edit``):

- ``global-opt``: editor optimisation on w (Sec. 3.1);
- ``global-linear``: calibrated Eq. 1–2 directions (optionally orthogonalised, Fig. 5);
- ``local-opt``: global-opt, then masked optimisation (Eq. 3–6);
- ``local-mux``: global-opt, then activation multiplexing (Eq. 7).

Latents are W [N, w_dim] or W+ [N, num_ws, w_dim]; images [N, 3, R, R] in [-1, 1].
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch

from aufx.aus import AU_CODES, AU_MAX, AU_MIN, AUError, normalize_au
from aufx.edit.analyzer import Analyzer, analyze
from aufx.edit.catalog import RegionCatalog
from aufx.edit.dataset import seed_latents
from aufx.edit.directions import AUDirections
from aufx.edit.global_editor import GlobalEditor, load_editor, optimize_edit, target_matrix
from aufx.edit.local import (
    PrefixCache,
    edit_mask,
    masked_optimization,
    multiplex,
    original_prefix,
    resume_image,
)
from aufx.synthfacs.latent import LatentScene, true_scenes

MODES: tuple[str, ...] = ("global-opt", "global-linear", "local-opt", "local-mux")


def check_changes(changes: Mapping[str, float], relative: bool) -> dict[str, float]:
    """Validate AU arguments: absolute targets on 0..5, changes within ±5. Returns canonical codes."""
    result = {}
    for name, value in changes.items():
        code = normalize_au(name)
        if relative and not -AU_MAX <= value <= AU_MAX:
            raise AUError(f"{code} change {value:+g} is outside [-{AU_MAX:g}, +{AU_MAX:g}]")
        if not relative and not AU_MIN <= value <= AU_MAX:
            raise AUError(f"{code} target {value:g} is outside the scale [{AU_MIN:g}, {AU_MAX:g}]")
        result[code] = float(value)
    if not result:
        raise AUError("no AU to edit; give at least one, e.g. AU12=+2")
    return result


def artefact_paths(model_spec: str | os.PathLike) -> tuple[Path, Path]:
    """Default editor and region-catalog paths for a model: beside the file, ``<stem>_editor.pt``
    and ``<stem>_regions.json`` (bundled names resolve to ``aufx/weights/<name>_...``)."""
    text = os.fspath(model_spec)
    from aufx.gan.loaders import BUNDLED_MODELS, WEIGHTS_DIR

    if text in BUNDLED_MODELS:
        base = WEIGHTS_DIR / text
    else:
        path = Path(text)
        base = path.with_name(path.stem)
    return base.with_name(base.name + "_editor.pt"), base.with_name(base.name + "_regions.json")


@dataclass
class EditOutcome:
    """Result of one edit: images [N, 3, R, R], latents, and the editor's AU predictions [N, 16]."""

    image_orig: torch.Tensor
    image: torch.Tensor
    image_global: torch.Tensor
    w_orig: torch.Tensor
    w_global: torch.Tensor
    w_local: torch.Tensor | None
    mask: torch.Tensor | None
    target: torch.Tensor
    predicted_before: torch.Tensor
    predicted_after: torch.Tensor


@dataclass
class EditingModel:
    """Generator plus the editing artefacts; any of editor/catalog/analyzer may be absent
    (methods that need one raise a ValueError naming it)."""

    generator: torch.nn.Module
    editor: GlobalEditor | None = None
    directions: AUDirections | None = None
    catalog: RegionCatalog | None = None
    analyzer: Analyzer | None = None
    truncation_psi: float = 1.0
    opt_steps: int = 200
    opt_lr: float = 0.01
    #: ``global-opt`` starts from the (capped) ``global-linear`` step when AU directions are loaded,
    #: then optimises (Eq. 2). From w itself, faces whose AU lies in the editor's flat region (AU at 0,
    #: where the regressor's gradient vanishes) barely move: on ``synthfacs128`` a +2 edit from w rose
    #: by +0.34 on average over the 16 AUs (analyzer, 100 faces), from the warm start by +2.01.
    opt_warm_start: bool = True
    local_steps: int = 100
    local_lr: float = 0.01
    alpha: float = 1.0
    beta: float = 1.0
    sigma: float = 0.0
    #: What styles the layers after the multiplexed one in ``local-mux``: "orig" (the paper),
    #: "global", or "blend" (both, blended by the mask at every later layer; 1.45× a forward).
    mux_suffix: str = "orig"
    #: Longest W-space step of a ``global-linear`` edit; ``None``: half the latent radius (median
    #: distance of random faces from their mean, :meth:`latent_radius`); ``math.inf``: no cap.
    linear_max_step: float | None = None
    #: Called as ``on_linear_cap(aus, faces, cap)`` instead of the warning when ``global-linear``
    #: shortens steps (``aufx stimuli`` collects them and reports one line per run); ``None``: warn.
    on_linear_cap: Callable[[tuple[str, ...], int, float], None] | None = field(default=None, repr=False)
    #: The generator file's metadata; a distilled generator's ``scene_map`` makes
    #: :meth:`true_scenes` available.
    generator_metadata: dict = field(default_factory=dict, repr=False)
    _latent_radius: float | None = field(default=None, init=False, repr=False)

    @classmethod
    def load(
        cls,
        model: str | os.PathLike,
        editor: str | os.PathLike | None = None,
        regions: str | os.PathLike | None = None,
        analyzer: str | os.PathLike | None = None,
        need_regions: bool = False,
    ) -> EditingModel:
        """Load a generator (bundled name or path) and its editor / catalog (defaults beside it)."""
        from aufx.gan.loaders import load_generator

        loaded_generator = load_generator(model)
        generator = loaded_generator.generator
        default_editor, default_regions = artefact_paths(model)
        editor_path = Path(editor) if editor else default_editor
        loaded = load_editor(editor_path)
        if loaded.editor.config.w_dim != generator.w_dim:
            raise ValueError(f"{editor_path}: editor expects w of {loaded.editor.config.w_dim} dims, model has {generator.w_dim}")
        directions = AUDirections.from_editor(loaded.editor, loaded.calibration)
        catalog = None
        regions_path = Path(regions) if regions else default_regions
        if need_regions or regions:
            catalog, _ = RegionCatalog.load(regions_path)
        analyzer_model = None
        if analyzer:
            from aufx.edit.analyzer import load_analyzer

            analyzer_model = load_analyzer(analyzer)
        return cls(generator, loaded.editor, directions, catalog, analyzer_model,
                   generator_metadata=loaded_generator.metadata)  # fmt: skip

    # ------------------------------------------------------------------ basics
    def latents_from_seeds(self, seeds: Sequence[int], truncation_psi: float | None = None) -> torch.Tensor:
        """W [len(seeds), w_dim] for NVIDIA-style seeds (``RandomState(seed).randn``)."""
        psi = self.truncation_psi if truncation_psi is None else truncation_psi
        with torch.no_grad():
            return self.generator.mapping(seed_latents(self.generator.z_dim, seeds), truncation_psi=psi)[:, 0]

    def true_scenes(self, seeds: Sequence[int], truncation_psi: float | None = None) -> LatentScene | None:
        """Ground-truth AUs and identity of the faces :meth:`latents_from_seeds` makes (a generator
        distilled from SynthFACS's latent map, ψ = 1), else ``None``; see
        :func:`aufx.synthfacs.latent.true_scenes`."""
        psi = self.truncation_psi if truncation_psi is None else truncation_psi
        z = seed_latents(self.generator.z_dim, seeds).numpy()
        return true_scenes(self.generator_metadata, z, psi)

    @torch.no_grad()
    def synthesize(self, w: torch.Tensor) -> torch.Tensor:
        return self.generator.synthesis(w)

    def _need_editor(self) -> GlobalEditor:
        if self.editor is None:
            raise ValueError("this edit needs a global editor (train one with `aufx train editor`)")
        return self.editor

    def _need_catalog(self) -> RegionCatalog:
        if self.catalog is None:
            raise ValueError("local editing needs a region catalog (make one with `aufx train regions`)")
        return self.catalog

    @torch.no_grad()
    def predict(self, w: torch.Tensor) -> torch.Tensor:
        """Editor's AU prediction [N, 16] for W or W+."""
        return self._need_editor()(w)

    # ------------------------------------------------------------------ global
    def global_edit(
        self, w: torch.Tensor, changes: Mapping[str, float], relative: bool = True, method: str = "opt", orthogonal: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """w_global and the full target [N, 16] (unspecified AUs at their predicted values)."""
        editor = self._need_editor()
        changes = check_changes(changes, relative)
        current = self.predict(w)
        target, mask = target_matrix(current, changes, relative)
        target = torch.where(mask, target.clamp(AU_MIN, AU_MAX), target)
        if method == "opt":
            start = w
            if self.opt_warm_start and self.directions is not None:
                # AUs whose calibrated direction does not raise them start from w itself.
                rising = mask & self.directions.raises().to(mask.device)
                start = self._linear_step(w, target - current, rising, orthogonal, changes, quiet=True)
            # Unspecified AUs are held at the original face's predictions, not the warm start's.
            result = optimize_edit(editor, start, target, steps=self.opt_steps, lr=self.opt_lr)
            return result.w, target
        if method == "linear":
            if self.directions is None:
                raise ValueError("linear editing needs AU directions (from the global editor)")
            return self._linear_step(w, target - current, mask, orthogonal, changes), target
        raise ValueError(f"global method must be 'opt' or 'linear', got {method!r}")

    def _linear_step(
        self, w: torch.Tensor, deltas: torch.Tensor, mask: torch.Tensor, orthogonal: bool,
        changes: Mapping[str, float], quiet: bool = False,
    ) -> torch.Tensor:
        """w moved along the Eq. 1 directions by ``deltas`` [N, 16] (AU units, only where ``mask``),
        each face's step capped (:meth:`_cap_linear_step`; ``quiet``: without the warning)."""
        assert self.directions is not None
        w_new = torch.stack([
            self.directions.apply(w[i], {code: float(deltas[i, j]) for j, code in enumerate(AU_CODES) if mask[i, j]}, orthogonal)
            for i in range(w.shape[0])
        ])  # fmt: skip
        return self._cap_linear_step(w, w_new, changes, quiet)

    def latent_radius(self, n: int = 1000) -> float:
        """Median W-space distance of ``n`` random faces (ψ = 1, fixed seed) from their mean; cached."""
        if self._latent_radius is None:
            with torch.no_grad():
                z = torch.randn(n, self.generator.z_dim, generator=torch.Generator().manual_seed(0))
                w = self.generator.mapping(z, truncation_psi=1.0)[:, 0]
            self._latent_radius = float((w - w.mean(0)).norm(dim=1).median())
        return self._latent_radius

    def linear_cap(self) -> float:
        """Longest W-space step of a linear edit: ``linear_max_step``, or half the latent radius."""
        return 0.5 * self.latent_radius() if self.linear_max_step is None else self.linear_max_step

    def _cap_linear_step(
        self, w: torch.Tensor, w_new: torch.Tensor, changes: Mapping[str, float], quiet: bool = False
    ) -> torch.Tensor:
        """Shorten linear steps longer than ``linear_max_step`` (a direction that barely moves its AU
        would otherwise need a step that leaves the face distribution), with a warning."""
        cap = self.linear_cap()
        step = w_new - w
        length = (step[:, 0] if step.dim() == 3 else step).norm(dim=-1)  # W+: the same step on every layer
        long = length > cap
        if not bool(long.any()):
            return w_new
        scale = torch.where(long, cap / length.clamp_min(1e-12), torch.ones_like(length))
        scale = scale.view(-1, *([1] * (step.dim() - 1)))
        if quiet:
            return w + step * scale
        if self.on_linear_cap is not None:
            self.on_linear_cap(tuple(changes), int(long.sum()), cap)
            return w + step * scale
        # The message names only the AUs and the cap, so Python's default filter shows it once per
        # AU combination instead of once per face (stimuli runs edit hundreds of faces).
        warnings.warn(
            f"global-linear edit of {', '.join(changes)}: some faces need a W-space step longer than the cap "
            f"{cap:.1f} (half the median distance of a face from the mean face); those steps were shortened, so "
            "their targets are not reached. Use mode global-opt for them.",
            stacklevel=3,
        )
        return w + step * scale

    # ------------------------------------------------------------------ local
    def local_edit(
        self, w_orig: torch.Tensor, w_global: torch.Tensor, aus: Sequence[str], method: str = "mux",
        cache: PrefixCache | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor]:
        """(I_local, w_local or None, mask) restricting the w_orig → w_global edit to the AUs' clusters.

        ``cache``: the original's pass up to the catalog layer (``original_prefix``), reused by
        multiplexing instead of recomputing it.
        """
        catalog = self._need_catalog()
        if method == "mux":
            result = multiplex(
                self.generator, w_orig, w_global, catalog=catalog, aus=aus, sigma=self.sigma, cache=cache,
                suffix=self.mux_suffix,
            )  # fmt: skip
            return result.image, None, result.mask
        if method == "opt":
            a_global = self.generator.synthesis.run(w_global, stop_after=catalog.layer).state.x
            size = self.generator.img_resolution
            scale = size / a_global.shape[-1]
            mask = edit_mask(catalog, a_global, aus, size=size, sigma=self.sigma * scale)
            result = masked_optimization(
                self.generator, w_orig, w_global, mask, alpha=self.alpha, beta=self.beta,
                steps=self.local_steps, lr=self.local_lr,
            )  # fmt: skip
            return result.image, result.w, mask
        raise ValueError(f"local method must be 'mux' or 'opt', got {method!r}")

    # ------------------------------------------------------------------ all modes
    def edit(
        self, w: torch.Tensor, changes: Mapping[str, float], mode: str = "local-mux", relative: bool = True, orthogonal: bool = False
    ) -> EditOutcome:
        """Edit faces w (W or W+) by ``changes`` (``{"AU12": +2}``; absolute targets with ``relative=False``)."""
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; modes are: {', '.join(MODES)}")
        changes = check_changes(changes, relative)
        before = self.predict(w)
        w_global, target = self.global_edit(w, changes, relative, "linear" if mode == "global-linear" else "opt", orthogonal)
        cache = None
        if mode == "local-mux":  # one prefix of the original serves its image and the multiplexing
            cache = original_prefix(self.generator, w, self._need_catalog().layer)
            image_orig = resume_image(self.generator, w, cache)
        else:
            image_orig = self.synthesize(w)
        image_global = self.synthesize(w_global)
        image, w_local, mask = image_global, None, None
        if mode.startswith("local-"):
            image, w_local, mask = self.local_edit(w, w_global, list(changes), mode.split("-")[1], cache)
        after = self.predict(w_local if w_local is not None else w_global)
        return EditOutcome(image_orig, image, image_global, w, w_global, w_local, mask, target, before, after)

    # ------------------------------------------------------------------ images
    def analyze_aus(self, images: torch.Tensor) -> torch.Tensor:
        """Analyzer AUs [N, 16] of images; ValueError when no analyzer is loaded."""
        if self.analyzer is None:
            raise ValueError("this step needs the face analyzer (--analyzer PATH or the bundled analyzer.pt)")
        return analyze(self.analyzer, images).aus
