"""The checkers of notebook 05 (normalization)."""

import pytest
import torch
import torch.nn.functional as F

import helpers
from helpers import checks
from helpers.checks.testing import Fails, Passes, robustness


def layer_norm(x, eps=1e-5):
    mean = x.mean(dim=-1, keepdim=True)
    var = x.var(dim=-1, keepdim=True, unbiased=False)
    return (x - mean) / torch.sqrt(var + eps)


def layer_norm_by_moments(x, eps=1e-5):
    centred = x - x.mean(-1, keepdim=True)
    return centred * torch.rsqrt(centred.pow(2).mean(-1, keepdim=True) + eps)


def centred(x):
    return x - x.mean(dim=-1, keepdim=True)


def var(x):
    return x.var(dim=-1, keepdim=True, unbiased=False)


def over_the_batch(x, eps=1e-5):
    return (x - x.mean(dim=0, keepdim=True)) / torch.sqrt(x.var(dim=0, keepdim=True, unbiased=False) + eps)


LAYER_NORM_CASES = [
    Passes(layer_norm),
    Passes(layer_norm_by_moments),
    Passes(lambda x, eps=1e-5: F.layer_norm(x, x.shape[-1:], eps=eps), id="torch"),
    Fails(lambda x, eps=1e-5: centred(x) / var(x).sqrt(), ["tiny values", "there is no eps"]),
    Fails(lambda x, eps=1e-5: centred(x) / (var(x).sqrt() + eps), ["tiny values", "eps belongs inside"]),
    Fails(lambda x, eps=1e-5: centred(x) / (var(x) + 1e-5).sqrt(), ["eps=0.1 passed in", "ignores the eps"]),
    Fails(lambda x, eps=1e-5: centred(x) / (x.var(dim=-1, keepdim=True) + eps).sqrt(), "unbiased=False"),
    Fails(lambda x, eps=1e-5: x / (var(x) + eps).sqrt(), "does not subtract the mean"),
    Fails(over_the_batch, ["❌ layer norm", "batch norm's"]),
    Fails(lambda x: layer_norm(x), ["eps=0.1 passed in", "raised TypeError", "keep its signature"]),
    Fails(lambda x, eps=1e-5: x.mean(dim=3), "raised IndexError"),
    *robustness(layer_norm),
]


@pytest.mark.parametrize("case", LAYER_NORM_CASES, ids=str)
def test_check_layer_norm(case):
    case.check(checks.check_layer_norm)


def rms_norm(x, eps=1e-6):
    return x / torch.sqrt(x.pow(2).mean(dim=-1, keepdim=True) + eps)


def mean_square(x):
    return x.pow(2).mean(dim=-1, keepdim=True)


RMS_CASES = [
    Passes(rms_norm),
    Passes(lambda x, eps=1e-6: x * torch.rsqrt((x * x).sum(-1, keepdim=True) / x.shape[-1] + eps), id="rsqrt"),
    Passes(lambda x, eps=1e-6: F.rms_norm(x, x.shape[-1:], eps=eps), id="torch"),
    Fails(lambda x, eps=1e-6: F.layer_norm(x, x.shape[-1:], eps=eps), ["❌ RMSNorm", "matches layer norm"]),
    Fails(lambda x, eps=1e-6: x / (mean_square(x) + eps), "not its square root"),
    Fails(lambda x, eps=1e-6: x / (mean_square(x).sqrt() + eps), ["tiny values", "eps belongs inside"]),
    Fails(lambda x, eps=1e-6: x / mean_square(x).sqrt(), ["tiny values", "there is no eps"]),
    Fails(lambda x, eps=1e-6: x / (mean_square(x) + 1e-6).sqrt(), ["eps=0.1 passed in", "ignores the eps"]),
    Fails(lambda x, eps=1e-6: x / torch.sqrt(x.pow(2).mean(dim=0, keepdim=True) + eps), "wrong axis"),
    Fails(lambda x, eps=1e-6: 2 * rms_norm(x, eps), ["values are off", "Hint: each token on its own"]),
    Fails(lambda x, eps=1e-6: x / torch.sqrt(x.pow(2).mean(dim=-1, keep=True) + eps), "raised TypeError"),
    *robustness(rms_norm),
]


@pytest.mark.parametrize("case", RMS_CASES, ids=str)
def test_check_rms_norm(case):
    case.check(checks.check_rms_norm)


def test_the_references_equal_the_layers():
    x = torch.randn(2, 3, 8, generator=torch.Generator().manual_seed(0)) * 2 + 1
    assert torch.allclose(rms_norm(x), helpers.RMSNorm(8)(x), atol=1e-6)
    assert torch.allclose(rms_norm(x), torch.nn.RMSNorm(8, eps=1e-6)(x), atol=1e-6)
    assert torch.allclose(layer_norm(x), torch.nn.LayerNorm(8, elementwise_affine=False)(x), atol=1e-6)
