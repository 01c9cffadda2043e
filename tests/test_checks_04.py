"""The checkers of notebook 04 (skip connections)."""

import pytest
import torch
import torch.nn.functional as F

import helpers
from helpers import checks
from helpers.checks.testing import Fails, Passes, robustness


def residual_forward(x, sublayers):
    for f in sublayers:
        x = x + f(x)
    return x


def residual_recursive(x, sublayers):
    return residual_recursive(x + sublayers[0](x), sublayers[1:]) if sublayers else x.clone()


def no_skip(x, sublayers):
    for f in sublayers:
        x = f(x)
    return x


def in_place(x, sublayers):
    for f in sublayers:
        x += f(x)
    return x


def one_skip(x, sublayers):
    return x + no_skip(x, sublayers)


RESIDUAL_CASES = [
    Passes(residual_forward),
    Passes(residual_recursive),
    Fails(no_skip, ["❌ residual forward", "no skip connection"]),
    Fails(lambda x, sublayers: x + sum(f(x) for f in sublayers), "every sublayer read the ORIGINAL x"),
    Fails(one_skip, "a skip goes around EACH sublayer"),
    Fails(lambda x, sublayers: residual_forward(x, sublayers[::-1]), "reverse order"),
    Fails(in_place, "changed its input in place"),
    Fails(lambda x, sublayers: x + sublayers(x), ["raised TypeError", "Hint: the stream starts as x"]),
    *robustness(residual_forward),
]


@pytest.mark.parametrize("case", RESIDUAL_CASES, ids=str)
def test_check_residual_forward(case):
    case.check(checks.check_residual_forward)


def test_check_residual_forward_agrees_with_the_helpers_block():
    torch.manual_seed(0)
    block = helpers.TransformerBlock(8, 2, skip=True, norm=None)
    x = torch.randn(2, 3, 8)
    assert torch.allclose(residual_forward(x, [block.attn, block.mlp]), block(x))


def cosine(x):
    unit = F.normalize(x, dim=-1)
    sims = unit @ unit.transpose(-2, -1)
    seq = x.shape[-2]
    return ((sims.sum(dim=(-2, -1)) - sims.diagonal(dim1=-2, dim2=-1).sum(-1)) / (seq * (seq - 1))).mean()


def cosine_by_pairs(x):  # every pair i != j, with F.cosine_similarity, as a float
    seq = x.shape[1]
    sims = [F.cosine_similarity(x[:, i], x[:, j], dim=-1) for i in range(seq) for j in range(seq) if i != j]
    return torch.stack(sims).mean().item()


def per_sequence(x):
    unit = F.normalize(x, dim=-1)
    sims = unit @ unit.transpose(-2, -1)
    seq = x.shape[-2]
    return (sims.sum(dim=(-2, -1)) - sims.diagonal(dim1=-2, dim2=-1).sum(-1)) / (seq * (seq - 1))


def raw(x):
    sims = x @ x.transpose(-2, -1)
    seq = x.shape[-2]
    return ((sims.sum(dim=(-2, -1)) - sims.diagonal(dim1=-2, dim2=-1).sum(-1)) / (seq * (seq - 1))).mean()


def wrong_axis(x):
    unit = F.normalize(x, dim=-2)
    sims = unit @ unit.transpose(-2, -1)
    seq = x.shape[-2]
    return ((sims.sum(dim=(-2, -1)) - sims.diagonal(dim1=-2, dim2=-1).sum(-1)) / (seq * (seq - 1))).mean()


def divides_by_all(x):
    sims = F.normalize(x, dim=-1) @ F.normalize(x, dim=-1).transpose(-2, -1)
    return ((sims.sum(dim=(-2, -1)) - x.shape[-2]) / x.shape[-2] ** 2).mean()


COSINE_CASES = [
    Passes(cosine),
    Passes(cosine_by_pairs),
    Passes(lambda x: cosine(x).item(), id="a float"),
    Passes(helpers.activations.mean_pairwise_cosine, id="helpers"),
    Fails(lambda x: (F.normalize(x, dim=-1) @ F.normalize(x, dim=-1).mT).mean(), "leave out the diagonal"),
    Fails(lambda x: (F.normalize(x, dim=-1) @ F.normalize(x, dim=-1).mT).mean().item(), "leave out the diagonal"),
    Fails(divides_by_all, "divided by all seq * seq"),
    Fails(per_sequence, ["expected a number (a float or a 0-d tensor), got a tensor of shape (2,)", "per sequence"]),
    Fails(raw, "raw dot products"),
    Fails(lambda x: raw(x).item(), "raw dot products"),
    Fails(wrong_axis, "wrong axis"),
    Fails(lambda x: str(cosine(x).item()), "expected a number (a float or a 0-d tensor), got a str"),
    Fails(lambda x: x @ x, ["raised RuntimeError", "Hint: the cosine of two tokens"]),
    *robustness(cosine, tensor_result=False),
]


@pytest.mark.parametrize("case", COSINE_CASES, ids=str)
def test_check_mean_pairwise_cosine(case):
    case.check(checks.check_mean_pairwise_cosine)
