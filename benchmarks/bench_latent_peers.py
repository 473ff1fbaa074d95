"""Do InterFaceGAN and StyleSpace edits raise their AU? +2 edits of each AU, read by the analyzer.

    python benchmarks/bench_latent_peers.py --faces 50

For each of the 16 AUs, every face (seeds --seed.., ψ = 1, the bundled generator) is edited by
+--change with each method, given the faces' latents (no inversion): InterFaceGAN (its bundled
boundaries), InterFaceGAN conditioned on the other 15 AUs (their normals projected out),
StyleSpace (its bundled controls), the ablation InterFaceGAN with its SVMs fitted in all of W
(no principal subspace; fitted here, 5 s; --no-ablation skips it) and, for reference, aufx's
``global-linear`` mode. The analyzer
reads the original and the edited image. Per AU and method: the mean rise of the edited AU with
its 95 % t-interval, leakage (mean |change| of the other 15 AUs) and StyleSpace's Attribute
Dependency (mean-AD and max-AD: other AUs' |change| in units of their std over --reference
generated faces; :func:`aufx.metrics.attribute_dependency`), with the target's change in the same
units. Goal (issue 17): the rise's 95 % CI above 0 for at least 14 of 16 AUs.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aufx.aus import AU_CODES, AU_INDEX  # noqa: E402

GOAL_AUS = 14
Editor = Callable[[torch.Tensor, str], torch.Tensor]


def editors(model, change: float, ablation: bool = True) -> dict[str, Editor]:
    """Method name -> function (W [N, w_dim], AU code) -> edited images [N, 3, R, R]."""
    from baselines import registry
    from baselines.latent_edit import AUEdit

    ifg = registry.get("interfacegan", load=True, generator=model.generator)
    ss = registry.get("stylespace", load=True, generator=model.generator, analyzer=model.analyzer)
    res = model.generator.img_resolution

    def through_adapter(adapter, hold=()):
        # the adapters' public edit(); the images only give the batch's shape when latents are given
        return lambda w, code: adapter.edit(torch.zeros(len(w), 3, res, res), AUEdit({code: change}, source_ws=w, hold=hold))

    full_w = None
    if ablation:
        from baselines.interfacegan import InterFaceGAN, InterFaceGANConfig

        full_w = InterFaceGAN(model.generator, InterFaceGANConfig(pca_variance=None)).train()
    return {
        "interfacegan": through_adapter(ifg),
        "interfacegan (hold others)": through_adapter(ifg, "others"),
        "stylespace": through_adapter(ss),
        **({"interfacegan (SVM in all of W)": through_adapter(full_w)} if full_w is not None else {}),
        "aufx global-linear": lambda w, code: model.edit(w, {code: change}, mode="global-linear").image,
    }


def measure(model, editor: Editor, ws: torch.Tensor, before: torch.Tensor, std: torch.Tensor, batch: int = 25) -> pd.DataFrame:
    """One row per AU: rise (mean, CI), leakage, mean-AD, max-AD, target change in σ."""
    from aufx.metrics import attribute_dependency

    rows = []
    for code in AU_CODES:
        with torch.no_grad():
            after = torch.cat([model.analyze_aus(editor(ws[s : s + batch], code)) for s in range(0, len(ws), batch)])
        delta = (after - before).numpy()
        j = AU_INDEX[code]
        rise = delta[:, j]
        mean, sem = float(rise.mean()), float(stats.sem(rise))
        lo, hi = stats.t.interval(0.95, len(rise) - 1, loc=mean, scale=sem) if sem > 0 else (mean, mean)
        ad = attribute_dependency(before, after, [code], std)
        rows.append({"AU": code, "rise": mean, "ci_low": lo, "ci_high": hi,
                     "leakage": float(np.abs(np.delete(delta, j, axis=1)).mean()),
                     "target_sd": float(ad["target_change_sd"].mean()), "mean_ad": float(ad["mean_ad"].mean()),
                     "max_ad": float(ad["max_ad"].mean())})  # fmt: skip
    return pd.DataFrame(rows)


def markdown(results: dict[str, pd.DataFrame]) -> str:
    """Two tables, a row per AU: the rise [95 % CI] per method; then leakage / mean-AD / max-AD per method."""
    methods = list(results)
    rise = ["| AU | " + " | ".join(methods) + " |", "|---|" + "---:|" * len(methods)]
    spill = ["| AU | " + " | ".join(f"{m}: leak / mean-AD / max-AD" for m in methods) + " |", "|---|" + "---:|" * len(methods)]
    for i, code in enumerate(AU_CODES):
        rows = [results[m].iloc[i] for m in methods]
        rise.append(f"| {code} | " + " | ".join(f"{r.rise:+.2f} [{r.ci_low:+.2f}, {r.ci_high:+.2f}]{'' if r.ci_low > 0 else ' ✗'}"
                                                for r in rows) + " |")  # fmt: skip
        spill.append(f"| {code} | " + " | ".join(f"{r.leakage:.3f} / {r.mean_ad:.3f} / {r.max_ad:.2f}" for r in rows) + " |")
    rise.append("| **CI > 0; mean** | " + " | ".join(f"**{(f.ci_low > 0).sum()}/16**; {f.rise.mean():+.2f}" for f in results.values()) + " |")
    spill.append("| **mean** | " + " | ".join(f"{f.leakage.mean():.3f} / {f.mean_ad.mean():.3f} / {f.max_ad.mean():.2f}"
                                             for f in results.values()) + " |")  # fmt: skip
    return "\n".join(rise) + "\n\n" + "\n".join(spill)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0, help="first seed of the edited faces")
    parser.add_argument("--change", type=float, default=2.0)
    parser.add_argument("--reference", type=int, default=200, help="generated faces for the AUs' std (AD)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--csv", help="also write the per-AU rows of every method here")
    parser.add_argument("--no-ablation", action="store_true", help="skip InterFaceGAN fitted in all of W (no PCA)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    from aufx.defaults import DEFAULT_MODEL
    from aufx.edit.engine import EditingModel

    start, cpu = time.time(), time.process_time()
    model = EditingModel.load(DEFAULT_MODEL, analyzer="synthfacs")
    capped: set[str] = set()
    model.on_linear_cap = lambda aus, faces, cap: capped.update(aus)  # reported once below, not per batch
    ws = model.latents_from_seeds(range(args.seed, args.seed + args.faces), truncation_psi=1.0)
    reference = model.latents_from_seeds(range(10_000, 10_000 + args.reference), truncation_psi=1.0)
    with torch.no_grad():
        before = torch.cat([model.analyze_aus(model.synthesize(ws[s : s + 25])) for s in range(0, len(ws), 25)])
        std = torch.cat([model.analyze_aus(model.synthesize(reference[s : s + 25])) for s in range(0, len(reference), 25)]).std(dim=0)
    results = {}
    for name, editor in editors(model, args.change, not args.no_ablation).items():
        t0 = time.time()
        results[name] = measure(model, editor, ws, before, std)
        f = results[name]
        print(f"{name}: CI > 0 for {(f.ci_low > 0).sum()}/16 AUs, mean rise {f.rise.mean():+.2f}, "
              f"leakage {f.leakage.mean():.3f}, mean-AD {f.mean_ad.mean():.3f} ({time.time() - t0:.0f} s)", flush=True)  # fmt: skip
    print()
    print(f"+{args.change:g} edits of each AU on {args.faces} faces (seeds {args.seed}–{args.seed + args.faces - 1}, ψ 1), "
          f"analyzer rises; AD std over {args.reference} generated faces")  # fmt: skip
    print(markdown(results))
    if capped:
        print(f"\naufx global-linear: steps of {', '.join(sorted(capped))} were shortened to the engine's cap on some faces")
    if args.csv:
        pd.concat([f.assign(method=m) for m, f in results.items()]).to_csv(args.csv, index=False)
    met = {m: int((f.ci_low > 0).sum()) for m, f in results.items() if m in ("interfacegan", "interfacegan (hold others)", "stylespace")}
    print(f"\ngoal (CI > 0 for >= {GOAL_AUS}/16 AUs): " + ", ".join(f"{m} {'met' if k >= GOAL_AUS else 'NOT met'} ({k}/16)" for m, k in met.items()))
    print(f"{time.time() - start:.0f} s wall, {time.process_time() - cpu:.0f} CPU-s, {args.threads} threads")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
