"""The checkers: the reference passes, a wrong answer gets a hint, a crash gets a message, never a traceback."""

import math

import torch

import helpers
from helpers import checks


def test_compare_messages():
    assert checks.compare(torch.ones(2), torch.ones(2)) is None
    assert "wrong shape: expected (2,), got (3,)" in checks.compare(torch.ones(3), torch.ones(2))
    assert "off by up to 0.5" in checks.compare(torch.tensor([1.0, 1.5]), torch.ones(2))
    assert "nan" in checks.compare(torch.tensor([math.nan]), torch.ones(1))
    assert "expected a tensor of shape (2,), got a list" in checks.compare([1, 1], torch.ones(2))
    assert "tuple of 2" in checks.compare(torch.ones(1), (torch.ones(1), torch.ones(1)))
    assert checks.compare(2.0, 2.0) is None and "expected 2.0000, got 3.0000" in checks.compare(3.0, 2.0)


def test_positional_encoding_checker(capsys):
    assert checks.check_sinusoidal_encoding(helpers.sinusoidal_positional_encoding)
    assert "passed (4 test cases)" in capsys.readouterr().out

    def swapped(seq_len, d_model):  # cos on even, sin on odd: a classic slip
        pe = helpers.sinusoidal_positional_encoding(seq_len, d_model)
        return pe.flip(-1)

    assert not checks.check_sinusoidal_encoding(swapped)
    out = capsys.readouterr().out
    assert "❌" in out and "Hint: angle = pos / 10000" in out


def test_attention_checker_accepts_output_or_tuple(capsys):
    assert checks.check_attention(helpers.attention)
    assert checks.check_attention(lambda q, k, v: helpers.attention(q, k, v)[0])

    def unscaled(q, k, v):
        return torch.softmax(q @ k.transpose(-2, -1), dim=-1) @ v

    assert not checks.check_attention(unscaled)
    assert "sqrt(d_k)" in capsys.readouterr().out


def test_layer_norm_checker(capsys):
    assert checks.check_layer_norm(lambda x: torch.nn.functional.layer_norm(x, x.shape[-1:]))

    def unbiased(x):
        return (x - x.mean(-1, keepdim=True)) / torch.sqrt(x.var(-1, keepdim=True) + 1e-5)

    assert not checks.check_layer_norm(unbiased)
    assert "unbiased=False" in capsys.readouterr().out


def test_crashes_and_non_functions_are_reported_not_raised(capsys):
    def crashes(q, k, v):
        return q @ k  # shapes don't line up

    assert not checks.check_attention(crashes)
    out = capsys.readouterr().out
    assert "your function raised RuntimeError" in out and "Traceback" not in out

    def todo(q, k, v):
        raise NotImplementedError

    assert not checks.check_attention(todo)
    assert "not implemented yet" in capsys.readouterr().out
    assert not checks.check_attention(None)
    assert "expected a function, got a NoneType" in capsys.readouterr().out


def test_learner_cannot_change_the_reference_inputs():
    def mutates(q, k, v):
        q.zero_()
        return helpers.attention(q, k, v)[0]

    assert not checks.check_attention(mutates)  # wrong answer, but the next check still sees clean inputs
    assert checks.check_attention(helpers.attention)


def test_softmax_checker(capsys):
    assert checks.check_softmax(lambda s: torch.softmax(s, dim=-1))

    def overflows(scores):  # right formula, but exp(1000) is inf
        e = torch.exp(scores)
        return e / e.sum(dim=-1, keepdim=True)

    assert not checks.check_softmax(overflows)
    out = capsys.readouterr().out
    assert "large scores" in out and "nan or inf" in out and "subtract each row's max" in out
