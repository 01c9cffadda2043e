"""The checkers of notebook 03 (MLP): the reference passes, known mistakes get their hint, errors no traceback."""

import torch
import torch.nn.functional as F

from helpers import checks


def mlp_reference(x, W1, b1, W2, b2):
    h = x @ W1.T + b1
    return (0.5 * h * (1 + torch.erf(h / 2**0.5))) @ W2.T + b2


def test_check_mlp_accepts_the_reference(capsys):
    assert checks.check_mlp(mlp_reference)
    assert "passed (4 test cases)" in capsys.readouterr().out


def test_check_mlp_accepts_torch_layers():
    assert checks.check_mlp(lambda x, W1, b1, W2, b2: F.linear(F.gelu(F.linear(x, W1, b1)), W2, b2))


def test_check_mlp_names_relu(capsys):
    assert not checks.check_mlp(lambda x, W1, b1, W2, b2: torch.relu(x @ W1.T + b1) @ W2.T + b2)
    out = capsys.readouterr().out
    assert "❌ MLP forward" in out
    assert "Hint: your result matches ReLU" in out


def test_check_mlp_names_the_tanh_approximation(capsys):
    assert not checks.check_mlp(lambda x, W1, b1, W2, b2: F.gelu(x @ W1.T + b1, approximate="tanh") @ W2.T + b2)
    assert "tanh approximation" in capsys.readouterr().out


def test_check_mlp_names_a_missing_nonlinearity_and_bias(capsys):
    assert not checks.check_mlp(lambda x, W1, b1, W2, b2: (x @ W1.T + b1) @ W2.T + b2)
    assert "no nonlinearity" in capsys.readouterr().out
    assert not checks.check_mlp(lambda x, W1, b1, W2, b2: F.gelu(x @ W1.T) @ W2.T + b2)
    assert "leaves out the bias b1" in capsys.readouterr().out


def test_check_mlp_reports_a_missing_transpose_without_traceback(capsys):
    assert not checks.check_mlp(lambda x, W1, b1, W2, b2: F.gelu(x @ W1 + b1) @ W2 + b2)
    out = capsys.readouterr().out
    assert "your function raised RuntimeError" in out
    assert "Traceback" not in out
    assert "transpose" in out  # the general hint


def test_check_mlp_not_implemented(capsys):
    def mlp_forward(x, W1, b1, W2, b2):
        raise NotImplementedError

    assert not checks.check_mlp(mlp_forward)
    assert "not implemented yet" in capsys.readouterr().out


def test_check_collapse_accepts_the_reference(capsys):
    assert checks.check_collapse_linear(lambda W1, b1, W2, b2: (W2 @ W1, W2 @ b1 + b2))
    assert "passed (2 test cases)" in capsys.readouterr().out


def test_check_collapse_names_the_wrong_order(capsys):
    assert not checks.check_collapse_linear(lambda W1, b1, W2, b2: (W1 @ W2, W2 @ b1 + b2))
    out = capsys.readouterr().out
    assert "❌ collapse two linear layers" in out
    assert "wrong order" in out


def test_check_collapse_names_the_bias_through_w2(capsys):
    assert not checks.check_collapse_linear(lambda W1, b1, W2, b2: (W2 @ W1, b1 + b2))
    assert "b1 goes through the second layer" in capsys.readouterr().out
    assert not checks.check_collapse_linear(lambda W1, b1, W2, b2: (W2 @ W1, b2))
    assert "also passes through W2" in capsys.readouterr().out


def test_check_collapse_wants_a_tuple(capsys):
    assert not checks.check_collapse_linear(lambda W1, b1, W2, b2: W2 @ W1)
    assert "expected a tuple of 2 values" in capsys.readouterr().out


def test_check_collapse_reports_an_error_without_traceback(capsys):
    def broken(W1, b1, W2, b2):
        raise ValueError("oops")

    assert not checks.check_collapse_linear(broken)
    out = capsys.readouterr().out
    assert "your function raised ValueError: oops" in out
    assert "Traceback" not in out
    assert "Hint:" in out
