import matplotlib
import pytest
import torch

matplotlib.use("Agg")  # unit tests draw off-screen; notebooks keep Jupyter's inline backend


@pytest.fixture
def gen():
    """A seeded generator, so every test draws the same inputs on every run."""
    return torch.Generator().manual_seed(0)
