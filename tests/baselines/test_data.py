"""The baselines' training data: the generated pool and the pool that mixes it with the renders."""

import os

import numpy as np
import pytest
import torch

from baselines.data import Batch, FacePool, MixedPool, build_generated_pool


def _pool_file(path, aus_value: float, n: int = 10, size: int = 16):  # type: ignore[no-untyped-def]
    """A pool file whose faces all carry AU value ``aus_value`` (so a batch shows where each face came from)."""
    np.savez(path, images=np.zeros((n, size, size, 3), np.uint8), aus=np.full((n, 16), aus_value, np.float32),
             labels=np.full(n, -1, np.int64))  # fmt: skip
    return path


def test_the_generated_pool_holds_generator_faces_labelled_by_the_analyzer(tmp_path):
    from aufx.edit.analyzer import analyze, load_analyzer

    path = build_generated_pool(tmp_path, n=5, size=16, chunk=2)
    pool = FacePool(path)
    assert len(pool) == 5 and pool.size == 16 and (pool.labels == -1).all()
    assert pool.aus.min() >= 0 and pool.aus.max() <= 5 and pool.aus.std() > 0  # faces differ in their AUs
    assert pool.images.float().std() > 10  # faces, not a blank
    images = (pool.images.permute(0, 3, 1, 2).float() - 127.5) / 127.5
    torch.testing.assert_close(pool.aus, analyze(load_analyzer("synthfacs"), images).aus.float().clamp(0, 5))
    stamp = os.stat(path).st_mtime_ns
    assert build_generated_pool(tmp_path, n=5, size=16) == path and os.stat(path).st_mtime_ns == stamp  # made once


def test_a_mixed_pool_draws_the_generated_share_of_each_batch(tmp_path):
    renders = FacePool(_pool_file(tmp_path / "r.npz", 0.0))
    generated = FacePool(_pool_file(tmp_path / "g.npz", 1.0))
    mixed = MixedPool(renders, generated, 0.25)
    rng = np.random.default_rng(0)
    batches = [mixed.batch(8, rng) for _ in range(200)]
    assert all(isinstance(b, Batch) and b.images.shape == (8, 3, 16, 16) and b.aus.shape == (8, 16) for b in batches)
    share = np.mean([float(b.aus[:, 0].mean()) for b in batches])
    assert share == pytest.approx(0.25, abs=0.03) and len(mixed) == 20


def test_a_mixed_pool_refuses_a_share_outside_0_1_and_pools_of_two_sizes(tmp_path):
    renders = FacePool(_pool_file(tmp_path / "r.npz", 0.0))
    with pytest.raises(ValueError, match="must be in \\(0, 1\\)"):
        MixedPool(renders, renders, 1.0)
    with pytest.raises(ValueError, match="32 px where .*r.npz has 16 px"):
        MixedPool(renders, FacePool(_pool_file(tmp_path / "big.npz", 1.0, size=32)), 0.5)
