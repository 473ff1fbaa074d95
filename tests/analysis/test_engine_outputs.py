"""Fig. 4 matrix and Table 1 inputs."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.engine_outputs import read_cluster_table, read_directions
from analysis.fixtures import PAPER_TABLE1, simulate_cluster_matrix, simulate_directions


def test_table1_from_relationship_matrix_reproduces_paper(tmp_path):
    path = tmp_path / "r.csv"
    simulate_cluster_matrix().to_csv(path)
    table = read_cluster_table(path)
    assert len(table) == 16
    for _, row in table.iterrows():
        assert row["clusters"] == ", ".join(map(str, PAPER_TABLE1[row["au"]]))
    assert table.loc[0, "action_unit"] == "AU01: Inner Brow Raiser"


def test_table1_from_listed_clusters(tmp_path):
    path = tmp_path / "t.csv"
    pd.DataFrame({"au": ["12", "au01"], "name": ["x", "y"], "clusters": ["[10, 6, 20, 5]", "20, 15, 2, 9"]}).to_csv(path, index=False)
    table = read_cluster_table(path)
    assert table["au"].tolist() == ["AU01", "AU12"]  # canonical order, names from aufx.aus
    assert table.loc[1, "clusters"] == "10, 6, 20, 5" and table.loc[1, "name"] == "Lip Corner Puller"


def test_directions_reordered_and_validated(tmp_path):
    matrix = simulate_directions()
    shuffled = matrix.iloc[::-1, ::-1]
    path = tmp_path / "d.csv"
    shuffled.to_csv(path)
    read = read_directions(path)
    assert list(read.index)[:2] == ["AU01", "AU02"]
    pd.testing.assert_frame_equal(read, matrix, check_exact=False)
    bad = matrix.copy().astype(object)
    bad.iloc[2, 3] = "high"
    bad.to_csv(path)
    with pytest.raises(ValueError, match="row AU04, column AU05: value 'high' is not a number"):
        read_directions(path)
    matrix.rename(index={"AU01": "AU99"}).to_csv(path)
    with pytest.raises(ValueError, match="'AU99' is not an action unit"):
        read_directions(path)
    matrix.iloc[:, :5].to_csv(path)
    with pytest.raises(ValueError, match="same AUs as rows and columns"):
        read_directions(path)
