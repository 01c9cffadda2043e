"""The checkers of notebook 03 (the MLP)."""

import pytest
import torch
import torch.nn.functional as F
from checker_testing import Fails, Passes, robustness

from helpers import checks


def mlp_forward(x, W1, b1, W2, b2):
    h = x @ W1.T + b1
    return (0.5 * h * (1 + torch.erf(h / 2**0.5))) @ W2.T + b2


MLP_CASES = [
    Passes(mlp_forward),
    Passes(lambda x, W1, b1, W2, b2: F.linear(F.gelu(F.linear(x, W1, b1)), W2, b2), id="torch"),
    Passes(lambda x, W1, b1, W2, b2: torch.einsum("...h,dh->...d", F.gelu(x @ W1.mT + b1), W2) + b2, id="einsum"),
    Fails(lambda x, W1, b1, W2, b2: torch.relu(x @ W1.T + b1) @ W2.T + b2, ["❌ MLP forward", "matches ReLU"]),
    Fails(lambda x, W1, b1, W2, b2: F.gelu(x @ W1.T + b1, approximate="tanh") @ W2.T + b2, "tanh approximation"),
    Fails(lambda x, W1, b1, W2, b2: (x @ W1.T + b1) @ W2.T + b2, "no nonlinearity"),
    Fails(lambda x, W1, b1, W2, b2: F.gelu(x @ W1.T) @ W2.T + b2, "leaves out the bias b1"),
    Fails(lambda x, W1, b1, W2, b2: F.gelu(x @ W1.T + b1) @ W2.T, "leaves out the bias b2"),
    Fails(lambda x, W1, b1, W2, b2: F.gelu(F.gelu(x @ W1.T + b1) @ W2.T + b2), "GELU after the second layer"),
    Fails(lambda x, W1, b1, W2, b2: F.gelu(x @ W1 + b1) @ W2 + b2, ["raised RuntimeError", "W1 transposed"]),
    *robustness(mlp_forward),
]


@pytest.mark.parametrize("case", MLP_CASES, ids=str)
def test_check_mlp(case):
    case.check(checks.check_mlp)


def collapse(W1, b1, W2, b2):
    return W2 @ W1, W2 @ b1 + b2


def collapse_by_probing(W1, b1, W2, b2):  # feed zero for the bias and the identity for the matrix
    def layers(x):
        return F.linear(F.linear(x, W1, b1), W2, b2)

    b = layers(torch.zeros(W1.shape[1]))
    return (layers(torch.eye(W1.shape[1])) - b).T, b


COLLAPSE_CASES = [
    Passes(collapse),
    Passes(collapse_by_probing),
    Passes(lambda W1, b1, W2, b2: [W2 @ W1, b1 @ W2.T + b2], id="a list"),
    Fails(lambda W1, b1, W2, b2: (W1 @ W2, W2 @ b1 + b2), ["❌ collapse two linear layers", "wrong order"]),
    Fails(lambda W1, b1, W2, b2: (W2 @ W1, b1 + b2), "b1 goes through the second layer"),
    Fails(lambda W1, b1, W2, b2: (W2 @ W1, b2), "also passes through W2"),
    Fails(lambda W1, b1, W2, b2: (W2 @ W1, W2 @ b1), "b2 is part of it"),
    Fails(lambda W1, b1, W2, b2: W2 @ W1, "expected 2 values (a tuple or a list)"),
    Fails(lambda W1, b1, W2, b2: (W2 @ W1, (W2 @ b1 + b2)[:, None]), "item 1 of the returned tuple: wrong shape"),
    *robustness(collapse),
]


@pytest.mark.parametrize("case", COLLAPSE_CASES, ids=str)
def test_check_collapse_linear(case):
    case.check(checks.check_collapse_linear)


def swiglu_forward(x, W1, W3, W2):
    gate = x @ W1.T
    return (gate * torch.sigmoid(gate) * (x @ W3.T)) @ W2.T


SWIGLU_CASES = [
    Passes(swiglu_forward),
    Passes(lambda x, W1, W3, W2: F.linear(F.silu(F.linear(x, W1)) * F.linear(x, W3), W2), id="torch"),
    Passes(lambda x, W1, W3, W2: torch.einsum("...h,dh->...d", F.silu(x @ W1.mT) * (x @ W3.mT), W2), id="einsum"),
    Fails(lambda x, W1, W3, W2: (F.gelu(x @ W1.T) * (x @ W3.T)) @ W2.T, "matches GELU"),
    Fails(lambda x, W1, W3, W2: (torch.sigmoid(x @ W1.T) * (x @ W3.T)) @ W2.T, "plain sigmoid"),
    Fails(lambda x, W1, W3, W2: (F.silu(x @ W3.T) * (x @ W1.T)) @ W2.T, "other way round"),
    Fails(lambda x, W1, W3, W2: (F.silu(x @ W1.T) + (x @ W3.T)) @ W2.T, "MULTIPLIED"),
    Fails(lambda x, W1, W3, W2: F.silu(x @ W1.T) @ W2.T, "leaves out W3"),
    Fails(lambda x, W1, W3, W2: (F.silu(x @ W1) * (x @ W3)) @ W2, ["raised RuntimeError", "transposed"]),
    *robustness(swiglu_forward),
]


@pytest.mark.parametrize("case", SWIGLU_CASES, ids=str)
def test_check_swiglu(case):
    case.check(checks.check_swiglu)
