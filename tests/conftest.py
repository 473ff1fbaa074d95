"""Suite-wide settings.

Tests run tiny networks, for which one intra-op thread is faster than several (thread start-up
dominates a 16-px convolution, and a loaded machine makes spinning threads much slower). Set before
torch is first imported; a developer's explicit OMP_NUM_THREADS wins.
"""

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Every test starts on one torch thread, and a test (or command) that changes it is undone."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
