"""benchmarks/bench_editing.py end to end on the bundled model, at a size that takes about a minute."""

from __future__ import annotations

import re

import pytest

from tests.benchmarks.helpers import load_benchmark


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("bench_editing")


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_one_face_run_prints_every_section(bench, capsys, tmp_path):
    strip = tmp_path / "strip.png"
    assert bench.main(["--faces", "1", "--opt-faces", "1", "--repeats", "1", "--fig4-faces", "60", "--strip", str(strip)]) == 0
    out = capsys.readouterr().out
    assert strip.is_file() and strip.stat().st_size > 1000
    for heading in ("## Speed", "## Global editor held-out R²", "## Table 1", "## Local vs global"):
        assert heading in out, heading
    assert re.search(r"\| linear edit \| [\d.]+ \| [\d.]+ \|", out)
    assert re.search(r"\| masked optimisation step, per face of a batch of 4 \| [\d.]+ \| [\d.]+ \|", out)
    # Table 1 against the part maps, with chance levels that depend only on the catalog
    hits = re.search(r"top cluster in the AU's parts: (\d+)/16 AUs \(expected by chance.*?: ([\d.]+)\); one of the top 4: (\d+)/16 "
                     r"\(chance ([\d.]+)\); dictionary: 16/16", out)  # fmt: skip
    assert hits, out[-2000:]
    top1, chance1, top4, chance4 = int(hits[1]), float(hits[2]), int(hits[3]), float(hits[4])
    assert top1 <= top4 and 0 < chance1 < chance4 < 16
    assert len(re.findall(r"^- AU\d\d \(\w+\): ", out, flags=re.M)) == 16
    # every local method is measured against global-opt, which keeps 100 % by definition
    assert re.search(r"\| global-opt \| [+-][\d.]+ \| [\d.]+ \| [\d.]+ \| 100% \| 0% \| 0% \|", out)
    for method in ("local-mux", "local-mux, blend", "local-opt"):
        assert re.search(rf"^\| {re.escape(method)} \| [+-][\d.]+ \| ", out, flags=re.M), method
    # per AU, against global-opt on the same faces
    assert "## Per AU: kept target change" in out
    assert len(re.findall(r"^\| AU\d\d \| -?\d+% / -?\d+% / -?\d+% \| -?\d+% / -?\d+% / -?\d+% \|$", out, flags=re.M)) == 16
    assert re.search(r"^local-opt: all three goals met for \d+/16 AUs", out, flags=re.M)


def test_per_au_goals_pairs_each_method_with_global_opt_on_the_same_faces(bench):
    rows = {m: {k: [] for k in ("target", "leak", "outside", "au", "face")} for m in ("global-opt", "local-mux", "local-opt")}
    for face in range(4):  # global-opt: target +2 on faces 0-1, +4 on faces 2-3
        for key, value in (("target", 2.0 if face < 2 else 4.0), ("leak", 1.0), ("outside", 0.2), ("au", "AU12"), ("face", face)):
            rows["global-opt"][key].append(value)
    for face in range(4):
        for key, value in (("target", 2.0), ("leak", 0.5), ("outside", 0.02), ("au", "AU12"), ("face", face)):
            rows["local-mux"][key].append(value)
    for face in range(2):  # local-opt on the first two faces only: compared with global-opt's +2 there
        for key, value in (("target", 1.6), ("leak", 0.8), ("outside", 0.1), ("au", "AU12"), ("face", face)):
            rows["local-opt"][key].append(value)
    table = bench.per_au_goals(rows)
    assert list(table.index) == ["AU12"]
    assert table.loc["AU12", ("local-mux", "kept")] == pytest.approx(2 / 3)
    assert table.loc["AU12", ("local-mux", "out-cut")] == pytest.approx(0.9)
    assert table.loc["AU12", ("local-mux", "leak-cut")] == pytest.approx(0.5)
    assert table.loc["AU12", ("local-opt", "kept")] == pytest.approx(0.8)
    assert table.loc["AU12", ("local-opt", "leak-cut")] == pytest.approx(0.2)
