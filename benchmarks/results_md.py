"""Replacing one section of benchmarks/RESULTS.md, for the benchmarks that write their own section,
and its list of contents (rewritten by every replacement; after a hand edit:
``python benchmarks/results_md.py``).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
CONTENTS_START = "<!-- contents: benchmarks/results_md.py writes this list from the ## headings -->"
CONTENTS_END = "<!-- end of contents -->"


def anchor(heading: str) -> str:
    """GitHub's anchor of a heading's text: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def with_contents(text: str) -> str:
    """``text`` with its contents block (a link per ``## `` heading) written afresh: in place of the
    old block, else just before the first ``## `` heading."""
    headings = re.findall(r"^## (.+?)[ \t]*$", text, flags=re.MULTILINE)
    block = "\n".join([CONTENTS_START, *(f"- [{h}](#{anchor(h)})" for h in headings), CONTENTS_END])
    if CONTENTS_START in text and CONTENTS_END in text:
        start, end = text.index(CONTENTS_START), text.index(CONTENTS_END) + len(CONTENTS_END)
        return text[:start] + block + text[end:]
    first = re.search(r"^## ", text, flags=re.MULTILINE)
    if not first:
        return text
    return text[: first.start()] + block + "\n\n" + text[first.start() :]


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
    path.write_text(with_contents(text))


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else RESULTS
    target.write_text(with_contents(target.read_text()))
    print(f"wrote the contents of {target}")
