"""Use a causal transformer as a language model: train it with a validation curve, measure it against
count-based baselines, and sample text from it.

Losses are mean cross-entropy in nats per token; `bits_per_char` converts them (divide by ln 2).
Sampling draws on the CPU from the given torch.Generator, so a seed gives the same text on any device.
"""

import math

import torch
import torch.nn.functional as F

from . import training
from ._validate import (
    check_baseline_args,
    check_generate_args,
    check_ids,
    check_tieable,
    check_training_args,
    check_windows,
)
from .layers import attention, merge_heads, split_heads
from .training import evaluating

# ----------------------------------------------------------------------------- sampling


def next_token_probs(logits, temperature=1.0, top_k=None):
    """The sampling rule: softmax of logits / temperature over the `top_k` largest logits (all if None), last dim."""
    logits = logits / temperature
    if top_k is not None:
        kth_largest = logits.topk(top_k, dim=-1).values[..., -1:]
        logits = logits.masked_fill(logits < kth_largest, float("-inf"))
    return torch.softmax(logits, dim=-1)


def generate(model, prompt, max_new_tokens, temperature=1.0, top_k=None, generator=None, use_cache=False):
    """Continue `prompt` (1-D tensor of token ids) by `max_new_tokens` sampled tokens; returns prompt + new ids.

    Each step feeds the last `model.max_len` tokens (the context window, cropped as nanoGPT does once the
    text grows past it), divides the last position's logits by `temperature` (below 1: sharper, above 1:
    flatter), keeps only the `top_k` most likely tokens if given, and samples from the softmax.
    top_k=1 is greedy decoding. The draw uses `generator` (a CPU torch.Generator) so that a seed gives
    the same text on every device. The model runs in eval mode and is put back in its previous mode.

    use_cache=True keeps each block's keys and values (forward_with_cache) and feeds only the new token: the
    same tokens as use_cache=False under the same generator, each costing one row of attention instead of a
    pass over the whole prefix. Past max_len the window slides, every kept token moves to another position and
    its cached keys and values (computed at the old one) no longer hold: the cache is then rebuilt from the
    cropped window at every step, as costly as no cache, and the tokens stay the same as without it.
    """
    check_generate_args(model, prompt, max_new_tokens, temperature, top_k, use_cache)
    device = next(model.parameters()).device
    max_len = getattr(model, "max_len", None) or math.inf
    ids = prompt.detach().to("cpu", torch.long)
    cache = None
    with evaluating(model):
        for _ in range(max_new_tokens):
            window = ids[-max_len:] if len(ids) > max_len else ids
            if not use_cache:
                logits = model(window[None].to(device))
            elif cache is None or len(ids) > max_len:  # the prompt, or a window whose positions all moved
                cache = [{} for _ in model.blocks]
                logits = forward_with_cache(model, window[None].to(device), cache)
            else:  # only the token drawn last: the cache holds every one before it
                logits = forward_with_cache(model, ids[-1:][None].to(device), cache)
            probs = next_token_probs(logits[0, -1].float().cpu(), temperature, top_k)
            ids = torch.cat([ids, torch.multinomial(probs, 1, generator=generator)])
    return ids


def forward_with_cache(model, ids, cache):
    """Logits for `ids` (batch, t_new), the tokens that follow the t_past ones held in `cache`; updates the cache.

    cache: one dict per block, empty before the first call; each then holds its block's keys and values
    "k", "v" (batch, n_heads, t_past + t_new, d_head). The result equals model(all tokens)[:, -t_new:], but
    only the new tokens' rows are computed (Pope et al. 2022, arXiv:2211.05102). It walks the model's public
    parts (token_embedding, positional, blocks with norm1, attn.in_proj/out_proj, norm2, mlp, final_norm, head),
    so it runs helpers.TinyTransformer and any model built with the same names: pre-norm causal blocks with skips.
    """
    past, t_new = (cache[0]["k"].shape[2] if cache[0] else 0), ids.shape[1]
    x = model.token_embedding(ids)
    if model.positional is not None:
        x = x + model.positional(past + t_new)[past:]  # the new tokens sit at positions past, past + 1, ...
    # new token i (at position past + i) may see every cached key and the new keys up to its own
    allowed = torch.ones(t_new, past + t_new, dtype=torch.bool, device=x.device).tril(diagonal=past)
    allowed = allowed if t_new > 1 else None  # one new token sees every key: no mask, so no mask check per step
    for block, kv in zip(model.blocks, cache, strict=True):
        # in_proj, split, attention, merge, out_proj spelled out, not MultiHeadAttention.project/attend: a learner's
        # GPT (notebook 08) has the parts these names say, not our methods
        q, k, v = (split_heads(t, block.attn.n_heads) for t in block.attn.in_proj(block.norm1(x)).chunk(3, dim=-1))
        if kv:
            k, v = torch.cat([kv["k"], k], dim=2), torch.cat([kv["v"], v], dim=2)
        kv["k"], kv["v"] = k, v
        x = x + block.attn.out_proj(merge_heads(attention(q, k, v, mask=allowed)[0]))
        x = x + block.mlp(block.norm2(x))
    return model.head(model.final_norm(x))


# ----------------------------------------------------------------------------- baselines from counts


def bits_per_char(loss):
    """A loss in nats per character, in bits: how many yes/no questions each next character costs."""
    return loss / math.log(2)


def bigram_counts(ids, vocab_size):
    """(vocab, vocab) tensor: entry [a, b] counts how often token b follows token a in `ids`."""
    check_ids(ids, "ids", vocab_size, min_len=2)
    pairs = ids[:-1].long() * vocab_size + ids[1:].long()
    return torch.bincount(pairs, minlength=vocab_size * vocab_size).view(vocab_size, vocab_size)


def baseline_losses(train_ids, val_ids, vocab_size, smoothing=1.0):
    """Validation loss (nats per character) of three models that need no training, only counting.

    uniform: every token equally likely, ln(vocab_size).
    unigram: each token as often as in the training text, whatever came before.
    bigram:  the next token given the current one, from training-text pair counts.
    Counts get `smoothing` added (Laplace's add-one by default) so that a pair never seen in training
    costs a finite loss. Scored on every next token of `val_ids` after the first, as a model would be.
    """
    check_baseline_args(train_ids, val_ids, vocab_size, smoothing)
    targets = val_ids[1:].long()
    unigram = torch.bincount(train_ids.long(), minlength=vocab_size).float() + smoothing
    pairs = bigram_counts(train_ids, vocab_size).float() + smoothing
    bigram_probs = pairs / pairs.sum(dim=1, keepdim=True)
    return {
        "uniform": math.log(vocab_size),
        "unigram": -(unigram / unigram.sum()).log()[targets].mean().item(),
        "bigram": -bigram_probs.log()[val_ids[:-1].long(), targets].mean().item(),
    }


# ----------------------------------------------------------------------------- training with validation


def _windows(ids, block_size):
    """Non-overlapping windows over the whole text: x the window, y the same window shifted by one."""
    check_windows(ids, block_size)
    n = (len(ids) - 1) // block_size
    x = ids[: n * block_size].view(n, block_size)
    y = ids[1 : n * block_size + 1].view(n, block_size)
    return x, y


def evaluate(model, corpus, batch_size=256):
    """Mean next-token loss (nats) of `model` over all of `corpus`'s text, cut in non-overlapping windows.

    Deterministic: the same windows every call. Runs in eval mode (batch norm uses its running
    statistics) and puts the model back in its previous mode.
    """
    x, y = _windows(corpus.ids, corpus.block_size)
    device = next(model.parameters()).device
    total = 0.0
    with evaluating(model):
        for start in range(0, len(x), batch_size):
            xb, yb = x[start : start + batch_size].to(device), y[start : start + batch_size].to(device)
            logits = model(xb)
            total += F.cross_entropy(logits.flatten(0, 1).float(), yb.flatten(), reduction="sum").item()
    return total / y.numel()


def train_language_model(
    model,
    train,
    val,
    steps,
    lr=3e-3,
    batch_size=32,
    eval_every=50,
    seed=0,
    grad_clip=1.0,
    optimizer="adamw",
    progress=None,
    desc="training",
):
    """Train on random windows of `train` (a CharCorpus) and measure the loss on all of `val` as it goes.

    Returns {"train": per-step training losses, "val_steps": [...], "val": [...]}: validation losses at
    step 0 (before training), every `eval_every` steps and at the end. The batches come from a CPU
    generator seeded with `seed`, so two models trained with the same seed see the same batches.
    Training stops early if the loss becomes inf or nan: no update is made from it (the parameters stay
    finite), and both the training and the validation history then end with that value.
    """
    check_training_args(model, train, steps, eval_every, batch_size)
    history = {"val_steps": [0], "val": [evaluate(model, val)]}

    def validate(steps_done):
        if steps_done % eval_every == 0 or steps_done == steps:
            history["val_steps"].append(steps_done)
            history["val"].append(evaluate(model, val))

    # helpers.train's loop: the same batches for the same seed, and no update from a non-finite loss
    losses = training.train(
        model, train, steps, lr=lr, batch_size=batch_size, optimizer=optimizer, seed=seed, grad_clip=grad_clip,
        progress=progress, desc=desc, on_step=validate,
    )  # fmt: skip
    history["train"] = losses
    if not math.isfinite(losses[-1]):
        # so that history["val"][-1] never shows a finite number from before the divergence
        history["val_steps"].append(len(losses))
        history["val"].append(losses[-1])
    return history


# ----------------------------------------------------------------------------- weight tying


def tie_weights(model):
    """Share one matrix between the token embedding and the output head (Press & Wolf 2017; GPT-2 does it).

    The head scores token t by the dot product with t's own embedding. Returns the number of parameters
    saved (vocab_size * d_model, less the head's bias which stays separate).
    """
    check_tieable(model)
    embedding, head = model.token_embedding, model.head
    if head.weight is embedding.weight:
        return 0
    saved = head.weight.numel()
    head.weight = embedding.weight
    return saved


__all__ = [
    "generate",
    "forward_with_cache",
    "next_token_probs",
    "bits_per_char",
    "bigram_counts",
    "baseline_losses",
    "evaluate",
    "train_language_model",
    "tie_weights",
]
