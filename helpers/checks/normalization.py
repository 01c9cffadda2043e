"""Checkers of notebook 05 (normalization): layer norm and RMSNorm by hand."""

import torch
import torch.nn.functional as F

from .core import Mistake, check_function, randn

__all__ = ["check_layer_norm", "check_rms_norm"]


def _layer_norm_reference(x, eps=1e-5):
    return F.layer_norm(x, x.shape[-1:], eps=eps)


def check_layer_norm(learner_fn):
    """learner_fn(x, eps=1e-5) -> x normalized over its last dimension (no scale or shift)."""
    cases = [
        ("x of shape (2, 3, 8), features off-centre", (randn(2, 3, 8, seed=1) * 3 + 1,)),
        ("one token, x of shape (1, 5)", (randn(1, 5, seed=2),)),
        ("tiny values, x of shape (2, 4) times 0.001 (here eps matters)", (randn(2, 4, seed=3) * 1e-3,)),
        ("eps=0.1 passed in, odd sizes: x of shape (1, 3, 7)", (randn(1, 3, 7, seed=4), 0.1)),
    ]

    def centred(x):
        return x - x.mean(dim=-1, keepdim=True)

    def biased_var(x):
        return x.var(dim=-1, keepdim=True, unbiased=False)

    mistakes = [
        Mistake(
            "your function ignores the eps it is given: use the argument, not a constant.",
            lambda x, eps=1e-5: centred(x) / (biased_var(x) + 1e-5).sqrt(),
        ),
        Mistake(
            "there is no eps: with tiny values the variance is near 0 and the division blows up. Add eps to the "
            "variance, inside the square root.",
            lambda x, eps=1e-5: centred(x) / biased_var(x).sqrt(),
        ),
        Mistake(
            "eps belongs inside the square root: add it to the variance, then take the root.",
            lambda x, eps=1e-5: centred(x) / (biased_var(x).sqrt() + eps),
        ),
        Mistake(
            "your variance divides by n - 1 (torch's default, unbiased); layer norm divides by n: unbiased=False.",
            lambda x, eps=1e-5: centred(x) / (x.var(dim=-1, keepdim=True) + eps).sqrt(),
        ),
        Mistake(
            "your result does not subtract the mean: that is RMSNorm. Layer norm centres each token first.",
            lambda x, eps=1e-5: x / (biased_var(x) + eps).sqrt(),
        ),
        Mistake(
            "you normalized over the wrong axis (batch norm's): each TOKEN is normalized over its own features, "
            "the last dimension.",
            lambda x, eps=1e-5: (
                (x - x.mean(dim=0, keepdim=True)) / (x.var(dim=0, keepdim=True, unbiased=False) + eps).sqrt()
            ),
        ),
    ]
    return check_function(
        learner_fn,
        _layer_norm_reference,
        cases,
        "layer norm",
        nudge="each token on its own, over its features: subtract their mean, then divide by their standard "
        "deviation (the population one, dividing by n), with the small eps added to the variance so that a "
        "flat token does not divide by zero.",
        mistakes=mistakes,
        atol=1e-4,
    )


def _rms_norm_reference(x, eps=1e-6):
    return x / torch.sqrt(x.pow(2).mean(dim=-1, keepdim=True) + eps)


def check_rms_norm(learner_fn):
    """learner_fn(x, eps=1e-6) -> x divided by the root mean square of its last dimension (no scale)."""
    cases = [
        ("x of shape (2, 3, 8), features off-centre", (randn(2, 3, 8, seed=1) * 3 + 1,)),
        ("one token, x of shape (1, 5)", (randn(1, 5, seed=2),)),
        ("tiny values, x of shape (2, 4) times 0.001 (here eps matters)", (randn(2, 4, seed=3) * 1e-3,)),
        ("eps=0.1 passed in, odd sizes: x of shape (1, 3, 7)", (randn(1, 3, 7, seed=4), 0.1)),
    ]

    def mean_square(x):
        return x.pow(2).mean(dim=-1, keepdim=True)

    mistakes = [
        Mistake(
            "your function ignores the eps it is given: use the argument, not a constant.",
            lambda x, eps=1e-6: x / (mean_square(x) + 1e-6).sqrt(),
        ),
        Mistake(
            "your result matches layer norm: RMSNorm does NOT subtract the mean, it only divides each token by "
            "its root mean square.",
            lambda x, eps=1e-6: F.layer_norm(x, x.shape[-1:], eps=eps),
        ),
        Mistake(
            "you divided by the mean square, not its square root.",
            lambda x, eps=1e-6: x / (mean_square(x) + eps),
        ),
        Mistake(
            "eps belongs inside the square root: add it to the mean square, then take the root.",
            lambda x, eps=1e-6: x / (mean_square(x).sqrt() + eps),
        ),
        Mistake(
            "there is no eps: add it to the mean square, inside the square root.",
            lambda x, eps=1e-6: x / mean_square(x).sqrt(),
        ),
        Mistake(
            "you normalized over the wrong axis: each token is divided by the RMS of its OWN features, the last "
            "dimension.",
            lambda x, eps=1e-6: x / torch.sqrt(x.pow(2).mean(dim=0, keepdim=True) + eps),
        ),
    ]
    return check_function(
        learner_fn,
        _rms_norm_reference,
        cases,
        "RMSNorm",
        nudge="each token on its own: divide it by the root of the mean of its squared features, with the small "
        "eps added before the root. No centring, no learned scale.",
        mistakes=mistakes,
        atol=1e-4,
    )
