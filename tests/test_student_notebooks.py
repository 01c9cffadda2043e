"""The learner versions in notebooks/student/: in sync with the lessons, no solutions, and they run."""

import importlib.util
import pathlib

import nbformat
import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("notebook_tools", ROOT / "tools" / "notebooks.py")
tools = importlib.util.module_from_spec(spec)
spec.loader.exec_module(tools)

LESSONS = [
    p
    for p in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    if any("# BEGIN SOLUTION" in c.source for c in nbformat.read(p, as_version=4).cells)
]
IDS = [p.name for p in LESSONS]


def student(path):
    return nbformat.read(tools.STUDENT / path.name, as_version=4)


def test_every_lesson_with_exercises_has_a_student_version():
    assert LESSONS, "no lesson has exercises"
    assert sorted(p.name for p in tools.STUDENT.glob("*.ipynb")) == IDS


@pytest.mark.parametrize("path", LESSONS, ids=IDS)
def test_student_version_is_in_sync(path):
    expected = tools.student_version(nbformat.read(path, as_version=4), path.name)
    got = student(path)
    assert [(c.cell_type, c.source) for c in got.cells] == [(c.cell_type, c.source) for c in expected.cells], (
        "out of date: run `python tools/notebooks.py student`"
    )


@pytest.mark.parametrize("path", LESSONS, ids=IDS)
def test_student_version_hides_solutions_and_runs_to_the_end(path):
    nb = student(path)
    sources = [c.source for c in nb.cells if c.cell_type == "code"]
    assert not any("# BEGIN SOLUTION" in s for s in sources)
    assert sum(s.count("raise NotImplementedError") for s in sources) >= 1
    assert all(not c.outputs for c in nb.cells if c.cell_type == "code")
    nb, _ = tools.execute(tools.STUDENT / path.name)  # the same kernel set-up as `tools/notebooks.py run`
    printed = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert "not implemented yet" in printed  # each unfinished exercise gets the checker's hint, not a traceback
    assert "✅" not in printed
