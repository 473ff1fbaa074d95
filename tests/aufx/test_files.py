"""aufx.files: atomic writes keep the old file when a write fails, and leave no temporaries."""

from __future__ import annotations

import threading

import pytest
import torch

from aufx.files import atomic_write, save_torch, stored_tensor


def test_save_torch_round_trips_and_makes_folders(tmp_path):
    path = save_torch({"x": torch.arange(3)}, tmp_path / "a" / "b" / "state.pt")
    assert torch.equal(torch.load(path, weights_only=True)["x"], torch.arange(3))
    assert [p.name for p in path.parent.iterdir()] == ["state.pt"]


def test_failed_save_torch_keeps_the_old_file_and_no_temporary(tmp_path):
    path = save_torch({"step": 1}, tmp_path / "state.pt")
    with pytest.raises(TypeError, match="pickle"):
        save_torch({"step": 2, "bad": threading.Lock()}, path)  # a lock cannot be pickled
    assert torch.load(path, weights_only=True) == {"step": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["state.pt"]


def test_failed_atomic_write_keeps_the_old_file(tmp_path):
    path = tmp_path / "table.csv"
    atomic_write(path, b"old\n")
    with pytest.raises(TypeError):
        atomic_write(path, "not bytes")  # type: ignore[arg-type]
    assert path.read_bytes() == b"old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["table.csv"]


def test_stored_tensor_halves_float32_only_and_copies():
    weights = torch.ones(2, requires_grad=True)
    stored = stored_tensor(weights, half=True)
    assert stored.dtype == torch.float16 and not stored.requires_grad
    counts = torch.arange(3)
    assert stored_tensor(counts, half=True).dtype == torch.int64
    copy = stored_tensor(torch.zeros(2))
    copy += 1  # a copy: the source is untouched
    assert stored_tensor(torch.zeros(2)).sum() == 0 and copy.sum() == 2


def test_write_figure_writes_the_suffixs_format_closes_the_figure_and_keeps_the_old_file_on_failure(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from aufx.files import write_figure

    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    path = write_figure(fig, tmp_path / "a" / "curve.png", dpi=50)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and not plt.fignum_exists(fig.number)
    svg, kept = plt.subplots()
    assert write_figure(svg, tmp_path / "curve.svg", keep_open=True).read_text().lstrip().startswith("<?xml")
    assert plt.fignum_exists(svg.number)
    plt.close(svg)
    broken, ax = plt.subplots()
    ax.text(0.5, 0.5, "$\\frac{unclosed$")  # mathtext fails when the figure is drawn
    with pytest.raises(ValueError):
        write_figure(broken, path)
    assert not plt.fignum_exists(broken.number)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and sorted(p.name for p in path.parent.iterdir()) == ["curve.png"]
