"""Checkers of notebook 01 (positional encoding): the shuffle test, the sinusoidal table, rotary embeddings."""

import torch

from .. import layers
from .core import WHY, LearnerError, Mistake, check_function, describe, failed, randn, run_learner, verdict


def _sinusoidal(seq_len, d_model, *, base=10000.0, start=0, cos_first=False, exponent=2, halves=False):
    """The sinusoidal encoding and its classic slips, for the checker's known mistakes."""
    position = torch.arange(start, start + seq_len, dtype=torch.float32)[:, None]
    two_i = torch.arange(0, d_model, 2, dtype=torch.float32)
    angles = position / base ** (exponent / 2 * two_i / d_model)
    first, second = (torch.cos, torch.sin) if cos_first else (torch.sin, torch.cos)
    if halves:
        return torch.cat([first(angles), second(angles[:, : d_model // 2])], dim=-1)
    pe = torch.zeros(seq_len, d_model)
    pe[:, 0::2] = first(angles)
    pe[:, 1::2] = second(angles[:, : d_model // 2])
    return pe


def check_sinusoidal_encoding(learner_fn):
    """learner_fn(seq_len, d_model) -> (seq_len, d_model) sinusoidal positional encoding."""
    cases = [(f"seq_len={n}, d_model={d}", (n, d)) for n, d in [(4, 6), (10, 16), (1, 8), (7, 5)]]
    mistakes = [
        Mistake("sine and cosine are swapped: the even columns 2i hold the sine, the odd columns 2i + 1 the cosine.",
                lambda n, d: _sinusoidal(n, d, cos_first=True)),
        Mistake("the frequency must fall with the PAIR index: the exponent is 2i / d_model, where 2i is the even "
                "column of the pair, not the column index itself times two.",
                lambda n, d: _sinusoidal(n, d, exponent=4)),
        Mistake("the first position is 0, not 1: positions count from 0 (so row 0 is sin 0 = 0, cos 0 = 1).",
                lambda n, d: _sinusoidal(n, d, start=1)),
        Mistake("yours puts all the sines first and then all the cosines; they are interleaved: column 2i is a sine "
                "and column 2i + 1 the cosine of the same angle.", lambda n, d: _sinusoidal(n, d, halves=True)),
        Mistake("the base is 10000, the constant of the original paper.", lambda n, d: _sinusoidal(n, d, base=1000.0)),
    ]
    return check_function(learner_fn, layers.sinusoidal_positional_encoding, cases, "sinusoidal positional encoding",
                          mistakes=mistakes, atol=1e-4,
                          nudge="each position gets one row. The columns come in pairs, a sine and then a cosine of "
                          "the same angle; the angle is the position divided by a wavelength that grows geometrically "
                          "from one pair to the next, with base ten thousand over the model width. An odd width ends "
                          "on a lone sine column.")


def _order_invariance_cases():
    """(description, pool function, is it order-invariant?, why[, hint if called invariant]); x is (8, 4)."""
    position_weights = torch.arange(1.0, 9.0)[:, None]  # 1, 2, ..., 8: one weight per position

    def self_attention(x):
        return layers.attention(x, x, x)[0]

    return [
        ("the mean over positions", lambda x: x.mean(dim=0), True, "a sum does not care about the order of its terms"),
        ("the first token, x[0]", lambda x: x[0], False, "after a shuffle another token is first"),
        ("the max over positions", lambda x: x.max(dim=0).values, True, "the largest value stays the largest"),
        ("a position-weighted sum, sum of p * x[p]", lambda x: (position_weights * x).sum(dim=0), False,
         "each token's weight depends on where it stands"),
        ("self-attention's output rows, attention(x, x, x)", self_attention, False,
         "its rows move with the input rows (equivariant), so the output tensor changes",
         "did your test put the output rows back in their original order before comparing? That tests equivariance "
         "(the output moves with the input); the question is whether pool(x) itself stays the same: compare the two "
         "pooled results as they come."),
        ("the mean of self-attention's output rows", lambda x: self_attention(x).mean(dim=0), True,
         "the rows only move, and their mean ignores where they are"),
    ]


def _as_bool(value):
    """True/False for a Python bool, a numpy bool (np.allclose returns one) or a one-element bool tensor; else None."""
    if isinstance(value, bool):
        return value
    if isinstance(value, torch.Tensor):
        if value.numel() == 1 and value.dtype == torch.bool and value.device.type != "meta":
            return bool(value.cpu())
        return None
    if type(value).__module__ == "numpy" and getattr(value, "dtype", None) is not None and value.dtype.kind == "b":
        return bool(value) if getattr(value, "size", 0) == 1 else None
    return None


SHUFFLE_SEEDS = range(8)  # under seed 2 a first torch.randperm(8) leaves position 0 in place


def _seeded(learner_fn, seed):
    """learner_fn with the global random state seeded first (run_learner restores the notebook's state after)."""
    if not callable(learner_fn):
        return learner_fn  # run_learner says what it got

    def run(*args):
        torch.manual_seed(seed)
        return learner_fn(*args)
    run.__name__ = getattr(learner_fn, "__name__", "run")
    return run


def check_order_invariance(learner_fn):
    """learner_fn(pool, x (seq, d)) -> True if pool(x) stays the same when the rows (positions) of x are shuffled."""
    name = "shuffle test"
    nudge = (
        "shuffle the positions (the rows of x), pool the original and the shuffled version, and compare the two "
        "results with a small tolerance: summing in another order changes the last bits, so exact equality is too "
        "strict."
    )
    x, cases = randn(8, 4, seed=0), _order_invariance_cases()
    for description, pool, invariant, why, *own_hint in cases:
        answers = set()
        for seed in SHUFFLE_SEEDS:  # other shuffles: one that leaves x[0] in place must not fool the test
            try:
                got = run_learner(_seeded(learner_fn, seed), (pool, x))
            except LearnerError as failure:
                return failed(name, failure, nudge, learner_fn, f"for pool = {description}, ")
            answer = _as_bool(got)
            if answer is None:
                problem = f"for pool = {description}: expected True or False, got {describe(got)}"
                return verdict(name, problem, nudge, stuck=learner_fn)
            answers.add(answer)
        if len(answers) > 1:
            problem = f"for pool = {description}: your test answered True on some random shuffles and False on others"
            hint = ("one shuffle can leave the tokens that matter in place (x[0] stays first 1 time in 8): try several "
                    "shuffles, and call pool(x) order-invariant only if every one leaves it unchanged.")
            return verdict(name, problem, hint, stuck=learner_fn)
        if answer != invariant:
            said = "it is order-invariant, but it is not" if answer else "it is not order-invariant, but it is"
            hint = (*own_hint, "does your test shuffle x at all, and compare the pooled results, not the inputs?")[0]
            if not answer:
                hint = "compare with a tolerance rather than ==, and the pooled results rather than the inputs."
            return verdict(name, f"for pool = {description}: you said {said}: {why}", hint, stuck=learner_fn)
    passed = verdict(name, None, n_cases=len(cases))
    print("   order-invariant:     " + "; ".join(c[0] for c in cases if c[2]))
    print("   not order-invariant: " + "; ".join(c[0] for c in cases if not c[2]))
    return passed


def _rotate(x, *, base=10000.0, start=0, sign=1.0, halves=False, exponent=2, same_angle=False):
    """Each pair of features of row p turned by p * omega_i (rotary position embedding), and its classic slips."""
    seq, d = x.shape[-2], x.shape[-1]
    position = torch.arange(start, start + seq, dtype=x.dtype, device=x.device)[:, None]
    omega = 1 / base ** (exponent / 2 * torch.arange(0, d, 2, dtype=x.dtype, device=x.device) / d)
    angle = omega.expand(seq, -1) if same_angle else position * omega  # (seq, d / 2)
    cos, sin = angle.cos(), sign * angle.sin()
    a, b = (x[..., : d // 2], x[..., d // 2 :]) if halves else (x[..., 0::2], x[..., 1::2])
    turned_a, turned_b = a * cos - b * sin, a * sin + b * cos
    if halves:
        return torch.cat([turned_a, turned_b], dim=-1)
    return torch.stack([turned_a, turned_b], dim=-1).flatten(-2)


def check_rotary(learner_fn):
    """learner_fn(x (..., seq, d) with d even) -> x with each pair (2i, 2i + 1) of row p turned by p * omega_i."""
    cases = [
        ("x of shape (5, 8)", (randn(5, 8, seed=1),)),
        ("a single position, x of shape (1, 4)", (randn(1, 4, seed=2),)),
        ("a batch, x of shape (2, 7, 6)", (randn(2, 7, 6, seed=3),)),
        ("d = 2, one pair: x of shape (9, 2)", (randn(9, 2, seed=4),)),
        ("batch 1, x of shape (1, 3, 16)", (randn(1, 3, 16, seed=5),)),
    ]
    mistakes = [
        Mistake("yours turns every pair the other way (clockwise). Turn by +angle: the first feature of a pair becomes "
                "first * cos - second * sin, the second becomes first * sin + second * cos.",
                lambda x: _rotate(x, sign=-1.0)),
        Mistake("the first position is 0, not 1: row 0 must come out unchanged (it turns by 0).",
                lambda x: _rotate(x, start=1)),
        Mistake("yours pairs feature i with feature i + d/2 (the two halves); here a pair is two neighbouring "
                "features, 2i and 2i + 1, as in the sinusoidal table.", lambda x: _rotate(x, halves=True)),
        Mistake("every row turns by the same angles in yours: the angle of pair i at position p is p times omega_i, so "
                "it grows with the position.", lambda x: _rotate(x, same_angle=True)),
        Mistake("the speed of pair i is 1 / 10000^(2i / d), with 2i the pair's first column, not the pair index times "
                "four.", lambda x: _rotate(x, exponent=4)),
    ]
    return check_function(learner_fn, _rotate, cases, "rotary position embedding", mistakes=mistakes, atol=1e-4,
                          nudge="read each pair of neighbouring features as a point in the plane. At position p, turn "
                          "every point counterclockwise by p times its pair's speed, with the same speeds as the "
                          "sinusoidal encoding. Row 0 stays as it is, and turning never changes a pair's length.")


WHY.update({
    "RMS of tokens + sinusoidal PE": "token and position vectors point in unrelated directions, so their SQUARES "
    "add up: sqrt(1.015² + 0.707²), less than 1.015 + 0.707.",
})
