"""Exercise timings: with WORKSHOP_TIMINGS set, the checkers append one line per verdict; tools/timings.py turns a
folder of learners' files into minutes from first check to first ✅ per exercise."""

import pytest
import torch

from helpers import checks
from helpers.checks import core
from tools import timings


def stub(scores):
    raise NotImplementedError


def right(scores):
    return torch.softmax(scores, dim=-1)


def learner(path, monkeypatch, minutes):
    """One learner: the stub checked at minute 0, a right answer after `minutes` (None: never)."""
    monkeypatch.setenv("WORKSHOP_TIMINGS", str(path))
    clock = [1_000_000.0]
    monkeypatch.setattr(core.time, "time", lambda: clock[0])
    checks.check_softmax(stub)
    if minutes is not None:
        clock[0] += minutes * 60
        checks.check_softmax(right)
        clock[0] += 60
        checks.check_softmax(right)  # a second ✅ later changes nothing


def test_a_room_of_three_gives_median_and_range(tmp_path, monkeypatch, capsys):
    room = tmp_path / "room"
    room.mkdir()
    for i, minutes in enumerate([4, 10, None]):
        learner(room / f"learner{i}.tsv", monkeypatch, minutes)
    assert (room / "learner2.tsv").read_text().splitlines()[0].endswith("\tsoftmax\tfail")
    assert timings.summary(sorted(room.iterdir())) == [("softmax", 3, 2, 7.0, 4.0, 10.0)]
    capsys.readouterr()
    timings.main([str(room)])
    assert "| softmax | 3 | 2 | 7 | 4–10 |" in capsys.readouterr().out


def test_nothing_is_recorded_unless_asked(tmp_path, monkeypatch):
    monkeypatch.delenv("WORKSHOP_TIMINGS", raising=False)
    monkeypatch.chdir(tmp_path)
    checks.check_softmax(right)
    assert list(tmp_path.iterdir()) == []


def test_an_unwritable_file_is_said_once_per_check_and_the_check_still_runs(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("WORKSHOP_TIMINGS", str(tmp_path / "no" / "such" / "folder.tsv"))
    assert checks.check_softmax(right)
    assert "exercise timings not recorded" in capsys.readouterr().out


def test_a_file_that_is_not_a_timing_record_is_named(tmp_path):
    bad = tmp_path / "notes.txt"
    bad.write_text("hello\n")
    with pytest.raises(SystemExit):
        timings.main([str(bad)])
    with pytest.raises(ValueError, match="notes.txt:1: expected 'seconds<TAB>checker<TAB>pass|fail'"):
        timings.summary([bad])
