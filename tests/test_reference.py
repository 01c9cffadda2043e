"""The two notebook checks keep their power: the portable check (pytest --nbval-lax, the README's command) fails on a
real regression, and the strict reference check (python -m tools.notebooks reference) reports each changed cell
with its kind."""

import os
import pathlib
import subprocess
import sys
import xml.etree.ElementTree as ET

import nbformat
import pytest

from tools import notebooks

ROOT = pathlib.Path(__file__).resolve().parent.parent


def test_the_pins_apply_only_on_x86_64_linux_with_avx2(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor : 0\nflags : fpu sse2 avx avx2 fma\n")
    assert notebooks.pins_missing("x86_64", "Linux", cpuinfo) is None
    assert "Darwin on arm64" in notebooks.pins_missing("arm64", "Darwin", cpuinfo)
    assert "Windows on AMD64" in notebooks.pins_missing("AMD64", "Windows", cpuinfo)
    cpuinfo.write_text("processor : 0\nflags : fpu sse2 avx fma\n")
    assert "no AVX2" in notebooks.pins_missing("x86_64", "Linux", cpuinfo)


def test_the_reference_check_skips_where_the_pins_cannot_apply(monkeypatch, capsys):
    monkeypatch.setattr(notebooks, "pins_missing", lambda: "the pins hold x86-64 Linux kernels, this is Darwin")
    monkeypatch.setattr(notebooks, "check_reference", lambda path: pytest.fail("nothing may run"))
    assert notebooks.main(["reference"]) == 0
    assert capsys.readouterr().out.startswith("reference check skipped: the pins hold x86-64 Linux kernels, this")


@pytest.mark.slow
@pytest.mark.skipif(notebooks.pins_missing() is not None, reason="the pins apply on x86-64 Linux with AVX2 only")
def test_run_writes_the_references_outputs_and_the_check_reports_each_cell_by_kind(tmp_path, capsys):
    sources = [
        "import os, torch\ntorch.set_num_threads(1)  # as the setup cell does\n"
        "print(os.environ['ATEN_CPU_CAPABILITY'], torch.backends.cpu.get_cpu_capability())",
        "print(torch.get_num_threads(), os.environ['WORKSHOP_DEVICE'])",
        "print(round(0.5, 3))",
        "print((2, 3))",
    ]
    path = tmp_path / "01_tiny.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources]), path)
    assert notebooks.main(["run", str(path)]) == 0
    nb = nbformat.read(path, as_version=4)
    # The pins reached the kernel before torch was imported: torch took its AVX2 kernels.
    assert [c.outputs[0].text for c in nb.cells] == ["avx2 AVX2\n", "1 cpu\n", "0.5\n", "(2, 3)\n"]
    assert notebooks.reference([path]) == 0
    nb.cells[2].outputs[0].text, nb.cells[3].outputs[0].text = "0.4\n", "(2, 4)\n"  # as if committed elsewhere
    nbformat.write(nb, path)
    capsys.readouterr()
    assert notebooks.reference([path]) == 1
    out = capsys.readouterr().out
    assert (
        "01_tiny.ipynb: OTHER differences (text, shapes, errors or warnings) in cells 3; numbers only in cells 2" in out
    )
    assert "Cell 2 (numbers only), stdout: committed '0.4', this run '0.5'" in out
    assert "Cell 3 (other), stdout: committed '(2, 4)', this run '(2, 3)'" in out
    assert "Cell 0" not in out and "Cell 1" not in out
    assert out.rstrip().endswith(notebooks.REFERENCE_FAILED)


@pytest.mark.slow
def test_the_portable_check_fails_on_a_real_regression(tmp_path):
    """A copy of 00_setup with three regressions, each in a cell whose output differs on other CPUs too (so
    --nbval-lax does not compare it) or in a tagged one: a layer built at another width (a tagged cell's
    parameter count), a new warning (stderr, an untagged cell) and a learning rate 1000x too small (the
    training cell's assert). Exactly those three cells fail; the others pass."""
    for folder in ("helpers", "data"):
        (tmp_path / folder).symlink_to(ROOT / folder)  # the setup cell finds helpers/ above the notebook
    (tmp_path / "notebooks").mkdir()
    nb = nbformat.read(ROOT / "notebooks" / "00_setup.ipynb", as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    edits = {
        3: (
            "model = helpers.TinyTransformer(**config)",
            'model = helpers.TinyTransformer(**{**config, "d_model": 24})',
        ),
        5: ("stats = ", "import warnings\nwarnings.warn('a new warning')\nstats = "),
        6: ("lr=3e-3", "lr=3e-6"),
    }
    for number, (old, new) in edits.items():
        assert old in code[number].source, f"00_setup's cell {number} changed: update this test's edit"
        code[number].source = code[number].source.replace(old, new, 1)
    assert "nbval-check-output" in code[3].metadata.tags and "nbval-check-output" not in code[5].metadata.get(
        "tags", []
    )
    path = tmp_path / "notebooks" / "00_regressed.ipynb"
    nbformat.write(nb, path)
    report = tmp_path / "report.xml"
    command = [sys.executable, "-m", "pytest", "-c", str(ROOT / "pyproject.toml"), "--rootdir", str(ROOT)]
    command += ["-p", "conftest", "-n", "0", "-q", f"--junitxml={report}", str(path)]  # conftest: the stderr rule
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    cases = ET.parse(report).getroot().iter("testcase")
    outcome = {case.get("name"): "failed" if case.find("failure") is not None else "passed" for case in cases}
    assert outcome == {f"Cell {n}": "failed" if n in edits else "passed" for n in range(len(code))}
    text = report.read_text()
    assert "parameters:" in text and "the cell wrote to stderr" in text and "the loss should at least halve" in text
