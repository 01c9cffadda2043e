"""Handing the notebooks to a room: the nbgitpuller link (tools/hub.py), the setup cell in the folder nbgitpuller
pulls into, and the Binder configuration and badge."""

import os
import pathlib
import shutil
import subprocess
import sys
import urllib.parse

import pytest
from test_colab import LOG, REPORT, SETUP, report

import helpers
from tools import hub

ROOT = pathlib.Path(__file__).resolve().parent.parent


def test_the_nbgitpuller_link_is_the_documented_one():
    link = hub.nbgitpuller_link("https://hub.example.org", branch="main", repository="owner/workshop")
    assert link == (
        "https://hub.example.org/hub/user-redirect/git-pull?repo=https%3A%2F%2Fgithub.com%2Fowner%2Fworkshop"
        "&branch=main&urlpath=lab%2Ftree%2Fworkshop%2Fnotebooks%2F00_setup.ipynb"
    )
    # A hub under a path, a trailing slash, another notebook, the classic view: the same form.
    # ... and a lesson with exercises opens as its learner version.
    other = hub.nbgitpuller_link("https://example.org/jupyter/", notebook="02_attention.ipynb", app="tree")
    parts = urllib.parse.urlsplit(other)
    assert parts.path == "/jupyter/hub/user-redirect/git-pull"
    assert urllib.parse.parse_qs(parts.query) == {
        "repo": [f"https://github.com/{helpers.REPOSITORY}"],
        "branch": [helpers.BRANCH],
        "urlpath": [f"tree/{helpers.REPOSITORY.split('/')[1]}/notebooks/student/02_attention.ipynb"],
    }


def test_a_bad_hub_app_notebook_or_repository_says_what_was_expected():
    with pytest.raises(ValueError, match="hub: expected the hub's full address with https://.*got 'hub.example.org'"):
        hub.nbgitpuller_link("hub.example.org")
    with pytest.raises(ValueError, match="app: expected 'lab'.*got 'notebook'"):
        hub.nbgitpuller_link("https://hub.example.org", app="notebook")
    with pytest.raises(ValueError, match="notebook: no '99_nope.ipynb' in notebooks/; the lessons are 00_setup"):
        hub.nbgitpuller_link("https://hub.example.org", notebook="99_nope.ipynb")
    with pytest.raises(ValueError, match="repository: expected OWNER/NAME"):
        hub.nbgitpuller_link("https://hub.example.org", repository="https://github.com/someone/fork")


def test_the_command_prints_the_link_for_a_fork_or_a_message(capsys):
    hub.main(["https://hub.example.org", "--branch", "spring", "--repository", "someone/fork"])
    link = capsys.readouterr().out.strip()
    assert link == hub.nbgitpuller_link("https://hub.example.org", "spring", repository="someone/fork")
    assert "repo=https%3A%2F%2Fgithub.com%2Fsomeone%2Ffork&branch=spring&urlpath=lab%2Ftree%2Ffork%2F" in link
    with pytest.raises(SystemExit) as exit_status:
        hub.main(["hub.example.org"])
    assert exit_status.value.code == 2
    assert "error: hub: expected the hub's full address with https://" in capsys.readouterr().err  # no traceback


@pytest.mark.slow
@pytest.mark.parametrize("where", ["notebooks", "."])
def test_the_setup_cell_finds_helpers_in_the_folder_nbgitpuller_pulls(tmp_path, where):
    """nbgitpuller clones into ~/NAME (NAME: the repository's); the link opens NAME/notebooks/00_setup.ipynb, whose
    kernel starts in that folder. A learner may also open a notebook from NAME/ itself."""
    pulled = tmp_path / "home" / hub.folder()
    for part in ("helpers", "data", "notebooks"):
        ignore = shutil.ignore_patterns("__pycache__", "student", "*.ipynb")
        shutil.copytree(ROOT / part, pulled / part, ignore=ignore)
    env = {**os.environ, "WORKSHOP_DEVICE": "cpu", "PYTHONPATH": ""}
    result = subprocess.run(
        [sys.executable, "-c", LOG + f"exec({SETUP!r})\n" + REPORT],
        cwd=pulled / where,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    found = report(result)
    assert found["commands"] == [] and found["helpers"] == str(pulled / "helpers" / "__init__.py")


BINDER = ROOT / "binder" / "requirements.txt"


def requirement_names(path):
    names = []
    for line in path.read_text().splitlines():
        line = line.split("#")[0].strip()
        if line and not line.startswith("-"):
            names.append(line.split("=")[0].split(">")[0].split("<")[0].strip())
    return names


def test_binder_installs_the_repository_requirements_with_the_cpu_only_torch():
    lines = [line.strip() for line in BINDER.read_text().splitlines() if line.strip() and not line.startswith("#")]
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in lines
    torch = [line for line in lines if line.startswith("torch")]
    assert torch == ["torch==2.13.0+cpu"], "a +cpu version exists only on PyTorch's CPU index: no CUDA libraries"
    assert "-r ../requirements.txt" in lines  # pip reads it relative to binder/: the same list, one source
    assert "torch" in requirement_names(ROOT / "requirements.txt")
    assert (ROOT / "binder" / "runtime.txt").read_text().strip() == "python-3.11"


def test_the_readme_has_a_binder_badge_for_the_repository():
    readme = (ROOT / "README.md").read_text()
    link = hub.binder_link()
    assert f"[![Binder](https://mybinder.org/badge_logo.svg)]({link})" in readme
    assert link == (
        f"https://mybinder.org/v2/gh/{helpers.REPOSITORY}/{helpers.BRANCH}"
        "?urlpath=lab%2Ftree%2Fnotebooks%2F00_setup.ipynb"
    )


def test_preflight_hub_mode_says_what_is_missing(tmp_path, monkeypatch, capsys):
    """`python -m tools.preflight --hub`: nbgitpuller installed, the repository and its branch reachable, else a
    message that says what to do (offline included), never a traceback."""
    import importlib.util

    from test_colab import git

    from tools import preflight

    work, origin = tmp_path / "work", tmp_path / "origin.git"
    work.mkdir()
    (work / "README.md").write_text("workshop")
    git("init", "--quiet", cwd=work)
    git("add", ".", cwd=work)
    git("commit", "--quiet", "-m", "workshop", cwd=work)
    git("clone", "--quiet", "--bare", str(work), str(origin))
    installed = importlib.util.find_spec("nbgitpuller") is not None  # not a requirement: either way is tested
    assert preflight.hub_checks(str(origin), "main") is installed
    out = capsys.readouterr().out
    assert f"{origin} (main) reachable" in out and ("installed" if installed else "MISSING: add `pip install") in out

    monkeypatch.setattr(importlib.util, "find_spec", lambda name: object())  # as on a hub with nbgitpuller
    assert preflight.hub_checks(str(origin), "main")
    assert not preflight.hub_checks(str(origin), "spring")
    assert "NO BRANCH 'spring'" in capsys.readouterr().out
    assert not preflight.hub_checks(str(tmp_path / "missing.git"), "main")  # as offline: git cannot reach it
    out = capsys.readouterr().out
    assert "UNREACHABLE" in out and "need the network" in out and "Traceback" not in out
