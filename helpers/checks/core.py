"""The core every checker shares: run the learner's function safely, compare, pick a hint, print one verdict."""

import collections
import contextlib
import math
import os
import pathlib
import re
import time
import unittest.mock

import torch

SIGNATURE_HINTS = [("positional argument", "the checker calls your function with the arguments the exercise names: "
                    "keep its signature as given (the def line of the exercise).")]
STUCK = "Stuck? `helpers.checks.solution({name!r})` shows a worked solution."


class Verdict:
    """What a checker found, printed when made: truthy when passed (`assert check_x(fn)` guards a lesson's
    reference), silent in Jupyter (no `True`/`False` echo), its repr like the printed verdict in plain Python."""

    def __init__(self, name, passed, problem=None, hint=None, n_cases=0):
        self.name, self.passed, self.problem, self.hint, self.n_cases = name, passed, problem, hint, n_cases

    def __bool__(self):
        return self.passed

    def __repr__(self):
        if self.passed:
            return f"<{self.name}: passed ({self.n_cases} test cases)>"
        return f"<{self.name}: not passed: {self.problem}>"

    def _ipython_display_(self):
        pass  # the verdict was printed already


def verdict(name, problem=None, hint=None, n_cases=0, stuck=None):
    """Print one verdict and return it: passed when `problem` is None, else the problem, its hint and, when a lesson
    holds a worked solution of `stuck` (the learner's function, or a name), the pointer to `helpers.checks.solution`."""
    _record(name, problem is None)
    if problem is None:
        print(f"✅ {name}: passed ({n_cases} test case{'s' if n_cases != 1 else ''})")
        return Verdict(name, True, n_cases=n_cases)
    print(f"❌ {name}: {problem}")
    if hint:
        print(f"   Hint: {hint}")
    stuck = function_name(stuck) if callable(stuck) else stuck
    if stuck and stuck in _solution_cells(NOTEBOOKS):
        print("   " + STUCK.format(name=stuck))
    return Verdict(name, False, problem, hint)


def _record(name, passed):
    """Opt-in exercise timings for the instructor (tools/timings.py sums them up): with WORKSHOP_TIMINGS=FILE set,
    each verdict appends 'unix seconds, checker, pass|fail' to FILE, on this machine only."""
    path = os.environ.get("WORKSHOP_TIMINGS")
    if not path:
        return
    try:
        with open(os.path.expanduser(path), "a", encoding="utf-8") as file:
            file.write(f"{time.time():.0f}\t{name}\t{'pass' if passed else 'fail'}\n")
    except OSError as error:  # timings are the instructor's extra: say so, but never stop the learner's check
        print(f"(exercise timings not recorded: WORKSHOP_TIMINGS={path}: {error.strerror})")


def describe(value):
    """A short description of what a learner returned: 'a tensor of shape (2, 3)', 'None', 'a str'."""
    if value is None:
        return "None"
    if isinstance(value, torch.Tensor):
        extra = "" if value.dtype == torch.float32 and value.device.type == "cpu" else f" ({value.dtype}"
        if extra and value.device.type != "cpu":
            extra += f" on {value.device.type}"
        return f"a tensor of shape {tuple(value.shape)}" + (extra + ")" if extra else "")
    kind = type(value).__name__
    if isinstance(value, (list, tuple)):
        return f"a {kind} of {len(value)}"
    return f"{'an' if kind[0] in 'aeiou' else 'a'} {kind}"


def _as_number(value):
    """A Python float for a number-like value (int, float, numpy scalar, 0-d tensor), else None. bool is no number."""
    if isinstance(value, (bool, str, bytes)):
        return None
    if isinstance(value, torch.Tensor):
        if value.dim() != 0 or value.dtype == torch.bool or value.is_complex() or value.device.type == "meta":
            return None
        return value.detach().cpu().item()
    if isinstance(value, (int, float)):
        return float(value)
    if type(value).__module__ == "numpy" and getattr(value, "shape", None) == () and value.dtype.kind in "iuf":
        return float(value)
    return None


def compare(got, expected, atol=1e-5, rtol=0.0, nonfinite_ok=False):
    """None if `got` matches `expected` (a tensor, a number, or a tuple of them), else what differs.

    Tensors must match in type, shape, dtype and device before their values are compared; any floating dtype
    matches any other (the rule every exercise states: float32 or float64, the values count), a complex result
    never matches a real one. A number may come back as a Python number, a numpy scalar or a 0-d tensor;
    a tuple may come back as a list.
    """
    if isinstance(expected, tuple):
        if not isinstance(got, (tuple, list)) or len(got) != len(expected):
            return f"expected {len(expected)} values (a tuple or a list), got {describe(got)}"
        for i, (g, e) in enumerate(zip(got, expected, strict=True)):
            problem = compare(g, e, atol, rtol, nonfinite_ok)
            if problem:
                return f"item {i} of the returned tuple: {problem}"
        return None
    if isinstance(expected, torch.Tensor) and expected.dim() > 0:
        return _compare_tensors(got, expected, atol, rtol, nonfinite_ok)
    if isinstance(expected, bool):
        return None if got is expected else f"expected {expected}, got {describe(got)}"
    want, have = _as_number(expected), _as_number(got)
    if have is None:
        return f"expected a number (a float or a 0-d tensor), got {describe(got)}"
    if math.isclose(have, want, rel_tol=rtol, abs_tol=atol) or (math.isnan(have) and math.isnan(want)):
        return None
    return f"expected {want:.4f}, got {have:.4f}"


def _compare_tensors(got, expected, atol, rtol, nonfinite_ok=False):
    shape = tuple(expected.shape)
    if not isinstance(got, torch.Tensor):
        return f"expected a tensor of shape {shape}, got {describe(got)}"
    if got.shape != expected.shape:
        return f"wrong shape: expected {shape}, got {tuple(got.shape)}"
    if got.is_complex() and not expected.is_complex():
        return f"your result is complex ({got.dtype}); the answer is real: return a {expected.dtype} tensor"
    if got.dtype != expected.dtype and not (got.is_floating_point() and expected.is_floating_point()):
        return f"wrong dtype: expected {expected.dtype}, got {got.dtype}"
    if got.device != expected.device:
        return f"wrong device: expected a tensor on {expected.device}, like the inputs, got one on {got.device}"
    got, expected = got.detach().cpu(), expected.detach().cpu()  # to the CPU first: MPS has no float64
    if expected.dtype == torch.bool:
        wrong, what = got != expected, "entries differ"
    else:
        got, expected = got.double(), expected.double()
        if not torch.isfinite(got).all() and not (
            nonfinite_ok and torch.equal(torch.isfinite(got), torch.isfinite(expected))
        ):  # a known slip that overflows may match where it is finite
            return "the result contains nan or inf values"
        # torch.isclose is torch.testing.assert_close's rule (|got - expected| <= atol + rtol |expected|, nan = nan)
        wrong, what = ~torch.isclose(got, expected, rtol=rtol, atol=atol, equal_nan=True), "values"
        if wrong.any() and torch.isfinite(got[wrong]).all() and not torch.isfinite(expected[wrong]).all():
            return "values differ: the expected result has nan or inf values where yours is finite"
    if not wrong.any():
        return None
    where = tuple(int(i) for i in wrong.nonzero()[0])
    if expected.dtype == torch.bool:
        return (
            f"{int(wrong.sum())} of {wrong.numel()} {what}; first at index {where}: "
            f"expected {bool(expected[where])}, got {bool(got[where])}"
        )
    diff = (got - expected).abs().nan_to_num(posinf=0.0)[wrong].max().item()
    return (
        f"values are off by up to {diff:.4g} (tolerance {atol:g}), {int(wrong.sum())} of {wrong.numel()} values; "
        f"first at index {where}: expected {expected[where].item():.4f}, got {got[where].item():.4f}"
    )


# ----------------------------------------------------------------------------- running the learner's code


def _clone(value):
    if isinstance(value, torch.Tensor):
        return value.clone()
    if isinstance(value, (list, tuple)):
        return type(value)(_clone(v) for v in value)
    return value


def _changed(before, after):
    """True if `after` (what the learner got) no longer equals the snapshot `before`."""
    if isinstance(before, torch.Tensor):
        return not (before.shape == after.shape and torch.equal(before, after))
    if isinstance(before, (list, tuple)):
        return len(before) != len(after) or any(_changed(b, a) for b, a in zip(before, after, strict=False))
    return False


def _exit_raises():
    """In Jupyter, exit() in a learner's function would ask the kernel to shut down: make it raise SystemExit."""
    try:
        from IPython import get_ipython
    except ImportError:  # plain Python: exit() raises SystemExit already
        return contextlib.nullcontext()
    shell = get_ipython()  # None outside IPython
    if not hasattr(shell, "ask_exit"):
        return contextlib.nullcontext()
    return unittest.mock.patch.object(shell, "ask_exit", side_effect=SystemExit("exit() called"))


class LearnerError(Exception):
    """The learner's function could not produce a result: `message` says why; `stub` if there was no attempt to
    judge yet (the untouched stub, or no function at all)."""

    def __init__(self, message, stub=False, error=None):
        super().__init__(message)
        self.message, self.stub, self.error = message, stub, error


def run_learner(fn, args, kwargs=None):
    """fn(*args) on copies of args, seeded (the notebook's random state left alone), or LearnerError saying why not:
    no function, anything it raised (SystemExit and KeyboardInterrupt too), an input changed in place, None returned."""
    if not callable(fn):  # no attempt to judge yet, like the stub
        raise LearnerError(f"expected a function, got {describe(fn)}", True)
    fresh, pristine = _clone(tuple(args)), _clone(tuple(args))
    try:
        with torch.random.fork_rng(devices=[]), _exit_raises():
            torch.manual_seed(0)
            result = fn(*fresh, **(kwargs or {}))
    except NotImplementedError:
        why = "not implemented yet: replace the `raise NotImplementedError` with your code"
        raise LearnerError(why, True) from None
    except SystemExit as error:
        why = "(it called exit() or sys.exit()): return the result instead"
        raise LearnerError(f"your function raised SystemExit {why}", error=error) from None
    except KeyboardInterrupt as error:
        why = "(or was stopped) before it returned: is there a loop that never ends?"
        raise LearnerError(f"your function raised KeyboardInterrupt {why}", error=error) from None
    except BaseException as error:  # a learner's bug: report it, never raise it
        raise LearnerError(f"your function raised {type(error).__name__}: {error}", error=error) from None
    if _changed(pristine, fresh):
        raise LearnerError("your function changed its input in place (an in-place operation such as `+=`, `-=` or "
                           "a method ending in `_`): the caller's tensor must stay as it was, so build a new tensor "
                           "instead")
    if result is None:
        raise LearnerError("your function returned None: is the `return` missing?")
    return result


def function_name(fn):
    name = getattr(fn, "__name__", None)
    return name if name and name.isidentifier() else None


def failed(name, failure, nudge, stuck, where="", error_hints=()):
    """The verdict on a LearnerError: with no attempt yet, the nudge alone; else `where` and the message, the hint of
    a known error (error_hints: (text in its message, hint)) or the nudge, and the pointer to `stuck`'s solution."""
    if failure.stub:
        return verdict(name, failure.message, nudge)
    hint = next((h for text, h in error_hints if text in str(failure.error or "")), nudge)
    return verdict(name, where + failure.message, hint, stuck=stuck)


# A known wrong answer: `wrong(*args)` computes it, `hint` names the slip. Matched against what the learner returned
# on the failing test case (and only where the slip differs from the right answer).
Mistake = collections.namedtuple("Mistake", ["hint", "wrong"])


def _match_mistake(got, args, expected, mistakes, atol, rtol):
    for mistake in mistakes:
        try:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(0)
                wrong = mistake.wrong(*_clone(tuple(args)))
        except Exception:  # a slip that does not apply to these inputs
            continue
        if compare(wrong, expected, atol, rtol) is not None and compare(got, wrong, atol, rtol, True) is None:
            return mistake.hint
    return None


def check_function(learner_fn, reference_fn, cases, name, atol=1e-5, *, nudge="", mistakes=(), error_hints=(), rtol=0):
    """Run learner_fn and reference_fn on each case and print one verdict; return a Verdict.

    cases: list of (description, args tuple). nudge: what to think about, in words and without code; shown on the
    untouched stub and on a wrong answer that matches no known slip.
    mistakes: Mistake(hint, wrong_fn) for each known slip; the first that reproduces the learner's result
    on the failing case gives its hint.
    error_hints: (text in the error message, hint) for errors with a known cause.
    """
    for description, args in cases:
        expected = reference_fn(*_clone(tuple(args)))
        try:
            got = run_learner(learner_fn, args)
        except LearnerError as failure:
            return failed(name, failure, nudge, learner_fn, f"for {description}, ", [*error_hints, *SIGNATURE_HINTS])
        problem = compare(got, expected, atol, rtol)
        if problem:
            targeted = _match_mistake(got, args, expected, mistakes, atol, rtol)
            return verdict(name, f"for {description}: {problem}", targeted or nudge, stuck=learner_fn)
    return verdict(name, None, n_cases=len(cases))


def randn(*shape, seed):
    """A seeded standard-normal tensor: the same test inputs on every run, and the notebook's seed left alone."""
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


# ----------------------------------------------------------------------------- predictions


def check_prediction(name, guess, measured, *, tolerance=None, relative=None, why=None):
    """Say how close a learner's prediction came to what the next cell measured; never raises, returns None.

    guess: a number, a bool or a word written down before running (None: no prediction). tolerance / relative: how
    far off a number may be (absolute, or a fraction of the measured value; default 10 %). why: shown after a wrong
    guess; by default WHY[name], registered by the lesson's checks module so that the measuring cell's source does
    not show it. Words match loosely: "the shift", "shifted" and "Shifts" all match "shift".
    """
    if why is None:
        why = WHY.get(name, "")
    shown = _show(measured)
    if guess is None:
        print(f"📝 {name}: measured {shown}. You made no prediction: next time write one down first, then run.")
        return None
    if isinstance(measured, (bool, str)) or isinstance(guess, (bool, str)):
        same = _normal(guess) == _normal(measured)
        off = None
    else:
        value, truth = _as_number(guess), _as_number(measured)
        if value is None:
            print(f"📝 {name}: measured {shown}. Your prediction should be a number, got {describe(guess)}.")
            return None
        limit = tolerance if tolerance is not None else (relative if relative is not None else 0.1) * abs(truth)
        off = abs(value - truth)
        same = off <= limit
    if same:
        close = "" if off is None else f" (off by {off:.3g})"
        print(f"🎯 {name}: you predicted {_show(guess)}, measured {shown}{close}: well predicted.")
    else:
        close = "" if off is None else f", off by {off:.3g}"
        print(f"🤔 {name}: you predicted {_show(guess)}, measured {shown}{close}.")
        if why:
            print(f"   Why: {why}")
    return None


WHY = {}  # {prediction name: the explanation printed after a wrong guess}; lessons' checks modules fill it


def _normal(value):
    """A word reduced to its stem for matching: lower case, no article, no plural or -ed/-ing ending."""
    if not isinstance(value, str):
        return value
    words = [w for w in re.findall(r"[a-z0-9-]+", value.lower()) if w not in ("a", "an", "the")]
    return " ".join(_stem(w) for w in words)


def _stem(word):
    for ending in ("ing", "ed", "es", "s"):
        if word.endswith(ending) and len(word) - len(ending) >= 3:
            word = word[: -len(ending)]
            break
    return word[:-1] if word.endswith("e") and len(word) > 3 else word  # "scale", "scaled", "scales": "scal"


def _show(value):
    if isinstance(value, (bool, str)):
        return repr(value) if isinstance(value, str) else str(value)
    number = _as_number(value)
    return f"{number:.3g}" if number is not None else describe(value)


# ----------------------------------------------------------------------------- worked solutions, on request

NOTEBOOKS = pathlib.Path(__file__).resolve().parent.parent.parent / "notebooks"
# The lessons' exercise markers, in one place (tools/notebooks.py writes the learner versions with them):
# a solution block inside a function, a prediction block of `name = value` lines, and the line checking an exercise.
SOLUTION = re.compile(r"^(?P<indent>[ \t]*)# BEGIN SOLUTION\n.*?^[ \t]*# END SOLUTION[ \t]*$", re.S | re.M)
PREDICTION = re.compile(r"^# BEGIN PREDICTION[ \t]*\n(?P<body>.*?)^# END PREDICTION[ \t]*$", re.S | re.M)
MARKERS = re.compile(r"^[ \t]*# (BEGIN|END) SOLUTION[ \t]*\n", re.M)  # the solution block's two marker lines
CHECK_LINE = re.compile(r"^assert (helpers\.checks\.check_\w+\(.*\))[ \t]*$", re.M)


def _solution_cells(notebooks=NOTEBOOKS):
    """{function or class name: (notebook name, cell source)} for every code cell with a solution block."""
    import json  # the notebook format is plain JSON: no nbformat needed on a learner's machine

    found = {}
    if not notebooks.is_dir():  # helpers without the lessons beside it
        return found
    for path in sorted(notebooks.glob("[0-9][0-9]_*.ipynb")):
        for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
            source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
            if cell["cell_type"] != "code" or not SOLUTION.search(source):
                continue
            for defined in re.findall(r"^[ \t]*(?:def|class)[ \t]+(\w+)", source, re.M):
                found.setdefault(defined, (path.name, source))
    return found


def solution(name):
    """Print the worked solution of the exercise whose function (or class, or the function itself) is `name`,
    read from the lesson notebook beside the learner's version (notebooks/NN_*.ipynb): one copy of it."""
    if callable(name) and hasattr(name, "__name__"):
        name = name.__name__
    cells = _solution_cells(NOTEBOOKS)
    if not cells and (NOTEBOOKS / "student").is_dir():  # a hand-out (tools/handout.py): learner versions only
        print("The worked solutions are not released yet: your instructor releases them after the session (then "
              "pull the workshop again: the hub link, or `git pull`). Until then, the checker's hints are yours.")
        return None
    if name not in cells:
        known = ", ".join(sorted(cells)) or "none found (the lesson notebooks are not beside helpers/)"
        print(f"No exercise called {name!r}. Exercises with a worked solution: {known}.")
        return None
    notebook, source = cells[name]
    print(f"The worked solution, from notebooks/{notebook}:\n")
    code = MARKERS.sub("", source.rstrip() + "\n")
    print(CHECK_LINE.sub("", code).rstrip())  # the solution, not the lesson's own check of it
    return None
