"""benchmarks/results_md.py: section replacement and the contents list it keeps current."""

from __future__ import annotations

from benchmarks.results_md import RESULTS, anchor, replace_section, with_contents


def test_anchor_follows_github():
    assert anchor("Real faces: `aufx align` (issue 5, item 7)") == "real-faces-aufx-align-issue-5-item-7"
    assert anchor("Baselines at 128 px: trained") == "baselines-at-128-px-trained"


def test_contents_are_inserted_then_rewritten_in_place(tmp_path):
    path = tmp_path / "RESULTS.md"
    path.write_text("# Measured results\n\nIntro.\n\n## A\n\none\n\n## B\n\ntwo\n")
    replace_section(path, "## C", "## C\n\nthree\n", after="## A")
    text = path.read_text()
    assert text.index("Intro.") < text.index("- [A](#a)\n- [C](#c)\n- [B](#b)") < text.index("## A")
    replace_section(path, "## A", "## A\n\nnew one\n")
    assert path.read_text().count("- [A](#a)") == 1 and "new one" in path.read_text()
    assert with_contents(path.read_text()) == path.read_text()


def test_the_committed_results_list_their_sections():
    text = RESULTS.read_text()
    assert with_contents(text) == text, "contents out of date: run python benchmarks/results_md.py"
