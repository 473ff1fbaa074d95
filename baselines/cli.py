"""``aufx baselines list``: the comparison methods and what each is conditioned on."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("baselines", help="comparison methods (StarGAN, GANimation, ...)")
    sub = parser.add_subparsers(dest="baselines_command", metavar="SUBCOMMAND")
    sub.required = True
    listing = sub.add_parser("list", help="list the methods: name, conditioning, description, weights")
    listing.set_defaults(handler=run_list)


def run_list(args: argparse.Namespace) -> int:
    from baselines.base import WEIGHTS_DIR
    from baselines.registry import entries

    width = max(len(e.name) for e in entries())
    for entry in entries():
        files = [p for p in WEIGHTS_DIR.glob(f"{entry.name}.*") if p.suffix in (".pt", ".npz")]
        bundled = "bundled weights" if files else "no bundled weights"
        print(f"{entry.name:<{width}}  {entry.description}  [{entry.conditioning}; {bundled}]")
    return 0
