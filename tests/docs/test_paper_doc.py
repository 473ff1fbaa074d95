"""docs/paper.md: every code name it cites imports, and every ``aufx`` command it cites exists.

The doc maps the paper's sections, equations, figures and tables onto aufx. It rots when code is
renamed, so this test parses it:

- every backticked dotted name starting with ``aufx.``, ``baselines.``, ``study_server.`` or
  ``analysis.`` must resolve: the longest importable module prefix, then ``getattr`` for the rest;
- every backticked ``aufx <sub-command> ...`` must name a sub-command (and, for groups such as
  ``train`` or ``model``, a sub-sub-command) of ``aufx.cli.build_parser()``; its ``--flags`` must be
  options of that command and values given to options with choices must be among them. Building
  the parser only imports each command module's ``register`` (heavy imports live in the
  handlers), so no command runs;
- every relative link points at an existing file, every ``#anchor`` at an ``<a id>`` in the doc;
- Eq. 1-10, Fig. 1-11 and Table 1 all appear.
"""

from __future__ import annotations

import argparse
import importlib
import re
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "paper.md"

PACKAGES = ("aufx", "baselines", "study_server", "analysis")
#: a dotted name of one of our packages, not part of a path (``docs/analysis.md``) or a longer word.
NAME_RE = re.compile(r"(?<![\w./-])(?:" + "|".join(PACKAGES) + r")(?:\.[A-Za-z_]\w*)+(?![\w/])")
#: suffixes that make a dotted word a file name, not a Python name.
FILE_SUFFIXES = {"md", "py", "csv", "png", "json", "pt", "pkl", "toml", "npz", "html", "svg", "txt"}
SPAN_RE = re.compile(r"`([^`\n]+)`")
LINK_RE = re.compile(r"\]\(([^)\s]+)\)")
ANCHOR_RE = re.compile(r'<a id="([^"]+)"></a>')


def doc_text() -> str:
    return DOC.read_text(encoding="utf-8")


def code_spans(text: str) -> list[str]:
    """Inline code spans, plus the lines of fenced blocks (so commands in blocks count too)."""
    spans: list[str] = []
    for block in re.findall(r"^```\w*\n(.*?)^```", text, flags=re.S | re.M):
        spans += [line.strip() for line in block.splitlines() if line.strip()]
    without_blocks = re.sub(r"^```\w*\n.*?^```", "", text, flags=re.S | re.M)
    spans += SPAN_RE.findall(without_blocks)
    return spans


def dotted_names(text: str) -> list[str]:
    names: list[str] = []
    for span in code_spans(text):
        for name in NAME_RE.findall(span):
            if name.rsplit(".", 1)[-1] not in FILE_SUFFIXES and name not in names:
                names.append(name)
    return names


def cli_commands(text: str) -> list[str]:
    commands: list[str] = []
    for span in code_spans(text):
        span = span.strip()
        if span.startswith("aufx ") and span not in commands:
            commands.append(span)
    return commands


def resolve(name: str) -> object:
    """The object ``name`` names: import the longest module prefix, then getattr the rest.

    Raises ImportError / AttributeError when it does not exist. A module that exists but fails to
    import for another reason (a missing dependency inside it) raises as well, not silently
    falling back to a shorter prefix.
    """
    parts = name.split(".")
    for i in range(len(parts), 0, -1):
        module_name = ".".join(parts[:i])
        try:
            obj = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            missing = error.name or ""
            if module_name == missing or module_name.startswith(missing + "."):
                continue  # this prefix is not a module: try a shorter one
            raise
        for attribute in parts[i:]:
            obj = getattr(obj, attribute)  # AttributeError names the missing part
        return obj
    raise ImportError(f"no importable prefix in {name!r}")


def subparsers_of(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


@cache
def cli_parser() -> argparse.ArgumentParser:
    from aufx.cli import build_parser

    return build_parser()


def check_command(command: str) -> None:
    """Raise AssertionError when ``command`` (``aufx <sub> [<subsub>] [args]``) is not known to the CLI."""
    tokens = command.split()
    assert tokens[0] == "aufx", command
    parser, path = cli_parser(), ["aufx"]
    rest = tokens[1:]
    while True:
        choices = subparsers_of(parser)
        if not choices:
            break
        if not rest or rest[0].startswith("-"):
            assert path != ["aufx"], f"{command!r}: no sub-command"
            break  # a command group named on its own (e.g. `aufx train`)
        word = rest.pop(0)
        assert word in choices, f"{command!r}: {' '.join(path)} has no sub-command {word!r}; known: {', '.join(sorted(choices))}"
        parser, path = choices[word], [*path, word]
    options = parser._option_string_actions
    for i, token in enumerate(rest):
        token = token.strip("[]()")
        if not token.startswith("--"):
            continue
        flag = token.split("=", 1)[0]
        assert flag in options, f"{command!r}: {' '.join(path)} has no option {flag}"
        action = options[flag]
        if action.choices is not None and "=" not in token and i + 1 < len(rest):
            value = rest[i + 1].strip("[]()")
            if not value.startswith("-") and value.isascii() and not value.isupper():
                assert value in action.choices, f"{command!r}: {flag} {value!r} is not one of {sorted(action.choices)}"


# ---------------------------------------------------------------------------- the doc
NAMES = dotted_names(doc_text())
COMMANDS = cli_commands(doc_text())


def test_doc_cites_code_and_commands() -> None:
    """The extraction finds what the doc is about (guards against a parser that finds nothing)."""
    assert len(NAMES) >= 60, NAMES
    assert len(COMMANDS) >= 30, COMMANDS
    for expected in ("aufx.edit.local.multiplex", "aufx.edit.directions.au_directions", "analysis.stats.paired_ttest"):
        assert expected in NAMES


@pytest.mark.parametrize("name", NAMES)
def test_cited_name_resolves(name: str) -> None:
    try:
        resolve(name)
    except (ImportError, AttributeError) as error:
        pytest.fail(f"docs/paper.md cites `{name}`, which does not resolve: {error}")


@pytest.mark.parametrize("command", COMMANDS)
def test_cited_command_exists(command: str) -> None:
    check_command(command)


def test_every_equation_figure_and_table_is_mapped() -> None:
    text = doc_text()
    missing = [f"Eq. {n}" for n in range(1, 11) if not re.search(rf"Eq\. {n}\b", text)]
    missing += [f"Fig. {n}" for n in range(1, 12) if not re.search(rf"Fig\. {n}\b", text)]
    missing += [] if "Table 1" in text else ["Table 1"]
    assert not missing, f"docs/paper.md does not mention {missing}"


def test_links_resolve() -> None:
    text = doc_text()
    anchors = set(ANCHOR_RE.findall(text))
    bad = []
    for target in LINK_RE.findall(text):
        if "://" in target or target.startswith("mailto:"):
            continue
        path, _, anchor = target.partition("#")
        if not path:
            if anchor not in anchors:
                bad.append(target)
        elif not (DOC.parent / path).exists():
            bad.append(target)
    assert not bad, f"docs/paper.md links to missing files or anchors: {bad}"


# ---------------------------------------------------------------------------- the checks can fail
def test_misspelled_name_fails() -> None:
    with pytest.raises(AttributeError):
        resolve("aufx.edit.directions.au_direction")  # the function is au_directions
    with pytest.raises((ImportError, AttributeError)):
        resolve("aufx.edit.no_such_module.thing")
    with pytest.raises(ImportError):
        resolve("no_such_package.x")


def test_unknown_command_or_option_fails() -> None:
    check_command("aufx train editor --model synthfacs128 --n 5000")
    for bad in ("aufx frobnicate --out x", "aufx train frobnicate", "aufx edit --no-such-flag 1",
                "aufx edit --mode local-muxx", "aufx"):
        with pytest.raises(AssertionError):
            check_command(bad)


def test_extraction() -> None:
    text = (
        "see `aufx.edit.local.multiplex` and `docs/analysis.md`, `aufx/edit/local.py`, "
        "`aufx-local-mux`, `analysis.fixtures.write_fixture(\"x\")`\n"
        "```bash\naufx regions --model m --out d\n```\n`aufx edit --au AU12=+2`"
    )
    assert dotted_names(text) == ["aufx.edit.local.multiplex", "analysis.fixtures.write_fixture"]
    assert cli_commands(text) == ["aufx regions --model m --out d", "aufx edit --au AU12=+2"]
