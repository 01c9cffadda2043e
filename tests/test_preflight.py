"""The parts of tools/preflight.py that need no kernel and no browser."""

import pathlib

from tools import preflight

ROOT = pathlib.Path(__file__).resolve().parent.parent


def load():
    return preflight


def test_learner_versions_are_compared_in_memory(capsys):
    preflight = load()
    lessons = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    assert preflight.students_in_sync(lessons)
    assert "OUT OF SYNC" not in capsys.readouterr().out


def test_agenda_is_a_markdown_table():
    row = {"notebook": "01_x.ipynb", "seconds": 12.3, "budget": 25.0, "peak_rss_mib": 400, "cpu_seconds": 11.0}
    table = load().agenda([{**row, "exercises": 2, "exercise_minutes": 17}]).splitlines()
    assert table[0].startswith("| notebook |") and table[1].startswith("|---")
    assert table[2] == "| 01_x.ipynb | 12.3 | 25 | 400 | 11.0 | 2 | 17 |"


def test_exercise_minutes_add_up_the_lessons_estimates():
    import nbformat

    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell("### Exercise 1: a mask (about 10 minutes)"),
            nbformat.v4.new_markdown_cell("**Predict first** (about 2 min): and about 5 more words"),
            nbformat.v4.new_code_cell("# (about 99 minutes) in code does not count"),
        ]
    )
    assert load().exercise_minutes(nb) == 12
