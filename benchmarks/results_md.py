"""Replacing one section of benchmarks/RESULTS.md, for the benchmarks that write their own section."""

from __future__ import annotations

import re
from pathlib import Path


def replace_section(path: Path, heading: str, section: str, after: str | None = None) -> None:
    """Put ``section`` (starting with the line ``heading``, e.g. ``## Study server``) into ``path``.

    An existing section with that heading is replaced up to the next ``## `` heading; otherwise
    the section goes after the section headed ``after`` (if given and present), else at the end.
    """
    text = path.read_text() if path.exists() else "# Measured results\n"
    start = text.find("\n" + heading + "\n")
    if start >= 0:
        start += 1
        end = text.find("\n## ", start + 3)
        text = text[:start] + section.rstrip("\n") + "\n\n" + (text[end + 1:] if end >= 0 else "")
    else:
        match = re.search(rf"^{re.escape(after)}[ \t]*$", text, flags=re.MULTILINE) if after else None
        if match:
            end = text.find("\n## ", match.end())
            insert = end + 1 if end >= 0 else len(text)
            text = text[:insert].rstrip("\n") + "\n\n" + section.rstrip("\n") + "\n\n" + text[insert:]
        else:
            text = text.rstrip("\n") + "\n\n" + section.rstrip("\n") + "\n"
    path.write_text(text)
