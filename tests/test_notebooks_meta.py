"""Static checks of the committed notebooks; nbval (collected from notebooks/) checks their outputs."""

import ast
import pathlib
import re

import nbformat
import pytest

import helpers

ROOT = pathlib.Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
IDS = [p.name for p in NOTEBOOKS]
STUDENT = sorted((ROOT / "notebooks" / "student").glob("*.ipynb"))
SETUP_CELL = ROOT / "tools" / "setup_cell.py"


def read(path):
    return nbformat.read(path, as_version=4)


def code_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code"]


def test_notebooks_are_numbered_from_00_without_gaps():
    assert NOTEBOOKS, "no notebooks found"
    numbers = [int(p.name[:2]) for p in NOTEBOOKS]
    assert numbers == list(range(len(numbers))), IDS


@pytest.mark.parametrize("path", NOTEBOOKS + STUDENT, ids=IDS + [f"student/{p.name}" for p in STUDENT])
def test_setup_cell_is_the_one_source(path):
    setup = SETUP_CELL.read_text().rstrip("\n")
    assert code_cells(read(path))[0].source == setup, "run `python -m tools.notebooks sync-setup`"


def test_setup_cell_names_the_repository():
    assert f'REPO_URL = "https://github.com/{helpers.REPOSITORY}"' in SETUP_CELL.read_text()


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_title_cell_has_its_colab_badge(path):
    first = read(path).cells[0]
    assert first.cell_type == "markdown" and first.source.startswith("# ")
    url = f"https://colab.research.google.com/github/{helpers.REPOSITORY}/blob/{helpers.BRANCH}/notebooks/{path.name}"
    assert url in first.source


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_saved_after_restart_and_run_all(path):
    counts = [c.execution_count for c in code_cells(read(path))]
    assert counts == list(range(1, len(counts) + 1)), "save the notebook after Restart & Run All"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_no_errors_warnings_or_bulk_in_outputs(path):
    assert path.stat().st_size < 1024 * 1024, "over 1 MB: shrink the figures"
    for i, cell in enumerate(code_cells(read(path))):
        for out in cell.outputs:
            assert out.output_type != "error", f"code cell {i} stored an error"
            assert not (out.output_type == "stream" and out.name == "stderr"), f"code cell {i} wrote to stderr"
            text = out.get("text", "") + out.get("data", {}).get("text/plain", "")
            assert not re.search(r"<matplotlib\.|at 0x[0-9a-f]+", text), f"code cell {i} shows an object repr"


def asserts(source):
    """Whether the code has an assert statement (a comment or a string saying "assert" is not one)."""
    tree = ast.parse(re.sub(r"^[ \t]*[%!].*$", "", source, flags=re.M))  # IPython's magics and shell lines
    return any(isinstance(node, ast.Assert) for node in ast.walk(tree))


def test_an_assert_is_a_statement_not_a_word():
    assert asserts("x = 1\n%time y = 2\nif x:\n    assert x == 1, 'no'")
    assert not asserts("print('assert')  # assert x == 1\nassertion = 1")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_ignored_outputs_are_still_checked_and_solutions_are_marked(path):
    for i, cell in enumerate(code_cells(read(path))):
        if cell.source.startswith("# NBVAL_IGNORE_OUTPUT"):
            assert asserts(cell.source), f"code cell {i} ignores its output, so it must assert its result"
        assert cell.source.count("# BEGIN SOLUTION") == cell.source.count("# END SOLUTION"), f"code cell {i}"


def test_readme_lists_every_notebook():
    readme = (ROOT / "README.md").read_text()
    for path in NOTEBOOKS:
        assert path.name in readme


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_the_portable_check_compares_some_cells_exactly(path):
    """pytest runs nbval in lax mode: only cells tagged nbval-check-output are compared with the committed text.
    A lesson with none would be compared nowhere off the reference machine."""
    cells = [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]
    tagged = [c for c in cells if "nbval-check-output" in c.metadata.get("tags", [])]
    assert tagged, f"{path.name}: tag the cells whose output is exact by construction with nbval-check-output"
    assert all(c.execution_count and c.outputs is not None for c in tagged), "a tagged cell must have been run"
