import pathlib

import nbformat
import pytest

from tools import code_stats, notebooks

ROOT = pathlib.Path(__file__).resolve().parent.parent


def test_draft_turns_percent_cells_into_a_notebook(tmp_path, capsys):
    script = tmp_path / "draft.py"
    script.write_text("# %% [markdown]\n# # Title\n#\n# Some *text*.\n\n# %%\nx = 1\nprint(x)\n\n# %%\n\n")
    out = tmp_path / "draft.ipynb"
    notebooks.draft(script, out)
    nb = nbformat.read(out, as_version=4)
    assert [c.cell_type for c in nb.cells] == ["markdown", "code"]  # the empty code cell is dropped
    assert nb.cells[0].source == "# Title\n\nSome *text*."
    assert nb.cells[1].source == "x = 1\nprint(x)"
    assert nb.metadata.kernelspec.name == "python3"


def test_a_notebook_gets_its_lessons_budget_by_number():
    assert notebooks.budget(pathlib.Path("07_anything.ipynb")) == notebooks.BUDGETS_S["07"]
    assert notebooks.budget(pathlib.Path("notebooks/student/04_x.ipynb")) == notebooks.BUDGETS_S["04"]
    assert notebooks.budget(pathlib.Path("03_mlp.ipynb")) == notebooks.DEFAULT_BUDGET_S  # no budget of its own


def test_the_budgets_are_written_from_one_place():
    """BUDGETS_S is the one home: the README and docs/INSTRUCTOR.md state it in the words budget_text() writes,
    and the agenda table's budget column agrees with it."""
    text = notebooks.budget_text()
    assert text.startswith("10 s / 10 s for `00`, 40 s / 25 s for `04` and `05`,")  # how it reads
    for doc in ("README.md", "docs/INSTRUCTOR.md"):
        assert text in " ".join((ROOT / doc).read_text().split()), f"{doc}: write the budgets as {text!r}"
    rows = [line for line in (ROOT / "docs/INSTRUCTOR.md").read_text().splitlines() if "_" in line[:6]]
    table = {row.split("|")[1].strip(): row.split("|")[4].strip() for row in rows if row.count("|") == 7}
    assert len(table) == len(list(notebooks.NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")))
    for name, cell in table.items():
        assert cell == "{:.0f} / {:.0f}".format(*notebooks.budget(pathlib.Path(name))), name


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
    out = notebooks.student_version(nb, "01_t.ipynb")
    assert out.cells[1].source == (
        "def f(x):\n    y = 2\n    # YOUR CODE HERE\n    raise NotImplementedError\n\n\nhelpers.checks.check_f(f)"
    )
    assert out.cells[1].outputs == [] and out.cells[1].execution_count is None
    assert "/notebooks/student/01_t.ipynb)" in out.cells[0].source and "../01_t.ipynb" in out.cells[0].source
    assert nb.cells[1].outputs  # the lesson itself is left alone


# ----------------------------------------------------------------------------- code_stats


@pytest.mark.parametrize("path", code_stats.MODULES)
def test_the_modules_a_learner_reads_are_mostly_maths(path):
    """`python -m tools.code_stats` prints these shares; a module joins the list in code_stats.MODULES."""
    total, checks = code_stats.count(code_stats.ROOT / path)
    assert checks / total <= code_stats.MAX_SHARE, (
        f"{path}: {checks} of {total} executable lines validate arguments ({checks / total:.0%} > "
        f"{code_stats.MAX_SHARE:.0%}); move checks into helpers/_validate.py (`python -m tools.code_stats --show`)"
    )


def test_all_of_helpers_is_mostly_maths():
    """The share across helpers/*.py, _validate.py included: moving checks there does not lower it."""
    assert "helpers/_validate.py" in code_stats.HELPERS
    total, checks = code_stats.count_all(code_stats.HELPERS)
    assert checks / total <= code_stats.MAX_TOTAL_SHARE, (
        f"helpers/: {checks} of {total} executable lines validate arguments ({checks / total:.1%} > "
        f"{code_stats.MAX_TOTAL_SHARE:.0%}): drop checks that restate torch's own clear errors"
    )


def test_code_stats_counts_what_its_docstring_says(tmp_path):
    path = tmp_path / "m.py"
    path.write_text(
        '"""Docstring: not counted."""\n'
        "\n"
        "def f(x, n):\n"  # 1 executable
        '    """Not counted either."""\n'
        "    check_positive_int(n, 'n')\n"  # 2 executable, validation
        "    if n > 3:\n"  # 3 validation (an if that only raises)
        "        raise ValueError(\n"  # 4 validation
        "            'too big'\n"  # 5 validation
        "        )\n"  # 6 validation
        "    # a comment\n"
        "    y = x * n\n"  # 7 executable
        "    if y:\n"  # 8 executable: this if does work
        "        y = y + 1\n"  # 9
        "    return y\n"  # 10
        "\n"
        "def _check_x(x):\n"  # 11 validation (a check's whole body)
        "    return x\n"  # 12 validation
    )
    assert code_stats.count(path) == (12, 7)


def test_binders_torch_agrees_with_the_pins_or_says_what_differs():
    def torch_pin(path):
        (line,) = [x for x in (ROOT / path).read_text().splitlines() if x.startswith("torch==")]
        return line.removeprefix("torch==").split("+")[0]

    binder, pinned = torch_pin("binder/requirements.txt"), torch_pin("constraints.txt")
    if binder != pinned:
        note = (ROOT / "binder/requirements.txt").read_text()
        assert f"constraints.txt ({pinned})" in note and "What it changes" in note, (
            f"Binder installs torch {binder}, the pins {pinned}: make them agree or say in binder/requirements.txt "
            "what the difference changes"
        )
