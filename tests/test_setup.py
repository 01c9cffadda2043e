import random

import numpy as np
import pytest
import torch

import helpers
from helpers import setup


def draw():
    return random.random(), np.random.rand(), torch.rand(1).item()


def test_seed_everything_repeats_every_generator():
    setup.seed_everything(7)
    first = draw()
    setup.seed_everything(7)
    assert draw() == first
    setup.seed_everything(8)
    assert draw() != first
    with pytest.raises(TypeError, match="seed must be an int"):
        setup.seed_everything("7")


def test_device_override(monkeypatch):
    monkeypatch.setenv("WORKSHOP_DEVICE", "cpu")
    assert setup.get_device() == torch.device("cpu")
    monkeypatch.setenv("WORKSHOP_DEVICE", "tpu")
    with pytest.raises(ValueError, match=r"WORKSHOP_DEVICE must be one of \['cpu', 'cuda', 'mps'\], got 'tpu'"):
        setup.get_device()


def test_device_default_order(monkeypatch):
    monkeypatch.delenv("WORKSHOP_DEVICE", raising=False)
    expected = "cuda" if torch.cuda.is_available() else "mps" if torch.backends.mps.is_available() else "cpu"
    assert setup.get_device().type == expected


def test_unavailable_device_is_a_clear_error(monkeypatch):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    monkeypatch.setenv("WORKSHOP_DEVICE", "cuda")
    with pytest.raises(RuntimeError, match="no cuda device"):
        setup.get_device()


def test_describe_environment_lists_versions():
    text = helpers.describe_environment("cpu")
    assert torch.__version__ in text and np.__version__ in text
    assert "device     cpu" in text


def test_setup_notebook_seeds_threads_and_returns_a_device(monkeypatch):
    monkeypatch.setenv("WORKSHOP_DEVICE", "cpu")
    threads = torch.get_num_threads()
    try:
        assert helpers.setup_notebook(seed=3) == torch.device("cpu")
        value = torch.rand(1)
        assert torch.get_num_threads() == 1
        setup.seed_everything(3)
        assert torch.equal(value, torch.rand(1))
        helpers.setup_notebook(seed=3, threads=None)
        assert torch.get_num_threads() == 1  # None leaves the thread count alone
    finally:
        torch.set_num_threads(threads)


def test_notebook_execution_leaves_the_callers_environment_alone(tmp_path, monkeypatch):
    """tools/notebooks.py's execute gives the kernel WORKSHOP_PROGRESS=0 and no MPLBACKEND through a copy."""
    import os

    import nbformat

    from tools import notebooks as tools
    monkeypatch.setenv("WORKSHOP_PROGRESS", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    path = tmp_path / "env.ipynb"
    code = "import os\nprint(os.environ.get('WORKSHOP_PROGRESS'), os.environ.get('MPLBACKEND'))"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)]), path)
    before = dict(os.environ)
    nb, _ = tools.execute(path)
    progress, backend = nb.cells[0].outputs[0]["text"].split()
    assert progress == "0" and backend != "Agg"  # ipykernel then picks its inline backend
    assert dict(os.environ) == before
