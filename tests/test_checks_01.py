"""The checkers of notebook 01 (positional encoding): the reference passes, known mistakes get their hint,
errors give a message and no traceback."""

import torch

import helpers
from helpers import checks


def is_order_invariant(pool, x):
    expected = pool(x)
    for _ in range(5):
        shuffled = x[torch.randperm(len(x))]
        if not torch.allclose(pool(shuffled), expected, atol=1e-5):
            return False
    return True


def test_check_order_invariance_accepts_the_reference_and_lists_the_cases(capsys):
    assert checks.check_order_invariance(is_order_invariant)
    out = capsys.readouterr().out
    assert "✅ shuffle test: passed (6 test cases)" in out
    assert "order-invariant:     the mean over positions" in out
    assert "not order-invariant: the first token, x[0]" in out


def test_check_order_invariance_accepts_a_tensor_bool_and_a_flip():
    def by_flip(pool, x):  # one shuffle that moves every token: enough for these cases
        return (pool(x.flip(0)) - pool(x)).abs().max() < 1e-5

    assert checks.check_order_invariance(by_flip)


def test_check_order_invariance_leaves_the_global_seed_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    checks.check_order_invariance(is_order_invariant)
    assert torch.equal(torch.rand(3), expected)


def test_check_order_invariance_catches_a_test_without_a_shuffle(capsys):
    assert not checks.check_order_invariance(lambda pool, x: torch.allclose(pool(x), pool(x)))
    out = capsys.readouterr().out
    assert "❌ shuffle test: for pool = the first token, x[0]: you said it is order-invariant, but it is not" in out
    assert "Hint: shuffle the rows with x[torch.randperm(len(x))]" in out


def test_check_order_invariance_explains_equivariance(capsys):
    def ignores_attention(pool, x):  # right everywhere except on attention's output rows
        if pool(x).shape == x.shape:
            return True
        return is_order_invariant(pool, x)

    assert not checks.check_order_invariance(ignores_attention)
    out = capsys.readouterr().out
    assert "self-attention's output rows" in out and "equivariant" in out


def test_check_order_invariance_catches_always_false(capsys):
    assert not checks.check_order_invariance(lambda pool, x: False)
    out = capsys.readouterr().out
    assert "the mean over positions: you said it is not order-invariant, but it is" in out


def test_check_order_invariance_rejects_a_non_boolean(capsys):
    assert not checks.check_order_invariance(lambda pool, x: pool(x))
    assert "expected True or False, got a tensor of shape (4,)" in capsys.readouterr().out


def test_check_order_invariance_reports_an_error_without_traceback(capsys):
    def broken(pool, x):
        return pool(x[torch.randperm(len(x) + 1)])  # one index too many

    assert not checks.check_order_invariance(broken)
    captured = capsys.readouterr()
    assert "for pool = the mean over positions, your function raised" in captured.out
    assert "Traceback" not in captured.out + captured.err


def test_check_order_invariance_not_implemented_and_not_callable(capsys):
    def todo(pool, x):
        raise NotImplementedError

    assert not checks.check_order_invariance(todo)
    assert "not implemented yet" in capsys.readouterr().out
    assert not checks.check_order_invariance(True)
    assert "expected a function, got a bool" in capsys.readouterr().out


def test_check_sinusoidal_encoding_accepts_the_notebook_solution(capsys):
    def sinusoidal_pe(seq_len, d_model):
        positions = torch.arange(seq_len, dtype=torch.float32)[:, None]
        two_i = torch.arange(0, d_model, 2, dtype=torch.float32)
        angles = positions / 10000 ** (two_i / d_model)
        pe = torch.zeros(seq_len, d_model)
        pe[:, 0::2] = torch.sin(angles)
        pe[:, 1::2] = torch.cos(angles[:, : d_model // 2])
        return pe

    assert checks.check_sinusoidal_encoding(sinusoidal_pe)
    assert "✅ sinusoidal positional encoding: passed (4 test cases)" in capsys.readouterr().out


def test_check_sinusoidal_encoding_catches_an_even_only_solution(capsys):
    def even_only(seq_len, d_model):  # interleaving by stacking fails for an odd d_model
        angles = torch.arange(seq_len)[:, None] / 10000 ** (torch.arange(0, d_model, 2) / d_model)
        return torch.stack([angles.sin(), angles.cos()], dim=-1).flatten(1)

    assert not checks.check_sinusoidal_encoding(even_only)
    out = capsys.readouterr().out
    assert "for seq_len=7, d_model=5: wrong shape: expected (7, 5), got (7, 6)" in out
    assert "For an odd d_model the last column is a sine." in out


def test_check_sinusoidal_encoding_catches_a_wrong_base(capsys):
    def base_1000(seq_len, d_model):
        return helpers.sinusoidal_positional_encoding(seq_len, d_model, base=1000.0)

    assert not checks.check_sinusoidal_encoding(base_1000)
    assert "Hint: angle = pos / 10000 ** (2i / d_model)" in capsys.readouterr().out
