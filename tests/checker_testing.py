"""What the checkers' unit tests share: run a checker on a learner's function and check its verdict and words.

    CASES = [
        Passes(my_reference), Passes(another_correct_way),
        Fails(lambda n: ~mask(n), "marks the keys to BLOCK"),       # a known slip and words of its hint
        *robustness(reference),                                    # stub, exceptions, None, dtype, device, ...
    ]

    @pytest.mark.parametrize("case", CASES, ids=str)
    def test_check_causal_mask(case):
        case.check(checks.check_causal_mask)

Every failing verdict is also checked for a traceback (there must be none) and for a `Stuck?` pointer to the
solution (only after a real attempt); the stub's hint is checked for code (there must be none).
"""

import contextlib
import io
import re

import torch

__all__ = ["Fails", "Passes", "looks_like_code", "robustness", "run_checker"]

# Code in a hint: a call or indexing right after a name, an operator, a method or attribute, a backtick, torch.
CODE = re.compile(
    r"\w\(|\w\[|`|=|@|\*\*|\btorch\b|\bnn\.|\bF\.|[A-Za-z_]\w*\.[A-Za-z_]\w+|\breturn\b|\bdef\b|\blambda\b"
)


def looks_like_code(text):
    """The first piece of code found in `text`, or None: hints for an untouched stub must contain none."""
    found = CODE.search(text)
    return found.group(0) if found else None


def run_checker(checker, learner_fn):
    """(verdict, everything the checker printed)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        result = checker(learner_fn)
    return result, out.getvalue()


class Passes:
    def __init__(self, fn, id=None):
        self.fn, self.id = fn, id or getattr(fn, "__name__", "passes")

    def __str__(self):
        return f"passes:{self.id}"

    def check(self, checker):
        result, out = run_checker(checker, self.fn)
        assert result, out
        assert bool(result) is True and out.startswith("✅"), out
        return out


class Fails:
    """A learner's function the checker must reject, printing each of `words` (a string or a list)."""

    def __init__(self, fn, words, id=None, stub=False):
        self.fn, self.words = fn, [words] if isinstance(words, str) else list(words)
        self.id, self.stub = id or self.words[0][:40], stub

    def __str__(self):
        return f"fails:{self.id}"

    def check(self, checker):
        result, out = run_checker(checker, self.fn)
        assert not result and bool(result) is False, out
        assert out.startswith("❌"), out
        assert "Traceback" not in out, out
        for words in self.words:
            assert words in out, f"{words!r} not in:\n{out}"
        if self.stub:
            hint = out.split("Hint: ", 1)[1] if "Hint: " in out else ""
            assert hint.strip(), f"no nudge on the stub:\n{out}"
            assert looks_like_code(hint) is None, f"the stub's hint shows code ({looks_like_code(hint)!r}):\n{out}"
            assert "Stuck?" not in out and "solution(" not in out, out
        return out


def _map_tensors(value, fn):
    """value with fn applied to its first tensor (itself, or the first in a tuple/list)."""
    if isinstance(value, torch.Tensor):
        return fn(value)
    if isinstance(value, (tuple, list)):
        items, done = [], False
        for item in value:
            if not done and isinstance(item, torch.Tensor):
                items.append(fn(item))
                done = True
            else:
                items.append(item)
        return type(value)(items)
    return value


def _first_tensor(value):
    if isinstance(value, torch.Tensor):
        return value
    if isinstance(value, (tuple, list)):
        return next((t for t in (_first_tensor(v) for v in value) if t is not None), None)
    return None


def _float64(t):
    return t.double() if t.is_floating_point() else t


def robustness(reference, tensor_result=True, mutates_input=True):
    """The cases every checker must reject with a clear message, built from a correct solution `reference`.

    tensor_result: the result holds a tensor (dtype, device and shape cases apply).
    mutates_input: the first argument is a tensor a function could change in place.
    """

    def stub(*args):
        raise NotImplementedError

    def raises(error):
        def fn(*args):
            raise error

        fn.__name__ = f"raises_{type(error).__name__}"
        return fn

    cases = [
        Fails(stub, "not implemented yet", id="stub", stub=True),
        Fails(raises(SystemExit(0)), "SystemExit", id="exit"),
        Fails(raises(KeyboardInterrupt()), "KeyboardInterrupt", id="interrupt"),
        Fails(raises(ValueError("oops")), "your function raised ValueError: oops", id="error"),
        Fails(lambda *args: None, "returned None", id="none"),
        Fails(lambda *args: "an answer", "got a str", id="str"),
        Fails(42, "expected a function, got an int", id="not callable"),
    ]
    if tensor_result:
        cases += [
            Passes(lambda *a: _map_tensors(reference(*a), _float64), id="float64"),  # one rule: any float dtype
            Fails(lambda *a: _map_tensors(reference(*a), lambda t: t.to(torch.complex64)), "complex", id="complex"),
            Fails(lambda *a: _map_tensors(reference(*a), lambda t: t.to("meta")), "device", id="meta"),
            Fails(lambda *a: _map_tensors(reference(*a), lambda t: t[None]), "shape", id="extra dim"),
            Fails(lambda *a: _map_tensors(reference(*a), lambda t: t.tolist()), "expected a tensor", id="list"),
        ]
    if mutates_input:

        def mutates(first, *rest):
            result = reference(first.clone(), *rest)
            first.mul_(2)
            return result

        cases.append(Fails(mutates, "changed its input in place", id="mutates"))
    return cases
