"""Exercise checkers: run a learner's function against the reference and print a friendly verdict.

Every check_xxx(learner_fn) prints "passed" or what is wrong (wrong shape, values off by how much,
an exception raised) with a hint, and returns True/False. A learner's mistake never surfaces as a
traceback from inside helpers.
"""

import math

import torch

from . import layers


def _describe(value):
    if isinstance(value, torch.Tensor):
        return f"a tensor of shape {tuple(value.shape)}"
    return f"a {type(value).__name__}"


def compare(got, expected, atol=1e-5):
    """None if `got` matches `expected` (tensors, numbers, or tuples of them), else what differs."""
    if isinstance(expected, tuple):
        if not isinstance(got, tuple) or len(got) != len(expected):
            return f"expected a tuple of {len(expected)} values, got {_describe(got)}"
        for i, (g, e) in enumerate(zip(got, expected, strict=True)):
            problem = compare(g, e, atol)
            if problem:
                return f"item {i} of the returned tuple: {problem}"
        return None
    if isinstance(expected, torch.Tensor):
        if not isinstance(got, torch.Tensor):
            return f"expected a tensor of shape {tuple(expected.shape)}, got {_describe(got)}"
        if got.shape != expected.shape:
            return f"wrong shape: expected {tuple(expected.shape)}, got {tuple(got.shape)}"
        got = got.detach().to(torch.float64).cpu()
        expected = expected.detach().to(torch.float64).cpu()
        if not torch.isfinite(got).all():
            return "the result contains nan or inf values"
        diff = (got - expected).abs()
        if diff.max() > atol:
            where = tuple(int(i) for i in torch.unravel_index(diff.argmax(), diff.shape))
            return (
                f"values are off by up to {diff.max().item():.4g} (tolerance {atol:g}); "
                f"first at index {where}: expected {expected[where].item():.4f}, got {got[where].item():.4f}"
            )
        return None
    try:
        ok = math.isclose(float(got), float(expected), abs_tol=atol)
    except (TypeError, ValueError):
        return f"expected a number, got {_describe(got)}"
    return None if ok else f"expected {float(expected):.4f}, got {float(got):.4f}"


def _clone(value):
    return value.clone() if isinstance(value, torch.Tensor) else value


def check_function(learner_fn, reference_fn, cases, name, hint="", atol=1e-5, adapt=None):
    """Run learner_fn and reference_fn on each case and print one verdict.

    cases: list of (description, args tuple). adapt(result) may reshape the learner's result first
    (e.g. keep only the output of a function that also returns weights).
    """
    if not callable(learner_fn):
        return _verdict(name, f"expected a function, got {_describe(learner_fn)}", hint)
    for description, args in cases:
        expected = reference_fn(*args)
        try:
            got = learner_fn(*(_clone(a) for a in args))
            if adapt is not None:
                got = adapt(got)
        except NotImplementedError:
            return _verdict(name, "not implemented yet: replace the `raise NotImplementedError` with your code", hint)
        except Exception as error:  # a learner's bug: report it, don't raise it
            return _verdict(name, f"for {description}, your function raised {type(error).__name__}: {error}", hint)
        problem = compare(got, expected, atol)
        if problem:
            return _verdict(name, f"for {description}: {problem}", hint)
    return _verdict(name, None, hint, n_cases=len(cases))


def _verdict(name, problem, hint, n_cases=0):
    if problem is None:
        print(f"✅ {name}: passed ({n_cases} test case{'s' if n_cases != 1 else ''})")
        return True
    print(f"❌ {name}: {problem}")
    if hint:
        print(f"   Hint: {hint}")
    return False


def _randn(*shape, seed):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


# ----------------------------------------------------------------------------- checkers used by the notebooks


def check_sinusoidal_encoding(learner_fn):
    """learner_fn(seq_len, d_model) -> (seq_len, d_model) sinusoidal positional encoding."""
    cases = [(f"seq_len={n}, d_model={d}", (n, d)) for n, d in [(4, 6), (10, 16), (1, 8), (7, 5)]]
    return check_function(
        learner_fn,
        layers.sinusoidal_positional_encoding,
        cases,
        "sinusoidal positional encoding",
        hint="angle = pos / 10000 ** (2i / d_model); sin goes in the even columns 2i, cos in the odd columns 2i + 1. "
        "For an odd d_model the last column is a sine.",
        atol=1e-4,
    )


def check_attention(learner_fn):
    """learner_fn(q, k, v) -> output (..., seq_q, d_v), or (output, weights)."""
    cases = [
        ("q, k, v of shape (3, 4)", (_randn(3, 4, seed=1), _randn(3, 4, seed=2), _randn(3, 4, seed=3))),
        ("a batch: q (2, 5, 8), k and v (2, 6, 8)", (_randn(2, 5, 8, seed=4), *_randn(2, 2, 6, 8, seed=5))),
        ("large d_k = 64 (is the scaling right?)", tuple(_randn(3, 1, 4, 64, seed=7))),
    ]
    return check_function(
        learner_fn,
        lambda q, k, v: layers.attention(q, k, v)[0],
        cases,
        "scaled dot-product attention",
        hint="scores = q @ k.transpose(-2, -1) / sqrt(d_k); weights = softmax over the LAST dim (the keys); "
        "output = weights @ v.",
        adapt=lambda out: out[0] if isinstance(out, tuple) else out,
    )


def check_layer_norm(learner_fn):
    """learner_fn(x, eps=1e-5) -> x normalized over its last dimension (no scale or shift)."""
    cases = [
        ("x of shape (2, 3, 8)", (_randn(2, 3, 8, seed=1) * 3 + 1,)),
        ("one token, x of shape (1, 5)", (_randn(1, 5, seed=2),)),
    ]
    return check_function(
        learner_fn,
        lambda x: torch.nn.functional.layer_norm(x, x.shape[-1:]),
        cases,
        "layer norm",
        hint="normalize each token over its features: mean and var over dim=-1 (keepdim=True), var with "
        "unbiased=False, then (x - mean) / sqrt(var + 1e-5).",
        atol=1e-4,
    )


# Notebook-specific checkers go below, one section per notebook.
