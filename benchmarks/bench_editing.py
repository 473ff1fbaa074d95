"""Editing engine: speed ratios, editor R², local vs global editing, Fig. 4 and Table 1 checks.

    python benchmarks/bench_editing.py --model synthfacs128                    # everything (needs the
        # bundled generator, analyzer.pt, synthfacs128_editor.pt and synthfacs128_regions.*)
    python benchmarks/bench_editing.py --speed-only --random-architecture     # speed of the bundled
        # architecture (64 px, channel_base 4096, channel_max 128, w_dim 512) with random weights

Speed (one thread, process CPU time, operations interleaved round-robin, median of --repeats):
a generator forward (W -> image); a linear edit (w + Σ λ n_au, then a forward); activation
multiplexing (Eq. 7) given the original's prefix (as in ``aufx edit``, where the original is
rendered anyway) and from scratch; one masked-optimisation step (Eq. 3–6, forward + backward), on
one face and per face of a batch of 4.

Quality (on --faces faces × 16 AUs, each AU raised by --change from the face's predicted value,
clamped to 5): global-opt, local-mux (the paper's Eq. 7, and beyond it with a feathered mask
and with the blended suffix of ``aufx.edit.local``), and local-opt (on --opt-faces faces), measured by the
analyzer on the original and the edited face: target-AU change, off-target leakage, pixel change
outside the AU's region (aufx.edit.au_parts; on the original, the part map of its true scene when
the generator is distilled from SynthFACS, whose faces' true AUs also calibrate the analyzer), and the local/global ratios the paper's claim is about. Fig. 4: Spearman ρ
of the direction correlations vs SynthFACS's AU correlation. Table 1: whether each AU's top
cluster by Eq. 9's R lies in the AU's parts (data-driven), beside the AU -> cluster dictionary.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aufx.aus import AU_CODES, AU_INDEX  # noqa: E402
from aufx.defaults import DEFAULT_MODEL  # noqa: E402
from aufx.edit.au_parts import AU_GROUP, AU_PARTS, region_mask  # noqa: E402
from aufx.edit.local import (  # noqa: E402
    global_prefix,
    local_losses_per_face,
    multiplex,
    original_prefix,
)

#: Faces in the batched masked-optimisation step of the speed table.
BATCH = 4


def cpu_timer(fn, repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        t0 = time.process_time()
        fn()
        times.append(time.process_time() - t0)
    return times


def speed(generator, directions_vectors: torch.Tensor, repeats: int, layer: str = "b32.conv1") -> dict[str, float]:
    """Median CPU seconds of each operation on one face (interleaved rounds)."""
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        w = generator.mapping(torch.randn(1, generator.z_dim, generator=g))[:, 0]
    n_edit = directions_vectors[AU_INDEX["AU12"]] * 2.0
    w_global = w + n_edit
    h = generator.synthesis.layer_shapes()[layer][1]
    mask = torch.zeros(1, 1, h, h)
    mask[..., h // 2 :, h // 4 : 3 * h // 4] = 1
    cache = original_prefix(generator, w, layer)
    image_orig = generator.synthesis(w)
    big_mask = torch.nn.functional.interpolate(mask, size=image_orig.shape[-2:], mode="nearest")

    def masked_step_from(w_start: torch.Tensor) -> Callable[[], None]:
        """One step of Eq. 3–6 (masked_optimization's: the faces' losses summed) from faces ``w_start``."""
        with torch.no_grad():
            i_orig, i_global = generator.synthesis(w_start), generator.synthesis(w_start + n_edit)
        w_opt = (w_start + n_edit).requires_grad_(True)
        opt = torch.optim.Adam([w_opt], lr=0.01)

        def step() -> None:
            with torch.enable_grad():
                l_edit, l_const = local_losses_per_face(generator.synthesis(w_opt), i_global, i_orig, big_mask)
                opt.zero_grad()
                (l_edit + l_const).sum().backward()
                opt.step()

        return step

    with torch.no_grad():  # the same step on BATCH faces at once: its time is reported per face
        w_batch = generator.mapping(torch.randn(BATCH, generator.z_dim, generator=g))[:, 0]

    ops = {
        "forward": lambda: generator.synthesis(w),
        "linear edit": lambda: generator.synthesis(w + n_edit),
        "multiplex (original prefix given)": lambda: multiplex(generator, w, w_global, mask=mask, cache=cache),
        "multiplex (from scratch)": lambda: multiplex(generator, w, w_global, mask=mask),
        "multiplex, blended suffix (original prefix given)": lambda: multiplex(
            generator, w, w_global, mask=mask, cache=cache, suffix="blend"
        ),
        "global prefix only": lambda: global_prefix(generator, w_global, layer),
        "masked optimisation step": masked_step_from(w),
        f"masked optimisation step, per face of a batch of {BATCH}": masked_step_from(w_batch),
    }
    per_face = {f"masked optimisation step, per face of a batch of {BATCH}": BATCH}
    samples: dict[str, list[float]] = {k: [] for k in ops}
    with torch.no_grad():
        for fn in ops.values():  # warm up
            fn()
        for _ in range(repeats):
            for name, fn in ops.items():
                samples[name] += cpu_timer(fn, 1)
    return {k: statistics.median(v) / per_face.get(k, 1) for k, v in samples.items()}


def generated_au_correlation(model, analyzer, n: int, seed: int, batch: int = 100):
    """16×16 Pearson correlation of the analyzer's AUs on ``n`` generated faces (seeds ``seed..``):
    the co-occurrence the generator actually produces, which bounds what directions learned from
    its faces can show in Fig. 4."""
    import pandas as pd

    from aufx.edit.analyzer import analyze

    aus = []
    for start in range(seed, seed + n, batch):
        ws = model.latents_from_seeds(range(start, min(start + batch, seed + n)))
        aus.append(analyze(analyzer, model.synthesize(ws)).aus)
    values = torch.cat(aus).double().numpy()
    return pd.DataFrame(np.corrcoef(values.T), index=list(AU_CODES), columns=list(AU_CODES))


METRICS = ("target", "leak", "outside")


def goal_ratios(local, ref) -> dict:  # type: ignore[no-untyped-def]
    """Kept target change, out-of-region cut and leakage cut of ``local`` against ``ref`` (mean
    ``target``, ``outside`` and ``leak`` each; floats or pandas Series alike), as fractions."""
    return {"kept": local["target"] / ref["target"], "out-cut": 1 - local["outside"] / ref["outside"],
            "leak-cut": 1 - local["leak"] / ref["leak"]}  # fmt: skip


def per_au_goals(rows: dict, methods: tuple[str, ...] = ("local-mux", "local-opt")):
    """Per AU and method: kept target change, out-of-region cut and leakage cut against global-opt on
    the same faces (local-opt runs on fewer faces), as fractions; ``[16, 3 * len(methods)]`` frame."""
    import pandas as pd

    frames = {m: pd.DataFrame(rows[m]).set_index(["au", "face"]) for m in ("global-opt", *methods) if rows[m]["au"]}
    g = frames["global-opt"]
    table = {}
    for method in methods:
        if method not in frames:
            continue
        local = frames[method].groupby(level="au").mean()
        ref = g.loc[frames[method].index].groupby(level="au").mean()
        for name, ratio in goal_ratios(local, ref).items():
            table[(method, name)] = ratio
    return pd.DataFrame(table).reindex([c for c in AU_CODES if c in g.index.get_level_values("au")])


def true_parts(model, seeds: range):  # type: ignore[no-untyped-def]
    """Part maps [N, R, R] of the originals' true scenes (the renderer's, at the generator's
    resolution) for a generator distilled from SynthFACS, else ``None`` (the analyzer's are used)."""
    from aufx.synthfacs import render

    scenes = model.true_scenes(seeds)
    if scenes is None:
        return None
    return render(scenes.aus, scenes.identity, size=model.generator.img_resolution, with_parts=True).parts


def instrument_check(model, analyzer, seeds: range) -> None:  # type: ignore[no-untyped-def]
    """Print how well the analyzer reads the originals against their true AUs (distilled generators):
    the instrument of every AU change below, which reads both the original and the edited face."""
    from aufx.edit.analyzer import analyze

    scenes = model.true_scenes(seeds)
    if scenes is None:
        print("\nNo ground truth for these faces (generator not distilled from SynthFACS, or ψ ≠ 1).")
        return
    read = analyze(analyzer, model.synthesize(model.latents_from_seeds(seeds))).aus.double().numpy()
    truth = scenes.aus.astype(np.float64)
    r = [np.corrcoef(read[:, j], truth[:, j])[0, 1] for j in range(16)]
    print(f"\n## Instrument: the analyzer on the {len(seeds)} originals against their true AUs (params(z))\n")
    print("| | " + " | ".join(AU_CODES) + " | mean |\n|---|" + "---:|" * 17)
    print("| r | " + " | ".join(f"{v:.2f}" for v in r) + f" | {np.nanmean(r):.2f} |")
    bias = (read - truth).mean(axis=0)
    print("| bias | " + " | ".join(f"{v:+.2f}" for v in bias) + f" | {bias.mean():+.2f} |")


def quality(model, analyzer, faces: int, opt_faces: int, change: float, seed: int) -> dict:
    """Per method, AU and face: target-AU change, leakage and out-of-region pixel change. Changes are
    read by the analyzer on both faces (one instrument); the AU's region on the original comes from
    its true scene's part map where the generator is distilled, else from the analyzer."""
    from aufx.edit.analyzer import analyze

    generator = model.generator
    ws = model.latents_from_seeds(range(seed, seed + faces))
    parts_true = true_parts(model, range(seed, seed + faces))
    mux_variants = {  # name -> (suffix, sigma): the paper's Eq. 7, and beyond it feathered / blended
        "local-mux": ("orig", model.sigma),
        "local-mux, σ=1": ("orig", 1.0),
        "local-mux, blend": ("blend", model.sigma),
        "local-mux, blend, σ=1": ("blend", 1.0),
    }
    methods = ("global-opt", *mux_variants, "local-opt")
    rows = {m: {"target": [], "leak": [], "outside": [], "au": [], "face": []} for m in methods}
    for code in AU_CODES:
        if not model.catalog.au_clusters_.get(code):
            print(f"{code}: no clusters in the dictionary, skipped", flush=True)
            continue
        current = model.predict(ws)[:, AU_INDEX[code]]
        targets = (current + change).clamp(max=5.0)
        w_global = torch.cat([
            model.global_edit(ws[i : i + 1], {code: float(targets[i])}, relative=False)[0] for i in range(faces)
        ])  # fmt: skip
        images = {"orig": model.synthesize(ws), "global-opt": model.synthesize(w_global)}
        cache = original_prefix(generator, ws, model.catalog.layer)
        for name, (suffix, sigma) in mux_variants.items():
            images[name] = multiplex(generator, ws, w_global, catalog=model.catalog, aus=[code], sigma=sigma,
                                     cache=cache, suffix=suffix).image  # fmt: skip
        k = min(opt_faces, faces)
        if k:
            images["local-opt"] = model.local_edit(ws[:k], w_global[:k], [code], "opt")[0]
        a = {name: analyze(analyzer, im) for name, im in images.items()}
        parts_o = parts_true if parts_true is not None else a["orig"].parts_at(images["orig"].shape[-1])
        for method in rows:
            if method not in images:
                continue
            m = images[method].shape[0]
            delta = a[method].aus - a["orig"].aus[:m]
            others = [j for j in range(16) if j != AU_INDEX[code]]
            region = region_mask(parts_o[:m], code) | region_mask(a[method].parts_at(parts_o.shape[-1]), code)
            pix = (images[method] - images["orig"][:m]).abs().mean(dim=1)
            rows[method]["target"] += delta[:, AU_INDEX[code]].tolist()
            rows[method]["leak"] += delta[:, others].abs().mean(dim=1).tolist()
            rows[method]["outside"] += (pix * ~region).flatten(1).mean(dim=1).tolist()
            rows[method]["au"] += [code] * m
            rows[method]["face"] += list(range(m))
        print(f"{code}: global target change {np.mean(rows['global-opt']['target'][-faces:]):+.2f}", flush=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--editor", default=None)
    parser.add_argument("--regions", default=None)
    parser.add_argument("--analyzer", default="synthfacs")
    parser.add_argument("--faces", type=int, default=200)
    parser.add_argument("--opt-faces", type=int, default=20, help="faces per AU for local-opt (slow)")
    parser.add_argument("--change", type=float, default=2.0)
    parser.add_argument("--seed", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--speed-only", action="store_true")
    parser.add_argument("--random-architecture", action="store_true", help="bundled architecture, random weights")
    parser.add_argument("--strip", default=None, help="also write a before/after strip PNG (local-mux, +change)")
    parser.add_argument("--strip-aus", default="AU01,AU04,AU12,AU26")
    parser.add_argument("--fig4-faces", type=int, default=1000, help="faces for the mean-gradient directions and the generated AU correlation")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    if args.random_architecture:
        from aufx.gan.networks import Generator, GeneratorConfig

        torch.manual_seed(0)
        generator = Generator(GeneratorConfig(img_resolution=64, channel_base=4096, channel_max=128)).eval().requires_grad_(False)
        vectors = torch.randn(16, generator.w_dim) * 0.1
        model = None
        label = "random weights, bundled architecture (64 px, channel_base 4096, channel_max 128, w_dim 512)"
    else:
        from aufx.edit.engine import EditingModel

        model = EditingModel.load(args.model, args.editor, args.regions, None if args.speed_only else args.analyzer,
                                  need_regions=not args.speed_only or bool(args.strip))  # fmt: skip
        generator, vectors = model.generator, model.directions.vectors
        label = f"model {args.model}"
    t = speed(generator, vectors, args.repeats)
    print(f"## Speed ({label}; {args.threads} thread, median CPU s of {args.repeats} interleaved rounds)\n")
    print("| operation | CPU ms | × forward |\n|---|---:|---:|")
    for name, seconds in t.items():
        print(f"| {name} | {seconds * 1000:.1f} | {seconds / t['forward']:.2f} |")
    if args.strip and model is not None:
        from aufx.edit.figures import save_strip

        w = model.latents_from_seeds([1])
        images, labels = [model.synthesize(w)[0]], ["original"]
        for code in args.strip_aus.split(","):
            images.append(model.edit(w, {code: args.change}, mode="local-mux").image[0])
            labels.append(f"{code} +{args.change:g}")
        print(f"wrote {save_strip(images, args.strip, labels)}")
    if args.speed_only:
        return 0

    from aufx.edit.engine import artefact_paths
    from aufx.edit.global_editor import load_editor

    loaded = load_editor(args.editor or artefact_paths(args.model)[0])
    if loaded.report:
        r2 = loaded.report["r2"]
        print("\n## Global editor held-out R²\n")
        print("| " + " | ".join(AU_CODES) + " | mean |\n|" + "---:|" * 17)
        print("| " + " | ".join(f"{r2[c]:.2f}" for c in AU_CODES) + f" | {np.nanmean(list(r2.values())):.2f} |")

    from aufx.edit.directions import correlation_agreement, direction_correlation
    from aufx.synthfacs import au_correlation

    rho = correlation_agreement(direction_correlation(vectors), au_correlation())
    print(f"\nFig. 4: Spearman ρ(direction correlations, SynthFACS AU correlation) = {rho:.2f} (goal ≥ 0.6)")
    from aufx.edit.directions import jacobian_directions

    n4 = args.fig4_faces
    jacobian = jacobian_directions(model.editor, model.latents_from_seeds(range(args.seed + 60_000, args.seed + 60_000 + n4)))
    print(f"Fig. 4 with mean-gradient directions over {n4:,} faces (jacobian_directions, not in the paper): "
          f"ρ = {correlation_agreement(direction_correlation(jacobian), au_correlation()):.2f}")  # fmt: skip
    generated = generated_au_correlation(model, model.analyzer, n=n4, seed=args.seed + 50_000)
    print(f"Ceiling: ρ(AU correlation of {n4:,} generated faces as the analyzer reads them, SynthFACS AU correlation) "
          f"= {correlation_agreement(generated, au_correlation()):.2f}; ρ(direction correlations, that generated "
          f"AU correlation) = {correlation_agreement(direction_correlation(vectors), generated):.2f}")  # fmt: skip

    catalog = model.catalog
    from aufx.edit.catalog import RegionCatalog
    from aufx.edit.relations import part_check

    arrays = RegionCatalog.load(args.regions or artefact_paths(args.model)[1])[1]
    check = part_check(arrays["r_au_cluster"], catalog, top=4)
    print("\n## Table 1 (Eq. 9: the four face clusters with the largest R per AU, as in the paper)\n")
    print("Check: is the top cluster's dominant part among the AU's parts (aufx.edit.au_parts)? This is")
    print("data-driven. The dictionary below is not: it keeps the clusters named after the AU's parts")
    print("(ordered by R), so its check is true by construction and only shows that such clusters exist.\n")
    dictionary_hits = 0
    for code, row in check.iterrows():
        ids = catalog.au_clusters_.get(code, [])
        dictionary_hits += bool(ids) and catalog.dominant_part(ids[0]) in AU_PARTS[code]
        print(f"- {code} ({AU_GROUP[code]}): {', '.join(catalog.cluster_names_[k] for k in row.clusters)} "
              f"{'✓' if row.top1_in_parts else '✗'}; dictionary: {', '.join(catalog.cluster_names_[k] for k in ids) or 'none'}")  # fmt: skip
    print(f"Eq. 9 top cluster in the AU's parts: {int(check.top1_in_parts.sum())}/16 AUs (expected by chance, "
          f"ranking the face clusters at random: {check.top1_chance.sum():.1f}); one of the top 4: "
          f"{int(check.any_in_parts.sum())}/16 (chance {check.any_chance.sum():.1f}); dictionary: {dictionary_hits}/16 "
          "(by construction)")  # fmt: skip

    instrument_check(model, model.analyzer, range(args.seed, args.seed + args.faces))
    rows = quality(model, model.analyzer, args.faces, args.opt_faces, args.change, args.seed)
    g = {k: float(np.mean(rows["global-opt"][k])) for k in METRICS}
    print(f"\n## Local vs global ({args.faces} faces × 16 AUs, +{args.change:g}; local-opt on {args.opt_faces} faces per AU)\n")
    print("| method | target-AU change | leakage | out-of-region pixel change | kept target change | out-of-region cut | leakage cut |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for method, values in rows.items():
        if not values["target"]:
            continue
        m = {k: float(np.mean(values[k])) for k in METRICS}
        r = goal_ratios(m, g)
        print(f"| {method} | {m['target']:+.3f} | {m['leak']:.3f} | {m['outside']:.4f} | {r['kept']:.0%} | "
              f"{r['out-cut']:.0%} | {r['leak-cut']:.0%} |")  # fmt: skip
    print_per_au(per_au_goals(rows))
    return 0


def print_per_au(table) -> None:  # type: ignore[no-untyped-def]
    """The per-AU goals table (Markdown) and how many AUs meet all three goals per method."""
    methods = list(dict.fromkeys(m for m, _ in table.columns))
    print("\n## Per AU: kept target change / out-of-region cut / leakage cut against global-opt on the same faces\n")
    print("| AU | " + " | ".join(methods) + " |\n|---|" + "---:|" * len(methods))
    for code, row in table.iterrows():
        cells = [f"{row[(m, 'kept')]:.0%} / {row[(m, 'out-cut')]:.0%} / {row[(m, 'leak-cut')]:.0%}" for m in methods]
        print(f"| {code} | " + " | ".join(cells) + " |")
    for m in methods:
        ok = (table[(m, "kept")] >= 0.8) & (table[(m, "out-cut")] >= 0.5) & (table[(m, "leak-cut")] >= 0.3)
        print(f"{m}: all three goals met for {int(ok.sum())}/{len(table)} AUs ({', '.join(ok.index[ok]) or 'none'})")


if __name__ == "__main__":
    sys.exit(main())
