"""The one comparison of a notebook's fresh outputs with its committed ones, by strict nbval's rules.

Used by the reference check (`python -m tools.notebooks reference`), tools/room.py and tools/preflight.py. The
rules are nbval's, applied with nbval's own functions: tests/nbval_sanitize.cfg applied; cells marked
NBVAL_IGNORE_OUTPUT or NBVAL_SKIP (comment or tag) left out, as are cells committed without an execution count;
streams merged by name; images, metadata and execution counts not compared; stderr compared like stdout.

Each differing cell gets a kind:
- "numbers only": the text is the same once every decimal number (0.213, -1.5e-03, 99.8%) is masked. The
  expected kind on another CPU or a GPU, whose kernels round differently and move trained numbers.
- "other": anything else: words, an integer (a shape, a count), an output or a stream more or fewer (a warning
  on stderr), an error. A real change, on any machine.
"""

import copy
import dataclasses
import pathlib
import re
from collections import defaultdict

from nbval.plugin import (
    coalesce_streams,
    find_comment_markers,
    find_metadata_tags,
    get_sanitize_patterns,
    transform_streams_for_comparison,
)

SANITIZE = pathlib.Path(__file__).resolve().parent.parent / "tests" / "nbval_sanitize.cfg"
NUMBERS, OTHER = "numbers only", "other"
# What nbval leaves out of a comparison (IPyNbFile.skip_compare; images too, without --nbdime).
NOT_COMPARED = {
    "metadata",
    "traceback",
    "prompt_number",
    "output_type",
    "name",
    "execution_count",
    "application/vnd.jupyter.widget-view+json",
    "image/png",
    "image/jpeg",
}
# A decimal number with its sign and the spaces before it (torch pads a column for a minus sign). Integers stay, so
# a changed shape or count is "other".
DECIMAL = re.compile(r"\s*[-+]?(?:\d*\.\d+(?:[eE][-+]?\d+)?|\d+[eE][-+]?\d+)")


@dataclasses.dataclass(frozen=True)
class Difference:
    cell: int  # nbval's "Cell N": the index among the notebook's code cells
    kind: str  # NUMBERS or OTHER
    key: str  # "stdout", "stderr", a MIME type such as "text/plain", "ename"...
    expected: str  # the committed text, sanitized ("" when the run has an output the commit lacks)
    got: str

    def __str__(self):
        want, got = first_differing_line(self.expected, self.got)
        return f"Cell {self.cell} ({self.kind}), {self.key}: committed {want!r}, this run {got!r}"


def first_differing_line(a, b):
    for x, y in zip(a.splitlines() or [""], b.splitlines() or [""], strict=False):
        if x != y:
            return x, y
    return a, b


def sanitize_patterns(path=SANITIZE):
    return get_sanitize_patterns(pathlib.Path(path).read_text())


def compared(cell):
    """Whether strict nbval compares this cell: a code cell committed with a count, not ignored or skipped."""
    if cell.cell_type != "code" or cell.get("execution_count") is None:
        return False
    markers = dict(find_comment_markers(cell.source))
    markers.update(find_metadata_tags(cell.metadata))
    return markers.get("check", True) and not markers.get("skip", False)


def comparable(outputs, patterns):
    """{key: [sanitized values]} as nbval compares them: streams merged by name, data flattened by MIME type."""
    found = defaultdict(list)
    for output in transform_streams_for_comparison(coalesce_streams(copy.deepcopy(outputs))):
        for key, value in output.items():
            for name, text in value.items() if key == "data" else [(key, value)]:
                if key not in NOT_COMPARED and name not in NOT_COMPARED:
                    for regex, replace in patterns if isinstance(text, str) else ():
                        text = re.sub(regex, replace, text)
                    found[name].append(text)
    return dict(found)


def kind(expected, got):
    same_shape = isinstance(expected, str) and isinstance(got, str)
    return NUMBERS if same_shape and DECIMAL.sub("#", expected) == DECIMAL.sub("#", got) else OTHER


def cell_differences(number, committed, fresh, patterns):
    """The differences of one cell, at most one per key; [] when nbval would pass it."""
    want, got = comparable(committed, patterns), comparable(fresh, patterns)
    found = []
    for key in sorted(want.keys() | got.keys()):
        a, b = want.get(key, []), got.get(key, [])
        if a == b:
            continue
        if len(a) != len(b):
            found.append(Difference(number, OTHER, key, "\n".join(map(str, a)), "\n".join(map(str, b))))
            continue
        pairs = [(x, y) for x, y in zip(a, b, strict=True) if x != y]
        kinds = {kind(x, y) for x, y in pairs}
        x, y = pairs[0]
        found.append(Difference(number, OTHER if OTHER in kinds else NUMBERS, key, str(x), str(y)))
    return found


def differences(committed_nb, fresh_nb, patterns=None):
    """Every difference between a committed notebook and a fresh run of it, by nbval's rules. A cell the run did
    not reach (no execution count: the run stopped at an error, which its caller reports) is left out."""
    patterns = sanitize_patterns() if patterns is None else patterns
    code = [c for c in committed_nb.cells if c.cell_type == "code"]
    ran = [c for c in fresh_nb.cells if c.cell_type == "code"]
    if [c.source for c in ran[: len(code)]] != [c.source for c in code]:  # a run may append cells (tools/room.py)
        raise ValueError("the two notebooks do not have the same code cells: compare a notebook with a run of it")
    found = []
    for number, (ref, new) in enumerate(zip(code, ran, strict=False)):
        if compared(ref) and new.get("execution_count") is not None:
            found += cell_differences(number, ref.outputs, new.outputs, patterns)
    return found


def unexpected(found, committed_nb):
    """The differences that no machine may show: those in a cell the portable check compares (tagged
    nbval-check-output: exact by construction), and any warning or error. The rest, trained numbers and sampled text
    in the other cells, move with the CPU or GPU: expected off the reference's machine."""
    code = [c for c in committed_nb.cells if c.cell_type == "code"]
    exact = {n for n, c in enumerate(code) if "nbval-check-output" in c.metadata.get("tags", [])}
    return [d for d in found if d.cell in exact or d.key in ("stderr", "ename", "evalue")]


def cells(found, which=None):
    """The numbers of the cells with a difference (of kind `which`, or any); a cell counts as "other" when any of
    its differences is."""
    by_cell = defaultdict(set)
    for d in found:
        by_cell[d.cell].add(d.kind)
    verdict = {n: OTHER if OTHER in kinds else NUMBERS for n, kinds in by_cell.items()}
    return sorted(n for n, k in verdict.items() if which in (None, k))


def summary(found):
    """One line: same outputs, numbers only (which cells), or other differences (which cells)."""
    if not found:
        return "same outputs as committed"
    other, numbers = cells(found, OTHER), cells(found, NUMBERS)
    parts = []
    if other:
        parts.append(f"OTHER differences (text, shapes, errors or warnings) in cells {', '.join(map(str, other))}")
    if numbers:
        parts.append(f"numbers only in cells {', '.join(map(str, numbers))}")
    return "; ".join(parts)
