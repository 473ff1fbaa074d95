"""The SynthFACS render pool: deterministic chunks, resumable build, batches in [-1, 1]."""

import numpy as np
import pytest

from aufx.gan.data import build_pool, chunk_path, pool_source


def test_pool_chunks_are_deterministic_and_skipped_when_present(tmp_path):
    paths = build_pool(tmp_path / "a", n_chunks=2, chunk_size=4, size=32, progress=False)
    assert [p.name for p in paths] == ["chunk_00000.npz", "chunk_00001.npz"]
    with np.load(paths[1]) as data:
        assert data["images"].shape == (4, 32, 32, 3) and data["images"].dtype == np.uint8
        assert data["aus"].shape == (4, 16)
        first = data["images"].copy()
    # A second pool built chunk by chunk gives the same bytes; an existing chunk is not re-rendered.
    build_pool(tmp_path / "b", n_chunks=1, chunk_size=4, size=32, progress=False)
    mtime = chunk_path(tmp_path / "b", 0).stat().st_mtime_ns
    build_pool(tmp_path / "b", n_chunks=2, chunk_size=4, size=32, progress=False)
    assert chunk_path(tmp_path / "b", 0).stat().st_mtime_ns == mtime
    with np.load(chunk_path(tmp_path / "b", 1)) as data:
        np.testing.assert_array_equal(data["images"], first)


def test_pool_source_batches(tmp_path):
    build_pool(tmp_path, n_chunks=1, chunk_size=4, size=32, progress=False)
    batch = pool_source(tmp_path)(6, np.random.default_rng(0))
    assert batch.shape == (6, 3, 32, 32)
    assert -1.0 <= batch.min() and batch.max() <= 1.0 and batch.std() > 0.05


def test_empty_pool_names_the_directory(tmp_path):
    with pytest.raises(FileNotFoundError, match=str(tmp_path)):
        pool_source(tmp_path)(2, np.random.default_rng(0))
