"""Shared fixtures: a small simulated study (the generator lives in analysis.fixtures)."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.fixtures import simulate_ratings


@pytest.fixture(scope="session")
def study() -> pd.DataFrame:
    """23 + 2 participants, 12 items, 4 methods, 3 questions (the paper's design)."""
    return simulate_ratings(seed=0)


@pytest.fixture()
def small() -> pd.DataFrame:
    """A small valid export: 6 participants, 3 items, 4 methods, 3 questions."""
    return simulate_ratings(n_participants=6, n_items=3, n_excluded=0, n_failing_attention=0,
                            attention_checks=0, seed=1)
