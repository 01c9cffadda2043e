"""The checkers' core: compare, the verdict, running a learner's function safely, predictions, solutions."""

import math
import types

import numpy as np
import pytest
import torch
from checker_testing import Fails, Passes, looks_like_code, robustness, run_checker

from helpers import checks
from helpers.checks import core


def test_compare_messages():
    assert checks.compare(torch.ones(2), torch.ones(2)) is None
    assert "wrong shape: expected (2,), got (3,)" in checks.compare(torch.ones(3), torch.ones(2))
    assert "off by up to 0.5" in checks.compare(torch.tensor([1.0, 1.5]), torch.ones(2))
    assert "1 of 2 values" in checks.compare(torch.tensor([1.0, 1.5]), torch.ones(2))
    assert "nan" in checks.compare(torch.tensor([math.nan]), torch.ones(1))
    assert "expected a tensor of shape (2,), got a list" in checks.compare([1, 1], torch.ones(2))
    assert "expected 2 values (a tuple or a list)" in checks.compare(torch.ones(1), (torch.ones(1), torch.ones(1)))
    assert "got a list of 1" in checks.compare([torch.ones(1)], (torch.ones(1), torch.ones(1)))
    assert checks.compare(2.0, 2.0) is None and "expected 2.0000, got 3.0000" in checks.compare(3.0, 2.0)


def test_compare_checks_dtype_and_device_before_values():
    # one dtype rule for every exercise: any floating dtype with the right values; never a complex one
    assert checks.compare(torch.ones(2).double(), torch.ones(2)) is None
    assert checks.compare(torch.ones(2), torch.ones(2).double()) is None
    assert "wrong dtype: expected torch.float32, got torch.int64" in checks.compare(torch.ones(2).long(), torch.ones(2))
    assert "your result is complex" in checks.compare(torch.ones(2) + 0j, torch.ones(2))
    assert "expected a number" in checks.compare(torch.tensor(1 + 0j), 1.0)  # no crash on a complex 0-d tensor
    assert "expected torch.bool, got torch.float32" in checks.compare(torch.ones(2), torch.ones(2, dtype=torch.bool))
    meta = torch.ones(2, device="meta")
    assert "wrong device: expected a tensor on cpu, like the inputs, got one on meta" in checks.compare(
        meta, torch.ones(2)
    )
    assert "1 of 2 entries differ" in checks.compare(torch.tensor([True, True]), torch.tensor([True, False]))


def test_compare_numbers_accepts_floats_numpy_and_0d_tensors_not_strings_or_bools():
    for same in (0.5, np.float32(0.5), np.float64(0.5), torch.tensor(0.5)):
        assert checks.compare(same, 0.5) is None
        assert checks.compare(same, torch.tensor(0.5)) is None
    for wrong in ("0.5", True, torch.tensor([0.5]), [0.5], None, torch.tensor(0.5, device="meta")):
        assert "expected a number" in checks.compare(wrong, 0.5)
    assert checks.compare(math.inf, 0.5) == "expected 0.5000, got inf"


def test_compare_moves_to_the_cpu_before_changing_dtype(monkeypatch):
    """MPS has no float64: a tensor must reach the CPU before .double(). A fake device tensor records the order."""
    calls = []

    class Recorder(torch.Tensor):
        def cpu(self):
            calls.append("cpu")
            return super().cpu()

        def double(self):
            calls.append("double" if not calls else f"double after {calls[-1]}")
            return super().double()

    got = torch.ones(3).as_subclass(Recorder)
    assert core._compare_tensors(got, torch.ones(3), 1e-5, 0.0) is None
    assert calls[0] == "cpu"


def test_verdict_is_truthy_when_passed_and_silent_in_jupyter():
    passed, failed = core.Verdict("x", True, n_cases=2), core.Verdict("x", False, "wrong shape")
    assert passed and not failed
    assert repr(passed) == "<x: passed (2 test cases)>" and repr(failed) == "<x: not passed: wrong shape>"
    assert passed._ipython_display_() is None  # IPython shows nothing for an object with this method
    with pytest.raises(AssertionError):
        assert failed


def test_run_learner_reports_every_kind_of_failure():
    def fails_with(fn, *args):
        with pytest.raises(core.LearnerError) as caught:
            core.run_learner(fn, args or (torch.ones(2),))
        return caught.value

    def stub(x):
        raise NotImplementedError

    assert fails_with(stub).stub
    assert "SystemExit" in fails_with(lambda x: exit()).message  # the learner's own exit()
    assert "KeyboardInterrupt" in fails_with(lambda x: (_ for _ in ()).throw(KeyboardInterrupt)).message
    assert "raised ZeroDivisionError" in fails_with(lambda x: 1 / 0).message
    assert "returned None" in fails_with(lambda x: None).message
    assert "changed its input in place" in fails_with(lambda x: x.add_(1)).message
    assert "changed its input in place" in fails_with(lambda xs: xs.pop(), [torch.ones(1)]).message
    assert core.run_learner(lambda x: x + 1, (torch.ones(2),)).tolist() == [2.0, 2.0]


def test_run_learner_turns_ipython_exit_into_system_exit(monkeypatch):
    """In Jupyter, exit() asks the kernel to shut down instead of raising: the checker turns it into SystemExit."""
    import IPython

    shell = types.SimpleNamespace(ask_exit=lambda: None)
    monkeypatch.setattr(IPython, "get_ipython", lambda: shell)
    with pytest.raises(core.LearnerError, match="SystemExit"):
        core.run_learner(lambda: shell.ask_exit(), ())
    assert shell.ask_exit() is None  # restored afterwards


def test_run_learner_leaves_the_random_state_alone_and_is_repeatable():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    first = core.run_learner(lambda: torch.rand(2), ())
    assert torch.equal(torch.rand(3), expected)
    assert torch.equal(core.run_learner(lambda: torch.rand(2), ()), first)


def test_check_function_uses_known_mistakes_error_hints_and_the_nudge():
    def reference(x):
        return x * 2

    def run(fn):
        return run_checker(
            lambda f: checks.check_function(
                f,
                reference,
                [("x of shape (3,)", (torch.arange(3.0),))],
                "double",
                nudge="make it twice as big.",
                mistakes=[core.Mistake("you added instead of multiplying.", lambda x: x + 2)],
                error_hints=[("oops", "the oops hint.")],
            ),
            fn,
        )

    verdict, out = run(lambda x: x + 2)
    assert not verdict and "Hint: you added instead of multiplying." in out
    assert "Stuck? `helpers.checks.solution('<lambda>')`" not in out  # a lambda has no name to look up

    def triple(x):
        return x * 3

    verdict, out = run(triple)
    assert "Hint: make it twice as big." in out and "Stuck?" not in out  # no lesson has a solution called triple

    lesson_name = next(iter(core._solution_cells()))
    triple.__name__ = lesson_name
    assert f"Stuck? `helpers.checks.solution({lesson_name!r})` shows a worked solution." in run(triple)[1]

    def oops(x):
        raise ValueError("oops")

    assert "Hint: the oops hint." in run(oops)[1]
    assert "keep its signature" in run(lambda: 1)[1]
    assert run(reference)[0]


@pytest.mark.parametrize("case", robustness(lambda x: x * 2), ids=str)
def test_robustness_cases_on_a_toy_checker(case):
    case.check(
        lambda f: checks.check_function(
            f, lambda x: x * 2, [("x", (torch.arange(3.0),))], "double", nudge="make it twice as big."
        )
    )


def test_the_testing_helpers_catch_a_checker_that_leaks_code_on_the_stub():
    assert looks_like_code("divide by the square root of the key width.") is None
    for code in ("use torch.tril", "x.tril()", "q @ k", "a = b", "x[0]", "`mask`", "F.gelu", "return x"):
        assert looks_like_code(code), code

    def leaky(fn):
        return checks.check_function(fn, lambda x: x, [("x", (torch.ones(1),))], "id", nudge="return x.clone()")

    with pytest.raises(AssertionError, match="shows code"):
        robustness(lambda x: x)[0].check(leaky)
    with pytest.raises(AssertionError):
        Passes(lambda x: x + 1).check(leaky)
    with pytest.raises(AssertionError):
        Fails(lambda x: x, "anything").check(leaky)


# ----------------------------------------------------------------------------- predictions


def test_check_prediction_says_how_close(capsys):
    assert checks.check_prediction("weight on the last token", 0.5, torch.tensor(0.43), tolerance=0.1) is None
    assert "🎯 weight on the last token: you predicted 0.5, measured 0.43 (off by 0.07): well predicted." in (
        capsys.readouterr().out
    )
    checks.check_prediction("loss", 2.0, 0.43, why="the model learns fast.")
    out = capsys.readouterr().out
    assert "🤔 loss: you predicted 2, measured 0.43, off by 1.57." in out and "Why: the model learns fast." in out
    checks.check_prediction("grows", "Yes ", "yes")
    assert "🎯" in capsys.readouterr().out
    checks.check_prediction("grows", True, False)
    assert "🤔 grows: you predicted True, measured False." in capsys.readouterr().out


def test_check_prediction_never_fails(capsys):
    assert checks.check_prediction("x", None, 0.43) is None
    assert "You made no prediction" in capsys.readouterr().out
    assert checks.check_prediction("x", "a lot", 0.43) is None
    assert checks.check_prediction("x", torch.ones(3), 0.43) is None
    assert "should be a number, got a tensor of shape (3,)" in capsys.readouterr().out


# ----------------------------------------------------------------------------- solutions on request


def test_solution_prints_the_lesson_block_without_markers(capsys):
    cells = core._solution_cells()
    assert cells, "no lesson notebook with a solution block found"
    name, (notebook, source) = next(iter(cells.items()))
    checks.solution(name)
    out = capsys.readouterr().out
    assert f"from notebooks/{notebook}" in out
    assert "BEGIN SOLUTION" not in out and f"def {name}(" in out
    assert "helpers.checks.check_" not in out


def test_solution_of_04_leaves_out_the_lessons_own_check(capsys):
    checks.solution("parallel_block")
    out = capsys.readouterr().out
    assert "return x + attn(x) + mlp(x)" in out and "assert" not in out


def test_solution_accepts_the_function_and_names_the_known_ones(capsys):
    name = next(iter(core._solution_cells()))

    def stub():
        raise NotImplementedError

    stub.__name__ = name
    checks.solution(stub)
    assert "The worked solution" in capsys.readouterr().out
    checks.solution("no_such_exercise")
    out = capsys.readouterr().out
    assert "No exercise called 'no_such_exercise'" in out and name in out


@pytest.mark.parametrize(
    ("got", "expected"),
    [
        (1.7, float("inf")),
        (float("inf"), 1.7),
        (float("-inf"), float("inf")),
        (torch.tensor([1.0, 2.0]), torch.tensor([1.0, float("inf")])),
    ],
)
def test_compare_never_takes_a_finite_value_for_an_infinite_one(got, expected):
    # inf - 1.7 = inf, and inf > atol + 0 * inf (nan) is False: a naive tolerance test passes this
    assert checks.compare(got, expected) is not None


def test_compare_accepts_matching_infinities():
    assert checks.compare(float("inf"), float("inf")) is None


def test_check_prediction_accepts_obvious_variants_of_a_word(capsys):
    for guess in ["the shift", "Shifted", "shifts", " SHIFT "]:
        checks.check_prediction("which slows", guess, "shift", why="because.")
        assert "well predicted" in capsys.readouterr().out
    checks.check_prediction("worst", "no skip", "no skips")
    assert "well predicted" in capsys.readouterr().out
    checks.check_prediction("which slows", "scaled", "shift", why="because.")
    out = capsys.readouterr().out
    assert "well predicted" not in out and "Why: because." in out


def test_check_prediction_reads_its_explanation_from_the_registry(capsys, monkeypatch):
    monkeypatch.setitem(checks.core.WHY, "a registered prediction", "the registered reason.")
    checks.check_prediction("a registered prediction", 2.0, 0.43)
    assert "Why: the registered reason." in capsys.readouterr().out
    checks.check_prediction("a registered prediction", 2.0, 0.43, why="given here.")
    assert "Why: given here." in capsys.readouterr().out
