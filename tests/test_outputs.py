"""tools/outputs.py, the one comparison of fresh outputs with committed ones, on small hand-made notebooks."""

import nbformat
import pytest

from tools import outputs

new_cell, new_output = nbformat.v4.new_code_cell, nbformat.v4.new_output


def stream(text, name="stdout"):
    return new_output("stream", name=name, text=text)


def display(text, png=None):
    data = {"text/plain": text, **({"image/png": png} if png else {})}
    return new_output("display_data", data=data)


def notebook(*cells):
    """Cells given as (source, outputs) or (source, outputs, tags); every cell committed with a count."""
    nb = nbformat.v4.new_notebook()
    for count, (source, outs, *tags) in enumerate(cells, start=1):
        cell = new_cell(source, outputs=list(outs), execution_count=count)
        if tags:
            cell.metadata["tags"] = tags[0]
        nb.cells.append(cell)
    return nb


def compare(committed, fresh, source="x"):
    return outputs.differences(notebook((source, committed)), notebook((source, fresh)))


def test_same_outputs_by_nbvals_rules():
    assert compare([stream("loss 0.213\n")], [stream("loss 0.213\n")]) == []
    assert compare([stream("a\nb\n")], [stream("a\n"), stream("b\n")]) == []  # streams merged by name
    assert compare([display("<Figure>", png="AAAA")], [display("<Figure>", png="BBBB")]) == []  # images left out
    assert compare([stream("<obj at 0x7f00deadbeef>")], [stream("<obj at 0x55aa12345678>")]) == []  # sanitized


@pytest.mark.parametrize(
    "committed, fresh, key, kind",
    [
        ("loss 0.213\n", "loss 0.221\n", "stdout", outputs.NUMBERS),  # a trained number moved: another CPU
        ("accuracy 99.8%\n", "accuracy 100.0%\n", "stdout", outputs.NUMBERS),
        ("tensor([-0.1235,  1.5e-03])\n", "tensor([ 0.1235,  2.5e-03])\n", "stdout", outputs.NUMBERS),
        ("logits: (4, 12, 8)\n", "logits: (4, 16, 8)\n", "stdout", outputs.OTHER),  # a shape
        ("parameters: 25992\n", "parameters: 25993\n", "stdout", outputs.OTHER),  # a count
        ("loss 0.213, converged\n", "loss 0.221, diverged\n", "stdout", outputs.OTHER),  # words
        ("loss 0.213\n", "loss nan\n", "stdout", outputs.OTHER),
    ],
)
def test_each_difference_has_its_kind(committed, fresh, key, kind):
    (found,) = compare([stream(committed)], [stream(fresh)])
    assert (found.cell, found.key, found.kind) == (0, key, kind)
    assert str(found) == f"Cell 0 ({kind}), {key}: committed {committed.strip()!r}, this run {fresh.strip()!r}"


def test_a_warning_an_error_or_a_missing_output_is_other():
    (warning,) = compare([stream("0.5\n")], [stream("0.5\n"), stream("UserWarning: 0.25\n", "stderr")])
    assert (warning.key, warning.kind, warning.expected, warning.got) == ("stderr", "other", "", "UserWarning: 0.25\n")
    error = new_output("error", ename="ValueError", evalue="bad 0.5", traceback=[])
    assert {d.key: d.kind for d in compare([stream("0.5\n")], [error])} == {
        "stdout": "other",
        "ename": "other",
        "evalue": "other",
    }
    (gone,) = compare([display("1.5"), display("2.5")], [display("1.5")])
    assert (gone.key, gone.kind) == ("text/plain", "other")


def test_a_cell_counts_as_other_when_any_of_its_differences_is():
    committed = notebook(("a", [stream("0.5\n")]), ("b", [stream("0.5\n"), display("(2, 3)")]))
    fresh = notebook(("a", [stream("0.6\n")]), ("b", [stream("0.6\n"), display("(2, 4)")]))
    found = outputs.differences(committed, fresh)
    assert [(d.cell, d.key, d.kind) for d in found] == [
        (0, "stdout", "numbers only"),
        (1, "stdout", "numbers only"),
        (1, "text/plain", "other"),
    ]
    assert outputs.cells(found) == [0, 1]
    assert outputs.cells(found, outputs.NUMBERS) == [0] and outputs.cells(found, outputs.OTHER) == [1]
    assert outputs.summary(found) == (
        "OTHER differences (text, shapes, errors or warnings) in cells 1; numbers only in cells 0"
    )
    assert outputs.summary([]) == "same outputs as committed"


def test_only_the_cells_strict_nbval_compares():
    committed = notebook(
        ("# NBVAL_IGNORE_OUTPUT\nprint(v)", [stream("1.0\n")]),
        ("print(v)", [stream("1.0\n")], ["nbval-ignore-output"]),
        ("# NBVAL_SKIP\nprint(v)", [stream("1.0\n")]),
        ("print(v)", [stream("1.0\n")], ["nbval-skip"]),
        ("print(v)", [stream("1.0\n")], ["nbval-check-output"]),  # lax mode's tag: strict compares it anyway
        ("print(v)", [stream("1.0\n")]),
        ("print(v)", []),
    )
    committed.cells[-1].execution_count = None  # committed without a count: nbval does not compare it
    fresh = notebook(*[(c.source, [stream("2.0\n")]) for c in committed.cells])
    assert outputs.cells(outputs.differences(committed, fresh)) == [4, 5]
    fresh.cells[5].execution_count = None  # the run stopped before it: its caller reports the error
    assert outputs.cells(outputs.differences(committed, fresh)) == [4]


def test_markdown_cells_do_not_shift_the_numbers():
    committed = notebook(("a", [stream("1\n")]), ("b", [stream("2\n")]))
    committed.cells.insert(1, nbformat.v4.new_markdown_cell("text"))
    fresh = notebook(("a", [stream("1\n")]), ("b", [stream("3\n")]))
    assert [d.cell for d in outputs.differences(committed, fresh)] == [1]  # nbval's "Cell 1"


def test_a_run_of_another_notebook_is_refused():
    with pytest.raises(ValueError, match="not have the same code cells"):
        outputs.differences(notebook(("a", [])), notebook(("b", [])))


def test_off_the_reference_only_exact_cells_warnings_and_errors_may_not_differ():
    committed = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(f"x{i}", execution_count=i + 1)
                                                for i in range(3)])
    committed.cells[1].metadata["tags"] = ["nbval-check-output"]
    found = [outputs.Difference(0, outputs.OTHER, "stdout", "the fox", "a dog"),  # a sample: moves with the CPU
             outputs.Difference(1, outputs.OTHER, "stdout", "(4, 12)", "(4, 16)"),  # exact by construction
             outputs.Difference(2, outputs.OTHER, "stderr", "", "UserWarning")]  # a warning, anywhere
    assert [d.cell for d in outputs.unexpected(found, committed)] == [1, 2]
