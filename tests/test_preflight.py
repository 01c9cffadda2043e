"""The parts of tools/preflight.py that need no kernel and no browser."""

import pathlib

from tools import preflight

ROOT = pathlib.Path(__file__).resolve().parent.parent


def test_learner_versions_are_compared_in_memory(capsys):
    lessons = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    assert preflight.students_in_sync(lessons)
    assert "OUT OF SYNC" not in capsys.readouterr().out


def test_agenda_is_a_markdown_table():
    row = {"notebook": "01_x.ipynb", "seconds": 12.3, "budget": 25.0, "peak_rss_mib": 400, "cpu_seconds": 11.0}
    table = preflight.agenda([{**row, "exercises": 2, "exercise_minutes": 17}]).splitlines()
    assert table[0].startswith("| notebook |") and table[1].startswith("|---")
    assert table[2] == "| 01_x.ipynb | 12.3 | 25 | 400 | 11.0 | 2 | 17 |"


def test_exercise_minutes_add_up_the_lessons_estimates():
    import nbformat

    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell("### Exercise 1: a mask (about 10 minutes)"),
            nbformat.v4.new_markdown_cell("**Predict first** (about 2 min): and about 5 more words"),
            nbformat.v4.new_markdown_cell("### Exercise 3 (about 20–30 minutes): a range counts its upper end"),
            nbformat.v4.new_code_cell("# (about 99 minutes) in code does not count"),
        ]
    )
    assert preflight.exercise_minutes(nb) == 42


def test_prose_is_split_into_core_and_optional_and_the_agenda_adds_it_up(tmp_path):
    import nbformat

    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell("# Title\n\nfive words of core prose"),  # 7 words
            nbformat.v4.new_markdown_cell("### Exercise 1: x (about 10 minutes)"),  # 7 words
            nbformat.v4.new_code_cell("# Going further: in code, not a heading"),  # the first: the setup cell
            nbformat.v4.new_code_cell("x = 1\n\n# a comment is not walked through\ny = x\nprint(y)"),  # 3 lines
            nbformat.v4.new_markdown_cell("three more words\n\n## Going further (optional)\n\nfour optional words"),
            nbformat.v4.new_markdown_cell("### Exercise 2 (about 5 minutes)\n\n## Optional: not a second split"),
        ]
    )
    core, optional = preflight.prose(nb)
    assert preflight.words(core) == 17 and preflight.words(optional) == 19
    assert preflight.exercise_minutes(nb, "core") == 10 and preflight.exercise_minutes(nb, "optional") == 5
    assert preflight.exercise_minutes(nb) == 15
    path = tmp_path / "01_x.ipynb"
    nbformat.write(nb, path)
    plan = preflight.lesson_plan(path, run_seconds=60.0)
    assert (plan["core_words"], plan["optional_words"], plan["core_exercise_min"]) == (17, 19, 10)
    assert plan["core_code_lines"] == 3 and plan["walk_min"] == 1  # 3 lines at 10 a minute, rounded up
    assert plan["core_min"] == round(17 / 130 + 10 + 1) + 1 == 12 and plan["block_min"] == 30  # 12 + 10, up to 15s
    row, total = preflight.plan_table([plan]).splitlines()[2:]
    assert row == "| 01_x.ipynb | 17 | 19 | 0 | 10 | 5 | 3 | 1 | 60 | 12 | 30 |"
    assert total == "| **total** | 17 | 19 | 0 | 10 | | 3 | 1 | | 12 | 30 (0.5 h) |"
    assert "| ≤ 25 |" in preflight.plan_table([preflight.lesson_plan(path)])  # no run time: the budget, a bound


def test_over_budget_comes_with_advice(capsys):
    rows = [{"notebook": "07_x.ipynb", "in_budget": False, "error": None},
            {"notebook": "02_x.ipynb", "in_budget": True, "error": None}]
    preflight.budget_advice(rows)
    out = capsys.readouterr().out
    assert "Over budget: 07_x.ipynb." in out and "02_x" not in out
    assert "quiet machine" in out and "optional part" in out and "tools.room" in out
    preflight.budget_advice(rows[1:])
    assert capsys.readouterr().out == ""


def test_the_browser_opens_the_learner_versions_too():
    lessons = [ROOT / "notebooks" / "00_setup.ipynb", ROOT / "notebooks" / "02_attention.ipynb"]
    names = preflight.learner_names(lessons)
    assert names == ["00_setup.ipynb", "02_attention.ipynb", "student/02_attention.ipynb"]


def test_a_fresh_run_is_compared_with_the_committed_outputs(tmp_path, capsys):
    import nbformat

    def notebook(*texts):
        cells = [nbformat.v4.new_code_cell(f"print({i})", execution_count=i + 1) for i in range(len(texts))]
        for cell, text in zip(cells, texts, strict=True):
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=text)]
        return nbformat.v4.new_notebook(cells=cells)

    path = tmp_path / "05_x.ipynb"
    committed = notebook("loss 0.213\n", "shape (4, 12)\n", "sample: the fox\n")
    committed.cells[1].metadata["tags"] = ["nbval-check-output"]  # exact by construction: the same on any machine
    nbformat.write(committed, path)
    assert preflight.compare_outputs(path, notebook("loss 0.213\n", "shape (4, 12)\n", "sample: the fox\n")) == []
    assert "outputs: same outputs as committed" in capsys.readouterr().out
    # another CPU: a trained number and a sampled text move, in cells the portable check does not compare
    assert preflight.compare_outputs(path, notebook("loss 0.221\n", "shape (4, 12)\n", "sample: a dog\n")) == []
    out = capsys.readouterr().out
    assert "expected on a CPU or GPU other than the reference's" in out
    assert "Cell 0 (numbers only), stdout: committed 'loss 0.213', this run 'loss 0.221'" in out
    assert preflight.compare_outputs(path, notebook("loss 0.221\n", "shape (4, 16)\n", "sample: the fox\n")) == [1]
    assert (
        "OTHER differences (text, shapes, errors or warnings) in cells 1; numbers only in cells 0: a real change"
        in (capsys.readouterr().out)
    )
