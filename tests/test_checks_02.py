"""The checkers of notebook 02 (attention)."""

import math
import warnings

import pytest
import torch
import torch.nn.functional as F
from checker_testing import Fails, Passes, robustness

import helpers
from helpers import checks
from helpers.checks.attention import _attention


def my_attention(q, k, v):
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    return torch.softmax(scores, dim=-1) @ v


def attention_pieces(q, k, v):  # scale the queries first
    return F.softmax((q / q.shape[-1] ** 0.5) @ k.mT, dim=-1) @ v


def with_weights(q, k, v):  # the text says: return only the output
    weights = F.softmax(q @ k.mT / q.shape[-1] ** 0.5, dim=-1)
    return weights @ v, weights


def batched_with_T(q, k, v):  # the first bug of 02's broken_attention: right for one sequence only
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch deprecates .T on more than 2 dims
        return torch.softmax(q @ k.T / math.sqrt(q.shape[-1]), dim=-1) @ v


ATTENTION_CASES = [
    Passes(my_attention),
    Passes(attention_pieces),
    Fails(with_weights, ["expected a tensor of shape (3, 4), got a tuple of 2", "the output alone"],
          id="returns (output, weights)"),
    Fails(helpers.attention, "you returned (output, weights)", id="helpers.attention returns the weights too"),
    Passes(F.scaled_dot_product_attention, id="torch"),
    Fails(lambda q, k, v: _attention(q, k, v, scale=1.0), "no scaling"),
    Fails(lambda q, k, v: _attention(q, k, v, scale=v.shape[-1] ** -0.5), ["d_k = 4 but d_v = 16", "the VALUES"]),
    Fails(lambda q, k, v: _attention(q, k, v, scale=1 / q.shape[-1]), "divided by d_k itself"),
    Fails(lambda q, k, v: _attention(q, k, v, scale=q.shape[-1] ** 0.5), "multiplied by the square root"),
    Fails(lambda q, k, v: _attention(q, k, v, dim=-2), "softmax runs over the queries"),
    Fails(lambda q, k, v: torch.softmax(q @ k / 2, dim=-1) @ v, ["raised RuntimeError", "k transposed"]),
    Fails(batched_with_T, ["raised RuntimeError", "reverses ALL the dimensions"]),
    Fails(lambda q, k, v: my_attention(q, k, v)[..., :1, :], "wrong shape"),
    *robustness(my_attention),
]


@pytest.mark.parametrize("case", ATTENTION_CASES, ids=str)
def test_check_attention(case):
    case.check(checks.check_attention)


def causal_mask(seq_len):
    return torch.ones(seq_len, seq_len, dtype=torch.bool).tril()


def bool_for_four_only(seq_len):  # the checker bug: a bool mask for one size, a float mask for others
    mask = torch.ones(seq_len, seq_len).tril()
    return mask.bool() if seq_len == 4 else mask


MASK_CASES = [
    Passes(causal_mask),
    Passes(lambda n: torch.arange(n)[None, :] <= torch.arange(n)[:, None], id="comparison"),
    Passes(lambda n: ~torch.ones(n, n, dtype=torch.bool).triu(1), id="not the upper triangle"),
    Fails(lambda n: ~causal_mask(n), ["for seq_len=4", "marks the keys to BLOCK"]),
    Fails(lambda n: torch.ones(n, n, dtype=torch.bool).triu(), "the FUTURE"),
    Fails(lambda n: torch.ones(n, n, dtype=torch.bool).tril(-1), "hides the diagonal"),
    Fails(lambda n: (torch.ones(n, n).tril() + 0j), ["your result is complex (torch.complex64)"], id="complex mask"),
    Fails(lambda n: torch.ones(n, n).tril(), ["wrong dtype: expected torch.bool, got torch.float32", "hide nothing"]),
    Fails(bool_for_four_only, ["for seq_len=1: wrong dtype", "hide nothing"]),
    Fails(lambda n: torch.ones(n).tril(), "raised RuntimeError"),
    Fails(lambda n: causal_mask(4), "for seq_len=1: wrong shape: expected (1, 1), got (4, 4)"),
    Fails(causal_mask(3), "expected a function, got a tensor of shape (3, 3) (torch.bool)"),
    *robustness(causal_mask, mutates_input=False),
]


@pytest.mark.parametrize("case", MASK_CASES, ids=str)
def test_check_causal_mask(case):
    case.check(checks.check_causal_mask)


SPLIT_CASES = [
    Passes(helpers.layers.split_heads, id="helpers"),
    Passes(lambda x, h: x.unflatten(-1, (h, -1)).permute(0, 2, 1, 3), id="unflatten"),
    Fails(lambda x, h: x.reshape(x.shape[0], h, x.shape[1], x.shape[2] // h), ["values are off", "straight to"]),
    Fails(lambda x, h: x.view(x.shape[0], x.shape[1], h, -1), ["expected (2, 2, 5, 4), got (2, 5, 2, 4)", "after seq"]),
    Fails(lambda x, h: x.view(x.shape[0], x.shape[1], -1, h).permute(0, 3, 1, 2), "every n_heads-th feature"),
    Fails(lambda x, h: x.view(1), "raised RuntimeError"),
    *robustness(helpers.layers.split_heads),
]


@pytest.mark.parametrize("case", SPLIT_CASES, ids=str)
def test_check_split_heads(case):
    case.check(checks.check_split_heads)


MERGE_CASES = [
    Passes(helpers.layers.merge_heads, id="helpers"),
    Passes(lambda x: x.permute(0, 2, 1, 3).flatten(2), id="flatten"),
    Fails(lambda x: x.reshape(x.shape[0], x.shape[2], -1), ["values are off", "without moving the heads back"]),
    Fails(lambda x: x.permute(0, 2, 3, 1).reshape(x.shape[0], x.shape[2], -1), "interleaves the heads"),
    Fails(lambda x: x.transpose(1, 2).view(x.shape[0], x.shape[2], -1), ["raised RuntimeError", "use .reshape"]),
    *robustness(helpers.layers.merge_heads),
]


@pytest.mark.parametrize("case", MERGE_CASES, ids=str)
def test_check_merge_heads(case):
    case.check(checks.check_merge_heads)


def test_merge_undoes_split():
    x = torch.randn(2, 5, 8, generator=torch.Generator().manual_seed(0))
    assert torch.equal(helpers.layers.merge_heads(helpers.layers.split_heads(x, 4)), x)
