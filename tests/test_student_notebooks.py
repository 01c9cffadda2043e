"""The learner versions in notebooks/student/: in sync with the lessons, no solutions shown, and they run to the end.

They run inside their lesson's nbval run (`pytest notebooks/NN_name.ipynb` runs both), so that no notebook's
training runs twice per `pytest`: each exercise cell's learner version runs in the lesson's kernel just before
the lesson's own cell, with the learner's earlier stubs and None guesses swapped in, and is scanned there for
the checker's nudge, a traceback, solution code, a ✅ or a True/False echo (tests/student_cells.py says how).
Every other cell of a learner's version is the lesson's own cell: the tests below check that those cells read
no exercise's name (but as a checker's argument) and that their committed outputs, which nbval keeps true,
show no solution code.
"""

import nbformat
import pytest

from tests.student_cells import exercise_names, leaks, reads_exercise_names, secrets, solution_lines
from tools import notebooks as tools

LESSONS = [p for p in sorted(tools.NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")) if tools.has_exercises(nbformat.read(p, 4))]
IDS = [p.name for p in LESSONS]


def student(path):
    return nbformat.read(tools.STUDENT / path.name, as_version=4)


def lesson_of(path):
    return nbformat.read(path, as_version=4)


def code(nb):
    return [c for c in nb.cells if c.cell_type == "code"]


def test_every_lesson_with_exercises_has_a_student_version():
    assert LESSONS, "no lesson has exercises"
    assert sorted(p.name for p in tools.STUDENT.glob("*.ipynb")) == IDS


@pytest.mark.parametrize("path", LESSONS, ids=IDS)
def test_student_version_is_in_sync(path):
    expected = tools.student_version(lesson_of(path), path.name)
    got = student(path)
    assert [(c.cell_type, c.source) for c in got.cells] == [(c.cell_type, c.source) for c in expected.cells], (
        "out of date: run `python -m tools.notebooks student`"
    )


@pytest.mark.parametrize("path", LESSONS, ids=IDS)
def test_student_version_hides_solutions(path):
    nb = student(path)
    sources = [c.source for c in code(nb)]
    assert not any("# BEGIN SOLUTION" in s or "# BEGIN PREDICTION" in s for s in sources)
    assert sum(s.count("raise NotImplementedError") + s.count("# YOUR PREDICTION HERE") for s in sources) >= 1
    assert all(not c.outputs for c in code(nb))
    assert solution_lines(lesson_of(path)), "no solution lines found in the lesson"


@pytest.mark.parametrize("path", LESSONS, ids=IDS)
def test_shared_cells_do_not_use_the_learners_answers(path):
    """A cell both versions share runs only once, as the lesson's: it must not depend on a learner's answer."""
    found = reads_exercise_names(lesson_of(path), student(path))
    assert not found, (
        f"cells that read an exercise's name outside a checker call, so a learner's stub or None would reach "
        f"them (code cell, name): {found}"
    )


@pytest.mark.parametrize("path", LESSONS, ids=IDS)
def test_shared_cells_show_no_solution_code(path):
    lesson, learner = lesson_of(path), student(path)
    hidden = secrets(lesson, learner)
    for i, (ours, theirs) in enumerate(zip(code(lesson), code(learner), strict=True)):
        if ours.source == theirs.source:
            assert not leaks(ours.outputs, hidden), f"code cell {i}, shared with the learner's version"


@pytest.mark.parametrize("path", LESSONS, ids=IDS)
def test_the_lesson_shows_no_true_false_echo_either(path):
    for i, cell in enumerate(code(lesson_of(path))):
        assert not [f for f in leaks(cell.outputs, set()) if "echoes" in f], f"code cell {i}"


def test_the_scan_finds_each_kind_of_leak():
    out = [nbformat.v4.new_output("stream", text="y = x.mean(dim=-1)\n✅ done\n"), nbformat.v4.new_output(
        "execute_result", data={"text/plain": "True"}, execution_count=1)]
    assert len(leaks(out, {"y = x.mean(dim=-1)"})) == 3
    assert exercise_names("def f(x):\n    # BEGIN SOLUTION\n    return x\n    # END SOLUTION\n") == ["f"]
    assert exercise_names("# BEGIN PREDICTION\nguess = 2\n# END PREDICTION") == ["guess"]


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
