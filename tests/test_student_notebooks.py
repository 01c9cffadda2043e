"""The learner versions in notebooks/student/: in sync with the lessons, no solutions, and they run to the end
without printing a solution or a True/False echo."""

import pathlib
import re

import nbformat
import pytest

from tools import notebooks as tools

ROOT = pathlib.Path(__file__).resolve().parent.parent

LESSONS = [
    p for p in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")) if tools.has_exercises(nbformat.read(p, 4))
]
IDS = [p.name for p in LESSONS]
TRIVIAL = re.compile(r"^(return \w+|pass|else:|try:|\)|\]|\}|return|break|continue)$")


def student(path):
    return nbformat.read(tools.STUDENT / path.name, as_version=4)


def solution_lines(nb):
    """The lines of every solution and prediction block, without comments; short or trivial lines left out."""
    lines = set()
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        blocks = [m.group(0) for m in tools.SOLUTION.finditer(cell.source)]
        blocks += [m["body"] for m in tools.PREDICTION.finditer(cell.source)]
        for block in blocks:
            for line in block.splitlines():
                code = line.split("  # ", 1)[0].strip()
                if len(code) >= 10 and not code.startswith("#") and not TRIVIAL.match(code):
                    lines.add(code)
    return lines


def outputs(nb):
    """(cell index, text) of every output: printed text, errors, and each displayed value as text."""
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            if "text" in out:
                yield i, out["text"]
            if out.get("output_type") == "error":
                yield i, "\n".join(out.get("traceback", []))
            for kind, data in out.get("data", {}).items():
                if kind.startswith("text/"):
                    yield i, data if isinstance(data, str) else "".join(data)


def test_every_lesson_with_exercises_has_a_student_version():
    assert LESSONS, "no lesson has exercises"
    assert sorted(p.name for p in tools.STUDENT.glob("*.ipynb")) == IDS


@pytest.mark.parametrize("path", LESSONS, ids=IDS)
def test_student_version_is_in_sync(path):
    expected = tools.student_version(nbformat.read(path, as_version=4), path.name)
    got = student(path)
    assert [(c.cell_type, c.source) for c in got.cells] == [(c.cell_type, c.source) for c in expected.cells], (
        "out of date: run `python -m tools.notebooks student`"
    )


@pytest.mark.parametrize("path", LESSONS, ids=IDS)
def test_student_version_hides_solutions_and_runs_to_the_end(path):
    nb = student(path)
    sources = [c.source for c in nb.cells if c.cell_type == "code"]
    assert not any("# BEGIN SOLUTION" in s or "# BEGIN PREDICTION" in s for s in sources)
    assert sum(s.count("raise NotImplementedError") + s.count("# YOUR PREDICTION HERE") for s in sources) >= 1
    assert all(not c.outputs for c in nb.cells if c.cell_type == "code")
    nb, _ = tools.execute(tools.STUDENT / path.name)  # the same kernel set-up as `tools/notebooks.py run`
    printed = "".join(text for _, text in outputs(nb))
    assert "not implemented yet" in printed  # each unfinished exercise gets the checker's nudge, not a traceback
    assert "✅" not in printed and "Traceback" not in printed
    solutions = solution_lines(nbformat.read(path, as_version=4))
    assert solutions, "no solution lines found in the lesson"
    # A line the student version shows in its own code is no secret its output could give away (whether the
    # lesson shows the answer too close to the exercise is a question for its review, not for this test).
    solutions = {line for line in solutions if not any(line in source for source in sources)}
    for i, text in outputs(nb):
        leaked = [line for line in solutions if line in text]
        assert not leaked, f"cell {i} of the untouched student notebook prints solution code: {leaked}"
        assert text.strip() not in ("True", "False"), f"cell {i} echoes {text.strip()}"


@pytest.mark.parametrize("path", LESSONS, ids=IDS)
def test_the_lesson_shows_no_true_false_echo_either(path):
    for i, text in outputs(nbformat.read(path, as_version=4)):
        assert text.strip() not in ("True", "False"), f"cell {i} echoes {text.strip()}"


# ----------------------------------------------------------------------------- student_version itself


def lesson(*sources):
    cells = [nbformat.v4.new_markdown_cell("# T\n\n[badge](https://colab/x/blob/main/notebooks/01_t.ipynb)")]
    return nbformat.v4.new_notebook(cells=cells + [nbformat.v4.new_code_cell(s) for s in sources])


def test_a_prediction_block_becomes_none_so_run_all_goes_on():
    nb = lesson("# BEGIN PREDICTION\nmy_guess = 0.5  # the weight\nratio: float = 2.0\n# END PREDICTION\nprint(1)")
    out = tools.student_version(nb, "01_t.ipynb")
    assert out.cells[1].source == (
        "my_guess = None  # YOUR PREDICTION HERE\nratio = None  # YOUR PREDICTION HERE\nprint(1)"
    )
    assert "# YOUR PREDICTION HERE" in out.cells[0].source and 'helpers.checks.solution("' in out.cells[0].source


def test_a_prediction_block_without_a_variable_is_an_error():
    with pytest.raises(ValueError, match="assigns no variable"):
        tools.student_version(lesson("# BEGIN PREDICTION\nprint(0.5)\n# END PREDICTION"), "01_t.ipynb")


def test_a_solution_block_at_the_top_level_is_an_error():
    with pytest.raises(ValueError, match="inside a function"):
        tools.student_version(lesson("# BEGIN SOLUTION\nx = 1\n# END SOLUTION"), "01_t.ipynb")


def test_solution_lines_ignore_comments_and_trivial_lines():
    nb = lesson(
        "def f(x):\n    # BEGIN SOLUTION\n    # a comment\n    y = x.mean(dim=-1)  # why\n"
        "    return y\n    # END SOLUTION"
    )
    assert solution_lines(nb) == {"y = x.mean(dim=-1)"}
