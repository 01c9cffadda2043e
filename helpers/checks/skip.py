"""Checkers of notebook 04 (skip connections): the residual stream, and how alike the tokens are."""

import torch
import torch.nn.functional as F

from ..activations import mean_pairwise_cosine
from .core import Mistake, check_function, randn

__all__ = ["check_mean_pairwise_cosine", "check_residual_forward"]


def _residual_forward_reference(x, sublayers):
    for f in sublayers:
        x = x + f(x)
    return x


def _residual_cases():
    w1, w2 = randn(6, 6, seed=11) / 6**0.5, randn(8, 8, seed=12) / 8**0.5

    def mix_tokens(h):  # a parameter-free attention: every token becomes a weighted average of all tokens
        return torch.softmax(h @ h.transpose(-2, -1) / h.shape[-1] ** 0.5, dim=-1) @ h

    return [
        ("one sublayer, f(h) = 2 * h", (randn(3, 4, seed=1), [lambda h: 2 * h])),
        (
            "two sublayers, tanh(h @ W) then h ** 2",
            (randn(2, 5, 6, seed=2), [lambda h: torch.tanh(h @ w1), lambda h: h**2]),
        ),
        (
            "three sublayers: token mixing, tanh(h @ W), token mixing",
            (randn(1, 5, 8, seed=3), [mix_tokens, lambda h: torch.tanh(h @ w2), mix_tokens]),
        ),
        ("no sublayers at all", (randn(2, 3, seed=4), [])),
    ]


def _no_skip(x, sublayers):
    for f in sublayers:
        x = f(x)
    return x


def check_residual_forward(learner_fn):
    """learner_fn(x, sublayers) -> the stream after x = x + f(x) for each f in sublayers, in order."""
    mistakes = [
        Mistake(
            "your result has no skip connection: each sublayer's output replaced the stream; the block must ADD "
            "the sublayer's output to the stream.",
            _no_skip,
        ),
        Mistake(
            "every sublayer read the ORIGINAL x; each one must read the stream as the previous one left it.",
            lambda x, sublayers: x + sum(f(x) for f in sublayers),
        ),
        Mistake(
            "you added x back once around the whole stack; a skip goes around EACH sublayer.",
            lambda x, sublayers: x + _no_skip(x, sublayers),
        ),
        Mistake(
            "you applied the sublayers in reverse order; the stream passes them first to last.",
            lambda x, sublayers: _residual_forward_reference(x, sublayers[::-1]),
        ),
    ]
    return check_function(
        learner_fn,
        _residual_forward_reference,
        _residual_cases(),
        "residual forward",
        nudge="the stream starts as x. Each sublayer in turn reads the current stream, and what it returns is "
        "added to the stream, not put in its place. The result is the stream after the last sublayer.",
        mistakes=mistakes,
    )


def _cosine_reference(x):
    return float(mean_pairwise_cosine(x))


def _cosine_cases():
    direction = randn(1, 1, 5, seed=21)
    return [
        ("x of shape (2, 5, 8)", (randn(2, 5, 8, seed=22),)),
        (
            "three tokens pointing the same way, lengths 1, 2 and 5",
            (direction * torch.tensor([1.0, 2.0, 5.0])[None, :, None],),
        ),
        ("two opposite tokens, x of shape (1, 2, 3)", (torch.tensor([[[1.0, 2.0, -1.0], [-1.0, -2.0, 1.0]]]),)),
        ("large values, odd sizes: x of shape (3, 7, 5) times 100", (randn(3, 7, 5, seed=23) * 100,)),
    ]


def _gram(x, dim=-1):
    unit = F.normalize(x, dim=dim)
    return unit @ unit.transpose(-2, -1) if dim == -1 else F.normalize(x, dim=-2) @ F.normalize(x, dim=-2).mT


def _off_diagonal_mean(sims):
    seq = sims.shape[-1]
    return (sims.sum(dim=(-2, -1)) - sims.diagonal(dim1=-2, dim2=-1).sum(-1)) / (seq * (seq - 1))


def check_mean_pairwise_cosine(learner_fn):
    """learner_fn(x (batch, seq, d)) -> one number: the mean cosine similarity over pairs of different tokens."""
    mistakes = [
        Mistake(
            "your result includes each token's similarity with itself (always 1): leave out the diagonal, and "
            "count only the seq * (seq - 1) pairs of different tokens.",
            lambda x: _gram(x).mean(),
        ),
        Mistake(
            "you left out the diagonal's values but still divided by all seq * seq entries.",
            lambda x: ((_gram(x).sum(dim=(-2, -1)) - x.shape[-2]) / x.shape[-2] ** 2).mean(),
        ),
        Mistake(
            "your result gives one number per sequence: average over the batch as well and return one number.",
            lambda x: _off_diagonal_mean(_gram(x)),
        ),
        Mistake(
            "your result uses raw dot products: divide every token by its length first, so that only directions count.",
            lambda x: _off_diagonal_mean(x @ x.transpose(-2, -1)).mean(),
        ),
        Mistake(
            "you normalized along the wrong axis: each TOKEN (a row of d features) gets length 1.",
            lambda x: _off_diagonal_mean(_gram(x, dim=-2)).mean(),
        ),
    ]
    return check_function(
        learner_fn,
        _cosine_reference,
        _cosine_cases(),
        "mean pairwise cosine",
        nudge="the cosine of two tokens compares their directions only, so give every token length one first. "
        "Then take the cosine of every pair of DIFFERENT tokens in a sequence, average them, and average over the "
        "batch: one number in the end.",
        mistakes=mistakes,
        atol=1e-4,
    )
