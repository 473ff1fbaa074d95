"""Write tidy tables as CSV (full precision), Markdown and LaTeX (rounded), and format them
for the HTML report."""

from __future__ import annotations

import html
import math
from pathlib import Path

import numpy as np
import pandas as pd

P_COLUMNS = ("p-val", "p-holm", "p-bh", "ICC-p-val")


def format_p(p: float) -> str:
    """APA-style p: ``< .001`` below 0.001, three decimals otherwise."""
    if p is None or not np.isfinite(p):
        return ""
    return "< .001" if p < 0.001 else f"{p:.3f}"


def format_value(value, column: str = "", digits: int = 3) -> str:
    """Human-readable cell: p-values APA style, intervals ``[a, b]``, floats rounded."""
    if isinstance(value, (list, tuple, np.ndarray)):
        return "[" + ", ".join(format_value(v, "", digits) for v in value) + "]"
    if value is None or value is pd.NA:
        return ""
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        if not math.isfinite(value):
            return "" if math.isnan(value) else ("∞" if value > 0 else "−∞")
        if column in P_COLUMNS:
            return format_p(float(value))
        if float(value).is_integer() and abs(value) < 1e9 and column in {"n", "dof", "k", "n_rows"}:
            return str(int(value))
        return f"{value:.{digits}f}"
    return str(value)


def formatted(table: pd.DataFrame, digits: int = 3) -> pd.DataFrame:
    """All cells as strings, ready to print."""
    return pd.DataFrame(
        {c: [format_value(v, c, digits) for v in table[c]] for c in table.columns}, index=table.index
    )


def _csv_ready(table: pd.DataFrame) -> pd.DataFrame:
    out = table.copy()
    for c in out.columns:
        if out[c].map(lambda v: isinstance(v, (list, tuple, np.ndarray))).any():
            out[c] = out[c].map(
                lambda v: "[" + ", ".join(repr(float(x)) for x in v) + "]"
                if isinstance(v, (list, tuple, np.ndarray)) else v
            )
    return out


def to_markdown(table: pd.DataFrame, digits: int = 3) -> str:
    f = formatted(table, digits)
    header = "| " + " | ".join(map(str, f.columns)) + " |"
    rule = "|" + "|".join("---" for _ in f.columns) + "|"
    rows = ["| " + " | ".join(v.replace("|", "\\|") for v in row) + " |" for row in f.to_numpy()]
    return "\n".join([header, rule, *rows]) + "\n"


_LATEX_ESCAPES = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
                  "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\^{}",
                  "<": r"$<$", ">": r"$>$", "−": "$-$", "∞": r"$\infty$"}


def latex_escape(text: str) -> str:
    return "".join(_LATEX_ESCAPES.get(ch, ch) for ch in text)


def to_latex(table: pd.DataFrame, caption: str = "", label: str = "", digits: int = 3) -> str:
    """A booktabs table."""
    f = formatted(table, digits)
    lines = [r"\begin{table}[t]", r"\centering", r"\small",
             r"\begin{tabular}{" + "l" * len(f.columns) + "}", r"\toprule",
             " & ".join(latex_escape(str(c)) for c in f.columns) + r" \\", r"\midrule"]
    lines += [" & ".join(latex_escape(v) for v in row) + r" \\" for row in f.to_numpy()]
    lines += [r"\bottomrule", r"\end{tabular}"]
    if caption:
        lines.append(r"\caption{" + latex_escape(caption) + "}")
    if label:
        lines.append(r"\label{" + label + "}")
    lines.append(r"\end{table}")
    return "\n".join(lines) + "\n"


def to_html(table: pd.DataFrame, digits: int = 3) -> str:
    f = formatted(table, digits)
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in f.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(v)}</td>" for v in row) + "</tr>" for row in f.to_numpy()
    )
    return f'<table class="t"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def write_table(table: pd.DataFrame, out_dir: Path, name: str, caption: str = "") -> dict[str, Path]:
    """Write ``name.csv``, ``name.md`` and ``name.tex``; return the paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {ext: out_dir / f"{name}.{ext}" for ext in ("csv", "md", "tex")}
    _csv_ready(table).to_csv(paths["csv"], index=False)
    paths["md"].write_text(to_markdown(table), encoding="utf-8")
    paths["tex"].write_text(to_latex(table, caption, f"tab:{name}"), encoding="utf-8")
    return paths
