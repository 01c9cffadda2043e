"""The setup cell on a simulated Colab, without network.

Each case runs the cell's one source (tools/setup_cell.py) in a fresh Python with a fake `google.colab` module,
REPO_URL pointing at a local repository made from this checkout's helpers/ and data/, and WORKSHOP_COLAB_DIR at a
temporary folder in place of /content. Every command the cell starts is logged, so the tests see that it clones
once, never again on a rerun, and never installs anything.
"""

import json
import os
import pathlib
import shutil
import subprocess
import sys

import pytest

import helpers

ROOT = pathlib.Path(__file__).resolve().parent.parent
SETUP = (ROOT / "tools" / "setup_cell.py").read_text()
REPO_LINE = next(line for line in SETUP.splitlines() if line.startswith("REPO_URL = "))
BRANCH_LINE = next(line for line in SETUP.splitlines() if line.startswith("BRANCH = "))

# Run in the child Python before the cell: Colab's marker module, and a log of every process started.
COLAB = """
import sys, types
sys.modules["google"] = types.ModuleType("google")
sys.modules["google.colab"] = types.ModuleType("google.colab")
"""
LOG = """
import json, os, subprocess
commands = []
class LoggedPopen(subprocess.Popen):
    def __init__(self, args, *rest, **kwargs):
        commands.append(args if isinstance(args, str) else " ".join(map(str, args)))
        super().__init__(args, *rest, **kwargs)
subprocess.Popen = LoggedPopen
os.system = lambda command: commands.append(command) or 0
"""
REPORT = """
import helpers.data
print(json.dumps({"commands": commands, "helpers": helpers.__file__, "corpus": len(helpers.data.load_corpus()),
                  "device": str(device)}))
"""


def git(*args, cwd=None):
    identity = ["-c", "user.name=test", "-c", "user.email=test@example.com", "-c", "init.defaultBranch=main"]
    subprocess.run(["git", *identity, *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def origin(tmp_path_factory):
    """A bare repository holding this checkout's helpers/ and data/, as GitHub would serve them."""
    work = tmp_path_factory.mktemp("work")
    for part in ("helpers", "data"):
        shutil.copytree(ROOT / part, work / part, ignore=shutil.ignore_patterns("__pycache__"))
    git("init", "--quiet", cwd=work)
    git("add", ".", cwd=work)
    git("commit", "--quiet", "-m", "workshop", cwd=work)
    git("checkout", "--quiet", "-b", "spring", cwd=work)  # a fork's teaching branch, told apart by one file
    (work / "data" / "spring.txt").write_text("spring")
    git("add", ".", cwd=work)
    git("commit", "--quiet", "-m", "spring", cwd=work)
    bare = tmp_path_factory.mktemp("github") / "transformer-fundamentals"
    git("clone", "--quiet", "--bare", str(work), str(bare))
    git("symbolic-ref", "HEAD", "refs/heads/main", cwd=bare)  # the default branch stays main
    return bare


def colab(content, url, runs=1, cwd=None, branch="main"):
    """Run the setup cell `runs` times in one fresh simulated Colab kernel; returns the finished process."""
    cell = SETUP.replace(REPO_LINE, f"REPO_URL = {str(url)!r}").replace(BRANCH_LINE, f"BRANCH = {branch!r}")
    script = COLAB + LOG + f"for _ in range({runs}):\n    exec({cell!r})\n" + REPORT
    env = {**os.environ, "WORKSHOP_COLAB_DIR": str(content), "WORKSHOP_DEVICE": "cpu", "PYTHONPATH": ""}
    return subprocess.run(
        [sys.executable, "-c", script], cwd=cwd or content, env=env, capture_output=True, text=True, timeout=120
    )


def report(result):
    """What the cell did: its git commands (imports may start others, e.g. ctypes runs ldconfig), and no pip."""
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout.strip().splitlines()[-1])
    assert not [c for c in found["commands"] if "pip" in c or "install" in c], found["commands"]
    found["commands"] = [c for c in found["commands"] if c.startswith("git")]
    return found


def test_the_cell_installs_nothing():
    assert "pip" not in SETUP and "install" not in SETUP  # Colab's own torch (with CUDA) is kept


@pytest.mark.slow
def test_first_run_clones_then_reruns_do_nothing_new(origin, tmp_path):
    first = report(colab(tmp_path, origin, runs=2))  # run, then run the cell again in the same kernel
    clone = tmp_path / "transformer-fundamentals"
    assert first["commands"] == [f"git clone --quiet --depth=1 --branch main {origin} {clone}.partial"]
    assert first["helpers"] == str(clone / "helpers" / "__init__.py")
    assert first["corpus"] > 1000 and first["device"] == "cpu"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["transformer-fundamentals"]
    again = report(colab(tmp_path, origin))  # a restarted kernel finds the clone
    assert again["commands"] == [] and again["helpers"] == first["helpers"]


def test_the_cell_clones_the_configured_branch():
    assert f'BRANCH = "{helpers.BRANCH}"' in SETUP.splitlines(), "run python tools/set_repository.py OWNER/NAME BRANCH"


@pytest.mark.slow
def test_a_forks_branch_is_the_one_cloned(origin, tmp_path):
    report(colab(tmp_path, origin, branch="spring"))
    assert (tmp_path / "transformer-fundamentals" / "data" / "spring.txt").exists()


@pytest.mark.slow
def test_an_interrupted_clone_is_redone(origin, tmp_path):
    clone = tmp_path / "transformer-fundamentals"
    (tmp_path / "transformer-fundamentals.partial" / ".git").mkdir(parents=True)  # killed while cloning
    (clone / ".git").mkdir(parents=True)  # left by an older setup cell that cloned in place
    (clone / "data").mkdir()
    result = report(colab(tmp_path, origin))
    assert len(result["commands"]) == 1 and result["helpers"] == str(clone / "helpers" / "__init__.py")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["transformer-fundamentals"]


def test_a_missing_repository_names_the_network_first_then_how_a_fork_fixes_it(tmp_path):
    missing = tmp_path / "no-such-repository"
    content = tmp_path / "content"
    content.mkdir()
    result = colab(content, missing)
    assert result.returncode != 0
    assert f"git could not clone {missing} (branch main)" in result.stderr
    assert "online" in result.stderr and "network" in result.stderr  # offline is the likeliest cause in a room
    assert "tools/set_repository.py OWNER/NAME BRANCH" in result.stderr
    assert "CalledProcessError" not in result.stderr
    assert list(content.iterdir()) == []  # nothing half-made is left to confuse the next run


@pytest.mark.slow
@pytest.mark.parametrize("folder", ["notebooks", "."])
def test_locally_the_cell_finds_helpers_without_cloning(folder):
    env = {**os.environ, "WORKSHOP_DEVICE": "cpu", "PYTHONPATH": ""}
    script = LOG + f"exec({SETUP!r})\n" + REPORT
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT / folder, env=env, capture_output=True, text=True, timeout=120
    )
    found = report(result)
    assert found["commands"] == [] and found["helpers"] == str(ROOT / "helpers" / "__init__.py")


def test_outside_the_workshop_the_message_says_where_to_start(tmp_path):
    env = {**os.environ, "PYTHONPATH": ""}
    result = subprocess.run([sys.executable, "-c", SETUP], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert result.returncode != 0
    assert f"helpers/ not found in {tmp_path}" in result.stderr and "workshop's folder" in result.stderr
