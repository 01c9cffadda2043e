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


@pytest.mark.parametrize("cuda, mps, expected", [(True, True, "cuda"), (False, True, "mps"), (False, False, "cpu")])
def test_device_default_order(monkeypatch, cuda, mps, expected):
    monkeypatch.delenv("WORKSHOP_DEVICE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    monkeypatch.setattr(setup, "_mps_available", lambda: mps)
    assert setup.get_device() == torch.device(expected)


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
    monkeypatch.delenv("WORKSHOP_THREADS", raising=False)
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(3)
        assert helpers.setup_notebook(seed=3) == torch.device("cpu")
        value = torch.rand(1)
        assert torch.get_num_threads() == 1
        setup.seed_everything(3)
        assert torch.equal(value, torch.rand(1))
        helpers.setup_notebook(seed=3, threads=2)
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(threads)


def test_workshop_threads_sets_the_thread_count(monkeypatch):
    monkeypatch.setenv("WORKSHOP_DEVICE", "cpu")
    threads = torch.get_num_threads()
    try:
        monkeypatch.setenv("WORKSHOP_THREADS", "4")
        helpers.setup_notebook()
        assert torch.get_num_threads() == 4
        helpers.setup_notebook(threads=2)  # the argument wins over the variable
        assert torch.get_num_threads() == 2
        for bad in ("0", "two", "-1", "2.5"):
            monkeypatch.setenv("WORKSHOP_THREADS", bad)
            with pytest.raises(ValueError, match=rf"WORKSHOP_THREADS must be a positive whole number .*got '{bad}'"):
                helpers.setup_notebook()
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
