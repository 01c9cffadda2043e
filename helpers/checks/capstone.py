"""Checkers of notebook 08 (build your own GPT): the learner's model against helpers.TinyTransformer, part by part,
and the forward pass with a KV cache. The learner's GPT(vocab_size, d_model, n_layers, n_heads, max_len) keeps
TinyTransformer's names (token_embedding, positional, blocks[i].norm1/attn/norm2/mlp, final_norm, head), so it
takes the reference's weights with load_state_dict and each of its parts can be compared with the reference's."""

import contextlib
import io
import math
import types

import torch

from ..language_model import forward_with_cache
from ..layers import LayerNorm, TinyTransformer, attention, merge_heads, split_heads
from .core import WHY, LearnerError, compare, describe, failed, run_learner, verdict

__all__ = ["check_forward_with_cache", "check_gpt_causal", "check_gpt_equal", "check_gpt_shapes", "yours_or_reference"]

SMALL = dict(vocab_size=11, d_model=16, n_layers=2, n_heads=2, max_len=12)
FINAL_NORM = "the final norm is missing: the head reads final_norm of the last block's output."
NUDGE = ("follow the picture of 07: token embedding plus positions, then each block (the stream plus attention of "
         "its normalized copy, then plus the MLP of its normalized copy), then the final norm and the head.")


def _ids(batch, seq, vocab_size, seed):
    return torch.randint(0, vocab_size, (batch, seq), generator=torch.Generator().manual_seed(seed))


def _build(GPT, config, seed):
    """(learner's model with the reference's weights, reference), both in eval mode; LearnerError if it cannot."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        reference = TinyTransformer(**config).eval()
        with torch.no_grad():  # norms that differ from each other and from 1, so that mixing them up shows
            for norm in (m for m in reference.modules() if isinstance(m, LayerNorm)):
                norm.weight.copy_(1 + 0.5 * torch.randn_like(norm.weight))
                norm.bias.copy_(0.5 * torch.randn_like(norm.bias))
    model = run_learner(lambda: GPT(**config), ())
    if not isinstance(model, torch.nn.Module):
        raise LearnerError(f"GPT(...) should build an nn.Module, got {describe(model)}")
    ours = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    theirs = {k: tuple(v.shape) for k, v in reference.state_dict().items()}
    if ours != theirs:
        extra, missing = sorted(set(ours) - set(theirs)), sorted(set(theirs) - set(ours))
        shapes = [k for k in set(ours) & set(theirs) if ours[k] != theirs[k]]
        raise LearnerError(f"your model's parameters do not match the reference's: unexpected {extra[:3]}, missing "
                           f"{missing[:3]}, other shapes {sorted(shapes)[:3]}. Keep the names and sizes of the given "
                           "__init__ methods.")
    model.load_state_dict(reference.state_dict())
    return model.eval(), reference


def _run(model, ids):
    with torch.no_grad():
        return run_learner(model, (ids,))


def _verdict(name, test, GPT, n_cases):
    """One verdict for test(GPT), which returns None when passed, else (problem, hint, the solution to point at)."""
    try:
        found = test(GPT)
    except LearnerError as failure:
        return failed(name, failure, NUDGE, "GPT")
    return verdict(name, None, n_cases=n_cases) if found is None else verdict(name, *found[:2], stuck=found[2])


def check_gpt_shapes(GPT):
    """GPT(**config) builds a module with TinyTransformer's parameter names and gives logits (batch, seq, vocab)."""

    def test(GPT):
        for ids in (_ids(2, 7, 11, seed=1), _ids(1, 1, 11, seed=2), _ids(3, 12, 11, seed=3)):
            problem = compare(_run(_build(GPT, SMALL, seed=0)[0], ids), torch.zeros(*ids.shape, 11), atol=math.inf)
            if problem:
                return f"for token ids of shape {tuple(ids.shape)}: {problem}", NUDGE, "GPT"

    return _verdict("GPT shapes", test, GPT, n_cases=3)


def check_gpt_causal(GPT):
    """Changing the token at position t never changes the logits at positions before t."""

    def test(GPT):
        model, ids = _build(GPT, SMALL, seed=4)[0], _ids(2, 10, 11, seed=5)
        for t in (9, 6, 1):
            changed = ids.clone()
            changed[:, t] = (changed[:, t] + 1) % 11
            moved = (_run(model, ids)[:, :t] - _run(model, changed)[:, :t]).abs().amax(dim=(0, 2))
            if (moved > 1e-5).any():
                problem = f"changing token {t} changed the output at position {int((moved > 1e-5).nonzero()[0])}"
                hint = ("an earlier position saw a later token: in every block, each query may attend only to keys "
                        "at or before its own position, and the blocked scores must be set before the softmax.")
                return f"{problem} (by up to {moved.max():.3g})", hint, "CausalSelfAttention"

    return _verdict("GPT causality", test, GPT, n_cases=3)


# ----------------------------------------------------------------------------- equality, located part by part


def _attention_variant(attn, x, scale=None, mask="causal"):
    """The reference attention with one thing changed: the scale's d, or the mask (None, "future", "after")."""
    q, k, v = (split_heads(t, attn.n_heads) for t in attn.in_proj(x).chunk(3, dim=-1))
    if scale is not None:
        q = q * math.sqrt(q.shape[-1]) / scale  # attention() divides by sqrt(d_head): this divides by `scale`
    seq = x.shape[1]
    allowed = torch.ones(seq, seq, dtype=torch.bool).tril()
    if mask == "after":  # the weights zeroed after the softmax: rows no longer sum to 1
        weights = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1]), dim=-1) * allowed
        return attn.out_proj(merge_heads(weights @ v))
    masks = {"causal": allowed, None: None, "future": allowed.T}
    return attn.out_proj(merge_heads(attention(q, k, v, mask=masks[mask])[0]))


def _slip(got, slips, otherwise):
    """The hint of the first known slip ((hint, the value it gives) pairs) that `got` matches, else `otherwise`."""
    return next((hint for hint, wrong in slips if compare(got, wrong) is None), otherwise)


def _parts(seen, reference, ids):
    """Each part of the learner's model in the order it runs, as a checker case: (where, what it got (`seen` by the
    forward hooks), what the reference's part gives on the same input, (hint, value) for each known slip, the hint
    otherwise). A generator: each part is built only once the ones before it matched."""
    embedded = reference.token_embedding(ids)
    yield ("the input of block 0", seen["blocks.0"][0], embedded + reference.positional(ids.shape[1]),
           [("the positions are missing: add them to the token embeddings.", embedded)],
           "block 0 should read the token embeddings plus the positions.")
    for i, ref in enumerate(reference.blocks):
        (x, out), (a_in, a_out), (m_in, m_out) = (seen[f"blocks.{i}{s}"] for s in ("", ".attn", ".mlp"))
        yield (f"block {i}", a_in, ref.norm1(x),
               [("the norm placement: the attention reads the stream itself; pre-norm reads norm1 of it.", x)],
               "the attention should read norm1 of the block's input (pre-norm).")
        slips = [
            ("the attention scale: divide the scores by the square root of d_head, the width of ONE head, not of "
             "d_model.", dict(scale=math.sqrt(ref.attn.d_model))),
            ("the attention scale: the scores must be divided by the square root of d_head.", dict(scale=1.0)),
            ("the mask: without it each position sees the future.", dict(mask=None)),
            ("the mask is upside down: a query may see keys at or BEFORE its position (below the diagonal).",
             dict(mask="future")),
            ("the mask: set the blocked scores to minus infinity BEFORE the softmax, so each row still sums to 1.",
             dict(mask="after")),
        ]
        yield (f"block {i}'s attention", a_out, ref.attn(a_in),
               [(hint, _attention_variant(ref.attn, a_in, **change)) for hint, change in slips],
               "the heads: q, k and v each split into n_heads slices of d_head features (the first d_head features "
               "for head 0), one attention per head, the heads side by side again, then out_proj.")
        yield f"block {i}'s MLP", m_out, ref.mlp(m_in), [], "the MLP is fc_in, the GELU, then fc_out."
        h, residual = x + a_out, "the residual: attention's output is ADDED to the stream before the MLP reads it."
        yield (f"block {i}", m_in, ref.norm2(h),
               [("the norm placement: each sublayer has its own norm, norm2 before the MLP.", ref.norm1(h)),
                (residual, ref.norm2(a_out)), (residual, a_out)],
               "the norm placement: the MLP reads norm2 of the stream after attention's update.")
        on_stream = "the norm placement: pre-norm normalizes what a sublayer reads, never the stream."
        yield (f"block {i}", out, h + m_out,
               [("the residual: the MLP's output is ADDED to the stream, not put in its place.", m_out),
                (on_stream, ref.norm2(h + m_out)), (on_stream, h + ref.norm2(m_out))],
               "the block returns the stream plus the attention's and the MLP's outputs.")
    reads_last = "the head should read final_norm of the last block's output."
    yield "the final norm and head", seen["final_norm"][0], out, [], reads_last  # out: the last block's output
    yield "the final norm and head", seen["head"][1], reference.head(seen["head"][0]), [], reads_last


def _locate(model, reference, ids):
    """(where, hint) for the first part of the learner's model that differs from the reference's on the same input."""
    seen = {}
    blocks = [f"blocks.{i}{s}" for i in range(len(reference.blocks)) for s in ("", ".attn", ".mlp")]
    parts = ["final_norm", "head", *blocks]
    modules = dict(model.named_modules())
    hooks = [modules[p].register_forward_hook(lambda m, a, out, p=p: seen.__setitem__(p, (a[0] if a else None, out)))
             for p in parts if p in modules]
    try:
        _run(model, ids)
    finally:
        for h in hooks:
            h.remove()
    missing = sorted(set(parts) - set(seen))
    if missing == ["final_norm"]:
        return "the final norm and head", FINAL_NORM
    if missing:
        return "its parts", f"{missing} never ran in your forward: each part of the given __init__ has its place."
    for where, got, expected, slips, otherwise in _parts(seen, reference, ids):
        if compare(got, expected) is not None:  # the first part that differs
            return where, _slip(got, slips, otherwise)
    if compare(seen["head"][0], seen["final_norm"][0]) is None:
        return "the final norm and head", FINAL_NORM
    return "the final norm and head", "the logits should be head(final_norm(x))."


def check_gpt_equal(GPT, atol=1e-5):
    """With TinyTransformer's weights, GPT gives its logits to atol; else names the first part that differs."""

    def test(GPT):
        for config, ids in [(SMALL, _ids(2, 9, 11, 6)), ({**SMALL, "n_layers": 3, "n_heads": 4}, _ids(1, 12, 11, 7))]:
            model, reference = _build(GPT, config, seed=8)
            with torch.no_grad():
                problem = compare(_run(model, ids), reference(ids), atol=atol)
                if problem:
                    where, hint = _locate(model, reference, ids)
                    stuck = "CausalSelfAttention" if "attention" in where else "GPT"
                    return f"{problem}. The first difference is in {where}", hint, stuck

    return _verdict("GPT equals helpers.TinyTransformer", test, GPT, n_cases=2)


def yours_or_reference(yours, reference, check):
    """`yours` if it passes `check` (run quietly), else `reference`; says which, so later cells never wait for you."""
    with contextlib.redirect_stdout(io.StringIO()):
        ready = bool(check(yours))
    if ready:
        print(f"Your {yours.__name__} passes its check: the cells below use it.")
        return yours
    name = f"{reference.__module__}.{reference.__qualname__}".replace("helpers.layers.", "helpers.")
    print(f"Your {yours.__name__} does not pass its check yet (above): the cells below use {name} instead.")
    return reference


# ----------------------------------------------------------------------------- the KV cache


def check_forward_with_cache(learner_fn):
    """learner_fn(model, ids (batch, t_new), cache) -> logits (batch, t_new, vocab) as model(all ids)[:, -t_new:];
    cache: one dict per block, filled with "k", "v" (batch, n_heads, t, d_head). Called with the prompt, then
    one token at a time."""
    name = "forward with a KV cache"
    nudge = ("only the new tokens go in: each block computes their queries, keys and values, appends the keys and "
             "values to its cache, and lets the new queries attend to every cached key. The new tokens' positions "
             "continue where the cache ends.")
    model, _ = _build(TinyTransformer, SMALL, seed=9)
    bidirectional = TinyTransformer(**SMALL, causal=False).eval()
    bidirectional.load_state_dict(model.state_dict())
    shifted = types.SimpleNamespace(**dict(model.named_children()))
    shifted.positional = lambda n: model.positional(1).expand(n, -1)  # the slip: every new token at position 0
    ids, prompt, cache = _ids(2, 9, 11, seed=10), 5, [{} for _ in model.blocks]
    for t in range(prompt, ids.shape[1] + 1):
        new, before = (ids[:, :t] if t == prompt else ids[:, t - 1 : t]), [dict(kv) for kv in cache]
        with torch.no_grad():
            expected = model(ids[:, :t])[:, -new.shape[1] :]
            try:
                got = run_learner(learner_fn, (model, new, cache))
            except LearnerError as failure:
                return failed(name, failure, nudge, learner_fn)
            problem = compare(got, expected)
            if problem and t == prompt:
                causal = "the prompt's tokens, given at once, need the causal mask among themselves."
                hint = _slip(got, [(causal, bidirectional(new))],
                             "for the prompt, the same as model(prompt): your GPT's steps, keys and values from norm1.")
                return verdict(name, f"for the prompt (5 tokens): {problem}", hint, stuck=learner_fn)
            if problem:
                slips = [("the new token saw only itself: put the cached keys and values before its own.", model(new)),
                         ("the new token got position 0: its position is the number of tokens already cached.",
                          forward_with_cache(shifted, new, before))]
                hint = _slip(got, slips, "the new token attends to every cached key and to its own (none is in its "
                             "future).")
                return verdict(name, f"for the new token at position {t - 1}: {problem}", hint, stuck=learner_fn)
        shape = (2, SMALL["n_heads"], t, SMALL["d_model"] // SMALL["n_heads"])
        shapes = [tuple(kv[x].shape) if isinstance(kv.get(x), torch.Tensor) else None for kv in cache for x in "kv"]
        if set(shapes) != {shape}:
            return verdict(name, f"after {t} tokens the cache holds {shapes}, expected every 'k' and 'v' of shape "
                           f"(batch, n_heads, {t}, d_head) = {shape}", nudge, stuck=learner_fn)
    return verdict(name, None, n_cases=ids.shape[1] - prompt + 1)


WHY["largest difference of the training losses over 50 steps"] = (
    "both models compute the same function from the same weights and get the same batches, so their gradients and "
    "updates agree: the runs differ only by float rounding, far below the 0.00001 nats the cell prints."
)
