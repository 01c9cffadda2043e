"""The checkers of notebook 06 (the encoder–decoder)."""

import pytest
import torch
import torch.nn.functional as F
from checker_testing import Fails, Passes, robustness

import helpers
from helpers import checks
from helpers import encoder_decoder as ed


def cross_attention(x, memory, mha):
    d = mha.d_model
    w_q, w_kv = mha.in_proj.weight.split([d, 2 * d])
    b_q, b_kv = mha.in_proj.bias.split([d, 2 * d])
    q = F.linear(x, w_q, b_q)
    k, v = F.linear(memory, w_kv, b_kv).split(d, dim=-1)

    def heads(t):
        return t.view(t.shape[0], t.shape[1], mha.n_heads, mha.d_head).transpose(1, 2)

    out, _ = helpers.attention(heads(q), heads(k), heads(v))
    return mha.out_proj(out.transpose(1, 2).reshape(x.shape))


def cross_attention_with_sdpa(x, memory, mha):
    # A second way: all three projections at once on both inputs, torch's attention, einops-free reshapes.
    q = mha.in_proj(x).chunk(3, dim=-1)[0]
    _, k, v = mha.in_proj(memory).chunk(3, dim=-1)
    q, k, v = (t.unflatten(-1, (mha.n_heads, -1)).transpose(1, 2) for t in (q, k, v))
    out = F.scaled_dot_product_attention(q, k, v)
    return mha.out_proj(out.transpose(1, 2).flatten(2))


def no_transpose(x, memory, mha):  # in_proj's rows used as x @ W: nn.Linear stores W as (out, in)
    w_q, w_k, w_v = mha.in_proj.weight.split(mha.d_model)
    b_q, b_k, b_v = mha.in_proj.bias.split(mha.d_model)
    q, k, v = x @ w_q + b_q, memory @ w_k + b_k, memory @ w_v + b_v
    out, _ = helpers.attention(*(helpers.layers.split_heads(t, mha.n_heads) for t in (q, k, v)))
    return mha.out_proj(helpers.layers.merge_heads(out))


def self_attention(x, memory, mha):
    return mha(x)


def swapped(x, memory, mha):
    return cross_attention(memory, x, mha)


def one_head(x, memory, mha):
    d = mha.d_model
    w_q, w_k, w_v = mha.in_proj.weight.split(d)
    b_q, b_k, b_v = mha.in_proj.bias.split(d)
    out, _ = helpers.attention(F.linear(x, w_q, b_q), F.linear(memory, w_k, b_k), F.linear(memory, w_v, b_v))
    return mha.out_proj(out)


def causal(x, memory, mha):
    d = mha.d_model
    q = F.linear(x, mha.in_proj.weight[:d], mha.in_proj.bias[:d])
    k, v = F.linear(memory, mha.in_proj.weight[d:], mha.in_proj.bias[d:]).split(d, dim=-1)
    q, k, v = (t.unflatten(-1, (mha.n_heads, -1)).transpose(1, 2) for t in (q, k, v))
    out, _ = helpers.attention(q, k, v, causal=True)
    return mha.out_proj(out.transpose(1, 2).flatten(2))


def no_out_proj(x, memory, mha):
    d = mha.d_model
    q = F.linear(x, mha.in_proj.weight[:d], mha.in_proj.bias[:d])
    k, v = F.linear(memory, mha.in_proj.weight[d:], mha.in_proj.bias[d:]).split(d, dim=-1)
    q, k, v = (t.unflatten(-1, (mha.n_heads, -1)).transpose(1, 2) for t in (q, k, v))
    out, _ = helpers.attention(q, k, v)
    return out.transpose(1, 2).flatten(2)


CROSS_CASES = [
    Passes(cross_attention),
    Passes(cross_attention_with_sdpa),
    Passes(
        lambda x, memory, mha: ed.CrossAttention(mha.d_model, mha.n_heads).load_from_torch(_as_torch(mha))(x, memory),
        id="helpers",
    ),
    Fails(self_attention, ["x and memory of shape (2, 4, 8)", "keys and values come from x"]),
    Fails(swapped, "swapped"),
    Fails(no_transpose, ["values are off", "x @ W.T"], id="missing .T on in_proj rows"),
    Fails(one_head, "one big head"),
    Fails(causal, ["cross-attention is causal", "EVERY source position"]),
    Fails(no_out_proj, "out_proj"),
    Fails(lambda x, memory, mha: 2 * cross_attention(x, memory, mha), ["values are off", "Hint: the decoder asks"]),
    Fails(lambda x, memory: cross_attention(x, memory, None), ["raised TypeError", "keep its signature"]),
    *robustness(cross_attention),
]


def _as_torch(mha):
    """torch's layer with the weights of a helpers.MultiHeadAttention (so the helpers reference can load them)."""
    reference = torch.nn.MultiheadAttention(mha.d_model, mha.n_heads, batch_first=True)
    with torch.no_grad():
        reference.in_proj_weight.copy_(mha.in_proj.weight)
        reference.in_proj_bias.copy_(mha.in_proj.bias)
        reference.out_proj.weight.copy_(mha.out_proj.weight)
        reference.out_proj.bias.copy_(mha.out_proj.bias)
    return reference


@pytest.mark.parametrize("case", CROSS_CASES, ids=str)
def test_check_cross_attention(case):
    case.check(checks.check_cross_attention)


def greedy_decode(model, src, n_tokens, bos_id):
    tgt = torch.full((src.shape[0], 1), bos_id, dtype=torch.long, device=src.device)
    for _ in range(n_tokens):
        next_token = model(src, tgt)[:, -1].argmax(dim=-1)
        tgt = torch.cat([tgt, next_token[:, None]], dim=1)
    return tgt[:, 1:]


def greedy_decode_preallocated(model, src, n_tokens, bos_id):
    out = torch.full((src.shape[0], n_tokens + 1), bos_id)
    with torch.no_grad():
        for i in range(n_tokens):
            out[:, i + 1] = model(src, out[:, : i + 1]).argmax(-1)[:, i]
    return out[:, 1:]


def keeps_bos(model, src, n_tokens, bos_id):
    tgt = torch.full((src.shape[0], 1), bos_id)
    for _ in range(n_tokens):
        tgt = torch.cat([tgt, model(src, tgt)[:, -1].argmax(-1, keepdim=True)], dim=1)
    return tgt


def first_position(model, src, n_tokens, bos_id):
    tgt = torch.full((src.shape[0], 1), bos_id)
    for _ in range(n_tokens):
        tgt = torch.cat([tgt, model(src, tgt)[:, 0].argmax(-1, keepdim=True)], dim=1)
    return tgt[:, 1:]


def no_feedback(model, src, n_tokens, bos_id):
    bos = torch.full((src.shape[0], 1), bos_id)
    return torch.cat([model(src, bos)[:, -1].argmax(-1, keepdim=True) for _ in range(n_tokens)], dim=1)


GREEDY_CASES = [
    Passes(greedy_decode),
    Passes(greedy_decode_preallocated),
    Passes(lambda model, src, n, bos: ed.greedy_decode(model, src, n, bos), id="helpers"),
    Fails(keeps_bos, ["wrong shape", "starts with the BOS token"]),
    Fails(first_position, ["right after BOS", "FIRST position"]),
    Fails(no_feedback, ["right after BOS", "saw only BOS"]),
    Fails(lambda model, src, n, bos: greedy_decode(model, src, n, bos).float(), ["wrong dtype", "torch.int64"]),
    Fails(lambda model, src, n, bos: greedy_decode(model, src, n, bos)[:, :-1], "wrong shape"),
    Fails(lambda model, src, n: greedy_decode(model, src, n, 5), ["raised TypeError", "keep its signature"]),
    *robustness(greedy_decode, mutates_input=False),
]


def test_greedy_reference_equals_helpers_on_a_real_model():
    torch.manual_seed(0)
    model = ed.Seq2Seq(7, d_model=16, n_heads=2, n_encoder_layers=1, n_decoder_layers=1).eval()
    src = torch.randint(0, 5, (3, 4), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.equal(greedy_decode(model, src, 5, 5), ed.greedy_decode(model, src, 5, 5))


@pytest.mark.parametrize("case", GREEDY_CASES, ids=str)
def test_check_greedy_decode(case):
    case.check(checks.check_greedy_decode)
