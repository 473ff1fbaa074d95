"""Realism of image sets on the bundled models (issue 17, item 6): the z-score against the tail share.

    nice -n 10 .venv/bin/python benchmarks/bench_realism.py            # N = 64 faces per set, ~1 min

The scorer is fitted as ``aufx stimuli`` fits it (:func:`aufx.stimuli.work.realism_scorer`: 512
SynthFACS renders, seed 0, at 128 px, analyzer features of the bundled analyzer). Every set has
``--n`` faces; generated faces are seeds 0..N-1 of ``synthfacs128`` at ψ = 0.7 (the stimuli
default). Sets: held-out renders (seed 1); unedited generated faces at ψ 0.7 and 1; the ψ 0.7 faces
with Gaussian pixel noise (SD 0.03, 0.1, 0.3 on [-1, 1]) and blurred (area-downsampled to 32 px
and back); aufx edits of AU12 by +2 (global-linear, global-opt, local-mux) and an uncapped
global-linear edit of AU12 +4 and AU04 +3; GANimation and Cascade EF-GAN raising AU12 by 2 from
the analyzer's estimate, StarGAN to "happy".

Printed per set (mean over faces): ``realism`` (:meth:`aufx.metrics.RealismScorer.score`, reference
SDs, higher = more realistic), the share of reference faces at least as far (the score before
issue 17, in [0, 1]) and the median Mahalanobis distance.
"""

from __future__ import annotations

import argparse
import warnings
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F


def image_sets(n: int) -> dict[str, Callable[[], torch.Tensor]]:
    """Name -> a function making that set's images ``[n, 3, 128, 128]`` in [-1, 1]."""
    from aufx.aus import AU_INDEX
    from aufx.edit.analyzer import analyze, load_analyzer
    from aufx.edit.engine import EditingModel
    from aufx.synthfacs import render, sample_params
    from baselines import registry

    model = EditingModel.load("synthfacs128", need_regions=True)
    w = model.latents_from_seeds(range(n), truncation_psi=0.7)
    faces = model.synthesize(w)
    noise = torch.randn(faces.shape, generator=torch.Generator().manual_seed(0))
    aus = analyze(load_analyzer("synthfacs"), faces).aus.clamp(0, 5)
    raised = aus.clone()
    raised[:, AU_INDEX["AU12"]] = (raised[:, AU_INDEX["AU12"]] + 2).clamp(0, 5)

    def renders() -> torch.Tensor:
        p = sample_params(n, seed=1)
        return render(p.aus, p.identity, size=128, with_parts=False).images

    def uncapped() -> torch.Tensor:
        cap, model.linear_max_step = model.linear_max_step, float("inf")
        try:
            return model.edit(w, {"AU12": 4.0, "AU04": 3.0}, mode="global-linear").image
        finally:
            model.linear_max_step = cap

    sets: dict[str, Callable[[], torch.Tensor]] = {
        "held-out renders": renders,
        "generated, ψ 0.7 (unedited)": lambda: faces,
        "generated, ψ 1 (unedited)": lambda: model.synthesize(model.latents_from_seeds(range(n), truncation_psi=1.0)),
    }
    for sd in (0.03, 0.1, 0.3):
        sets[f"generated + noise SD {sd:g}"] = lambda sd=sd: (faces + sd * noise).clamp(-1, 1)
    sets["generated, blurred (32 px)"] = lambda: F.interpolate(F.interpolate(faces, size=32, mode="area"), size=128,
                                                              mode="bilinear", align_corners=False)  # fmt: skip
    for mode in ("global-linear", "global-opt", "local-mux"):
        sets[f"aufx {mode} AU12 +2"] = lambda mode=mode: model.edit(w, {"AU12": 2.0}, mode=mode).image
    sets["aufx global-linear AU12 +4 AU04 +3, uncapped"] = uncapped
    sets["GANimation AU12 +2"] = lambda: registry.get("ganimation", load=True).edit(faces, raised)
    sets["Cascade EF-GAN AU12 +2"] = lambda: registry.get("cascade-efgan", load=True).edit(faces, raised)
    sets["StarGAN happy"] = lambda: registry.get("stargan", load=True).edit(faces, "happy")
    return sets


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=64, help="faces per set")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore", category=UserWarning)
    from aufx.edit.analyzer import load_analyzer
    from aufx.metrics import RealismScorer, realism_features
    from aufx.synthfacs import render, sample_params

    analyzer = load_analyzer("synthfacs")
    p = sample_params(512, seed=0)
    scorer = RealismScorer().fit(realism_features(analyzer, render(p.aus, p.identity, size=128, with_parts=False).images))
    ref = scorer.reference_distances_
    print(f"reference: 512 renders, distances mean {scorer.center_:.2f}, SD {scorer.spread_:.2f}, max {ref[-1]:.2f}\n")
    print(f"| image set (N = {args.n}) | realism (reference SDs) | share of reference at least as far (before) | median distance |")
    print("|---|---:|---:|---:|")
    for name, make in image_sets(args.n).items():
        with torch.no_grad():
            features = realism_features(analyzer, make())
        d = scorer.distance(features)
        share = 1.0 - np.searchsorted(ref, d, side="left") / len(ref)
        print(f"| {name} | {scorer.score(features).mean():+.2f} | {share.mean():.3f} | {np.median(d):.1f} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
