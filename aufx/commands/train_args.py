"""Arguments shared by the trainers that work in a generator's latent space (``aufx train editor``,
``aufx train regions``). Not a trainer module itself (``aufx.commands.train`` does not list it).
"""

from __future__ import annotations

import argparse

#: What ``--analyzer`` takes (``aufx.edit.analyzer.load_analyzer``; not imported here: it imports torch).
ANALYZER_NAMES = "'synthfacs' (bundled), 'landmarks' (dlib parts + identity, no AUs; extra 'real') or a weights file"


def add_latent_trainer(train_subparsers: argparse._SubParsersAction, name: str, help: str, description: str | None,
                       analyzer_help: str) -> argparse.ArgumentParser:  # fmt: skip
    """The parser of ``aufx train <name>`` with ``--model``, ``--analyzer``, ``--psi`` and ``--seed``.

    ``analyzer_help``: what the trainer uses the analyzer for; the names ``--analyzer`` takes follow.
    """
    parser = train_subparsers.add_parser(
        name, help=help, description=description, formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    parser.add_argument("--model", required=True, help="generator: bundled name or path")
    parser.add_argument("--analyzer", default="synthfacs", help=f"{analyzer_help}: {ANALYZER_NAMES}")
    parser.add_argument("--psi", type=float, default=1.0, help="truncation when sampling faces")
    parser.add_argument("--seed", type=int, default=0)
    return parser
