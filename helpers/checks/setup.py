"""Checker of notebook 00 (setup): a softmax, the demonstration of how a checker meets a learner's function."""

import torch

from .core import Mistake, check_function, randn


def check_softmax(learner_fn):
    """learner_fn(scores) -> softmax over the last dimension."""
    cases = [
        ("scores of shape (2, 3)", (torch.tensor([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]]),)),
        ("a batch of shape (2, 4, 5)", (randn(2, 4, 5, seed=1),)),
        ("large scores, shape (1, 3)", (torch.tensor([[1000.0, 1001.0, 1002.0]]),)),
    ]
    mistakes = [
        Mistake("exp(1000) overflows to inf. Softmax does not change when you subtract the same number from every "
                "score of a row: subtract the row's max first.",
                lambda s: torch.exp(s) / torch.exp(s).sum(dim=-1, keepdim=True)),
        Mistake("each row of weights must sum to 1, so divide by the sum over the LAST dimension (dim=-1), not the "
                "first.", lambda s: torch.exp(s) / torch.exp(s).sum(dim=0, keepdim=True)),
        Mistake("you divided by one total over all the scores; each row is normalized on its own (keepdim=True).",
                lambda s: torch.exp(s - s.max()) / torch.exp(s - s.max()).sum()),
    ]
    return check_function(learner_fn, lambda scores: torch.softmax(scores, dim=-1), cases, "softmax", mistakes=mistakes,
                          nudge="make every score positive with the exponential, then scale each row so that it sums "
                          "to one. Very large scores overflow: think of a shift that leaves the result unchanged.")
