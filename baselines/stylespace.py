"""StyleSpace (Wu, Lischinski & Shechtman, CVPR 2021) for AUs on aufx's StyleGAN2.

The method edits single channels of S, the per-layer style vectors (:mod:`baselines.styles`):
``s_c ← s_c + α·σ_c`` with ``σ_c`` the channel's standard deviation over generated faces. Which
channels control an attribute is found in two steps, both from the authors' code
(betterze/StyleSpace):

1. **Locally-active channels** (``invert_mask.py``, ``align_mask.py``, ``semantic_channel.py``,
   ``MAdvance.GetRank``): gradient maps of every channel (32×32, |∂image/∂s_c| averaged over RGB)
   on ``n_grad_faces`` faces; in each face the channel's *top region* is the part whose pixels
   hold most of the map's largest values, scored ``n / o²`` (``n`` of the part's ``o`` pixels
   among the ``o`` largest values); a channel is locally active in an AU's region (the union of
   the parts of :data:`aufx.edit.au_parts.AU_PARTS`) when the share of faces whose top region lies
   in it exceeds 0.5 and beats every other part's share by 0.25. Part maps are the SynthFACS
   renderer's, of each face's true scene. ``torgb`` channels are left out, as in their code.
2. **Attribute-specific channels** (``MAdvance.S2N``): positive examples are the ``positive_share``
   of ``n_bank`` generated faces with the highest true AU (``params_from_z``; the authors take the
   top 1,000 by a classifier); each channel's styles over the positives, normalised by the
   population's mean and std, score ``|mean| / std``; the sign of the mean is the edit's sign.
   The ``n_candidates`` locally-active channels with the highest score are **confirmed** against
   the AU: each is edited alone by ``+check_alpha·σ`` on ``n_check_faces`` faces and the bundled
   analyzer measures the AUs; a channel is confirmed when the target AU rises, and by more than
   any other AU moves on average. The ``top_k`` confirmed channels with the largest rise are the
   AU's control (when none is confirmed, the candidate with the largest rise, marked unconfirmed).

An edit of ``Δ`` AU units moves the AU's channels together by ``α`` σ read off a calibration
curve: the analyzer's mean rise of the AU when the channels move by ``check_alpha`` (10) and by
``max_alpha`` (20, the largest step of the authors' demos) on the check faces, joined piecewise
linearly through 0 (as the engine's directions are calibrated with the analyzer); where the rise
stops growing the move stops there (a channel's effect is not linear that far: on the check
faces AU26's channel raises it by 0.93 at 10 σ and by 0.47 at 20 σ). The analyzer that confirms and calibrates here is the one the benchmark
measures with, on other faces (fitting seeds ≥ 1,000,000; see ``baselines/weights/stylespace.md``).
Held AUs (InterFaceGAN's conditions) do not apply: a StyleSpace control is one AU's channels.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from aufx.aus import AU_CODES, N_AUS
from aufx.edit.analyzer import Analyzer, analyze
from aufx.gan import Generator
from baselines.base import WEIGHTS_DIR, BaselineError
from baselines.checkpoints import CheckpointError
from baselines.latent_edit import LatentPeer, scene_faces
from baselines.styles import (
    block_majority,
    gradient_maps,
    locally_active,
    signed_signal_to_noise,
    split_flat,
    style_layers,
    style_offsets,
    style_sizes,
    styles,
    top_region_shares,
)

BUNDLED = WEIGHTS_DIR / "stylespace.npz"
#: Seeds of the faces the fit uses start here (far from the seeds benchmarks and studies edit).
FIT_SEED = 1_000_000


@dataclass
class StyleSpaceConfig:
    """Fitting and editing settings (module doc)."""

    n_bank: int = 20_000
    positive_share: float = 0.05
    n_grad_faces: int = 16
    grad_size: int = 32
    grad_eps: float = 0.05
    threshold: float = 0.5
    margin: float = 0.25
    n_candidates: int = 12
    n_check_faces: int = 16
    check_alpha: float = 10.0
    top_k: int = 1
    max_alpha: float = 20.0
    seed: int = FIT_SEED
    invert_steps: int = 200
    min_change: float = 0.5


@dataclass
class StyleControls:
    """Per-AU StyleSpace controls.

    Attributes:
        layers: styled layers of S (synthesis order; no ``torgb``); sizes: their channels.
        mean, std: ``[C]`` style statistics over the bank of generated faces.
        shares: ``[C, P]`` share of faces in which each part is the channel's top region.
        channels, signs: ``[16, top_k]`` chosen channels (flat S index, -1 = none) and edit signs.
        steps: ``[2]`` the calibration's moves, in σ (``check_alpha``, ``max_alpha``).
        curve: ``[16, 2]`` the analyzer's mean rise of each AU when its channels move together
            by those steps (:meth:`alphas` inverts it).
        confirmed: ``[16]`` whether the channels passed the analyzer check.
        candidates, rises, leaks: ``[16, n_candidates]`` the checked channels (-1 = none), the
            target AU's mean rise, and the largest mean |change| of another AU, per candidate.
    """

    layers: list[str]
    sizes: list[int]
    mean: np.ndarray
    std: np.ndarray
    shares: np.ndarray
    channels: np.ndarray
    signs: np.ndarray
    steps: np.ndarray
    curve: np.ndarray
    confirmed: np.ndarray
    candidates: np.ndarray
    rises: np.ndarray
    leaks: np.ndarray

    def alphas(self, j: int, change: torch.Tensor) -> torch.Tensor:
        """Moves ``[N]`` (in σ) of AU ``j``'s channels for AU changes ``[N]``.

        Rises invert the piecewise-linear curve through (0, 0) and the calibration points, as far
        as it keeps rising (a larger request gets that point's move); falls use the first
        segment's slope, down to ``-steps[-1]``.
        """
        a, r = np.r_[0.0, self.steps], np.r_[0.0, self.curve[j]]
        keep = 1
        while keep < len(r) and r[keep] > r[keep - 1]:
            keep += 1
        if keep == 1:
            raise BaselineError(f"{AU_CODES[j]}: its StyleSpace channels do not raise it (rise {r[1]:+.3g} at {a[1]:g} σ)")
        values = change.double().numpy()
        up = np.interp(values, r[:keep], a[:keep])
        down = np.maximum(values * a[1] / r[1], -a[-1])
        return torch.from_numpy(np.where(values >= 0, up, down)).float()

    def offsets(self, change: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Flat S offsets ``[N, C]`` for AU changes ``[N, 16]`` where ``mask``."""
        flat = torch.zeros(change.shape[0], int(sum(self.sizes)))
        std = torch.from_numpy(self.std).float()
        for j in range(N_AUS):
            rows = mask[:, j]
            if not bool(rows.any()):
                continue
            alpha = self.alphas(j, change[rows, j])
            for c, sign in zip(self.channels[j], self.signs[j], strict=True):
                if c >= 0:
                    flat[rows, c] += alpha * float(sign) * std[c]
        return flat

    def save(self, path: str | os.PathLike, config: StyleSpaceConfig, generator: str) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        arrays = {k: v for k, v in asdict(self).items() if k not in ("layers", "sizes")}
        np.savez_compressed(path, layers=np.array(self.layers), sizes=np.array(self.sizes), au_codes=np.array(AU_CODES),
                            config=json.dumps(asdict(config)), generator=generator,
                            **{k: (v.astype(np.float32) if v.dtype == np.float64 else v) for k, v in arrays.items()})  # fmt: skip
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> tuple[StyleControls, dict]:
        """(controls, the config they were fitted with) from a file written by :meth:`save`."""
        path = Path(path)
        if not path.is_file():
            raise CheckpointError(f"{path}: no such StyleSpace controls file")
        try:
            with np.load(path, allow_pickle=False) as data:
                if tuple(str(c) for c in data["au_codes"]) != AU_CODES:
                    raise CheckpointError(f"{path}: AU order {list(data['au_codes'])} differs from {list(AU_CODES)}")
                names = [f for f in cls.__dataclass_fields__ if f not in ("layers", "sizes")]
                fields = {k: np.asarray(data[k]) for k in names}
                controls = cls([str(n) for n in data["layers"]], [int(s) for s in data["sizes"]], **fields)
                config = json.loads(str(data["config"]))
        except (KeyError, ValueError, OSError) as error:
            raise CheckpointError(f"{path}: not a StyleSpace controls file ({error})") from None
        return controls, config


def _sign(value: float) -> float:
    return 1.0 if value >= 0 else -1.0


def _rise(generator: Generator, analyzer: Analyzer, w: torch.Tensor, base: torch.Tensor, controls: dict[str, torch.Tensor]) -> torch.Tensor:
    """Mean analyzer AU change ``[16]`` of faces ``w`` under style offsets ``controls`` (``base``: their AUs)."""
    with torch.no_grad(), style_offsets(generator, controls):
        return (analyze(analyzer, generator.synthesis(w)).aus - base).mean(dim=0)


def fit_controls(generator: Generator, analyzer: Analyzer, config: StyleSpaceConfig | None = None,
                 progress: bool = False) -> StyleControls:  # fmt: skip
    """Find and calibrate every AU's channels on the generator's faces (module doc)."""
    from aufx.edit.au_parts import AU_PARTS
    from aufx.synthfacs import render
    from aufx.synthfacs.latent import params_from_z
    from aufx.synthfacs.parts import PART_INDEX, PART_NAMES

    config = config or StyleSpaceConfig()
    say = print if progress else (lambda *a, **k: None)
    layers = style_layers(generator)
    sizes = style_sizes(generator, layers)
    w_bank, aus_bank = scene_faces(generator, config.n_bank, config.seed)
    bank = styles(generator, w_bank, layers)
    mean, std = bank.mean(dim=0), bank.std(dim=0).clamp_min(1e-8)
    say(f"styles of {config.n_bank} faces: {bank.shape[1]} channels in {len(layers)} layers")

    z = np.random.RandomState(config.seed + 1).randn(config.n_grad_faces, generator.z_dim)
    with torch.no_grad():
        w_grad = generator.mapping(torch.from_numpy(z).float())[:, 0]
    scene = params_from_z(z)
    res = generator.img_resolution
    parts = render(scene.aus, scene.identity, size=res, with_parts=True).parts
    maps = gradient_maps(generator, w_grad, layers, std, size=config.grad_size, eps=config.grad_eps)
    shares = top_region_shares(maps, block_majority(parts, config.grad_size, len(PART_NAMES)), len(PART_NAMES))
    say(f"gradient maps of {config.n_grad_faces} faces")

    w_check, _ = scene_faces(generator, config.n_check_faces, config.seed + 2)
    with torch.no_grad():
        base = analyze(analyzer, generator.synthesis(w_check)).aus
    n_pos = max(2, int(config.positive_share * config.n_bank))
    shape = (N_AUS, config.top_k)
    channels, signs = np.full(shape, -1), np.zeros(shape)
    steps = np.array([config.check_alpha, config.max_alpha])
    curve, confirmed = np.zeros((N_AUS, 2)), np.zeros(N_AUS, dtype=bool)
    candidates = np.full((N_AUS, config.n_candidates), -1)
    rises, leaks = np.full((N_AUS, config.n_candidates), np.nan), np.full((N_AUS, config.n_candidates), np.nan)

    def moved(picks: list[tuple[int, float]], alpha: float = config.check_alpha) -> dict[str, torch.Tensor]:
        """Offsets moving each (channel, sign) of ``picks`` by ``alpha`` of its σ."""
        flat = torch.zeros(1, bank.shape[1])
        for c, sign in picks:
            flat[0, c] += sign * alpha * float(std[c])
        return split_flat(flat, layers, sizes)

    for j, code in enumerate(AU_CODES):
        region = [PART_INDEX[p] for p in AU_PARTS[code]]
        local = np.flatnonzero(np.isfinite(locally_active(shares, region, config.threshold, config.margin)))
        positives = torch.from_numpy(np.argsort(aus_bank[:, j], kind="stable")[-n_pos:].copy())
        score = signed_signal_to_noise(bank[positives], mean, std).numpy()
        pool = local if len(local) else np.arange(bank.shape[1])
        picked = pool[np.argsort(-np.abs(score[pool]), kind="stable")][: config.n_candidates]
        candidates[j, : len(picked)] = picked
        for i, c in enumerate(picked):
            change = _rise(generator, analyzer, w_check, base, moved([(int(c), _sign(score[c]))]))
            rises[j, i] = float(change[j])
            leaks[j, i] = float(np.delete(change.abs().numpy(), j).max())
        passed = np.flatnonzero((rises[j] > 0) & (rises[j] > leaks[j]))
        confirmed[j] = len(passed) > 0
        order = passed[np.argsort(-rises[j, passed], kind="stable")] if confirmed[j] else [int(np.nanargmax(rises[j]))]
        chosen = [(int(candidates[j, i]), _sign(score[candidates[j, i]])) for i in order[: config.top_k]]
        channels[j, : len(chosen)] = [c for c, _ in chosen]
        signs[j, : len(chosen)] = [s for _, s in chosen]
        curve[j] = [float(_rise(generator, analyzer, w_check, base, moved(chosen, float(a)))[j]) for a in steps]
        say(f"{code}: {len(local)} locally active, channels {[c for c, _ in chosen]} "
            f"({'confirmed' if confirmed[j] else 'unconfirmed'}), rise {curve[j, 0]:+.2f} at {steps[0]:g} σ, "
            f"{curve[j, 1]:+.2f} at {steps[1]:g} σ")  # fmt: skip
    return StyleControls(layers, sizes, mean.numpy(), std.numpy(), shares, channels, signs, steps, curve, confirmed,
                         candidates, rises, leaks)  # fmt: skip


class StyleSpace(LatentPeer):
    """StyleSpace adapter: ``edit(images, AUEdit({"AU12": 2}, source_ws=w))`` (targets: :mod:`baselines.latent_edit`)."""

    name = "stylespace"
    description = "StyleSpace (Wu et al. 2021): locally-active, AU-specific style channels edited by multiples of their std"

    def __init__(self, generator: Generator | None = None, config: StyleSpaceConfig | None = None,
                 analyzer: Analyzer | None = None) -> None:  # fmt: skip
        super().__init__(generator)
        self.config = config or StyleSpaceConfig()
        self.invert_steps, self.min_change = self.config.invert_steps, self.config.min_change
        self._analyzer = analyzer
        self.controls: StyleControls | None = None

    @property
    def analyzer(self) -> Analyzer:
        if self._analyzer is None:
            from aufx.edit.analyzer import load_analyzer

            self._analyzer = load_analyzer("synthfacs")
        return self._analyzer

    def bundled_path(self) -> Path:
        return BUNDLED

    def train(self, progress: bool = False, **_: Any) -> StyleSpace:
        """Fit every AU's channels on generated faces (module doc; minutes on a CPU)."""
        self.controls = fit_controls(self.generator, self.analyzer, self.config, progress)
        self.weights_source = f"fitted on {self.config.n_bank} faces"
        return self

    def save(self, path: str | os.PathLike, generator: str = "synthfacs128") -> Path:
        return self._need().save(path, self.config, generator)

    def load(self, checkpoint: str | os.PathLike | None = None) -> StyleSpace:
        """Load controls written by :meth:`save` (``None``: the bundled ones)."""
        path = self._checkpoint_path(checkpoint, "no bundled StyleSpace controls; fit them with "
                                     "`python -m baselines.stylespace --out baselines/weights/stylespace.npz`")  # fmt: skip
        controls, config = StyleControls.load(path)
        if self._generator is not None and style_sizes(self.generator, controls.layers) != controls.sizes:
            raise CheckpointError(f"{path}: controls for layers of {controls.sizes} channels do not fit this generator")
        self._loaded(StyleSpaceConfig, config, path, bundled=checkpoint is None)
        self.controls = controls
        return self

    def _need(self) -> StyleControls:
        if self.controls is None:
            raise BaselineError("stylespace has no controls: call load() or train()")
        return self.controls

    def estimate_aus(self, images: torch.Tensor, ws: torch.Tensor) -> torch.Tensor:
        """The analyzer's AUs of the input images (StyleSpace has no AU read-out of its own)."""
        return analyze(self.analyzer, images).aus.float()

    def edit_latents(self, ws: torch.Tensor, change: torch.Tensor, mask: torch.Tensor,
                     hold: Sequence[Sequence[str]]) -> torch.Tensor:  # fmt: skip
        if any(hold):
            raise BaselineError("stylespace edits one AU's channels; it has no conditional (held-AU) edit")
        controls = self._need()
        flat = controls.offsets(change, mask)
        with torch.no_grad(), style_offsets(self.generator, split_flat(flat, controls.layers, controls.sizes)):
            return self.generator.synthesis(ws)


def main(argv: list[str] | None = None) -> None:
    """Fit the controls on the bundled generator with the bundled analyzer and write them (``--out``)."""
    import argparse
    import time

    parser = argparse.ArgumentParser(prog="python -m baselines.stylespace", description=main.__doc__)
    parser.add_argument("--out", default=str(BUNDLED))
    parser.add_argument("--grad-faces", type=int, default=StyleSpaceConfig.n_grad_faces)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    start, cpu = time.time(), time.process_time()
    adapter = StyleSpace(config=StyleSpaceConfig(n_grad_faces=args.grad_faces)).train(progress=True)
    path = adapter.save(args.out)
    print(f"wrote {path} ({path.stat().st_size / 1024:.0f} KiB) in {time.time() - start:.0f} s, "
          f"{time.process_time() - cpu:.0f} CPU-s")  # fmt: skip


if __name__ == "__main__":
    main()
