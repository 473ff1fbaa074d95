"""``aufx demo [--out DIR] [--quick]``: the whole pipeline on the bundled model (see :mod:`aufx.demo`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from aufx.defaults import DEFAULT_MODEL


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="run the end-to-end demo on the bundled model (stimuli, SIMULATED study, report)",
        description="The paper's whole study, offline: the bundled model makes expression-transfer stimuli "
        "with aufx and every baseline; SIMULATED participants rate them through the real study server over "
        "HTTP; the export is analysed into a report with a recovery check. See docs/tutorial.md.",
    )
    parser.add_argument("--out", default="demo_out", help="output directory (default demo_out)")
    parser.add_argument("--quick", action="store_true", help="4 items and 10 participants (under 3 minutes)")
    parser.add_argument("--model", default=DEFAULT_MODEL, help="generator (bundled name or path)")
    parser.add_argument("--editor", help="global editor (default: beside the model, <model>_editor.pt)")
    parser.add_argument("--regions", help="region catalog (default: beside the model, <model>_regions.json)")
    parser.add_argument("--analyzer", help="face analyzer path, 'synthfacs' (bundled, default) or 'none'")
    parser.add_argument("--baselines", metavar="DIR", help="folder with <baseline>.pt weights (default baselines/weights)")
    parser.add_argument("--random-baselines", action="store_true",
                        help="untrained baselines (marked in the manifest; for trying the pipeline only)")
    parser.add_argument("--scheduler", metavar="ADDRESS", help="Dask scheduler for the stimuli (e.g. tcp://host:8786)")
    parser.add_argument("--workers", type=int, default=0,
                        help="local Dask workers for the stimuli (default 0: a plain loop in this process)")
    parser.add_argument("--db", metavar="URL", help="database of the simulated study, e.g. postgresql://... "
                        "(an empty one; default: SQLite in DIR)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the simulated participants")
    parser.add_argument("--spec", metavar="TOML", help="study spec to start from (default examples/demo.toml)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from aufx.demo import closing_words, run_demo

    if args.workers < 0:
        raise ValueError(f"--workers must be >= 0, got {args.workers}")
    options = {"editor": args.editor, "regions": args.regions, "analyzer": args.analyzer,
               "baselines_dir": args.baselines, "random_baselines": args.random_baselines}  # fmt: skip
    ctx = run_demo(Path(args.out), quick=args.quick, model=args.model, scheduler=args.scheduler,
                   workers=args.workers, db_url=args.db, seed=args.seed, artefact_options=options,
                   **({"spec_template": Path(args.spec)} if args.spec else {}))  # fmt: skip
    print(closing_words(ctx))
    recovery = ctx.state.get("recovery")
    return 0 if recovery is None or recovery.passed else 1
