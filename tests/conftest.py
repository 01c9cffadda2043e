import matplotlib
import pytest
import torch

matplotlib.use("Agg")  # unit tests draw off-screen; notebooks keep Jupyter's inline backend
# One torch thread in every test process (each xdist worker is one), for the whole session: the models are tiny,
# so more threads have little to share, and 2 workers x N threads on a 2-core machine spin against each other
# (measured 8x slower); one thread also sums in the same order on any machine, as the notebooks do.
torch.set_num_threads(1)


@pytest.fixture
def gen():
    """A seeded generator, so every test draws the same inputs on every run."""
    return torch.Generator().manual_seed(0)
