"""Argument checks of helpers/language_model.py, so that its functions read like lesson 07 and 08.

They belong with the shared checks in _validate.py and live apart only while that module is being rewritten
(fold them in when the two meet). Each raises a TypeError/ValueError naming the argument, what was expected
and what came. Each runs once per call, at the entry point; none runs per generated token.
"""

import math

import torch

from ._validate import check_positive_int, check_token_ids


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def check_ids(ids, name, vocab_size=None, min_len=1):
    """A 1-D tensor of at least `min_len` token ids, each in [0, vocab_size) when it is given (reads the values)."""
    check_token_ids(ids, name, layout="(seq,), a 1-D tensor of token ids", ndim=1)
    if len(ids) < min_len:
        raise ValueError(f"{name} needs at least {min_len} token id{'s' if min_len > 1 else ''}, got {len(ids)}")
    # Reads the values (once per call, never per step): an id out of range would silently count as another pair
    # in bigram_counts (a * vocab_size + b aliases) and be an opaque device-side assert on CUDA elsewhere.
    if vocab_size is not None and (ids.min() < 0 or ids.max() >= vocab_size):
        raise ValueError(
            f"{name}: token ids must be in [0, {vocab_size}), got {ids.min().item()} to {ids.max().item()}"
        )


def check_generate_args(model, prompt, max_new_tokens, temperature, top_k, generator, use_cache):
    check_token_ids(prompt, "prompt", layout="(seq,), a 1-D tensor of token ids", ndim=1)
    if len(prompt) == 0:
        raise ValueError("prompt must hold at least one token id: the model needs something to continue")
    if isinstance(max_new_tokens, bool) or not isinstance(max_new_tokens, int) or max_new_tokens < 0:
        raise ValueError(f"max_new_tokens must be an int >= 0, got {max_new_tokens!r}")
    if not _is_number(temperature) or not math.isfinite(temperature):
        raise TypeError(f"temperature must be a finite number > 0, got {temperature!r}")
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0 (for greedy decoding use top_k=1), got {temperature}")
    vocab_size, max_len = getattr(model, "vocab_size", None), getattr(model, "max_len", None)
    if top_k is not None and (
        isinstance(top_k, bool) or not isinstance(top_k, int) or not 1 <= top_k <= (vocab_size or top_k)
    ):
        raise ValueError(f"top_k must be None or an int from 1 to vocab_size={vocab_size}, got {top_k!r}")
    if max_len is not None and len(prompt) > max_len:
        raise ValueError(
            f"prompt has {len(prompt)} tokens, longer than the model's max_len={max_len}; "
            f"shorten it (e.g. prompt[-{max_len}:])"
        )
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator or None, got {type(generator).__name__}")
    if generator is not None and generator.device.type != "cpu":
        raise ValueError(
            f"generator must be a CPU torch.Generator (samples are drawn on the CPU), got {generator.device}"
        )
    if use_cache:
        check_cacheable(model)


def check_cacheable(model):
    """forward_with_cache walks pre-norm causal blocks with skips: refuse a model that has other blocks, whose
    cached forward would silently differ from its own."""
    blocks = getattr(model, "blocks", None)
    if not blocks or any(
        getattr(b, "norm_position", "pre") != "pre"
        or not getattr(b, "skip", True)
        or not getattr(getattr(b, "attn", None), "causal", True)
        for b in blocks
    ):
        raise ValueError(
            "use_cache=True needs a GPT-like model: .blocks of pre-norm causal attention with skips "
            f"(as helpers.TinyTransformer's defaults); {type(model).__name__} has not, use use_cache=False"
        )


def check_baseline_args(train_ids, val_ids, vocab_size, smoothing):
    check_ids(train_ids, "train_ids", vocab_size, min_len=2)
    check_ids(val_ids, "val_ids", vocab_size, min_len=2)
    if not _is_number(smoothing) or not smoothing > 0:
        raise ValueError(f"smoothing must be a number > 0, got {smoothing!r}")


def check_training_args(model, train, steps, eval_every, batch_size):
    check_positive_int(steps, "steps")
    check_positive_int(eval_every, "eval_every")
    check_positive_int(batch_size, "batch_size")
    if train.vocab_size != getattr(model, "vocab_size", train.vocab_size):
        raise ValueError(f"the model has vocab_size={model.vocab_size}, the corpus {train.vocab_size}")


def check_windows(ids, block_size):
    if len(ids) - 1 < block_size:
        raise ValueError(f"the text has {len(ids)} tokens, too few for one window of block_size={block_size}")


def check_tieable(model):
    embedding, head = getattr(model, "token_embedding", None), getattr(model, "head", None)
    if not isinstance(embedding, torch.nn.Embedding) or not isinstance(head, torch.nn.Linear):
        raise TypeError(
            f"tie_weights needs a model with .token_embedding (nn.Embedding) and .head (nn.Linear), "
            f"got {type(model).__name__}"
        )
    if embedding.weight.shape != head.weight.shape:
        raise ValueError(
            f"embedding {tuple(embedding.weight.shape)} and head {tuple(head.weight.shape)} must have the same shape"
        )
