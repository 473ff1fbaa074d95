"""The ``aufx`` command: one argparse parser, one sub-command module per concern.

Each command module exposes ``register(subparsers)`` and keeps its heavy imports (torch, the
engine) inside its handler, so ``aufx serve`` and ``aufx analyze`` start without loading torch.
This is the one module that knows all four packages (aufx, baselines, study_server, analysis).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

#: Modules that add sub-commands; each has ``register(subparsers) -> None``.
COMMAND_MODULES: tuple[str, ...] = (
    "aufx.commands.model",
    "aufx.commands.synth",
    "aufx.commands.train",
    "aufx.commands.edit",
    "aufx.commands.demo",
    "aufx.commands.stimuli",
    "aufx.commands.align",
    "baselines.cli",
    "study_server.cli",
    "analysis.cli",
)


class CommandError(Exception):
    """A user error: printed as one line ``aufx: error: ...`` with exit status 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="aufx",
        description="Precise facial action unit editing with StyleGAN2, and perceptual studies.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    for module_name in COMMAND_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            if error.name == module_name:  # that concern is not built yet
                continue
            raise
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        result = args.handler(args)
    except (CommandError, ValueError, FileNotFoundError, KeyError) as error:
        message = error.args[0] if isinstance(error, KeyError) and error.args else error
        print(f"aufx: error: {message}", file=sys.stderr)
        return 2
    return int(result or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
