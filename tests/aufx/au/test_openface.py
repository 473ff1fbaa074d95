"""OpenFace 2.0 CSV import: both column spellings, filters, and clear errors."""

from __future__ import annotations

import numpy as np
import pytest

from aufx.au import read_openface_csv
from aufx.aus import AU_CODES

# OpenFace writes every 2nd+ column name with a leading space and also has _c columns and AU45
ALL_R = ["AU01", "AU02", "AU04", "AU05", "AU06", "AU07", "AU09", "AU10", "AU12", "AU14", "AU15",
         "AU17", "AU20", "AU23", "AU25", "AU26", "AU45"]  # fmt: skip


def write_csv(path, leading_space=True, drop=(), rows=3, bad_value=None):
    sp = " " if leading_space else ""
    names = ["frame", f"{sp}face_id", f"{sp}timestamp", f"{sp}confidence", f"{sp}success"]
    names += [f"{sp}{au}_r" for au in ALL_R] + [f"{sp}{au}_c" for au in ALL_R]
    names = [n for n in names if n.strip() not in drop]
    lines = [", ".join(names) if leading_space else ",".join(names)]
    rng = np.random.default_rng(0)
    for i in range(rows):
        values = []
        for name in names:
            key = name.strip()
            if key == "frame":
                values.append(str(i + 1))
            elif key == "success":
                values.append("1" if i != 1 else "0")
            elif key == "confidence":
                values.append(f"{0.98 - 0.5 * (i == 2):.2f}")
            elif key == "AU12_r" and i == 0 and bad_value is not None:
                values.append(bad_value)
            elif key.endswith("_r"):
                values.append(f"{rng.uniform(0, 5):.2f}")
            else:
                values.append("0")
        lines.append(", ".join(values) if leading_space else ",".join(values))
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("leading_space", [True, False])
def test_reads_both_spellings(tmp_path, leading_space):
    table = read_openface_csv(write_csv(tmp_path / "of.csv", leading_space=leading_space))
    assert list(table.columns[-18:]) == [*AU_CODES, "confidence", "success"]
    assert len(table) == 3
    assert table["success"].dtype == bool and table["success"].tolist() == [True, False, True]
    assert ((table[list(AU_CODES)] >= 0) & (table[list(AU_CODES)] <= 5)).all().all()
    assert "AU45" not in table.columns and "frame" in table.columns


def test_filters(tmp_path):
    path = write_csv(tmp_path / "of.csv")
    assert len(read_openface_csv(path, successful_only=True)) == 2
    assert len(read_openface_csv(path, min_confidence=0.9)) == 2
    assert len(read_openface_csv(path, min_confidence=0.9, successful_only=True)) == 1


def test_missing_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="OpenFace CSV not found: .*nope.csv"):
        read_openface_csv(tmp_path / "nope.csv")


def test_missing_columns_are_named(tmp_path):
    path = write_csv(tmp_path / "of.csv", drop=("AU12_r", "confidence"))
    with pytest.raises(ValueError, match=r"missing column\(s\) ' AU12_r', ' confidence'"):
        read_openface_csv(path)


def test_non_numeric_value_is_named(tmp_path):
    path = write_csv(tmp_path / "of.csv", bad_value="oops")
    with pytest.raises(ValueError, match="column 'AU12_r' row 0 is not a number: 'oops'"):
        read_openface_csv(path)
