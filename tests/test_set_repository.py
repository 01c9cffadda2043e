"""tools/set_repository.py on a copy of the workshop: every place that names the repository follows, in one go."""

import pathlib
import shutil
import subprocess
import sys

import nbformat
import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_a_fork_rewrites_badges_setup_cells_and_helpers(tmp_path):
    for part in ("helpers", "tools", "notebooks"):
        shutil.copytree(ROOT / part, tmp_path / part, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "README.md", tmp_path / "README.md")
    # As committed after `python -m tools.notebooks sync-setup` (tests/test_notebooks_meta.py checks that on its own).
    sync = [sys.executable, "-m", "tools.notebooks", "sync-setup"]
    subprocess.run(sync, cwd=tmp_path, check=True, capture_output=True)
    result = subprocess.run(
        [sys.executable, "tools/set_repository.py", "someone/my-fork", "dev"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr

    assert 'REPOSITORY = "someone/my-fork"' in (tmp_path / "helpers" / "__init__.py").read_text()
    assert 'BRANCH = "dev"' in (tmp_path / "helpers" / "__init__.py").read_text()
    setup = (tmp_path / "tools" / "setup_cell.py").read_text()
    assert 'REPO_URL = "https://github.com/someone/my-fork"\nBRANCH = "dev"\n' in setup  # Colab clones that branch
    readme = (tmp_path / "README.md").read_text()
    assert "colab.research.google.com/github/someone/my-fork/blob/dev/notebooks/00_setup.ipynb" in readme
    assert "mybinder.org/v2/gh/someone/my-fork/dev?" in readme and "v2/gh/transformer-fundamentals" not in readme
    for path in sorted((tmp_path / "notebooks").rglob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        first_code = next(c for c in nb.cells if c.cell_type == "code")
        assert first_code.source == setup.rstrip("\n"), path.name
        assert "/github/someone/my-fork/blob/dev/notebooks/" in nb.cells[0].source, path.name
