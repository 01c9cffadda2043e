"""Checkers of notebook 07 (a small GPT): the bigram baseline from counts, and next-token probabilities."""

import math

import torch

from ..language_model import baseline_losses, next_token_probs
from .core import WHY, Mistake, check_function, randn

# ----------------------------------------------------------------------------- the bigram baseline


def _bigram_reference(train_ids, val_ids, vocab_size):
    return baseline_losses(train_ids, val_ids, vocab_size, smoothing=1.0)["bigram"]


def _bigram_with(train_ids, val_ids, vocab_size, smoothing=1.0, dim=1, log=torch.log, count_ids=None, accumulate=True):
    """A bigram loss with one thing changed: the smoothing, the axis normalized over, the log, the text counted,
    or accumulate=False: `counts[a, b] += 1` with index tensors, which counts a repeated pair once."""
    ids = train_ids if count_ids is None else count_ids
    counts = torch.zeros(vocab_size, vocab_size)
    counts.index_put_((ids[:-1], ids[1:]), torch.ones(len(ids) - 1), accumulate=accumulate)
    counts = counts + smoothing
    probs = counts / counts.sum(dim=dim, keepdim=True)
    loss = -log(probs[val_ids[:-1], val_ids[1:]]).mean().item()
    if not math.isfinite(loss):  # an infinite slip says nothing about a finite answer: skip it for this case
        raise ValueError("this slip gives an infinite loss here")
    return loss


def _bigram_cases():
    g = torch.Generator().manual_seed(7)
    return [
        # Every pair of the validation text was seen in training: leaving out the smoothing still gives a number.
        ("train [0, 1, 2, 0, 1, 1, 0] and val [0, 1, 0], vocab_size=3",
         (torch.tensor([0, 1, 2, 0, 1, 1, 0]), torch.tensor([0, 1, 0]), 3)),
        ("a random train text of 50 tokens and val of 17, vocab_size=5",
         (torch.randint(0, 5, (50,), generator=g), torch.randint(0, 5, (17,), generator=g), 5)),
        # Pair (3, 2) never occurs in training: only the smoothing keeps its loss finite.
        ("a pair in val that training never saw, vocab_size=4",
         (torch.tensor([0, 1, 2, 3, 0, 1, 2, 3]), torch.tensor([1, 2, 3, 2]), 4)),
        ("a vocabulary larger than the texts use, vocab_size=7",
         (torch.tensor([4, 2, 4, 2, 2, 4, 1]), torch.tensor([2, 4, 1, 4]), 7)),
    ]


def check_bigram_loss(learner_fn):
    """learner_fn(train_ids, val_ids, vocab_size) -> the add-one smoothed bigram model's validation loss (nats)."""
    mistakes = [
        Mistake("your number matches counts without the add-one smoothing. A pair never seen in training then has "
                "probability 0 and an infinite loss: add 1 to every count before dividing.",
                lambda t, v, n: _bigram_with(t, v, n, smoothing=0.0)),
        Mistake("`counts[a, b] += 1` with tensors of indices adds 1 only ONCE per distinct pair (a repeated pair is "
                "not counted again); count with a Python loop over the pairs, index_put_(..., accumulate=True) or "
                "bincount.", lambda t, v, n: _bigram_with(t, v, n, accumulate=False)),
        Mistake("you normalized each COLUMN: that is P(current | next). Each ROW (one current character) must sum to 1 "
                "over the characters that can follow it.", lambda t, v, n: _bigram_with(t, v, n, dim=0)),
        Mistake("your number is in bits (log base 2); the loss the model trains on is in nats (the natural log). Bits "
                "come next, as loss / ln 2.", lambda t, v, n: _bigram_with(t, v, n, log=torch.log2)),
        Mistake("you counted the pairs of the VALIDATION text: a model may only learn from the training text.",
                lambda t, v, n: _bigram_with(t, v, n, count_ids=v)),
        Mistake("your number matches the unigram model, which ignores the current character: count PAIRS (current, "
                "next), one row of counts per current character.",
                lambda t, v, n: baseline_losses(t, v, n, smoothing=1.0)["unigram"]),
        Mistake("your loss has the wrong sign: the loss is MINUS the mean log-probability (a positive number).",
                lambda t, v, n: -_bigram_reference(t, v, n)),
    ]
    return check_function(learner_fn, _bigram_reference, _bigram_cases(), "bigram loss", mistakes=mistakes, atol=1e-4,
                          nudge="count how often each character follows each other character in the training text, one "
                          "row per current character. Add one to every count, so nothing has probability zero, and "
                          "turn each row into probabilities. The loss is the average of minus the natural log of the "
                          "probability of each actual next character in the validation text.")


# ----------------------------------------------------------------------------- temperature and top-k


def _probs_with(logits, temperature, top_k, *, largest=True, renormalize=True, extra=0, dim=-1, top_dim=-1):
    """Temperature and top-k with one slip: the k smallest kept, zeroed after the softmax without renormalizing,
    k + 1 kept, the softmax over `dim`, or topk over `top_dim` (`.values[-1]`, as a learner indexes it)."""
    logits = logits / temperature
    if top_k is None:
        return torch.softmax(logits, dim=dim)
    if top_dim != -1:
        return torch.softmax(logits.masked_fill(logits < logits.topk(top_k, dim=top_dim).values[-1], -math.inf), -1)
    k = min(top_k + extra, logits.shape[-1])
    if not renormalize:
        probs = torch.softmax(logits, dim=-1)
        return probs.masked_fill(probs < probs.topk(k, dim=-1).values[..., -1:], 0.0)
    kth = logits.topk(k, dim=-1, largest=largest).values[..., -1:]
    return torch.softmax(logits.masked_fill(logits < kth if largest else logits > kth, -math.inf), dim=dim)


def _probs_cases():
    return [
        ("logits [2, 1, 0, -1, 3] at temperature 1, no top_k", (torch.tensor([2.0, 1.0, 0.0, -1.0, 3.0]), 1.0, None)),
        ("7 random logits at temperature 0.5, no top_k", (randn(7, seed=1), 0.5, None)),
        ("7 random logits at temperature 2.0, top_k=3", (randn(7, seed=2), 2.0, 3)),
        ("a batch of shape (2, 6) at temperature 0.8, top_k=2", (randn(2, 6, seed=3), 0.8, 2)),
        ("logits of shape (1, 5) at temperature 1.5, top_k=1", (randn(1, 5, seed=4), 1.5, 1)),
    ]


def check_next_token_probs(learner_fn):
    """learner_fn(logits (..., vocab), temperature > 0, top_k int or None) -> probabilities (..., vocab)."""
    mistakes = [
        Mistake("you multiplied by the temperature; divide by it: a temperature below 1 must make the distribution "
                "SHARPER (the top token more likely).", lambda x, t, k: next_token_probs(x * t * t, t, k)),
        Mistake("you kept the k SMALLEST logits; top-k keeps the k largest, the most likely tokens.",
                lambda x, t, k: _probs_with(x, t, k, largest=False)),
        Mistake("you set the probabilities outside the top k to zero after the softmax, so the rest no longer sums to "
                "1: leave those tokens out BEFORE the softmax (a logit of minus infinity), or divide by the new sum.",
                lambda x, t, k: _probs_with(x, t, k, renormalize=False)),
        Mistake("you kept k + 1 tokens, one too many: compare with the k-th largest logit, keeping it and those above.",
                lambda x, t, k: _probs_with(x, t, k, extra=1)),
        Mistake("your top-k ran over dim=0, across the rows of a batch; each row's k largest logits are along the "
                "vocabulary, the last dimension (dim=-1).", lambda x, t, k: _probs_with(x, t, k, top_dim=0)),
        Mistake("you ignored top_k: with top_k given, only the k most likely tokens may be drawn.",
                lambda x, t, k: next_token_probs(x, t, None)),
        Mistake("you ignored the temperature: divide the logits by it before the softmax.",
                lambda x, t, k: next_token_probs(x, 1.0, k)),
        Mistake("your softmax ran over the wrong dimension: each row of logits (the last dimension) is one "
                "distribution.", lambda x, t, k: _probs_with(x, t, k, dim=0)),
    ]
    return check_function(learner_fn, next_token_probs, _probs_cases(), "next-token probabilities", mistakes=mistakes,
                          atol=1e-5,
                          nudge="the temperature rescales the logits before they become probabilities: below 1 the "
                          "largest logit wins more often, above 1 the choice spreads out. With top_k given, every "
                          "token but the k most likely gets probability zero, and the k kept ones still sum to one.")


WHY.update({
    "the variant with the highest validation loss": "no skips: at this learning rate (0.01, clipped) the model "
    "without skips stopped using its input, and its loss ended at the unigram model's, which predicts the same "
    "distribution whatever came before. The next cells show it is the learning rate: at 0.003 the same model learns. "
    "Losing the order (01) costs less, since the causal mask still tells a position how many characters came before "
    "it.",
    "the variant whose training loss jumps highest": "no norm: nothing rescales its stream and, without clipping, "
    "nothing caps a step; at 0.03 its training loss jumps above 50 nats at some step before it comes down. The models "
    "with a norm never go above 10; post-norm does not spike, it stalls at about the unigram loss instead, as lesson "
    "05 warned for post-norm at a high learning rate without warm-up.",
})
