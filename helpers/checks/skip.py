"""Checkers of notebook 04 (skip connections): the parallel block, how alike the tokens are, and the residual
stream as a sum of paths."""

import itertools

import torch
import torch.nn.functional as F

from .. import layers
from ..activations import mean_pairwise_cosine
from .core import WHY, Mistake, check_function, randn


def _cosine_cases():
    direction = randn(1, 1, 5, seed=21)
    return [
        ("x of shape (2, 5, 8)", (randn(2, 5, 8, seed=22),)),
        ("three tokens pointing the same way, lengths 1, 2 and 5",
         (direction * torch.tensor([1.0, 2.0, 5.0])[None, :, None],)),
        ("two opposite tokens, x of shape (1, 2, 3)", (torch.tensor([[[1.0, 2.0, -1.0], [-1.0, -2.0, 1.0]]]),)),
        ("large values, odd sizes: x of shape (3, 7, 5) times 100", (randn(3, 7, 5, seed=23) * 100,)),
    ]


def _gram(x, dim=-1):
    unit = F.normalize(x, dim=dim)
    return unit @ unit.mT


def _off_diagonal_mean(sims):
    seq = sims.shape[-1]
    return (sims.sum(dim=(-2, -1)) - sims.diagonal(dim1=-2, dim2=-1).sum(-1)) / (seq * (seq - 1))


def check_mean_pairwise_cosine(learner_fn):
    """learner_fn(x (batch, seq, d)) -> one number: the mean cosine similarity over pairs of different tokens."""
    mistakes = [
        Mistake("your result includes each token's similarity with itself (always 1): leave out the diagonal, and "
                "count only the seq * (seq - 1) pairs of different tokens.", lambda x: _gram(x).mean()),
        Mistake("you left out the diagonal's values but still divided by all seq * seq entries.",
                lambda x: ((_gram(x).sum(dim=(-2, -1)) - x.shape[-2]) / x.shape[-2] ** 2).mean()),
        Mistake("your result gives one number per sequence: average over the batch as well and return one number.",
                lambda x: _off_diagonal_mean(_gram(x))),
        Mistake("your result uses raw dot products: divide every token by its length first, so that only directions "
                "count.", lambda x: _off_diagonal_mean(x @ x.transpose(-2, -1)).mean()),
        Mistake("you normalized along the wrong axis: each TOKEN (a row of d features) gets length 1.",
                lambda x: _off_diagonal_mean(_gram(x, dim=-2)).mean()),
    ]
    return check_function(learner_fn, lambda x: float(mean_pairwise_cosine(x)), _cosine_cases(),
                          "mean pairwise cosine", mistakes=mistakes, atol=1e-4,
                          nudge="the cosine of two tokens compares their directions only, so give every token length "
                          "one first. Then take the cosine of every pair of DIFFERENT tokens in a sequence, average "
                          "them, and average over the batch: one number in the end.")


# ----------------------------------------------------------------------------- the parallel block


def _mix_tokens(h):  # a parameter-free attention: every token becomes a weighted average of all tokens
    return torch.softmax(h @ h.transpose(-2, -1) / h.shape[-1] ** 0.5, dim=-1) @ h


def _parallel_cases():
    w = randn(5, 5, seed=31) / 5**0.5
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(32)
        block = layers.TransformerBlock(8, 2, skip=True, norm=None)
    return [
        ("token mixing as attention, tanh(h @ W) as the MLP, x of shape (2, 3, 5)",
         (randn(2, 3, 5, seed=33), _mix_tokens, lambda h: torch.tanh(h @ w))),
        ("helpers' attention and MLP, batch 1, x of shape (1, 7, 8)", (randn(1, 7, 8, seed=34), block.attn, block.mlp)),
    ]


def check_parallel_block(learner_fn):
    """learner_fn(x, attn, mlp) -> x + attn(x) + mlp(x): both sublayers read the same x (GPT-J, PaLM)."""
    mistakes = [
        Mistake("your MLP read the stream AFTER attention, as in the sequential block; in the parallel block both "
                "sublayers read the same input x.", lambda x, attn, mlp: x + attn(x) + mlp(x + attn(x))),
        Mistake("your result has no skip connection: the input x itself belongs in the sum too.",
                lambda x, attn, mlp: attn(x) + mlp(x)),
        Mistake("you added x twice, once around each sublayer; the stream carries x once, and both branches are added "
                "to it.", lambda x, attn, mlp: 2 * x + attn(x) + mlp(x)),
        Mistake("the MLP's branch is missing from your sum.", lambda x, attn, mlp: x + attn(x)),
        Mistake("the attention's branch is missing from your sum.", lambda x, attn, mlp: x + mlp(x)),
        Mistake("you chained the sublayers (the MLP read attention's output) with no skip; here both read x, and x is "
                "added back.", lambda x, attn, mlp: mlp(attn(x))),
    ]
    return check_function(learner_fn, lambda x, attn, mlp: x + attn(x) + mlp(x), _parallel_cases(), "parallel block",
                          mistakes=mistakes,
                          nudge="in this block the two sublayers do not wait for each other: both read the same input. "
                          "The block returns the input itself plus what each of the two sublayers made of it.")


# ----------------------------------------------------------------------------- the stream as a sum of paths


W_AT_H = "a token is a ROW of x, so a sublayer multiplies it from the right: h @ W, not W @ h."


def _paths_reference(x, weights):
    paths = [x] + [torch.zeros_like(x) for _ in weights]
    for w in weights:  # passing sublayer w: every path of length k - 1 so far can take it and become length k
        paths = [paths[0]] + [paths[k] + paths[k - 1] @ w for k in range(1, len(paths))]
    return tuple(paths)


def _paths_by_subsets(x, weights, order=1):
    """Every subset of the sublayers, multiplied in order (order=-1: in reverse), summed by its size."""
    sums = []
    for k in range(len(weights) + 1):
        total = torch.zeros_like(x)
        for subset in itertools.combinations(weights, k):
            path = x
            for w in subset[::order]:
                path = path @ w
            total = total + path
        sums.append(total)
    return tuple(sums)


def _paths_updated_in_place(x, weights):  # extends paths that already took this sublayer: it is taken twice
    paths = [x] + [torch.zeros_like(x) for _ in weights]
    for w in weights:
        for k in range(1, len(paths)):
            paths[k] = paths[k] + paths[k - 1] @ w
    return tuple(paths)


def _stack_output(x, weights):
    for w in weights:
        x = x + x @ w
    return x


def _paths_cases():
    return [
        ("one sublayer, x of shape (2, 3)", (randn(2, 3, seed=41), [randn(3, 3, seed=42)])),
        ("two sublayers, x of shape (3, 4)", (randn(3, 4, seed=43), [randn(4, 4, seed=44), randn(4, 4, seed=45)])),
        ("four sublayers, x of shape (1, 5, 6)",
         (randn(1, 5, 6, seed=46), [randn(6, 6, seed=47 + i) / 6**0.5 for i in range(4)])),
        ("no sublayers at all, x of shape (2, 2)", (randn(2, 2, seed=51), [])),
    ]


def check_paths_by_length(learner_fn):
    """learner_fn(x, weights) -> L + 1 tensors: entry k sums the paths through exactly k of the L sublayers
    h -> h @ W of the residual stack h = h + h @ W, in order; together they add up to the stack's output."""
    mistakes = [
        Mistake("you returned the stack's output itself; split it into one tensor per path length, from 0 sublayers to "
                "all of them.", _stack_output),
        Mistake("your list has no entry for the path through no sublayer at all: entry 0 is that path, the input "
                "itself, which the skips carry to the top.", lambda x, weights: _paths_reference(x, weights)[1:]),
        Mistake("some of your paths pass through the same sublayer twice: when the paths are extended by one sublayer, "
                "extend them as they were BEFORE that sublayer, not the ones already extended by it.",
                _paths_updated_in_place),
        Mistake("along your paths the later sublayers come first; a path meets the sublayers from the bottom of the "
                "stack up, so the earliest sublayer's matrix multiplies first.",
                lambda x, weights: _paths_by_subsets(x, weights, order=-1)),
        Mistake("entry k of yours sums the paths through UP TO k sublayers; count each path once, under its exact "
                "length.", lambda x, weights: tuple(itertools.accumulate(_paths_reference(x, weights)))),
        Mistake("entry k of yours is what sublayer k alone adds to x; entry k sums every path through exactly k "
                "sublayers, whichever they are.", lambda x, weights: (x, *(x @ w for w in weights))),
    ]
    return check_function(learner_fn, _paths_reference, _paths_cases(), "paths by length", mistakes=mistakes,
                          nudge="each skip block offers every path two ways on: around the sublayer, unchanged, or "
                          "through it, multiplied by its matrix. Build the paths up sublayer by sublayer, keeping one "
                          "running sum per path length; or list every choice of sublayers directly. The sums over all "
                          "lengths add up to the stack's output.",
                          error_hints=[("cannot be multiplied", W_AT_H)])


WHY.update({
    "cosine after 64 layers with skips": "every layer still mixes each token with an average of all of them, plus a "
    "bias shared by all tokens; the skip only keeps the token's own vector in the sum, and the mixing compounds over "
    "64 layers.",
})
