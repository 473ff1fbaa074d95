"""``aufx stimuli`` and ``aufx compare``: study stimuli from a spec, and their objective comparison.

    aufx stimuli examples/study.toml --out stimuli/ [--workers 2] [--scheduler tcp://host:8786] [--model PATH]
    aufx compare stimuli/ [--out DIR]

``stimuli`` writes images/, manifest.csv, metrics.csv, study.toml and contact_sheet.png (see
docs/stimuli.md); a rerun skips finished work. ``--workers 0`` runs a plain loop without Dask.
"""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    stim = subparsers.add_parser("stimuli", help="make study stimuli (images, manifest, metrics) from a spec",
                                 description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    stim.add_argument("spec", metavar="SPEC.toml", help="study spec (see examples/study.toml)")
    stim.add_argument(
        "--out", required=True, metavar="DIR", help="output folder (a rerun resumes it)"
    )
    stim.add_argument(
        "--workers",
        type=int,
        default=1,
        help="Dask LocalCluster worker processes (0: plain loop, no Dask)",
    )
    stim.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="use an existing Dask scheduler instead",
    )
    stim.add_argument(
        "--model",
        default=None,
        metavar="MODEL",
        help="generator overriding the spec's model.generator",
    )
    stim.add_argument(
        "--analyzer",
        default=None,
        metavar="PATH",
        help="face analyzer overriding model.analyzer: a file, 'synthfacs', 'none' or 'landmarks'",
    )
    stim.add_argument(
        "--validate", action="store_true", help="only check the spec and print the plan's size"
    )
    stim.add_argument("--quiet", action="store_true", help="no progress bar")
    stim.set_defaults(handler=run_stimuli_command)

    comp = subparsers.add_parser(
        "compare", help="objective comparison of methods (mean ± 95%% CI) for a stimulus folder"
    )
    comp.add_argument("folder", metavar="DIR", help="folder written by `aufx stimuli`")
    comp.add_argument(
        "--out",
        default=None,
        metavar="DIR",
        help="where to write comparison.{csv,md,png} (default DIR)",
    )
    comp.set_defaults(handler=run_compare_command)


def run_stimuli_command(args: argparse.Namespace) -> int:
    from aufx.stimuli import load_spec

    spec = load_spec(args.spec)
    spec = spec.with_model(args.model, args.analyzer)
    if args.validate:
        from aufx.stimuli.plan import build_plan

        plan = build_plan(spec)
        print(
            f"{args.spec}: valid; {len(plan.faces)} faces, {len(plan.items)} items, {len(plan.stimuli)} stimuli"
        )
        return 0
    from aufx.stimuli.run import run_stimuli

    summary = run_stimuli(
        spec, args.out, workers=args.workers, scheduler=args.scheduler, progress=not args.quiet
    )
    print(f"{len(summary.plan.stimuli)} stimuli for {len(summary.plan.items)} items: ran {summary.ran} units, "
          f"skipped {summary.skipped} already done")  # fmt: skip
    for path in summary.outputs.values():
        print(f"wrote {path}")
    return 0


def run_compare_command(args: argparse.Namespace) -> int:
    from aufx.stimuli.compare import compare

    for path in compare(args.folder, args.out).values():
        print(f"wrote {path}")
    return 0
