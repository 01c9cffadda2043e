"""The checkers of notebook 05 (normalization)."""

import pytest
import torch
import torch.nn.functional as F
from checker_testing import Fails, Passes, robustness

import helpers
from helpers import checks


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


# ----------------------------------------------------------------------------- the pre-norm block


def pre_norm_forward(block, x):
    x = x + block.attn(block.norm1(x))
    x = x + block.mlp(block.norm2(x))
    return x


def pre_norm_in_a_loop(block, x):
    for sublayer, norm in ((block.attn, block.norm1), (block.mlp, block.norm2)):
        x = x + sublayer(norm(x))
    return x


def pre_norm_mutates_x(block, x):
    out = pre_norm_forward(block, x.clone())
    x += 1
    return out


PRE_NORM_CASES = [
    Passes(pre_norm_forward),
    Passes(pre_norm_in_a_loop),
    Fails(lambda block, x: block(x), ["❌ pre-norm block", "post-norm block", "AFTER the addition"], id="block(x)"),
    Fails(
        lambda block, x: block.norm2(block.norm1(x + block.attn(x)) + block.mlp(block.norm1(x + block.attn(x)))),
        "post-norm block",
        id="post-norm by hand",
    ),
    Fails(lambda block, x: (lambda h: h + block.norm2(block.mlp(h)))(x + block.norm1(block.attn(x))), "OUTPUT"),
    Fails(
        lambda block, x: (lambda h: h + block.mlp(h))(block.norm2((lambda n: n + block.attn(n))(block.norm1(x)))),
        "normalized the stream itself",
    ),
    Fails(lambda block, x: x + block.attn(block.norm1(x)) + block.mlp(block.norm2(x)), "AFTER attention"),
    Fails(lambda block, x: (lambda h: h + block.mlp(block.norm1(h)))(x + block.attn(block.norm1(x))), "own norm"),
    Fails(lambda block, x: block.mlp(block.norm2(block.attn(block.norm1(x)))), "no skip connections"),
    Fails(lambda block, x: x + block.attn(block.norm1(x)), "the MLP is missing"),
    Fails(lambda block, x: 2 * pre_norm_forward(block, x), ["values are off", "Hint: leave the stream alone"]),
    Fails(lambda block, x: x + block.attention(x), ["raised AttributeError"]),
    Fails(pre_norm_mutates_x, "changed its input in place", id="mutates x"),
    *robustness(pre_norm_forward, mutates_input=False),
]


@pytest.mark.parametrize("case", PRE_NORM_CASES, ids=str)
def test_check_pre_norm_block(case):
    case.check(checks.check_pre_norm_block)


def test_the_pre_norm_reference_equals_helpers_pre_norm_block():
    from helpers.checks.normalization import _pre_norm_cases

    for _, (block, x) in _pre_norm_cases():
        pre = helpers.TransformerBlock(
            block.d_model,
            block.attn.n_heads,
            norm="rms" if isinstance(block.norm1, helpers.RMSNorm) else "layer",
            norm_position="pre",
            causal=block.attn.causal,
        )
        pre.load_state_dict(block.state_dict())
        with torch.no_grad():
            assert torch.allclose(pre_norm_forward(block, x), pre(x), atol=1e-6)
            assert not torch.allclose(block(x), pre(x), atol=1e-3)  # the blocks handed out are post-norm
