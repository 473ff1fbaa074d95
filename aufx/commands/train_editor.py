"""``aufx train editor``: the global editor (paper Sec. 3.1) on a latent dataset.

    aufx train editor --model synthfacs128 --n 60000               # sample faces, label with their true AUs
    aufx train editor --model G.pt --dataset latents.npz --out G_editor.pt

The latent dataset is read from ``--dataset`` (``.npz`` with ``w`` and ``aus``; see
``aufx.edit.dataset``) or made by sampling ``--n`` faces and labelling them with the face
analyzer (``--analyzer``, default the bundled one). Prints held-out R² per AU, writes the editor
(``--out``, default beside the model: ``<model>_editor.pt``) with its report and the direction
calibration (analyzer on generated images when an analyzer is available, else the editor).
"""

from __future__ import annotations

import argparse

from aufx.commands.train_args import add_latent_trainer


def add_parser(train_subparsers: argparse._SubParsersAction) -> None:
    parser = add_latent_trainer(train_subparsers, "editor", "train the global AU editor on W (Sec. 3.1)", __doc__,
                                "face analyzer labelling sampled faces and calibrating")  # fmt: skip
    parser.add_argument("--dataset", default=None, help="latent dataset .npz (w, aus); else sample --n faces")
    parser.add_argument("--n", type=int, default=5000, help="faces to sample when no --dataset is given")
    parser.add_argument("--save-dataset", default=None, help="also write the sampled latent dataset here")
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--lr", type=float, default=0.02, help="SGD learning rate (momentum 0.9)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--weight-decay", type=float, default=0.0, help="SGD's L2 penalty on the weights")
    parser.add_argument("--holdout", type=float, default=0.2, help="held-out share for R²")
    parser.add_argument("--validation", type=float, default=0.1,
                        help="share of the training split used for early stopping (0: train all epochs)")
    parser.add_argument("--labels", choices=("auto", "scene", "analyzer"), default="auto",
                        help="AU labels of sampled faces: 'scene' = each latent's true AUs (generators distilled "
                             "from SynthFACS), 'analyzer' = the analyzer on the images; auto: scene where the "
                             "model has a scene map and --psi is 1")  # fmt: skip
    parser.add_argument("--off-manifold", type=float, default=0.0,
                        help="share of sampled faces moved off the mapping network's image by a random W step and "
                             "labelled by the analyzer (teaches the regressor what such moves look like)")
    parser.add_argument("--off-manifold-step", type=float, default=None,
                        help="longest such step (default: half the latent radius, the global-linear cap)")
    parser.add_argument("--calibrate", choices=("auto", "analyzer", "editor", "none"), default="auto")
    parser.add_argument("--calibration-faces", type=int, default=64)
    parser.add_argument("--out", default=None, help="editor file (default <model>_editor.pt beside the model)")
    parser.add_argument("--report", default=None, help="write per-AU held-out R² and MSE as CSV")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    import pandas as pd
    import torch

    from aufx.aus import AU_CODES
    from aufx.edit.analyzer import LANDMARK_ANALYZER, analyze, load_analyzer
    from aufx.edit.dataset import LatentDataset, sample_latent_dataset
    from aufx.edit.directions import au_directions, calibrate
    from aufx.edit.engine import EditingModel, artefact_paths
    from aufx.edit.global_editor import save_editor, train_editor
    from aufx.edit.regions import sample_ws
    from aufx.gan.loaders import load_generator

    if args.weight_decay < 0:
        raise ValueError(f"--weight-decay must be >= 0, got {args.weight_decay}")
    for name in ("n", "epochs", "batch_size", "calibration_faces"):
        if getattr(args, name) <= 0:
            raise ValueError(f"--{name.replace('_', '-')} must be positive, got {getattr(args, name)}")
    no_aus = args.analyzer == LANDMARK_ANALYZER  # dlib: parts and identity, no AU intensities
    if no_aus and (args.dataset is None or args.calibrate == "analyzer"):
        raise ValueError(f"--analyzer {LANDMARK_ANALYZER} measures no AUs, so it can neither label sampled faces nor "
                         "calibrate: give --dataset with AU labels (e.g. OpenFace's) and --calibrate editor")  # fmt: skip
    loaded = load_generator(args.model)
    generator = loaded.generator
    labels = args.labels
    if labels == "auto":
        labels = "scene" if loaded.metadata.get("scene_map") and args.psi == 1.0 else "analyzer"
    if labels == "scene" and not loaded.metadata.get("scene_map"):
        raise ValueError(f"--labels scene: {args.model} names no scene map (it was not distilled from SynthFACS)")
    analyzer = None
    if not 0.0 <= args.off_manifold <= 1.0:
        raise ValueError(f"--off-manifold must be a share in [0, 1], got {args.off_manifold}")
    needs_analyzer = args.dataset is None and (labels == "analyzer" or args.off_manifold > 0)
    if not no_aus and (needs_analyzer or args.calibrate in ("auto", "analyzer")):
        try:
            analyzer = load_analyzer(args.analyzer)
        except ValueError:
            if needs_analyzer or args.calibrate == "analyzer":
                raise
    if args.dataset:
        dataset = LatentDataset.load(args.dataset)
        print(f"latent dataset {args.dataset}: {len(dataset)} faces")
    else:
        source_of_labels = "their latents' true scenes" if labels == "scene" else "the analyzer"
        print(f"sampling {args.n} faces and labelling them with {source_of_labels} ...", flush=True)
        step = args.off_manifold_step
        if args.off_manifold > 0 and step is None:
            step = EditingModel(generator).linear_cap()
        if args.off_manifold > 0:
            print(f"  {args.off_manifold:.0%} of them moved off the mapping's image by W steps up to {step:.1f}, "
                  "labelled by the analyzer", flush=True)
        dataset = sample_latent_dataset(generator, analyzer, args.n, seed=args.seed, truncation_psi=args.psi,
                                        labels=labels, off_manifold=args.off_manifold,
                                        off_manifold_step=step or 0.0, progress=True)  # fmt: skip
        if args.save_dataset:
            print(f"wrote {dataset.save(args.save_dataset)}")
    if dataset.w_flat.shape[1] != generator.w_dim:
        raise ValueError(f"dataset w has {dataset.w_flat.shape[1]} dims but the model's W has {generator.w_dim}")
    editor, report = train_editor(
        dataset, holdout=args.holdout, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
        validation=args.validation, weight_decay=args.weight_decay,
        seed=args.seed, log_every=max(1, args.epochs // 10), progress=True,
    )  # fmt: skip
    table = pd.DataFrame({"AU": list(AU_CODES), "r2": [report.r2[c] for c in AU_CODES], "mse": [report.mse[c] for c in AU_CODES]})
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    print(f"mean held-out R² {report.mean_r2:.3f} ({report.n_test} held-out faces)")
    calibration, source = None, "none"
    mode = args.calibrate if args.calibrate != "auto" else ("analyzer" if analyzer is not None else "editor")
    if mode != "none":
        ws = sample_ws(generator, args.calibration_faces, seed=args.seed + 10_000_000, truncation_psi=args.psi)
        if mode == "analyzer":
            def measure(w: torch.Tensor) -> torch.Tensor:
                return analyze(analyzer, generator.synthesis(w)).aus
        else:
            measure = editor
        calibration = calibrate(au_directions(editor), measure, ws).tolist()
        source = mode
        print("calibration (AU per unit direction, " + mode + "): " + " ".join(f"{c}={s:.3g}" for c, s in zip(AU_CODES, calibration, strict=True)))
    out = args.out or artefact_paths(args.model)[0]
    save_editor(editor, out, report, calibration, {"model": str(args.model), "calibration_source": source, "n_faces": len(dataset),
                                                 "labels": "dataset" if args.dataset else labels,
                                                 "off_manifold": 0.0 if args.dataset else args.off_manifold})
    print(f"wrote {out}")
    if args.report:
        table.to_csv(args.report, index=False)
        print(f"wrote {args.report}")
    return 0
