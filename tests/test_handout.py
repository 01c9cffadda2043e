"""tools/handout.py on a small repository: the hand-out branch leaves out the lessons that have a learner version,
the release brings them back as a fast-forward, and solution() in a hand-out says the solutions are not released."""

import pathlib
import subprocess

import pytest

from helpers.checks import core
from tools import handout


def git(cwd, *args):
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def repository(tmp_path, monkeypatch):
    for name, value in [("GIT_AUTHOR_NAME", "t"), ("GIT_AUTHOR_EMAIL", "t@example.com")]:
        monkeypatch.setenv(name, value)
        monkeypatch.setenv(name.replace("AUTHOR", "COMMITTER"), value)
    for path in ["README.md", "notebooks/00_setup.ipynb", "notebooks/02_attention.ipynb",
                 "notebooks/student/02_attention.ipynb", "helpers/__init__.py"]:
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(path)
    git(tmp_path, "init", "--quiet", "-b", "main")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "--quiet", "-m", "workshop")
    (tmp_path / "notes.txt").write_text("uncommitted")  # never goes in, and stays where it is
    monkeypatch.setattr(handout, "ROOT", tmp_path)
    return tmp_path


def files(repo, ref):
    return git(repo, "ls-tree", "-r", "--name-only", ref).splitlines()


def test_build_leaves_out_the_solutions_and_release_fast_forwards_to_them(repository, capsys):
    assert handout.main(["build"]) == 0
    assert files(repository, "handout") == [
        "README.md", "helpers/__init__.py", "notebooks/00_setup.ipynb", "notebooks/student/02_attention.ipynb"
    ]
    built = git(repository, "rev-parse", "handout")
    assert handout.main(["release"]) == 0
    assert files(repository, "handout") == files(repository, "main")
    git(repository, "merge-base", "--is-ancestor", built, "handout")  # a learner's pull fast-forwards
    assert git(repository, "branch", "--show-current") == "main" and (repository / "notes.txt").exists()
    assert git(repository, "status", "--porcelain") == "?? notes.txt"  # the index and the working tree untouched
    assert "git push origin handout" in capsys.readouterr().out


def test_solution_in_a_handout_says_not_released_and_the_checker_points_at_none(tmp_path, monkeypatch, capsys):
    name = next(iter(core._solution_cells()))  # an exercise with a worked solution in the full workshop
    core.verdict("check_x", "wrong", "a hint", stuck=name)
    assert "Stuck?" in capsys.readouterr().out
    (tmp_path / "student").mkdir()
    monkeypatch.setattr(core, "NOTEBOOKS", tmp_path)  # a hand-out: notebooks/ holds the learner versions only
    core.solution(name)
    assert "not released yet" in capsys.readouterr().out
    core.verdict("check_x", "wrong", "a hint", stuck=name)
    assert "Stuck?" not in capsys.readouterr().out


def test_the_real_handout_leaves_out_every_lesson_with_exercises():
    left_out = handout.solutions()
    lessons = sorted(pathlib.Path(handout.ROOT, "notebooks").glob("[0-9][0-9]_*.ipynb"))
    assert "notebooks/02_attention.ipynb" in left_out and "notebooks/00_setup.ipynb" not in left_out
    assert len(left_out) == len(lessons) - 1  # every lesson but 00_setup has exercises
