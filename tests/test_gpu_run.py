"""tools/gpu_run.py, run here on the CPU with tiny notebooks (no GPU on the test machines)."""

import pathlib

import nbformat
import pytest

from tools import gpu_run

ROOT = pathlib.Path(__file__).resolve().parent.parent


def notebook(tmp_path, name, *sources):
    path = tmp_path / name
    cells = [nbformat.v4.new_code_cell("import torch\ndevice = torch.device('cpu')")]
    nbformat.write(nbformat.v4.new_notebook(cells=cells + [nbformat.v4.new_code_cell(s) for s in sources]), path)
    return path


@pytest.mark.slow
def test_reports_time_asserts_and_device_and_names_a_failing_cell(tmp_path):
    sources = ("import time\ntime.sleep(0.3)\nx = 2\nassert x + x == 4", "assert True")
    good = gpu_run.run_one(notebook(tmp_path, "good.ipynb", *sources), "cpu")
    # The sleep is a floor on the time reported whatever the load; no GPU memory on the CPU.
    assert good["ok"] and good["asserts"] == 2 and good["device"] == "cpu"
    assert good["seconds"] >= 0.3 and good["peak_gpu_mib"] == 0
    bad = gpu_run.run_one(notebook(tmp_path, "bad.ipynb", "assert 1 + 1 == 3, 'the claim no longer holds'"), "cpu")
    assert not bad["ok"] and "the claim no longer holds" in bad["error"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.ipynb", "good.ipynb"]  # the copies are gone
    table = gpu_run.table([good, bad], "cpu")
    assert "| good.ipynb |" in table
    assert "NO: AssertionError: the claim no longer holds (cell `assert 1 + 1 == 3" in table
