"""``aufx train regions``: region catalog, AU–cluster relations (Eq. 8–10) and the AU dictionary.

    aufx train regions --model synthfacs128                     # -> aufx/weights/synthfacs128_regions.{json,npz}
    aufx train regions --model G.pt --editor G_editor.pt --clusters 20 --neutral 180

Fits spherical k-means on ``--layer`` activations of ``--faces`` sampled faces, names the
clusters from the analyzer's part maps, edits ``--neutral`` neutral faces per AU with the global
editor to measure Eq. 8–9 (and Eq. 10 on the fitted faces), and writes the catalog with an
editable AU → clusters dictionary (JSON) beside the model.
"""

from __future__ import annotations

import argparse

from aufx.commands.train_args import add_latent_trainer


def add_parser(train_subparsers: argparse._SubParsersAction) -> None:
    parser = add_latent_trainer(train_subparsers, "regions", "fit the region catalog and AU-cluster relations (Sec. 3.2.1, 4.2)",
                                __doc__, "face analyzer naming the clusters after facial parts ('none': unnamed)")  # fmt: skip
    parser.add_argument("--editor", default=None, help="global editor (default <model>_editor.pt)")
    parser.add_argument("--faces", type=int, default=500, help="faces to fit the clustering on")
    parser.add_argument("--neutral", type=int, default=180, help="neutral faces edited per AU (paper: 180)")
    parser.add_argument("--clusters", type=int, default=20)
    parser.add_argument("--layer", default="b32.conv1")
    parser.add_argument("--intensity", type=float, default=3.0, help="AU target of the per-AU edits (0..5)")
    parser.add_argument("--steps", type=int, default=200, help="optimisation steps per edit")
    parser.add_argument("--out", default=None, help="catalog stem/path (default <model>_regions.json)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from aufx.aus import check_intensity
    from aufx.edit.analyzer import load_analyzer
    from aufx.edit.engine import EditingModel, artefact_paths
    from aufx.edit.regions import (
        au_relations,
        fit_catalog,
        neutralize,
        region_channel,
        relation_arrays,
        sample_ws,
    )
    from aufx.edit.relations import table1

    for name in ("faces", "neutral", "clusters", "steps"):
        if getattr(args, name) <= 0:
            raise ValueError(f"--{name} must be positive, got {getattr(args, name)}")
    check_intensity("--intensity", args.intensity)
    # The engine's global-opt (linear warm start, then optimisation) makes the Eq. 8-9 edits.
    engine = EditingModel.load(args.model, args.editor)
    engine.opt_steps = args.steps
    generator, editor = engine.generator, engine.editor
    if args.layer not in generator.synthesis.layer_names or args.layer.endswith("torgb"):
        raise ValueError(f"--layer {args.layer!r} is not a feature layer of this model: {', '.join(generator.synthesis.layer_names)}")
    default_regions = artefact_paths(args.model)[1]

    def edit(ws, targets):
        return engine.global_edit(ws, targets, relative=False)[0]

    analyzer = None if args.analyzer == "none" else load_analyzer(args.analyzer)
    ws = sample_ws(generator, args.faces, args.seed, args.psi)
    print(f"fitting {args.clusters} clusters on {args.layer} of {args.faces} faces ...", flush=True)
    catalog, acts, _ = fit_catalog(generator, ws, args.clusters, args.layer, analyzer, random_state=args.seed)
    r_kc = region_channel(catalog, acts)
    ws_neutral = neutralize(editor, sample_ws(generator, args.neutral, args.seed + 5_000_000, args.psi), edit=edit)
    print(f"editing {args.neutral} neutral faces per AU (Eq. 8-9) ...", flush=True)
    relations = au_relations(generator, editor, catalog, ws_neutral, args.intensity, edit=edit)
    catalog.set_au_clusters(catalog.suggest_au_clusters(relations.r_ak.numpy()))
    out = args.out or default_regions
    json_path, npz_path = catalog.save(out, relation_arrays(relations, r_kc))
    faces = [k for k in range(catalog.n_clusters) if catalog.face_clusters_[k]]
    table = table1(relations.r_ak.numpy(), catalog.cluster_names_, allowed=faces or None)
    print(table[["AU", "clusters", "regions"]].to_string(index=False))
    print(f"wrote {json_path} and {npz_path}")
    return 0
