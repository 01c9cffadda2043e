"""The checkers of notebook 01 (positional encoding)."""

import numpy as np
import pytest
import torch
from checker_testing import Fails, Passes, robustness, run_checker

import helpers
from helpers import checks
from helpers.checks.positions import _rotate, _sinusoidal


def is_order_invariant(pool, x):
    expected = pool(x)
    for _ in range(5):
        shuffled = x[torch.randperm(len(x))]
        if not torch.allclose(pool(shuffled), expected, atol=1e-5):
            return False
    return True


def by_flip(pool, x):  # one shuffle that moves every token: enough for these cases; returns a bool tensor
    return (pool(x.flip(0)) - pool(x)).abs().max() < 1e-5


def with_numpy(pool, x):  # np.allclose returns a numpy bool
    return np.allclose(pool(x.roll(3, 0)).numpy(), pool(x).numpy(), atol=1e-5)


def unpermutes_the_output(pool, x):  # puts attention's rows back in order: tests equivariance, not invariance
    for _ in range(5):
        perm = torch.randperm(len(x))
        out = pool(x[perm])
        if out.shape == x.shape:
            out = out[perm.argsort()]
        if not torch.allclose(out, pool(x), atol=1e-5):
            return False
    return True


def one_shuffle(pool, x):  # right unless the shuffle leaves the token that matters in place (x[0]: 1 time in 8)
    return torch.allclose(pool(x[torch.randperm(len(x))]), pool(x), atol=1e-5)


def ignores_attention(pool, x):  # right everywhere except on attention's output rows
    return True if pool(x).shape == x.shape else is_order_invariant(pool, x)


ORDER_CASES = [
    Passes(is_order_invariant),
    Passes(by_flip),
    Passes(with_numpy),
    Fails(one_shuffle, ["the first token, x[0]: your test answered True on some random shuffles",
                        "x[0] stays first 1 time in 8"], id="one shuffle"),
    Fails(unpermutes_the_output, ["self-attention's output rows", "put the output rows back in their original order"],
          id="un-permuted output"),
    Fails(lambda pool, x: torch.allclose(pool(x), pool(x)), ["the first token, x[0]: you said it is order-invariant"]),
    Fails(ignores_attention, ["self-attention's output rows", "equivariant"]),
    Fails(lambda pool, x: False, ["the mean over positions: you said it is not order-invariant, but it is"]),
    Fails(lambda pool, x: bool(torch.equal(pool(x[torch.randperm(8)]), pool(x))), "tolerance rather than =="),
    Fails(lambda pool, x: pool(x), "expected True or False, got a tensor of shape (4,)"),
    Fails(lambda pool, x: 1, "expected True or False, got an int"),
    Fails(lambda pool, x: pool(x[torch.randperm(len(x) + 1)]), "for pool = the mean over positions, your function"),
    *robustness(is_order_invariant, tensor_result=False, mutates_input=False),
]


@pytest.mark.parametrize("case", ORDER_CASES, ids=str)
def test_check_order_invariance(case):
    case.check(checks.check_order_invariance)


def test_check_order_invariance_lists_the_cases_and_rejects_a_changed_x():
    _, out = run_checker(checks.check_order_invariance, is_order_invariant)
    assert "✅ shuffle test: passed (6 test cases)" in out
    assert "order-invariant:     the mean over positions" in out
    assert "not order-invariant: the first token, x[0]" in out

    def shuffles_in_place(pool, x):
        expected = pool(x)
        x[:] = x.flip(0)
        return torch.allclose(pool(x), expected, atol=1e-5)

    verdict, out = run_checker(checks.check_order_invariance, shuffles_in_place)
    assert not verdict and "changed its input in place" in out


def test_check_order_invariance_leaves_the_global_seed_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    run_checker(checks.check_order_invariance, is_order_invariant)
    assert torch.equal(torch.rand(3), expected)


def sinusoidal_pe(seq_len, d_model):
    positions = torch.arange(seq_len, dtype=torch.float32)[:, None]
    two_i = torch.arange(0, d_model, 2, dtype=torch.float32)
    angles = positions / 10000 ** (two_i / d_model)
    pe = torch.zeros(seq_len, d_model)
    pe[:, 0::2] = torch.sin(angles)
    pe[:, 1::2] = torch.cos(angles[:, : d_model // 2])
    return pe


def by_columns(seq_len, d_model):  # one column at a time, from the formula for column j
    pos = torch.arange(seq_len, dtype=torch.float32)
    columns = []
    for j in range(d_model):
        angle = pos / 10000 ** ((j - j % 2) / d_model)
        columns.append(torch.sin(angle) if j % 2 == 0 else torch.cos(angle))
    return torch.stack(columns, dim=1)


def even_only(seq_len, d_model):  # interleaving by stacking fails for an odd d_model
    angles = torch.arange(seq_len)[:, None] / 10000 ** (torch.arange(0, d_model, 2) / d_model)
    return torch.stack([angles.sin(), angles.cos()], dim=-1).flatten(1)


PE_CASES = [
    Passes(sinusoidal_pe),
    Passes(by_columns),
    Passes(helpers.sinusoidal_positional_encoding, id="helpers"),
    Fails(even_only, ["seq_len=7, d_model=5: wrong shape: expected (7, 5), got (7, 6)", "odd width ends"]),
    Fails(lambda n, d: _sinusoidal(n, d, cos_first=True), "sine and cosine are swapped"),
    Fails(lambda n, d: _sinusoidal(n, d, exponent=4), "the exponent is 2i / d_model"),
    Fails(lambda n, d: _sinusoidal(n, d, start=1), "positions count from 0"),
    Fails(lambda n, d: _sinusoidal(n, d, halves=True), "all the sines first"),
    Fails(lambda n, d: _sinusoidal(n, d, base=1000.0), "the base is 10000"),
    Passes(lambda n, d: sinusoidal_pe(n, d).double(), id="float64 table (the one dtype rule: any float)"),
    Fails(lambda n, d: sinusoidal_pe(n, d).long(), "wrong dtype: expected torch.float32, got torch.int64"),
    *robustness(sinusoidal_pe, mutates_input=False),
]


@pytest.mark.parametrize("case", PE_CASES, ids=str)
def test_check_sinusoidal_encoding(case):
    case.check(checks.check_sinusoidal_encoding)


def rotate_by_position(x):
    seq, d = x.shape[-2], x.shape[-1]
    omega = 1 / 10000 ** (torch.arange(0, d, 2, dtype=x.dtype) / d)
    angle = torch.arange(seq, dtype=x.dtype)[:, None] * omega
    first, second = x[..., 0::2], x[..., 1::2]
    turned = torch.stack([first * angle.cos() - second * angle.sin(), first * angle.sin() + second * angle.cos()], -1)
    return turned.flatten(-2)


def rotary_complex(x):  # LLaMA's way: pairs as complex numbers
    seq, d = x.shape[-2], x.shape[-1]
    angle = torch.arange(seq)[:, None] * (1 / 10000 ** (torch.arange(0, d, 2) / d))
    pairs = torch.view_as_complex(x.reshape(*x.shape[:-1], d // 2, 2).contiguous())
    return torch.view_as_real(pairs * torch.polar(torch.ones_like(angle), angle)).flatten(-2)


def rotary_matrices(x):  # one 2 x 2 rotation matrix per (position, pair)
    seq, d = x.shape[-2], x.shape[-1]
    angle = torch.arange(seq)[:, None] / 10000 ** (torch.arange(0, d, 2) / d)
    c, s = angle.cos(), angle.sin()
    R = torch.stack([torch.stack([c, -s], -1), torch.stack([s, c], -1)], -2)  # (seq, d/2, 2, 2)
    return (R @ x.unflatten(-1, (d // 2, 2))[..., None])[..., 0].flatten(-2)


ROTARY_CASES = [
    Passes(rotate_by_position),
    Passes(rotary_complex, id="complex"),
    Passes(rotary_matrices, id="matrices"),
    Fails(lambda x: _rotate(x, sign=-1.0), ["values are off", "the other way"]),
    Fails(lambda x: _rotate(x, start=1), ["for x of shape (5, 8)", "row 0 must come out unchanged"]),
    Fails(lambda x: _rotate(x, halves=True), "two neighbouring features"),
    Fails(lambda x: _rotate(x, same_angle=True), "grows with the position"),
    Fails(lambda x: _rotate(x, exponent=4), "times four"),
    Fails(lambda x: x + helpers.sinusoidal_positional_encoding(x.shape[-2], x.shape[-1]), ["values are off", "turn"]),
    Fails(lambda x: rotate_by_position(x)[..., :-1], "wrong shape"),
    *robustness(rotate_by_position),
]


@pytest.mark.parametrize("case", ROTARY_CASES, ids=str)
def test_check_rotary(case):
    case.check(checks.check_rotary)


def test_rotary_keeps_lengths_and_relative_scores():
    x = torch.randn(6, 8, generator=torch.Generator().manual_seed(0))
    turned = _rotate(x)
    assert torch.allclose(turned.norm(dim=-1), x.norm(dim=-1), atol=1e-5)
    assert torch.allclose(turned[0], x[0])
    q, k = _rotate(x[:1].expand(6, 8)), _rotate(x[1:2].expand(6, 8))
    scores = q @ k.T
    assert torch.allclose(scores.diagonal(1), scores.diagonal(1)[0].expand(5), atol=1e-5)
