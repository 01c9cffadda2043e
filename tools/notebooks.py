"""Execute the workshop notebooks the way the tests check them, and time them against the budgets.

    python -m tools.notebooks run [NOTEBOOK ...]     execute in place and save the outputs (Restart & Run All)
    python -m tools.notebooks bench [NOTEBOOK ...]   execute copies, report seconds per notebook and slowest cell
    python -m tools.notebooks reference [NOTEBOOK ...]  the strict reference check: execute (2 at a time) and
                                                     compare every output with the committed one, digit by digit
    python -m tools.notebooks student [NOTEBOOK ...] write notebooks/student/: the exercises left for the learner
    python -m tools.notebooks draft SCRIPT.py OUT.ipynb   turn a '# %%' percent-format draft into a notebook
    python -m tools.notebooks sync-setup [NOTEBOOK ...]  write tools/setup_cell.py into each first code cell
    python -m tools.notebooks tag-slides [NOTEBOOK ...]  write the slide rule's metadata into the notebooks
    python -m tools.notebooks slides [NOTEBOOK ...]      build slides/NN_name.slides.html, one reveal.js deck each

Run from the repository root (tools/ is a package that imports helpers).

run, bench and reference set WORKSHOP_PROGRESS=0 (no progress bars), as the test suite does, and run the kernel
under REFERENCE_ENV: one thread on the CPU with torch's, MKL's and oneDNN's kernels pinned to AVX2, so that any
x86-64 Linux machine with AVX2 computes the committed outputs digit by digit (issue 24: with these three pins an
AMD EPYC with AVX-512 reproduced 07's outputs made on another machine, 40 cells of 40; without them 14 differed).
Elsewhere (Apple Silicon, Windows, an x86 without AVX2) the pins cannot apply: run says so, reference skips. With no
notebooks named they take every notebook in notebooks/. bench exits 1 when a notebook is over its budget
(BUDGETS_S, notebook / slowest cell).

run also tags every cell for slides, by the rule in slide_type.
"""

import argparse
import asyncio
import concurrent.futures
import copy
import os
import pathlib
import platform
import re
import sys
import time

import nbformat
from nbclient import NotebookClient

try:
    from helpers.checks.core import CHECK_LINE, PREDICTION, SOLUTION
except ModuleNotFoundError as exc:  # `python tools/notebooks.py`: the repository root is not on the import path
    if exc.name != "helpers":
        raise
    sys.exit("run the tools as modules from the repository root: python -m tools.notebooks ...")

ROOT = pathlib.Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
SLIDES = ROOT / "slides"
STUDENT = NOTEBOOKS / "student"
SETUP_CELL = ROOT / "tools" / "setup_cell.py"  # the one source of the cell that opens every notebook
# Seconds on a quiet 2-core machine: (whole notebook, slowest cell). 06 and 07 train whole models.
BUDGETS_S = {
    "00": (10.0, 10.0),
    "04": (40.0, 25.0),
    "05": (40.0, 25.0),
    "06": (45.0, 20.0),
    "07": (90.0, 25.0),
    "08": (60.0, 25.0),
}
DEFAULT_BUDGET_S = (25.0, 10.0)


def lessons(names=()):
    """The notebooks named (a path, or a name in notebooks/), or every lesson when none is."""
    paths = [pathlib.Path(n) if pathlib.Path(n).exists() else NOTEBOOKS / n for n in names]
    return [p.resolve() for p in paths] or sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))


def budget(path):
    """(seconds for the whole notebook, seconds for its slowest cell)."""
    return BUDGETS_S.get(path.name[:2], DEFAULT_BUDGET_S)


def budget_text():
    """The budgets as the README and docs/INSTRUCTOR.md write them (tests/test_tools.py holds them to it)."""
    by_budget = {}
    for lesson, seconds in BUDGETS_S.items():
        by_budget.setdefault(seconds, []).append(f"`{lesson}`")
    parts = [f"{n:.0f} s / {c:.0f} s for {' and '.join(names)}" for (n, c), names in by_budget.items()]
    n, c = DEFAULT_BUDGET_S
    return ", ".join(parts) + f", {n:.0f} s / {c:.0f} s for the others"


# The kernel environment that makes the committed outputs: the CPU, one thread, and torch's (ATen), MKL's and
# oneDNN's kernels held to AVX2. Without the pins an AVX-512 machine takes other kernels and trained numbers move
# in their last digits (issue 24 measured all three pins needed for 07). They must reach the kernel before torch
# is imported, so they go into its environment, not into a cell.
REFERENCE_ENV = {
    "ATEN_CPU_CAPABILITY": "avx2",
    "MKL_CBWR": "AVX2",
    "ONEDNN_MAX_CPU_ISA": "AVX2",
    "WORKSHOP_THREADS": "1",
    "WORKSHOP_DEVICE": "cpu",
}


def pins_missing(machine=None, system=None, cpuinfo="/proc/cpuinfo"):
    """Why REFERENCE_ENV cannot reproduce the committed outputs here, or None where it can (x86-64 Linux, AVX2)."""
    machine, system = machine or platform.machine(), system or platform.system()
    if system != "Linux" or machine.lower() not in ("x86_64", "amd64"):
        return f"the pins hold x86-64 Linux kernels to AVX2, and this is {system} on {machine}"
    flags = next((line for line in pathlib.Path(cpuinfo).read_text().splitlines() if line.startswith("flags")), "")
    if "avx2" not in flags.split():
        return "this x86-64 CPU has no AVX2, the kernels the committed outputs were made with"
    return None


def execute(path, timeout=120, env=None):
    """Run every cell of a fresh kernel in the notebook's folder; returns (notebook, seconds per code cell).
    `env`: variables for the kernel on top of this process's (REFERENCE_ENV for the committed outputs)."""
    nb = nbformat.read(path, as_version=4)
    # The kernel's environment is a copy: the caller's os.environ stays as it was.
    env = {**os.environ, "WORKSHOP_PROGRESS": "0", **(env or {})}
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
    # A loop of its own (as tools/room.py does), so two notebooks can run at once in threads; env goes on to the
    # kernel manager's start_kernel.
    asyncio.run(client.async_execute(env=env))
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
    notebook_s, cell_s = budget(path)
    if total > notebook_s:
        over.append(f"notebook {total:.1f} s > {notebook_s:.0f} s")
    if slow > cell_s:
        over.append(f"cell {slow_index} {slow:.1f} s > {cell_s:.0f} s")
    status = "OVER BUDGET: " + "; ".join(over) if over else "ok"
    print(f"{path.name:<32} {total:6.1f} s   slowest cell #{slow_index}: {slow:5.1f} s   {status}", flush=True)
    return not over


def _student_solution(match):
    indent = match["indent"]
    if not indent:
        raise ValueError(
            "a # BEGIN SOLUTION block at the top level of a cell would become `raise NotImplementedError` and stop "
            "Run All: put the solution inside a function, or use a # BEGIN PREDICTION block for a value to guess"
        )
    return f"{indent}# YOUR CODE HERE\n{indent}raise NotImplementedError"


def _student_prediction(match):
    names = re.findall(r"^(\w+)[ \t]*(?::[^=\n]*)?=(?!=)", match["body"], re.M)
    if not names:
        raise ValueError(f"a # BEGIN PREDICTION block assigns no variable at the top level: {match['body']!r}")
    return "".join(f"{name} = None  # YOUR PREDICTION HERE\n" for name in dict.fromkeys(names)).rstrip("\n")


def student_version(nb, name):
    """The notebook with the exercises left for the learner, outputs cleared.

    Each solution block (inside a function) becomes `raise NotImplementedError`; each prediction block
    (`name = value` lines at the top level) becomes `name = None  # YOUR PREDICTION HERE`, so Run All still
    reaches the end. The checker calls lose their `assert`, so an exercise not done yet prints the
    checker's nudge instead of stopping the notebook: the lesson goes on, since later cells never use the
    learner's answers. (A checker returns a Verdict, which Jupyter does not echo.)
    """
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.source = SOLUTION.sub(_student_solution, cell.source)
            cell.source = PREDICTION.sub(_student_prediction, cell.source)
            cell.source = CHECK_LINE.sub(r"\1", cell.source)
            cell.outputs, cell.execution_count = [], None
    title = nb.cells[0]
    title.source = title.source.replace(f"/notebooks/{name})", f"/notebooks/student/{name})", 1)
    title.source += (
        f"\n\n> **Your version:** the exercises are left for you (`# YOUR CODE HERE`, `# YOUR PREDICTION HERE`). "
        f'A checker under each says what is still wrong; `helpers.checks.solution("function_name")` shows a '
        f"worked solution when you want it. The solutions and the outputs are in [`../{name}`](../{name})."
    )
    return nb


def has_exercises(nb):
    return any(SOLUTION.search(c.source) or PREDICTION.search(c.source) for c in nb.cells if c.cell_type == "code")


def write_student(paths):
    STUDENT.mkdir(exist_ok=True)
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        if has_exercises(nb):
            nbformat.write(student_version(nb, path.name), STUDENT / path.name)
            print(f"wrote {STUDENT.relative_to(ROOT) / path.name}")


def setup_cell_source():
    return SETUP_CELL.read_text().rstrip("\n")


def sync_setup(paths):
    """Make each notebook's first code cell the setup cell's one source; only that cell's text changes."""
    source = setup_cell_source()
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        first = next(c for c in nb.cells if c.cell_type == "code")
        if first.source != source:
            first.source = source
            nbformat.write(nb, path)
            print(f"setup cell written into {path.relative_to(ROOT)}")


# The core path of a lesson ends at its first heading that starts with "Going further" or "Optional".
OPTIONAL = re.compile(r"^#{1,6}[ \t]+(Going further|Optional)", re.M)
DECK = ROOT / "tools" / "deck"  # reveal.js and MathJax, inlined into every deck (tools/deck/README.md)
BADGE = re.compile(r"\[!\[[^\]]*\]\([^)]*\)\]\([^)]*\)[ \t]*")  # a linked badge image: fetched from the web


def optional_start(nb):
    """Index of the cell holding the lesson's first "Going further" / "Optional" heading (len(cells) if none)."""
    found = (i for i, c in enumerate(nb.cells) if c.cell_type == "markdown" and OPTIONAL.search(c.source))
    return next(found, len(nb.cells))


def slide_type(cell, index, setup_index, optional=None):
    """The slide rule: each heading starts a slide, each plot gets its own, printed numbers appear one by one.

    title (`# `) and sections (`## `) -> slide; sub-sections (`### `) and cells that draw a figure -> subslide
    (below their section); cells that print -> fragment; the rest of the prose stays on its heading's slide; the
    setup cell, cells that show nothing and the optional part (from the cell at index `optional`, the first
    "Going further" / "Optional" heading, on) -> skip: the slides show the core path.
    """
    if optional is not None and index >= optional:
        return "skip"
    if cell.cell_type == "markdown":
        heading = cell.source.lstrip().split(" ", 1)[0]
        return {"#": "slide", "##": "slide", "###": "subslide"}.get(heading, "-") if index else "slide"
    if cell.cell_type != "code" or index == setup_index or not cell.get("outputs"):
        return "skip"
    if any("image/png" in out.get("data", {}) for out in cell.outputs):
        return "subslide"
    return "fragment"


def tag_slides(nb):
    """Set every cell's metadata.slideshow.slide_type by the slide rule (in place); returns the notebook."""
    setup_index = next((i for i, c in enumerate(nb.cells) if c.cell_type == "code"), None)
    optional = optional_start(nb)
    for i, cell in enumerate(nb.cells):
        cell.metadata["slideshow"] = {"slide_type": slide_type(cell, i, setup_index, optional)}
    return nb


def build_slides(nb):
    """A reveal.js deck (HTML text) of the lesson's core path; figures show without their drawing code.

    One file that opens offline: reveal.js, its theme and MathJax are inlined from tools/deck/ (nbconvert's own
    template would load them from CDNs), and the Colab badges, images from the web, are left out.
    """
    from nbconvert import SlidesExporter

    nb = tag_slides(copy.deepcopy(nb))
    for cell in nb.cells:
        if cell.metadata.slideshow.slide_type == "subslide" and cell.cell_type == "code":
            cell.metadata["transient"] = {"remove_source": True}
        if cell.cell_type == "markdown":
            cell.source = BADGE.sub("", cell.source)
    prefix = "tools-deck"  # stands for the folder in the two <link>s of nbconvert's template, replaced below
    exporter = SlidesExporter(
        reveal_scroll=True,
        reveal_number="c/t",
        reveal_theme="simple",
        reveal_url_prefix=prefix,
        exclude_input_prompt=True,
        extra_template_paths=[str(DECK)],
        template_file="deck.html.j2",
    )
    assets = {"mathjax": (DECK / "tex-svg.js").read_text(), "reveal": (DECK / "reveal.js").read_text()}
    html, _ = exporter.from_notebook_node(nb, resources={"deck": assets})
    for link, css in ((f"{prefix}/dist/reveal.css", "reveal.css"), (f"{prefix}/dist/theme/simple.css", "simple.css")):
        style = f"<style>\n{(DECK / css).read_text()}\n</style>"
        html, found = re.subn(f'<link[^>]*href="{re.escape(link)}"[^>]*>', lambda _, s=style: s, html)
        if found != 1:
            raise RuntimeError(f"nbconvert's reveal template changed: expected one <link> to {link}, found {found}")
    return html


def write_slides(paths, tag_only=False):
    if not tag_only:
        SLIDES.mkdir(exist_ok=True)
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        if tag_only:
            nbformat.write(tag_slides(nb), path)
            print(f"tagged {path.relative_to(ROOT)}")
        else:
            out = SLIDES / f"{path.stem}.slides.html"
            out.write_text(build_slides(nb))
            print(f"wrote {out.relative_to(ROOT)}")


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


REFERENCE_FAILED = (
    "this is the reference check: re-run the notebook with `python -m tools.notebooks run` and review the diff "
    "(git diff notebooks/) before committing it"
)


def check_reference(path):
    """Execute one lesson under REFERENCE_ENV and compare it with its committed outputs; returns (ok, lines)."""
    from tools import outputs

    try:
        nb, times = execute(path, env=REFERENCE_ENV)
    except Exception as exc:  # a cell raised or timed out: the same verdict, "other", whatever the machine
        last = str(exc).strip().splitlines()[-1:] or [type(exc).__name__]
        return False, [f"{path.name}: FAILED, the run stopped: {last[0][:300]}"]
    found = outputs.differences(nbformat.read(path, as_version=4), nb)
    seconds = sum(t for _, t in times)
    lines = [f"{path.name}: {outputs.summary(found)} ({seconds:.1f} s)"]
    lines += [f"    {d}" for d in found]
    return not found, lines


def reference(paths, workers=2):
    """The strict reference check; returns the exit code. Skipped (0) where the pins cannot apply."""
    why = pins_missing()
    if why:
        print(f"reference check skipped: {why}. The portable check, pytest, is the one for this machine.")
        return 0
    paths = [p for p in paths if p.parent != STUDENT]  # the learner versions have no outputs to compare
    ok = True
    # Two kernels at a time, one thread each, keep CI's 2 cores busy; results are printed in the notebooks' order.
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        for passed, lines in pool.map(check_reference, paths):
            print("\n".join(lines), flush=True)
            ok &= passed
    if not ok:
        print(f"\n{REFERENCE_FAILED}")
    return 0 if ok else 1


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "command", choices=["run", "bench", "reference", "student", "draft", "sync-setup", "tag-slides", "slides"]
    )
    parser.add_argument("paths", nargs="*")
    args = parser.parse_args(argv)
    if args.command == "draft":
        if len(args.paths) != 2:
            parser.error("draft takes SCRIPT.py OUT.ipynb")
        return draft(*args.paths)
    paths = lessons(args.paths)
    if args.command == "sync-setup":
        return sync_setup([pathlib.Path(p).resolve() for p in args.paths] or paths + sorted(STUDENT.glob("*.ipynb")))
    if args.command == "student":
        return write_student(paths)
    if args.command in ("tag-slides", "slides"):
        return write_slides(paths, tag_only=args.command == "tag-slides")
    if args.command == "reference":
        return reference(paths)
    why = pins_missing()
    if why and args.command == "run":
        print(
            f"warning: these outputs are not the reference's ({why}); the reference check on x86-64 Linux will "
            "show the differences",
            file=sys.stderr,
        )
    ok = True
    for path in paths:
        nb, times = execute(path, env=REFERENCE_ENV)
        if args.command == "run":
            nbformat.write(tag_slides(clean(nb)), path)
        ok &= report(path, times)
    return 0 if ok or args.command == "run" else 1


if __name__ == "__main__":
    sys.exit(main())
