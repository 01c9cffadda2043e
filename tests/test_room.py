"""tools/room.py: arguments, the reports, one real room of 2 on 00_setup, and that an interrupted room leaves no
kernel behind. The comparison of outputs it uses is tools/outputs.py's (tests/test_outputs.py)."""

import os
import pathlib
import signal
import subprocess
import sys
import time

import psutil
import pytest

from tools import outputs, room

ROOT = pathlib.Path(__file__).resolve().parent.parent
SETUP = ROOT / "notebooks" / "00_setup.ipynb"


def test_notebooks_are_found_by_path_name_or_number():
    assert room.find_notebook("00") == SETUP
    assert room.find_notebook("00_setup.ipynb") == SETUP
    assert room.find_notebook(str(SETUP)) == SETUP
    with pytest.raises(Exception, match="notebook '99'.*found 0 matches"):
        room.find_notebook("99")


def test_arguments():
    args = room.parse(["3", "02", "05"])
    assert args.k == 3 and [p.name[:2] for p in args.notebooks] == ["02", "05"]
    curve = room.parse(["--curve"])
    assert [p.name[:2] for p in curve.notebooks] == ["02", "05", "07"] and curve.ks == [1, 2, 4, 8]
    for bad in (["0", "00"], ["two", "00"]):
        with pytest.raises(SystemExit):
            room.parse(bad)
    with pytest.raises(SystemExit):
        room.parse(["2"])  # no notebook
    with pytest.raises(SystemExit):
        room.parse(["2", "--curve"])


NUMBERS_7 = outputs.Difference(7, outputs.NUMBERS, "stdout", "loss 0.213", "loss 0.221")
OTHER_9 = outputs.Difference(9, outputs.OTHER, "stdout", "(4, 12)", "(4, 16)")


def learner(number=1, **figures):
    return room.Learner(number, SETUP, **figures)


MACHINE = {
    "cores": 2,
    "seconds": 12.0,
    "cpu_busy_percent": 97,
    "memory_before_gib": 1.0,
    "memory_peak_gib": 3.0,
    "memory_total_gib": 24.0,
}


def test_report_says_per_learner_what_held_and_the_machine():
    learners = [
        learner(1, seconds=5.04, slowest=(3, 2.01), peak_rss=800 * 2**20, cpu_seconds=6.4, threads=1),
        learner(
            2,
            seconds=6.0,
            slowest=(3, 2.5),
            peak_rss=810 * 2**20,
            cpu_seconds=6.5,
            threads=1,
            differences=[NUMBERS_7, OTHER_9],
            unexpected=[OTHER_9],  # in a cell compared exactly (tools.outputs.unexpected)
        ),
        learner(3, seconds=1.0, slowest=(2, 0.5), error="cell 2: AssertionError: loss"),
        learner(
            4, seconds=5.0, slowest=(3, 2.0), peak_rss=800 * 2**20, cpu_seconds=6.4, threads=1, differences=[NUMBERS_7]
        ),
    ]
    lines = room.report(learners, MACHINE).splitlines()
    assert lines[0].startswith("| notebook | learner |") and lines[1].startswith("|---")
    assert (
        lines[2]
        == "| 00_setup.ipynb | 1 | 5.0 | #3: 2.0 | 800 | 6.4 | 1 | ok: every cell ran, same outputs as committed |"
    )
    assert lines[3].endswith(
        "| OTHER differences (text, shapes, errors or warnings) in cells 9; numbers only in cells 7 |"
    )
    assert "FAILED: cell 2: AssertionError" in lines[4]
    assert lines[5].endswith("| ok: every cell ran, numbers only in cells 7 |")  # another CPU's rounding
    assert lines[-1].startswith("machine: 2 cores 97% busy over 12.0 s; memory in use 3.0 GiB at the peak (1.0")
    assert [x.ok for x in learners] == [True, False, False, True]


def test_curve_row_and_when_the_curve_goes_on():
    learners = [
        learner(i, seconds=s, slowest=(5, s / 2), peak_rss=900 * 2**20, cpu_seconds=s, threads=1)
        for i, s in ((1, 10.0), (2, 12.0))
    ]
    row = room.curve_row(learners, MACHINE, server_mib=110)
    assert row == "| 00_setup.ipynb | 2 | 11.0 | 12.0 | 6.0 | 900 | 1024 | 3.0 | 97 | 12.0 | [1] | 2/2 | 2/2 | 1010 |"
    assert row.count("|") == room.CURVE_HEADER.splitlines()[0].count("|")
    assert room.next_k_fits(2, MACHINE)  # 1 GiB each: 4 more fit in 24 GiB
    assert not room.next_k_fits(8, {**MACHINE, "memory_peak_gib": 11.0})  # 1.25 GiB each: 16 would need 21 GiB


def kernels_of(pid):
    """The kernels a process started (jupyter_client puts its own pid in JPY_PARENT_PID)."""
    found = []
    for process in psutil.process_iter():
        try:
            if process.environ().get("JPY_PARENT_PID") == str(pid) and process.pid != pid:
                found.append(process)
        except psutil.Error:
            pass
    return found


def alive(process):
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


@pytest.mark.slow
def test_a_room_of_two_runs_00_with_the_committed_outputs():
    learners, machine = room.run_room(SETUP, 2, timeout=120)
    for one in learners:
        assert one.error is None and one.differences == [], room.report(learners, machine)
        assert one.threads == 1 and one.peak_rss > 100 * 2**20 and one.seconds > 0 and one.cpu_seconds > 0
        assert not psutil.pid_exists(one.pid) or not alive(psutil.Process(one.pid))
        assert not pathlib.Path(one.connection_file).exists()
    assert machine["cpu_busy_percent"] > 0 and machine["seconds"] > 0  # two kernels ran on this machine's CPUs


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_an_interrupted_room_leaves_no_kernel(sig):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "tools.room", "2", "00"]
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while len(kernels := kernels_of(proc.pid)) < 2 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.2)
        assert len(kernels) == 2, "the room did not start its 2 kernels"
        files = [pathlib.Path(a) for k in kernels for a in k.cmdline() if a.endswith(".json")]
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130 and "interrupted" in err
    deadline = time.monotonic() + 10
    while any(alive(k) for k in kernels) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not [k.pid for k in kernels if alive(k)]
    assert files and not [f for f in files if f.exists()]


def test_the_curve_doubles_k_while_memory_allows_and_writes_its_table(monkeypatch, tmp_path, capsys):
    rooms = []

    def fake_room(path, k, timeout):  # 1.5 GiB added per learner, 24 GiB machine: 8 fits, 16 would not
        rooms.append(k)
        figures = dict(seconds=5.0 * k, slowest=(3, 2.0), peak_rss=800 * 2**20, cpu_seconds=5.0, threads=1)
        return [learner(i, **figures) for i in range(1, k + 1)], {**MACHINE, "memory_peak_gib": 1.0 + 1.5 * k}

    monkeypatch.setattr(room, "run_room", fake_room)
    monkeypatch.setattr(room, "jupyter_server_mib", lambda: 110.0)
    out = tmp_path / "curve.md"
    assert room.curve([SETUP], ks=[1, 2], max_k=32, out=out)
    assert rooms == [1, 2, 4, 8]
    table = out.read_text().splitlines()
    assert table[0].startswith("Measured with `python -m tools.room --curve` on ")
    assert table[0].endswith("one learner's idle JupyterLab server: 110 MiB.")
    assert table[2:4] == room.CURVE_HEADER.splitlines() and len(table) == 4 + 4
    assert table[-1].startswith("| 00_setup.ipynb | 8 | 40.0 | 40.0 | 2.0 | 800 | 1536 | 13.0 |")
    assert table[-1].endswith("| 910 |")  # the learner's server and one kernel: the per-user limit's floor
    rooms.clear()
    room.curve([SETUP], ks=[1], max_k=2)  # still the fake server
    assert rooms == [1, 2]  # --max-k stops the doubling
