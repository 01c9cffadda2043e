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

What a learner reads between the prompt and the check, the code included, keeps the answer too. The convention:
- the cell that measures a prediction (it calls `check_prediction`) and the code cells between the prediction and
  it carry no `assert` on the measured value (on any name the `measured` argument reads) and compute no prediction
  of their own (no name `predicted*`, `expected*` or `theory*` other than the learner's): the asserts and the
  formula it is compared with go in the cell after the check, which the learner reads once the guess is checked;
- the markdown a learner reads before the prediction (from the last code cell above it) and between it and the
  measurement holds none of the phrases in GIVEAWAYS, which state a known result in words.
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
        yield p, m, guess, name, call, set(re.findall(r"^(\w+)[ \t]*=", block["body"], re.M))


# Phrases that state a prediction's result in words, by prediction name: each gave it away once, above its
# prediction (issue 25). A regression list: a new giveaway in other words is for a reader to catch.
GIVEAWAYS = {
    "mean largest weight, d_k = 1024, raw scores": ["saturates", "pick one key"],
    "cosine after 64 layers with skips": ["creeps up"],
}
OWN_PREDICTION = re.compile(r"^(predicted|expected|theory)", re.I)


def _measured_names(call):
    """The names the `measured` argument of a check_prediction call reads."""
    measured = call.args[2] if len(call.args) > 2 else next(k.value for k in call.keywords if k.arg == "measured")
    return {node.id for node in ast.walk(measured) if isinstance(node, ast.Name)}


def shown_before_the_check(cells, p, m, call, guesses):
    """What the code cells from the prediction (p) to its measuring cell (m) show of the answer."""
    measured, found = _measured_names(call), []
    for i in range(p + 1, m + 1):
        if cells[i].cell_type != "code":
            continue
        tree = ast.parse(re.sub(r"^[ \t]*[%!].*$", "", cells[i].source, flags=re.M))
        for node in ast.walk(tree):
            if isinstance(node, ast.Assert) and measured & {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}:
                found.append(f"cell {i} asserts on the measured value before the check: {ast.unparse(node)[:70]!r}")
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store) and OWN_PREDICTION.match(node.id):
                if node.id not in guesses:
                    found.append(f"cell {i} computes a prediction of its own before the check: {node.id!r}")
    return found


def read_before_the_check(cells, p, m):
    """(cell index, text) of the markdown a learner reads from the last code cell above the prediction (p) down to
    its measuring cell (m)."""
    start = max((i for i in range(p) if cells[i].cell_type == "code"), default=-1) + 1
    return [(i, cells[i].source) for i in range(start, m) if cells[i].cell_type == "markdown"]


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_predictions_stay_secret_until_made(path):
    cells = nbformat.read(path, as_version=4).cells
    text = "\n".join(cell.source for cell in cells)
    problems = []
    for p, m, guess, name, call, guesses in predictions(cells):
        problems += [f"{name!r}: {found}" for found in shown_before_the_check(cells, p, m, call, guesses)]
        for i, text in read_before_the_check(cells, p, m):
            problems += [f"{name!r}: cell {i}, read before the prediction is checked, says {phrase!r}"
                         for phrase in GIVEAWAYS.get(name, []) if phrase in text]
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


def test_the_prediction_window_scanners_find_an_assert_an_own_prediction_and_a_giveaway():
    new = nbformat.v4
    cells = [
        new.new_code_cell("x = 1"),
        new.new_markdown_cell("The softmax saturates."),
        new.new_markdown_cell("**Predict first**"),
        new.new_code_cell("# BEGIN PREDICTION\nguess = 0.5\n# END PREDICTION"),
        new.new_code_cell("m = 0.9\npredicted = m\nassert m > 0.8 and x == 1\nassert x == 1\n"
                          "helpers.checks.check_prediction('n', guess, round(m, 2))"),
    ]
    p, m, _, _, call, guesses = next(predictions(cells))
    assert (p, m, guesses) == (3, 4, {"guess"})
    assert sorted(f[:35] for f in shown_before_the_check(cells, p, m, call, guesses)) == [
        "cell 4 asserts on the measured valu", "cell 4 computes a prediction of its"]
    assert read_before_the_check(cells, p, m) == [(1, "The softmax saturates."), (2, "**Predict first**")]
