"""Every `aufx` command and sub-command formats its --help (a stray '%' in a help string breaks it)."""

import argparse

from aufx.cli import build_parser


def _all_parsers(parser: argparse.ArgumentParser, path: str = "aufx"):
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _all_parsers(sub, f"{path} {name}")


def test_every_command_formats_its_help():
    parsers = dict(_all_parsers(build_parser()))
    for expected in ("aufx demo", "aufx train generator", "aufx compare", "aufx serve", "aufx analyze",
                     "aufx model info", "aufx baselines list", "aufx synth render"):  # fmt: skip
        assert expected in parsers
    for path, parser in parsers.items():
        assert parser.format_help().startswith("usage:"), path
