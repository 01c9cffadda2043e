"""Checkers of notebook 06 (the encoder–decoder): cross-attention by hand, the greedy decoding loop."""

import torch
import torch.nn.functional as F

from .. import layers
from .core import WHY, Mistake, check_function, randn


def _mha(d_model, n_heads, seed):
    torch.manual_seed(seed)
    mha = layers.MultiHeadAttention(d_model, n_heads)
    with torch.no_grad():  # biases too, so a slip that drops one shows
        mha.in_proj.bias.normal_()
        mha.out_proj.bias.normal_()
    return mha


def _cross(x, memory, mha, queries_from=None, keys_from=None, heads=True, causal=False, out_proj=True, with_t=True):
    """Cross-attention (the reference, with the defaults), or one of its slips: queries and keys/values from the
    wrong input, no heads, ..."""
    d = mha.d_model
    w_q, w_k, w_v = (w if with_t else w.T for w in mha.in_proj.weight.split(d))  # t=False: the missing .T slip
    b_q, b_k, b_v = mha.in_proj.bias.split(d)
    q_in = x if queries_from is None else queries_from
    kv_in = memory if keys_from is None else keys_from
    q, k, v = F.linear(q_in, w_q, b_q), F.linear(kv_in, w_k, b_k), F.linear(kv_in, w_v, b_v)
    n = mha.n_heads if heads else 1
    out, _ = layers.attention(*(layers.split_heads(t, n) for t in (q, k, v)), causal=causal)
    out = layers.merge_heads(out)
    return mha.out_proj(out) if out_proj else out


def check_cross_attention(learner_fn):
    """learner_fn(x (batch, tgt_len, d_model), memory (batch, src_len, d_model), mha) -> (batch, tgt_len, d_model).

    mha is a helpers.MultiHeadAttention: in_proj's rows are W_q, W_k, W_v, out_proj mixes the heads.
    """
    with torch.no_grad():
        cases = [
            ("x and memory of shape (2, 4, 8), 2 heads",
             (randn(2, 4, 8, seed=1), randn(2, 4, 8, seed=2), _mha(8, 2, 0))),
            ("x (1, 3, 12), a longer memory (1, 5, 12), 3 heads",
             (randn(1, 3, 12, seed=3), randn(1, 5, 12, seed=4), _mha(12, 3, 1))),
            ("one target position, x (2, 1, 6), memory (2, 7, 6), 1 head",
             (randn(2, 1, 6, seed=5), randn(2, 7, 6, seed=6), _mha(6, 1, 2))),
        ]
    mistakes = [
        Mistake("your keys and values come from x: that is the decoder's self-attention. In cross-attention only the "
                "queries come from the decoder; keys and values come from the encoder's output, the memory.",
                lambda x, memory, mha: _cross(x, memory, mha, keys_from=x)),
        Mistake("queries and keys/values are swapped: the queries come from the decoder (x), the keys and values from "
                "the memory.", lambda x, memory, mha: _cross(x, memory, mha, queries_from=memory, keys_from=x)),
        Mistake("your result is one big head over all the features: split q, k and v into n_heads heads of d_model / "
                "n_heads features, attend in each, then put the heads back side by side.",
                lambda x, memory, mha: _cross(x, memory, mha, heads=False)),
        Mistake("your cross-attention is causal: a target position may read EVERY source position (the source is known "
                "in full); only the decoder's self-attention is masked.",
                lambda x, memory, mha: _cross(x, memory, mha, causal=True)),
        Mistake("your projections use in_proj's rows untransposed (x @ W): nn.Linear stores each W as (out, in), so a "
                "token of d_model features meets it transposed, x @ W.T.",
                lambda x, memory, mha: _cross(x, memory, mha, with_t=False)),
        Mistake("the heads' output still needs the output projection (out_proj) that mixes them.",
                lambda x, memory, mha: _cross(x, memory, mha, out_proj=False)),
    ]
    with torch.no_grad():
        return check_function(learner_fn, _cross, cases, "cross-attention", mistakes=mistakes, atol=1e-5,
                              nudge="the decoder asks, the source answers: the queries are made from the decoder's "
                              "positions, the keys and values from the encoder's output. The rest is the multi-head "
                              "attention you know from notebook 02: the first third of in_proj's rows makes queries, "
                              "the second keys, the third values.")


# ----------------------------------------------------------------------------- greedy decoding


class _RuleModel(torch.nn.Module):
    """A stand-in for a trained Seq2Seq, with its forward(src, tgt) and encode/decode: the most likely next
    token follows a fixed rule of the source, the position and the token there, so every slip gives other tokens."""

    def __init__(self, vocab_size):
        super().__init__()
        self.vocab_size = vocab_size
        self.scale = torch.nn.Parameter(torch.tensor(4.0))  # a parameter, so the model has a device and dtype

    def encode(self, src, src_padding=None):
        return src

    def decode(self, tgt, memory, src_padding=None, tgt_padding=None):
        position = torch.arange(tgt.shape[1], device=tgt.device)
        source = memory[:, (2 * position + 1) % memory.shape[1]]
        rule = (source + 3 * tgt + position) % self.vocab_size
        return self.scale * F.one_hot(rule, self.vocab_size).float()

    def forward(self, src, tgt, src_padding=None, tgt_padding=None):
        return self.decode(tgt, self.encode(src, src_padding))


def _decode(model, src, n_tokens, bos_id, position=-1, keep_bos=False):
    """Greedy decoding, or one of its slips (reading position 0 also stands for never feeding tokens back)."""
    out = torch.full((src.shape[0], 1), bos_id, dtype=torch.long, device=src.device)
    for _ in range(n_tokens):
        logits = model(src, out)
        out = torch.cat([out, logits[:, position].argmax(dim=-1, keepdim=True)], dim=1)
    return out if keep_bos else out[:, 1:]


def check_greedy_decode(learner_fn):
    """learner_fn(model, src (batch, src_len), n_tokens, bos_id) -> (batch, n_tokens) token ids, without BOS."""
    g = torch.Generator().manual_seed(0)
    cases = [
        ("a batch of 2 sources of length 5, 4 tokens", (_RuleModel(7), torch.randint(0, 5, (2, 5), generator=g), 4, 5)),
        ("one source of length 3, 1 token", (_RuleModel(7), torch.tensor([[1, 2, 3]]), 1, 5)),
        ("3 sources of length 6, 6 tokens, BOS id 6", (_RuleModel(7), torch.randint(0, 5, (3, 6), generator=g), 6, 6)),
    ]
    mistakes = [
        Mistake("your result starts with the BOS token: return only the n_tokens generated after it.",
                lambda model, src, n, bos: _decode(model, src, n, bos, keep_bos=True)),
        Mistake("every token you return is the one predicted right after BOS: either each step read the FIRST "
                "position's logits, or the decoder saw only BOS at every step. Append each new token to the decoder's "
                "input and read the next one at its LAST position.",
                lambda model, src, n, bos: _decode(model, src, n, bos, position=0)),
    ]
    return check_function(learner_fn, _decode, cases, "greedy decoding", mistakes=mistakes, atol=0,
                          nudge="start the decoder with the BOS token alone; at each step run the model, take the most "
                          "likely token at the last position, and append it to the decoder's input; hand back what was "
                          "generated, one token per step, as integer ids.")


WHY.update({
    "loss without cross-attention": "without the source, the decoder's input (the reversed digits so far) says "
    "nothing about the next digit, which is random: the best it can do is a uniform guess over the 10 digits, "
    "whose cross-entropy is ln 10 = 2.30.",
})
