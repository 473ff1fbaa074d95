"""``aufx edit``, ``aufx emotion``, ``aufx transfer``, ``aufx regions``: the editing engine's commands.

    aufx edit --model synthfacs128 --seed 1 --au AU12=+2 --mode local-mux --out x.png
    aufx emotion --model synthfacs128 --seed 1 --emotion happiness --intensity 3 --out happy.png
    aufx transfer --model synthfacs128 --source-seed 1 --target-seed 7 --out t.png
    aufx regions --model synthfacs128 --out regions/

``--au`` values are changes (``AU12=+2``: raise AU12 by 2) unless ``--absolute`` makes them
targets on the 0..5 scale. Each command writes the edited face to ``--out`` and, with
``--compare``, a strip original | global | result.
"""

from __future__ import annotations

import argparse
from pathlib import Path

MODES = ("global-opt", "global-linear", "local-opt", "local-mux")


def _common(parser: argparse.ArgumentParser, source: bool = True) -> None:
    parser.add_argument("--model", required=True, help="generator: bundled name (synthfacs128) or .pkl/.pt path")
    parser.add_argument("--editor", default=None, help="global editor file (default <model>_editor.pt)")
    parser.add_argument("--regions", default=None, help="region catalog (default <model>_regions.json)")
    parser.add_argument("--analyzer", default=None, help="face analyzer (needed for --target IMG)")
    if source:
        group = parser.add_mutually_exclusive_group(required=True)
        group.add_argument("--seed", type=int, help="face of this seed (NVIDIA convention)")
        group.add_argument("--latent", help=".npz with 'w' (first row, or --index), or .npy")
        group.add_argument("--image", help="image to invert with the projector first")
        parser.add_argument("--index", type=int, default=0, help="row of --latent to edit")
    parser.add_argument("--invert-steps", type=int, default=300, help="projector steps for image inputs")
    parser.add_argument("--mode", choices=MODES, default="local-mux")
    parser.add_argument("--psi", type=float, default=1.0, help="truncation for seeds")
    parser.add_argument("--steps", type=int, default=None, help="optimisation steps (global; local-opt uses --local-steps)")
    parser.add_argument("--lr", type=float, default=None, help="learning rate of the global optimisation")
    parser.add_argument("--local-steps", type=int, default=None)
    parser.add_argument("--sigma", type=float, default=0.0, help="feather the local mask (layer pixels)")
    parser.add_argument("--mux-suffix", choices=("orig", "global", "blend"), default="orig",
                        help="local-mux: what styles the layers after the cut: orig (the paper), global, or "
                             "blend (both, blended by the mask at every later layer)")  # fmt: skip
    parser.add_argument("--out", required=True, help="output PNG")
    parser.add_argument("--compare", default=None, help="also write original | global | result as PNG")
    parser.add_argument("--save-latent", default=None, help="write w_global (and w_local) as .npz")


def register(subparsers: argparse._SubParsersAction) -> None:
    edit = subparsers.add_parser("edit", help="edit facial action units of a face", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    _common(edit)
    edit.add_argument("--au", action="append", required=True, metavar="AU=VALUE", help="e.g. AU12=+2 (repeatable)")
    edit.add_argument("--absolute", action="store_true", help="AU values are targets on 0..5, not changes")
    edit.add_argument("--orthogonal", action="store_true", help="global-linear: orthogonalised directions (Fig. 5)")
    edit.set_defaults(handler=run_edit)

    emotion = subparsers.add_parser("emotion", help="edit a face to an EMFACS emotion prototype")
    _common(emotion)
    emotion.add_argument("--emotion", required=True, help="happiness, sadness, surprise, fear, anger, disgust, contempt")
    emotion.add_argument("--intensity", type=float, default=3.0, help="AU intensity of the prototype (0..5)")
    emotion.set_defaults(handler=run_emotion)

    transfer = subparsers.add_parser("transfer", help="transfer the expression of a target face to a source face")
    _common(transfer, source=False)
    src = transfer.add_mutually_exclusive_group(required=True)
    src.add_argument("--source", help="source image (inverted with the projector)")
    src.add_argument("--source-seed", type=int)
    tgt = transfer.add_mutually_exclusive_group(required=True)
    tgt.add_argument("--target", help="target image (AUs from the face analyzer)")
    tgt.add_argument("--target-seed", type=int, help="target face of a seed (AUs from the editor)")
    transfer.add_argument("--min-change", type=float, default=0.5, help="local modes: AUs changing less are left out")
    transfer.set_defaults(handler=run_transfer)

    regions = subparsers.add_parser("regions", help="Table 1, cluster maps, Fig. 4 and Fig. 6 of a model")
    regions.add_argument("--model", required=True)
    regions.add_argument("--editor", default=None)
    regions.add_argument("--regions", default=None)
    regions.add_argument("--faces", type=int, default=4, help="faces shown in the cluster maps")
    regions.add_argument("--seed", type=int, default=0)
    regions.add_argument("--out", required=True, help="output directory")
    regions.set_defaults(handler=run_regions)


# ---------------------------------------------------------------------------- helpers
def _load(args: argparse.Namespace, need_regions: bool):
    from aufx.edit.engine import EditingModel

    model = EditingModel.load(args.model, args.editor, args.regions, args.analyzer, need_regions=need_regions)
    model.truncation_psi = args.psi
    model.sigma = args.sigma
    model.mux_suffix = args.mux_suffix
    if args.steps is not None:
        if args.steps < 0:
            raise ValueError(f"--steps must be >= 0, got {args.steps}")
        model.opt_steps = args.steps
    if args.lr is not None:
        if args.lr <= 0:
            raise ValueError(f"--lr must be positive, got {args.lr}")
        model.opt_lr = args.lr
    if args.local_steps is not None:
        model.local_steps = args.local_steps
    return model


def read_latent(path: str, index: int = 0):
    """w [1, w_dim] or W+ [1, L, w_dim] from an ``.npz`` (array ``w``) or ``.npy`` file."""
    import numpy as np
    import torch

    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{p}: no such latent file")
    try:
        if p.suffix == ".npy":
            w = np.load(p, allow_pickle=False)
        else:
            with np.load(p, allow_pickle=False) as data:
                if "w" not in data.files:
                    raise ValueError(f"{p}: no array 'w' (found {', '.join(data.files) or 'none'})")
                w = data["w"]
    except (OSError, EOFError) as error:
        raise ValueError(f"{p}: not a readable .npz/.npy latent file ({error})") from None
    w = torch.from_numpy(np.asarray(w, dtype=np.float32))
    if w.ndim == 1:  # one W
        w = w.reshape(1, -1)
    if w.ndim not in (2, 3):
        raise ValueError(f"{p}: 'w' must be [N, w_dim] or [N, num_ws, w_dim], got {list(w.shape)}")
    if not 0 <= index < w.shape[0]:
        raise ValueError(f"{p}: --index {index} outside 0..{w.shape[0] - 1}")
    return w[index : index + 1]


def invert_image(model, path: str, steps: int = 300):
    """Invert an image with aufx's projector (W mode): w [1, w_dim]."""
    from aufx.gan.projector import ProjectorConfig, project
    from aufx.imageio import load_image

    image = load_image(path, size=model.generator.img_resolution)[None]
    result = project(model.generator, image, ProjectorConfig(steps=steps), progress=False)
    return result.w


def _source(model, args: argparse.Namespace):
    if getattr(args, "seed", None) is not None:
        return model.latents_from_seeds([args.seed])
    if getattr(args, "latent", None):
        w = read_latent(args.latent, args.index)
    else:
        w = invert_image(model, args.image, args.invert_steps)
    if w.shape[-1] != model.generator.w_dim:
        raise ValueError(f"latent has {w.shape[-1]} dims but the model's W has {model.generator.w_dim}")
    return w


def _write(outcome, args: argparse.Namespace, label: str) -> None:
    import numpy as np

    from aufx.aus import AU_CODES
    from aufx.edit.figures import save_strip
    from aufx.imageio import save_image

    print(f"wrote {save_image(outcome.image[0], args.out)}")
    if args.compare:
        save_strip([outcome.image_orig[0], outcome.image_global[0], outcome.image[0]], args.compare, ["original", "global", label])
        print(f"wrote {args.compare}")
    if args.save_latent:
        arrays = {"w_orig": outcome.w_orig.numpy(), "w": outcome.w_global.numpy()}
        if outcome.w_local is not None:
            arrays["w_local"] = outcome.w_local.numpy()
        Path(args.save_latent).parent.mkdir(parents=True, exist_ok=True)
        with open(args.save_latent, "wb") as handle:
            np.savez(handle, **arrays)
        print(f"wrote {args.save_latent}")
    before, after, target = outcome.predicted_before[0], outcome.predicted_after[0], outcome.target[0]
    moved = [i for i in range(len(AU_CODES)) if abs(float(target[i] - before[i])) > 1e-6]
    for i in moved:
        print(f"{AU_CODES[i]}: predicted {float(before[i]):.2f} -> {float(after[i]):.2f} (target {float(target[i]):.2f})")


# ---------------------------------------------------------------------------- handlers
def run_edit(args: argparse.Namespace) -> int:
    from aufx.aus import parse_au_assignments

    changes = parse_au_assignments(args.au)  # validates names before any model loads
    model = _load(args, need_regions=args.mode.startswith("local-"))
    w = _source(model, args)
    outcome = model.edit(w, changes, mode=args.mode, relative=not args.absolute, orthogonal=args.orthogonal)
    _write(outcome, args, args.mode)
    return 0


def run_emotion(args: argparse.Namespace) -> int:
    from aufx.aus import emotion_targets
    from aufx.edit.transfer import edit_emotion

    emotion_targets(args.emotion, args.intensity)  # validate first
    model = _load(args, need_regions=args.mode.startswith("local-"))
    outcome = edit_emotion(model, _source(model, args), args.emotion, args.intensity, args.mode)
    _write(outcome, args, f"{args.emotion} {args.intensity:g}")
    return 0


def run_transfer(args: argparse.Namespace) -> int:
    from aufx.edit.transfer import transfer_expression
    from aufx.imageio import load_image

    if args.target is not None and args.analyzer is None:
        args.analyzer = "synthfacs"  # the target image's AUs come from the (bundled) analyzer
    model = _load(args, need_regions=args.mode.startswith("local-"))
    w_source = model.latents_from_seeds([args.source_seed]) if args.source_seed is not None else invert_image(model, args.source, args.invert_steps)
    if args.target_seed is not None:
        outcome = transfer_expression(model, w_source, w_target=model.latents_from_seeds([args.target_seed]), mode=args.mode, min_change=args.min_change)
    else:
        image = load_image(args.target, size=model.generator.img_resolution)[None]
        outcome = transfer_expression(model, w_source, image_target=image, mode=args.mode, min_change=args.min_change)
    _write(outcome, args, "transfer")
    return 0


def run_regions(args: argparse.Namespace) -> int:
    from aufx.edit.catalog import RegionCatalog
    from aufx.edit.directions import direction_correlation, save_correlation
    from aufx.edit.engine import EditingModel, artefact_paths
    from aufx.edit.figures import plot_cluster_maps, plot_relevant_channels, save_table1
    from aufx.edit.regions import capture_activations, sample_ws
    from aufx.edit.relations import table1

    if args.faces <= 0:
        raise ValueError(f"--faces must be positive, got {args.faces}")
    model = EditingModel.load(args.model, args.editor)
    regions_path = args.regions or artefact_paths(args.model)[1]
    catalog, arrays = RegionCatalog.load(regions_path)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    ws = sample_ws(model.generator, args.faces, args.seed)
    acts, images = capture_activations(model.generator, ws, catalog.layer, images=True)
    labels = catalog.predict_torch(acts)
    table = None
    if "r_au_cluster" in arrays:
        faces = [k for k in range(catalog.n_clusters) if catalog.face_clusters_[k]]
        table = table1(arrays["r_au_cluster"], catalog.cluster_names_, allowed=faces or None)
        for path in save_table1(table, out):
            print(f"wrote {path}")
    else:
        print(f"{regions_path}: no AU-cluster relation stored (run `aufx train regions`); Table 1 skipped")
    print(f"wrote {plot_cluster_maps(catalog, labels, images, out / 'cluster_maps.png', table)}")
    for path in save_correlation(direction_correlation(model.directions.vectors), out):
        print(f"wrote {path}")
    r_kc = arrays.get("r_cluster_channel")
    if r_kc is None:
        from aufx.edit.regions import region_channel

        r_kc = region_channel(catalog, acts).numpy()
    print(f"wrote {plot_relevant_channels(catalog, r_kc, acts, images, out / 'fig6_channels.png')}")
    import json

    (out / "au_clusters.json").write_text(json.dumps(catalog.au_clusters_, indent=2) + "\n")
    print(f"wrote {out / 'au_clusters.json'}")
    return 0
