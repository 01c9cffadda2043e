import matplotlib
import pytest
import torch

matplotlib.use("Agg")  # unit tests draw off-screen; notebooks keep Jupyter's inline backend


@pytest.fixture
def gen():
    """A seeded generator, so every test draws the same inputs on every run."""
    return torch.Generator().manual_seed(0)


@pytest.fixture
def one_thread():
    """Train tiny models on one CPU thread, as the notebooks do: on a busy 2-core machine more threads only
    spin against each other (measured 8x slower), and one thread sums in the same order on any machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
