"""No answer in sight before the learner attempts it, in every lesson's learner version.

What a learner sees while working on an exercise: everything above its checker, and below it down to the next
heading (or to a markdown line that says "solution ahead"). In that window, in the learner version:

- no code cell repeats a distinctive line of the solution (whitespace-normalized, at least 20 characters, and not
  an idiom found in 3 or more cells, such as `with torch.no_grad():`);
- no function defined there passes the exercise's checker (a helper that already implements the answer, such as a
  second version of it written another way);
- below the checker, no cell states an expression of the solution (e.g. "W = W2 W1", "b = W2 b1 + b2" in markdown).

For each prediction: the measuring cell's source has no `why=` (the explanation is registered in
`helpers.checks.core.WHY` and printed only after the guess), that explanation is nowhere in the notebook's text, no
heading stands between the prediction and its measurement (it would read as the result), and for a word answer,
the word is not in the markdown between the prediction and its measurement nor in the heading of its section.
"""

import ast
import collections
import contextlib
import io
import math
import pathlib
import re

import nbformat
import numpy as np
import pytest
import torch

import helpers
from helpers.checks import core
from tools import notebooks as tools

ROOT = pathlib.Path(__file__).resolve().parent.parent
LESSONS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
SOLUTION = re.compile(r"# BEGIN SOLUTION\n(?P<body>.*?)# END SOLUTION", re.S)
PREDICTION = re.compile(r"# BEGIN PREDICTION\n(?P<body>.*?)# END PREDICTION", re.S)
CHECKER = re.compile(r"helpers\.checks\.(check_\w+)\(")
HEADING = re.compile(r"^#{1,6} ", re.M)
SUBSCRIPTS = str.maketrans("₀₁₂₃₄₅₆₇₈₉ᵀ", "0123456789T")


def _squash(text):
    """Code or maths with the typography gone: no spaces, no `$ \\ { } _ * @ ·`, subscripts as digits."""
    text = re.sub(r"\\(cdot|top|,|;|!|left|right|mathrm|text)", "", text.translate(SUBSCRIPTS))
    return re.sub(r"[\s$\\{}_*@·`]", "", text)


def distinctive_lines(body):
    """The solution's code lines that would give it away: whitespace-normalized, comments off, >= 20 characters."""
    lines = {re.sub(r"\s+", "", line.split("  #")[0].split("# ")[0]) for line in body.splitlines()}
    return {line for line in lines if len(line) >= 20 and "NotImplementedError" not in line}


def expressions(body):
    """The solution's formulas: right-hand sides and returned values with an operator, as _squash writes them."""
    found = set()
    for line in body.splitlines():
        line = line.split("#")[0]
        for part in re.split(r"return\b|(?<![=!<>])=(?!=)|,", line):
            part = _squash(part).strip("()")
            operators = re.sub(r"\[[^\]]*\]", "", part)  # x.shape[-1] holds no formula
            if len(part) >= 6 and re.search(r"[+\-/]", operators) and re.fullmatch(r"[\w.+\-/()\[\]]+", part):
                found.add(part)
    return found


def _student(path):
    return tools.student_version(nbformat.read(path, as_version=4), path.name).cells


def _defs(source, n_args):
    """The top-level functions of a cell taking n_args positional arguments, as (name, code object)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:  # a cell with IPython syntax
        return []
    return [
        (node.name, compile(ast.Module([node], []), "<cell>", "exec"))
        for node in tree.body
        if isinstance(node, ast.FunctionDef) and len(node.args.args) == n_args
    ]


def _passes(checker, fn):
    with contextlib.redirect_stdout(io.StringIO()):
        return bool(checker(fn))


def exercises(cells):
    """(solution cell index, checker cell index, end of the window, checker name, solution body, function name)."""
    for s, cell in enumerate(cells):
        if cell.cell_type != "code" or "# BEGIN SOLUTION" not in cell.source:
            continue
        c = next(i for i in range(s, len(cells)) if cells[i].cell_type == "code" and CHECKER.search(cells[i].source))
        end = next(
            (
                i
                for i in range(c + 1, len(cells))
                if cells[i].cell_type == "markdown"
                and (HEADING.search(cells[i].source) or "solution ahead" in cells[i].source.lower())
            ),
            len(cells),
        )
        fn = re.search(r"^[ \t]*def (\w+)\(([^)]*)\)", cell.source, re.M)  # a function, or a class's method
        n_args = len([a for a in fn.group(2).split(",") if a.strip() and "=" not in a])
        yield s, c, end, CHECKER.search(cells[c].source).group(1), SOLUTION.search(cell.source)["body"], fn, n_args


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_no_solution_in_sight_before_the_attempt(path):
    teacher = nbformat.read(path, as_version=4).cells
    student = _student(path)
    problems = []
    idioms = collections.Counter(line for cell in teacher for line in distinctive_lines(cell.source))
    for s, c, end, checker_name, body, fn, n_args in exercises(teacher):
        checker = getattr(helpers.checks, checker_name)
        lines = {line for line in distinctive_lines(body) if idioms[line] < 3}
        formulas = expressions(body)
        for i in range(end):
            cell = student[i]
            if i == s:
                continue
            if cell.cell_type == "code":
                for line in lines & distinctive_lines(cell.source):
                    problems.append(f"{fn.group(1)}: cell {i} repeats the solution's line {line!r}")
                namespace = {"torch": torch, "math": math, "np": np, "helpers": helpers, "F": torch.nn.functional}
                for name, code in _defs(cell.source, n_args):
                    exec(code, namespace)
                    if _passes(checker, namespace[name]):
                        problems.append(f"{fn.group(1)}: cell {i} defines {name}(), which passes {checker_name}")
            if i > c:
                for formula in formulas:
                    if formula in _squash(cell.source):
                        problems.append(f"{fn.group(1)}: cell {i}, right below the checker, states {formula!r}")
    assert not problems, "\n".join(problems)


def predictions(cells):
    """(prediction cell index, measuring cell index, the teacher's guess as a value or None, the prediction's name)."""
    for p, cell in enumerate(cells):
        block = PREDICTION.search(cell.source) if cell.cell_type == "code" else None
        if not block:
            continue
        m = next(i for i in range(p, len(cells)) if "check_prediction(" in cells[i].source)
        call = next(
            node
            for node in ast.walk(ast.parse(cells[m].source))
            if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "check_prediction"
        )
        name = call.args[0].value if isinstance(call.args[0], ast.Constant) else None
        assigned = ast.parse(block["body"]).body[0].value
        guess = assigned.value if isinstance(assigned, ast.Constant) else None
        yield p, m, guess, name


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_predictions_stay_secret_until_made(path):
    cells = nbformat.read(path, as_version=4).cells
    text = "\n".join(cell.source for cell in cells)
    problems = []
    for p, m, guess, name in predictions(cells):
        if re.search(r"\bwhy\s*=", cells[m].source):
            problems.append(f"{name!r}: the measuring cell (cell {m}) shows its explanation (why=) before it runs")
        for i in range(p + 1, m):
            if cells[i].cell_type == "markdown" and HEADING.search(cells[i].source):
                heading = HEADING.search(cells[i].source)
                line = cells[i].source[heading.start() :].splitlines()[0]
                problems.append(f"{name!r}: a heading between the prediction and its measurement reads as the result: "
                                f"{line!r}")
        why = core.WHY.get(name)
        if not why:
            problems.append(f"{name!r}: no explanation registered in helpers.checks.core.WHY")
        elif why in text:
            problems.append(f"{name!r}: its registered explanation is written in the notebook")
        if isinstance(guess, str):
            section = next(
                i for i in range(p, -1, -1) if cells[i].cell_type == "markdown" and HEADING.search(cells[i].source)
            )
            shown = [HEADING.search(cells[section].source) and cells[section].source.splitlines()[0]]
            shown += [cells[i].source for i in range(p + 1, m) if cells[i].cell_type == "markdown"]
            answer = core._normal(guess)
            for words in shown:
                if re.search(rf"\b{re.escape(answer)}\b", core._normal(words or "")):
                    problems.append(f"{name!r}: the answer {guess!r} is written above its measurement: {words[:80]!r}")
    assert not problems, "\n".join(problems)


def test_the_scanners_find_what_they_look_for():
    body = "    W = W2 @ W1\n    b = W2 @ b1 + b2  # expand the brackets\n    return W, b\n"
    assert distinctive_lines(body) == set()  # all too short to be distinctive
    assert "W2b1+b2" in expressions(body)
    assert "W2b1+b2" in _squash("so $b = W_2 b_1 + b_2$ and W = W₂W₁")
    long = "    angle = torch.arange(seq)[:, None] * omega  # (seq, d / 2)\n"
    assert distinctive_lines(long) == {"angle=torch.arange(seq)[:,None]*omega"}
    assert [name for name, _ in _defs("def f(x):\n    return x\n\nprint(1)\ndef g(x, y):\n    pass", 1)] == ["f"]
