"""Every public function and class of helpers, called wrongly: each case ends in a clear error that names the
argument (what was expected and what came), or in a defined correct result, never in a silent wrong answer
or an obscure internal error. `python -m tests.test_bad_input` (from the repository root) prints the number of
cases per outcome.

Not covered here: helpers.checks (the exercise checkers, tested in tests/test_checks_*.py), the diagram
(tests/test_diagram.py), helpers.encoder_decoder and helpers.language_model (their own test files).
"""

import math
import os
from contextlib import contextmanager

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import helpers
from helpers import activations, data, layers, plotting, setup, training

g = torch.Generator().manual_seed(0)
X = torch.randn(2, 5, 8, generator=g)  # (batch, seq, d_model)
Q = torch.randn(2, 5, 4, generator=g)  # (batch, seq, d_k)
CAUSAL = layers.causal_mask(5)
TOKENS = torch.randint(0, 10, (2, 6), generator=g)


def additive(allowed):
    return torch.zeros(allowed.shape).masked_fill(~allowed, float("-inf"))


def close(a, b, atol=1e-5):
    return a.shape == b.shape and a.dtype == b.dtype and torch.allclose(a, b, atol=atol, equal_nan=True)


def mha_pair(bias=True, dtype=torch.float32):
    torch.manual_seed(0)
    reference = nn.MultiheadAttention(8, 2, bias=bias, batch_first=True).eval().to(dtype)
    return layers.MultiHeadAttention(8, 2, bias=bias).to(dtype).load_from_torch(reference), reference


def mha_matches_torch(mask, torch_mask, dtype=torch.float32):
    ours, reference = mha_pair(dtype=dtype)
    x = X.to(dtype)
    return close(ours(x, mask=mask), reference(x, x, x, attn_mask=torch_mask)[0], atol=1e-5)


def norm_matches_torch(norm, x):
    x = x.reshape(-1, 8)  # (tokens, features): the layout all three torch norms take
    ours = norm(8)
    if norm is layers.LayerNorm:
        reference = nn.LayerNorm(8)
    elif norm is layers.RMSNorm:
        reference = nn.RMSNorm(8, eps=1e-6)
    else:
        reference = nn.BatchNorm1d(8)
    # in float32, as torch computes half-precision norms (torch 2.4's RMSNorm did not: it returned zeros at |x|=300);
    # torch's LayerNorm and BatchNorm1d refuse float64 input with float32 parameters
    expected = reference(x.float())
    out = ours(x)
    return out.dtype == x.dtype and out.abs().max() > 0.5 and torch.allclose(out.float(), expected.float(), atol=0.02)


def model_without_parameters():
    return nn.Sequential(nn.ReLU())


def watched_but_idle():
    model = nn.Sequential(nn.Linear(8, 8))
    return activations.record_activations(model, torch.zeros(2, 8), modules={"outside": nn.Linear(8, 8)})


def gradients_before_backward():
    return activations.gradient_norms(helpers.TinyTransformer(10, 16, 2, 4, 8))


def plotted(fig, curves, xlabel, ylabel):
    """A figure with one axes whose lines hold `curves` (y values, nan where nan), with these axis labels."""
    (ax,) = fig.axes
    ys = [list(line.get_ydata()) for line in ax.get_lines()]
    same = len(ys) == len(curves) and all(np.allclose(y, c, equal_nan=True) for y, c in zip(ys, curves, strict=True))
    return same and ax.get_xlabel() == xlabel and ax.get_ylabel() == ylabel


def heatmap(fig, weights, keys=None, queries=None):
    """plot_attention's figure: the weights as the image, keys along x and queries along y, and a colorbar."""
    ax, colorbar = fig.axes
    (image,) = ax.get_images()
    ticks = [[t.get_text() for t in ax.get_xticklabels()], [t.get_text() for t in ax.get_yticklabels()]]
    return (
        np.allclose(image.get_array(), weights)
        and ax.get_xlabel() == "key (attended to)"
        and ax.get_ylabel() == "query (attending)"
        and colorbar.get_ylabel() == "weight"
        and (keys is None or ticks == [keys, queries])
    )


def tiny_stats():
    torch.manual_seed(0)
    return activations.activation_stats(helpers.TinyTransformer(10, 16, 2, 4, 8), TOKENS)


@contextmanager
def environment(name, value):
    old = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = old


def device_from(value):
    with environment(setup.DEVICE_ENV, value):
        return setup.get_device()


def decoder():
    return data.CharTokenizer("abc")


def regression():
    return nn.Linear(3, 1), (torch.randn(4, 3, generator=g), torch.randn(4, 1, generator=g))


def error(case_id, fn, exception, match):
    return pytest.param(fn, exception, match, id=f"error: {case_id}")


def result(case_id, fn, check):
    return pytest.param(fn, None, check, id=f"result: {case_id}")


CASES = [
    # --------------------------------------------------------------------- positions
    error("sinusoidal seq_len=0", lambda: layers.sinusoidal_positional_encoding(0, 8), ValueError, "seq_len"),
    error("sinusoidal d_model=0", lambda: layers.sinusoidal_positional_encoding(8, 0), ValueError, "d_model"),
    error("sinusoidal seq_len=2.5", lambda: layers.sinusoidal_positional_encoding(2.5, 8), TypeError, "seq_len"),
    error("sinusoidal seq_len=None", lambda: layers.sinusoidal_positional_encoding(None, 8), TypeError, "seq_len"),
    error("sinusoidal d_model='8'", lambda: layers.sinusoidal_positional_encoding(8, "8"), TypeError, "d_model"),
    error("sinusoidal base=0", lambda: layers.sinusoidal_positional_encoding(8, 8, base=0), ValueError, "base"),
    error("sinusoidal base=-1", lambda: layers.sinusoidal_positional_encoding(8, 8, base=-1.0), ValueError, "base"),
    result("sinusoidal 1 x 1", lambda: layers.sinusoidal_positional_encoding(1, 1), lambda pe: pe.tolist() == [[0.0]]),
    error(
        "SinusoidalPositionalEncoding max_len=0",
        lambda: layers.SinusoidalPositionalEncoding(0, 8),
        ValueError,
        "max_len",
    ),
    error(
        "SinusoidalPositionalEncoding(0)", lambda: layers.SinusoidalPositionalEncoding(8, 8)(0), ValueError, "seq_len"
    ),
    error(
        "SinusoidalPositionalEncoding too long",
        lambda: layers.SinusoidalPositionalEncoding(8, 8)(9),
        ValueError,
        "max_len=8",
    ),
    error(
        "SinusoidalPositionalEncoding(2.0)",
        lambda: layers.SinusoidalPositionalEncoding(8, 8)(2.0),
        TypeError,
        "seq_len",
    ),
    result(
        "SinusoidalPositionalEncoding(max_len)",
        lambda: layers.SinusoidalPositionalEncoding(8, 4)(8),
        lambda pe: pe.shape == (8, 4),
    ),
    error(
        "LearnedPositionalEmbedding d_model=0", lambda: layers.LearnedPositionalEmbedding(8, 0), ValueError, "d_model"
    ),
    error("LearnedPositionalEmbedding(-1)", lambda: layers.LearnedPositionalEmbedding(8, 4)(-1), ValueError, "seq_len"),
    error(
        "LearnedPositionalEmbedding(None)", lambda: layers.LearnedPositionalEmbedding(8, 4)(None), TypeError, "seq_len"
    ),
    # --------------------------------------------------------------------- causal_mask
    error("causal_mask(2.5)", lambda: layers.causal_mask(2.5), TypeError, "seq_len must be an int, got float"),
    error("causal_mask(None)", lambda: layers.causal_mask(None), TypeError, "seq_len must be an int, got NoneType"),
    error("causal_mask(0)", lambda: layers.causal_mask(0), ValueError, "seq_len must be a positive int"),
    error("causal_mask(True)", lambda: layers.causal_mask(True), TypeError, "seq_len"),
    error("causal_mask('3')", lambda: layers.causal_mask("3"), TypeError, "seq_len"),
    result("causal_mask(1)", lambda: layers.causal_mask(1), lambda m: m.tolist() == [[True]]),
    result("causal_mask on meta", lambda: layers.causal_mask(3, device="meta"), lambda m: m.device.type == "meta"),
    # --------------------------------------------------------------------- attention
    error("attention q list", lambda: layers.attention(Q.tolist(), Q, Q), TypeError, "q must be a torch.Tensor"),
    error("attention q numpy", lambda: layers.attention(Q.numpy(), Q, Q), TypeError, "q must be a torch.Tensor"),
    error("attention q int", lambda: layers.attention(Q.long(), Q, Q), TypeError, "q must be a floating-point"),
    error("attention q None", lambda: layers.attention(None, Q, Q), TypeError, "q must be a torch.Tensor"),
    error(
        "attention q 1-D",
        lambda: layers.attention(Q[0, 0], Q, Q),
        ValueError,
        r"q: expected shape \(\.\.\., seq_q, d_k\)",
    ),
    error("attention d_k differs", lambda: layers.attention(Q, X, X), ValueError, "q and k must share d_k"),
    error("attention k/v positions", lambda: layers.attention(Q, Q, Q[:, :3]), ValueError, "same number of positions"),
    result(  # the leading dims broadcast, as in torch's own attention
        "attention batch differs",
        lambda: layers.attention(Q, Q[:1], Q[:1])[0],
        lambda out: close(out, F.scaled_dot_product_attention(Q, Q[:1], Q[:1])),
    ),
    # below, torch's own errors are clear: the checks that restated them are gone
    error("attention q float64", lambda: layers.attention(Q.double(), Q, Q), RuntimeError, "expected scalar type"),
    error(
        "attention mask int8",
        lambda: layers.attention(Q, Q, Q, mask=CAUSAL.to(torch.int8)),
        TypeError,
        "got dtype torch.int8",
    ),
    error(
        "attention mask uint8", lambda: layers.attention(Q, Q, Q, mask=CAUSAL.to(torch.uint8)), TypeError, "mask.bool()"
    ),
    error(
        "attention mask int32", lambda: layers.attention(Q, Q, Q, mask=CAUSAL.int()), TypeError, "got dtype torch.int32"
    ),
    error(
        "attention mask int64",
        lambda: layers.attention(Q, Q, Q, mask=CAUSAL.long()),
        TypeError,
        "got dtype torch.int64",
    ),
    error("attention mask float 0/1", lambda: layers.attention(Q, Q, Q, mask=CAUSAL.float()), ValueError, "0s and 1s"),
    error(
        "attention mask float64 0/1", lambda: layers.attention(Q, Q, Q, mask=CAUSAL.double()), ValueError, "mask.bool()"
    ),
    error(
        "attention mask list",
        lambda: layers.attention(Q, Q, Q, mask=CAUSAL.tolist()),
        AttributeError,
        "'list' object has no attribute 'dtype'",
    ),
    error(
        "attention mask (4, 4)",
        lambda: layers.attention(Q, Q, Q, mask=CAUSAL[:4, :4]),
        RuntimeError,
        r"Attempting to broadcast .* \(2, 5, 5\).* \[1, 4, 4\]",
    ),
    error(
        "attention mask 5-D",
        lambda: layers.attention(Q, Q, Q, mask=CAUSAL[None, None, None]),
        ValueError,
        "does not broadcast",
    ),
    error(
        "attention mask grows batch",
        lambda: layers.attention(Q[:1], Q[:1], Q[:1], mask=CAUSAL.expand(3, 5, 5)),
        ValueError,
        "does not broadcast",
    ),
    error(
        "attention mask row all False",
        lambda: layers.attention(Q, Q, Q, mask=CAUSAL & ~torch.eye(5, dtype=torch.bool)),
        ValueError,
        "no key to attend to",
    ),
    error(
        "attention mask row all -inf",
        lambda: layers.attention(Q, Q, Q, mask=additive(CAUSAL & ~torch.eye(5, dtype=torch.bool))),
        ValueError,
        "all -inf",
    ),
    error(
        "attention mask nan",
        lambda: layers.attention(Q, Q, Q, mask=torch.full((5, 5), float("nan"))),
        ValueError,
        "nan or",
    ),
    error(
        "attention mask +inf",
        lambda: layers.attention(Q, Q, Q, mask=torch.full((5, 5), float("inf"))),
        ValueError,
        r"\+inf",
    ),
    error(
        "attention mask complex",
        lambda: layers.attention(Q, Q, Q, mask=torch.zeros(5, 5, dtype=torch.complex64)),
        TypeError,
        "complex64",
    ),
    result(
        "attention float64 mask is cast",
        lambda: layers.attention(Q, Q, Q, mask=additive(CAUSAL).double())[0],
        lambda out: close(out, F.scaled_dot_product_attention(Q, Q, Q, is_causal=True)),
    ),
    result(
        "attention all-0 float mask is a no-op",
        lambda: layers.attention(Q, Q, Q, mask=torch.zeros(5, 5))[0],
        lambda out: close(out, F.scaled_dot_product_attention(Q, Q, Q)),
    ),
    result(
        "attention float64 q, k, v",
        lambda: layers.attention(Q.double(), Q.double(), Q.double(), causal=True)[0],
        lambda out: close(out, F.scaled_dot_product_attention(Q.double(), Q.double(), Q.double(), is_causal=True)),
    ),
    result(
        "attention bfloat16",
        lambda: layers.attention(*[Q.bfloat16()] * 3)[0],
        lambda out: close(out, F.scaled_dot_product_attention(*[Q.bfloat16()] * 3), atol=0.02),
    ),
    result(
        "attention seq 1",
        lambda: layers.attention(Q[:, :1], Q[:, :1], Q[:, :1], causal=True)[0],
        lambda out: close(out, Q[:, :1]),
    ),
    result(
        "attention batch 0",
        lambda: layers.attention(Q[:0], Q[:0], Q[:0], mask=CAUSAL)[0],
        lambda out: out.shape == (0, 5, 4),
    ),
    result(
        "attention seq_q != seq_k, causal",
        lambda: layers.attention(Q[:, :3], Q, Q, causal=True)[0],
        lambda out: close(out, F.scaled_dot_product_attention(Q[:, :3], Q, Q, is_causal=True)),
    ),
    result(
        "attention nan in q propagates",
        lambda: layers.attention(Q.masked_fill(CAUSAL[:, :4], float("nan")), Q, Q)[0],
        lambda out: out.isnan().all(),
    ),
    # --------------------------------------------------------------------- MultiHeadAttention
    error("MHA d_model=0", lambda: layers.MultiHeadAttention(0, 2), ValueError, "d_model"),
    error("MHA n_heads=0", lambda: layers.MultiHeadAttention(8, 0), ValueError, "n_heads"),
    error("MHA not divisible", lambda: layers.MultiHeadAttention(10, 4), ValueError, "divisible"),
    error("MHA d_model=8.0", lambda: layers.MultiHeadAttention(8.0, 2), TypeError, "d_model"),
    error("MHA x 2-D", lambda: layers.MultiHeadAttention(8, 2)(X[0]), ValueError, r"\(batch, seq, d_model=8\)"),
    error("MHA x last dim", lambda: layers.MultiHeadAttention(8, 2)(Q), ValueError, "last dimension 8"),
    error(
        "MHA x int",
        lambda: layers.MultiHeadAttention(8, 2)(TOKENS[..., None].expand(2, 6, 8)),
        TypeError,
        "floating-point",
    ),
    error(
        "MHA x float64",
        lambda: layers.MultiHeadAttention(8, 2)(X.double()),
        RuntimeError,
        "must have the same dtype, but got Double and Float",
    ),
    error("MHA x half", lambda: layers.MultiHeadAttention(8, 2)(X.half()), RuntimeError, "got Half and Float"),
    error("MHA x numpy", lambda: layers.MultiHeadAttention(8, 2)(X.numpy()), TypeError, "torch.Tensor"),
    error(
        "MHA mask 1-D", lambda: layers.MultiHeadAttention(8, 2)(X, mask=CAUSAL[0]), ValueError, "mask: expected shape"
    ),
    error(
        "MHA mask 5-D",
        lambda: layers.MultiHeadAttention(8, 2)(X, mask=CAUSAL[None, None, None]),
        ValueError,
        "mask: expected shape",
    ),
    error(
        "MHA per-sequence mask, wrong batch",
        lambda: layers.MultiHeadAttention(8, 2)(X, mask=CAUSAL.expand(3, 5, 5)),
        RuntimeError,
        r"Attempting to broadcast .* \(2, 2, 5, 5\).* \[3, 2, 5, 5\]",
    ),
    error("MHA mask int", lambda: layers.MultiHeadAttention(8, 2)(X, mask=CAUSAL.int()), TypeError, "mask.bool()"),
    result(
        "MHA per-sequence mask equals torch",
        lambda: mha_matches_torch(
            torch.stack([CAUSAL, torch.ones(5, 5, dtype=torch.bool)]),
            (~torch.stack([CAUSAL, torch.ones(5, 5, dtype=torch.bool)])).repeat_interleave(2, 0),
        ),
        bool,
    ),
    result("MHA (seq, seq) mask equals torch", lambda: mha_matches_torch(CAUSAL, ~CAUSAL), bool),
    result(
        "MHA float64 layer and input equal torch", lambda: mha_matches_torch(CAUSAL, ~CAUSAL, dtype=torch.float64), bool
    ),
    result(
        "MHA batch 1, seq 1", lambda: layers.MultiHeadAttention(8, 2)(X[:1, :1]), lambda out: out.shape == (1, 1, 8)
    ),
    error(
        "load_from_torch(Linear)",
        lambda: layers.MultiHeadAttention(8, 2).load_from_torch(nn.Linear(8, 8)),
        TypeError,
        "expected a torch.nn.MultiheadAttention, got Linear",
    ),
    error(
        "load_from_torch other heads",
        lambda: layers.MultiHeadAttention(8, 2).load_from_torch(nn.MultiheadAttention(8, 4)),
        ValueError,
        "num_heads: ours 2, torch's 4",
    ),
    error(
        "load_from_torch kdim/vdim",
        lambda: layers.MultiHeadAttention(8, 2).load_from_torch(nn.MultiheadAttention(8, 2, kdim=4, vdim=4)),
        ValueError,
        "kdim/vdim",
    ),
    error(
        "load_from_torch torch without bias",
        lambda: layers.MultiHeadAttention(8, 2).load_from_torch(nn.MultiheadAttention(8, 2, bias=False)),
        ValueError,
        "bias: ours True, torch's False",
    ),
    error(
        "load_from_torch ours without bias",
        lambda: layers.MultiHeadAttention(8, 2, bias=False).load_from_torch(nn.MultiheadAttention(8, 2)),
        ValueError,
        "bias: ours False, torch's True",
    ),
    error(
        "load_from_torch add_bias_kv",
        lambda: layers.MultiHeadAttention(8, 2).load_from_torch(nn.MultiheadAttention(8, 2, add_bias_kv=True)),
        ValueError,
        "add_bias_kv",
    ),
    error(
        "load_from_torch add_zero_attn",
        lambda: layers.MultiHeadAttention(8, 2).load_from_torch(nn.MultiheadAttention(8, 2, add_zero_attn=True)),
        ValueError,
        "add_zero_attn",
    ),
    result(
        "load_from_torch both without bias",
        lambda: close(mha_pair(bias=False)[0](X), mha_pair(bias=False)[1](X, X, X)[0]),
        bool,
    ),
    # --------------------------------------------------------------------- MLP
    error("MLP d_model=0", lambda: layers.MLP(0), ValueError, "d_model"),
    error("MLP d_hidden=0", lambda: layers.MLP(8, 0), ValueError, "d_hidden"),
    error("MLP d_hidden=-1", lambda: layers.MLP(8, -1), ValueError, "d_hidden"),
    error("MLP d_model='8'", lambda: layers.MLP("8"), TypeError, "d_model"),
    error("MLP activation tanh", lambda: layers.MLP(8, activation="tanh"), ValueError, "activation must be one of"),
    error("MLP x last dim", lambda: layers.MLP(8)(Q), ValueError, "last dimension 8"),
    error("MLP x 0-D", lambda: layers.MLP(8)(torch.tensor(1.0)), ValueError, r"\(\.\.\., d_model=8\)"),
    error("MLP x int", lambda: layers.MLP(8)(torch.zeros(2, 8, dtype=torch.long)), TypeError, "floating-point"),
    error("MLP x float64", lambda: layers.MLP(8)(X.double()), RuntimeError, "got Double and Float"),
    error("MLP x half", lambda: layers.MLP(8)(X.half()), RuntimeError, "got Half and Float"),
    error("MLP x list", lambda: layers.MLP(8)(X.tolist()), TypeError, "torch.Tensor"),
    result("MLP 1-D x", lambda: layers.MLP(8)(X[0, 0]), lambda out: out.shape == (8,)),
    result("MLP batch 0", lambda: layers.MLP(8)(X[:0]), lambda out: out.shape == (0, 5, 8)),
    # --------------------------------------------------------------------- norms
    *[
        case
        for norm in (layers.LayerNorm, layers.RMSNorm, layers.BatchNorm)
        for name in [norm.__name__]
        for case in (
            error(f"{name} d_model=0", lambda norm=norm: norm(0), ValueError, "d_model"),
            error(f"{name} eps=0", lambda norm=norm: norm(8, eps=0), ValueError, "eps must be a positive number"),
            error(f"{name} eps=-1e-5", lambda norm=norm: norm(8, eps=-1e-5), ValueError, "eps"),
            error(f"{name} eps='1e-5'", lambda norm=norm: norm(8, eps="1e-5"), ValueError, "eps"),
            error(f"{name} x last dim", lambda norm=norm: norm(8)(Q), ValueError, r"d_model=8.*got shape \(2, 5, 4\)"),
            error(
                f"{name} x int",
                lambda norm=norm: norm(8)(TOKENS[..., None].expand(2, 6, 8)),
                TypeError,
                "floating-point",
            ),
            error(f"{name} x list", lambda norm=norm: norm(8)(X.tolist()), TypeError, "torch.Tensor"),
            result(
                f"{name} half |x|=300 equals torch", lambda norm=norm: norm_matches_torch(norm, (X * 300).half()), bool
            ),
            result(
                f"{name} bfloat16 equals torch", lambda norm=norm: norm_matches_torch(norm, (X * 3).bfloat16()), bool
            ),
            result(f"{name} float64 x keeps float64", lambda norm=norm: norm_matches_torch(norm, X.double() * 3), bool),
        )
    ],
    error("BatchNorm momentum=-0.1", lambda: layers.BatchNorm(8, momentum=-0.1), ValueError, "momentum"),
    error("BatchNorm momentum=1.5", lambda: layers.BatchNorm(8, momentum=1.5), ValueError, "momentum"),
    error("BatchNorm momentum='0.1'", lambda: layers.BatchNorm(8, momentum="0.1"), ValueError, "momentum"),
    error("BatchNorm x 1-D", lambda: layers.BatchNorm(8)(X[0, 0]), ValueError, r"\(batch, d_model=8\)"),
    error("BatchNorm x 4-D", lambda: layers.BatchNorm(8)(X[None]), ValueError, r"\(batch, seq, d_model=8\)"),
    error(
        "BatchNorm training on 1 value",
        lambda: layers.BatchNorm(8)(X[:1, :1]),
        ValueError,
        "more than 1 value per feature",
    ),
    result(
        "BatchNorm momentum=None",
        lambda: layers.BatchNorm(8, momentum=None)(X),
        lambda out: close(out, nn.BatchNorm1d(8, momentum=None)(X.transpose(1, 2)).transpose(1, 2)),
    ),
    result(
        "BatchNorm float64 training",
        lambda: layers.BatchNorm(8).double()(X.double()),
        lambda out: close(out, nn.BatchNorm1d(8).double()(X.double().transpose(1, 2)).transpose(1, 2)),
    ),
    result(
        "LayerNorm d_model=1",
        lambda: layers.LayerNorm(1)(X[..., :1]),
        lambda out: close(out, nn.LayerNorm(1)(X[..., :1])),
    ),
    error("make_norm('group')", lambda: layers.make_norm("group", 8), ValueError, "norm must be one of"),
    # --------------------------------------------------------------------- TransformerBlock
    error(
        "block norm_position='middle'",
        lambda: layers.TransformerBlock(8, 2, norm_position="middle"),
        ValueError,
        "norm_position",
    ),
    error("block norm='group'", lambda: layers.TransformerBlock(8, 2, norm="group"), ValueError, "norm must be one of"),
    error(
        "block no sublayer",
        lambda: layers.TransformerBlock(8, 2, attention=False, mlp=False),
        ValueError,
        "at least one sublayer",
    ),
    error("block d_model=10, 4 heads", lambda: layers.TransformerBlock(10, 4), ValueError, "divisible"),
    error(
        "block activation='tanh'", lambda: layers.TransformerBlock(8, 2, activation="tanh"), ValueError, "activation"
    ),
    error("block x 2-D", lambda: layers.TransformerBlock(8, 2)(X[0]), ValueError, r"\(batch, seq, d_model=8\)"),
    error(
        "block x int",
        lambda: layers.TransformerBlock(8, 2)(TOKENS[..., None].expand(2, 6, 8)),
        TypeError,
        "floating-point",
    ),
    error(
        "block x float64",
        lambda: layers.TransformerBlock(8, 2)(X.double()),
        RuntimeError,
        "got Double and Float",
    ),
    error("block x half", lambda: layers.TransformerBlock(8, 2, norm=None)(X.half()), RuntimeError, "got Half and"),
    error("block mask int", lambda: layers.TransformerBlock(8, 2)(X, mask=CAUSAL.int()), TypeError, "mask.bool()"),
    error(
        "block mask float 0/1", lambda: layers.TransformerBlock(8, 2)(X, mask=CAUSAL.float()), ValueError, "0s and 1s"
    ),
    result(
        "block float64",
        lambda: layers.TransformerBlock(8, 2).double()(X.double()),
        lambda out: out.dtype == torch.float64,
    ),
    result(
        "block per-sequence mask",
        lambda: layers.TransformerBlock(8, 2)(X, mask=CAUSAL.expand(2, 5, 5)),
        lambda out: out.shape == X.shape,
    ),
    # --------------------------------------------------------------------- TinyTransformer
    error("model vocab_size=0", lambda: layers.TinyTransformer(0), ValueError, "vocab_size"),
    error("model n_layers=0", lambda: layers.TinyTransformer(10, n_layers=0), ValueError, "n_layers"),
    error("model max_len=0", lambda: layers.TinyTransformer(10, max_len=0), ValueError, "max_len"),
    error(
        "model positional='rotary'",
        lambda: layers.TinyTransformer(10, positional="rotary"),
        ValueError,
        "positional must be one of",
    ),
    error("model norm='group'", lambda: layers.TinyTransformer(10, norm="group"), ValueError, "norm must be one of"),
    error("model idx float", lambda: layers.TinyTransformer(10)(TOKENS.float()), TypeError, "integer token ids"),
    error("model idx bool", lambda: layers.TinyTransformer(10)(TOKENS > 3), TypeError, "integer token ids"),
    error("model idx list", lambda: layers.TinyTransformer(10)(TOKENS.tolist()), TypeError, "integer token ids"),
    error("model idx 1-D", lambda: layers.TinyTransformer(10)(TOKENS[0]), ValueError, r"\(batch, seq\)"),
    error("model idx too long", lambda: layers.TinyTransformer(10, max_len=4)(TOKENS), ValueError, "max_len=4"),
    error(
        "model idx negative",
        lambda: layers.TinyTransformer(10)(TOKENS - 5),
        ValueError,
        r"token ids must be in \[0, 10\)",
    ),
    error(
        "model idx >= vocab",
        lambda: layers.TinyTransformer(10)(TOKENS + 5),
        ValueError,
        r"token ids must be in \[0, 10\)",
    ),
    result("model idx int32", lambda: layers.TinyTransformer(10)(TOKENS.int()), lambda out: out.shape == (2, 6, 10)),
    result(
        "model batch 1, seq 1", lambda: layers.TinyTransformer(10)(TOKENS[:1, :1]), lambda out: out.shape == (1, 1, 10)
    ),
    # --------------------------------------------------------------------- activations
    error("default_modules(Linear)", lambda: activations.default_modules(nn.Linear(2, 2)), ValueError, "pass modules="),
    error(
        "record_activations model=function",
        lambda: activations.record_activations(lambda x: x, X),
        ValueError,
        "don't know which layers of a function to record",
    ),
    error(
        "record_activations modules={}",
        lambda: activations.record_activations(nn.Sequential(nn.ReLU()), X, modules={}),
        ValueError,
        "modules must name at least one module",
    ),
    error(
        "record_activations modules={'a': 3}",
        lambda: activations.record_activations(nn.Sequential(nn.ReLU()), X, modules={"a": 3}),
        AttributeError,
        "'int' object has no attribute 'register_forward_hook'",
    ),
    error(
        "record_activations modules=a module",
        lambda: activations.record_activations(nn.Sequential(nn.ReLU()), X, modules=nn.ReLU()),
        TypeError,
        "'ReLU' object is not iterable",
    ),
    error(
        "record_activations module never ran",
        watched_but_idle,
        ValueError,
        r"never ran during model\(x\): \['outside'\]",
    ),
    error(
        "activation_stats module never ran",
        lambda: activations.activation_stats(nn.Sequential(nn.ReLU()), X, modules=[nn.Tanh()]),
        ValueError,
        "never ran",
    ),
    error(
        "mean_pairwise_cosine 1-D",
        lambda: activations.mean_pairwise_cosine(X[0, 0]),
        ValueError,
        r"\(batch, seq, d\) or \(seq, d\)",
    ),
    error(
        "mean_pairwise_cosine seq 1",
        lambda: activations.mean_pairwise_cosine(X[:, :1]),
        ValueError,
        "at least 2 tokens",
    ),
    error("mean_pairwise_cosine int", lambda: activations.mean_pairwise_cosine(TOKENS), TypeError, "floating-point"),
    error("mean_pairwise_cosine list", lambda: activations.mean_pairwise_cosine(X.tolist()), TypeError, "torch.Tensor"),
    error("mean_pairwise_cosine d=0", lambda: activations.mean_pairwise_cosine(X[..., :0]), ValueError, "empty"),
    result(
        "mean_pairwise_cosine (seq, d)",
        lambda: activations.mean_pairwise_cosine(X[0].expand(2, 5, 8)[0, :1].expand(3, 8)),
        lambda c: abs(c - 1) < 1e-6,
    ),
    error(
        "tensor_stats empty", lambda: activations.tensor_stats(torch.zeros(0, 8)), RuntimeError, r"input.numel\(\) == 0"
    ),
    error("tensor_stats list", lambda: activations.tensor_stats([1.0, 2.0]), AttributeError, "'list' object"),
    error(
        "tensor_stats complex",
        lambda: activations.tensor_stats(torch.zeros(3, dtype=torch.complex64)),
        TypeError,
        "real tensor",
    ),
    result(
        "tensor_stats 0-D",
        lambda: activations.tensor_stats(torch.tensor(-2.0)),
        lambda s: s["max_abs"] == 2 and s["std"] == 0 and math.isnan(s["cosine"]),
    ),
    result("tensor_stats int tensor", lambda: activations.tensor_stats(torch.arange(4)), lambda s: s["mean"] == 1.5),
    error("gradient_norms before backward", gradients_before_backward, ValueError, "call loss.backward"),
    error(
        "gradient_norms model=None",
        lambda: activations.gradient_norms(None),
        ValueError,
        "don't know which layers of a NoneType to record",
    ),
    error(
        "format_stats list",
        lambda: activations.format_stats([1, 2]),
        AttributeError,
        "'list' object has no attribute 'keys'",
    ),
    error(
        "format_stats missing column",
        lambda: activations.format_stats({"a": {"mean": 1.0}}),
        KeyError,
        "'std'",
    ),
    result(
        "format_stats {}",
        lambda: activations.format_stats({}),
        lambda text: text.split() == ["layer", "mean", "std", "rms", "max_abs", "cosine"],
    ),
    # --------------------------------------------------------------------- plotting
    error(
        "plot_activation_magnitudes({})",
        lambda: plotting.plot_activation_magnitudes({}),
        ValueError,
        "runs must be non-empty",
    ),
    error(
        "plot_activation_magnitudes list",
        lambda: plotting.plot_activation_magnitudes([1]),
        AttributeError,
        "'list' object has no attribute 'values'",
    ),
    error(
        "plot_activation_magnitudes empty variant",
        lambda: plotting.plot_activation_magnitudes({"a": {}}),
        KeyError,
        "'rms'",
    ),
    error(
        "plot_activation_magnitudes stat='size'",
        lambda: plotting.plot_activation_magnitudes(tiny_stats(), stat="size"),
        KeyError,
        "'size'",
    ),
    result(
        "plot_activation_magnitudes one variant",
        lambda: plotting.plot_activation_magnitudes(tiny_stats()),
        lambda fig: plotted(fig, [[s["rms"] for s in tiny_stats().values()]], "layer", "activation rms"),
    ),
    error(
        "plot_attention 3-D",
        lambda: plotting.plot_attention(torch.rand(2, 3, 3)),
        ValueError,
        "pick one batch item and head",
    ),
    error(
        "plot_attention tokens=[]",
        lambda: plotting.plot_attention(torch.rand(3, 3), tokens=[]),
        ValueError,
        r"tokens: 0 labels for 3 keys",
    ),
    error(
        "plot_attention tokens too many",
        lambda: plotting.plot_attention(torch.rand(3, 3), tokens=list("abcd")),
        ValueError,
        "4 labels for 3 keys",
    ),
    error(
        "plot_attention query_tokens too few",
        lambda: plotting.plot_attention(torch.rand(2, 3), tokens=list("abc"), query_tokens=["x"]),
        ValueError,
        "query_tokens: 1 labels for 2 queries",
    ),
    error(
        "plot_attention seq_q != seq_k, keys only",
        lambda: plotting.plot_attention(torch.rand(2, 3), tokens=list("abc")),
        ValueError,
        "query_tokens: 3 labels for 2 queries",
    ),
    error("plot_attention empty", lambda: plotting.plot_attention(torch.rand(0, 0)), ValueError, "empty"),
    result(
        "plot_attention labelled",
        lambda: plotting.plot_attention(torch.arange(6.0).view(2, 3) / 6, tokens=list("abc"), query_tokens=list("xy")),
        lambda fig: heatmap(fig, [[0, 1 / 6, 2 / 6], [3 / 6, 4 / 6, 5 / 6]], keys=list("abc"), queries=list("xy")),
    ),
    error(
        "plot_positional_encoding 1-D",
        lambda: plotting.plot_positional_encoding(torch.rand(8)),
        ValueError,
        r"\(seq_len, d_model\)",
    ),
    error("plot_losses({})", lambda: plotting.plot_losses({}), ValueError, "losses is empty"),
    error("plot_losses([])", lambda: plotting.plot_losses([]), ValueError, "non-empty list"),
    error("plot_losses smooth=0", lambda: plotting.plot_losses([1.0, 2.0], smooth=0), ValueError, "smooth"),
    error("plot_losses smooth=2.5", lambda: plotting.plot_losses([1.0, 2.0], smooth=2.5), TypeError, "smooth"),
    error(
        "plot_losses strings", lambda: plotting.plot_losses(["a", "b"]), ValueError, "could not convert string to float"
    ),
    error(
        "plot_losses nested",
        lambda: plotting.plot_losses([[1.0, 2.0], [3.0, 4.0]]),
        ValueError,
        r"flat, non-empty list of losses, got shape \(2, 2\)",
    ),
    result(
        "plot_losses smooth > len",
        lambda: plotting.plot_losses([3.0, 2.0], smooth=5),
        lambda fig: plotted(fig, [[3.0, 2.0]], "step", "loss"),  # too few steps to smooth: drawn as they are
    ),
    result(
        "plot_losses with nan",
        lambda: plotting.plot_losses([3.0, float("nan")]),
        lambda fig: plotted(fig, [[3.0, float("nan")]], "step", "loss"),
    ),
    # --------------------------------------------------------------------- training
    error(
        "train model=None",
        lambda: training.train(None, regression()[1], steps=1),
        AttributeError,
        "'NoneType' object has no attribute 'parameters'",
    ),
    error(
        "train model without parameters",
        lambda: training.train(model_without_parameters(), regression()[1], steps=1),
        ValueError,
        "no trainable parameters",
    ),
    error("train steps=0", lambda: training.train(*regression(), steps=0), ValueError, "steps"),
    error("train steps=2.5", lambda: training.train(*regression(), steps=2.5), TypeError, "steps"),
    error(
        "train lr=0", lambda: training.train(*regression(), steps=1, lr=0), ValueError, "lr must be a positive number"
    ),
    error("train lr='0.1'", lambda: training.train(*regression(), steps=1, lr="0.1"), ValueError, "lr"),
    error(
        "train optimizer='lion'",
        lambda: training.train(*regression(), steps=1, optimizer="lion"),
        ValueError,
        "optimizer must be one of",
    ),
    error(
        "train data list",
        lambda: training.train(regression()[0], [1, 2], steps=1),
        TypeError,
        r"pair of two torch.Tensors, got \['int', 'int'\]",
    ),
    error("train grad_clip=0", lambda: training.train(*regression(), steps=1, grad_clip=0), ValueError, "grad_clip"),
    error(
        "train loss_fn='mse'",
        lambda: training.train(*regression(), steps=1, loss_fn="mse"),
        TypeError,
        "'str' object is not callable",
    ),
    error(
        "train on_step=1",
        lambda: training.train(*regression(), steps=1, on_step=1),
        TypeError,
        "'int' object is not callable",
    ),
    error(
        "train loss_fn gives a vector",
        lambda: training.train(*regression(), steps=1, loss_fn=lambda out, y: out - y),
        RuntimeError,
        "a Tensor with 4 elements cannot be converted to Scalar",
    ),
    error(
        "default_loss shapes differ (float)",
        lambda: training.default_loss(torch.zeros(4, 1), torch.zeros(4)),
        ValueError,
        r"output shape \(4, 1\).*y shape \(4,\)",
    ),
    error(
        "default_loss shapes differ (ids)",
        lambda: training.default_loss(torch.zeros(2, 6, 10), TOKENS[:, :5]),
        ValueError,
        r"Expected input batch_size \(12\) to match target batch_size \(10\)",
    ),
    error(
        "default_loss y list",
        lambda: training.default_loss(torch.zeros(2, 6, 10), TOKENS.tolist()),
        AttributeError,
        "'list' object has no attribute",
    ),
    error(
        "default_loss all positions ignored",
        lambda: training.default_loss(torch.zeros(2, 6, 10), torch.full((2, 6), -100)),
        ValueError,
        "no scored position",
    ),
    # --------------------------------------------------------------------- data
    error("ReverseTask n_symbols=0", lambda: data.ReverseTask(0), ValueError, "n_symbols"),
    error("ReverseTask seq_len=0", lambda: data.ReverseTask(10, 0), ValueError, "seq_len"),
    error("SortTask n_symbols=2.5", lambda: data.SortTask(2.5), TypeError, "n_symbols"),
    error(
        "WhichFirstTask seq_len=2", lambda: data.WhichFirstTask(seq_len=2), ValueError, "seq_len must be an int >= 3"
    ),
    error("WhichFirstTask n_fillers=0", lambda: data.WhichFirstTask(n_fillers=0), ValueError, "n_fillers"),
    error("get_batch(0)", lambda: data.ReverseTask().get_batch(0), ValueError, "batch_size"),
    error("get_batch(2.5)", lambda: data.ReverseTask().get_batch(2.5), TypeError, "batch_size"),
    error(
        "get_batch(generator=3)",
        lambda: data.ReverseTask().get_batch(4, generator=3),
        TypeError,
        "generator=int",
    ),
    error(
        "accuracy(model=None)",
        lambda: data.ReverseTask().accuracy(None),
        AttributeError,
        "'NoneType' object has no attribute 'parameters'",
    ),
    result(
        "accuracy of a model without parameters",
        lambda: data.ReverseTask(4, 4).accuracy(lambda_model()),
        lambda acc: 0 <= acc <= 1,
    ),
    error("CharTokenizer('')", lambda: data.CharTokenizer(""), ValueError, "non-empty string"),
    error("CharTokenizer(None)", lambda: data.CharTokenizer(None), ValueError, "got NoneType"),
    error("encode unknown", lambda: decoder().encode("abz"), ValueError, r"not in the vocabulary: \['z'\]"),
    error("encode(3)", lambda: decoder().encode(3), TypeError, "'int' object is not iterable"),
    error("decode([-1])", lambda: decoder().decode([-1]), ValueError, r"ids must be ints in \[0, 3\).*got \[-1\]"),
    error("decode([3])", lambda: decoder().decode([3]), ValueError, r"ids must be ints in \[0, 3\)"),
    error("decode(['a'])", lambda: decoder().decode(["a"]), ValueError, "ids must be ints"),
    error("decode(float tensor)", lambda: decoder().decode(torch.tensor([0.0, 1.0])), ValueError, "ids must be ints"),
    error("decode(2-D tensor)", lambda: decoder().decode(torch.zeros(2, 2, dtype=torch.long)), ValueError, "1-D"),
    error("decode(5)", lambda: decoder().decode(5), TypeError, "'int' object is not iterable"),
    error("decode('ab')", lambda: decoder().decode("ab"), ValueError, "ids must be ints"),
    result("decode([])", lambda: decoder().decode([]), lambda text: text == ""),
    result("decode numpy ints", lambda: decoder().decode(np.array([2, 0])), lambda text: text == "ca"),
    error("load_corpus missing", lambda: data.load_corpus("missing.txt"), FileNotFoundError, "missing.txt not found"),
    error(
        "CharCorpus train_fraction=1.5",
        lambda: data.CharCorpus("abcdefgh" * 20, block_size=4, train_fraction=1.5),
        ValueError,
        "train_fraction",
    ),
    error(
        "CharCorpus train_fraction=0",
        lambda: data.CharCorpus("abcdefgh" * 20, block_size=4, train_fraction=0),
        ValueError,
        "the train text has 0 characters",
    ),
    error(
        "CharCorpus train_fraction='0.9'",
        lambda: data.CharCorpus("abcdefgh" * 20, block_size=4, train_fraction="0.9"),
        ValueError,
        "train_fraction",
    ),
    error(
        "CharCorpus split='test'",
        lambda: data.CharCorpus("abcdefgh" * 20, block_size=4, split="test"),
        ValueError,
        "split must be",
    ),
    error(
        "CharCorpus block_size too big",
        lambda: data.CharCorpus("abcdefgh" * 20, block_size=200),
        ValueError,
        "too few for block_size=200",
    ),
    error("CharCorpus block_size=0", lambda: data.CharCorpus("abcdefgh" * 20, block_size=0), ValueError, "block_size"),
    # --------------------------------------------------------------------- setup
    error("seed_everything(2.5)", lambda: setup.seed_everything(2.5), TypeError, "seed must be an int"),
    error("seed_everything('1')", lambda: setup.seed_everything("1"), TypeError, "seed must be an int"),
    error(
        "seed_everything(-1)", lambda: setup.seed_everything(-1), ValueError, r"Seed must be between 0 and 2\*\*32 - 1"
    ),
    error("seed_everything(2**32)", lambda: setup.seed_everything(2**32), ValueError, "Seed must be between 0 and"),
    result("seed_everything(0)", lambda: setup.seed_everything(0), lambda seed: seed == 0),
    error("WORKSHOP_DEVICE=tpu", lambda: device_from("tpu"), ValueError, "WORKSHOP_DEVICE must be one of"),
    result("WORKSHOP_DEVICE=' CPU '", lambda: device_from(" CPU "), lambda device: device == torch.device("cpu")),
    error("describe_environment('tpu')", lambda: setup.describe_environment("tpu"), ValueError, "device must be"),
    error("describe_environment(3.5)", lambda: setup.describe_environment(3.5), ValueError, "device must be"),
    error("setup_notebook(threads=0)", lambda: setup.setup_notebook(threads=0), ValueError, "threads"),
    error("setup_notebook(threads=2.5)", lambda: setup.setup_notebook(threads=2.5), TypeError, "threads"),
    error("setup_notebook(seed='0')", lambda: setup.setup_notebook(seed="0"), TypeError, "seed"),
]


def lambda_model():
    """A model without parameters, on the CPU: always predicts token 0."""

    class Zeros(nn.Module):
        def forward(self, x):
            return torch.zeros(*x.shape, 4)

    return Zeros()


def record_twice(under_two_names=False):
    """Record a model that runs one block twice (weights shared across two steps)."""
    block = helpers.TransformerBlock(8, 2)
    modules = {"a": block, "b": block} if under_two_names else {"block": block}
    return activations.record_activations(nn.Sequential(block, block), X, modules=modules)


def with_zero_token():
    x = X.clone()
    x[0, 1] = 0.0
    return x


# Silent or obscure outcomes found by a wider table than the one above, each now a clear error (issue 19).
CASES += [
    error("attention no keys", lambda: layers.attention(Q, Q[:, :0], Q[:, :0]), ValueError, "no positions"),
    error("attention d_k=0", lambda: layers.attention(Q[..., :0], Q[..., :0], Q), ValueError, "d_k = 0"),
    error(
        "block without attention given a mask",
        lambda: layers.TransformerBlock(8, 2, attention=False)(X, mask=CAUSAL),
        ValueError,
        "without attention",
    ),
    error(
        "record_activations one module under two names",
        lambda: record_twice(under_two_names=True),
        ValueError,
        "each module once",
    ),
    result(
        "record_activations a module that runs twice",
        record_twice,
        lambda rec: (
            list(rec) == ["input", "block (call 1)", "block (call 2)"]
            and not torch.equal(rec["block (call 1)"], rec["block (call 2)"])
        ),
    ),
    error("mean_pairwise_cosine empty batch", lambda: activations.mean_pairwise_cosine(X[:0]), ValueError, "empty"),
    error(
        "mean_pairwise_cosine all-zero vector",
        lambda: activations.mean_pairwise_cosine(with_zero_token()),
        ValueError,
        "all-zero token vector",
    ),
    error(
        "plot_attention(None)", lambda: plotting.plot_attention(None), RuntimeError, "Could not infer dtype of NoneType"
    ),
    result(
        "plot_attention list of lists",
        lambda: plotting.plot_attention([[1.0, 0.0], [0.5, 0.5]]),
        lambda fig: heatmap(fig, [[1.0, 0.0], [0.5, 0.5]]),
    ),
    error("plot_positional_encoding(None)", lambda: plotting.plot_positional_encoding(None), RuntimeError, "NoneType"),
    error(
        "plot_activation_magnitudes(None)",
        lambda: plotting.plot_activation_magnitudes(None),
        AttributeError,
        "'NoneType'",
    ),
    error(
        "plot_activation_magnitudes variants with other layers",
        lambda: plotting.plot_activation_magnitudes({"a": tiny_stats(), "b": dict(list(tiny_stats().items())[:2])}),
        ValueError,
        "same layers",
    ),
    error("plot_losses(None)", lambda: plotting.plot_losses(None), TypeError, "'NoneType' object is not iterable"),
    error("MLP d_model=8.0", lambda: layers.MLP(8.0), TypeError, "d_model must be an int"),
    error("LayerNorm d_model=-8", lambda: layers.LayerNorm(-8), ValueError, "d_model must be a positive int"),
    error("TinyTransformer d_model=16.0", lambda: layers.TinyTransformer(10, d_model=16.0), TypeError, "d_model"),
    error("TinyTransformer d_model=-16", lambda: layers.TinyTransformer(10, d_model=-16), ValueError, "d_model"),
    error("RMSNorm d_model=8.5", lambda: layers.RMSNorm(8.5), TypeError, "d_model"),
    error(
        "train numpy arrays",
        lambda: training.train(regression()[0], tuple(t.numpy() for t in regression()[1]), steps=1),
        TypeError,
        "two torch.Tensors",
    ),
    error(
        "train data function without arguments",
        lambda: training.train(regression()[0], lambda: regression()[1], steps=1),
        TypeError,
        r"takes 0 positional arguments but 2 were given",
    ),
    error(
        "train data function returns one tensor",
        lambda: training.train(regression()[0], lambda n, g: torch.zeros(n, 3), steps=1),
        TypeError,
        r"an \(x, y\) pair",
    ),
    error("load_corpus a folder", lambda: data.load_corpus("."), IsADirectoryError, "Is a directory"),
    error("load_corpus None", lambda: data.load_corpus(None), TypeError, "unsupported operand type.*'NoneType'"),
]


@pytest.fixture(autouse=True)
def restore_global_state():
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)
    plt.close("all")


@pytest.mark.parametrize("fn, exception, expect", CASES)
def test_bad_input(fn, exception, expect):
    if exception is not None:
        with pytest.raises(exception, match=expect):
            fn()
    else:
        assert expect(fn())


def count_by_outcome():
    errors = sum(1 for case in CASES if case.id.startswith("error:"))
    return {"clear error": errors, "correct result": len(CASES) - errors}


if __name__ == "__main__":
    print(count_by_outcome(), "of", len(CASES), "cases")
