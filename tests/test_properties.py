"""Property tests (hypothesis): over random shapes, sizes, dtypes and masks, every layer equals torch's reference.

The parametrized tests in test_layers.py pin known cases; these draw new ones, so a layer that is right only
for the shapes someone thought of fails here. Kept small (max_examples) so the file runs in a few seconds.
"""

import torch
import torch.nn.functional as F
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import nn

import helpers

# No deadline and no too_slow health check: both time each example, and on a loaded machine (load average 8 on 2
# cores) a torch call can take seconds; the examples themselves are the same on any machine (derandomize).
FAST = settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
DTYPES = st.sampled_from([torch.float32, torch.float64])
TOLERANCE = {torch.float32: 1e-4, torch.float64: 1e-10}


def close(a, b, dtype):
    return a.dtype == b.dtype and a.shape == b.shape and torch.allclose(a, b, atol=TOLERANCE[dtype], rtol=1e-4)


def randn(seed, *shape, dtype=torch.float32, scale=1.0, shift=0.0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype) * scale + shift


def random_mask(seed, seq_q, seq_k, lead=()):
    """A boolean mask in which every query keeps at least one key."""
    allowed = torch.rand(*lead, seq_q, seq_k, generator=torch.Generator().manual_seed(seed)) > 0.5
    allowed[..., torch.arange(seq_q), torch.arange(seq_q) % seq_k] = True
    return allowed


@FAST
@given(
    lead=st.lists(st.integers(1, 3), max_size=2),
    seq_q=st.integers(1, 6),
    seq_k=st.integers(1, 6),
    d_k=st.integers(1, 8),
    d_v=st.integers(1, 8),
    mask_kind=st.sampled_from(["none", "causal", "bool", "additive", "bool per item"]),
    dtype=DTYPES,
    seed=st.integers(0, 2**16),
)
def test_attention_equals_sdpa(lead, seq_q, seq_k, d_k, d_v, mask_kind, dtype, seed):
    q = randn(seed, *lead, seq_q, d_k, dtype=dtype)
    k = randn(seed + 1, *lead, seq_k, d_k, dtype=dtype)
    v = randn(seed + 2, *lead, seq_k, d_v, dtype=dtype)
    kwargs, ours = {}, {}
    if mask_kind == "causal":
        kwargs, ours = {"is_causal": True}, {"causal": True}
    elif mask_kind != "none":
        mask = random_mask(seed, seq_q, seq_k, lead=tuple(lead) if mask_kind == "bool per item" else ())
        if mask_kind == "additive":
            mask = torch.zeros(mask.shape, dtype=dtype).masked_fill(~mask, float("-inf")) + randn(
                seed, *mask.shape, dtype=dtype
            )
        kwargs, ours = {"attn_mask": mask}, {"mask": mask}
    out, weights = helpers.attention(q, k, v, **ours)
    assert close(out, F.scaled_dot_product_attention(q, k, v, **kwargs), dtype)
    assert torch.allclose(weights.sum(-1), torch.ones((), dtype=dtype))


@FAST
@given(
    batch=st.integers(1, 3),
    seq=st.integers(1, 6),
    n_heads=st.integers(1, 4),
    d_head=st.integers(1, 4),
    bias=st.booleans(),
    mask_kind=st.sampled_from(["none", "causal", "shared", "per sequence", "per head"]),
    dtype=DTYPES,
    seed=st.integers(0, 2**16),
)
def test_multi_head_attention_equals_torch(batch, seq, n_heads, d_head, bias, mask_kind, dtype, seed):
    d_model = n_heads * d_head
    torch.manual_seed(seed)
    reference = nn.MultiheadAttention(d_model, n_heads, bias=bias, batch_first=True).eval().to(dtype)
    ours = helpers.MultiHeadAttention(d_model, n_heads, bias=bias).to(dtype).load_from_torch(reference)
    x = randn(seed, batch, seq, d_model, dtype=dtype)
    mask = torch_mask = None
    if mask_kind == "causal":
        mask = helpers.causal_mask(seq)
        torch_mask = ~mask
    elif mask_kind == "shared":
        mask = random_mask(seed, seq, seq)
        torch_mask = ~mask
    elif mask_kind == "per sequence":  # (batch, seq, seq): torch wants (batch * heads, seq, seq)
        mask = random_mask(seed, seq, seq, lead=(batch,))
        torch_mask = (~mask).repeat_interleave(n_heads, dim=0)
    elif mask_kind == "per head":
        mask = random_mask(seed, seq, seq, lead=(batch, n_heads))
        torch_mask = (~mask).reshape(batch * n_heads, seq, seq)
    expected, expected_weights = reference(x, x, x, attn_mask=torch_mask, average_attn_weights=False)
    assert close(ours(x, mask=mask), expected, dtype)
    assert close(ours.weights, expected_weights.detach(), dtype)


@FAST
@given(
    shape=st.lists(st.integers(1, 4), min_size=0, max_size=2),
    d_model=st.integers(1, 8),
    d_hidden=st.integers(1, 16),
    activation=st.sampled_from(["gelu", "relu"]),
    bias=st.booleans(),
    dtype=DTYPES,
    seed=st.integers(0, 2**16),
)
def test_mlp_equals_torch_sequential(shape, d_model, d_hidden, activation, bias, dtype, seed):
    torch.manual_seed(seed)
    ours = helpers.MLP(d_model, d_hidden, activation, bias=bias).to(dtype)
    act = nn.GELU() if activation == "gelu" else nn.ReLU()
    reference = nn.Sequential(ours.fc_in, act, ours.fc_out)  # the same Linear modules: same weights
    x = randn(seed, *shape, d_model, dtype=dtype)
    assert close(ours(x), reference(x), dtype)


def torch_norm(kind, d_model, **kwargs):
    if kind == "layer":
        return helpers.LayerNorm(d_model, **kwargs), nn.LayerNorm(d_model, **kwargs)
    if kind == "rms":
        return helpers.RMSNorm(d_model, **kwargs), nn.RMSNorm(d_model, eps=kwargs.get("eps", 1e-6))
    return helpers.BatchNorm(d_model, **kwargs), nn.BatchNorm1d(d_model, **kwargs)


def torch_forward(reference, x):
    if isinstance(reference, nn.BatchNorm1d) and x.dim() == 3:  # BatchNorm1d wants the features in dim 1
        return reference(x.transpose(1, 2)).transpose(1, 2)
    return reference(x)


@FAST
@given(
    kind=st.sampled_from(["layer", "rms"]),
    shape=st.lists(st.integers(1, 4), min_size=0, max_size=2),
    d_model=st.integers(1, 12),
    eps=st.sampled_from([1e-5, 1e-6, 1e-3]),
    scale=st.sampled_from([1e-3, 1.0, 50.0]),
    dtype=DTYPES,
    seed=st.integers(0, 2**16),
)
def test_layer_and_rms_norm_equal_torch(kind, shape, d_model, eps, scale, dtype, seed):
    ours, reference = torch_norm(kind, d_model, eps=eps)
    with torch.no_grad():
        for p in ours.parameters():
            p.copy_(randn(seed, *p.shape))
    reference.load_state_dict(ours.state_dict())
    ours, reference = ours.to(dtype), reference.to(dtype)
    x = randn(seed + 1, *shape, d_model, dtype=dtype, scale=scale, shift=scale)
    assert close(ours(x), reference(x), dtype)


@FAST
@given(
    kind=st.sampled_from(["layer", "rms", "batch"]),
    dtype=st.sampled_from([torch.float16, torch.bfloat16]),
    scale=st.sampled_from([1.0, 300.0]),
    tokens=st.integers(2, 8),
    seed=st.integers(0, 2**16),
)
def test_norms_on_half_precision_equal_torch(kind, dtype, scale, tokens, seed):
    ours, reference = torch_norm(kind, 8)
    reference.load_state_dict(ours.state_dict())
    x = randn(seed, tokens, 8, scale=scale).to(dtype)
    # in float32, as torch computes half-precision norms (torch 2.4's RMSNorm did not: it returned zeros at |x|=300)
    expected = reference(x.float())
    out = ours(x)
    assert out.dtype == dtype
    assert torch.allclose(out.float(), expected.float(), atol=0.05, rtol=0.02)


@FAST
@given(
    shape=st.sampled_from([(4, 8), (2, 3, 8), (1, 2, 8), (3, 1, 8), (6, 5, 8)]),
    momentum=st.sampled_from([0.1, 0.5, 1.0, 0.0, None]),
    steps=st.integers(1, 3),
    dtype=DTYPES,
    seed=st.integers(0, 2**16),
)
def test_batch_norm_equals_torch_in_train_and_eval(shape, momentum, steps, dtype, seed):
    ours, reference = torch_norm("batch", 8, momentum=momentum)
    ours, reference = ours.to(dtype), reference.to(dtype)
    for step in range(steps):
        x = randn(seed + step, *shape, dtype=dtype, scale=2.0, shift=float(step))
        assert close(ours(x), torch_forward(reference, x), dtype)
    assert close(ours.running_mean, reference.running_mean, dtype)
    assert close(ours.running_var, reference.running_var, dtype)
    ours.eval(), reference.eval()
    x = randn(seed + 9, *shape, dtype=dtype)
    assert close(ours(x), torch_forward(reference, x), dtype)


@FAST
@given(
    batch=st.integers(1, 3),
    seq=st.integers(1, 6),
    n_heads=st.sampled_from([1, 2, 4]),
    d_hidden=st.integers(1, 24),
    norm_position=st.sampled_from(["pre", "post"]),
    causal=st.booleans(),
    dtype=DTYPES,
    seed=st.integers(0, 2**16),
)
def test_block_equals_torch_encoder_layer(batch, seq, n_heads, d_hidden, norm_position, causal, dtype, seed):
    d_model = 8
    torch.manual_seed(seed)
    reference = nn.TransformerEncoderLayer(
        d_model, n_heads, d_hidden, dropout=0.0, activation="gelu", batch_first=True, norm_first=norm_position == "pre"
    ).eval()
    block = helpers.TransformerBlock(d_model, n_heads, d_hidden, norm_position=norm_position, causal=causal).eval()
    block.load_from_torch(reference)
    block, reference = block.to(dtype), reference.to(dtype)
    x = randn(seed, batch, seq, d_model, dtype=dtype)
    mask = ~helpers.causal_mask(seq) if causal else None
    with torch.no_grad():
        assert close(block(x), reference(x, src_mask=mask, is_causal=causal), dtype)
