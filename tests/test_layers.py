"""Our layers equal torch's reference modules, and wrong input gets a message that names the shapes."""

import math
import re

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import helpers
from helpers import layers

ATOL = 1e-5


def max_diff(a, b):
    return (a - b).abs().max().item()


# ----------------------------------------------------------------------------- positional encoding


@pytest.mark.parametrize("seq_len, d_model", [(1, 4), (10, 16), (7, 5), (3, 1)])
def test_sinusoidal_matches_the_paper_formula(seq_len, d_model):
    pe = layers.sinusoidal_positional_encoding(seq_len, d_model)
    assert pe.shape == (seq_len, d_model) and pe.dtype == torch.float32
    for pos in range(seq_len):
        for j in range(d_model):
            angle = pos / 10000 ** ((j - j % 2) / d_model)
            expected = math.sin(angle) if j % 2 == 0 else math.cos(angle)
            assert pe[pos, j].item() == pytest.approx(expected, abs=1e-5)


def test_sinusoidal_position_zero_is_sin0_cos0():
    pe = layers.sinusoidal_positional_encoding(4, 6)
    assert pe[0].tolist() == [0.0, 1.0, 0.0, 1.0, 0.0, 1.0]


@pytest.mark.parametrize("args, error", [((0, 4), ValueError), ((4, -1), ValueError), ((4.0, 4), TypeError)])
def test_sinusoidal_rejects_bad_sizes(args, error):
    with pytest.raises(error, match="seq_len|d_model"):
        layers.sinusoidal_positional_encoding(*args)


@pytest.mark.parametrize("module", [layers.SinusoidalPositionalEncoding, layers.LearnedPositionalEmbedding])
def test_positional_modules_give_one_vector_per_position(module):
    pos = module(16, 8)
    assert pos(5).shape == (5, 8)
    with pytest.raises(ValueError, match="longer than max_len=16"):
        pos(17)


def test_learned_embedding_is_trainable_and_sinusoidal_is_not():
    assert sum(p.numel() for p in layers.LearnedPositionalEmbedding(16, 8).parameters()) == 16 * 8
    assert list(layers.SinusoidalPositionalEncoding(16, 8).parameters()) == []


# ----------------------------------------------------------------------------- attention

SHAPES = [(1, 1, 4), (2, 5, 8), (2, 3, 7, 16), (6, 3)]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("causal", [False, True])
def test_attention_equals_torch_sdpa(shape, causal, gen):
    q, k, v = (torch.randn(*shape, generator=gen) for _ in range(3))
    out, weights = helpers.attention(q, k, v, causal=causal)
    expected = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
    assert max_diff(out, expected) < ATOL
    assert torch.allclose(weights.sum(-1), torch.ones(()))
    if causal:
        assert (weights.triu(diagonal=1) == 0).all()


def test_attention_with_different_query_and_key_lengths(gen):
    q = torch.randn(2, 3, 8, generator=gen)
    k, v = torch.randn(2, 5, 8, generator=gen), torch.randn(2, 5, 4, generator=gen)
    out, weights = helpers.attention(q, k, v)
    assert out.shape == (2, 3, 4) and weights.shape == (2, 3, 5)
    assert max_diff(out, F.scaled_dot_product_attention(q, k, v)) < ATOL


@pytest.mark.parametrize("shape", [(2, 6, 8), (1, 2, 5, 4)])
def test_attention_with_boolean_and_float_masks(shape, gen):
    q, k, v = (torch.randn(*shape, generator=gen) for _ in range(3))
    seq = shape[-2]
    mask = torch.rand(seq, seq, generator=gen) > 0.5
    mask |= torch.eye(seq, dtype=torch.bool)  # every query keeps at least one key
    out, _ = helpers.attention(q, k, v, mask=mask)
    assert max_diff(out, F.scaled_dot_product_attention(q, k, v, attn_mask=mask)) < ATOL
    additive = torch.randn(seq, seq, generator=gen)
    out, _ = helpers.attention(q, k, v, mask=additive)
    assert max_diff(out, F.scaled_dot_product_attention(q, k, v, attn_mask=additive)) < ATOL


def test_attention_combines_mask_and_causal(gen):
    q, k, v = (torch.randn(1, 5, 4, generator=gen) for _ in range(3))
    mask = torch.ones(5, 5, dtype=torch.bool)
    mask[:, 0] = False
    mask[0, 0] = True
    out, weights = helpers.attention(q, k, v, mask=mask, causal=True)
    both = mask & helpers.causal_mask(5)
    assert max_diff(out, F.scaled_dot_product_attention(q, k, v, attn_mask=both)) < ATOL
    assert (weights[..., 1:, 0] == 0).all()


def test_causal_mask_is_lower_triangular():
    assert helpers.causal_mask(3).tolist() == [[True, False, False], [True, True, False], [True, True, True]]


@pytest.mark.parametrize(
    "q_shape, k_shape, v_shape, message",
    [
        ((2, 4, 8), (2, 4, 6), (2, 4, 6), r"q and k must share d_k.*\(2, 4, 8\).*\(2, 4, 6\)"),
        ((2, 4, 8), (2, 5, 8), (2, 4, 8), r"same number of positions.*\(2, 5, 8\).*\(2, 4, 8\)"),
        ((8,), (4, 8), (4, 8), r"q: expected shape \(\.\.\., seq_q, d_k\), got shape \(8,\)"),
    ],
)
def test_attention_shape_errors_name_the_shapes(q_shape, k_shape, v_shape, message):
    with pytest.raises(ValueError, match=message):
        helpers.attention(torch.zeros(q_shape), torch.zeros(k_shape), torch.zeros(v_shape))


def test_attention_type_errors():
    with pytest.raises(TypeError, match="floating-point"):
        helpers.attention(torch.zeros(2, 3, dtype=torch.long), torch.zeros(2, 3), torch.zeros(2, 3))
    with pytest.raises(TypeError, match="torch.Tensor"):
        helpers.attention([[1.0]], torch.zeros(1, 1), torch.zeros(1, 1))


def test_attention_mask_errors():
    x = torch.zeros(1, 3, 4)
    with pytest.raises(RuntimeError, match=r"Attempting to broadcast .* \(1, 3, 3\).* \[1, 4, 4\]"):  # torch's own
        helpers.attention(x, x, x, mask=torch.ones(4, 4, dtype=torch.bool))
    with pytest.raises(ValueError, match="no key to attend to"):
        helpers.attention(x, x, x, mask=torch.zeros(3, 3, dtype=torch.bool))


def additive(allowed):
    return torch.zeros(allowed.shape).masked_fill(~allowed, float("-inf"))


@pytest.mark.parametrize("dtype", [torch.int8, torch.uint8, torch.int32, torch.int64])
def test_integer_masks_are_refused(dtype):
    x = torch.zeros(1, 3, 4)
    with pytest.raises(TypeError, match=rf"boolean .* or floating-point .*got dtype {dtype}.*mask.bool\(\)"):
        helpers.attention(x, x, x, mask=helpers.causal_mask(3).to(dtype))


@pytest.mark.parametrize(
    "mask", [torch.ones(3, 3).tril(), torch.ones(3, 3), torch.ones(3, 3, dtype=torch.float64).tril()]
)
def test_float_masks_of_zeros_and_ones_are_refused_with_a_hint(mask):
    x = torch.zeros(1, 3, 4)
    with pytest.raises(ValueError, match=r"0s and 1s.*ADDED.*mask.bool\(\)"):
        helpers.attention(x, x, x, mask=mask)


def test_an_all_zero_float_mask_is_an_additive_no_op(gen):
    q, k, v = (torch.randn(2, 3, 4, generator=gen) for _ in range(3))
    assert max_diff(helpers.attention(q, k, v, mask=torch.zeros(3, 3))[0], helpers.attention(q, k, v)[0]) == 0


@pytest.mark.parametrize("mask_dtype", [torch.float64, torch.float16])
def test_float_masks_of_another_dtype_are_cast_to_the_scores(mask_dtype, gen):
    q, k, v = (torch.randn(2, 4, 8, generator=gen) for _ in range(3))
    mask = additive(helpers.causal_mask(4)) + torch.randn(4, 4, generator=gen)
    out, weights = helpers.attention(q, k, v, mask=mask.to(mask_dtype))
    assert out.dtype == weights.dtype == torch.float32
    expected = F.scaled_dot_product_attention(q, k, v, attn_mask=mask.to(mask_dtype).float())
    assert max_diff(out, expected) < ATOL


def test_an_all_minus_inf_row_raises_like_an_all_false_row():
    x = torch.zeros(1, 3, 4)
    allowed = helpers.causal_mask(3)
    allowed[1] = False
    with pytest.raises(ValueError, match="no key to attend to"):
        helpers.attention(x, x, x, mask=additive(allowed))
    # ... also when only the causal flag and the float mask together block the row
    blocked_past = additive(~helpers.causal_mask(3) | torch.eye(3, dtype=torch.bool))
    blocked_past[2, 2] = float("-inf")
    with pytest.raises(ValueError, match="no key to attend to"):
        helpers.attention(x, x, x, mask=blocked_past, causal=True)


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_float_masks_with_nan_or_plus_inf_are_refused(value):
    x = torch.zeros(1, 3, 4)
    mask = torch.zeros(3, 3)
    mask[0, 1] = value
    with pytest.raises(ValueError, match=r"nan or \+inf"):
        helpers.attention(x, x, x, mask=mask)


@pytest.mark.parametrize("shape", [(2, 1, 3, 3), (1, 1, 1, 3, 3), (3, 3, 3)])
def test_masks_that_would_grow_the_output_are_refused(shape):
    x = torch.zeros(1, 3, 4)  # scores (1, 3, 3): a bigger mask would broadcast the output up to its shape
    for mask in (torch.zeros(shape), torch.ones(shape, dtype=torch.bool)):
        with pytest.raises(ValueError, match="does not broadcast to the scores' shape"):
            helpers.attention(x, x, x, mask=mask)


@pytest.mark.parametrize("seq_len, error", [(2.5, TypeError), (None, TypeError), (0, ValueError), (True, TypeError)])
def test_causal_mask_rejects_bad_lengths(seq_len, error):
    with pytest.raises(error, match="seq_len"):
        helpers.causal_mask(seq_len)


def test_boolean_masks_move_to_the_scores_device():
    x = torch.zeros(1, 3, 4, device="meta")
    out, weights = helpers.attention(x, x, x, mask=helpers.causal_mask(3))  # the mask is made on the CPU
    assert out.device.type == weights.device.type == "meta"


# ----------------------------------------------------------------------------- multi-head attention


def torch_mha(d_model, n_heads, bias=True, seed=0):
    torch.manual_seed(seed)
    return nn.MultiheadAttention(d_model, n_heads, bias=bias, batch_first=True).eval()


@pytest.mark.parametrize("batch, seq, d_model, n_heads", [(1, 1, 8, 2), (2, 5, 16, 4), (3, 7, 12, 1), (2, 4, 12, 12)])
@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("bias", [True, False])
def test_multi_head_attention_equals_torch(batch, seq, d_model, n_heads, causal, bias, gen):
    reference = torch_mha(d_model, n_heads, bias)
    ours = helpers.MultiHeadAttention(d_model, n_heads, bias=bias).load_from_torch(reference)
    x = torch.randn(batch, seq, d_model, generator=gen)
    # torch's boolean attn_mask marks what is NOT allowed: the opposite of ours.
    torch_mask = ~helpers.causal_mask(seq) if causal else None
    expected, expected_weights = reference(x, x, x, attn_mask=torch_mask, average_attn_weights=False)
    out = ours(x, causal=causal)
    assert out.shape == (batch, seq, d_model)
    assert max_diff(out, expected) < ATOL
    assert ours.weights.shape == (batch, n_heads, seq, seq)
    assert max_diff(ours.weights, expected_weights) < ATOL


def test_multi_head_attention_causal_flag_at_construction(gen):
    mha = helpers.MultiHeadAttention(8, 2, causal=True)
    x = torch.randn(1, 4, 8, generator=gen)
    mha(x)
    assert (mha.weights[0, :, 0, 1:] == 0).all()
    mha(x, causal=False)
    assert (mha.weights[0, :, 0, 1:] > 0).all()


def per_sequence_mask():
    """batch = 2: sequence 0 causal, sequence 1 unmasked."""
    mask = torch.ones(2, 4, 4, dtype=torch.bool)
    mask[0] = helpers.causal_mask(4)
    return mask


@pytest.mark.parametrize("as_float", [False, True])
def test_a_per_sequence_mask_applies_to_every_head_of_its_sequence(as_float, gen):
    reference = torch_mha(8, 2)  # batch = heads = 2: a mask broadcast along the heads would pass silently
    ours = helpers.MultiHeadAttention(8, 2).load_from_torch(reference)
    x = torch.randn(2, 4, 8, generator=gen)
    mask = per_sequence_mask()
    out = ours(x, mask=additive(mask) if as_float else mask)
    future = (ours.weights * ~helpers.causal_mask(4)).sum(dim=(-2, -1))  # (sequence, head)
    assert (future[0] == 0).all() and (future[1] > 0).all()
    # torch's 3-D attn_mask is (batch * heads, q, k), True = blocked
    expected, _ = reference(x, x, x, attn_mask=(~mask).repeat_interleave(2, dim=0))
    assert max_diff(out, expected) < ATOL
    q, k, v = (torch.randn(2, 2, 4, 4, generator=gen) for _ in range(3))
    sdpa = F.scaled_dot_product_attention(q, k, v, attn_mask=mask[:, None])
    assert max_diff(helpers.attention(q, k, v, mask=mask[:, None])[0], sdpa) < ATOL


def test_masks_of_every_accepted_rank_give_the_same_result(gen):
    ours = helpers.MultiHeadAttention(8, 2)
    x = torch.randn(2, 4, 8, generator=gen)
    causal = ours(x, causal=True)
    for mask in (helpers.causal_mask(4), helpers.causal_mask(4).expand(2, 4, 4), helpers.causal_mask(4)[None, None]):
        assert max_diff(ours(x, mask=mask), causal) == 0
    heads = torch.ones(2, 2, 4, 4, dtype=torch.bool)
    heads[:, 1] = helpers.causal_mask(4)  # 4-D: one mask per (sequence, head)
    ours(x, mask=heads)
    future = (ours.weights * ~helpers.causal_mask(4)).sum(dim=(-2, -1))
    assert (future[:, 0] > 0).all() and (future[:, 1] == 0).all()


@pytest.mark.parametrize("shape", [(4,), (1, 2, 1, 4, 4)])
def test_multi_head_attention_refuses_masks_of_other_ranks(shape):
    with pytest.raises(ValueError, match=r"mask: expected shape \(seq_q, seq_k\), \(batch, seq_q, seq_k\)"):
        helpers.MultiHeadAttention(8, 2)(torch.zeros(2, 4, 8), mask=torch.ones(shape, dtype=torch.bool))


def test_a_per_sequence_mask_of_the_wrong_batch_is_refused():
    with pytest.raises(RuntimeError, match=r"Attempting to broadcast .* \[3, 2, 4, 4\]"):  # torch's own
        helpers.MultiHeadAttention(8, 2)(torch.zeros(2, 4, 8), mask=torch.ones(3, 4, 4, dtype=torch.bool))


def test_block_passes_a_per_sequence_mask_to_every_head(gen):
    block = helpers.TransformerBlock(8, 2)
    x = torch.randn(2, 4, 8, generator=gen)
    out = block(x, mask=per_sequence_mask())
    future = (block.attn.weights * ~helpers.causal_mask(4)).sum(dim=(-2, -1))
    assert (future[0] == 0).all() and (future[1] > 0).all()
    # each sequence alone, with its own (seq, seq) mask, gives the same rows
    assert max_diff(out[:1], block(x[:1], mask=helpers.causal_mask(4))) < ATOL
    assert max_diff(out[1:], block(x[1:])) < ATOL


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"bias": False}, "bias: ours True, torch's False"),
        ({"add_bias_kv": True}, "add_bias_kv: ours False, torch's True"),
        ({"add_zero_attn": True}, "add_zero_attn: ours False, torch's True"),
        ({"kdim": 4, "vdim": 4}, "kdim/vdim: ours (8, 8), torch's (4, 4)"),
    ],
)
def test_load_from_torch_refuses_what_it_cannot_copy(kwargs, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        helpers.MultiHeadAttention(8, 2).load_from_torch(nn.MultiheadAttention(8, 2, **kwargs))


def test_load_from_torch_never_drops_the_torch_biases():
    with pytest.raises(ValueError, match="bias: ours False, torch's True"):
        helpers.MultiHeadAttention(8, 2, bias=False).load_from_torch(nn.MultiheadAttention(8, 2))


def test_multi_head_attention_errors():
    with pytest.raises(ValueError, match="d_model must be divisible by n_heads: d_model=10, n_heads=4"):
        helpers.MultiHeadAttention(10, 4)
    mha = helpers.MultiHeadAttention(8, 2)
    with pytest.raises(ValueError, match=r"expected shape \(batch, seq, d_model=8\).*got shape \(2, 5, 6\)"):
        mha(torch.zeros(2, 5, 6))
    with pytest.raises(ValueError, match=r"got shape \(5, 8\) \(2-D\)"):
        mha(torch.zeros(5, 8))
    with pytest.raises(ValueError, match="embed_dim: ours 8, torch's 16"):
        mha.load_from_torch(torch_mha(16, 2))
    with pytest.raises(TypeError, match="MultiheadAttention"):
        mha.load_from_torch(nn.Linear(8, 8))


# ----------------------------------------------------------------------------- MLP


@pytest.mark.parametrize("activation, torch_activation", [("gelu", nn.GELU()), ("relu", nn.ReLU())])
@pytest.mark.parametrize("shape", [(1, 1, 8), (2, 5, 8), (8,)])
def test_mlp_equals_torch_sequential(activation, torch_activation, shape, gen):
    mlp = helpers.MLP(8, 32, activation)
    reference = nn.Sequential(mlp.fc_in, torch_activation, mlp.fc_out)
    x = torch.randn(*shape, generator=gen)
    assert max_diff(mlp(x), reference(x)) < ATOL


def test_mlp_defaults_to_four_times_wider():
    assert helpers.MLP(8).fc_in.out_features == 32


def test_mlp_errors():
    with pytest.raises(ValueError, match=r"activation must be one of \['gelu', 'relu'\], got 'tanh'"):
        helpers.MLP(8, activation="tanh")
    with pytest.raises(ValueError, match=r"last dimension 8, got shape \(2, 3, 4\)"):
        helpers.MLP(8)(torch.zeros(2, 3, 4))


# ----------------------------------------------------------------------------- norms


def randomize(*modules, seed=0):
    """Non-trivial scale and shift, so the comparison checks them too."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in modules:
            for p in m.parameters():
                p.copy_(torch.randn(p.shape, generator=g))


@pytest.mark.parametrize("shape", [(2, 5, 8), (1, 1, 8), (3, 8), (8,)])
def test_layer_norm_equals_torch(shape, gen):
    ours, reference = helpers.LayerNorm(8), nn.LayerNorm(8)
    randomize(ours)
    reference.load_state_dict(ours.state_dict())
    x = torch.randn(*shape, generator=gen) * 3 + 2
    assert max_diff(ours(x), reference(x)) < ATOL


@pytest.mark.parametrize("shape", [(2, 5, 8), (1, 1, 8), (3, 8)])
def test_rms_norm_equals_torch(shape, gen):
    ours, reference = helpers.RMSNorm(8), nn.RMSNorm(8, eps=1e-6)
    randomize(ours)
    reference.load_state_dict(ours.state_dict())
    x = torch.randn(*shape, generator=gen) * 3 + 2
    assert max_diff(ours(x), reference(x)) < ATOL


@pytest.mark.parametrize("shape", [(4, 6, 8), (2, 1, 8), (1, 3, 8), (5, 8)])
def test_batch_norm_equals_torch_in_train_and_eval_mode(shape, gen):
    ours, reference = helpers.BatchNorm(8), nn.BatchNorm1d(8)
    randomize(ours)
    reference.load_state_dict(ours.state_dict(), strict=False)  # torch also counts batches

    def torch_forward(x):  # BatchNorm1d wants the features in dim 1
        return reference(x.transpose(1, 2)).transpose(1, 2) if x.dim() == 3 else reference(x)

    for step in range(3):  # several steps: the running averages must follow torch's
        x = torch.randn(*shape, generator=gen) * 2 + step
        assert max_diff(ours(x), torch_forward(x)) < ATOL
    assert max_diff(ours.running_mean, reference.running_mean) < ATOL
    assert max_diff(ours.running_var, reference.running_var) < ATOL
    ours.eval(), reference.eval()
    x = torch.randn(*shape, generator=gen)
    assert max_diff(ours(x), torch_forward(x)) < ATOL


def test_batch_norm_training_needs_more_than_one_value():
    with pytest.raises(ValueError, match=r"more than 1 value per feature.*\(1, 1, 8\).*\.eval\(\)"):
        helpers.BatchNorm(8)(torch.zeros(1, 1, 8))
    helpers.BatchNorm(8).eval()(torch.zeros(1, 1, 8))  # eval mode is fine


def torch_norm(ours):
    """torch's counterpart of one of our norms, with the same parameters and buffers."""
    if isinstance(ours, helpers.LayerNorm):
        reference = nn.LayerNorm(ours.d_model, eps=ours.eps)
    elif isinstance(ours, helpers.RMSNorm):
        reference = nn.RMSNorm(ours.d_model, eps=ours.eps)
    else:
        reference = nn.BatchNorm1d(ours.d_model, eps=ours.eps, momentum=ours.momentum)
    reference.load_state_dict(ours.state_dict())
    return reference.to(ours.weight.dtype)


@pytest.mark.parametrize("norm", [helpers.LayerNorm, helpers.RMSNorm, helpers.BatchNorm])
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_norms_on_half_precision_input_with_large_values_match_torch(norm, dtype, gen):
    ours = norm(8)
    randomize(ours)
    reference = torch_norm(ours)
    x = (torch.randn(4, 8, generator=gen) * 300).to(dtype)  # x**2 overflows float16 above 256
    out = ours(x)
    # torch's norms compute half-precision input in float32 (torch 2.4's RMSNorm did not: it returned zeros here)
    expected = reference(x.float())
    assert out.dtype == dtype
    assert out.abs().max() > 0.5  # not the zeros of a half-precision x**2 overflow
    assert max_diff(out.float(), expected.float()) < 0.02


@pytest.mark.parametrize("norm", [helpers.LayerNorm, helpers.RMSNorm, helpers.BatchNorm])
def test_norms_in_float64(norm, gen):
    ours = norm(8).double()
    randomize(ours)
    reference = torch_norm(ours)
    for step in range(2):  # BatchNorm trains its running averages in float64 too
        x = torch.randn(5, 8, generator=gen, dtype=torch.float64) + step
        out = ours(x)
        assert out.dtype == torch.float64 and max_diff(out, reference(x)) < 1e-12


@pytest.mark.parametrize("norm", [helpers.LayerNorm, helpers.RMSNorm, helpers.BatchNorm])
def test_norms_on_float64_input_keep_float64(norm, gen):
    # torch's LayerNorm and BatchNorm1d refuse float64 input with float32 parameters; ours computes it in float64
    ours = norm(8)
    randomize(ours)
    x = torch.randn(5, 8, generator=gen, dtype=torch.float64)
    out = ours(x)
    assert out.dtype == torch.float64
    assert max_diff(out, torch_norm(ours).double()(x)) < 1e-6


def test_batch_norm_momentum_none_is_the_cumulative_average(gen):
    ours = helpers.BatchNorm(8, momentum=None)
    reference = nn.BatchNorm1d(8, momentum=None)
    batches = [torch.randn(6, 8, generator=gen) + i for i in range(4)]
    for x in batches:
        assert max_diff(ours(x), reference(x)) < ATOL
    assert max_diff(ours.running_mean, reference.running_mean) < ATOL
    assert max_diff(ours.running_var, reference.running_var) < ATOL
    assert max_diff(ours.running_mean, torch.stack([x.mean(0) for x in batches]).mean(0)) < ATOL
    assert ours.num_batches_tracked.item() == reference.num_batches_tracked.item() == 4


@pytest.mark.parametrize("momentum", [-0.1, 1.5, "0.1", True])
def test_batch_norm_refuses_bad_momentum(momentum):
    with pytest.raises(ValueError, match=r"momentum must be a number in \[0, 1\] or None"):
        helpers.BatchNorm(8, momentum=momentum)


@pytest.mark.parametrize("norm", [helpers.LayerNorm, helpers.RMSNorm, helpers.BatchNorm])
@pytest.mark.parametrize("eps", [0, -1e-5, None])
def test_norms_refuse_bad_eps(norm, eps):
    with pytest.raises(ValueError, match="eps must be a positive number"):
        norm(8, eps=eps)


@pytest.mark.parametrize(
    "make", [lambda: helpers.MultiHeadAttention(8, 2), lambda: helpers.MLP(8), lambda: helpers.TransformerBlock(8, 2)]
)
@pytest.mark.parametrize("dtype", [torch.float64, torch.float16])
def test_input_and_parameters_of_different_dtypes_are_torch_s_clear_error(make, dtype):
    layer = make()
    with pytest.raises(RuntimeError, match="must have the same dtype"):
        layer(torch.zeros(2, 3, 8, dtype=dtype))
    layer.to(dtype)(torch.zeros(2, 3, 8, dtype=dtype))  # converting the layer makes it work


@pytest.mark.parametrize("norm", [helpers.LayerNorm, helpers.RMSNorm, helpers.BatchNorm])
def test_norms_name_the_expected_width(norm):
    with pytest.raises(ValueError, match=r"d_model=8.*got shape \(2, 3, 5\)"):
        norm(8)(torch.zeros(2, 3, 5))


# ----------------------------------------------------------------------------- block


def torch_encoder_layer(d_model, n_heads, d_hidden, norm_first):
    torch.manual_seed(0)
    layer = nn.TransformerEncoderLayer(
        d_model, n_heads, d_hidden, dropout=0.0, activation="gelu", batch_first=True, norm_first=norm_first
    )
    return layer.eval()


@pytest.mark.parametrize("norm_position", ["pre", "post"])
@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("shape", [(2, 5), (1, 1)])
def test_block_equals_torch_transformer_encoder_layer(norm_position, causal, shape, gen):
    d_model, n_heads, d_hidden = 16, 4, 48
    reference = torch_encoder_layer(d_model, n_heads, d_hidden, norm_first=norm_position == "pre")
    randomize(reference.norm1, reference.norm2)
    block = helpers.TransformerBlock(d_model, n_heads, d_hidden, norm_position=norm_position, causal=causal).eval()
    block.load_from_torch(reference)
    x = torch.randn(*shape, d_model, generator=gen)
    mask = ~helpers.causal_mask(shape[1]) if causal else None
    with torch.no_grad():
        assert max_diff(block(x), reference(x, src_mask=mask, is_causal=causal)) < 1e-5


@pytest.mark.parametrize(
    ("block_kwargs", "error", "message"),
    [
        ({"norm_position": "post"}, ValueError, "norm_position: ours 'post', torch's 'pre'"),
        ({"norm_position": "pre", "d_hidden": 32}, ValueError, "d_hidden: ours 32, torch's 48"),
        ({"norm_position": "pre", "activation": "relu"}, ValueError, "activation: ours 'relu', torch's 'gelu'"),
        ({"norm_position": "pre", "norm": "rms"}, ValueError, "is built differently"),
        ({"norm_position": "pre", "skip": False}, ValueError, "is built differently"),
        ({"norm_position": "pre", "mlp": False}, ValueError, "is built differently"),
    ],
)
def test_block_load_from_torch_refuses_a_different_layer(block_kwargs, error, message):
    reference = torch_encoder_layer(16, 4, 48, norm_first=True)
    block = helpers.TransformerBlock(16, 4, **{"d_hidden": 48, **block_kwargs})
    with pytest.raises(error, match=re.escape(message)):
        block.load_from_torch(reference)
    with pytest.raises(TypeError, match="expected a torch.nn.TransformerEncoderLayer, got Linear"):
        helpers.TransformerBlock(16, 4).load_from_torch(nn.Linear(16, 16))


@pytest.mark.parametrize("skip", [True, False])
@pytest.mark.parametrize("norm", ["layer", "rms", "batch", None])
@pytest.mark.parametrize("norm_position", ["pre", "post"])
@pytest.mark.parametrize("sublayers", [(True, True), (True, False), (False, True)])
def test_every_block_variant_runs_and_keeps_the_shape(skip, norm, norm_position, sublayers, gen):
    attention, mlp = sublayers
    block = helpers.TransformerBlock(
        8, 2, skip=skip, norm=norm, norm_position=norm_position, attention=attention, mlp=mlp
    )
    x = torch.randn(3, 4, 8, generator=gen)
    out = block(x)
    assert out.shape == x.shape and torch.isfinite(out).all()


def test_block_wiring_seen_from_outside(gen):
    """Properties of each wiring, so that no formula is restated from the code (torch's TransformerEncoderLayer
    pins the pre- and post-norm blocks with layer norms, above)."""
    x = torch.randn(2, 4, 8, generator=gen)
    # pre-norm: the sublayer reads a normalized copy, so only the skip carries x's scale: block(3x) - 3x = block(x) - x
    pre = helpers.TransformerBlock(8, 2, norm="rms", norm_position="pre", mlp=False)
    assert max_diff(pre(3 * x) - 3 * x, pre(x) - x) < 1e-4
    # post-norm: the norm comes last, so every token leaves with mean 0 and variance 1 (LayerNorm's initial affine)
    out = helpers.TransformerBlock(8, 2, norm="layer", norm_position="post")(x)
    assert max_diff(out.mean(-1), torch.zeros(2, 4)) < 1e-5
    assert max_diff(out.var(-1, unbiased=False), torch.ones(2, 4)) < 1e-3
    # no skip: with the attention's output zeroed, x reaches the MLP not at all, so every position gets one vector
    plain = helpers.TransformerBlock(8, 2, skip=False, norm=None)
    with torch.no_grad():
        plain.attn.out_proj.weight.zero_()
    out = plain(x)
    assert max_diff(out, out[:1, :1].expand_as(out)) < ATOL and out.abs().max() > 0


def test_block_errors():
    with pytest.raises(ValueError, match=r"norm_position must be one of \['pre', 'post'\], got 'middle'"):
        helpers.TransformerBlock(8, 2, norm_position="middle")
    with pytest.raises(ValueError, match=r"norm must be one of"):
        helpers.TransformerBlock(8, 2, norm="group")
    with pytest.raises(ValueError, match="at least one sublayer"):
        helpers.TransformerBlock(8, 2, attention=False, mlp=False)
    with pytest.raises(ValueError, match=r"\(batch, seq, d_model=8\)"):
        helpers.TransformerBlock(8, 2)(torch.zeros(4, 8))


# ----------------------------------------------------------------------------- tiny transformer


@pytest.mark.parametrize("positional", ["sinusoidal", "learned", None])
@pytest.mark.parametrize("norm_position", ["pre", "post"])
def test_tiny_transformer_shapes(positional, norm_position):
    model = helpers.TinyTransformer(11, 16, 2, 4, 10, positional=positional, norm_position=norm_position)
    idx = torch.randint(0, 11, (3, 7))
    assert model(idx).shape == (3, 7, 11)
    assert model(idx[:1, :1]).shape == (1, 1, 11)
    assert isinstance(model.final_norm, nn.Identity) == (norm_position == "post")


def test_causal_model_never_looks_ahead():
    torch.manual_seed(0)
    model = helpers.TinyTransformer(10, 16, 2, 4, 8, causal=True).eval()
    idx = torch.randint(0, 10, (2, 8))
    changed = idx.clone()
    changed[:, -1] = (changed[:, -1] + 1) % 10
    assert max_diff(model(idx)[:, :-1], model(changed)[:, :-1]) < ATOL
    assert max_diff(model(idx)[:, -1], model(changed)[:, -1]) > 1e-3


def test_without_positions_a_bidirectional_model_cannot_see_order():
    torch.manual_seed(0)
    model = helpers.TinyTransformer(10, 16, 2, 4, 8, positional=None, causal=False).eval()
    idx = torch.randint(0, 10, (2, 8))
    perm = torch.randperm(8)
    assert max_diff(model(idx)[:, perm], model(idx[:, perm])) < 1e-4
    model_with_positions = helpers.TinyTransformer(10, 16, 2, 4, 8, causal=False).eval()
    assert max_diff(model_with_positions(idx)[:, perm], model_with_positions(idx[:, perm])) > 1e-3


def test_tiny_transformer_errors():
    model = helpers.TinyTransformer(10, 16, 1, 4, 8)
    with pytest.raises(TypeError, match="integer token ids"):
        model(torch.zeros(2, 4))
    with pytest.raises(ValueError, match=r"expected shape \(batch, seq\), got shape \(4,\)"):
        model(torch.zeros(4, dtype=torch.long))
    with pytest.raises(ValueError, match="longer than max_len=8"):
        model(torch.zeros(1, 9, dtype=torch.long))
    with pytest.raises(ValueError, match=r"token ids must be in \[0, 10\), got values from 0 to 12"):
        model(torch.tensor([[0, 12]]))
    with pytest.raises(ValueError, match="positional must be one of"):
        helpers.TinyTransformer(10, positional="rotary")
