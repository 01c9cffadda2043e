"""The checker of notebook 00 (setup): softmax."""

import pytest
import torch
from checker_testing import Fails, Passes, robustness

from helpers import checks


def softmax(scores):
    e = torch.exp(scores - scores.max(dim=-1, keepdim=True).values)
    return e / e.sum(dim=-1, keepdim=True)


CASES = [
    Passes(softmax),
    Passes(lambda s: torch.softmax(s, dim=-1), id="torch"),
    Passes(lambda s: torch.exp(s - torch.logsumexp(s, dim=-1, keepdim=True)), id="logsumexp"),
    Fails(lambda s: torch.exp(s) / torch.exp(s).sum(dim=0, keepdim=True), ["scores of shape (2, 3)", "not the first"]),
    Fails(lambda s: torch.exp(s) / torch.exp(s).sum(dim=-1, keepdim=True), ["large scores", "nan or inf", "max first"]),
    Fails(lambda s: torch.exp(s - s.max()) / torch.exp(s - s.max()).sum(), "one total over all the scores"),
    Fails(lambda s: s / s.sum(dim=-1, keepdim=True), ["nan or inf", "Hint: make every score positive"]),
    *robustness(softmax),
]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_check_softmax(case):
    case.check(checks.check_softmax)
