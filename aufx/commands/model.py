"""``aufx model info``, ``aufx model quality`` and ``aufx generate``: inspect a generator, measure it
against SynthFACS (:mod:`aufx.gan.quality`), sample faces by seed.

Seeds mean what they mean in NVIDIA's ``generate.py``: z = ``np.random.RandomState(seed).randn(1,
z_dim)``, constant noise, truncation ``psi`` around w_avg, and the same float -> uint8 conversion,
so an NVIDIA pickle gives the same faces for the same seeds and psi.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

from aufx.defaults import DEFAULT_MODEL

MAX_SEED = 2**32 - 1
NOISE_MODES = ("const", "random", "none")


def parse_seeds(text: str) -> list[int]:
    """``'0-7'`` -> [0..7]; ``'1,3,5-9'`` -> [1, 3, 5, 6, 7, 8, 9]. Raises ValueError naming the bad part."""
    seeds: list[int] = []
    parts = text.split(",")
    for part in parts:
        part = part.strip()
        match = re.fullmatch(r"(\d+)(?:-(\d+))?", part)
        if not match:
            raise ValueError(f"bad seed list {text!r}: {part!r} is not a seed or a range like 0-7")
        lo = int(match.group(1))
        hi = int(match.group(2)) if match.group(2) is not None else lo
        if hi < lo:
            raise ValueError(f"bad seed range {part!r}: end {hi} is before start {lo}")
        if hi > MAX_SEED:
            raise ValueError(f"bad seed {hi}: seeds must be in 0..{MAX_SEED}")
        if hi - lo >= 100_000:
            raise ValueError(f"seed range {part!r} is too long ({hi - lo + 1} seeds; at most 100000)")
        seeds.extend(range(lo, hi + 1))
    return seeds


def _seeds_argument(text: str) -> list[int]:
    try:
        return parse_seeds(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def register(subparsers: argparse._SubParsersAction) -> None:
    model = subparsers.add_parser("model", help="inspect a generator (bundled name or .pkl/.pt path)")
    model_sub = model.add_subparsers(dest="model_command", metavar="ACTION")
    model_sub.required = True
    info = model_sub.add_parser("info", help="format, resolution, latent sizes, layer names and shapes")
    info.add_argument("model", metavar="MODEL", help="bundled name (e.g. synthfacs128) or path to .pkl/.pt")
    info.add_argument("--json", action="store_true", help="print a JSON object instead of text")
    info.set_defaults(handler=run_info)
    quality = model_sub.add_parser(
        "quality", help="Fréchet distance, AU marginals and diversity vs SynthFACS renders; sample grid",
        description="Measure a SynthFACS generator with the face analyzer (aufx.gan.quality): FD of analyzer "
                    "features, generated vs N renders and renders vs renders (floor), per-AU marginals (CSV, "
                    "PNG), identity diversity; writes a sample grid and prints Markdown tables.",
    )  # fmt: skip
    quality.add_argument("model", metavar="MODEL", help="bundled name (e.g. synthfacs128) or path to .pkl/.pt")
    quality.add_argument("--n", type=int, default=10_000, help="faces per set (default 10000; 3 sets)")
    quality.add_argument("--seed", type=int, default=0, help="seed of generated z and of the render sets (0..499)")
    quality.add_argument("--batch", type=int, default=50, help="generated faces per forward pass (default 50)")
    quality.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    quality.add_argument("--out", type=Path, default=None, metavar="DIR",
                         help="quality.json, au_marginals.csv/.png, samples.png (default quality/<model>)")  # fmt: skip
    quality.add_argument("--grid", type=Path, default=None, metavar="PNG",
                         help="also write the sample grid (seeds 0-31, psi 1 and 0.7) here")  # fmt: skip
    quality.add_argument("--json", type=Path, default=None, metavar="FILE",
                         help="also write quality.json here (e.g. beside the export, for its model card)")  # fmt: skip
    quality.add_argument("--analyzer", type=Path, default=None, metavar="FILE", help="analyzer weights (default: bundled)")
    quality.add_argument("--no-progress", action="store_true", help="no progress bar")
    quality.set_defaults(handler=run_quality)
    half = model_sub.add_parser(
        "half", help="write an aufx copy with float16 weights, if its images stay within one 8-bit level",
        description="Store a generator's weights as float16 (half the file, for bundling). Measures the images of "
                    "the float16 copy against the original on --faces latents and refuses when any 8-bit value "
                    "moves by more than --max-levels.",
    )  # fmt: skip
    half.add_argument("model", metavar="MODEL", help="bundled name or path to .pkl/.pt")
    half.add_argument("out", type=Path, metavar="OUT.pt", help="aufx file to write (metadata kept, gap added)")
    half.add_argument("--faces", type=int, default=256, help="latents measured (default 256)")
    half.add_argument("--max-levels", type=int, default=1, help="largest 8-bit difference allowed (default 1)")
    half.set_defaults(handler=run_half)

    gen = subparsers.add_parser("generate", help="images from seeds (as NVIDIA's generate.py)")
    gen.add_argument("--model", required=True, metavar="MODEL", help="bundled name or path to .pkl/.pt")
    gen.add_argument("--seeds", required=True, type=_seeds_argument, metavar="LIST", help="e.g. 0-7 or 1,3,5-9")
    gen.add_argument("--out", required=True, type=Path, metavar="DIR", help="output folder")
    gen.add_argument("--psi", type=float, default=0.7, help="truncation psi (default 0.7)")
    gen.add_argument("--noise-mode", choices=NOISE_MODES, default="const", help="noise inputs (default const)")
    gen.add_argument("--class", dest="class_idx", type=int, default=None, help="class label (conditional models)")
    gen.add_argument(
        "--batch", type=int, default=1,
        help="seeds per forward pass (default 1, as NVIDIA's script: bit-identical pixels; larger "
             "batches are faster and may differ by 1/255 in a few pixels)",
    )  # fmt: skip
    gen.add_argument("--grid-cols", type=int, default=None, help="columns of grid.png (default ~sqrt(N))")
    gen.set_defaults(handler=run_generate)

    inv = subparsers.add_parser("invert", help="project aligned face images into W (or W+)")
    inv.add_argument("images", nargs="+", type=Path, metavar="IMAGE", help="aligned face images")
    inv.add_argument("--model", default=DEFAULT_MODEL, metavar="MODEL", help=f"bundled name or path (default {DEFAULT_MODEL})")
    inv.add_argument("--out", required=True, type=Path, metavar="FILE.npz", help="latents file to write")
    inv.add_argument("--steps", type=int, default=300, help="optimisation steps (default 300)")
    inv.add_argument("--wplus", action="store_true", help="optimise one w per layer (W+) instead of one w")
    inv.add_argument("--noise", choices=("const", "optimize"), default="const",
                     help="keep the generator's constant noise (default) or also fit noise maps")  # fmt: skip
    inv.add_argument("--seed", type=int, default=0, help="seed of the optimiser's randomness")
    inv.add_argument("--recon", type=Path, default=None, metavar="DIR", help="also write the reconstructions here")
    inv.add_argument("--features", choices=("auto", "analyzer", "none"), default="auto",
                     help="feature loss from the face analyzer (auto: when its weights are installed)")  # fmt: skip
    inv.add_argument("--analyzer", type=Path, default=None, metavar="FILE",
                     help="analyzer weights for the feature loss (default: the bundled analyzer)")  # fmt: skip
    inv.set_defaults(handler=run_invert)


def describe(loaded) -> dict:
    """A JSON-friendly description of a loaded model (what ``model info`` prints)."""
    from aufx.gan.networks import PAPER_LAYER

    generator = loaded.generator
    synthesis = generator.synthesis
    shapes = synthesis.layer_shapes()
    layers = []
    for name in synthesis.layer_names:
        c, h, w = shapes[name]
        if name.endswith("torgb"):
            c = generator.img_channels
        layers.append({"name": name, "shape": [c, h, w], "w_index": synthesis.w_index(name),
                       "paper_7th_layer": name == PAPER_LAYER})  # fmt: skip
    return {
        "source": loaded.source,
        "format": loaded.format,
        "config": generator.config.to_dict(),
        "num_ws": generator.num_ws,
        "layers": layers,
        "metadata": loaded.metadata,
    }


def run_half(args: argparse.Namespace) -> int:
    from aufx.gan.checkpoint import save_aufx
    from aufx.gan.half import half_precision_gap
    from aufx.gan.loaders import load_generator

    loaded = load_generator(args.model)
    gap = half_precision_gap(loaded.generator, n=args.faces)
    print(f"float16 copy vs {loaded.source} on {args.faces} faces: max |diff| {gap['max_abs']:.5f} on [-1, 1], "
          f"{gap['changed_share']:.2%} of 8-bit values change, by at most {gap['max_levels']:g} level(s)")  # fmt: skip
    if gap["max_levels"] > args.max_levels:
        raise ValueError(f"{loaded.source}: float16 weights move 8-bit values by {gap['max_levels']:g} levels "
                         f"(> --max-levels {args.max_levels}); keep float32")  # fmt: skip
    metadata = {**loaded.metadata, "weights_dtype": "float16", "float16_gap": {**gap, "faces": args.faces}}
    print(f"wrote {save_aufx(loaded.generator, args.out, metadata, half=True)}")
    return 0


def run_info(args: argparse.Namespace) -> int:
    from aufx.gan.loaders import load_generator

    info = describe(load_generator(args.model))
    if args.json:
        print(json.dumps(info, indent=2, default=str))
        return 0
    c = info["config"]
    print(f"model       {info['source']}")
    print(f"format      {info['format']}")
    print(f"resolution  {c['img_resolution']}x{c['img_resolution']}, {c['img_channels']} channels")
    print(f"z_dim       {c['z_dim']}   w_dim {c['w_dim']}   c_dim {c['c_dim']}   num_ws {info['num_ws']}")
    print(f"mapping     {c['mapping_layers']} layers, lr multiplier {c['mapping_lr_multiplier']}")
    print(f"channels    min({c['channel_base']} // res, {c['channel_max']}), conv_clamp {c['conv_clamp']}")
    print("layers      name          activation C×H×W   w index")
    for layer in info["layers"]:
        shape = "×".join(map(str, layer["shape"]))
        note = "   <- the paper's 7th layer" if layer["paper_7th_layer"] else ""
        print(f"            {layer['name']:<13} {shape:<18} {layer['w_index']:>3}{note}")
    if not any(layer["paper_7th_layer"] for layer in info["layers"]):
        print("            (no b32.conv1: the paper's 7th layer needs a resolution of at least 32)")
    return 0


def run_generate(args: argparse.Namespace) -> int:
    import torch
    from tqdm import tqdm

    from aufx.gan.loaders import load_generator
    from aufx.gan.seeds import seed_latents
    from aufx.imageio import save_grid, save_image

    if args.batch < 1:
        raise ValueError(f"--batch must be at least 1, got {args.batch}")
    loaded = load_generator(args.model)
    generator = loaded.generator
    label = None
    if generator.c_dim > 0:
        if args.class_idx is None or not 0 <= args.class_idx < generator.c_dim:
            raise ValueError(f"{loaded.source} is conditional: give --class in 0..{generator.c_dim - 1}")
        label = torch.zeros(1, generator.c_dim)
        label[0, args.class_idx] = 1
    elif args.class_idx is not None:
        raise ValueError(f"{loaded.source} is unconditional: --class does not apply")
    args.out.mkdir(parents=True, exist_ok=True)
    images = []
    seeds = args.seeds
    with torch.no_grad():
        starts = range(0, len(seeds), args.batch)
        for start in tqdm(starts, desc="generate", unit="batch", disable=len(starts) <= 1):
            chunk = seeds[start : start + args.batch]
            z = seed_latents(generator.z_dim, chunk)
            c = label.expand(len(chunk), -1) if label is not None else None
            batch = generator(z, c, truncation_psi=args.psi, noise_mode=args.noise_mode)
            for seed, image in zip(chunk, batch, strict=True):
                save_image(image, args.out / f"seed{seed:04d}.png")
                images.append(image)
    save_grid(torch.stack(images), args.out / "grid.png", nrow=args.grid_cols)
    print(f"wrote {len(seeds)} images and grid.png to {args.out}")
    return 0


def _feature_net(args: argparse.Namespace):
    """The face analyzer's feature pyramid as the projector's feature loss, or ``None``."""
    if args.features == "none":
        return None
    from aufx.au.model import BUNDLED_PATH, FaceAnalyzer

    path = args.analyzer or BUNDLED_PATH
    if not Path(path).is_file():
        if args.features == "analyzer" or args.analyzer is not None:
            raise FileNotFoundError(f"{path}: analyzer weights not found")
        print(f"note: no analyzer weights at {path}; inverting with pixel and gradient losses only")
        return None
    analyzer = FaceAnalyzer.load(path).eval().requires_grad_(False)
    return analyzer.features


def run_invert(args: argparse.Namespace) -> int:
    import numpy as np
    import torch

    from aufx.gan.loaders import load_generator
    from aufx.gan.projector import ProjectorConfig, project, psnr
    from aufx.imageio import load_image, save_image

    if args.out.suffix != ".npz":
        raise ValueError(f"{args.out}: --out must name a .npz file")
    config = ProjectorConfig(steps=args.steps, wplus=args.wplus, noise=args.noise, seed=args.seed)
    feature_net = _feature_net(args)
    loaded = load_generator(args.model)
    size = loaded.generator.img_resolution
    targets = torch.stack([load_image(path, size) for path in args.images])
    result = project(loaded.generator, targets, config, feature_net=feature_net)
    scores = psnr(result.images, targets)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez(
        args.out,
        w=result.ws.numpy().astype(np.float32),  # [N, num_ws, w_dim], as NVIDIA's projector writes
        names=np.array([str(path) for path in args.images]),
        psnr=scores.numpy(),
        wplus=np.array(args.wplus),
        model=np.array(str(args.model)),
    )
    if args.recon is not None:
        for path, image in zip(args.images, result.images, strict=True):
            save_image(image, args.recon / f"{path.stem}_recon.png")
    for path, score in zip(args.images, scores.tolist(), strict=True):
        print(f"{path}: PSNR {score:.2f} dB")
    print(f"wrote {len(args.images)} latents to {args.out}")
    return 0


def _quality_command(args: argparse.Namespace, out: Path) -> str:
    parts = ["aufx model quality", str(args.model), f"--n {args.n}", f"--seed {args.seed}", f"--batch {args.batch}"]
    if args.threads:
        parts.append(f"--threads {args.threads}")
    parts.append(f"--out {out}")
    if args.grid is not None:
        parts.append(f"--grid {args.grid}")
    if args.json is not None:
        parts.append(f"--json {args.json}")
    if args.analyzer is not None:
        parts.append(f"--analyzer {args.analyzer}")
    return " ".join(parts)


def run_quality(args: argparse.Namespace) -> int:
    import os
    import shutil
    import time
    from datetime import UTC, datetime

    import torch

    from aufx.au.model import BUNDLED_PATH, FaceAnalyzer
    from aufx.gan.loaders import load_generator
    from aufx.gan.quality import check_n, measure_quality
    from aufx.gan.quality_figures import plot_au_marginals, sample_grid

    check_n(args.n)
    if args.threads is not None:
        if args.threads < 1:
            raise ValueError(f"--threads must be at least 1, got {args.threads}")
        torch.set_num_threads(args.threads)
    loaded = load_generator(args.model)
    analyzer = FaceAnalyzer.load(args.analyzer or BUNDLED_PATH)
    out = args.out or Path("quality") / Path(str(args.model)).stem
    kimg = loaded.metadata.get("kimg")
    load_before = os.getloadavg()[0]
    wall, cpu = time.perf_counter(), time.process_time()
    report, sets = measure_quality(loaded.generator, analyzer, n=args.n, seed=args.seed, batch=args.batch,
                                   progress=not args.no_progress,
                                   teacher=bool(loaded.metadata.get("scene_map")))  # fmt: skip
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    report.info.update({
        "model": str(args.model), "kimg": kimg, "steps": loaded.metadata.get("steps"),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), "threads": torch.get_num_threads(),
        "wall_seconds": round(wall, 1), "cpu_seconds": round(cpu, 1),
        "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "command": _quality_command(args, out),
    })  # fmt: skip
    out.mkdir(parents=True, exist_ok=True)
    (out / "quality.json").write_text(report.to_json() + "\n")
    report.marginals.to_csv(out / "au_marginals.csv", float_format="%.5f")
    kimg_text = f"{kimg:.1f} kimg" if isinstance(kimg, (int, float)) else "kimg unknown"
    plot_au_marginals(sets["generated"], sets["renders"], out / "au_marginals.png",
                      title=f"{args.model} ({kimg_text}): AU marginals of {args.n} generated faces vs {args.n} renders")  # fmt: skip
    sample_grid(loaded.generator, out / "samples.png")
    if args.grid is not None:
        args.grid.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(out / "samples.png", args.grid)
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(out / "quality.json", args.json)
    info = report.info
    print(f"`{info['command']}`, {info['date']}: `{args.model}` at {kimg_text} ({info['steps']} steps), "
          f"N = {args.n:,} per set, {info['threads']} torch thread(s), {wall:.0f} s wall / {cpu:.0f} s CPU, "
          f"load average {info['load_average'][0]:.1f} → {info['load_average'][1]:.1f}.")  # fmt: skip
    print()
    print(report.markdown())
    print()
    print(f"wrote quality.json, au_marginals.csv, au_marginals.png, samples.png to {out}")
    return 0
