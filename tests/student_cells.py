"""The learner versions (notebooks/student/) run inside their lesson's nbval run, so no notebook trains twice.

nbval runs a lesson's code cells in order in one kernel. A learner's version differs from its lesson only in its
exercise cells: a solution becomes a `raise NotImplementedError` stub, a prediction `None`, a checker loses its
`assert`. Every other cell is the lesson's own cell, which runs on the state the committed outputs were made from
(nbval compares its output where it is tagged nbval-check-output, and the reference check compares all). So, before
each lesson cell whose learner version differs, the learner's cell runs in the same kernel ("Cell N (student)"):

- the names the learner's earlier exercise cells bound (stubs, None guesses) are swapped in, so it sees what a
  learner who has written nothing yet would see;
- it must not raise or write to stderr (as any cell under nbval: conftest.py), and its outputs are scanned: no
  solution code, no ✅, no True/False echo; the notebook's last item checks that some exercise printed the
  checker's nudge ("not implemented yet");
- then the lesson's names and the random generators' state are put back, and the lesson's own cell runs as nbval
  expects, on the state the committed outputs were made from.

A lesson cell that the learner's version shares but that reads a name an exercise binds would run differently for
the learner: tests/test_student_notebooks.py allows that only as an argument of a `helpers.checks` call (a
prediction measured after the guess), whose handling of an untouched answer the checkers' own tests cover.
"""

import ast
import re

import nbformat
from nbval.plugin import IPyNbCell

from helpers.checks.core import PREDICTION, SOLUTION
from tools import notebooks as tools

TRIVIAL = re.compile(r"^(return \w+|pass|else:|try:|\)|\]|\}|return|break|continue)$")
NUDGE = "not implemented yet"

# Run in the kernel before and after a learner's cell: swap names, keep the random generators' state.
BEFORE = """\
import random as _random, numpy as _np, torch as _torch
_student = globals().setdefault("_student", {{"names": {{}}}})
_student["rng"] = (_random.getstate(), _np.random.get_state(), _torch.get_rng_state())
_student["lesson"] = {{n: globals()[n] for n in _student["names"] if n in globals()}}
globals().update(_student["names"])
"""
AFTER = """\
_student["names"].update({{n: globals()[n] for n in {binds!r} if n in globals()}})
globals().update(_student["lesson"])
_random.setstate(_student["rng"][0]); _np.random.set_state(_student["rng"][1]); _torch.set_rng_state(_student["rng"][2])
"""


def exercise_names(source):
    """The names an exercise cell binds: functions/classes with a solution block, variables of a prediction."""
    names = re.findall(r"^[ \t]*(?:def|class)[ \t]+(\w+)", source, re.M) if SOLUTION.search(source) else []
    for block in PREDICTION.finditer(source):
        names += re.findall(r"^(\w+)[ \t]*(?::[^=\n]*)?=(?!=)", block["body"], re.M)
    return list(dict.fromkeys(names))


def solution_lines(nb):
    """The lines of every solution and prediction block, without comments; short or trivial lines left out."""
    lines = set()
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        blocks = [m.group(0) for m in SOLUTION.finditer(cell.source)]
        blocks += [m["body"] for m in PREDICTION.finditer(cell.source)]
        for block in blocks:
            for line in block.splitlines():
                code = line.split("  # ", 1)[0].strip()
                if len(code) >= 10 and not code.startswith("#") and not TRIVIAL.match(code):
                    lines.add(code)
    return lines


def secrets(lesson, student):
    """Solution lines the learner's version does not show in its own code: what its outputs must not print."""
    sources = [c.source for c in student.cells if c.cell_type == "code"]
    return {line for line in solution_lines(lesson) if not any(line in source for source in sources)}


def texts(outputs):
    """The text of each output: printed text, errors, and each displayed value as text."""
    for out in outputs:
        if "text" in out:
            yield out["text"]
        if out.get("output_type") == "error":
            yield "\n".join(out.get("traceback", []))
        for kind, data in out.get("data", {}).items():
            if kind.startswith("text/"):
                yield data if isinstance(data, str) else "".join(data)


def leaks(outputs, hidden):
    """What is wrong with a learner's outputs: solution code shown, a ✅, a True/False echo."""
    found = []
    for text in texts(outputs):
        found += [f"prints solution code {line!r}" for line in hidden if line in text]
        if "✅" in text:
            found.append("prints ✅ for an exercise nobody has done")
        if text.strip() in ("True", "False"):
            found.append(f"echoes {text.strip()}")
    return found


class StudentCell(IPyNbCell):
    """The learner's version of a lesson cell, run in the lesson's kernel just before the lesson's own cell."""

    def _quiet(self, code):
        """Run bookkeeping code in the kernel; its messages are read here, so nbval never sees them."""
        kernel = self.parent.kernel
        msg_id = kernel.execute_cell_input(code, allow_stdin=False)
        kernel.await_reply(msg_id, timeout=60)
        errors = []
        while True:
            msg = kernel.get_message("iopub", timeout=60)
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            if msg["msg_type"] == "error":
                errors.append(f"{msg['content']['ename']}: {msg['content']['evalue']}")
            if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                break
        if errors:
            self.raise_cell_error("the student-version bookkeeping failed", "\n".join(errors))

    def runtest(self):
        self._quiet(BEFORE.format())
        try:
            super().runtest()  # nbval: run it, fail on an error; nothing to compare (no committed outputs)
        finally:
            self._quiet(AFTER.format(binds=exercise_names(self.lesson_source)))
        self.parent.student_printed.extend(texts(self.test_outputs))
        found = leaks(self.test_outputs, self.hidden)
        if found:
            self.raise_cell_error("the learner's version of this cell " + "; ".join(found))


class StudentNudges(IPyNbCell):
    """Last item of a lesson: some exercise of the untouched learner's version printed the checker's nudge."""

    def runtest(self):
        if not any(NUDGE in text for text in self.parent.student_printed):
            self.raise_cell_error(f"no exercise of the learner's version printed the checker's nudge ({NUDGE!r})")


def interleave(items):
    """nbval's items with each lesson's learner cells put before the lesson cells they replace."""
    out, last = [], {}
    for item in items:
        lesson_file = item.parent if isinstance(item, IPyNbCell) else None
        student_path = tools.STUDENT / lesson_file.path.name if lesson_file is not None else None
        if student_path is None or lesson_file.path.parent != tools.NOTEBOOKS or not student_path.exists():
            out.append(item)
            continue
        if not hasattr(lesson_file, "student_cells"):
            lesson = nbformat.read(lesson_file.path, as_version=4)
            student = nbformat.read(student_path, as_version=4)
            lesson_file.student_cells = [c for c in student.cells if c.cell_type == "code"]
            if len(lesson_file.student_cells) != sum(c.cell_type == "code" for c in lesson.cells):
                lesson_file.student_cells = []  # out of sync: test_student_version_is_in_sync says so
            lesson_file.hidden = secrets(lesson, student)
            lesson_file.student_printed = []
        learner = lesson_file.student_cells[item.cell_num] if lesson_file.student_cells else item.cell
        if learner.source != item.cell.source:
            cell = StudentCell.from_parent(
                lesson_file, name=f"{item.name} (student)", cell_num=item.cell_num, cell=learner, options=_options()
            )
            cell.lesson_source, cell.hidden = item.cell.source, lesson_file.hidden
            out.append(cell)
        out.append(item)
        last[lesson_file] = len(out)
    for position, lesson_file in sorted(((p, f) for f, p in last.items()), key=lambda pf: -pf[0]):
        nudges = StudentNudges.from_parent(
            lesson_file, name="student version: nudges", cell_num=-1, cell=nbformat.v4.new_code_cell(""),
            options=_options(),
        )
        out.insert(position, nudges)
    return out


def _options():
    from collections import defaultdict

    return defaultdict(bool, check=False)


def _guarded(function_name):
    return function_name.startswith("check") or function_name == "yours_or_reference"


def reads_exercise_names(lesson, student):
    """[(cell index, name)] of cells shared by both versions that read a name an earlier exercise binds, other
    than as an argument of a checker (a call to a function whose name starts with "check") or of
    helpers.checks.yours_or_reference (which hands back the reference while the learner's answer does not pass:
    tests/test_checks_08.py)."""
    found, bound = [], set()
    pairs = zip(
        [c for c in lesson.cells if c.cell_type == "code"], [c for c in student.cells if c.cell_type == "code"],
        strict=True,
    )
    for i, (ours, theirs) in enumerate(pairs):
        if ours.source == theirs.source and bound:
            tree = ast.parse(re.sub(r"^[ \t]*[%!].*$", "", ours.source, flags=re.M))
            in_checks = {
                id(node)
                for call in ast.walk(tree)
                if isinstance(call, ast.Call) and _guarded(ast.unparse(call.func).split(".")[-1])
                for arg in call.args + [k.value for k in call.keywords]
                for node in ast.walk(arg)
            }
            found += [
                (i, node.id)
                for node in ast.walk(tree)
                if isinstance(node, ast.Name) and node.id in bound and id(node) not in in_checks
            ]
        bound.update(exercise_names(ours.source))
    return found
