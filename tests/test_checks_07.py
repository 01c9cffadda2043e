"""The checkers of notebook 07 (a small GPT): the bigram baseline from counts, next-token probabilities."""

import pytest
import torch
from checker_testing import Fails, Passes, robustness

from helpers import checks
from helpers.checks.language_model import _bigram_with
from helpers.language_model import next_token_probs as _probs_reference


def bigram_loss(train_ids, val_ids, vocab_size):
    counts = torch.ones(vocab_size, vocab_size)
    counts.index_put_((train_ids[:-1], train_ids[1:]), torch.ones(len(train_ids) - 1), accumulate=True)
    probs = counts / counts.sum(dim=1, keepdim=True)
    return -probs[val_ids[:-1], val_ids[1:]].log().mean().item()


def bigram_loss_loops(train_ids, val_ids, vocab_size):
    """Plain Python counting, returning a 0-d tensor: another correct way."""
    counts = [[1] * vocab_size for _ in range(vocab_size)]
    for a, b in zip(train_ids.tolist(), train_ids.tolist()[1:], strict=False):
        counts[a][b] += 1
    total = torch.tensor(0.0)
    pairs = list(zip(val_ids.tolist(), val_ids.tolist()[1:], strict=False))
    for a, b in pairs:
        total -= torch.log(torch.tensor(counts[a][b] / sum(counts[a])))
    return total / len(pairs)


def bigram_loss_bincount(train_ids, val_ids, vocab_size):
    counts = torch.bincount(train_ids[:-1] * vocab_size + train_ids[1:], minlength=vocab_size**2)
    log_probs = torch.log_softmax((counts.view(vocab_size, vocab_size) + 1).float().log(), dim=1)
    return -log_probs[val_ids[:-1], val_ids[1:]].mean()


def bigram_counts_once(train_ids, val_ids, vocab_size):  # `+= 1` with index tensors: a repeated pair counts once
    counts = torch.zeros(vocab_size, vocab_size)
    counts[train_ids[:-1], train_ids[1:]] += 1
    probs = (counts + 1) / (counts + 1).sum(dim=1, keepdim=True)
    return -probs[val_ids[:-1], val_ids[1:]].log().mean()


def topk_over_dim0(logits, temperature, top_k):  # right on one row of logits, wrong on a batch
    logits = logits / temperature
    if top_k is not None:
        values, _ = torch.topk(logits, top_k, dim=0)
        logits = logits.masked_fill(logits < values[-1], float("-inf"))
    return torch.softmax(logits, dim=-1)


BIGRAM_CASES = [
    Fails(bigram_counts_once, ["train [0, 1, 2, 0, 1, 1, 0]", "adds 1 only ONCE per distinct pair"],
          id="counts[a, b] += 1 with index tensors"),
    Passes(bigram_loss),
    Passes(bigram_loss_loops),
    Passes(bigram_loss_bincount),
    Fails(lambda t, v, n: _bigram_with(t, v, n, smoothing=0.0), ["train [0, 1, 2, 0, 1, 1, 0]", "add 1 to every"]),
    Fails(lambda t, v, n: _bigram_with(t, v, n, dim=0), "normalized each COLUMN"),
    Fails(lambda t, v, n: _bigram_with(t, v, n, log=torch.log2), "in bits"),
    Fails(lambda t, v, n: _bigram_with(t, v, n, count_ids=v), "pairs of the VALIDATION text"),
    Fails(lambda t, v, n: -bigram_loss(t, v, n), "wrong sign"),
    Fails(lambda t, v, n: bigram_loss(t, v, n) + 0.1, ["expected", "Hint: count how often"], id="off by 0.1"),
    Fails(lambda t, v, n: [bigram_loss(t, v, n)], "expected a number", id="a list"),
    *robustness(bigram_loss, tensor_result=False),
]


@pytest.mark.parametrize("case", BIGRAM_CASES, ids=str)
def test_check_bigram_loss(case):
    case.check(checks.check_bigram_loss)


def next_token_probs(logits, temperature, top_k):
    logits = logits / temperature
    if top_k is not None:
        kth = logits.topk(top_k, dim=-1).values[..., -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    return torch.softmax(logits, dim=-1)


def probs_by_power(logits, temperature, top_k):
    """Softmax first, then sharpen with a power and renormalize: the same distribution, another way."""
    probs = torch.softmax(logits, dim=-1) ** (1 / temperature)
    if top_k is not None:
        keep = torch.zeros_like(probs, dtype=torch.bool).scatter(-1, probs.topk(top_k, dim=-1).indices, True)
        probs = probs * keep
    return probs / probs.sum(dim=-1, keepdim=True)


def probs_sorted(logits, temperature, top_k):
    scaled = logits / temperature
    if top_k is not None:
        order = scaled.argsort(dim=-1, descending=True)
        dropped = order[..., top_k:]
        scaled = scaled.scatter(-1, dropped, float("-inf"))
    return scaled.softmax(-1)


PROBS_CASES = [
    Passes(next_token_probs),
    Passes(probs_by_power),
    Passes(probs_sorted),
    Fails(lambda x, t, k: _probs_reference(x * t * t, t, k), ["temperature 0.5", "multiplied by the temperature"]),
    Fails(lambda x, t, k: _probs_reference(x, 1.0, k), "ignored the temperature"),
    Fails(lambda x, t, k: _probs_reference(x, t, None), ["top_k=3", "ignored top_k"]),
    Fails(topk_over_dim0, ["a batch of shape (2, 6)", "ran over dim=0"], id="logits.topk(k, dim=0)"),
    Fails(
        lambda x, t, k: _probs_reference(x, t, None if k is None else min(k + 1, x.shape[-1])),
        "one too many",
    ),
    Fails(
        lambda x, t, k: (
            torch.softmax(x / t, -1).masked_fill(
                torch.softmax(x / t, -1) < torch.softmax(x / t, -1).topk(k or 1, -1).values[..., -1:], 0.0
            )
            if k
            else torch.softmax(x / t, -1)
        ),
        "no longer sums to 1",
    ),
    Fails(
        lambda x, t, k: (
            torch.softmax((x / t).masked_fill(-(x / t) < (-(x / t)).topk(k, -1).values[..., -1:], float("-inf")), -1)
            if k
            else torch.softmax(x / t, -1)
        ),
        "k SMALLEST",
    ),
    Fails(
        lambda x, t, k: torch.softmax(
            (x / t).masked_fill((x / t) < (x / t).topk(k, -1).values[..., -1:], float("-inf")) if k else x / t, 0
        ),
        ["shape (2, 6)", "wrong dimension"],
    ),
    *robustness(next_token_probs),
]


@pytest.mark.parametrize("case", PROBS_CASES, ids=str)
def test_check_next_token_probs(case):
    case.check(checks.check_next_token_probs)
