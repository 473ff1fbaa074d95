"""Where a bundle that started a training came from: the git commit that holds its exact bytes.

A training started with ``--init-from`` a bundle (the bundled file after a machine change, a 64 px
generator that starts a 128 px run) can only be reproduced from that very file, and the bundled
file is replaced by later exports. So the phase it starts records ``"source": "<commit>:<path>"``
(:func:`committed_source`), and :func:`baselines.train_cli.reproduce` fetches it with ``git show``.
Phases recorded before that (only a description such as ``"stargan.pt (generator of a 64 px
bundle, step 1573)"``) are matched in the file's history by their step (:func:`find_in_history`).
"""

from __future__ import annotations

import io
import os
import re
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch


def _git(cwd: Path, *args: str, stdout_bytes: bool = False) -> Any:
    """Run git in ``cwd``; its stdout (str, stripped; bytes with ``stdout_bytes``), or None when it fails."""
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, check=False, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0:
        return None
    return done.stdout if stdout_bytes else done.stdout.decode("utf-8", "replace").strip()


def _repo_path(path: Path) -> tuple[Path, str] | None:
    """(work-tree root, ``path`` relative to it in git's ``/`` form), or None outside a work tree."""
    root = _git(path.parent, "rev-parse", "--show-toplevel")
    if not root:
        return None
    try:
        return Path(root), path.resolve().relative_to(Path(root).resolve()).as_posix()
    except ValueError:
        return None


def committed_source(path: str | os.PathLike) -> str | None:
    """``"<commit>:<path in the repo>"`` of the newest commit whose tree holds exactly the bytes of
    ``path``, or None (not in a git work tree, never committed, or changed since its last commit)."""
    path = Path(path).expanduser()
    located = _repo_path(path) if path.is_file() else None
    if located is None:
        return None
    root, relative = located
    blob = _git(root, "hash-object", "--", relative)
    commits = _git(root, "log", "--format=%H", f"--find-object={blob}", "--", relative) if blob else None
    for commit in (commits or "").split():
        if _git(root, "rev-parse", f"{commit}:{relative}") == blob:
            return f"{commit}:{relative}"
    return None


def find_in_history(root: str | os.PathLike, relative: str, matches: Callable[[dict], bool]) -> str | None:
    """``"<commit>:<relative>"`` of the newest committed version of the torch file ``relative`` (in
    the work tree at ``root``) whose bundle ``metadata`` (a dict; loaded weights-only) satisfies
    ``matches``, or None (no git, no such version)."""
    root = Path(root)
    for commit in (_git(root, "log", "--format=%H", "--", relative) or "").split():
        data = _git(root, "show", f"{commit}:{relative}", stdout_bytes=True)
        if not data:
            continue  # the commit deleted the file
        try:
            bundle = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
        except Exception:  # an older format or a git-LFS pointer: not the version sought
            continue
        if isinstance(bundle, dict) and matches(bundle):
            return f"{commit}:{relative}"
    return None


#: How :meth:`baselines.training.GANTrainer.init_from` describes its bundle.
_DESCRIPTION = re.compile(r"^(?P<file>[^ /]+\.pt) \(generator(?: and critic)?(?: of a (?P<size>\d+) px bundle)?, step (?P<step>\d+)\)$")
#: The work tree this package lies in (where the bundled weights are committed).
PACKAGE_ROOT = Path(__file__).resolve().parent.parent


def resolve_sources(schedule: list[dict], method: str, image_size: int, root: str | os.PathLike = PACKAGE_ROOT) -> list[dict]:
    """``schedule`` with ``source`` filled in for phases started from a bundle before sources were
    recorded: the newest committed ``baselines/weights/<file>`` of ``method`` at the phase's step and
    image size (the description's, else ``image_size``). Phases not found are returned unchanged."""
    resolved = []
    for phase in schedule:
        described = _DESCRIPTION.match(str(phase.get("init_from", "")))
        if described and not phase.get("source"):
            size = int(described["size"] or image_size)
            step = int(described["step"])

            def matches(bundle: dict, size: int = size, step: int = step) -> bool:
                return (bundle.get("method") == method and bundle.get("config", {}).get("image_size") == size
                        and bundle.get("metadata", {}).get("steps") == step)  # fmt: skip

            found = find_in_history(root, f"baselines/weights/{described['file']}", matches)
            phase = {**phase, "source": found} if found else phase
        resolved.append(phase)
    return resolved
