import pathlib

import nbformat
from repo_scripts import load_script

ROOT = pathlib.Path(__file__).resolve().parent.parent


def load(name):
    return load_script(f"tools/{name}.py")


def test_draft_turns_percent_cells_into_a_notebook(tmp_path, capsys):
    script = tmp_path / "draft.py"
    script.write_text("# %% [markdown]\n# # Title\n#\n# Some *text*.\n\n# %%\nx = 1\nprint(x)\n\n# %%\n\n")
    out = tmp_path / "draft.ipynb"
    load("notebooks").draft(script, out)
    nb = nbformat.read(out, as_version=4)
    assert [c.cell_type for c in nb.cells] == ["markdown", "code"]  # the empty code cell is dropped
    assert nb.cells[0].source == "# Title\n\nSome *text*."
    assert nb.cells[1].source == "x = 1\nprint(x)"
    assert nb.metadata.kernelspec.name == "python3"


def test_budgets():
    tools = load("notebooks")
    assert tools.budget(pathlib.Path("00_setup.ipynb")) == (10.0, 10.0)
    assert tools.budget(pathlib.Path("03_mlp.ipynb")) == (25.0, 10.0)
    assert tools.budget(pathlib.Path("06_encoder_decoder.ipynb")) == (45.0, 20.0)
    assert tools.budget(pathlib.Path("07_gpt.ipynb")) == (75.0, 25.0)


def test_student_version_replaces_solutions_and_keeps_the_lesson_going():
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell("# T\n\n[badge](https://colab/x/blob/main/notebooks/01_t.ipynb)"),
            nbformat.v4.new_code_cell(
                "def f(x):\n    y = 2\n    # BEGIN SOLUTION\n    return x * y\n    # END SOLUTION\n\n\n"
                "assert helpers.checks.check_f(f)"
            ),
        ]
    )
    nb.cells[1].outputs = [nbformat.v4.new_output("stream", text="✅")]
    out = load("notebooks").student_version(nb, "01_t.ipynb")
    assert out.cells[1].source == (
        "def f(x):\n    y = 2\n    # YOUR CODE HERE\n    raise NotImplementedError\n\n\nhelpers.checks.check_f(f)"
    )
    assert out.cells[1].outputs == [] and out.cells[1].execution_count is None
    assert "/notebooks/student/01_t.ipynb)" in out.cells[0].source and "../01_t.ipynb" in out.cells[0].source
    assert nb.cells[1].outputs  # the lesson itself is left alone
