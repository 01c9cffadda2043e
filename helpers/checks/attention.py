"""Checkers of notebook 02 (attention): dot-product attention, the causal mask, splitting into heads."""

import math

import torch

from .. import layers
from .core import WHY, Mistake, check_function, randn


def _attention(q, k, v, scale=None, dim=-1):
    """softmax(q k^T * scale) v over `dim`, for the checker's known mistakes; scale defaults to 1 / sqrt(d_k)."""
    scale = 1 / math.sqrt(q.shape[-1]) if scale is None else scale
    return torch.softmax(q @ k.transpose(-2, -1) * scale, dim=dim) @ v


def check_attention(learner_fn):
    """learner_fn(q, k, v) -> output (..., seq_q, d_v) alone, as the exercise asks (not (output, weights))."""
    cases = [
        ("q, k, v of shape (3, 4)", (randn(3, 4, seed=1), randn(3, 4, seed=2), randn(3, 4, seed=3))),
        ("d_k = 4 but d_v = 16: q, k of shape (5, 4), v of shape (5, 16)",
         (randn(5, 4, seed=8) * 2, randn(5, 4, seed=9) * 2, randn(5, 16, seed=10))),
        ("a batch: q (2, 5, 8), k and v (2, 6, 8)", (randn(2, 5, 8, seed=4), *randn(2, 2, 6, 8, seed=5))),
        ("batch 1, odd sizes: q (1, 3, 7), k (1, 5, 7), v (1, 5, 3)",
         (randn(1, 3, 7, seed=11), randn(1, 5, 7, seed=12), randn(1, 5, 3, seed=13))),
        ("large d_k = 64: q, k, v of shape (3, 1, 4, 64)", tuple(randn(3, 1, 4, 64, seed=7))),
    ]
    mistakes = [
        Mistake("you returned (output, weights), like helpers.attention; the exercise asks for the output alone.",
                lambda q, k, v: layers.attention(q, k, v)),
        Mistake("your result has no scaling: divide the scores by the square root of d_k before the softmax, or the "
                "softmax saturates as d_k grows.", lambda q, k, v: _attention(q, k, v, scale=1.0)),
        Mistake("you scaled by the square root of d_v, the VALUES' width; the scores are dot products of queries and "
                "keys, so it is the square root of d_k (q.shape[-1]).",
                lambda q, k, v: _attention(q, k, v, scale=1 / math.sqrt(v.shape[-1]))),
        Mistake("you divided by d_k itself; the scores' spread grows like the SQUARE ROOT of d_k.",
                lambda q, k, v: _attention(q, k, v, scale=1 / q.shape[-1])),
        Mistake("you multiplied by the square root of d_k; divide by it.",
                lambda q, k, v: _attention(q, k, v, scale=math.sqrt(q.shape[-1]))),
        Mistake("your softmax runs over the queries (dim=-2); each query's weights over the KEYS must sum to 1: "
                "softmax over the last dimension.", lambda q, k, v: _attention(q, k, v, dim=-2)),
    ]
    return check_function(learner_fn, lambda q, k, v: layers.attention(q, k, v)[0], cases,
                          "scaled dot-product attention", mistakes=mistakes,
                          nudge="every query scores every key by a dot product; the scores are scaled down by the "
                          "square root of the key width, turned into weights that sum to one over the keys, and the "
                          "output of each query is the weighted average of the values.",
                          error_hints=[("cannot be multiplied", "check the shapes: a query's dot product with every "
                                        "key needs k transposed on its last two dimensions, and the weights (seq_q, "
                                        "seq_k) then multiply v (seq_k, d_v)."),
                                       ("must match the size of tensor", "on a batch, k.T reverses ALL the dimensions "
                                        "of k, batch included; transpose only the last two, k.transpose(-2, -1) (or "
                                        "k.mT).")])


def check_causal_mask(learner_fn):
    """learner_fn(seq_len) -> (seq_len, seq_len) boolean mask, True where query i may look at key j (j <= i)."""
    mistakes = [
        Mistake("F.scaled_dot_product_attention ADDS a float mask to the scores, so a mask of 0s and 1s would hide "
                "nothing (helpers.attention refuses one for that reason). Build it with dtype=torch.bool.",
                lambda n: torch.ones(n, n).tril()),
        Mistake("yours is True where j > i, i.e. it marks the keys to BLOCK (torch.nn.MultiheadAttention's "
                "convention). Here True means 'may attend': keep j <= i, the lower triangle with the diagonal.",
                lambda n: torch.ones(n, n, dtype=torch.bool).triu(1)),
        Mistake("yours lets each query see itself and the FUTURE (the upper triangle). A causal query i (a row) may "
                "look at keys j <= i: the lower triangle.", lambda n: torch.ones(n, n, dtype=torch.bool).triu()),
        Mistake("yours hides the diagonal: each query must also see its own token (j <= i, not j < i).",
                lambda n: torch.ones(n, n, dtype=torch.bool).tril(-1)),
    ]
    return check_function(learner_fn, layers.causal_mask, [(f"seq_len={n}", (n,)) for n in (4, 1, 7)], "causal mask",
                          mistakes=mistakes, atol=0,
                          nudge="row i is a query, column j a key. A query may look at its own token and at earlier "
                          "ones, never at later ones; the mask holds True where looking is allowed, so it is a boolean "
                          "tensor.")


def check_split_heads(learner_fn):
    """learner_fn(x (batch, seq, d_model), n_heads) -> (batch, n_heads, seq, d_model // n_heads)."""
    cases = [
        ("x of shape (2, 5, 8), n_heads=2", (randn(2, 5, 8, seed=1), 2)),
        ("x of shape (1, 3, 12), n_heads=3", (randn(1, 3, 12, seed=2), 3)),
        ("x of shape (2, 4, 6), n_heads=1", (randn(2, 4, 6, seed=3), 1)),
    ]
    mistakes = [
        Mistake("yours reshapes straight to (batch, n_heads, seq, d_head), which puts features of DIFFERENT tokens "
                "into one row. Cut each token's features first, into (batch, seq, n_heads, d_head), then swap two "
                "dimensions.", lambda x, h: x.reshape(x.shape[0], h, x.shape[1], x.shape[2] // h)),
        Mistake("yours has the heads after seq: (batch, seq, n_heads, d_head). Swap dimensions 1 and 2 so each head's "
                "(seq, d_head) matrix comes out whole.",
                lambda x, h: x.view(x.shape[0], x.shape[1], h, x.shape[2] // h)),
        Mistake("yours gives head h every n_heads-th feature. Each head takes a contiguous slice of d_head features: "
                "cut the last dimension into (n_heads, d_head), not (d_head, n_heads).",
                lambda x, h: x.view(x.shape[0], x.shape[1], x.shape[2] // h, h).permute(0, 3, 1, 2)),
    ]
    return check_function(learner_fn, layers.split_heads, cases, "split heads", mistakes=mistakes, atol=0,
                          nudge="each token's features are cut into n_heads consecutive slices, one per head; then the "
                          "head dimension moves in front of the sequence, so that each head holds a whole sequence of "
                          "its own slices.")


def check_merge_heads(learner_fn):
    """learner_fn(x (batch, n_heads, seq, d_head)) -> (batch, seq, n_heads * d_head), undoing split_heads."""
    cases = [
        ("x of shape (2, 2, 5, 4)", (randn(2, 2, 5, 4, seed=4),)),
        ("x of shape (1, 3, 3, 4)", (randn(1, 3, 3, 4, seed=5),)),
        ("x of shape (2, 1, 4, 6)", (randn(2, 1, 4, 6, seed=6),)),
    ]
    mistakes = [
        Mistake("yours reshapes without moving the heads back, so each output row mixes different tokens. First bring "
                "seq next to batch, (batch, seq, n_heads, d_head), then reshape.",
                lambda x: x.reshape(x.shape[0], x.shape[2], x.shape[1] * x.shape[3])),
        Mistake("yours interleaves the heads' features. Head 0's d_head features come first, then head 1's, ...: go "
                "through (batch, seq, n_heads, d_head), then reshape.",
                lambda x: x.permute(0, 2, 3, 1).reshape(x.shape[0], x.shape[2], x.shape[1] * x.shape[3])),
    ]
    return check_function(learner_fn, layers.merge_heads, cases, "merge heads", mistakes=mistakes, atol=0,
                          nudge="undo the split: bring the sequence dimension back next to the batch, then lay each "
                          "token's heads side by side, head 0's features first.",
                          error_hints=[("view size is not compatible", "after a transpose the tensor is not contiguous "
                                        "in memory, so .view fails there: use .reshape (or .contiguous().view).")])


WHY.update({
    "mean largest weight, d_k = 1024, raw scores": "the raw scores spread with std sqrt(1024) = 32, so the largest "
    "of 16 scores is usually many units above the next one, and the softmax gives it nearly all the weight.",
})
