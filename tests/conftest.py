"""Suite-wide settings.

Tests run tiny networks, for which one intra-op thread is faster than several (thread start-up
dominates a 16-px convolution, and a loaded machine makes spinning threads much slower). Set before
torch is first imported; a developer's explicit OMP_NUM_THREADS wins.
"""

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
