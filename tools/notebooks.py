"""Execute the workshop notebooks the way the tests check them, and time them against the budgets.

    python tools/notebooks.py run [NOTEBOOK ...]     execute in place and save the outputs (Restart & Run All)
    python tools/notebooks.py bench [NOTEBOOK ...]   execute copies, report seconds per notebook and slowest cell
    python tools/notebooks.py student [NOTEBOOK ...] write notebooks/student/: the exercises left for the learner
    python tools/notebooks.py draft SCRIPT.py OUT.ipynb   turn a '# %%' percent-format draft into a notebook

Both run and bench set WORKSHOP_PROGRESS=0 (no progress bars), as the test suite does. With no
notebooks named they take every notebook in notebooks/. Budgets: 10 s for 00_setup, 25 s for the
others, 10 s for any one cell; bench exits 1 when one is over.
"""

import argparse
import copy
import os
import pathlib
import re
import sys
import time

import nbformat
from nbclient import NotebookClient

ROOT = pathlib.Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
STUDENT = NOTEBOOKS / "student"
CELL_BUDGET_S = 10.0
SOLUTION = re.compile(r"^(?P<indent>[ \t]*)# BEGIN SOLUTION\n.*?^[ \t]*# END SOLUTION[ \t]*$", re.S | re.M)
CHECK = re.compile(r"^assert (helpers\.checks\.check_\w+\(.*\))$", re.M)


def notebook_budget(path):
    return 10.0 if path.name.startswith("00_") else 25.0


def execute(path, timeout=120):
    """Run every cell of a fresh kernel in the notebook's folder; returns (notebook, seconds per code cell)."""
    nb = nbformat.read(path, as_version=4)
    # The kernel's environment is a copy: the caller's os.environ stays as it was.
    env = {**os.environ, "WORKSHOP_PROGRESS": "0"}
    env.pop("MPLBACKEND", None)  # let the kernel use its inline backend, as in Jupyter
    client = NotebookClient(
        nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    )
    times = []
    original = client.async_execute_cell

    async def timed(cell, cell_index, **kwargs):
        start = time.perf_counter()
        result = await original(cell, cell_index, **kwargs)
        if cell.cell_type == "code":
            times.append((cell_index, time.perf_counter() - start))
        return result

    client.async_execute_cell = timed
    client.execute(env=env)  # passed on to the kernel manager's start_kernel
    return nb, times


def clean(nb):
    """Drop what changes on every run and means nothing to a reader: timings, widget state."""
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
    nb.metadata.pop("widgets", None)
    return nb


def report(path, times):
    total = sum(t for _, t in times)
    slow_index, slow = max(times, key=lambda it: it[1]) if times else (None, 0.0)
    over = []
    if total > notebook_budget(path):
        over.append(f"notebook {total:.1f} s > {notebook_budget(path):.0f} s")
    if slow > CELL_BUDGET_S:
        over.append(f"cell {slow_index} {slow:.1f} s > {CELL_BUDGET_S:.0f} s")
    status = "OVER BUDGET: " + "; ".join(over) if over else "ok"
    print(f"{path.name:<32} {total:6.1f} s   slowest cell #{slow_index}: {slow:5.1f} s   {status}", flush=True)
    return not over


def student_version(nb, name):
    """The notebook with each solution replaced by `raise NotImplementedError`, outputs cleared.

    The checker calls lose their `assert`, so an exercise not done yet prints the checker's hint instead
    of stopping the notebook: the lesson goes on, since later cells never use the learner's answers.
    """
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.source = SOLUTION.sub(
                lambda m: f"{m['indent']}# YOUR CODE HERE\n{m['indent']}raise NotImplementedError", cell.source
            )
            cell.source = CHECK.sub(r"\1", cell.source)
            cell.outputs, cell.execution_count = [], None
    title = nb.cells[0]
    title.source = title.source.replace(f"/notebooks/{name})", f"/notebooks/student/{name})", 1)
    title.source += (
        f"\n\n> **Your version:** the exercises are left for you (`# YOUR CODE HERE`). The worked solutions and "
        f"the outputs are in [`../{name}`](../{name})."
    )
    return nb


def write_student(paths):
    STUDENT.mkdir(exist_ok=True)
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        if any("# BEGIN SOLUTION" in c.source for c in nb.cells if c.cell_type == "code"):
            nbformat.write(student_version(nb, path.name), STUDENT / path.name)
            print(f"wrote {STUDENT.relative_to(ROOT) / path.name}")


def draft(script, out):
    """'# %%' starts a code cell, '# %% [markdown]' a markdown cell whose lines start with '# '."""
    cells, kind, lines = [], None, []

    def flush():
        text = "\n".join(lines).strip("\n")
        if kind == "markdown":
            uncommented = (line[2:] if line.startswith("# ") else line.lstrip("#") for line in text.splitlines())
            cells.append(nbformat.v4.new_markdown_cell("\n".join(uncommented)))
        elif kind == "code" and text:
            cells.append(nbformat.v4.new_code_cell(text))

    for line in pathlib.Path(script).read_text().splitlines():
        if line.startswith("# %%"):
            flush()
            kind, lines = ("markdown" if "[markdown]" in line else "code"), []
        else:
            lines.append(line)
    flush()
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata.kernelspec = {"display_name": "Python 3", "language": "python", "name": "python3"}
    nb.metadata.language_info = {"name": "python"}
    nbformat.write(nb, out)
    print(f"wrote {out} ({len(cells)} cells)")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["run", "bench", "student", "draft"])
    parser.add_argument("paths", nargs="*")
    args = parser.parse_args(argv)
    if args.command == "draft":
        if len(args.paths) != 2:
            parser.error("draft takes SCRIPT.py OUT.ipynb")
        return draft(*args.paths)
    paths = [pathlib.Path(p).resolve() for p in args.paths] or sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    if args.command == "student":
        return write_student(paths)
    ok = True
    for path in paths:
        nb, times = execute(path)
        if args.command == "run":
            nbformat.write(clean(nb), path)
        ok &= report(path, times)
    return 0 if ok or args.command == "run" else 1


if __name__ == "__main__":
    sys.exit(main())
