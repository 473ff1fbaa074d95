"""Read the engine's outputs that the report shows: the AU direction correlation matrix
(Fig. 4) and the AU–cluster relationships (Table 1). Files only; the engine is never imported."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from aufx.aus import AU_CODES, AU_NAMES, normalize_au


def _au_labels(labels, what: str, path: Path) -> list[str]:
    out = []
    for label in labels:
        try:
            out.append(normalize_au(label))
        except ValueError:
            raise ValueError(f"{path}: {what} {label!r} is not an action unit; valid: {', '.join(AU_CODES)}") from None
    return out


def read_directions(path: str | Path) -> pd.DataFrame:
    """A square AU × AU correlation matrix CSV (first column = AU codes, header = AU codes),
    returned in the canonical AU order."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {path}")
    frame = pd.read_csv(path, index_col=0)
    frame.index = _au_labels(frame.index, "row label", path)
    frame.columns = _au_labels(frame.columns, "column label", path)
    if set(frame.index) != set(frame.columns):
        raise ValueError(f"{path}: the matrix must have the same AUs as rows and columns")
    values = frame.apply(pd.to_numeric, errors="coerce")
    if values.isna().any().any():
        row, col = np.argwhere(values.isna().to_numpy())[0]
        raise ValueError(f"{path}: row {frame.index[row]}, column {frame.columns[col]}: "
                         f"value {frame.iloc[row, col]!r} is not a number")
    order = [au for au in AU_CODES if au in set(frame.index)]
    return values.loc[order, order]


def _format_clusters(clusters) -> str:
    return ", ".join(str(c) for c in clusters)


def read_cluster_table(path: str | Path, top: int = 4) -> pd.DataFrame:
    """Table 1 (``au, name, clusters``) from either a table with ``au`` and ``clusters`` columns
    or an AU × cluster relationship matrix R (Eq. 9), from which the ``top`` clusters per AU
    (largest R first) are taken."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {path}")
    frame = pd.read_csv(path)
    lower = {c.lower().strip(): c for c in frame.columns}
    if "au" in lower and "clusters" in lower:
        aus = _au_labels(frame[lower["au"]], "AU", path)
        clusters = frame[lower["clusters"]].astype(str).str.replace(r"[\[\]\(\)]", "", regex=True)
        table = pd.DataFrame({"au": aus, "clusters": clusters.str.strip()})
    else:
        matrix = pd.read_csv(path, index_col=0)
        aus = _au_labels(matrix.index, "row label", path)
        values = matrix.apply(pd.to_numeric, errors="coerce")
        if values.isna().any().any():
            row, col = np.argwhere(values.isna().to_numpy())[0]
            raise ValueError(f"{path}: row {matrix.index[row]}, column {matrix.columns[col]}: "
                             f"value {matrix.iloc[row, col]!r} is not a number")
        order = np.argsort(-values.to_numpy(), axis=1, kind="stable")[:, :top]
        names = np.asarray(matrix.columns)
        table = pd.DataFrame({"au": aus, "clusters": [_format_clusters(names[o]) for o in order]})
    table.insert(1, "name", table["au"].map(AU_NAMES))
    table["action_unit"] = table["au"] + ": " + table["name"]
    rank = {au: i for i, au in enumerate(AU_CODES)}
    return table.sort_values("au", key=lambda s: s.map(rank)).reset_index(drop=True)
