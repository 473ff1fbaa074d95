"""``aufx train {generator,analyzer,editor,regions}``: one sub-command per trainable model.

Each trainer lives in its own module ``aufx.commands.train_<name>`` exposing
``add_parser(train_subparsers)``; modules not built yet are skipped.
"""

from __future__ import annotations

import argparse
import importlib

TRAINER_MODULES: tuple[str, ...] = (
    "aufx.commands.train_generator",
    "aufx.commands.train_analyzer",
    "aufx.commands.train_editor",
    "aufx.commands.train_regions",
    "baselines.train_cli",
)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("train", help="train a model (resumable)")
    train_subparsers = parser.add_subparsers(dest="model", metavar="MODEL")
    train_subparsers.required = True
    for module_name in TRAINER_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            if error.name == module_name:
                continue
            raise
        module.add_parser(train_subparsers)
