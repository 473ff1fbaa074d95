"""Fixtures for the baselines tests: tiny pools (one torch thread comes from tests/conftest.py)."""

import numpy as np
import pytest
import torch

from baselines.data import FacePool, build_pool


@pytest.fixture(scope="session")
def tiny_pool_path(tmp_path_factory) -> str:
    """A 24-face SynthFACS pool at 16 px (12 RaFD-class faces, 12 SynthFACS-distributed)."""
    return str(build_pool(tmp_path_factory.mktemp("pool"), n=24, size=16, seed=0))


@pytest.fixture
def images16() -> torch.Tensor:
    return torch.from_numpy(np.random.default_rng(0).uniform(-1, 1, (3, 3, 16, 16)).astype(np.float32))


@pytest.fixture
def labelled_pool(tiny_pool_path) -> FacePool:
    return FacePool(tiny_pool_path, labelled_only=True)
