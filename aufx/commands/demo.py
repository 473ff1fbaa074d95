"""``aufx demo [--out DIR] [--quick]``: the whole pipeline on the bundled model (see :mod:`aufx.demo`)."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("demo", help="run the end-to-end demo on the bundled model")
    parser.add_argument("--out", default="demo_out", help="output directory (default demo_out)")
    parser.add_argument("--quick", action="store_true", help="smaller version for a quick check")
    parser.add_argument("--model", default="synthfacs64", help="generator (bundled name or path)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from aufx.demo import run_demo

    ctx = run_demo(Path(args.out), quick=args.quick, model=args.model)
    print(f"demo finished: outputs in {ctx.out}/ (summary: {ctx.out / 'demo_summary.json'})")
    return 0
